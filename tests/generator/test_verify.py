"""`mnist1d-jax verify FILE` / `verify.verify`: whether a file is the published dataset, per array,
by SHA-256 of canonical bytes, with the distance from the exact rebuild where it is not. Three
stories: bit for bit, within a tolerance (exit 0 both), or a different dataset (exit 1)."""

import pickle

import mnist1d.data
import numpy as np
import pytest
from conftest import published_pickle_path

import mnist1d_jax
from mnist1d_jax import cli
from mnist1d_jax.verify import verdict, verify


def run(capsys, *argv):
    try:
        status = cli.main(["verify", *argv])
    except SystemExit as done:
        status = done.code
    captured = capsys.readouterr()
    return status, captured.out.splitlines(), captured.err


def test_the_published_file_verifies_bit_for_bit(reference_pickle, capsys):
    path = str(published_pickle_path())
    status, lines, _ = run(capsys, path)
    assert status == 0
    assert len(lines) == 9 and all(line.endswith("identical") for line in lines[:8])
    assert lines[-1] == f"{path}: the published MNIST-1D dataset, bit for bit"
    report = verify(path, 0)
    assert verdict(report) == "identical"
    assert all(entry["match"] and entry["identical"] for entry in report.values())


def test_a_rebuild_is_within_the_default_tolerance_and_never_said_to_differ(tmp_path, capsys):
    path = str(tmp_path / "rebuilt.npz")
    mnist1d_jax.save(mnist1d_jax.reference_dataset(), path)
    status, lines, _ = run(capsys, path)
    assert status == 0 and not any("differ" in line for line in lines)
    assert lines[0].endswith("  within 1e-12: at most 1e-14 from the published values")
    assert lines[-1] == (f"{path}: the published MNIST-1D dataset within 1e-12 (not bit for bit: "
                         "x, x_test, t, as any rebuild, the reference package's own included)")
    report = verify(path)
    assert verdict(report) == "within"
    assert report["y"]["identical"] and not report["x"]["identical"]
    assert report["x"]["max_abs_diff"] == 0.0
    status, lines, _ = run(capsys, path, "--tolerance", "0")  # the published bytes only
    assert status == 1  # not the published bytes: each inexact array differs, by 1e-14 at most
    assert lines[0].endswith("  differs: up to 1e-14 from the published values, more than 0")
    assert lines[-1].startswith(f"{path}: not the published MNIST-1D dataset (")
    assert "differ: x, x_test" in lines[-1]


@pytest.mark.slow
def test_the_reference_packages_own_rebuild_verifies_within_the_tolerance(tmp_path, capsys):
    """The reference package, run here, rebuilds its published file only to the last bit."""
    data = mnist1d.data.make_dataset(mnist1d.data.get_dataset_args())
    path = tmp_path / "reference_package.pkl"
    path.write_bytes(pickle.dumps(data, protocol=4))
    status, lines, _ = run(capsys, str(path))
    assert status == 0 and verdict(verify(path)) in ("identical", "within")


def test_a_changed_value_or_other_arguments_do_not_verify(reference_pickle, tmp_path, capsys):
    changed = {**reference_pickle, "x": reference_pickle["x"].copy()}
    changed["x"][7, 3] += 1e-9
    path = tmp_path / "changed.pkl"
    path.write_bytes(pickle.dumps(changed, protocol=3))
    status, lines, _ = run(capsys, str(path))
    assert status == 1 and lines[-1].endswith("(1 of 8 arrays differ: x)")
    assert lines[0].endswith("  differs: up to 1e-09 from the published values, more than 1e-12")
    assert verify(path)["x"]["max_abs_diff"] == pytest.approx(1e-9, rel=1e-3)
    assert verdict(verify(path)) == "differs"
    status, lines, _ = run(capsys, str(path), "--tolerance", "1e-8")
    assert status == 0 and "within 1e-08" in lines[-1]

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
    assert status == 2 and "tolerance must be a finite real number" in err


@pytest.mark.parametrize("tolerance", [float("nan"), float("inf"), -1e-12, True, "1e-12", None])
def test_tolerance_is_a_finite_real_number(tmp_path, tolerance):
    path = tmp_path / "d.npz"
    mnist1d_jax.save(mnist1d_jax.reference_dataset(), path)
    with pytest.raises(ValueError, match="tolerance must be a finite real number >= 0"):
        verify(path, tolerance=tolerance)


def test_tolerance_takes_numpy_reals(tmp_path):
    path = tmp_path / "d.npz"
    mnist1d_jax.save(mnist1d_jax.reference_dataset(), path)
    for tolerance in (np.float32(1e-12), np.float64(1e-12), np.int64(1)):
        assert verdict(verify(path, tolerance)) == "within"
