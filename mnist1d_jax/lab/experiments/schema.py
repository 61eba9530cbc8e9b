"""Strict JSON for stored results: what `results.json` may hold, read by validation rather than
coercion, and written as strict JSON.

Reading checks the JSON types as written (a bool is a JSON bool, an integer an exact JSON
integer, never a float or a string), bounds every length, the nesting depth and every array's
element count before anything is allocated from it, and admits array dtypes from a short list.
Every failure is a `ValueError` naming the field (`Invalid`). Writing never emits the `NaN` and
`Infinity` tokens that strict JSON readers reject: a non-finite real is stored as the string
"NaN", "Infinity" or "-Infinity", which the readers of reals accept.
"""

from __future__ import annotations

import json
import math
import re

import numpy as np

__all__ = ["DTYPES", "MAX_DEPTH", "MAX_DIMENSIONS", "MAX_ELEMENTS", "MAX_TEXT", "NON_FINITE",
           "Budget", "Invalid", "array", "array_to_json", "boolean", "depth", "dumps", "fields",
           "integer", "items", "loads", "mapping", "real", "real_to_json", "text"]

MAX_DEPTH = 64
"""The deepest nesting of JSON arrays and objects read (a stored result nests six deep)."""
MAX_TEXT = 10_000
"""The longest string read (labels, claims, evidence, device names)."""
MAX_ELEMENTS = 1 << 24
"""The most array elements a file may declare, all arrays together."""
MAX_DIMENSIONS = 8
DTYPES = ("bool", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "float32",
          "float64")
"""The dtypes a stored array may have: booleans, integers and floats of at most 8 bytes."""
NON_FINITE = {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}

_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"', re.DOTALL)


class Invalid(ValueError):
    """A stored value that is not what its field must hold; the message names the field."""


def depth(raw: bytes) -> int:
    """The deepest nesting of `[`/`{` in the JSON text `raw`, brackets inside strings ignored.
    Linear in the text and without recursion, so it runs before a parser that recurses."""
    bare = np.frombuffer(_STRING.sub(b'""', raw), np.uint8)
    steps = np.isin(bare, (ord("["), ord("{"))).astype(np.int64) \
        - np.isin(bare, (ord("]"), ord("}")))
    return int(np.cumsum(steps).max(initial=0))


def _unique_keys(pairs: list) -> dict:
    value = dict(pairs)
    if len(value) != len(pairs):
        seen = [key for key, _ in pairs]
        raise Invalid(f"key {next(k for k in seen if seen.count(k) > 1)!r} appears twice in one "
                      f"object")
    return value


def loads(raw: bytes) -> object:
    """The JSON value in `raw` (UTF-8), nesting bounded by `MAX_DEPTH` and object keys unique.
    `ValueError` on anything else."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        raise Invalid(f"it is not UTF-8 text (byte {error.start})") from None
    if depth(raw) > MAX_DEPTH:
        raise Invalid(f"it nests JSON arrays and objects more than {MAX_DEPTH} deep")
    try:
        return json.loads(text, object_pairs_hook=_unique_keys)
    except Invalid:
        raise
    except (ValueError, RecursionError) as error:  # JSONDecodeError, int of too many digits
        raise Invalid(f"it is not JSON ({error})") from None


def dumps(value) -> str:
    """Strict JSON text (no NaN or Infinity tokens; `ValueError` if `value` holds one)."""
    return json.dumps(value, indent=1, ensure_ascii=False, allow_nan=False)


def real_to_json(value: float):
    """A real as strict JSON stores it: the number, or "NaN", "Infinity", "-Infinity"."""
    value = float(value)
    if math.isfinite(value):
        return value
    return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")


def mapping(value, field: str) -> dict:
    """`value` if it is a JSON object (any keys)."""
    if not isinstance(value, dict):
        raise Invalid(f"{field} must be a JSON object; got {type(value).__name__}")
    return value


def fields(value, field: str, required: tuple, optional: tuple = ()) -> dict:
    """`value` if it is a JSON object holding every key of `required` and no key beyond
    `required` and `optional`."""
    mapping(value, field)
    missing = [k for k in required if k not in value]
    if missing:
        raise Invalid(f"{field} lacks {missing[0]!r}")
    extra = sorted(set(value) - set(required) - set(optional))
    if extra:
        raise Invalid(f"{field} holds {extra[0]!r}, which a stored result does not have")
    return value


def text(value, field: str, limit: int = MAX_TEXT) -> str:
    if not isinstance(value, str):
        raise Invalid(f"{field} must be a JSON string; got {type(value).__name__}")
    if len(value) > limit:
        raise Invalid(f"{field} is longer than {limit:,} characters")
    return value


def boolean(value, field: str) -> bool:
    if not isinstance(value, bool):
        raise Invalid(f"{field} must be true or false; got {value!r:.40}")
    return value


def integer(value, field: str, low: int, high: int) -> int:
    if not isinstance(value, int) or isinstance(value, bool):
        raise Invalid(f"{field} must be a JSON integer; got {value!r:.40}")
    if not low <= value <= high:
        raise Invalid(f"{field} must be in [{low}, {high}]; got {value}")
    return value


def real(value, field: str, low: float = -math.inf, high: float = math.inf) -> float:
    """A JSON number (or "NaN", "Infinity", "-Infinity") in [low, high] (NaN admitted only when
    both bounds are infinite)."""
    if isinstance(value, str) and value in NON_FINITE:
        number = NON_FINITE[value]
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        number = float(value)
    else:
        raise Invalid(f"{field} must be a JSON number; got {value!r:.40}")
    if math.isnan(number) and (math.isfinite(low) or math.isfinite(high)):
        raise Invalid(f"{field} must be a number in [{low}, {high}]; got NaN")
    if not math.isnan(number) and not low <= number <= high:
        raise Invalid(f"{field} must be in [{low}, {high}]; got {number}")
    return number


def items(value, field: str, low: int, high: int) -> list:
    """`value` if it is a JSON array of `low` to `high` elements."""
    if not isinstance(value, list):
        raise Invalid(f"{field} must be a JSON array; got {type(value).__name__}")
    if not low <= len(value) <= high:
        raise Invalid(f"{field} must hold {low} to {high:,} elements; got {len(value):,}")
    return value


class Budget:
    """The array elements a file may still declare (`MAX_ELEMENTS` at first)."""

    def __init__(self, elements: int = MAX_ELEMENTS):
        self.left = elements

    def take(self, count: int, field: str) -> None:
        if count > self.left:
            raise Invalid(f"{field} declares {count:,} elements, more than a results file may "
                          f"hold ({MAX_ELEMENTS:,} in all)")
        self.left -= count


def _array_data(data: list, dtype: np.dtype, field: str) -> np.ndarray:
    """`data` (a flat JSON array) as `dtype`, every element of the JSON type the dtype needs."""
    kinds = set(map(type, data))
    if dtype.kind == "b":
        if not kinds <= {bool}:
            raise Invalid(f"{field} of dtype bool must hold only true and false")
        return np.asarray(data, dtype)
    if dtype.kind in "iu":
        if not kinds <= {int}:
            raise Invalid(f"{field} of dtype {dtype} must hold only JSON integers")
        limits = np.iinfo(dtype)
        if data and not (limits.min <= min(data) and max(data) <= limits.max):
            raise Invalid(f"{field} holds integers outside {dtype}'s range")
        return np.asarray(data, dtype)
    if not kinds <= {int, float, str}:
        raise Invalid(f"{field} of dtype {dtype} must hold only JSON numbers")
    if str in kinds:
        strings = {v for v in data if isinstance(v, str)}
        if not strings <= set(NON_FINITE):
            raise Invalid(f"{field} holds the string {sorted(strings - set(NON_FINITE))[0]!r:.40}")
        data = [NON_FINITE[v] if isinstance(v, str) else v for v in data]
    with np.errstate(over="ignore"):
        return np.asarray(data, np.float64).astype(dtype)


def array(value, field: str, budget: Budget) -> np.ndarray:
    """The array stored as {"dtype", "shape", "data"}: dtype in `DTYPES`, shape of at most
    `MAX_DIMENSIONS` sizes whose product is the length of `data` (a flat list) and fits
    `budget`, checked before the array is made."""
    value = fields(value, field, ("dtype", "shape", "data"))
    name = text(value["dtype"], f"{field}.dtype", 100)
    if name not in DTYPES:
        raise Invalid(f"{field}.dtype must be one of {', '.join(DTYPES)}; got {name!r}")
    shape = [integer(n, f"{field}.shape", 0, MAX_ELEMENTS)
             for n in items(value["shape"], f"{field}.shape", 0, MAX_DIMENSIONS)]
    count = math.prod(shape)
    budget.take(count, field)
    data = items(value["data"], f"{field}.data", 0, MAX_ELEMENTS)
    if len(data) != count:
        raise Invalid(f"{field}.data holds {len(data):,} values for shape {shape}")
    return _array_data(data, np.dtype(name), f"{field}.data").reshape(shape)


def array_to_json(values) -> dict:
    """`values` as `array` reads it back. `ValueError` for a dtype outside `DTYPES`."""
    values = np.asarray(values)
    if values.dtype.name not in DTYPES:
        raise ValueError(f"an array of dtype {values.dtype} cannot be stored; store one of "
                         f"{', '.join(DTYPES)}")
    flat = values.ravel().tolist()
    if values.dtype.kind == "f":
        flat = [real_to_json(v) for v in flat]
    return {"dtype": values.dtype.name, "shape": list(values.shape), "data": flat}
