"""Independent runs spread over the devices of a mesh: the leading (run) axis of every per-run
array sharded over all the mesh's axes, shared data replicated. The same program runs on one
device or many (`jax.sharding`: the computation follows the data), and under `jax.distributed`
the mesh spans processes: every process builds the same host arrays and contributes its own
devices' shards; results are gathered back to every process."""

from __future__ import annotations

import jax
import numpy as np
from jax.experimental import multihost_utils
from jax.sharding import AxisType, Mesh, NamedSharding, PartitionSpec

__all__ = ["check_mesh", "padded_runs", "place", "abstract", "gather"]


def check_mesh(mesh) -> Mesh | None:
    """`mesh` (a `jax.sharding.Mesh`, or None: the default device) as the lab places runs on it:
    its axes made `Auto` (a mesh from `jax.make_mesh` has `Explicit` axes, under which JAX asks
    every indexing operation of the training core for an output sharding; the lab states its
    shardings where it places arrays, so the same devices with automatic axes are equivalent).

    Raises:
      TypeError: not a mesh. ValueError: a mesh without devices, or with a device twice.
    """
    if mesh is None:
        return None
    if not isinstance(mesh, Mesh):
        raise TypeError(f"mesh must be a jax.sharding.Mesh or None; got {mesh!r}")
    devices = list(np.ravel(mesh.devices))
    if not devices:
        raise ValueError("mesh must hold at least one device; got an empty mesh")
    if len({id(d) for d in devices}) != len(devices):
        raise ValueError(f"mesh must hold each device once; got {len(devices)} entries for "
                         f"{len({id(d) for d in devices})} devices")
    auto = (AxisType.Auto,) * len(mesh.axis_names)
    if tuple(mesh.axis_types) == auto:
        return mesh
    return Mesh(mesh.devices, mesh.axis_names, axis_types=auto)


def padded_runs(count: int, mesh: Mesh | None) -> np.ndarray:
    """The indices of `count` runs padded to a multiple of the mesh's devices with copies of the
    last run: (count rounded up,) int; `arange(count)` without a mesh. Results beyond the first
    `count` are copies to drop."""
    total = count if mesh is None else -(-count // mesh.size) * mesh.size
    return np.minimum(np.arange(total), count - 1)


def _sharding(mesh: Mesh, sharded: bool) -> NamedSharding:
    return NamedSharding(mesh, PartitionSpec(mesh.axis_names) if sharded else PartitionSpec())


def place(tree, mesh: Mesh | None, sharded: bool = True):
    """`tree`'s arrays (host or device, the same on every process) as global arrays on `mesh`:
    the leading axis sharded over all its devices (`sharded`) or replicated. Without a mesh,
    the tree as it is."""
    if mesh is None:
        return tree
    sharding = _sharding(mesh, sharded)

    def one(leaf):
        key = jax.dtypes.issubdtype(getattr(leaf, "dtype", None), jax.dtypes.prng_key)
        host = np.asarray(jax.random.key_data(leaf) if key else leaf)  # typed keys as their data
        array = jax.make_array_from_callback(host.shape, sharding, lambda index: host[index])
        return jax.random.wrap_key_data(array, impl=jax.random.key_impl(leaf)) if key else array

    return jax.tree.map(one, tree)


def abstract(tree, mesh: Mesh | None, sharded: bool = True):
    """`tree`'s shapes and dtypes (`jax.ShapeDtypeStruct`), with `place`'s sharding on `mesh`;
    without a mesh, the tree as it is."""
    if mesh is None:
        return tree
    sharding = _sharding(mesh, sharded)
    return jax.tree.map(lambda leaf: jax.ShapeDtypeStruct(leaf.shape, leaf.dtype,
                                                          sharding=sharding), tree)


def gather(tree):
    """Every array of `tree` as a NumPy array holding all its shards, on every process."""
    def one(leaf):
        if isinstance(leaf, jax.Array) and not leaf.is_fully_addressable:
            return np.asarray(multihost_utils.process_allgather(leaf, tiled=True))
        return np.asarray(leaf)
    return jax.tree.map(one, tree)
