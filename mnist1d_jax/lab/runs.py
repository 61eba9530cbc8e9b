"""Independent runs spread over the devices of a mesh: the leading (run) axis of every per-run
array sharded over all the mesh's axes, shared data replicated. The same program runs on one
device or many (`jax.sharding`: the computation follows the data), and under `jax.distributed`
the mesh spans processes: every process builds the same host arrays and contributes its own
devices' shards; results are gathered back to every process."""

from __future__ import annotations

import jax
import numpy as np
from jax.experimental import multihost_utils
from jax.sharding import Mesh, NamedSharding, PartitionSpec

__all__ = ["check_mesh", "padded_runs", "place", "abstract", "gather"]


def check_mesh(mesh) -> Mesh | None:
    """`mesh` if it is a `jax.sharding.Mesh` (or None: the default device)."""
    if mesh is not None and not isinstance(mesh, Mesh):
        raise TypeError(f"mesh must be a jax.sharding.Mesh or None; got {mesh!r}")
    return mesh


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
