import json
import os
import pathlib
import pickle
import socket
import subprocess
import sys

import numpy as np
import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
LAYERS = ("generator", "compat", "adapters", "lab")
"""The test folders, which mirror the package, in the order they run (the project-wide tests at
this folder's top level last): the generator's tests compile most of the programs that the
later layers' tests reuse within the session, so running them first keeps the suite's time
(measured: the fast tier about 35 s longer with the lab's tests first)."""


def pytest_collection_modifyitems(items):
    def layer(item) -> int:
        parts = pathlib.Path(str(item.path)).relative_to(ROOT / "tests").parts
        return LAYERS.index(parts[0]) if parts[0] in LAYERS else len(LAYERS)
    items.sort(key=layer)  # stable: each folder keeps pytest's own order


DEFAULT_PKL = ROOT.parent / "shared" / "reference" / "mnist1d_data.pkl"


@pytest.fixture(autouse=True)
def _no_compilation_cache(monkeypatch):
    """In-process runs of the command line leave JAX's configuration alone (the cache's own tests
    run the command in subprocesses, with a cache folder of their own)."""
    monkeypatch.setenv("MNIST1D_JAX_NO_CACHE", "1")


PUBLISHED_URL = "https://github.com/greydanus/mnist1d/raw/master/mnist1d_data.pkl"


FAST_XLA_FLAGS = "--xla_backend_optimization_level=0"
"""How the processes that run the experiments at their smoke size compile (the notebooks'
kernels and the smoke reproduction): with XLA's cheapest backend optimisation, since a few steps
of training take less time than optimising their programs. The smoke numbers are only checked
to be sane."""


@pytest.fixture(scope="session")
def experiments_cache(tmp_path_factory) -> pathlib.Path:
    """A JAX compilation cache shared by the processes that run the experiments at their quick
    size (the notebooks' kernels and `reproduce --quick`): the same programs compile once per
    session. Laid out as the command line's cache under `XDG_CACHE_HOME`."""
    root = tmp_path_factory.mktemp("xdg")
    return root / "mnist1d-jax" / "jax"


def published_pickle_path() -> pathlib.Path:
    """Where the published `mnist1d_data.pkl` is read from: `MNIST1D_REFERENCE_PKL`, or
    `../shared/reference/` beside the clone."""
    return pathlib.Path(os.environ.get("MNIST1D_REFERENCE_PKL", DEFAULT_PKL))


@pytest.fixture(scope="session")
def reference_pickle():
    """The original published dataset; a missing file skips locally (saying how to get it) but
    fails on CI. Parity with the installed reference package is tested without it
    (test_parity.py)."""
    path = published_pickle_path()
    if not path.exists():
        message = (f"the published MNIST-1D pickle is not at {path}: download it with "
                   f"`curl -L -o mnist1d_data.pkl {PUBLISHED_URL}` and set "
                   f"MNIST1D_REFERENCE_PKL=$PWD/mnist1d_data.pkl")
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    with open(path, "rb") as handle:
        return pickle.load(handle)


def reference_args(**overrides):
    """The reference package's argument object with fields overridden."""
    import mnist1d.data

    args = mnist1d.data.get_dataset_args(as_dict=True)
    args.update(overrides)
    return mnist1d.utils.ObjectView(args)


def max_abs_diff(a, b):
    return float(np.max(np.abs(np.asarray(a, np.float64) - np.asarray(b, np.float64))))


def run_processes(script: str, count: int = 2, timeout: int = 600) -> list:
    """Runs `python -c script PROCESS_ID PORT` as `count` processes on localhost (a free port for
    `jax.distributed`'s coordinator, used when `count` > 1; XLA_FLAGS left for the script to set:
    it must precede JAX) and returns the JSON each printed on its last line, in process-id
    order. Fails on a non-zero exit."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = str(sock.getsockname()[1])
    env = {k: v for k, v in os.environ.items() if k != "XLA_FLAGS"}
    workers = [subprocess.Popen([sys.executable, "-c", script, str(i), port], env=env,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
               for i in range(count)]
    outputs = []
    for worker in workers:
        out, err = worker.communicate(timeout=timeout)
        assert worker.returncode == 0, err[-3000:]
        outputs.append(json.loads(out.strip().splitlines()[-1]))
    return outputs


class Counted:
    """Stands in for the registered experiments: counts the runs, returns quick-looking outcomes
    (the learning-rate experiment's arrays, so that its figure can draw them), or raises
    `fail[name]`."""

    def __init__(self, fail=None):
        self.calls, self.settings, self.fail = [], [], fail

    def __call__(self, name):
        from mnist1d_jax.lab import experiments
        from mnist1d_jax.lab.experiments.base import outcome

        def run(key, settings, progress=None):
            self.calls.append(name)
            self.settings.append(settings)
            if self.fail is not None and name in self.fail:
                raise self.fail[name]
            arrays = {f"{lr}/{f}": np.arange(3.0) for lr in (1.5, 0.15)
                      for f in ("learning_rate", "outer_loss", "final_inner_loss")}
            return outcome([experiments.Number("n", [1.0, 2.0], 1.0)],
                           [experiments.Claim("c", True, "e")], arrays)
        return run

    def install(self, monkeypatch=None, draw=None) -> None:
        """Replaces every registered experiment's run by this counter's and its figure by
        `draw` (default: the learning-rate experiment's), through `monkeypatch` (or for good,
        in a process of its own)."""
        stand_ins(self, monkeypatch, draw)


def stand_ins(run_of, monkeypatch=None, draw=None) -> None:
    """Every registered experiment with its run replaced by `run_of(name)` and its figure by
    `draw` (default: the learning-rate experiment's, which reads the arrays the stand-ins
    return)."""
    import dataclasses

    from mnist1d_jax.lab import experiments

    learning_rate = experiments.EXPERIMENTS["learning-rate"]
    for name, experiment in list(experiments.EXPERIMENTS.items()):
        replaced = dataclasses.replace(experiment, run=run_of(name),
                                       draw=draw or learning_rate.draw,
                                       figure_arrays=learning_rate.figure_arrays)
        if monkeypatch is None:
            experiments.EXPERIMENTS[name] = replaced
        else:
            monkeypatch.setitem(experiments.EXPERIMENTS, name, replaced)


@pytest.fixture
def counted(monkeypatch):
    """Every experiment replaced by a counter; each draws a one-line figure of an inch (a real
    experiment's figure costs a few tenths of a second to draw and write)."""
    from mnist1d_jax.lab.experiments.base import new_figure

    def tiny(result):
        figure, axes = new_figure(1, 1)
        axes[0, 0].plot(result.arrays["1.5/outer_loss"])
        return figure

    counter = Counted()
    counter.install(monkeypatch, tiny)
    return counter


class Compilations:
    """Counts XLA compilations by the compiled function's name while active (JAX's
    `jax.monitoring` events): `with Compilations() as counted: ...; counted["_train"]`."""

    EVENT = "/jax/core/compile/backend_compile_duration"

    def __init__(self):
        self.counts: dict[str, int] = {}

    def _listen(self, event, seconds, **details):
        if event == self.EVENT:
            name = str(details.get("fun_name", "")).removeprefix("jit(").removesuffix(")")
            self.counts[name] = self.counts.get(name, 0) + 1

    def __getitem__(self, name: str) -> int:
        return self.counts.get(name, 0)

    def __enter__(self):
        import jax
        jax.monitoring.register_event_duration_secs_listener(self._listen)
        return self

    def __exit__(self, *exc):
        import jax
        jax.monitoring.unregister_event_duration_listener(self._listen)
        return False
