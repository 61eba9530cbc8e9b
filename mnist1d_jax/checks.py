"""Checks at the public boundary: keys, dtypes, counts, shardings and memory.

Each raises `TypeError` or `ValueError` naming the argument and what it allows, before anything is
traced, compiled or allocated. The dataset arguments' own checks live with them in `args.py`.
"""

from __future__ import annotations

import collections.abc
import math
import numbers

import jax
import numpy as np


def check_key(key):
    """Returns `key` as a typed JAX key; accepts typed keys (`jax.random.key`) and legacy uint32
    keys (`jax.random.PRNGKey`). Raises `TypeError` for anything else."""
    dtype, shape = getattr(key, "dtype", None), getattr(key, "shape", None)
    if dtype is not None and jax.dtypes.issubdtype(dtype, jax.dtypes.prng_key) and shape == ():
        return key
    if isinstance(key, (jax.Array, np.ndarray)) and dtype == np.uint32 and shape == (2,):
        return jax.random.wrap_key_data(key)
    raise TypeError(
        "key must be a single JAX PRNG key, jax.random.key(seed) or jax.random.PRNGKey(seed); "
        f"got {type(key).__name__} with dtype {dtype} and shape {shape}"
    )


def check_dtype(dtype) -> np.dtype:
    """`float32` or `float64` as a NumPy dtype; `ValueError` otherwise (`None` included, which
    NumPy would read as float64)."""
    try:
        checked = None if dtype is None else np.dtype(dtype)
    except TypeError:
        checked = None
    if checked not in (np.float32, np.float64):
        raise ValueError(f"dtype must be float32 or float64, got {dtype!r}")
    if jax.dtypes.canonicalize_dtype(checked) != checked:
        raise ValueError(
            "dtype=float64 needs 64-bit JAX: call inside `with jax.enable_x64(True):`"
        )
    return checked


def is_traced(*values) -> bool:
    """Whether any of `values` is a JAX tracer (a value known only inside a transformation)."""
    return any(isinstance(v, jax.core.Tracer) for v in values)


def is_integer(value) -> bool:
    """An integral number (Python's or NumPy's), never a bool."""
    return isinstance(value, numbers.Integral) and not isinstance(value, (bool, np.bool_))


def check_integer(value, name: str, minimum: int, maximum: int) -> int:
    """An integer in `[minimum, maximum]` as a Python int, or `TypeError`/`ValueError` naming
    `name` and the range."""
    message = f"{name} must be an integer in [{minimum}, {maximum}]"
    if not is_integer(value):
        raise TypeError(f"{message}, got {value!r}")
    if not minimum <= value <= maximum:
        raise ValueError(f"{message}, got {value!r}")
    return int(value)


def check_count(value, name: str, maximum: int) -> int:
    """An integer in `[1, maximum]` (`check_integer`)."""
    return check_integer(value, name, 1, maximum)


def check_real(value, name: str, low: float, high: float, *, low_open: bool = False,
               high_open: bool = False) -> float:
    """A real number (Python's or NumPy's; not a bool) in the interval from `low` to `high`,
    each end closed unless said open, as a float."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a number; got {value!r}")
    value = float(value)
    above = value > low if low_open else value >= low
    below = value < high if high_open else value <= high
    if not (math.isfinite(value) and above and below):
        interval = f"{'(' if low_open else '['}{low:g}, {high:g}{')' if high_open else ']'}"
        raise ValueError(f"{name} must be a finite number in {interval}; got {value!r}")
    return value


def check_positive_int(value, name: str) -> int:
    """A positive Python integer (no upper bound), or `TypeError`/`ValueError` naming `name`."""
    if not is_integer(value):
        raise TypeError(f"{name} must be a positive integer, got {value!r}")
    if value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    return int(value)


def check_index(index, length: int, name: str = "index") -> int:
    """A record index: an integer (Python's or NumPy's; never a bool, float or string) in
    `[0, length)`, as a Python int. `TypeError`/`IndexError` naming `name` otherwise."""
    if not is_integer(index):
        raise TypeError(f"{name} must be an integer in [0, {length}); got {index!r}")
    if not 0 <= index < length:
        raise IndexError(f"{name} must be in [0, {length}); got {index}")
    return int(index)


def check_indices(indices, length: int, name: str = "indices") -> np.ndarray:
    """A 1-D sequence of record indices (each as `check_index`) as an int64 array (c,)."""
    if isinstance(indices, np.ndarray):
        if indices.ndim != 1 or (indices.size and indices.dtype.kind not in "iu"):
            raise TypeError(f"{name} must be a 1-D sequence of integers; got an array of "
                            f"{indices.dtype} and shape {indices.shape}")
        if indices.size and (indices.min() < 0 or indices.max() >= length):
            raise IndexError(f"{name} must be in [0, {length}); got {indices.min()} .. "
                             f"{indices.max()}")
        return indices.astype(np.int64)
    if isinstance(indices, (str, bytes)) or not isinstance(indices, collections.abc.Sequence):
        raise TypeError(f"{name} must be a 1-D sequence of integers; got {indices!r}")
    for position, index in enumerate(indices):
        check_index(index, length, f"{name}[{position}]")
    return np.asarray(indices, np.int64).reshape(-1)


def check_sharding(sharding, batch_size: int, what: str = "batch_size"):
    """`None`, or a `NamedSharding` that splits axis 0 only, into parts dividing `batch_size`
    (called `what` in the message)."""
    if sharding is None:
        return None
    if not isinstance(sharding, jax.sharding.NamedSharding):
        raise TypeError(f"sharding must be a jax.sharding.NamedSharding or None, got {sharding!r}")
    spec = tuple(sharding.spec)
    if any(axis is not None for axis in spec[1:]):
        raise ValueError(f"sharding must split the batch axis (axis 0) only, got spec {spec}")
    axes = spec[0] if spec else None
    axes = () if axes is None else axes if isinstance(axes, tuple) else (axes,)
    parts = int(np.prod([sharding.mesh.shape[a] for a in axes]))
    if batch_size % parts:
        raise ValueError(f"{what}={batch_size} must be divisible by the {parts} shards of "
                         "the sharding's batch axis")
    return sharding


def _host_available_bytes() -> int | None:
    """`MemAvailable` of /proc/meminfo (Linux), else physical memory, else `None`."""
    try:
        with open("/proc/meminfo") as handle:
            for line in handle:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        import os

        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, ValueError, OSError):
        return None


def platform(devices=None) -> str:
    """The platform ("cpu", "gpu", "tpu") of `devices` (JAX's default device when `None`)."""
    return (jax.devices()[0] if devices is None else next(iter(devices))).platform


def available_bytes(devices=None) -> int | None:
    """Memory that arrays may use: the smallest `bytes_limit` among `devices` (JAX's default
    device when `None`) where the device reports one (GPUs, TPUs), else the host's available
    memory. `None` when neither is known."""
    devices = [jax.devices()[0]] if devices is None else list(devices)
    limits = []
    for device in devices:
        try:
            stats = device.memory_stats() or {}
        except Exception:  # noqa: BLE001 - backends without memory statistics
            stats = {}
        if stats.get("bytes_limit"):
            limits.append(int(stats["bytes_limit"]) - int(stats.get("bytes_in_use", 0)))
    return min(limits) if limits else _host_available_bytes()


def check_memory(needed: int, what: str, hint: str = "", devices=None) -> None:
    """`MemoryError`-free refusal: `ValueError` when `needed` bytes exceed what is available.

    Args:
      needed: estimated peak bytes of the call.
      what: the call and its size, e.g. "make_dataset with num_samples=10**9".
      hint: what to do instead, appended to the message.
      devices: the devices that will hold the arrays (JAX's default device when `None`).
    """
    available = available_bytes(devices)
    if available is not None and needed > available:
        raise ValueError(f"{what} needs about {needed / 1e9:.1f} GB of memory, more than the "
                         f"{available / 1e9:.1f} GB available{'; ' + hint if hint else ''}")
