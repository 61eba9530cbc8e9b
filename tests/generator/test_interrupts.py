"""Signals stop a run at its next safe point (`mnist1d_jax.interrupts`): never an exception
raised into arbitrary code, never exit 0 after a signal, a reproduction folder always whole, and
threaded sweeps stopped within a chunk."""

import json
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time

import numpy as np
import pytest
from conftest import ROOT

from mnist1d_jax import interrupts
from mnist1d_jax.outputs import TEMP_MARK


def test_a_signal_is_recorded_and_raised_at_the_next_check():
    with interrupts.Deferred() as deferred:
        deferred.check()
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(0.01)  # delivered here, recorded: nothing raised
        with pytest.raises(interrupts.Interrupted) as stop:
            deferred.check()
        assert stop.value.status == 143
        with pytest.raises(interrupts.Interrupted) as again:  # a second signal raises at once
            os.kill(os.getpid(), signal.SIGINT)
            time.sleep(0.5)
        assert again.value.status == 130
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_an_ignored_signal_stays_ignored():
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        with interrupts.Deferred() as deferred:
            os.kill(os.getpid(), signal.SIGINT)
            time.sleep(0.01)
            deferred.check()
            assert signal.getsignal(signal.SIGINT) is signal.SIG_IGN
    finally:
        signal.signal(signal.SIGINT, previous)


# Stand-in experiments that spend their time inside weak-reference finalizers, where an
# exception raised by a signal handler is printed ("Exception ignored in") and swallowed, and
# that report progress between steps (the safe points). Each step prints "NAME STEP", then waits
# inside its finalizer for the test's reply on stdin; after its steps, an experiment prints
# "NAME done" and waits again before its result is written. The test signals before it replies,
# so the signal lands at the moment named, however slowly the machine runs.
RUNNER = textwrap.dedent("""
    import sys, weakref
    from mnist1d_jax import cli
    from conftest import stand_ins
    from mnist1d_jax.lab import experiments
    from mnist1d_jax.lab.experiments.base import outcome

    class Thing:
        pass

    def stand_in(name):
        def run(key, settings, progress=None):
            for step in range(15):
                print(name, step, flush=True)
                thing = Thing()
                weakref.finalize(thing, sys.stdin.readline)
                del thing  # the finalizer runs (and waits for the reply) here
                progress("step", step, 15)
            print(name, "done", flush=True)
            sys.stdin.readline()
            arrays = {f"{lr}/{f}": [0.0, 1.0] for lr in (1.5, 0.15)
                      for f in ("learning_rate", "outer_loss", "final_inner_loss")}
            return outcome([experiments.Number("n", [1.0])], [experiments.Claim("c", True, "e")],
                           arrays)
        return run

    stand_ins(stand_in)
    sys.exit(cli.main(sys.argv[1:]))
""")
MOMENTS = [("pooling 3", signal.SIGINT),  # inside the first experiment
           ("lottery 0", signal.SIGTERM),  # as the second starts, its predecessor just written
           ("learning-rate 7", signal.SIGINT),  # inside the last
           ("learning-rate done", signal.SIGTERM)]  # after its last step: its figure and files
"""When each run is signalled: as it prints that line (and before it may go on)."""


def _signal_at(process, marker: str, signum: int) -> None:
    """Replies to every line the run prints; signals it first at `marker`."""
    for line in process.stdout:
        if line.strip() == marker:
            process.send_signal(signum)
        try:
            process.stdin.write("\n")
            process.stdin.flush()
        except (BrokenPipeError, OSError):  # the run has ended
            return


@pytest.mark.slow
def test_signals_at_any_moment_of_a_reproduction_end_it_and_leave_the_folder_whole(tmp_path):
    """SIGINT and SIGTERM sent at several moments of a three-experiment run (`MOMENTS`): each
    run ends with 130 or 143 and one line, and the folder holds whole experiments with a report
    that matches its results."""
    from mnist1d_jax.lab.experiments import store

    env = dict(os.environ, PYTHONPATH=os.pathsep.join((str(ROOT), str(ROOT / "tests"))))
    runs = []
    for i, (marker, signum) in enumerate(MOMENTS):
        out = tmp_path / f"run{i}"
        process = subprocess.Popen(
            [sys.executable, "-c", RUNNER, "reproduce", "pooling", "lottery", "learning-rate",
             "--quick", "--out", str(out), "--no-cache"], stdin=subprocess.PIPE,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=tmp_path, env=env)
        watcher = threading.Thread(target=_signal_at, args=(process, marker, signum))
        watcher.start()
        runs.append((process, watcher, out, marker, signum))
    for process, watcher, out, marker, signum in runs:
        watcher.join(120)
        err = process.stderr.read()
        process.wait(120)
        assert process.returncode == 128 + signum, (marker, err[-2000:])
        assert err.strip().splitlines()[-1] == ("mnist1d-jax reproduce: " + (
            "interrupted" if signum == signal.SIGINT else "terminated")), err[-2000:]
        assert "Traceback" not in err and "Exception ignored" not in err, err[-2000:]
        results, kept = store.read_results(str(out))  # whole and valid
        assert not kept and not [n for n in os.listdir(out) if TEMP_MARK in n]
        report = (out / "report.md").read_text(encoding="utf-8") if results else ""
        assert sorted(name for name in results) == sorted(
            name for name in ("pooling", "lottery", "learning-rate") if f"(`{name}`)" in report)
        assert all((out / f"{name}.png").exists() for name in results)
        if results:
            assert set(json.loads((out / "results.json").read_text())["experiments"]) == \
                set(results)
        if marker.startswith("pooling"):
            assert not results  # the signal stopped the first experiment
        if marker == "lottery 0":
            assert list(results) == ["pooling"]


@pytest.mark.slow
def test_a_threaded_sweep_stops_within_a_chunk_of_a_failure():
    """Two buckets train side by side; the progress of the first raises at its first chunk:
    the other bucket stops at its next chunk instead of running its 20."""
    import jax

    import mnist1d_jax
    from mnist1d_jax.lab import sweeps

    d = mnist1d_jax.make_dataset(jax.random.key(0), mnist1d_jax.get_dataset_args(
        num_samples=400, train_split=0.5))
    data = {k: np.asarray(d[k]) for k in ("x", "y", "x_test", "y_test")}
    config = sweeps.SweepConfig(steps=200, chunk=10, batch_size=50)
    lines = []

    def progress(line):
        lines.append(line)
        if len(lines) == 1:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        sweeps.sweep(sweeps.MLP_FAMILY, [3, 400], data, jax.random.key(0), seeds=1, config=config,
                     progress=progress, workers=2)
    assert len(lines) <= 3, lines
