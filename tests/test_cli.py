"""The command line: generate, flags, errors."""

import subprocess
import sys

import numpy as np
import pytest

from mnist1d_jax import cli, io


def run(*argv):
    return cli.main(list(argv))


def test_generate_default_dataset(tmp_path, capsys):
    assert run("generate", "--out", str(tmp_path / "d.npz")) == 0
    data = io.load(tmp_path / "d.npz")
    assert data["x"].shape == (4000, 40) and data["x_test"].shape == (1000, 40)
    assert "wrote" in capsys.readouterr().out


def test_generate_flags_reach_the_generator(tmp_path):
    out = tmp_path / "d.pkl"
    run("generate", "--out", str(out), "--num-samples", "200", "--final-seq-length", "30",
        "--padding", "5", "10", "--shuffle-seq", "--iid-noise-scale", "0.1", "--seed", "3")
    data = io.load(out)
    assert data["x"].shape == (160, 30) and data["t"].shape == (30,)


def test_reference_flag_writes_the_published_dataset(tmp_path, reference_pickle):
    run("generate", "--reference", "--out", str(tmp_path / "d.pkl"))
    assert np.abs(io.load(tmp_path / "d.pkl")["x"] - reference_pickle["x"]).max() <= 1e-12


@pytest.mark.parametrize("argv, message", [
    (["--num-samples", "5"], "num_samples must be an integer >= 10"),
    (["--train-split", "1.5"], "train_split must be a float in (0, 1)"),
    (["--padding", "9", "3"], "padding must be two integers"),
    (["--iid-noise-scale", "-1"], "iid_noise_scale must be a finite float >= 0"),
    (["--num-samples", "many"], "invalid int value"),
    (["--bogus", "1"], "unrecognized arguments"),
])
def test_bad_flags_exit_nonzero_with_a_clear_message(tmp_path, capsys, argv, message):
    with pytest.raises(SystemExit) as exit_info:
        run("generate", "--out", str(tmp_path / "d.pkl"), *argv)
    assert exit_info.value.code == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "d.pkl").exists()


def test_bad_output_extension(tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_info:
        run("generate", "--out", str(tmp_path / "d.csv"))
    assert exit_info.value.code == 2 and "path must end in" in capsys.readouterr().err


def test_python_dash_m_entry_point(tmp_path):
    result = subprocess.run([sys.executable, "-m", "mnist1d_jax", "generate", "--num-samples",
                             "100", "--out", str(tmp_path / "d.npz")], capture_output=True,
                            text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert io.load(tmp_path / "d.npz")["x"].shape == (80, 40)
