"""The lab's boundary: the checks that every lab entry point (training, sweeps, lottery tickets,
contrastive learning, metalearning) runs on its configuration, data, seeds and keys before
anything is traced or compiled. Each raises a one-line `TypeError` or `ValueError` naming the
argument and what it allows, as the generator's `checks` do."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from ...args import NUM_CLASSES
from ...checks import check_integer, check_key, check_real, is_integer, is_traced

__all__ = ["MAX_COUNT", "MAX_LEARNING_RATE", "check_counts", "check_data", "check_hyperparameter",
           "check_integers", "check_keys", "check_learning_rate", "check_model_fits",
           "data_classes"]

MAX_LEARNING_RATE = 1e3
"""Learning rates above this only overflow: the reference's largest is 1.5 (metalearning)."""

MAX_COUNT = 2**31 - 1
"""The largest step, epoch, batch or layer count a lab entry point takes (`check_integer`)."""


def check_hyperparameter(value, name: str, low: float, high: float, *, low_open: bool = False,
                         high_open: bool = False, per_configuration: bool = False):
    """A traced hyperparameter (a leaf of a lab configuration, or an argument a compiled program
    takes as data): a tracer passes as it is (its values are the caller's); a number or 0-d
    array in the interval becomes a Python float (`check_real`); with `per_configuration`, a
    non-empty 1-D sequence of such numbers (one per configuration of a sweep) becomes a float32
    NumPy array (k,)."""
    if is_traced(value):
        return value
    if isinstance(value, (str, bytes)) or not (np.ndim(value) == 0 or per_configuration):
        raise TypeError(f"{name} must be a number; got {value!r}")
    if np.ndim(value) == 0:
        number = value.item() if hasattr(value, "item") else value  # 0-d arrays as numbers
        return check_real(number, name, low, high, low_open=low_open, high_open=high_open)
    values = np.asarray(value, dtype=object) if not hasattr(value, "dtype") else np.asarray(value)
    if values.ndim != 1 or not len(values):
        raise ValueError(f"{name} must be a number or a non-empty 1-D sequence of numbers (one "
                         f"per configuration); got shape {values.shape}")
    return np.asarray([check_hyperparameter(v, f"{name}[{i}]", low, high, low_open=low_open,
                                            high_open=high_open)
                       for i, v in enumerate(values.tolist())], np.float32)


def check_learning_rate(value, name: str = "learning_rate", *,
                        per_configuration: bool = False):
    """A learning rate in (0, `MAX_LEARNING_RATE`] (`check_hyperparameter`: tracers pass)."""
    return check_hyperparameter(value, name, 0.0, MAX_LEARNING_RATE, low_open=True,
                                per_configuration=per_configuration)


def check_counts(**counts) -> dict:
    """Each keyword's value as a count: an integer in [1, `MAX_COUNT`] (`check_integer`, naming
    the keyword)."""
    return {name: check_integer(value, name, 1, MAX_COUNT) for name, value in counts.items()}


def check_integers(values, name: str, low: int, high: int) -> np.ndarray:
    """A non-empty 1-D sequence of integers in [low, high], as a (k,) int64 array."""
    array = np.asarray(values, dtype=object) if not isinstance(values, np.ndarray) else values
    if array.ndim != 1 or array.size == 0:
        raise ValueError(f"{name} must be a non-empty 1-D sequence of integers in [{low}, {high}]"
                         f"; got {values!r}")
    for position, value in enumerate(array.tolist()):
        if not (is_integer(value) and low <= value <= high):
            raise ValueError(f"{name} must be integers in [{low}, {high}]; {name}[{position}] is "
                             f"{value!r}")
    return np.asarray(array.tolist(), np.int64)


def data_classes(data) -> int:
    """The number of classes C of a dataset: its template set's rows where it has one
    (`data["templates"]["x"]`, as `make_dataset` and `load` give it), else the reference's ten
    (labels beyond are then refused: the templates say how many classes there are)."""
    templates = data.get("templates") if hasattr(data, "get") else None
    if isinstance(templates, dict) and "x" in templates and np.ndim(templates["x"]) == 2:
        return int(np.shape(templates["x"])[0])
    return NUM_CLASSES


def check_data(data, keys=("x", "y", "x_test", "y_test"), name: str = "data", *,
               ndim: int = 2) -> dict:
    """`data`'s arrays `keys` as JAX arrays (signals float32, labels int32), checked: a mapping
    holding every key; signals `x`/`x_test` finite floats of `ndim` dimensions (..., n, F) with the
    same F; labels `y`/`y_test` integers in [0, C) (not floats; C = `data_classes(data)`), one
    per signal row.

    Raises:
      TypeError: `data` is not a mapping. ValueError: naming the key and the problem.
    """
    if not hasattr(data, "keys") or not hasattr(data, "__getitem__"):
        raise TypeError(f"{name} must be a dict of arrays; got {type(data).__name__}")
    missing = [k for k in keys if k not in data]
    if missing:
        raise ValueError(f"{name} is missing {missing}; it needs {list(keys)}")
    arrays = {k: np.asarray(data[k]) for k in keys}
    classes = data_classes(data)
    for key, array in arrays.items():
        if key.startswith("x"):
            if array.dtype.kind != "f" or array.ndim != ndim or array.shape[-2] < 1:
                raise ValueError(f"{name}[{key!r}] must be {ndim}-D float signals; got "
                                 f"{array.dtype} of shape {array.shape}")
            if not np.isfinite(array).all():
                raise ValueError(f"{name}[{key!r}] holds values that are not finite")
        else:
            if array.dtype.kind not in "iu" or array.ndim != ndim - 1:
                raise ValueError(f"{name}[{key!r}] must be {ndim - 1}-D integer labels; got "
                                 f"{array.dtype} of shape {array.shape}")
            if array.size and (array.min() < 0 or array.max() >= classes):
                raise ValueError(f"{name}[{key!r}] holds labels outside [0, {classes}) (the "
                                 f"classes of {name}['templates'], or ten without them)")
    for signals, labels in (("x", "y"), ("x_test", "y_test")):
        if signals in arrays and labels in arrays \
                and arrays[signals].shape[:-1] != arrays[labels].shape:
            raise ValueError(f"{name}[{labels!r}] has shape {arrays[labels].shape} for signals "
                             f"{name}[{signals!r}] of shape {arrays[signals].shape}")
    widths = {arrays[k].shape[-1] for k in ("x", "x_test") if k in arrays}
    if len(widths) > 1:
        raise ValueError(f"{name}['x'] and {name}['x_test'] must have the same number of "
                         f"positions; got {sorted(widths)}")
    return {k: jnp.asarray(a, jnp.float32 if k.startswith("x") else jnp.int32)
            for k, a in arrays.items()}


def check_keys(key) -> tuple:
    """One JAX key (`check_key`) or a non-empty 1-D array of typed keys (one run each): the keys
    as a (S,) array of typed keys, and whether one key was given."""
    if getattr(key, "ndim", None) == 1 and jax.dtypes.issubdtype(key.dtype, jax.dtypes.prng_key):
        if key.size:
            return key, False
    else:
        try:
            return check_key(key)[None], True
        except TypeError:
            pass
    raise TypeError(f"key must be a JAX key (jax.random.key or jax.random.PRNGKey) or a non-empty "
                    f"1-D array of jax.random.key keys; got {key!r}")


def check_model_fits(model_fn, input_size: int, num_classes: int) -> None:
    """Refuses, in one line and before anything is compiled, a model that does not map signals
    of `input_size` points to `num_classes` logits: it is built and applied to a
    (2, input_size) shape abstractly (`jax.eval_shape`: no arrays, no compilation)."""
    from flax import nnx

    hint = (f"build it for the data, e.g. functools.partial(nn.CNN, input_size="
            f"{input_size}, num_classes={num_classes})")
    try:
        logits = jax.eval_shape(lambda x: model_fn(rngs=nnx.Rngs(0))(x),
                                jax.ShapeDtypeStruct((2, input_size), jnp.float32))
    except Exception as error:  # noqa: BLE001 - any failure of the model on this shape
        first = (str(error).strip().splitlines() or [type(error).__name__])[0][:160]
        raise ValueError(f"model_fn does not take signals of {input_size} points (input_size): "
                         f"{hint} ({first})") from None
    if getattr(logits, "shape", None) != (2, num_classes):
        raise ValueError(f"model_fn gives logits of shape {getattr(logits, 'shape', None)} for 2 "
                         f"signals, not (2, {num_classes}): the data have {num_classes} classes "
                         f"(num_classes); {hint}")
