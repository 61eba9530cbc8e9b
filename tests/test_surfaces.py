"""The house's guarantees on the surfaces added after the generator: crafted pickles cost nothing,
`export` never replaces protected paths and refuses before generating, `compat` reads back what
it writes under any name, adapters check their input, `verify` and the CLI stay one line."""

import os
import pickle
import pickletools
import resource
import subprocess
import sys
import time

import numpy as np
import pytest

import mnist1d_jax
from mnist1d_jax import cli
from mnist1d_jax.compat import utils as compat_utils
from mnist1d_jax.compat.data import get_dataset
from mnist1d_jax.outputs import check_output

SMALL = mnist1d_jax.get_dataset_args(num_samples=100)


@pytest.fixture(scope="module")
def small():
    return mnist1d_jax.reference_dataset(SMALL)


def run_cli(capsys, *argv):
    try:
        status = cli.main(list(argv))
    except SystemExit as done:
        status = done.code
    captured = capsys.readouterr()
    return status, captured.out, captured.err


# --- crafted pickles -------------------------------------------------------------------------

def _array_call(shape, buffer=b"\0" * 8, strides=(0, 0)) -> bytes:
    """A pickle of `{x: numpy.ndarray(shape, '<f8', buffer, 0, strides), ...}`: what NumPy's own
    pickles never do (they reconstruct an empty array and set its state from their bytes)."""

    class Call:
        def __reduce__(self):
            return (np.ndarray, (shape, "<f8", buffer, 0, strides))

    return pickle.dumps({"x": Call(), "y": np.zeros(80, np.int64)}, protocol=3)


@pytest.mark.parametrize("shape, strides", [((20_000_000, 40), (0, 0)),
                                            ((10_000_000, 40), None), ((100, 40), None)])
def test_a_direct_array_call_is_refused_at_once_without_allocating(tmp_path, capsys, shape,
                                                                   strides):
    path = tmp_path / "crafted.pkl"
    path.write_bytes(_array_call(shape, strides=strides))
    assert path.stat().st_size < 5000
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    start = time.perf_counter()
    for command in ("info", "verify"):
        status, out, err = run_cli(capsys, command, str(path))
        assert status == 2 and out == "" and len(err.splitlines()) == 1
        assert "calls numpy.ndarray directly" in err
    with pytest.raises(ValueError, match="calls numpy.ndarray directly"):
        mnist1d_jax.load(path)
    assert time.perf_counter() - start < 1.0
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before < 100_000  # kB


def test_array_state_must_bring_its_own_bytes(tmp_path, small):
    class Declared:  # NumPy's own path, but the state declares (2e7, 40) over 8 bytes
        def __reduce__(self):
            return (np.ndarray.__reduce__(np.zeros(1))[0], (np.ndarray, (0,), b"b"),
                    (1, (20_000_000, 40), np.dtype("<f8"), False, b"\0" * 8))

    path = tmp_path / "state.pkl"
    path.write_bytes(pickle.dumps({**small, "x": Declared()}, protocol=3))
    with pytest.raises(ValueError, match="do not match the declared shape"):
        mnist1d_jax.load(path)


def test_object_dtypes_and_foreign_state_are_refused(tmp_path, small):
    path = tmp_path / "object.pkl"
    path.write_bytes(pickle.dumps({**small, "y": np.array([1, "a"], dtype=object)}, protocol=3))
    with pytest.raises(ValueError, match="dtype"):
        mnist1d_jax.load(path)


def test_nested_lists_that_expand_are_refused_before_allocating(tmp_path, small, capsys):
    row = [0.0] * 40
    path = tmp_path / "lists.pkl"
    path.write_bytes(pickle.dumps({**small, "x": [[row] * 3000] * 3000}, protocol=3))
    assert path.stat().st_size < 30_000
    start = time.perf_counter()
    status, _, err = run_cli(capsys, "info", str(path))
    assert status == 2 and "expands to more than" in err and len(err.splitlines()) == 1
    assert time.perf_counter() - start < 1.0
    lists = {**small, "x": small["x"].tolist(), "y": small["y"].tolist()}  # honest lists load
    (tmp_path / "honest.pkl").write_bytes(pickle.dumps(lists, protocol=3))
    np.testing.assert_array_equal(mnist1d_jax.load(tmp_path / "honest.pkl")["x"], small["x"])


def test_loaded_arrays_hold_only_the_files_bytes(tmp_path, small):
    for protocol in (2, 3, 4, 5):
        path = tmp_path / f"d{protocol}.pkl"
        path.write_bytes(pickle.dumps(small, protocol=protocol))
        loaded = mnist1d_jax.load(path)
        for key in ("x", "x_test", "t"):
            np.testing.assert_array_equal(loaded[key], small[key])
        ops = {op.name for op, _, _ in pickletools.genops(path.read_bytes())}
        assert "BUILD" in ops or "STACK_GLOBAL" in ops


# --- export ----------------------------------------------------------------------------------

def test_export_never_replaces_the_working_directory_or_its_parents(tmp_path, small, capsys,
                                                                    monkeypatch):
    source = tmp_path / "small.pkl"
    mnist1d_jax.save(small, source)
    out = tmp_path / "out1"
    assert run_cli(capsys, "export", "--format", "parquet", str(out), "--from", str(source))[0] == 0
    inode = out.stat().st_ino
    monkeypatch.chdir(out)
    for target in (".", str(out)):
        status, _, err = run_cli(capsys, "export", "--format", "parquet", target, "--from",
                                 str(source))
        assert status == 2 and "working directory or one of its parents" in err
    monkeypatch.chdir(out / "data")
    status, _, err = run_cli(capsys, "export", "--format", "parquet", "..", "--from", str(source))
    assert status == 2 and "working directory or one of its parents" in err
    assert out.stat().st_ino == inode


def test_export_refuses_roots_and_foreign_folders_before_generating(tmp_path, capsys,
                                                                    monkeypatch):
    def never(*args, **kwargs):
        raise AssertionError("generated before refusing")

    monkeypatch.setattr("mnist1d_jax.dataset.make_dataset", never)
    monkeypatch.setattr("mnist1d_jax.reference.reference_dataset", never)
    foreign = tmp_path / "userdir"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("mine")
    start = time.perf_counter()
    for target, message in (("/", "filesystem root"), (str(foreign), "not an earlier")):
        for extra in ([], ["--reference"], ["--num-samples", "1000000"]):
            status, _, err = run_cli(capsys, "export", "--format", "parquet", target, *extra)
            assert status == 2 and message in err, err
    assert time.perf_counter() - start < 2.0
    assert (foreign / "notes.txt").read_text() == "mine"


# --- compat files ----------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["data.pickle", "mnist1d_data", "d.pkl.bak", "o.npz"])
def test_compat_reads_back_and_replaces_its_own_files_under_any_name(tmp_path, name, capsys):
    args = get_dataset_args_small()
    path = str(tmp_path / name)
    first = get_dataset(args, path=path, download=False)
    again = get_dataset(args, path=path, download=False)
    np.testing.assert_array_equal(first["x"], again["x"])
    regenerated = get_dataset(args, path=path, download=False, regenerate=True)
    np.testing.assert_array_equal(first["x"], regenerated["x"])


def get_dataset_args_small():
    from mnist1d_jax.compat.data import get_dataset_args

    args = get_dataset_args()
    args.num_samples = 200
    return args


def test_to_pickle_replaces_what_it_wrote_and_round_trips_plain_values(tmp_path):
    values = {"set": {1, 2}, "frozenset": frozenset({3}), "complex": 1 + 2j,
              "range": range(2, 9, 3),
              "bytearray": bytearray(b"ab\x00"), "slice": slice(1, None, 2), "bytes": b"\x01",
              "nested": [(1.5, None, True), {"a": np.float32(2.5)}], "array": np.arange(4.0)}
    path = tmp_path / "results.pkl"
    compat_utils.to_pickle(values, path)
    compat_utils.to_pickle(values, path)  # replaces the file it wrote
    back = compat_utils.from_pickle(path)
    assert set(back) == set(values)
    for key, value in values.items():
        if key == "array":
            np.testing.assert_array_equal(back[key], value)
        else:
            assert back[key] == value and type(back[key]) is type(value), key
    foreign = tmp_path / "notes.pkl"
    foreign.write_text("not a pickle")
    with pytest.raises(ValueError, match="refusing to replace"):
        compat_utils.to_pickle(values, foreign)
    assert foreign.read_text() == "not a pickle"


def test_plain_builtins_take_only_the_arguments_pickle_uses(tmp_path):
    class Huge:
        def __reduce__(self):
            return (bytearray, (10**10,))  # would allocate 10 GB

    path = tmp_path / "huge.pkl"
    path.write_bytes(pickle.dumps(Huge(), protocol=3))
    with pytest.raises(ValueError, match="builds a bytearray from unexpected arguments"):
        compat_utils.from_pickle(path)


# --- adapters ---------------------------------------------------------------------------------

@pytest.mark.parametrize("change, message", [
    (lambda d: {**d, "y": np.where(d["y"] == 0, 99, d["y"])}, "labels outside"),
    (lambda d: {**d, "y": d["y"].astype(np.float64) + 0.7}, "y must be 1-D integer"),
    (lambda d: {**d, "y": d["y"][:-1]}, "labels for"),
    (lambda d: {k: v for k, v in d.items() if k != "t"}, "missing keys"),
])
def test_torch_dataset_checks_data_as_load_does(small, change, message):
    from mnist1d_jax.adapters.torch import MNIST1D

    with pytest.raises(ValueError, match=message):
        MNIST1D(data=change(small))
    assert len(MNIST1D(data=small)) == len(small["y"])


@pytest.mark.slow
def test_torch_stream_in_a_forked_worker_raises_one_clear_line_instead_of_hanging():
    script = """
import jax, torch
from torch.utils.data import DataLoader
from mnist1d_jax.adapters.torch import MNIST1DStream
ds = MNIST1DStream(jax.random.key(0), length=200, block_size=50)
try:
    next(iter(DataLoader(ds, batch_size=50, num_workers=2, multiprocessing_context="fork")))
except RuntimeError as error:
    print("RAISED", "multiprocessing_context='spawn'" in str(error))
"""
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=120)
    assert "RAISED True" in done.stdout, done.stderr[-2000:]


@pytest.mark.parametrize("index, error", [(1.7, TypeError), (True, TypeError), ("3", TypeError),
                                          ([1, 2], TypeError), (None, TypeError),
                                          (float("nan"), TypeError), (2**63, IndexError),
                                          (-1, IndexError), (10, IndexError)])
def test_grain_record_indices_are_integers_in_range(index, error):
    import jax

    from mnist1d_jax.adapters.grain import MNIST1DSource

    source = MNIST1DSource(jax.random.key(0), num_records=10)
    with pytest.raises(error, match=r"index"):
        source[index]
    assert source[np.int64(3)]["y"] == source[3]["y"]


def test_grain_batches_are_flat_sequences_of_integers():
    import jax

    from mnist1d_jax.adapters.grain import MNIST1DSource

    source = MNIST1DSource(jax.random.key(0), num_records=10)
    for bad in ([[1, 2], [3, 4]], [1.0, 2.0], [True, 1], "12", np.array([[1, 2]]),
                np.array([1.5])):
        with pytest.raises(TypeError, match="indices"):
            source.get_batch(bad)
    with pytest.raises(IndexError, match="indices"):
        source.get_batch(np.array([0, 10]))
    assert source.get_batch(np.array([1, 2], np.uint8))["y"].tolist() == \
        source.get_batch([1, 2])["y"].tolist()


# --- verify and the command line -------------------------------------------------------------

def test_verify_refuses_a_fifo_at_once(tmp_path, capsys):
    fifo = tmp_path / "pipe.pkl"
    os.mkfifo(fifo)
    status, _, err = run_cli(capsys, "verify", str(fifo))
    assert status == 2 and "not a regular file or a folder" in err


def test_out_of_memory_in_the_cli_is_one_line_with_exit_1(tmp_path, capsys, monkeypatch):
    import jax

    def exhausted(*args, **kwargs):
        raise jax.errors.JaxRuntimeError("RESOURCE_EXHAUSTED: Out of memory allocating 1 bytes")

    monkeypatch.setattr("mnist1d_jax.dataset.make_dataset", exhausted)
    status, _, err = run_cli(capsys, "generate", "--out", str(tmp_path / "d.npz"))
    assert status == 1 and err.startswith("mnist1d-jax generate: error: out of memory")
    assert len(err.splitlines()) == 1 and not (tmp_path / "d.npz").exists()


@pytest.mark.parametrize("command", [["generate", "--out", "big.npz"],
                                     ["export", "--format", "parquet", "big"]])
@pytest.mark.slow
def test_out_of_memory_under_a_memory_limit_is_one_line(tmp_path, command):
    def limit():
        resource.setrlimit(resource.RLIMIT_AS, (3 << 30, 3 << 30))

    done = subprocess.run([sys.executable, "-m", "mnist1d_jax", *command, "--num-samples",
                           "2000000"], preexec_fn=limit, capture_output=True, text=True,
                          timeout=300, cwd=tmp_path,
                          env={**os.environ, "MNIST1D_JAX_NO_CACHE": "1"})
    assert done.returncode == 1, done.stderr[-2000:]
    assert done.stderr.startswith(f"mnist1d-jax {command[0]}: error: out of memory")
    assert len(done.stderr.splitlines()) == 1 and sorted(os.listdir(tmp_path)) == []


def test_check_output_knows_its_kinds():
    with pytest.raises(ValueError, match="kind must be one of"):
        check_output("x.pkl", "pdf")
