"""Runs across devices and hosts: sweeps, lottery searches and SimCLR seeds spread over 8
simulated CPU devices (meshes from `jax.make_mesh`: 8 devices, and 2 x 4), and sweeps and lottery
searches over two processes of 4 devices each joined by `jax.distributed` (SimCLR places its keys
and gathers its results through the same `runs` functions as the lottery), give the one-device
results to float rounding (each
device computes a smaller batch of runs, and XLA's CPU code for a batch of k runs rounds
differently from that for one; measured differences at most 6e-5, with AVX-512 or SSE4.2 code).
Subprocesses: XLA_FLAGS must precede JAX."""

import pytest
from conftest import FAST_XLA_FLAGS, run_processes

DISTRIBUTED = """
process_id, port = int(sys.argv[1]), sys.argv[2]
jax.distributed.initialize(coordinator_address=f"127.0.0.1:{port}", num_processes=2,
                           process_id=process_id, initialization_timeout=120)
"""

COMMON = """
import numpy as np
from jax.sharding import Mesh
import mnist1d_jax
from mnist1d_jax.lab import contrastive, lottery, sweeps

d = mnist1d_jax.make_dataset(jax.random.key(0), mnist1d_jax.get_dataset_args(
    num_samples=600, train_split=0.5))
data = {k: np.asarray(d[k]) for k in ("x", "y", "x_test", "y_test")}
config = sweeps.SweepConfig(steps=40, chunk=20, batch_size=50, eval_every=20)
NAMES = ("train_error", "test_error", "train_loss", "test_loss", "test_error_curve")

def difference(one, many):
    # the largest relative difference between two results' arrays
    return max(float(np.max(np.abs(np.asarray(a, np.float64) - np.asarray(b, np.float64))
                     / np.maximum(np.abs(np.asarray(a, np.float64)), 1.0)))
               for a, b in zip(jax.tree.leaves(one), jax.tree.leaves(many)))

def compare(mesh, family, widths, data, **options):
    one, many = (sweeps.sweep(family, widths, data, jax.random.key(0), seeds=2, config=config,
                             progress=None, waste=100.0, mesh=m, **options)
                 for m in (None, mesh))
    return {name: difference(one[name], many[name]) for name in NAMES}

def compare_lottery(mesh):
    small = lottery.TicketConfig(total_steps=20, eval_every=10, hidden=16)
    return difference(*(lottery.search(jax.random.key(1), data, [0.0, 0.5], trials=3,
                                       config=small, mesh=m) for m in (None, mesh)))

def compare_simclr(mesh, epochs):
    # SimCLR on a mesh is one vmapped program: against the same on this process's first device
    keys = jax.numpy.stack([jax.random.key(s) for s in range(3)])
    one = Mesh(np.array(jax.local_devices()[:1]), ("runs",))
    return difference(*(contrastive.train(keys, data, epochs=epochs, batch_size=60, mesh=m)
                        for m in (one, mesh)))
"""


def script(devices: int, body: str, distributed: bool = False) -> str:
    """A worker script: `devices` simulated CPU devices (set before JAX starts), joined into one
    mesh with the other process when `distributed`, then `COMMON` and `body`. Its programs are
    compiled with `FAST_XLA_FLAGS`: a few steps each, where compilation is most of the time, and
    the one-device and many-device runs it compares are compiled alike."""
    return (f"import json, os, sys\n"
            f"os.environ['XLA_FLAGS'] = '--xla_force_host_platform_device_count={devices} "
            f"{FAST_XLA_FLAGS}'\n"
            "import jax\n" + (DISTRIBUTED if distributed else "") + COMMON + body)


ONE_PROCESS = """
flat = jax.make_mesh((8,), ("runs",))  # Explicit axes, as jax.make_mesh makes them by default
grid = jax.make_mesh((2, 4), ("a", "b"))
stacked = {k: np.stack([v, v, v]) for k, v in data.items()}
print(json.dumps({
    "devices": jax.device_count(),
    "cnn, per-configuration data and label noise on a 2 x 4 mesh": compare(
        grid, sweeps.CNN_FAMILY, [4, 4, 6], stacked, n_train=[100, 300, 300], label_noise=0.1),
    "lottery, 2 methods x 3 trials on 8 devices": {"all": compare_lottery(flat)},
    "simclr, 3 seeds on 8 devices and on one": {"all": compare_simclr(flat, 1)},
}))
"""

TWO_PROCESSES = """
mesh = Mesh(np.array(jax.devices()), ("runs",))
with jax.default_device(jax.local_devices()[0]):
    result = compare(mesh, sweeps.MLP_FAMILY, [3, 9, 40], data, label_noise=0.1)
    result["lottery"] = compare_lottery(mesh)
print(json.dumps({"process": jax.process_index(), "devices": jax.device_count(),
                  "equal": result}))
jax.distributed.shutdown()
"""


@pytest.mark.slow
def test_runs_on_8_devices_equal_one_device():
    report, = run_processes(script(8, ONE_PROCESS), count=1)
    assert report.pop("devices") == 8
    for case, differences in report.items():  # measured: at most 6e-5 (SimCLR's parameters)
        assert max(differences.values()) < 1e-3, (case, differences)


@pytest.mark.slow
def test_runs_over_two_processes_equal_one_device():
    reports = run_processes(script(4, TWO_PROCESSES, distributed=True))
    assert sorted(r["process"] for r in reports) == [0, 1]
    for report in reports:
        assert report["devices"] == 8 and max(report["equal"].values()) < 1e-3, report


def test_a_mesh_must_be_a_mesh():
    import jax
    import numpy as np

    from mnist1d_jax.lab import lottery, sweeps
    from mnist1d_jax.lab.parallel import placement

    data = {"x": np.zeros((20, 40), np.float32), "y": np.zeros(20, np.int32),
            "x_test": np.zeros((5, 40), np.float32), "y_test": np.zeros(5, np.int32)}
    with pytest.raises(TypeError, match="mesh must be a jax.sharding.Mesh"):
        placement.check_mesh("gpu")
    with pytest.raises(TypeError, match="mesh must be"):
        sweeps.sweep(sweeps.MLP_FAMILY, [4], data, jax.random.key(0), seeds=1, mesh=8,
                     progress=None)
    with pytest.raises(TypeError, match="mesh must be"):
        lottery.search(jax.random.key(0), data, [0.5], mesh=[0, 1])
