"""The command line: generate, flags, errors."""

import io
import os
import re
import subprocess
import sys

import numpy as np
import pytest

from mnist1d_jax import cli, files


def run(*argv):
    return cli.main(list(argv))


def test_generate_default_dataset(tmp_path, capsys):
    assert run("generate", "--out", str(tmp_path / "d.npz")) == 0
    data = files.load(tmp_path / "d.npz")
    assert data["x"].shape == (4000, 40) and data["x_test"].shape == (1000, 40)
    printed = capsys.readouterr().out
    assert "x      (4000, 40)" in printed
    assert printed.startswith("JAX draws, seed 42: not the published dataset; `--reference` "
                              "rebuilds that one: 5,000 examples in ")
    match = re.search(r"5,000 examples in ([\d.]+) s = compilation ([\d.]+) s \(cache off\) \+ "
                      r"generation and writing ([\d.]+) s \(([\d,]+) examples/s\)", printed)
    assert match, printed
    total, compiling, generating, rate = (float(v.replace(",", "")) for v in match.groups())
    assert compiling > 0 and abs(total - compiling - generating) <= 0.011
    # the seconds are printed to 0.01 s and the rate from the unrounded time
    assert 5000 / (generating + 0.0051) <= rate <= 5000 / max(generating - 0.0051, 1e-9)


def test_generate_flags_reach_the_generator(tmp_path):
    out = tmp_path / "d.pkl"
    run("generate", "--out", str(out), "--num-samples", "200", "--final-seq-length", "30",
        "--padding", "5", "10", "--shuffle-seq", "--iid-noise-scale", "0.1", "--seed", "3")
    data = files.load(out)
    assert data["x"].shape == (160, 30) and data["t"].shape == (30,)


def test_reference_flag_writes_the_published_dataset(tmp_path, reference_pickle, capsys):
    run("generate", "--reference", "--out", str(tmp_path / "d.pkl"))
    assert np.abs(files.load(tmp_path / "d.pkl")["x"] - reference_pickle["x"]).max() <= 1e-12
    assert capsys.readouterr().out.startswith(
        "reference replay, seed 42: the published dataset, within 1e-12 of its values")
    run("generate", "--reference", "--seed", "3", "--out", str(tmp_path / "d.pkl"))
    assert capsys.readouterr().out.startswith(
        "reference replay, seed 3: the reference's draws for these arguments: ")


@pytest.mark.parametrize("argv, message", [
    (["--num-samples", "5"], "num_samples=5 is fewer than the 10 classes of the templates"),
    (["--num-samples", "1"], "num_samples must be an integer in [2, 2147483647]"),
    (["--label-noise", "2"], "label_noise must be a fraction in [0, 1], got 2.0"),
    (["--normalize", "batch"], "argument --normalize: invalid choice"),
    (["--templates", "shapes.txt"], "templates file must end in .npy"),
    (["--templates", "missing.npy"], "missing.npy"),
    (["--train-split", "1.5"], "train_split must be a float in (0, 1)"),
    (["--padding", "9", "3"], "padding must be two integers"),
    (["--iid-noise-scale", "-1"], "iid_noise_scale must be a finite float in [0, 1e+06]"),
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


@pytest.mark.slow
def test_python_dash_m_entry_point(tmp_path):
    result = subprocess.run([sys.executable, "-m", "mnist1d_jax", "generate", "--num-samples",
                             "100", "--out", str(tmp_path / "d.npz")], capture_output=True,
                            text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert files.load(tmp_path / "d.npz")["x"].shape == (80, 40)


class Terminal(io.StringIO):
    def isatty(self):
        return True


def test_generate_shows_a_progress_bar_on_a_terminal_only(tmp_path, monkeypatch, capsys):
    terminal = Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    run("generate", "--out", str(tmp_path / "a"), "--num-samples", "1000", "--chunk-size", "300")
    drawn = terminal.getvalue()
    assert drawn.startswith("\rgenerate   0%") and drawn.endswith("\r")  # redrawn, then cleared
    assert re.search(r"\| \d\d:\d\d elapsed, \d\d:\d\d left, (generate|normalise), chunk \d of 4",
                     drawn)  # tqdm redraws at most every 0.1 s: which chunks show varies
    monkeypatch.undo()
    run("generate", "--out", str(tmp_path / "b"), "--num-samples", "1000", "--chunk-size", "300")
    assert "chunk" not in capsys.readouterr().err  # not a terminal: no bar


def test_generate_folder_in_chunks_then_info(tmp_path, capsys):
    out = tmp_path / "big"
    run("generate", "--out", str(out), "--num-samples", "3000", "--chunk-size", "700")
    printed = capsys.readouterr().out
    assert "x      (2400, 40)" in printed and "class counts" in printed
    data = files.load(out)
    assert isinstance(data["x"], np.memmap) and data["args"]["num_samples"] == 3000
    run("info", str(out))
    info = capsys.readouterr().out
    assert "num_samples=3000" in info and "x_test (600, 40)" in info


@pytest.mark.slow
def test_info_prints_the_arguments_alike_for_every_format(tmp_path, capsys):
    lines = []
    for out in ("d.pkl", "d.npz", "d"):
        run("generate", "--out", str(tmp_path / out), "--num-samples", "100", "--padding", "30",
            "50", "--no-cache")
        capsys.readouterr()
        run("info", str(tmp_path / out))
        lines.append([line for line in capsys.readouterr().out.splitlines()
                      if line.startswith("  arguments:")])
    assert lines[0] == lines[1] == lines[2] and len(lines[0]) == 1
    assert "padding=(30, 50)," in lines[0][0] and "num_samples=100," in lines[0][0]


def test_info_on_a_reference_file(tmp_path, capsys, reference_pickle):
    import pickle

    path = tmp_path / "ref.pkl"
    path.write_bytes(pickle.dumps(reference_pickle))
    run("info", str(path))
    printed = capsys.readouterr().out
    assert "not recorded" in printed and "(4000, 40)" in printed
    counts = np.bincount(reference_pickle["y"]).tolist()
    assert f"class counts {counts}" in printed


def test_plot_writes_a_png(tmp_path):
    run("plot", "--out", str(tmp_path / "f.png"), "--num-samples", "200", "--per-class", "2")
    assert (tmp_path / "f.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.parametrize("argv, message", [
    (["info", "missing.pkl"], "no dataset at"),
    (["info", "file.txt"], "path must end in"),
    (["plot", "--out", "f.jpg"], "--out must be a .png file"),
    (["generate", "--out", "d", "--chunk-size", "0"],
     "chunk_size must be an integer in [1, 16777216]"),
    (["plot", "--out", "f.png", "--per-class", "0"], "per_class must be an integer in [1, 20]"),
])
def test_bad_commands(tmp_path, monkeypatch, capsys, argv, message):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as exit_info:
        run(*argv)
    assert exit_info.value.code == 2 and message in capsys.readouterr().err
    assert os.listdir(tmp_path) == []
