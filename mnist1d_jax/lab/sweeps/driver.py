"""Sweeps: many models trained in few compiled calls (deep double descent, the pooling benchmark).

A sweep trains every (configuration, seed) pair of a model family (`families`: MLP widths, CNN
channel counts, pooling CNNs). Configurations are grouped into buckets (`buckets`); a bucket is one
compiled program (`program`), `vmap`ped over its configurations and the seeds, every model
padded to the bucket's largest width and masked. This module holds the public function and what
is decided before any program runs: each model's keys and initialisation words (JAX's derivation
computed on the host, `host_keys`, so nothing compiles before the first bucket), its initial
state, the noisy labels. Bucket programs compile in background threads while earlier buckets
train; on a CPU the buckets train side by side, one per core (`cpu.run_all`). The training-set
size is traced: data are padded to the largest size and batches index within the first `n_train`
rows, so one program serves every size.

Results are plain arrays with axes (configuration, seed) in the order given.
"""

from __future__ import annotations

import concurrent.futures
import functools
import time
from collections.abc import Callable, Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx

from ...args import NUM_CLASSES
from ...checks import check_key, check_memory, check_positive_int, check_real
from ...draws import noisy_labels
from ..nn import Width
from ..parallel import cpu, placement
from ..training import check_counts, check_data, check_integers, data_classes
from . import host_keys
from .buckets import buckets, spread
from .families import Family
from .program import (
    METRICS,
    BucketModels,
    BucketState,
    SweepConfig,
    compile_bucket,
    train_bucket,
)

__all__ = ["MAX_WIDTH", "corrupt_labels", "initial_state", "label_noise_key", "model_keys",
           "sweep", "training_labels"]

def corrupt_labels(key, y, fraction, num_classes: int = NUM_CLASSES):
    """The reference's label noise, drawn as the generator draws it (`draws.noisy_labels`, label
    `i` from `fold_in(key, i)`): each label, with probability `fraction`, replaced by a uniformly
    random class of `num_classes` (possibly its own). y: (n,) int -> (n,) int32. Apply to
    training labels only."""
    return noisy_labels(key, y, jnp.arange(y.shape[-1], dtype=jnp.uint32), fraction,
                        num_classes)[0]


def label_noise_key(key, seed):
    """The key of seed `seed`'s label noise in a sweep with `key`: `corrupt_labels(
    label_noise_key(key, seed), y, fraction)` are the labels its models train on."""
    return jax.random.fold_in(jax.random.fold_in(key, seed), 2**32 - 1)


def model_keys(key, seeds: np.ndarray, widths: np.ndarray, sizes: np.ndarray):
    """Each model's key data (C, S, 2), `fold_in` of (seed, width, size) into `key`, and its
    initialisation words (C, S, 8, 4) uint32 (`bits` of `fold_in(model key, 2**31)`): JAX's
    derivation computed on the host (`host_keys`), so nothing compiles before training."""
    if "threefry" not in str(jax.random.key_impl(key)):
        raise TypeError(f"key must be a threefry JAX key such as jax.random.key(0); got {key!r}")
    base = np.asarray(jax.random.key_data(key))
    per_seed = host_keys.fold_in(base, seeds.astype(np.uint32))[None]      # (1, S, 2)
    keys = host_keys.fold_in(per_seed, widths.astype(np.uint32)[:, None])  # (C, S, 2)
    keys = host_keys.fold_in(keys, sizes.astype(np.uint32)[:, None])
    return keys, host_keys.bits(host_keys.fold_in(keys, 2**31), (8, 4))


@functools.partial(jax.jit, static_argnames=("classes",))
def _noisy_labels(key, seeds, y, noise, classes: int):
    """Each seed's training labels with label noise (`corrupt_labels` with
    `label_noise_key(key, seed)`, per label set): (S, N) for y (N,), (C, S, N) for y (C, N).
    `noise` is traced: every fraction shares the program."""
    per_seed = jax.vmap(lambda seed, labels: corrupt_labels(label_noise_key(key, seed), labels,
                                                            noise, classes), (0, None))
    return per_seed(seeds, y) if y.ndim == 1 else jax.vmap(per_seed, (None, 0))(seeds, y)


def training_labels(key, seeds: np.ndarray, y, noise: float, classes: int) -> np.ndarray:
    """The labels every seed trains on: (C, S, N) for labels y (C, N) per configuration, else
    (1, S, N)."""
    y = np.asarray(y)
    if noise == 0:
        labels = np.broadcast_to(y[..., None, :], y.shape[:-1] + (len(seeds), y.shape[-1]))
    else:
        labels = np.asarray(_noisy_labels(key, jnp.asarray(seeds, jnp.uint32), y, noise,
                                          classes))
    return labels if y.ndim == 2 else labels[None]


def initial_state(family: Family, config: SweepConfig, words: np.ndarray, widths: np.ndarray,
                  max_width: int, features: int, classes: int, labels):
    """Every model of a bucket, built on the host (`Family.init`) and split: the graph
    definition they share, their `BucketState` (configurations, seeds, ...) (parameters, the
    optimizer's state: zeros, as `optax.sgd` and `optax.adam` start; the training labels
    `labels` (configurations, seeds, N), or their `jax.ShapeDtypeStruct` to compile) and their
    widths' state (configurations,)."""
    split = [[nnx.split(family.init(w, int(width), max_width, features, classes), nnx.Param,
                        Width)
              for w in row] for row, width in zip(words, widths)]
    graphdef = split[0][0][0]

    def stacked(part, rows):
        return jax.tree.map(lambda *leaves: np.stack(leaves).reshape(
            (len(rows), len(rows[0])) + np.shape(leaves[0])),
            *[models[part] for row in rows for models in row])

    params = stacked(1, split)
    width = jax.tree.map(lambda a: a[:, 0], stacked(2, split))
    shapes = jax.eval_shape(jax.vmap(jax.vmap(config.transformation().init)), params)
    return graphdef, BucketState(params, jax.tree.map(lambda s: np.zeros(s.shape, s.dtype), shapes),
                                 labels), width


MAX_WIDTH = 2**16
"""The widest hidden layer or channel count a sweep takes (memory is checked as well)."""


def _check_sweep_memory(family: Family, widths: np.ndarray, seeds: int, waste: float) -> None:
    """Refuses a sweep whose padded parameters, gradients and optimizer states (about four
    float32 copies of `cost(width)` numbers per model) exceed the memory available."""
    groups = buckets(widths.tolist(), family.cost, waste, family.cost(family.floor))
    needed = sum(len(g) * seeds * 16 * family.cost(int(widths[g].max())) for g in groups)
    check_memory(needed, f"a sweep of widths up to {int(widths.max())}",
                 "train fewer or narrower models at a time")


def sweep(family: Family, widths: Sequence[int] | np.ndarray, data: dict, key, *, seeds: int = 3,
          config: SweepConfig = SweepConfig(), label_noise: float = 0.0,
          n_train: Sequence[int] | np.ndarray | None = None, waste: float = 1.0,
          progress: Callable[[str], None] | None = print, workers: int | None = None,
          mesh=None) -> dict:
    """Trains `family` at every width in `widths` for every seed, bucket by bucket.

    Args:
      family: `MLP_FAMILY`, `CNN_FAMILY`, `pooling_family(kind)` or another `Family`.
      widths: (C,) hidden units or channels of each configuration (repeats allowed, e.g. one
        width at several training-set sizes).
      data: `x` (N, F), `y` (N,), `x_test` (M, F), `y_test` (M,) shared by every configuration
        (its C classes: `training.data_classes`, the rows of `templates` where given);
        or, when `x` is 3-D, one dataset per configuration: (C, N, F), (C, N), (C, M, F), (C, M)
        (pad training sets of different sizes to the largest N and give `n_train`).
      key: a threefry JAX key, `jax.random.key` or `jax.random.PRNGKey`.
      seeds: S, the runs of each configuration (seeds 0..S-1); a model's initialisation and
        batch order come from (key, seed, width, n_train), its label noise from (key, seed): the
        same configuration gives the same run in any sweep.
      config: the training settings (`SweepConfig`); its traced rates (`learning_rate`,
        `momentum`) are each a number or (C,) values, one per configuration, and every value
        shares the compiled program: a learning rate x width grid is `widths` and
        `learning_rate` each repeated to the grid's C cells. Configurations that differ only in
        their rates start from the same initialisation and draw the same batches.
      label_noise: fraction of training labels replaced by random classes (`corrupt_labels`);
        test labels are never touched.
      n_train: (C,) training-set sizes: configuration `c` trains on its first `n_train[c]` rows
        (traced: every size shares a compiled program). Default: all N rows.
      waste: at most this factor of padded compute per bucket (`buckets`).
      progress: called with one line after every compiled chunk of updates (`None`: silent);
        from the thread that trains the bucket. What it raises stops the sweep: that bucket at
        once, the others after their running chunk (`cpu.run_all`).
      workers: buckets trained at once (default `cpu.workers()`: the CPU cores, on a CPU; 1 on
        an accelerator or a mesh). On a CPU a bucket's program uses about one core (`cpu`).
      mesh: a `jax.sharding.Mesh`: each bucket's configurations are spread over all its devices
        (padded to a multiple of their number with copies of the last one; `runs`), data
        replicated; under `jax.distributed` the mesh may span processes, each of which then
        calls `sweep` alike and gets every result. Default: the default device.

    Returns:
      dict of NumPy arrays, axes (configuration, seed) in the order given: `train_error`,
      `test_error` (percent; train on the labels trained on, noise included), `train_loss`,
      `test_loss` after the last update; `test_error_curve` (C, S, E) at `eval_steps` (E,)
      (update counts, 0 first); `wall_s`, the seconds of the whole sweep, compilation included.
    """
    if not isinstance(family, Family):
        raise TypeError(f"family must be a sweeps.Family (sweeps.MLP_FAMILY, sweeps.CNN_FAMILY or "
                        f"sweeps.pooling_family(kind)); got {family!r}")
    if not isinstance(config, SweepConfig):
        raise TypeError(f"config must be a sweeps.SweepConfig; got {config!r}")
    widths = check_integers(widths, "widths", 1, MAX_WIDTH)
    key = check_key(key)
    seed_ids = np.arange(check_counts(seeds=seeds)["seeds"])
    label_noise = check_real(label_noise, "label_noise", 0.0, 1.0)
    waste = check_real(waste, "waste", 1.0, 1e6)
    workers = cpu.workers() if workers is None else check_positive_int(workers, "workers")
    mesh = placement.check_mesh(mesh)
    if mesh is not None:
        workers = 1  # one bucket at a time holds every device
    stacked = hasattr(data, "get") and np.ndim(data.get("x", 0)) == 3
    classes = data_classes(data)
    data = check_data(data, ndim=3 if stacked else 2)
    n_max = data["x"].shape[-2]
    problem = family.signal_rule(data["x"].shape[-1])
    if problem:
        raise ValueError(f"{family.name} cannot take signals of {data['x'].shape[-1]} points: "
                         f"{problem}")
    sizes = np.full(len(widths), n_max) if n_train is None else \
        check_integers(n_train, "n_train", 1, n_max)
    if sizes.shape != widths.shape:
        raise ValueError(f"n_train must give one size per width ({len(widths)}); got "
                         f"{len(sizes)}")
    if stacked and data["x"].shape[0] != len(widths):
        raise ValueError(f"stacked data hold {data['x'].shape[0]} datasets for {len(widths)} "
                         "widths")
    rates = config.per_configuration(len(widths))  # a learning rate (...) per configuration
    _check_sweep_memory(family, widths, len(seed_ids), waste)
    start_time = time.perf_counter()
    keys, words = model_keys(key, seed_ids, widths, sizes)
    keys = jax.random.wrap_key_data(keys)
    eval_steps = np.concatenate([[0], config.eval_steps])
    out: dict[str, Any] = {name: np.zeros((len(widths), len(seed_ids)), np.float32)
                           for name in METRICS}
    out["test_error_curve"] = np.zeros((len(widths), len(seed_ids), len(eval_steps)), np.float32)
    plans = []
    for members in spread(buckets(widths.tolist(), family.cost, waste,
                                  family.cost(family.floor)), workers):
        group = np.asarray(members)
        padded = group[placement.padded_runs(len(group), mesh)]  # copies of the last fill the mesh
        max_width = int(widths[group].max())
        label_shape = jax.ShapeDtypeStruct((len(padded), len(seed_ids), n_max), jnp.int32)
        graphdef, state, width = initial_state(family, config, words[padded], widths[padded],
                                               max_width, data["x"].shape[-1], classes,
                                               label_shape)
        bucket_data = jax.tree.map(lambda a, rows=padded: a[rows], data) if stacked else data
        model = BucketModels(width, jnp.asarray(sizes[padded]), keys[padded], bucket_data,
                             jax.tree.map(lambda a, rows=padded: a[rows], rates))
        plans.append((group, padded, max_width, model, state, graphdef))
    compiler = concurrent.futures.ThreadPoolExecutor(max_workers=2)
    try:
        labels = compiler.submit(training_labels, key, seed_ids, data["y"], float(label_noise),
                                 classes)
        shapes = [_shapes(graphdef, state, model) for _, _, _, model, state, graphdef in plans]
        compiled: dict = {}  # one program for buckets of the same shapes (`spread`'s halves)
        for shape, (_, _, _, model, state, graphdef) in zip(shapes, plans):
            if shape not in compiled:
                compiled[shape] = compile_bucket(compiler, graphdef, config, stacked, state,
                                                 model, mesh)
        programs = [compiled[shape] for shape in shapes]

        def run_bucket(plan_and_programs, stop):
            (group, padded, max_width, model, state, _), compiled = plan_and_programs
            every = labels.result()
            state = state._replace(y=every[padded] if stacked else np.broadcast_to(
                every, (len(padded),) + every.shape[1:]))

            def report(done):  # between chunks: where a failed or interrupted sweep stops
                cpu.check_stop(stop)
                if progress is not None:
                    progress(f"{family.name} widths {widths[group].min()}-{max_width} "
                             f"({len(group)} x {len(seed_ids)} seeds): update {done:,} of "
                             f"{config.steps:,}, {time.perf_counter() - start_time:.0f} s")

            final, curve = train_bucket(compiled, state, model, config, report, stacked, mesh)
            for name, values in final.items():
                out[name][group] = values[:len(group)]
            out["test_error_curve"][group] = curve[:len(group)]

        cpu.run_all(run_bucket, zip(plans, programs), workers)
    finally:
        compiler.shutdown(cancel_futures=True)  # on an error, compile nothing more
    out["eval_steps"] = eval_steps
    out["wall_s"] = time.perf_counter() - start_time
    return out


def _shapes(graphdef, state, model) -> tuple:
    """What a bucket's compiled program depends on: its model's graph definition and the
    structure, shapes and types of its inputs."""
    leaves, tree = jax.tree.flatten((state, model))
    return graphdef, tree, tuple((np.shape(leaf), leaf.dtype) for leaf in leaves)
