"""Meshes at the lab's edges (`lab.runs.check_mesh`): a mesh from `jax.make_mesh` (Explicit axes
in today's JAX) is the same devices with automatic axes (sweeps, the lottery search and SimCLR
trained on one over 8 devices: test_devices.py); an empty mesh and a mesh that names a device
twice are refused in one line before any tracing."""

import jax
import numpy as np
import pytest
from jax.sharding import AxisType, Mesh

import mnist1d_jax
from mnist1d_jax.lab import contrastive, lottery, sweeps
from mnist1d_jax.lab.parallel import placement


@pytest.fixture(scope="module")
def data():
    d = mnist1d_jax.reference_dataset(mnist1d_jax.get_dataset_args(num_samples=400),
                                      dtype="float32")
    return {k: np.asarray(d[k]) for k in ("x", "y", "x_test", "y_test")}


def _explicit():
    mesh = jax.make_mesh((1,), ("runs",), axis_types=(AxisType.Explicit,))
    assert tuple(mesh.axis_types) == (AxisType.Explicit,)
    return mesh


def _auto():
    return Mesh(np.array(jax.devices()[:1]), ("runs",), axis_types=(AxisType.Auto,))


def test_an_explicit_mesh_becomes_the_same_devices_with_automatic_axes():
    mesh = placement.check_mesh(_explicit())
    assert tuple(mesh.axis_types) == (AxisType.Auto,) and mesh.axis_names == ("runs",)
    assert list(mesh.devices.ravel()) == jax.devices()[:1]
    assert placement.check_mesh(_auto()) is not None and placement.check_mesh(None) is None


def _trainers(data):
    return {
        "sweep": lambda mesh: sweeps.sweep(
            sweeps.MLP_FAMILY, [4, 8], data, jax.random.key(0), seeds=1, progress=None,
            mesh=mesh,
            config=sweeps.SweepConfig(steps=20, chunk=10, batch_size=50, eval_every=10)),
        "lottery": lambda mesh: lottery.search(
            jax.random.key(0), data, [0.0, 0.5], trials=1, mesh=mesh,
            config=lottery.TicketConfig(total_steps=20, eval_every=10, hidden=16)),
        "simclr": lambda mesh: contrastive.train(jax.random.key(0), data, epochs=1,
                                                 batch_size=100, mesh=mesh),
    }


@pytest.mark.parametrize("bad, message", [
    (lambda: Mesh(np.array([], dtype=object).reshape(0), ("runs",)), "at least one device"),
    (lambda: Mesh(np.array(jax.devices()[:1] * 2), ("runs",)), "each device once")])
@pytest.mark.parametrize("trainer", ["sweep", "lottery", "simclr"])
def test_an_empty_mesh_or_a_repeated_device_is_refused_before_tracing(data, bad, message,
                                                                      trainer):
    with pytest.raises(ValueError, match=message) as error:
        _trainers(data)[trainer](bad())
    assert "\n" not in str(error.value)
