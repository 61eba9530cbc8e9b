"""`mnist1d-jax verify FILE` / `verify.verify`: whether a file is the published dataset, per array,
by SHA-256 of canonical bytes, with the distance from the exact rebuild where it is not."""

import pickle

import pytest
from conftest import DEFAULT_PKL

import mnist1d_jax
from mnist1d_jax import cli
from mnist1d_jax.verify import verify


def run(capsys, *argv):
    try:
        status = cli.main(["verify", *argv])
    except SystemExit as done:
        status = done.code
    captured = capsys.readouterr()
    return status, captured.out.splitlines(), captured.err


def test_the_published_file_verifies(reference_pickle, capsys):
    status, lines, _ = run(capsys, str(DEFAULT_PKL))
    assert status == 0
    assert len(lines) == 9 and all(line.endswith("identical") for line in lines[:8])
    assert lines[-1].endswith(": the published MNIST-1D dataset")
    assert all(entry["match"] and entry["identical"] for entry in verify(DEFAULT_PKL).values())


def test_a_rebuild_differs_in_its_last_bits_and_passes_with_a_tolerance(tmp_path, capsys):
    path = str(tmp_path / "rebuilt.npz")
    mnist1d_jax.save(mnist1d_jax.reference_dataset(), path)
    status, lines, _ = run(capsys, path)
    assert status == 1
    assert "x_test" in lines[-1] and "not the published MNIST-1D dataset" in lines[-1]
    report = verify(path)
    assert report["y"]["identical"] and not report["x"]["identical"]
    assert report["x"]["max_abs_diff"] == 0.0
    status, lines, _ = run(capsys, path, "--tolerance", "1e-12")
    assert status == 0 and lines[-1].endswith("(within 1e-12)")


def test_a_changed_value_or_other_arguments_do_not_verify(reference_pickle, tmp_path, capsys):
    changed = {**reference_pickle, "x": reference_pickle["x"].copy()}
    changed["x"][7, 3] += 1e-9
    path = tmp_path / "changed.pkl"
    path.write_bytes(pickle.dumps(changed, protocol=3))
    status, lines, _ = run(capsys, str(path))
    assert status == 1 and lines[-1].endswith("(1 of 8 arrays differ: x)")
    assert verify(path)["x"]["max_abs_diff"] == pytest.approx(1e-9, rel=1e-3)

    other = str(tmp_path / "other.pkl")
    mnist1d_jax.save(mnist1d_jax.reference_dataset(mnist1d_jax.get_dataset_args(num_samples=500)),
                     other)
    status, lines, _ = run(capsys, other)
    assert status == 1 and "differs: not the published shape" in lines[0]


def test_unreadable_input_exits_2_with_one_line(tmp_path, capsys):
    garbage = tmp_path / "garbage.pkl"
    garbage.write_bytes(b"not a pickle")
    for path in (garbage, tmp_path / "missing.pkl"):
        status, lines, err = run(capsys, str(path))
        assert status == 2 and lines == [] and len(err.splitlines()) == 1
        assert err.startswith("mnist1d-jax verify: error: ")
    status, _, err = run(capsys, str(garbage), "--tolerance", "-1")
    assert status == 2 and "tolerance must be a finite number" in err
    with pytest.raises(ValueError, match="tolerance"):
        verify(garbage, tolerance=float("nan"))
