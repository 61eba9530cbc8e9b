"""PyTorch adapters: torchvision-style map-style dataset and a JAX-generated IterableDataset,
through `DataLoader`s with 0 and 2 workers."""

import jax
import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader

import mnist1d_jax
from mnist1d_jax.adapters.torch import MNIST1D, MNIST1DStream


def test_published_dataset_in_torchvision_conventions(reference_pickle):
    train, test = MNIST1D(), MNIST1D(train=False)
    assert (len(train), len(test)) == (4000, 1000) and train.classes[3] == "3"
    x, label = train[5]
    assert x.dtype == torch.float32 and x.shape == (40,) and isinstance(label, int)
    np.testing.assert_allclose(x.numpy(), reference_pickle["x"][5], atol=1e-6)
    assert label == reference_pickle["y"][5] and test[7][1] == reference_pickle["y_test"][7]
    conv = MNIST1D(channels_first=True, transform=lambda v: 2 * v,
                   target_transform=lambda y: y + 100)
    x2, label2 = conv[5]
    assert x2.shape == (1, 40) and torch.equal(x2[0], 2 * x) and label2 == label + 100


@pytest.mark.parametrize("workers", [0, 2])
def test_dataloader_gives_every_example_in_order(workers):
    data = MNIST1D(train=False)
    loader = DataLoader(data, batch_size=64, shuffle=False, num_workers=workers)
    xs, ys = zip(*loader)
    assert torch.equal(torch.cat(xs), data.data) and torch.equal(torch.cat(ys), data.targets)
    shuffled = DataLoader(data, batch_size=100, shuffle=True, num_workers=workers,
                          generator=torch.Generator().manual_seed(0))
    assert sorted(torch.cat([y for _, y in shuffled]).tolist()) == sorted(data.targets.tolist())


def test_generated_and_cached_datasets(tmp_path):
    args = mnist1d_jax.get_dataset_args(num_samples=500)
    key = jax.random.key(3)
    generated = MNIST1D(args=args, key=key)
    np.testing.assert_array_equal(generated.data.numpy(),
                                  np.asarray(mnist1d_jax.make_dataset(key, args)["x"]))
    cached = MNIST1D(tmp_path, args=args)
    files = list(tmp_path.iterdir())
    assert len(files) == 1 and files[0].name.startswith("mnist1d_")
    again = MNIST1D(tmp_path, args=args, train=False)
    assert len(again) == 100 and len(list(tmp_path.iterdir())) == 1
    np.testing.assert_allclose(cached.data.numpy(), mnist1d_jax.reference_dataset(args)["x"],
                               atol=1e-6)
    with pytest.raises(TypeError, match="train must be True or False"):
        MNIST1D(train="yes")
    with pytest.raises(ValueError, match="root caches the reference's dataset only"):
        MNIST1D(tmp_path, key=key)


def rows_of(key, n):
    rows = mnist1d_jax.sample_rows(key, None, np.arange(n))
    return np.asarray(rows["x"]), np.asarray(rows["y"])


@pytest.mark.slow
def test_stream_in_one_process_is_the_stream_in_order():
    key = jax.random.key(8)
    stream = MNIST1DStream(key, length=700, block_size=256)
    xs, ys = zip(*DataLoader(stream, batch_size=50))
    expected_x, expected_y = rows_of(key, 700)
    np.testing.assert_array_equal(torch.cat(xs).numpy(), expected_x)
    np.testing.assert_array_equal(torch.cat(ys).numpy(), expected_y)
    assert len(stream) == 700
    with pytest.raises(TypeError, match="endless"):
        len(MNIST1DStream(key))


@pytest.mark.slow
def test_stream_workers_split_blocks_without_overlap_deterministically():
    """Two workers: worker w generates blocks w, w + 2, ...; the loader takes a batch from each
    worker in turn, so the order is fixed by the key, block size, batch size and worker count."""
    key = jax.random.key(8)
    stream = MNIST1DStream(key, length=600, block_size=128, channels_first=True)
    loader = DataLoader(stream, batch_size=32, num_workers=2, multiprocessing_context="spawn")
    xs, ys = zip(*loader)
    x, y = torch.cat(xs).numpy(), torch.cat(ys).numpy()
    assert x.shape == (600, 1, 40)
    blocks = {0: [0, 2, 4], 1: [1, 3]}  # blocks of 128: worker 0 holds 0, 2, 4 (the last of 88)
    per_worker = {w: [i for b in bs for i in range(128 * b, min(128 * b + 128, 600))]
                  for w, bs in blocks.items()}
    batches = {w: [ids[i:i + 32] for i in range(0, len(ids), 32)] for w, ids in per_worker.items()}
    order = []
    for turn in range(max(len(b) for b in batches.values())):
        for w in (0, 1):
            if turn < len(batches[w]):
                order.extend(batches[w][turn])
    assert sorted(order) == list(range(600))  # every example once: no overlap, none missing
    expected_x, expected_y = rows_of(key, 600)
    np.testing.assert_array_equal(x[:, 0], expected_x[order])
    np.testing.assert_array_equal(y, expected_y[order])
