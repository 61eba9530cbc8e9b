"""Runs across devices and hosts: sweeps, lottery searches and SimCLR seeds spread over 8
simulated CPU devices, and over two processes of 4 devices each joined by `jax.distributed`, give
the one-device results to float rounding (each device computes a smaller batch of runs, and XLA's
CPU code for a batch of k runs rounds differently from that for one; measured differences at most
6e-5, with AVX-512 or SSE4.2 code). Subprocesses: XLA_FLAGS must precede JAX."""

import json
import os
import socket
import subprocess
import sys
import textwrap

import pytest

COMMON = """
import json, os, sys
os.environ["XLA_FLAGS"] = "--xla_force_host_platform_device_count={devices}"
import jax
{distributed}
import numpy as np
from jax.sharding import Mesh
import mnist1d_jax
from mnist1d_jax.lab import sweep

d = mnist1d_jax.make_dataset(jax.random.key(0), mnist1d_jax.get_dataset_args(
    num_samples=600, train_split=0.5))
data = {{k: np.asarray(d[k]) for k in ("x", "y", "x_test", "y_test")}}
config = sweep.SweepConfig(steps=40, chunk=20, batch_size=50, eval_every=20)
NAMES = ("train_error", "test_error", "train_loss", "test_loss", "test_error_curve")

from mnist1d_jax.lab import contrastive, lottery

def difference(one, many):
    # the largest relative difference between two results' arrays
    return max(float(np.max(np.abs(np.asarray(a, np.float64) - np.asarray(b, np.float64))
                     / np.maximum(np.abs(np.asarray(a, np.float64)), 1.0)))
               for a, b in zip(jax.tree.leaves(one), jax.tree.leaves(many)))

def compare_lottery(mesh):
    small = lottery.TicketConfig(total_steps=20, eval_every=10, hidden=16)
    return difference(*(lottery.search(jax.random.key(1), data, [0.0, 0.5], trials=3,
                                       config=small, mesh=m) for m in (None, mesh)))

def compare(mesh, family, widths, data, **options):
    one = sweep.sweep(family, widths, data, seeds=[0, 1], config=config, progress=None,
                      waste=100.0, **options)
    many = sweep.sweep(family, widths, data, seeds=[0, 1], config=config, progress=None,
                       waste=100.0, mesh=mesh, **options)
    return {{name: difference(one[name], many[name]) for name in NAMES}}
"""

ONE_PROCESS = COMMON + """
flat = Mesh(np.array(jax.devices()), ("runs",))
grid = Mesh(np.array(jax.devices()).reshape(2, 4), ("a", "b"))
stacked = {k: np.stack([v, v, v]) for k, v in data.items()}
print(json.dumps({
    "devices": jax.device_count(),
    "mlp, 3 widths on 8 devices": compare(flat, sweep.MLP_FAMILY, [3, 9, 40], data,
                                          label_noise=0.1),
    "cnn, per-configuration data on a 2 x 4 mesh": compare(
        grid, sweep.CNN_FAMILY, [4, 4, 6], stacked, n_train=[100, 300, 300]),
    "lottery, 2 methods x 3 trials on 8 devices": {"all": compare_lottery(flat)},
    "simclr, 3 seeds on 8 devices and on one": {"all": difference(*(contrastive.train(
        jax.numpy.stack([jax.random.key(s) for s in range(3)]), data, epochs=2, batch_size=60,
        mesh=m) for m in (Mesh(np.array(jax.devices()[:1]), ("runs",)), flat)))},
}))
"""

TWO_PROCESSES = COMMON.replace("{distributed}", textwrap.dedent("""
    process_id, port = int(sys.argv[1]), sys.argv[2]
    jax.distributed.initialize(coordinator_address=f"127.0.0.1:{{port}}", num_processes=2,
                               process_id=process_id, initialization_timeout=120)""")) + """
mesh = Mesh(np.array(jax.devices()), ("runs",))
with jax.default_device(jax.local_devices()[0]):
    result = compare(mesh, sweep.MLP_FAMILY, [3, 9, 40], data, label_noise=0.1)
    result["lottery"] = compare_lottery(mesh)
    result["simclr"] = difference(*(contrastive.train(
        jax.numpy.stack([jax.random.key(s) for s in range(3)]), data, epochs=1, batch_size=60,
        mesh=m) for m in (Mesh(np.array(jax.local_devices()[:1]), ("runs",)), mesh)))
print(json.dumps({"process": jax.process_index(), "devices": jax.device_count(),
                  "equal": result}))
jax.distributed.shutdown()
"""


def _environment() -> dict:
    return {k: v for k, v in os.environ.items() if k != "XLA_FLAGS"}


@pytest.mark.slow
def test_runs_on_8_devices_equal_one_device():
    script = ONE_PROCESS.replace("{devices}", "8").replace("{distributed}", "")
    script = script.replace("{{", "{").replace("}}", "}")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          env=_environment(), timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report.pop("devices") == 8
    for case, differences in report.items():  # measured: at most 6e-5 (SimCLR's parameters)
        assert max(differences.values()) < 1e-3, (case, differences)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.slow
def test_runs_over_two_processes_equal_one_device():
    script = TWO_PROCESSES.replace("{devices}", "4").replace("{{", "{").replace("}}", "}")
    port = str(_free_port())
    workers = [subprocess.Popen([sys.executable, "-c", script, str(i), port], env=_environment(),
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
               for i in range(2)]
    reports = []
    for worker in workers:
        out, err = worker.communicate(timeout=600)
        assert worker.returncode == 0, err[-3000:]
        reports.append(json.loads(out.strip().splitlines()[-1]))
    assert sorted(r["process"] for r in reports) == [0, 1]
    for report in reports:
        assert report["devices"] == 8 and max(report["equal"].values()) < 1e-3, report


def test_a_mesh_must_be_a_mesh():
    import numpy as np
    from mnist1d_jax.lab import lottery, runs, sweep

    data = {"x": np.zeros((20, 40), np.float32), "y": np.zeros(20, np.int32),
            "x_test": np.zeros((5, 40), np.float32), "y_test": np.zeros(5, np.int32)}
    with pytest.raises(TypeError, match="mesh must be a jax.sharding.Mesh"):
        runs.check_mesh("gpu")
    with pytest.raises(TypeError, match="mesh must be"):
        sweep.sweep(sweep.MLP_FAMILY, [4], data, seeds=[0], mesh=8, progress=None)
    with pytest.raises(TypeError, match="mesh must be"):
        lottery.search(__import__("jax").random.key(0), data, [0.5], mesh=[0, 1])
