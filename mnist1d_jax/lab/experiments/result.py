"""What an experiment returns (`Result`): its numbers beside the reference's recorded ones, the
headline claims they test, the arrays its figure draws, and where, how long and by which versions
it ran. A result goes to strict JSON and back unchanged (`to_json`, `from_json`: the results
store keeps them); reading validates every field (`schema`)."""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

from ...args import MAX_SEED
from . import schema

__all__ = ["MAX_KEY_WORDS", "MAX_NUMBERS", "SCHEMA", "SIZES", "UNITS", "Claim", "Number", "Result",
           "Tolerance", "check_size", "holding", "identity"]

SIZES = ("quick", "full")
"""`quick`: a small but real version of every experiment, all of them in a few minutes on a
CPU: its claims hold where so few steps can decide them and say "undecided at this size"
where they cannot; its numbers are not judged against the reference's. `full`: the reference's
settings."""


SCHEMA = 4
"""The version of a stored result's JSON layout: 4 records each number's tolerance and note and
whether each claim can be decided at the result's size; 3 the changes to its size's settings;
2 the versions that wrote it; 1 (no `schema` field) is the layout before them. All are read."""
UNITS = ("%", "points", "")
MAX_NUMBERS = 1_000
"""The most numbers, claims or values of one number a stored result may hold."""
MAX_KEY_WORDS = 8


def identity(size: str, changes: dict, key) -> tuple:
    """What tells two runs of an experiment apart: the size, its changes (as canonical JSON)
    and the key's data."""
    return size, schema.dumps(dict(sorted(changes.items()))), tuple(key)


def check_size(size) -> str:
    if size not in SIZES:
        raise ValueError(f"size must be one of {SIZES}; got {size!r}")
    return size


@dataclasses.dataclass(frozen=True)
class Number:
    """One reported quantity: its `values` over seeds or trials, the reference's recorded value
    (`None` where the reference has none) and the unit: "%" (accuracies, errors), "points"
    (differences of percentages) or "" (learning rates, arguments, losses).

    `tolerance`: how far from the reference the mean may be and still reproduce it (the
    experiment's `Tolerance` fills it in for every number with a reference); `note`: what is
    known about a difference (empty where nothing is)."""

    label: str
    values: Any  # numbers (any array-like), stored as a tuple of floats
    reference: Any = None  # a number, stored as a float, or None
    unit: str = "%"
    tolerance: Any = None  # a number, stored as a float, or None
    note: str = ""

    def __post_init__(self):
        object.__setattr__(self, "values", tuple(float(v) for v in np.ravel(self.values)))
        for name in ("reference", "tolerance"):
            if getattr(self, name) is not None:
                object.__setattr__(self, name, float(getattr(self, name)))

    @property
    def mean(self) -> float:
        return float(np.mean(self.values))

    @property
    def spread(self) -> float:
        """The standard deviation over the values (0 for one value)."""
        return float(np.std(self.values))

    @property
    def difference(self) -> float | None:
        return None if self.reference is None else self.mean - self.reference

    @property
    def within(self) -> bool | None:
        """Whether the mean is within `tolerance` of the reference (None where either is
        missing)."""
        if self.difference is None or self.tolerance is None:
            return None
        return bool(abs(self.difference) <= self.tolerance)


@dataclasses.dataclass(frozen=True)
class Claim:
    """A headline claim of the paper or the reference notebook, whether this run supports it,
    and the numbers that decide it. `at_size` is False where the run's size is too small for
    the claim to be decided (a quick run's few steps): the report then says so instead of
    "does not hold"."""

    text: str
    holds: bool
    evidence: str
    at_size: bool = True

    def __post_init__(self):
        object.__setattr__(self, "holds", bool(self.holds))
        object.__setattr__(self, "at_size", bool(self.at_size))

    @property
    def undecided(self) -> bool:
        """It does not hold at a size too small to decide it."""
        return not self.holds and not self.at_size

    @property
    def verdict(self) -> str:
        """"holds", "does not hold", or "undecided at this size"."""
        if self.holds:
            return "holds"
        return "undecided at this size" if self.undecided else "does not hold"


def holding(claims: list, words: str = "") -> str:
    """How many of `claims` hold: "9 of 15" and `words`, then " (4 undecided at this size)"
    where some are."""
    held = sum(c.holds for c in claims)
    undecided = sum(c.undecided for c in claims)
    return (f"{held} of {len(claims)}{words}"
            + (f" ({undecided} undecided at this size)" if undecided else ""))


@dataclasses.dataclass(frozen=True)
class Tolerance:
    """How far an experiment's numbers may lie from the reference's and still reproduce them:
    the larger of `floor` (in each number's unit), `spreads` times the number's spread over
    seeds, and `relative` times the reference's magnitude. Stated once per experiment."""

    floor: float
    spreads: float = 2.0
    relative: float = 0.0

    def __post_init__(self):
        for name in ("floor", "spreads", "relative"):
            value = getattr(self, name)
            if not isinstance(value, (int, float)) or not 0 <= value < float("inf"):
                raise ValueError(f"Tolerance.{name} must be a finite number >= 0; got {value!r}")

    def of(self, number: Number) -> float:
        """The tolerance for `number` (which has a reference)."""
        return max(self.floor, self.spreads * number.spread,
                   self.relative * abs(number.reference or 0.0))

    def judge(self, numbers: list) -> list:
        """`numbers` with `tolerance` filled in where there is a reference and none was given."""
        return [dataclasses.replace(n, tolerance=self.of(n))
                if n.reference is not None and n.tolerance is None else n for n in numbers]

    def describe(self) -> str:
        """The rule in words, as the report states it."""
        parts = [f"{self.floor:g}"] if self.floor or not (self.spreads or self.relative) else []
        if self.spreads:
            parts.append(f"{self.spreads:g} times the spread over seeds")
        if self.relative:
            parts.append(f"{self.relative:.0%} of the reference's value")
        if len(parts) == 1:
            return parts[0]
        return "the larger of " + ", ".join(parts[:-1]) + " and " + parts[-1]


@dataclasses.dataclass(eq=False)
class Result:
    """An experiment's outcome.

    `size` is "quick" or "full" and `changes` the settings changed from it (setting -> value;
    empty for the size as defined); `key` is the data of the key it ran from
    (`jax.random.key_data`); `arrays` hold what the figure draws (NumPy arrays by name);
    `versions` the mnist1d-jax and JAX versions that computed it; `objects` what a notebook may
    use further (trained parameters, masks): not stored. Plain data: its figure is drawn by the
    experiment registered under its name (`experiments.figure(result)`). Compare results by
    their `to_json()`."""

    name: str
    size: str
    key: tuple
    numbers: list
    claims: list
    arrays: dict
    wall_s: float = 0.0
    device: str = ""
    versions: dict = dataclasses.field(default_factory=dict)
    objects: dict = dataclasses.field(default_factory=dict, repr=False)
    changes: dict = dataclasses.field(default_factory=dict)

    @property
    def identity(self) -> tuple:
        """What a results store tells runs apart by (`identity`)."""
        return identity(self.size, self.changes, self.key)

    def number(self, label: str) -> Number:
        """The number labelled `label`."""
        for number in self.numbers:
            if number.label == label:
                return number
        raise KeyError(f"{self.name} reports no number {label!r}; it has "
                       f"{[n.label for n in self.numbers]}")

    def _repr_markdown_(self) -> str:  # a notebook shows the numbers and claims as a table
        from .markdown import numbers_and_claims

        return numbers_and_claims(self)

    def to_json(self) -> dict:
        """The result as strict JSON values (`schema.dumps` writes them)."""
        return {"schema": SCHEMA, "name": self.name, "size": self.size,
                "changes": dict(self.changes), "key": list(self.key),
                "wall_s": schema.real_to_json(self.wall_s), "device": self.device,
                "versions": dict(self.versions),
                "numbers": [{"label": n.label, "values": [schema.real_to_json(v) for v in n.values],
                             "reference": _optional_real(n.reference), "unit": n.unit,
                             "tolerance": _optional_real(n.tolerance), "note": n.note}
                            for n in self.numbers],
                "claims": [dataclasses.asdict(c) for c in self.claims],
                "arrays": {k: schema.array_to_json(a) for k, a in self.arrays.items()}}

    @classmethod
    def from_json(cls, value, field: str = "result",
                  budget: schema.Budget | None = None) -> Result:
        """The result `to_json` gave, validated field by field (`schema`): `ValueError`
        (`schema.Invalid`) naming `field` and the part that is wrong, before any array is made
        beyond `budget`'s elements."""
        budget = schema.Budget() if budget is None else budget
        value = schema.fields(value, field, ("name", "size", "key", "wall_s", "device",
                                             "numbers", "claims", "arrays"),
                              ("schema", "versions", "changes"))
        layout = schema.integer(value.get("schema", 1), f"{field}.schema", 1, SCHEMA)
        if layout >= 2 and "versions" not in value:
            raise schema.Invalid(f"{field} lacks 'versions'")
        if layout >= 3 and "changes" not in value:
            raise schema.Invalid(f"{field} lacks 'changes'")
        versions = schema.fields(value.get("versions", {}), f"{field}.versions", (),
                                 ("mnist1d-jax", "jax"))
        changes = {schema.text(k, f"{field}.changes", 100): _setting(v, f"{field}.changes[{k!r}]")
                   for k, v in schema.mapping(value.get("changes", {}),
                                              f"{field}.changes").items()}
        size = schema.text(value["size"], f"{field}.size", 16)
        if size not in SIZES:
            raise schema.Invalid(f"{field}.size must be one of {SIZES}; got {size!r}")
        numbers = [_number(n, f"{field}.numbers[{i}]", layout) for i, n in
                   enumerate(schema.items(value["numbers"], f"{field}.numbers", 0, MAX_NUMBERS))]
        claims = [_claim(c, f"{field}.claims[{i}]", layout) for i, c in
                  enumerate(schema.items(value["claims"], f"{field}.claims", 0, MAX_NUMBERS))]
        arrays = schema.mapping(value["arrays"], f"{field}.arrays")
        return cls(schema.text(value["name"], f"{field}.name", 100), size,
                   tuple(schema.integer(k, f"{field}.key", 0, MAX_SEED) for k in
                         schema.items(value["key"], f"{field}.key", 1, MAX_KEY_WORDS)),
                   numbers, claims,
                   {schema.text(k, f"{field}.arrays", 100):
                    schema.array(a, f"{field}.arrays[{k!r}]", budget) for k, a in arrays.items()},
                   schema.real(value["wall_s"], f"{field}.wall_s", 0.0),
                   schema.text(value["device"], f"{field}.device", 200),
                   {k: schema.text(v, f"{field}.versions[{k!r}]", 100)
                    for k, v in versions.items()}, changes=changes)


def _optional_real(value):
    return None if value is None else schema.real_to_json(value)


def _setting(value, field: str, nested: bool = False):
    """A changed setting as stored: null, an integer, a number, a string, or a list of them
    (`registry.Experiment.sizes`)."""
    if isinstance(value, list) and not nested:
        return [_setting(v, f"{field}[{i}]", True)
                for i, v in enumerate(schema.items(value, field, 1, MAX_NUMBERS))]
    if value is None or isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str):
        return schema.text(value, field, 100)
    return schema.real(value, field)


def _number(value, field: str, layout: int) -> Number:
    judged = ("tolerance", "note") if layout >= 4 else ()
    value = schema.fields(value, field, ("label", "values", "reference", "unit") + judged)
    unit = schema.text(value["unit"], f"{field}.unit", 16)
    if unit not in UNITS:
        raise schema.Invalid(f"{field}.unit must be one of {UNITS}; got {unit!r}")
    reference, tolerance = value["reference"], value.get("tolerance")
    return Number(schema.text(value["label"], f"{field}.label", 200),
                  tuple(schema.real(v, f"{field}.values") for v in
                        schema.items(value["values"], f"{field}.values", 1, MAX_NUMBERS)),
                  None if reference is None else schema.real(reference, f"{field}.reference"),
                  unit,
                  None if tolerance is None else schema.real(tolerance, f"{field}.tolerance", 0.0),
                  schema.text(value.get("note", ""), f"{field}.note"))


def _claim(value, field: str, layout: int) -> Claim:
    value = schema.fields(value, field, ("text", "holds", "evidence")
                          + (("at_size",) if layout >= 4 else ()))
    return Claim(schema.text(value["text"], f"{field}.text"),
                 schema.boolean(value["holds"], f"{field}.holds"),
                 schema.text(value["evidence"], f"{field}.evidence"),
                 schema.boolean(value.get("at_size", True), f"{field}.at_size"))
