"""What an experiment returns (`Result`): its numbers beside the reference's recorded ones, the
headline claims they test, the arrays its figure draws, and where and how long it ran. A result
goes to JSON and back unchanged (`to_json`, `from_json`: the `reproduce` command stores them)."""

from __future__ import annotations

import dataclasses

import numpy as np

SIZES = ("quick", "full")
"""`quick`: reduced sizes that run every experiment in minutes on a CPU (the numbers are only
sane, not the paper's); `full`: the reference's settings."""


def check_size(size) -> str:
    if size not in SIZES:
        raise ValueError(f"size must be one of {SIZES}; got {size!r}")
    return size


@dataclasses.dataclass(frozen=True)
class Number:
    """One reported quantity: its `values` over seeds or trials, the reference's recorded value
    (`None` where the reference has none) and the unit: "%" (accuracies, errors), "points"
    (differences of percentages) or "" (learning rates, arguments, losses)."""

    label: str
    values: tuple
    reference: float | None = None
    unit: str = "%"

    def __post_init__(self):
        object.__setattr__(self, "values", tuple(float(v) for v in np.ravel(self.values)))
        if self.reference is not None:
            object.__setattr__(self, "reference", float(self.reference))

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


@dataclasses.dataclass(frozen=True)
class Claim:
    """A headline claim of the paper or the reference notebook, whether this run supports it,
    and the numbers that decide it."""

    text: str
    holds: bool
    evidence: str

    def __post_init__(self):
        object.__setattr__(self, "holds", bool(self.holds))


@dataclasses.dataclass(eq=False)
class Result:
    """An experiment's outcome.

    `key` is the data of the key it ran from (`jax.random.key_data`); `arrays` hold what the
    figure draws (NumPy arrays by name); `objects` what a notebook may use further (trained
    parameters, masks): not stored. Compare results by their `to_json()`."""

    name: str
    size: str
    key: tuple
    numbers: list
    claims: list
    arrays: dict
    wall_s: float = 0.0
    device: str = ""
    objects: dict = dataclasses.field(default_factory=dict, repr=False)

    def number(self, label: str) -> Number:
        """The number labelled `label`."""
        for number in self.numbers:
            if number.label == label:
                return number
        raise KeyError(f"{self.name} reports no number {label!r}; it has "
                       f"{[n.label for n in self.numbers]}")

    def _repr_markdown_(self) -> str:  # a notebook shows the numbers and claims as a table
        from .report import numbers_and_claims

        return numbers_and_claims(self)

    def figure(self):
        """The experiment's figure (a `matplotlib.figure.Figure`, made without pyplot: no
        backend is chosen). Needs the plot extra."""
        from . import EXPERIMENTS

        return EXPERIMENTS[self.name].draw(self)

    def to_json(self) -> dict:
        return {"name": self.name, "size": self.size, "key": list(self.key),
                "wall_s": self.wall_s, "device": self.device,
                "numbers": [dataclasses.asdict(n) | {"values": list(n.values)}
                            for n in self.numbers],
                "claims": [dataclasses.asdict(c) for c in self.claims],
                "arrays": {k: {"dtype": str(np.asarray(a).dtype), "shape": list(np.shape(a)),
                               "data": np.asarray(a).ravel().tolist()}
                           for k, a in self.arrays.items()}}

    @classmethod
    def from_json(cls, value: dict) -> "Result":
        """The result `to_json` gave. Raises `ValueError` on anything else."""
        try:
            numbers = [Number(n["label"], tuple(n["values"]), n["reference"], n["unit"])
                       for n in value["numbers"]]
            claims = [Claim(c["text"], c["holds"], c["evidence"]) for c in value["claims"]]
            arrays = {k: np.asarray(a["data"], dtype=np.dtype(a["dtype"])).reshape(a["shape"])
                      for k, a in value["arrays"].items()}
            result = cls(str(value["name"]), check_size(value["size"]),
                         tuple(int(k) for k in value["key"]),
                         numbers, claims, arrays, float(value["wall_s"]), str(value["device"]))
        except (KeyError, TypeError, ValueError) as error:
            raise ValueError(f"not a stored experiment result ({error})") from None
        return result
