"""The dataset arguments: an immutable, validated pytree.

`DatasetArgs` mirrors the reference's `get_dataset_args()` fields and adds label noise. The
fields that fix array shapes (and `seed`) are static pytree metadata; the others (`TRACED_FIELDS`:
the four float scales, `max_translation` and the two label-noise fractions) are pytree leaves, so
an instance can be passed straight into a jitted function, changing one of them does not
recompile, and each may be a tracer (`jax.grad` with respect to a scale, `jax.vmap` over any).
"""

from __future__ import annotations

import dataclasses
import functools
import math
import numbers
from collections.abc import Mapping
from typing import Any, Literal, NamedTuple, overload

import jax
import numpy as np

from .checks import check_integer, is_integer, is_traced
from .pytrees import register_split_dataclass, unchecked

SCALE_FIELDS = ("scale_coeff", "corr_noise_scale", "iid_noise_scale", "shear_scale")
LABEL_NOISE_FIELDS = ("label_noise", "test_label_noise")
TRACED_FIELDS = SCALE_FIELDS + ("max_translation",) + LABEL_NOISE_FIELDS
"""The fields that are pytree leaves (they fix no shape)."""
MIN_CLASSES = 2
NUM_CLASSES = 10
"""The classes of the reference's templates (the default template set)."""

# Upper bounds, checked before anything is traced or allocated (the README's table states them).
MAX_NUM_SAMPLES = 2**31 - 1        # example indices and labels are 32-bit
MAX_TEMPLATE_LEN = 4096
MAX_PADDING = 4096
MAX_DILATION_TABLE = 2**22         # 10 * (padding[1] - padding[0] + 1) * dilated length: a constant
MAX_TRANSLATION = 2**24            # shifts are floor(u * max_translation), u of 24-bit resolution
MAX_FINAL_SEQ_LENGTH = 4096
MAX_SCALE = 1e6                    # larger scales overflow float32 sums of squares
MAX_SEED = 2**32 - 1
"""The largest seed anywhere in the package: seeds are folded into keys as 32-bit words, so
larger ones would wrap onto smaller ones."""
# Fields of the reference's argument dict that mean nothing here (we never download).
_IGNORED_REFERENCE_FIELDS = ("url",)


class Layout(NamedTuple):
    """The shape-fixing (static) part of the arguments, without `seed`, and the number of classes
    (the template set's rows; `args.layout` has the reference's ten, `with_classes` others).
    Hashable."""

    num_samples: int
    train_split: float
    template_len: int
    padding: tuple[int, int]
    shuffle_seq: bool
    final_seq_length: int
    num_classes: int = NUM_CLASSES

    def with_classes(self, num_classes: int) -> Layout:
        """This layout for a template set of `num_classes` classes."""
        return self._replace(num_classes=num_classes)

    @property
    def dilated_len(self) -> int:
        """Length L of a signal after padding and dilation: `template_len + padding[1]`."""
        return self.template_len + self.padding[1]

    @property
    def num_examples(self) -> int:
        """Examples actually generated: `num_samples // num_classes` per class."""
        return (self.num_samples // self.num_classes) * self.num_classes

    @property
    def num_train(self) -> int:
        """Size of the training split, `int(num_examples * train_split)` as in the reference."""
        return int(self.num_examples * self.train_split)


@dataclasses.dataclass(frozen=True)
class DatasetArgs:
    """Arguments of the MNIST-1D generator (the reference's defaults, and no label noise).

    Attributes:
      num_samples: total examples requested; `num_samples // C` are made per class (C classes:
        10 for the reference's templates).
      train_split: fraction of examples in the training split, in (0, 1).
      template_len: sets the dilated length `L = template_len + padding[1]`.
      padding: `(low, high)`, inclusive range of the number of zeros appended to a template.
      scale_coeff: amplitude scaling is `1 + scale_coeff * (U - 0.5)`. Traced.
      max_translation: circular shift drawn uniformly from `[0, max_translation)`. Traced (an
        integer).
      corr_noise_scale: std of the (pre-filter) correlated noise. Traced.
      iid_noise_scale: std of the iid noise. Traced.
      shear_scale: shear coefficient is `shear_scale * (U - 0.5)`. Traced.
      shuffle_seq: if true, one fixed permutation of the positions is applied to every example.
      final_seq_length: number of points of each final signal.
      seed: seed of the reference's NumPy generator (and of the default JAX key).
      label_noise: fraction in [0, 1]: each training label (each label of a stream) is replaced,
        with this probability, by a class drawn uniformly (possibly its own). Traced.
      test_label_noise: the same for the test set's labels (default 0: a clean test set). Traced.
    """

    num_samples: int = 5000
    train_split: float = 0.8
    template_len: int = 12
    padding: tuple[int, int] = (36, 60)
    scale_coeff: Any = 0.4
    max_translation: int = 48
    corr_noise_scale: Any = 0.25
    iid_noise_scale: Any = 0.02
    shear_scale: Any = 0.75
    shuffle_seq: bool = False
    final_seq_length: int = 40
    seed: int = 42
    label_noise: Any = 0.0
    test_label_noise: Any = 0.0

    def __post_init__(self):
        for name, value in _validated_fields(self).items():
            object.__setattr__(self, name, value)

    @property
    def layout(self) -> Layout:
        """The static, shape-fixing fields (everything but `TRACED_FIELDS` and `seed`), for the
        reference's ten classes."""
        return Layout(*(getattr(self, f) for f in Layout._fields if f != "num_classes"))

    @property
    def scales(self) -> tuple:
        """The four float scales, in `SCALE_FIELDS` order (possibly traced)."""
        return tuple(getattr(self, f) for f in SCALE_FIELDS)

    def as_dict(self) -> dict:
        """A plain dict of all fields."""
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}

    def replace(self, **changes) -> DatasetArgs:
        """A copy with some fields changed, validated (a scale may be a tracer)."""
        return dataclasses.replace(self, **changes)



FIELD_NAMES = tuple(f.name for f in dataclasses.fields(DatasetArgs))
REFERENCE_FIELDS = tuple(f for f in FIELD_NAMES if f not in LABEL_NOISE_FIELDS)
"""The fields of the reference's `get_dataset_args()` (all but label noise)."""


def _unchecked(fields: Mapping[str, Any]) -> DatasetArgs:
    """A `DatasetArgs` of `fields` without validation (internal re-assembly)."""
    return unchecked(DatasetArgs, fields)


register_split_dataclass(DatasetArgs, TRACED_FIELDS)


def _is_real_scalar(value) -> bool:
    """A real number or a 0-d real array (NumPy or concrete JAX); never a bool or a string."""
    if isinstance(value, (bool, np.bool_, str, bytes)):
        return False
    if isinstance(value, numbers.Real):
        return True
    dtype = getattr(value, "dtype", None)
    return getattr(value, "shape", None) == () and dtype is not None \
        and np.dtype(dtype).kind in "fiu"


def _scale(name: str, value):
    """A scale: a finite float in `[0, MAX_SCALE]`; tracers pass unchecked (their values are the
    caller's), 0-d arrays are kept as arrays, numbers become Python floats."""
    if is_traced(value):
        return value
    message = f"{name} must be a finite float in [0, {MAX_SCALE:g}]"
    if not _is_real_scalar(value):
        raise TypeError(f"{message}, got {value!r}")
    number = float(value)
    if not math.isfinite(number) or not 0 <= number <= MAX_SCALE:
        raise ValueError(f"{message} (larger values overflow float32 statistics), got {value!r}")
    return number if isinstance(value, numbers.Real) else value


def _fraction(name: str, value):
    """A label-noise fraction: a finite float in [0, 1]; tracers pass unchecked."""
    if is_traced(value):
        return value
    message = f"{name} must be a fraction in [0, 1]"
    if not _is_real_scalar(value):
        raise TypeError(f"{message}, got {value!r}")
    if not 0 <= float(value) <= 1:  # NaN fails too
        raise ValueError(f"{message}, got {value!r}")
    return float(value) if isinstance(value, numbers.Real) else value


def _max_translation(value):
    """An integer in [1, MAX_TRANSLATION]; a tracer must be of an integer dtype."""
    if is_traced(value):
        if not jax.numpy.issubdtype(value.dtype, jax.numpy.integer) or value.shape != ():
            raise TypeError(f"max_translation must be an integer scalar; got a traced "
                            f"{value.dtype} of shape {value.shape}")
        return value
    if isinstance(value, (np.ndarray, jax.Array)) and value.shape == () \
            and np.issubdtype(value.dtype, np.integer):
        value = int(value)
    return check_integer(value, "max_translation", 1, MAX_TRANSLATION)


def _padding(value) -> tuple[int, int]:
    message = f"padding must be two integers (low, high) with 0 <= low <= high <= {MAX_PADDING}"
    if isinstance(value, (str, bytes)) or not hasattr(value, "__len__") or len(value) != 2:
        raise TypeError(f"{message}, got {value!r}")
    low, high = value
    if not (is_integer(low) and is_integer(high)):
        raise TypeError(f"{message}, got {value!r}")
    if not 0 <= low <= high <= MAX_PADDING:
        raise ValueError(f"{message}, got {value!r}")
    return int(low), int(high)


def check_dilation_table(template_len: int, padding: tuple[int, int],
                         num_classes: int = NUM_CLASSES) -> None:
    """The precomputed (C, P, L) table of dilated templates must stay small."""
    size = num_classes * (padding[1] - padding[0] + 1) * (template_len + padding[1])
    if size > MAX_DILATION_TABLE:
        raise ValueError(
            f"padding={padding} with template_len={template_len} needs a table of {num_classes} "
            "classes x "
            f"{padding[1] - padding[0] + 1} paddings x {template_len + padding[1]} points = "
            f"{size:,}"
            f" values, more than the {MAX_DILATION_TABLE:,} allowed: narrow the padding range "
            "or shorten template_len")


def _shuffle_seq(value) -> bool:
    if isinstance(value, (bool, np.bool_)) or (is_integer(value) and value in (0, 1)):
        return bool(value)
    raise TypeError(f"shuffle_seq must be a bool, got {value!r}")


def _validated_fields(args: DatasetArgs) -> dict:
    """Checks every field; returns the normalised values. Raises `TypeError`/`ValueError`."""
    out = {
        "num_samples": check_integer(args.num_samples, "num_samples", MIN_CLASSES,
                                     MAX_NUM_SAMPLES),
        "template_len": check_integer(args.template_len, "template_len", 2, MAX_TEMPLATE_LEN),
        "padding": _padding(args.padding),
        "max_translation": _max_translation(args.max_translation),
        "final_seq_length": check_integer(args.final_seq_length, "final_seq_length", 2,
                                          MAX_FINAL_SEQ_LENGTH),
        "seed": check_integer(args.seed, "seed", 0, MAX_SEED),
        "shuffle_seq": _shuffle_seq(args.shuffle_seq),
    }
    check_dilation_table(out["template_len"], out["padding"], MIN_CLASSES)
    out.update({f: _scale(f, getattr(args, f)) for f in SCALE_FIELDS})
    out.update({f: _fraction(f, getattr(args, f)) for f in LABEL_NOISE_FIELDS})
    out["train_split"] = _train_split(args.train_split)
    return out


def check_classes(args: DatasetArgs, num_classes: int) -> Layout:
    """`args.layout` for a template set of `num_classes` classes, after the checks that depend on
    the class count (at least one example per class, both splits non-empty, the dilation table's
    size); `ValueError` naming the arguments otherwise."""
    if args.num_samples < num_classes:
        raise ValueError(f"num_samples={args.num_samples} is fewer than the {num_classes} classes "
                         "of the templates: at least one example per class is needed")
    _split_sizes(args.train_split, args.num_samples, num_classes)
    check_dilation_table(args.template_len, args.padding, num_classes)
    return args.layout.with_classes(num_classes)


def _train_split(value) -> float:
    message = "train_split must be a float in (0, 1)"
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise TypeError(f"{message}, got {value!r}")
    if not 0 < float(value) < 1:  # NaN fails too
        raise ValueError(f"{message}, got {value!r}")
    return float(value)


def _split_sizes(value: float, num_samples: int, num_classes: int) -> None:
    """Both splits of `num_samples // num_classes` examples per class must be non-empty."""
    n = (num_samples // num_classes) * num_classes
    num_train = int(n * value)
    if not 0 < num_train < n:
        raise ValueError(
            f"train_split={value!r} with num_samples={num_samples} leaves an empty "
            f"{'training' if num_train == 0 else 'test'} set ({num_train} of {n} examples "
            f"would be training examples; need between 1 and {n - 1})"
        )


@overload
def get_dataset_args(as_dict: Literal[False] = False, **overrides) -> DatasetArgs: ...
@overload
def get_dataset_args(as_dict: Literal[True], **overrides) -> dict: ...
@overload
def get_dataset_args(as_dict: bool, **overrides) -> DatasetArgs | dict: ...


def get_dataset_args(as_dict: bool = False, **overrides) -> DatasetArgs | dict:
    """The reference's default arguments, with any field overridden by keyword.

    Args:
      as_dict: return a plain `dict` instead of a `DatasetArgs`.
      **overrides: field values, e.g. `num_samples=10_000, shuffle_seq=True`.

    Raises:
      TypeError: an unknown field name, or a value of the wrong type.
      ValueError: a value out of its allowed range.
    """
    args = as_args(overrides)
    return args.as_dict() if as_dict else args


def as_args(args=None) -> DatasetArgs:
    """Coerces `None` (defaults), a `DatasetArgs`, a mapping or an attribute object (such as the
    reference's `ObjectView`) to a validated `DatasetArgs`. The reference's `url` field is ignored.
    """
    if args is None:
        return DatasetArgs()
    if isinstance(args, DatasetArgs):
        return args
    if not isinstance(args, Mapping):
        if not hasattr(args, "__dict__"):
            raise TypeError(
                f"args must be a DatasetArgs, a mapping of argument names, or None; got {args!r}"
            )
        args = vars(args)
    fields = {k: v for k, v in args.items() if k not in _IGNORED_REFERENCE_FIELDS}
    unknown = sorted(set(fields) - set(FIELD_NAMES))
    if unknown:
        raise TypeError(
            f"unknown dataset argument(s) {', '.join(map(repr, unknown))}; "
            f"allowed: {', '.join(FIELD_NAMES)}"
        )
    return DatasetArgs(**fields)


def _seedless(value):
    """`value` with `seed` 0 if it is a `DatasetArgs`, else `value` itself."""
    return _unchecked({**value.as_dict(), "seed": 0}) if isinstance(value, DatasetArgs) else value


class _Seedless:
    """A jitted function, or one of its `jax.stages` (`Lowered`, `Compiled`), whose calls,
    `lower()` and `compile()` set the seed of every `DatasetArgs` argument to 0; everything else
    passes through."""

    def __init__(self, inner):
        self._inner = inner

    @staticmethod
    def _arguments(positional, keywords):
        return ([_seedless(v) for v in positional],
                {name: _seedless(v) for name, v in keywords.items()})

    def __call__(self, *positional, **keywords):
        positional, keywords = self._arguments(positional, keywords)
        return self._inner(*positional, **keywords)

    def lower(self, *positional, **keywords):
        positional, keywords = self._arguments(positional, keywords)
        return _Seedless(self._inner.lower(*positional, **keywords))

    def compile(self, *options, **keywords):
        return _Seedless(self._inner.compile(*options, **keywords))

    def __getattr__(self, name):
        return getattr(self._inner, name)


def jit_seedless(fun=None, **options):
    """`jax.jit(fun, **options)` for functions of `DatasetArgs`: every `DatasetArgs` argument
    enters the compiled function with `seed` 0 (`.lower(...)` and its `.compile()` too).

    The seed is static pytree data (it is not an array: it fixes the default key and the position
    permutation, both made on the host), so under a plain `jax.jit` each seed would compile its
    own program; compiled code never reads it, so one program serves every seed."""
    if fun is None:
        return functools.partial(jit_seedless, **options)
    return functools.update_wrapper(_Seedless(jax.jit(fun, **options)), fun)
