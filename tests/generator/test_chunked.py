"""write_dataset: chunked generation to a folder of .npy files."""

import os
import subprocess
import sys
import textwrap

import jax
import numpy as np
import pytest

import mnist1d_jax
from mnist1d_jax import chunked, files

ARGS = mnist1d_jax.get_dataset_args(num_samples=2345, shuffle_seq=True, train_split=0.7)


@pytest.mark.slow
def test_chunked_folder_equals_make_dataset(tmp_path):
    summary = chunked.write_dataset(tmp_path / "d", jax.random.key(3), ARGS, chunk_size=300)
    data = files.load(tmp_path / "d")
    expected = mnist1d_jax.make_dataset(jax.random.key(3), ARGS)
    for key in ("x", "x_test", "t"):
        assert isinstance(data[key], np.memmap), key
        np.testing.assert_allclose(data[key], expected[key], atol=2e-6, rtol=0)
    for key in ("y", "y_test"):
        np.testing.assert_array_equal(data[key], expected[key])
    assert data["args"] == ARGS.as_dict()
    counts = [np.bincount(np.asarray(expected[k]), minlength=10).tolist() for k in ("y", "y_test")]
    assert summary["class_counts"] == counts
    assert sorted(os.listdir(tmp_path)) == ["d"]


@pytest.mark.slow
def test_chunk_size_does_not_change_the_result(tmp_path):
    chunked.write_dataset(tmp_path / "a", jax.random.key(1), ARGS, chunk_size=2345)
    chunked.write_dataset(tmp_path / "b", jax.random.key(1), ARGS, chunk_size=97)
    a, b = files.load(tmp_path / "a"), files.load(tmp_path / "b")
    for key in ("x", "x_test", "y", "y_test", "t"):
        np.testing.assert_array_equal(a[key], b[key])


def test_interrupted_run_leaves_no_partial_folder_and_keeps_the_old_one(tmp_path, monkeypatch):
    target = tmp_path / "d"
    chunked.write_dataset(target, jax.random.key(0), ARGS, chunk_size=1000)
    before = {name: (target / name).read_bytes() for name in os.listdir(target)}

    def interrupt(stage, done, total):
        if done == 2:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        chunked.write_dataset(target, jax.random.key(9), ARGS, chunk_size=300, progress=interrupt)
    assert sorted(os.listdir(tmp_path)) == ["d"]  # no temporary folder left
    assert {name: (target / name).read_bytes() for name in os.listdir(target)} == before

    with pytest.raises(KeyboardInterrupt):
        chunked.write_dataset(tmp_path / "new", jax.random.key(9), ARGS, chunk_size=300,
                              progress=interrupt)
    assert sorted(os.listdir(tmp_path)) == ["d"]  # nothing under the new name either


def test_rewriting_replaces_the_folder(tmp_path):
    chunked.write_dataset(tmp_path / "d", jax.random.key(0), ARGS, chunk_size=1000)
    chunked.write_dataset(tmp_path / "d", jax.random.key(5), ARGS, chunk_size=1000)
    expected = mnist1d_jax.make_dataset(jax.random.key(5), ARGS)
    np.testing.assert_array_equal(files.load(tmp_path / "d")["y"], expected["y"])
    assert sorted(os.listdir(tmp_path)) == ["d"]


def test_bad_arguments(tmp_path):
    with pytest.raises(ValueError, match=r"chunk_size must be an integer in \[1, 16777216\]"):
        chunked.write_dataset(tmp_path / "d", None, ARGS, chunk_size=0)
    with pytest.raises(ValueError, match="does not exist"):
        chunked.write_dataset(tmp_path / "missing" / "d", None, ARGS)
    assert os.listdir(tmp_path) == []


MEMORY = textwrap.dedent("""
    import resource, sys, jax, mnist1d_jax
    from mnist1d_jax import chunked
    def peak_mb():
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    n, folder = int(sys.argv[1]), sys.argv[2]
    args = mnist1d_jax.get_dataset_args(num_samples=n)
    small = mnist1d_jax.get_dataset_args(num_samples=20_000)
    chunked.write_dataset(folder + "_warm", None, small, chunk_size=20_000)  # compile first
    base = peak_mb()
    chunked.write_dataset(folder, None, args, chunk_size=20_000)
    print(peak_mb() - base)
""")


@pytest.mark.slow
def test_peak_memory_is_bounded_by_the_chunk_not_by_n(tmp_path):
    growth = {}
    for n in (200_000, 2_000_000):
        result = subprocess.run([sys.executable, "-c", MEMORY, str(n), str(tmp_path / f"d{n}")],
                                capture_output=True, text=True, timeout=600)
        assert result.returncode == 0, result.stderr
        growth[n] = float(result.stdout.split()[-1])
    # Per extra example: the output is 164 bytes (x and y), an in-memory make_dataset holds its
    # ~600 bytes of draws, a global example order 4-32 bytes; the keyed bijection holds nothing.
    per_example = (growth[2_000_000] - growth[200_000]) * 2**20 / 1_800_000
    assert per_example < 3, growth
