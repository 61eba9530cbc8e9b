"""Interrupted writes: SIGKILL leaves a recognisable temporary that the next write to the same
path removes; SIGINT and SIGTERM leave nothing; an earlier dataset at the path stays intact."""

import os
import signal
import subprocess
import sys
import textwrap

import pytest

import mnist1d_jax
from mnist1d_jax import chunked, files, outputs

# Writes a folder in many small chunks, announcing on stdout when the first chunk is written
# (the temporary then exists), then slowing down so that the signal arrives mid-run.
SLOW_WRITER = textwrap.dedent("""
    import signal, sys, time, mnist1d_jax
    from mnist1d_jax import chunked, cli
    # Ctrl-C raises KeyboardInterrupt, as in a terminal (a shell's background job, such as a
    # test run started with `&`, inherits SIGINT ignored)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    original = chunked._write_rows
    def slow(*args, **kwargs):
        original(*args, **kwargs)
        print("chunk", flush=True)
        time.sleep(0.05)
    chunked._write_rows = slow
    sys.exit(cli.main(sys.argv[1:]))
""")


def _start(tmp_path, out):
    process = subprocess.Popen(
        [sys.executable, "-c", SLOW_WRITER, "generate", "--out", str(out), "--num-samples",
         "20000", "--chunk-size", "100"], cwd=tmp_path, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True)
    assert process.stdout.readline().strip() == "chunk", process.stderr.read()
    return process


def _temporaries(tmp_path):
    return sorted(name for name in os.listdir(tmp_path) if name.endswith(outputs.TEMP_MARK))


@pytest.fixture(scope="module")
def earlier(tmp_path_factory):
    """An earlier dataset folder, written once, copied into each test."""
    folder = tmp_path_factory.mktemp("earlier") / "d"
    chunked.write_dataset(folder, None, mnist1d_jax.get_dataset_args(num_samples=100))
    return {name: (folder / name).read_bytes() for name in os.listdir(folder)}


def _plant(tmp_path, earlier):
    (tmp_path / "d").mkdir()
    for name, content in earlier.items():
        (tmp_path / "d" / name).write_bytes(content)


@pytest.mark.slow
@pytest.mark.parametrize("signum, code", [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_sigint_and_sigterm_leave_nothing_and_keep_the_earlier_dataset(tmp_path, earlier,
                                                                       signum, code):
    _plant(tmp_path, earlier)
    process = _start(tmp_path, "d")
    assert len(_temporaries(tmp_path)) == 1
    process.send_signal(signum)
    _, err = process.communicate(timeout=120)
    assert process.returncode == code, err
    assert err.strip().endswith("interrupted" if signum == signal.SIGINT else "terminated")
    assert "Traceback" not in err
    assert sorted(os.listdir(tmp_path)) == ["d"]
    assert {n: (tmp_path / "d" / n).read_bytes() for n in os.listdir(tmp_path / "d")} == earlier


@pytest.mark.slow
def test_sigkill_leaves_a_recognisable_temporary_that_the_next_run_removes(tmp_path, earlier):
    _plant(tmp_path, earlier)
    process = _start(tmp_path, "d")
    process.kill()
    process.wait(timeout=60)
    left = _temporaries(tmp_path)
    assert len(left) == 1 and left[0].startswith(f".d.{process.pid}-"), left
    assert {n: (tmp_path / "d" / n).read_bytes() for n in os.listdir(tmp_path / "d")} == earlier
    # another path's writes leave it alone; the next write to the same path removes it
    files.save(mnist1d_jax.reference_dataset(mnist1d_jax.get_dataset_args(num_samples=100)),
               tmp_path / "other.npz")
    assert _temporaries(tmp_path) == left
    chunked.write_dataset(tmp_path / "d", None, mnist1d_jax.get_dataset_args(num_samples=300))
    assert sorted(os.listdir(tmp_path)) == ["d", "other.npz"]
    assert files.load(tmp_path / "d")["x"].shape == (240, 40)


def test_a_running_writers_temporary_is_not_removed(tmp_path):
    live = tmp_path / f".d.{os.getpid()}-0123abcd{outputs.TEMP_MARK}"
    live.mkdir()
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True).stdout.strip()
    stale = tmp_path / f".d.{dead}-89abcdef{outputs.TEMP_MARK}"
    stale.write_bytes(b"partial")
    unrelated = tmp_path / f".d.{dead}-89abcdef.tmp"
    unrelated.write_bytes(b"someone else's")
    assert outputs.remove_stale_temporaries(tmp_path / "d") == [stale.name]
    assert live.exists() and unrelated.exists() and not stale.exists()
