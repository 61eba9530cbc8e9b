"""A Grain data source of MNIST-1D records generated on demand (`pip install
'mnist1d-jax[grain]'`).

`MNIST1DSource(key, args, num_records)` follows Grain's random-access data source protocol:
`__len__`, `__getitem__(i)` (record `i`: `{"x": (F,) float32, "y": int32}`, row `i` of the
stream `sample_batch(key, args, ...)` draws from, made from `fold_in(key, i)` alone), and the
batched read `_getitems(indices)` that Grain's batch push-down calls. `get_batch(indices)` gives
many records as stacked arrays in one JAX call, for pipelines that batch indices before reading:

    ds = grain.MapDataset.range(len(source)).shuffle(seed=0).batch(128).map(source.get_batch)

Works with Grain's `IndexSampler` and its `ShardOptions` (each shard reads its own indices);
records do not depend on which process or worker reads them.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..args import as_args
from ..checks import check_count, check_index, check_indices
from ..dataset import sample_rows, stream_choices
from ..extras import require
from ._keys import key_data, wrap

require("grain", "mnist1d_jax.adapters.grain", "grain")


class MNIST1DSource:
    """MNIST-1D records generated on demand.

    Args:
      key: a JAX key. args: dataset arguments (None: the defaults).
      num_records: how many records the source holds (indices `0 .. num_records - 1`).
      templates, normalize: `sample_batch`'s (any number of classes; label noise from `args`).
    """

    def __init__(self, key, args=None, num_records: int = 1_000_000, *, templates=None,
                 normalize="population"):
        self._key = key_data(key)
        self.args = as_args(args)
        self.templates, self.normalize = stream_choices(self.args, templates, normalize)
        self.num_records = check_count(num_records, "num_records", 2**32)

    def __len__(self) -> int:
        return self.num_records

    def get_batch(self, indices: Sequence[int]) -> dict:
        """Records `indices` (a 1-D sequence of integers in `[0, len(self))`) stacked, in one JAX
        call: `x` (c, F) float32, `y` (c,) int32."""
        checked = check_indices(indices, self.num_records)
        rows = sample_rows(wrap(*self._key), self.args, checked, templates=self.templates,
                           normalize=self.normalize)
        return {"x": np.asarray(rows["x"]), "y": np.asarray(rows["y"])}

    def __getitem__(self, index: int) -> dict:
        """Record `index`: an integer in `[0, len(self))` (Python's or NumPy's)."""
        batch = self.get_batch([check_index(index, self.num_records)])
        return {"x": batch["x"][0], "y": batch["y"][0]}

    def _getitems(self, indices: Sequence[int]) -> list[dict]:
        batch = self.get_batch(indices)
        return [{"x": x, "y": y} for x, y in zip(batch["x"], batch["y"])]

    def __repr__(self) -> str:
        return f"MNIST1DSource({self.num_records} records)"
