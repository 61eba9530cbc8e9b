"""Hugging Face parquet export: the hub copy's schema, read back by `datasets`."""

import jax
import numpy as np
import pytest
from conftest import published_pickle_path

import mnist1d_jax
from mnist1d_jax import cli
from mnist1d_jax.adapters.parquet import export_parquet, split_file


@pytest.fixture
def hf(monkeypatch, tmp_path):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    import datasets
    return lambda *a, **k: datasets.load_dataset(*a, cache_dir=str(tmp_path / "hf-cache"), **k)


def test_the_published_dataset_reads_back_through_datasets(reference_pickle, tmp_path, hf,
                                                           capsys):
    out = tmp_path / "mnist1d"
    assert cli.main(["export", "--format", "parquet", str(out), "--from",
                     str(published_pickle_path())]) == 0
    files = {split: str(out / split_file(split)) for split in ("train", "test")}
    loaded = hf("parquet", data_files=files)
    features = loaded["train"].features
    assert features["x"].feature.dtype == "float64" and features["y"].dtype == "int64"
    exact = loaded.with_format("arrow")  # float64 as stored (the numpy format gives float32)
    np.testing.assert_array_equal(np.stack(exact["train"]["x"].to_numpy(zero_copy_only=False)),
                                  reference_pickle["x"])
    np.testing.assert_array_equal(exact["test"]["y"].to_numpy(), reference_pickle["y_test"])
    as_jax = loaded.with_format("jax")
    x = as_jax["train"][:]["x"]  # a batch: one (4000, 40) array
    assert isinstance(x, jax.Array) and x.shape == (4000, 40)
    np.testing.assert_allclose(x, reference_pickle["x"], rtol=1e-6)  # float32 without x64
    by_card = hf(str(out))  # the dataset card's configs name the splits
    assert by_card["test"].num_rows == 1000


def test_a_generated_dataset_and_the_cli_flags(tmp_path, hf, capsys):
    out = tmp_path / "small"
    assert cli.main(["export", "--format", "parquet", str(out), "--num-samples", "300",
                     "--seed", "4"]) == 0
    ours = mnist1d_jax.make_dataset(None, mnist1d_jax.get_dataset_args(num_samples=300, seed=4))
    loaded = hf("parquet", data_files={"train": str(out / split_file("train"))})
    np.testing.assert_array_equal(np.asarray(loaded["train"]["x"]),  # lists of Python floats
                                  np.asarray(ours["x"], np.float64))
    assert "num_samples': 300" in (out / "README.md").read_text()
    assert cli.main(["export", "--format", "parquet", str(out), "--num-samples", "300"]) == 0
    with pytest.raises(SystemExit) as done:
        cli.main(["export", "--format", "parquet", str(tmp_path / "x"), "--from",
                  str(published_pickle_path()), "--seed", "3"])
    assert done.value.code == 2 and "--from exports a file as it is" in capsys.readouterr().err


def test_templates_label_noise_and_normalisation_reach_the_export(tmp_path, hf):
    shapes = tmp_path / "three.npy"
    np.save(shapes, np.random.default_rng(0).normal(size=(3, 9)))
    out = tmp_path / "three"
    assert cli.main(["export", "--format", "parquet", str(out), "--num-samples", "300",
                     "--templates", str(shapes), "--label-noise", "0.5",
                     "--normalize", "population"]) == 0
    args = mnist1d_jax.get_dataset_args(num_samples=300, label_noise=0.5)
    ours = mnist1d_jax.make_dataset(None, args, templates=np.load(shapes),
                                    normalize="population")
    loaded = hf("parquet", data_files={"train": str(out / split_file("train"))})
    np.testing.assert_array_equal(np.asarray(loaded["train"]["y"]), np.asarray(ours["y"]))
    np.testing.assert_array_equal(np.asarray(loaded["train"]["x"]),
                                  np.asarray(ours["x"], np.float64))
    assert "Templates from" in (out / "README.md").read_text()


def test_never_replaces_a_folder_it_did_not_write(tmp_path):
    foreign = tmp_path / "mine"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("keep me")
    data = mnist1d_jax.reference_dataset(mnist1d_jax.get_dataset_args(num_samples=100))
    with pytest.raises(ValueError, match="not an earlier mnist1d-jax export"):
        export_parquet(data, foreign)
    assert (foreign / "notes.txt").read_text() == "keep me"
