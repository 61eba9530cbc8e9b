"""The Grain data source: records generated on demand equal the stream's rows, through Grain's
index sampler with sharding, its DataLoader and a MapDataset pipeline that batches indices."""

import grain.python as grain
import jax
import numpy as np
import pytest

import mnist1d_jax
from mnist1d_jax.adapters.grain import MNIST1DSource

KEY = jax.random.key(5)


def stream_rows(indices):
    batch = mnist1d_jax.sample_batch(KEY, None, int(max(indices)) + 1)
    return np.asarray(batch["x"])[indices], np.asarray(batch["y"])[indices]


@pytest.mark.slow
def test_records_equal_the_stream_rows():
    source = MNIST1DSource(KEY, num_records=1000)
    x, y = stream_rows([0, 17, 999])
    for j, i in enumerate([0, 17, 999]):
        record = source[i]
        np.testing.assert_array_equal(record["x"], x[j])
        assert record["y"] == y[j] and record["x"].dtype == np.float32
    batched = source._getitems([999, 0, 17])
    np.testing.assert_array_equal(batched[0]["x"], x[2])
    assert len(source) == 1000
    with pytest.raises(IndexError, match=r"\[0, 1000\)"):
        source[1000]


def test_sharded_sampler_and_dataloader_read_each_record_once():
    source = MNIST1DSource(KEY, num_records=300)
    seen, expected_x, _ = [], *stream_rows(np.arange(300))
    for shard in range(2):
        sampler = grain.IndexSampler(len(source), grain.ShardOptions(shard, 2), shuffle=True,
                                     num_epochs=1, seed=0)
        loader = grain.DataLoader(data_source=source, sampler=sampler,
                                  operations=[grain.Batch(32)], worker_count=0)
        for batch in loader:
            for x in batch["x"]:
                seen.append(int(np.flatnonzero((expected_x == x).all(1))[0]))
    assert sorted(seen) == list(range(300)) and seen[:20] != list(range(20))


def test_a_map_dataset_that_batches_indices_reads_each_batch_in_one_call():
    source = MNIST1DSource(KEY, num_records=256)
    calls = []
    original = source.get_batch
    source.get_batch = lambda idx: calls.append(len(idx)) or original(idx)
    dataset = grain.MapDataset.range(len(source)).shuffle(seed=1).batch(64).map(source.get_batch)
    batches = list(dataset)
    assert calls == [64] * 4 and len(batches) == 4
    order = np.asarray(list(grain.MapDataset.range(256).shuffle(seed=1)))
    x, y = stream_rows(order[:64])
    np.testing.assert_array_equal(batches[0]["x"], x)
    np.testing.assert_array_equal(batches[0]["y"], y)
