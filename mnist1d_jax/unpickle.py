"""Reading pickles without executing them, and without letting a small file cost much memory.

A pickle is a program: it may name any importable callable and call it. `safe_unpickle` runs it
on an unpickler that admits only what pickles of data need:

- NumPy arrays through the path NumPy's own pickles take: `_reconstruct(ndarray, (0,), ...)`
  for an empty array whose state (`__setstate__`) then brings shape, dtype and bytes, which must
  agree (the bytes come from the file); or `_frombuffer` (protocol 5) with a buffer of exactly
  the declared size. `ndarray` itself is never callable: a direct `ndarray(shape, dtype, buffer,
  offset, strides)` could declare gigabytes over a few bytes, or read uninitialised memory.
- dtypes and scalars of booleans, integers, floats, complex numbers and strings (never `object`,
  which would let a pickle hand any value to NumPy), without subarrays or fields.
- dicts, lists, tuples, numbers, strings, bytes, and with `plain=True` (the reference's
  `to_pickle`/`from_pickle` round trip) also sets, frozensets, complex numbers, ranges,
  bytearrays and slices, each built only from the arguments pickle itself uses.

State is set (pickle's BUILD) only on arrays and dtypes, after its check. Anything else refers to
a global that is refused before anything runs. `check_expanded_size` then bounds what nested
containers expand to, since pickle's memo lets a few bytes refer to one list many times.
"""

from __future__ import annotations

import importlib
import math
import numbers
import pickle
from collections.abc import Callable
from typing import Any, ClassVar

import numpy as np

DTYPE_KINDS = "biufcUS"
"""dtype kinds a data pickle may hold: booleans, integers, floats, complex numbers, strings."""


class RefusedPickle(pickle.UnpicklingError):
    """The pickle holds something other than data; nothing it names was run."""


def _numpy_core():
    try:
        return importlib.import_module("numpy._core")  # NumPy 2
    except ImportError:  # pragma: no cover - NumPy 1
        return importlib.import_module("numpy.core")


class _NdarrayName:
    """Stands for `numpy.ndarray` where a pickle names it (as `_reconstruct`'s first argument):
    not callable, so a pickle cannot construct an array from a shape and a foreign buffer."""

    def __call__(self, *args, **kwargs):
        raise RefusedPickle("it calls numpy.ndarray directly, which NumPy's pickles never do")

    def __repr__(self):
        return "numpy.ndarray"


NDARRAY = _NdarrayName()


def _check_dtype(dtype) -> np.dtype:
    if not isinstance(dtype, np.dtype) or dtype.kind not in DTYPE_KINDS or dtype.subdtype \
            or dtype.fields:
        raise RefusedPickle(f"it holds an array or scalar of dtype {dtype!r}; a data pickle holds "
                            f"only booleans, numbers and strings")
    return dtype


def _dtype(spec, align=False, copy=True):
    """`numpy.dtype(spec, align, copy)` as pickles call it, for a plain type name only."""
    if not isinstance(spec, str):
        raise RefusedPickle("it builds a dtype from something other than a type name")
    return _check_dtype(np.dtype(spec, align, copy))


def _element_count(shape) -> int:
    if not (isinstance(shape, tuple) and all(isinstance(n, int) and not isinstance(n, bool)
                                             and n >= 0 for n in shape)):
        raise RefusedPickle(f"it declares an array shape {shape!r}")
    return math.prod(shape)


def _reconstruct(cls, shape, dtype):
    """NumPy's `_reconstruct`, for the empty array its pickles start from."""
    if cls is not NDARRAY or _element_count(shape) > 1 or dtype != b"b":
        raise RefusedPickle("it reconstructs an array in a way NumPy's pickles never do")
    return _numpy_core().multiarray._reconstruct(np.ndarray, shape, dtype)


def _frombuffer(buffer, dtype, shape, order):
    """NumPy's `_frombuffer` (protocol 5), for a buffer of exactly the declared size."""
    if not isinstance(buffer, (bytes, bytearray)) or order not in ("C", "F") \
            or len(buffer) != _element_count(shape) * _check_dtype(dtype).itemsize:
        raise RefusedPickle("its array buffer does not match the declared shape and dtype")
    return _numpy_core().numeric._frombuffer(buffer, dtype, shape, order)


def _scalar(dtype, data=None):
    """NumPy's `scalar(dtype, bytes)` for a plain dtype and exactly its bytes."""
    if not isinstance(data, bytes) or len(data) != _check_dtype(dtype).itemsize:
        raise RefusedPickle("its NumPy scalar does not match its dtype")
    return _numpy_core().multiarray.scalar(dtype, data)


def _latin1(text, encoding="latin1"):
    """`_codecs.encode` as pickle protocol 2 uses it for bytes: latin-1 only."""
    if encoding not in ("latin1", "latin-1") or not isinstance(text, str):
        raise RefusedPickle("it uses a codec other than latin-1")
    return text.encode("latin1")


def _of(kind, *types):
    """`kind(*args)` for arguments of the given types only (how pickle rebuilds a builtin)."""
    def build(*args):
        if len(args) > len(types) or not all(isinstance(a, t) for a, t in zip(args, types)):
            raise RefusedPickle(f"it builds a {kind.__name__} from unexpected arguments")
        return kind(*args)
    return build


_INT = (int, type(None))
_DATA = {("numpy", "ndarray"): NDARRAY, ("numpy", "dtype"): _dtype, ("_codecs", "encode"): _latin1}
for _module in ("numpy.core", "numpy._core"):
    _DATA[(f"{_module}.multiarray", "_reconstruct")] = _reconstruct
    _DATA[(f"{_module}.multiarray", "scalar")] = _scalar
    _DATA[(f"{_module}.numeric", "_frombuffer")] = _frombuffer
_PLAIN = dict(_DATA)
for _module in ("builtins", "__builtin__"):
    _PLAIN.update({(_module, "set"): _of(set, list), (_module, "frozenset"): _of(frozenset, list),
                   (_module, "complex"): _of(complex, numbers.Real, numbers.Real),
                   (_module, "range"): _of(range, int, int, int),
                   (_module, "xrange"): _of(range, int, int, int),
                   (_module, "bytearray"): _of(bytearray, (bytes, str), str),
                   (_module, "slice"): _of(slice, _INT, _INT, _INT)})


def _array_state(array: np.ndarray, state) -> None:
    if not (isinstance(state, tuple) and len(state) == 5 and array.size <= 1):
        raise RefusedPickle("it sets an array's state in a way NumPy's pickles never do")
    _, shape, dtype, _, data = state
    if not isinstance(data, (bytes, bytearray)) \
            or len(data) != _element_count(shape) * _check_dtype(dtype).itemsize:
        raise RefusedPickle("its array data do not match the declared shape and dtype")


def _dtype_state(dtype: np.dtype, state) -> None:
    if not (isinstance(state, tuple) and len(state) in (8, 9) and state[2:5] == (None,) * 3):
        raise RefusedPickle("it sets a dtype's state to something other than a plain type")


class _Unpickler(pickle._Unpickler):  # the Python unpickler: its BUILD can be restricted
    def __init__(self, handle, allowed: dict, records: tuple = ()):
        super().__init__(handle)
        self._allowed = allowed
        self._records = records

    def find_class(self, module, name):
        allowed = self._allowed.get((module, name))
        if allowed is None:
            raise RefusedPickle(
                f"it refers to {module}.{name}; a data pickle holds only NumPy arrays, dtypes "
                "and scalars, dicts, lists, tuples, numbers and strings, so it was not loaded")
        return allowed

    def load_build(self):  # pickle._Unpickler's BUILD, whose stubs do not declare it
        state, target = self.stack[-1], self.stack[-2]  # type: ignore[attr-defined]
        if isinstance(target, np.ndarray):
            _array_state(target, state)
        elif isinstance(target, np.dtype):
            _dtype_state(target, state)
        elif type(target) in self._records:
            if not (isinstance(state, dict) and all(isinstance(k, str) for k in state)):
                raise RefusedPickle(f"it sets the attributes of a {type(target).__name__} from "
                                    f"something other than a dict of names")
        else:
            raise RefusedPickle(f"it sets the state of a {type(target).__name__}; a data pickle "
                                f"sets state only on arrays and dtypes")
        super().load_build()  # type: ignore[misc]
        if isinstance(target, np.dtype):
            _check_dtype(target)

    dispatch: ClassVar[dict[int, Callable[..., Any]]] = dict(pickle._Unpickler.dispatch)
    dispatch[pickle.BUILD[0]] = load_build


def safe_unpickle(handle, *, plain: bool = False, records: dict | None = None):
    """Reads one pickle of data from a binary file object, executing nothing.

    Args:
      handle: a binary file object at the pickle's start.
      plain: admit also sets, frozensets, complex numbers, ranges, bytearrays and slices (what the
        reference's `to_pickle` writes for plain Python values).
      records: (module, name) -> a class whose instances are plain records of attributes (an
        `__init__` that stores its argument, no `__setstate__`): pickles may name it under
        those names, create it, and set its attributes from a dict of names (the reference's
        `ObjectView` of arguments).

    Raises:
      RefusedPickle (a `pickle.UnpicklingError`): it names or does something data never need.
      Other exceptions of a truncated or corrupt pickle, as `pickle` raises them.
    """
    records = records or {}
    allowed = (_PLAIN if plain else _DATA) | records
    return _Unpickler(handle, allowed, tuple(set(records.values()))).load()


def check_expanded_size(value, budget: int, name: str = "it") -> None:
    """Raises `ValueError` if the containers in `value` hold more than `budget` elements, counted
    as if expanded (a list referred to 1000 times counts 1000 times); an array counts as one, its
    memory having come from the file. Stops counting at the budget, so the cost is bounded too."""
    seen = 0
    pending = [value]
    while pending:
        item = pending.pop()
        seen += 1
        if seen > budget:
            raise ValueError(f"{name} expands to more than {budget:,} elements (nested containers "
                             "that refer to each other many times)")
        if isinstance(item, dict):
            pending.extend(item.keys())
            pending.extend(item.values())
        elif isinstance(item, (list, tuple, set, frozenset)):
            pending.extend(item)
