"""save / load / get_dataset: formats, reference interoperability, atomic writes, bad files."""

import os
import pickle

import mnist1d.utils
import numpy as np
import pytest

import mnist1d_jax
from mnist1d_jax import files, reference

SMALL = mnist1d_jax.get_dataset_args(num_samples=100)


@pytest.fixture(scope="module")
def small():
    return mnist1d_jax.reference_dataset(SMALL)


def assert_same(a, b):
    for key in files.DATA_KEYS:
        np.testing.assert_array_equal(a[key], b[key])
    for key in files.TEMPLATE_KEYS:
        np.testing.assert_array_equal(a["templates"][key], b["templates"][key])


@pytest.mark.parametrize("name", ["d.pkl", "d.npz"])
def test_round_trip(tmp_path, small, name):
    files.save(small, tmp_path / name)
    assert_same(files.load(tmp_path / name), small)
    assert os.listdir(tmp_path) == [name]  # no temporary file left behind


def test_pickle_is_interchangeable_with_the_reference(tmp_path, small):
    files.save(small, tmp_path / "ours.pkl")
    assert_same(mnist1d.utils.from_pickle(tmp_path / "ours.pkl"), small)
    mnist1d.utils.to_pickle(small, tmp_path / "theirs.pkl")
    assert_same(files.load(tmp_path / "theirs.pkl"), small)


def test_jax_arrays_are_saved_as_numpy(tmp_path):
    import jax

    data = mnist1d_jax.make_dataset(jax.random.key(0), SMALL)
    files.save(data, tmp_path / "d.npz")
    loaded = files.load(tmp_path / "d.npz")
    assert isinstance(loaded["x"], np.ndarray) and loaded["x"].dtype == np.float32
    np.testing.assert_array_equal(loaded["x"], data["x"])


def test_interrupted_save_keeps_the_earlier_file(tmp_path, small, monkeypatch):
    path = tmp_path / "d.pkl"
    files.save(small, path)
    before = path.read_bytes()

    def crash(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(pickle, "dump", crash)
    with pytest.raises(KeyboardInterrupt):
        files.save({**small, "x": small["x"] + 1}, path)
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == ["d.pkl"]


@pytest.mark.parametrize("content", [b"", b"not a pickle", pickle.dumps([1, 2]),
                                     pickle.dumps({"x": np.zeros(3)})])
def test_load_rejects_files_that_are_not_datasets(tmp_path, content):
    path = tmp_path / "bad.pkl"
    path.write_bytes(content)
    with pytest.raises(ValueError, match="not a (valid|readable) MNIST-1D dataset"):
        files.load(path)


def test_load_rejects_npz_without_dataset_keys(tmp_path):
    np.savez(tmp_path / "bad.npz", a=np.zeros(3))
    with pytest.raises(ValueError, match="not a valid MNIST-1D dataset: missing keys"):
        files.load(tmp_path / "bad.npz")


def test_unknown_extension_is_rejected_before_writing(tmp_path, small):
    with pytest.raises(ValueError, match=r"path must end in one of \.pkl, \.npz"):
        files.save(small, tmp_path / "d.csv")
    with pytest.raises(ValueError, match="path must end in"):
        files.load(tmp_path / "d.csv")
    assert os.listdir(tmp_path) == []


def test_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError):
        files.load(tmp_path / "none.pkl")


def test_get_dataset_builds_then_loads(tmp_path, small, monkeypatch):
    path = tmp_path / "cache.pkl"
    built = mnist1d_jax.get_dataset(SMALL, path)
    assert_same(built, small)
    assert path.exists()
    monkeypatch.setattr(reference, "reference_dataset", lambda *a, **k: pytest.fail("rebuilt"))
    assert_same(mnist1d_jax.get_dataset(SMALL, path), small)
    monkeypatch.undo()
    files.save({**small, "x": small["x"] * 0}, path)
    assert_same(mnist1d_jax.get_dataset(SMALL, path, regenerate=True), small)


def test_get_dataset_default_is_the_published_dataset(tmp_path, monkeypatch, reference_pickle):
    monkeypatch.chdir(tmp_path)
    data = mnist1d_jax.get_dataset()
    assert (tmp_path / "mnist1d_data.pkl").exists()
    assert np.abs(data["x"] - reference_pickle["x"]).max() <= 1e-12
