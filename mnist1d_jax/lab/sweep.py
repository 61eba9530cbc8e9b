"""Sweeps: many models trained in few compiled calls (deep double descent, the pooling benchmark).

A sweep trains every (configuration, seed) pair of a model family. Configurations of one shape
family (MLP hidden widths, CNN channel counts) are grouped into buckets (`buckets`); a bucket is
one compiled program, `vmap`ped over its configurations and the seeds, every model padded to the
bucket's largest width and masked:

- a unit (hidden unit, channel) at index `>= width` has zero weights in and out, and its
  activation is multiplied by 0, so its gradients are 0 and it stays exactly 0 under SGD or Adam;
- the other parameters are drawn unit by unit (`fold_in` of the unit's indices), so they do not
  depend on the padding: a configuration trained in any bucket follows the narrow model's run, up
  to float rounding of sums that include the padded zeros (tested).

Buckets keep the padded compute within a factor (`waste`, default 1: no padding beyond the
family's `floor`) of the real one, and gather the small models (whose steps cost about the same,
being overhead-bound) into one program. Measured on the 2-core CPU, three seeds, compiled
programs reused, ms per update of the whole bucket: MLP widths 2-27 in one bucket 1.5 against
2.5 for the ten alone; 135-300 padded together 4.1 against 2.8 for the four alone (1 seed); CNN
channels 2-30 in one bucket 31 against 24 in twelve buckets (floor 8), each of 18-30 channels
alone 2.6: a vmapped CNN step gains nothing from sharing, so its floor is low.

A bucket is one program per chunk length (`_bucket_program`: the metrics before the first update, the
updates, the metrics after the last), compiled in background threads while earlier buckets train;
on a CPU the buckets train side by side, one per core (`cpu.run_all`). Nothing compiles before the
first bucket's program: keys and initialisation words come from `host_keys` (JAX's derivation in
NumPy), states are made on the host, and the noisy labels' small program compiles beside the
first bucket's. The training-set size is a traced quantity too: data are padded to the largest
size and batches index within the first `n_train` rows, so one compiled program serves every
size.

Results are plain arrays with axes (configuration, seed) in the order given.
"""

from __future__ import annotations

import concurrent.futures
import dataclasses
import functools
import math
import time
from collections.abc import Callable, Sequence
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax

from ..checks import check_key, check_memory, check_positive_int
from ..draws import index_permutation, mix32
from . import cpu, host_keys
from .inputs import (check_count, check_data, check_integers, check_learning_rate, check_real,
                     check_seeds)
from .models import conv1d, conv_output_length


def corrupt_labels(key, y, fraction):
    """The reference's label noise: each label, with probability `fraction`, replaced by a
    uniformly random class (possibly its own). y: (n,) int -> (n,) int32. Apply to training
    labels only."""
    k_flip, k_class = jax.random.split(key)
    flip = jax.random.uniform(k_flip, y.shape) < fraction
    return jnp.where(flip, jax.random.randint(k_class, y.shape, 0, 10), y).astype(jnp.int32)


# ---------------------------------------------------------------------------------------------
# Model families: params padded to `max_width`, units at index >= `width` masked


OVERHEAD_WIDTH = 32
"""Below this width an MLP step on the CPU costs its overhead, not its arithmetic (measured)."""


class Family(NamedTuple):
    """A model family indexed by a width. `init(words, width, max_width, features) -> params`
    (a dict of float32 NumPy arrays, from (SEED_WORDS, 4) uint32 seed `words`, on the host) and
    `apply(params, x, width, max_width) -> logits` (batch, 10) for x (batch, F), `width` traced,
    `max_width` static. `cost(width)` is the relative compute of one step, about its number of
    parameters; below width `floor` a step costs about the same whatever its width (it is
    overhead, not arithmetic), so such models share a program at little loss (`buckets`).
    `signal_rule(F)` says why signals of F points do not fit the family ("" if they do)."""

    name: str
    init: Callable
    apply: Callable
    cost: Callable
    floor: int = OVERHEAD_WIDTH
    signal_rule: Callable = lambda length: ""


def width_mask(width, max_width: int):
    """(max_width,) float32: 1 for the first `width` units, 0 for the padding (NumPy for a
    Python `width`, JAX for a traced one)."""
    xp = np if isinstance(width, (int, np.integer)) else jnp
    return (xp.arange(max_width) < width).astype(xp.float32)


def unit_uniform(words: np.ndarray, shape: tuple, bound: float) -> np.ndarray:
    """Uniform on `(-bound, bound)` of `shape` (float32 NumPy), the value at each index a hash of
    the seed `words` ((4,) uint32) and that index alone, not of `shape`: a padded layer holds the
    narrow layer's values in its leading block (PyTorch's default initialisation, whatever the
    padding). Computed on the host: no compilation per shape."""
    words = np.asarray(words, np.uint32)
    h = np.broadcast_to(words[0], shape)
    for axis, size in enumerate(shape):
        index = np.arange(size, dtype=np.uint32).reshape(
            [size if a == axis else 1 for a in range(len(shape))])
        h = mix32(h ^ mix32(index ^ words[axis + 1]))
    u = (h >> 8).astype(np.float32) * np.float32(2.0**-24)  # 24 random bits: [0, 1)
    return ((2 * u - 1) * np.float32(bound)).astype(np.float32)


def _mlp_init(words, width: int, max_width: int, features: int) -> dict:
    """MLP features-h-h-10 (`torch.nn.Linear` initialisation); `words` (6, 4) seed words."""
    mask = width_mask(width, max_width)
    inner, outer = 1 / math.sqrt(width), 1 / math.sqrt(features)
    return {"w1": unit_uniform(words[0], (features, max_width), outer) * mask,
            "b1": unit_uniform(words[1], (max_width,), outer) * mask,
            "w2": unit_uniform(words[2], (max_width, max_width), inner) * mask[:, None] * mask,
            "b2": unit_uniform(words[3], (max_width,), inner) * mask,
            "w3": unit_uniform(words[4], (max_width, 10), inner) * mask[:, None],
            "b3": unit_uniform(words[5], (10,), inner)}


def _mlp_apply(params, x, width, max_width: int):
    mask = width_mask(width, max_width)
    h = jax.nn.relu(x @ params["w1"] + params["b1"]) * mask
    h = jax.nn.relu(h @ params["w2"] + params["b2"]) * mask
    return h @ params["w3"] + params["b3"]


MLP = Family("mlp", _mlp_init, _mlp_apply, lambda w: (40 + w + 10) * w)
"""The double-descent MLP: features-h-h-10 with ReLU (`h` hidden units per layer)."""

CNN_KERNELS = (5, 3, 3)


def _cnn_init(words, width: int, max_width: int, features: int) -> dict:
    """Three stride-2 convolutions of `width` channels (kernels 5, 3, 3, padding 1) and a linear
    read-out (`torch.nn.Conv1d` / `Linear` initialisation); `words` (8, 4) seed words."""
    mask = width_mask(width, max_width)
    params, length, fan_in_mask, fan_in = {}, features, np.ones(1, np.float32), 1
    for i, size in enumerate(CNN_KERNELS):
        bound = 1 / math.sqrt(fan_in * size)
        shape = (size, fan_in_mask.shape[0], max_width)
        params[f"k{i}"] = unit_uniform(words[2 * i], shape, bound) * fan_in_mask[:, None] * mask
        params[f"b{i}"] = unit_uniform(words[2 * i + 1], (max_width,), bound) * mask
        length, fan_in_mask, fan_in = conv_output_length(length, size), mask, width
    bound = 1 / math.sqrt(width * length)
    params["w"] = _readout(words[6], length, mask, bound)
    params["b"] = unit_uniform(words[7], (10,), bound)
    return params


def _readout(words, length: int, mask, bound: float) -> np.ndarray:
    """A linear read-out of `length` positions x channels (flattened, channels last) to the 10
    classes: (length * max_width, 10), drawn per (position, channel, class)."""
    weights = unit_uniform(words, (length, mask.shape[0], 10), bound) * mask[:, None]
    return weights.reshape(-1, 10)


def _cnn_apply(params, x, width, max_width: int):
    mask = width_mask(width, max_width)
    h = x[..., None]
    for i in range(len(CNN_KERNELS)):
        h = jax.nn.relu(conv1d(h, params[f"k{i}"], params[f"b{i}"])) * mask
    return h.reshape(h.shape[0], -1) @ params["w"] + params["b"]


CNN = Family("cnn", _cnn_init, _cnn_apply, lambda c: 15 * c * c + 25 * c, floor=8,
             signal_rule=lambda n: "" if n >= 3 else "three stride-2 convolutions need at least "
                                                      "3 points")
"""The double-descent CNN: three stride-2 convolutions of `c` channels, kernels 5/3/3, padding
1, ReLU, and a linear read-out of the 5 x `c` features."""


def _pool(h, kind: str):
    """Width-2 pooling along the positions of h (batch, length, channels)."""
    if kind in ("none", "stride"):
        return h
    pairs = h.reshape(h.shape[0], h.shape[1] // 2, 2, h.shape[2])
    if kind == "max":
        return pairs.max(2)
    if kind == "average":
        return pairs.mean(2)
    square = (pairs * pairs).sum(2)  # L2 pooling; a zero window has value and gradient 0
    positive = square > 0
    return jnp.where(positive, jnp.sqrt(jnp.where(positive, square, 1.0)), 0.0)


POOLING = ("none", "stride", "max", "average", "l2")
"""The pooling benchmark's five variants: no pooling (stride 1), stride 2, and max, average and
L2 pooling of width 2 after each stride-1 convolution."""


def _pooling_features(kind: str, features: int) -> int:
    return features if kind == "none" else features // 4


def _pooling_init(kind: str, words, width: int, max_width: int, features: int) -> dict:
    """Two 3-tap convolutions of `width` channels (padding 1) and a linear read-out; `words`
    (6, 4) seed words."""
    mask = width_mask(width, max_width)
    length = _pooling_features(kind, features)
    inner, readout = 1 / math.sqrt(3 * width), 1 / math.sqrt(length * width)
    return {"k0": unit_uniform(words[0], (3, 1, max_width), 1 / math.sqrt(3)) * mask,
            "b0": unit_uniform(words[1], (max_width,), 1 / math.sqrt(3)) * mask,
            "k1": unit_uniform(words[2], (3, max_width, max_width), inner) * mask[:, None] * mask,
            "b1": unit_uniform(words[3], (max_width,), inner) * mask,
            "w": _readout(words[4], length, mask, readout),
            "b": unit_uniform(words[5], (10,), readout)}


def _pooling_apply(kind: str, params, x, width, max_width: int):
    mask = width_mask(width, max_width)
    stride = 2 if kind == "stride" else 1
    h = x[..., None]
    for i in range(2):
        h = _pool(jax.nn.relu(conv1d(h, params[f"k{i}"], params[f"b{i}"], stride)) * mask, kind)
    return h.reshape(h.shape[0], -1) @ params["w"] + params["b"]


@functools.cache
def pooling_family(kind: str) -> Family:
    """The pooling benchmark's model with pooling `kind` (one of `POOLING`): the reference's
    `ConvPooling` of `benchmark-pooling.ipynb`, 20 channels by default (the width)."""
    if kind not in POOLING:
        raise ValueError(f"kind must be one of {POOLING}; got {kind!r}")
    rule = (lambda n: "") if kind == "none" else (
        lambda n: "" if n >= 4 and n % 4 == 0 else "two width-2 poolings (or stride-2 "
                                                   "convolutions) need a multiple of 4 points")
    return Family(f"pooling-{kind}", functools.partial(_pooling_init, kind),
                  functools.partial(_pooling_apply, kind), lambda c: (3 + 3 * c) * c,
                  signal_rule=rule)


def buckets(widths: Sequence[int], cost: Callable, waste: float = 1.0,
            floor: float | None = None) -> list[list[int]]:
    """Groups `widths` (indices into it, largest first) so that padding every member of a group
    to its largest width costs at most `waste` times the group's own compute, counting each
    model as at least `floor` (default: the cost of width `OVERHEAD_WIDTH`, below which a step
    costs its overhead, not its arithmetic)."""
    floor = cost(OVERHEAD_WIDTH) if floor is None else floor
    order = sorted(range(len(widths)), key=lambda i: -widths[i])
    groups: list[list[int]] = []
    for i in order:
        if groups:
            group = groups[-1]
            top = max(cost(widths[group[0]]), floor)
            own = sum(max(cost(widths[j]), floor) for j in group + [i])
            if top * (len(group) + 1) <= waste * own:
                group.append(i)
                continue
        groups.append([i])
    return groups


# ---------------------------------------------------------------------------------------------
# Training


@dataclasses.dataclass(frozen=True)
class SweepConfig:
    """Training settings of a sweep (hashable: static in the compiled program).

    Attributes:
      optimizer: "sgd" (with `momentum`, as `torch.optim.SGD`) or "adam".
      learning_rate, momentum: the optimizer's settings.
      batch_size: examples per step.
      steps: number of updates.
      order: "epochs" (a fresh permutation of the training set every epoch, as PyTorch's
        `DataLoader(shuffle=True)`; a short last batch when the size is not a multiple) or
        "cyclic" (rows `step * batch_size` onwards, wrapping: the reference's `train.py`).
      eval_every: test accuracy recorded every this many updates (and after the last), or 0 for
        the final evaluation only.
      chunk: updates per compiled call (progress is reported between calls).
    """

    optimizer: str = "sgd"
    learning_rate: float = 0.01
    momentum: float = 0.9
    batch_size: int = 100
    steps: int = 20_000
    order: str = "epochs"
    eval_every: int = 0
    chunk: int = 2_000

    def __post_init__(self):
        for name in ("batch_size", "steps", "chunk"):
            check_count(getattr(self, name), name)
        check_count(self.eval_every, "eval_every", 0)
        check_learning_rate(self.learning_rate)
        check_real(self.momentum, "momentum", 0.0, 1.0, high_open=True)
        if self.optimizer not in ("sgd", "adam"):
            raise ValueError(f"optimizer must be 'sgd' or 'adam', got {self.optimizer!r}")
        if self.order not in ("epochs", "cyclic"):
            raise ValueError(f"order must be 'epochs' or 'cyclic', got {self.order!r}")
        if self.eval_every < 0 or (self.eval_every and self.chunk % self.eval_every):
            raise ValueError(f"eval_every must be 0 or divide chunk={self.chunk}; got "
                             f"{self.eval_every}")

    def transformation(self) -> optax.GradientTransformation:
        if self.optimizer == "adam":
            return optax.adam(self.learning_rate)
        return optax.sgd(self.learning_rate, momentum=self.momentum or None)

    @property
    def chunks(self) -> list[tuple[int, int]]:
        """(first update, number of updates) of each compiled call: `chunk` at a time, the
        last possibly shorter."""
        return [(begin, min(self.chunk, self.steps - begin))
                for begin in range(0, self.steps, self.chunk)]

    @property
    def eval_steps(self) -> np.ndarray:
        """The update counts after which the test error is recorded: every `eval_every`, and
        the last (a sweep adds 0, the initial model)."""
        if not self.eval_every:
            return np.array([self.steps])
        return np.unique(np.append(np.arange(self.eval_every, self.steps, self.eval_every),
                                   self.steps))


class _State(NamedTuple):
    params: dict
    opt_state: tuple
    y: jax.Array          # (n_max,) the training labels, label noise applied


class _Model(NamedTuple):
    """What tells one model of a sweep from another (leaves vmapped over the configurations and
    the seeds): its width, training-set size, keys, and data when they differ per configuration."""

    width: jax.Array
    n_train: jax.Array
    key: jax.Array        # initialisation and batch order: (seed, width, n_train)
    data: dict


def _batch(step, model: _Model, config: SweepConfig):
    """The rows (batch,) of update `step` and their weights (1, or 0 past a short last batch).

    "epochs": epoch `e` visits the training rows in the order of a keyed bijection of
    `[0, n_train)` (`draws.index_permutation` with key `fold_in(model key, e)`), computed per
    row, so no permutation is stored or sorted; "cyclic": rows `step * batch_size` onwards."""
    b, n_train = config.batch_size, model.n_train
    if config.order == "cyclic":
        return (step * b + jnp.arange(b)) % n_train, jnp.ones(b)
    per_epoch = (n_train + b - 1) // b
    epoch, position = step // per_epoch, step % per_epoch
    index = position * b + jnp.arange(b)
    valid = index < n_train
    rows = index_permutation(jax.random.fold_in(model.key, epoch),
                             jnp.where(valid, index, 0), n_train,
                             largest=model.data["y"].shape[-1])
    return rows.astype(jnp.int32), valid.astype(jnp.float32)


def _errors(family: Family, params, x, y, valid, width, max_width: int):
    """Error (%) and mean cross-entropy over the rows where `valid` is 1."""
    logits = family.apply(params, x, width, max_width)
    wrong = (jnp.argmax(logits, -1) != y).astype(jnp.float32)
    losses = optax.softmax_cross_entropy_with_integer_labels(logits, y)
    count = valid.sum()
    return 100 * (wrong * valid).sum() / count, (losses * valid).sum() / count


def _test_metrics(family: Family, params, model: _Model, max_width: int):
    """Test error (%) and mean cross-entropy on the model's whole test set."""
    data = model.data
    return _errors(family, params, data["x_test"], data["y_test"],
                   jnp.ones(data["y_test"].shape[0]), model.width, max_width)


def _test_error(family: Family, params, model: _Model, max_width: int):
    return _test_metrics(family, params, model, max_width)[0]


def _updates(state: _State, start, model: _Model, family: Family, max_width: int,
           config: SweepConfig, count: int):
    """`count` updates of one model from update `start`; the test error after the updates that
    `config.eval_steps` records before the last (NaN after the others; `_run` gives the last)."""
    optimizer = config.transformation()

    def loss_fn(params, rows, weights):
        logits = family.apply(params, model.data["x"][rows], model.width, max_width)
        losses = optax.softmax_cross_entropy_with_integer_labels(logits, state.y[rows])
        return (losses * weights).sum() / weights.sum()

    def update(state, step):
        rows, weights = _batch(step, model, config)
        grads = jax.grad(loss_fn)(state.params, rows, weights)
        updates, opt_state = optimizer.update(grads, state.opt_state, state.params)
        state = state._replace(params=optax.apply_updates(state.params, updates),
                               opt_state=opt_state)
        if not config.eval_every:  # only the final error (by `_run`): no evaluation here
            return state, jnp.float32(jnp.nan)
        done = step + 1
        recorded = (done < config.steps) & (done % config.eval_every == 0)
        error = jax.lax.cond(recorded, lambda p: _test_error(family, p, model, max_width),
                             lambda p: jnp.float32(jnp.nan), state.params)
        return state, error

    return jax.lax.scan(update, state, start + jnp.arange(count))


METRICS = ("train_error", "train_loss", "test_error", "test_loss")
"""What a sweep reports of each model at the start and after the last update."""


def _evaluate(state: _State, model: _Model, family: Family, max_width: int) -> dict:
    """Train and test error (%) and loss of one model (`METRICS`)."""
    data = model.data
    valid = (jnp.arange(state.y.shape[0]) < model.n_train).astype(jnp.float32)
    train = _errors(family, state.params, data["x"], state.y, valid, model.width, max_width)
    test = _test_metrics(family, state.params, model, max_width)
    return dict(zip(METRICS, train + test))


def _run(state: _State, start, model: _Model, family: Family, max_width: int,
         config: SweepConfig, count: int):
    """One compiled call of a model's training: its metrics before the updates (when `start`
    is 0, else NaN), `count` updates from `start` (`_updates`), and its metrics after them (when
    they end the run, else NaN). One program per bucket and chunk length does it all."""
    def evaluate_if(condition, state):
        return jax.lax.cond(condition, lambda s: _evaluate(s, model, family, max_width),
                            lambda s: {name: jnp.float32(jnp.nan) for name in METRICS}, state)

    before = evaluate_if(start == 0, state)
    state, errors = _updates(state, start, model, family, max_width, config, count)
    return state, (before, errors, evaluate_if(start + count == config.steps, state))


def _per_model(fn, stacked: bool):
    """`fn(state, model)` vmapped over the seeds (inner) and the configurations (outer): states
    and keys carry both axes, width and size the configurations', data too when `stacked`."""
    inner = _Model(None, None, 0, None)
    outer = _Model(0, 0, 0, 0 if stacked else None)
    return jax.vmap(jax.vmap(fn, in_axes=(0, inner)), in_axes=(0, outer))


@functools.partial(jax.jit, static_argnames=("family", "max_width", "config", "count",
                                             "stacked"), donate_argnums=(0,))
def _bucket_program(state, start, model, family, max_width, config, count, stacked):
    return _per_model(lambda s, m: _run(s, start, m, family, max_width, config, count),
                      stacked)(state, model)


def _compile_bucket(pool, family: Family, max_width: int, config: SweepConfig, stacked: bool,
                    state: _State, model: _Model) -> dict:
    """Futures of a bucket's compiled programs (`_bucket_program`), one per update count that the sweep
    runs (`config.chunk`, and a shorter last one), compiled by `pool` (XLA releases the GIL:
    later buckets compile while earlier ones train), with the lab's options (`cpu.compile_lowered`)."""
    counts = sorted({count for _, count in config.chunks})
    return {count: pool.submit(lambda c: cpu.compile_lowered(_bucket_program.lower(
        state, jnp.int32(0), model, family=family, max_width=max_width, config=config,
        count=c, stacked=stacked)), count) for count in counts}


def _train_bucket(compiled: dict, state: _State, model: _Model, config: SweepConfig,
                  report: Callable[[int], None] | None):
    """Trains one bucket from `state` with its compiled programs (`_compile_bucket`): the
    final metrics (dict of (configurations, seeds) arrays) and the test-error curve
    (configurations, seeds, evaluations), the initial error first. `report(updates done)`
    after each chunk."""
    curve = []
    for begin, count in config.chunks:
        state, (before, errors, after) = compiled[count].result()(state, jnp.int32(begin), model)
        if begin == 0:
            curve.append(np.asarray(before["test_error"])[..., None])
        errors = np.asarray(errors)
        curve.append(errors[..., ~np.isnan(errors[0, 0])])
        if report is not None:
            report(begin + count)
    final = jax.device_get(after)
    curve.append(final["test_error"][..., None])
    return final, np.concatenate(curve, -1)


def label_noise_key(key, seed):
    """The key of seed `seed`'s label noise in a sweep with `key`: `corrupt_labels(
    label_noise_key(key, seed), y, fraction)` are the labels its models train on."""
    return jax.random.fold_in(jax.random.fold_in(key, seed), 2**32 - 1)


def _model_keys(key, seeds: np.ndarray, widths: np.ndarray, sizes: np.ndarray):
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


@functools.partial(jax.jit, static_argnames=("noise",))
def _noisy_labels(key, seeds, y, noise: float):
    """Each seed's training labels with label noise (`corrupt_labels` with
    `label_noise_key(key, seed)`, per label set): (S, N) for y (N,), (C, S, N) for y (C, N)."""
    per_seed = jax.vmap(lambda seed, labels: corrupt_labels(label_noise_key(key, seed), labels,
                                                            noise), (0, None))
    return per_seed(seeds, y) if y.ndim == 1 else jax.vmap(per_seed, (None, 0))(seeds, y)


def _training_labels(key, seeds: np.ndarray, y, noise: float) -> np.ndarray:
    """The labels every seed trains on: (C, S, N) for labels y (C, N) per configuration, else
    (1, S, N)."""
    y = np.asarray(y)
    if noise == 0:
        labels = np.broadcast_to(y[..., None, :], y.shape[:-1] + (len(seeds), y.shape[-1]))
    else:
        labels = np.asarray(_noisy_labels(key, jnp.asarray(seeds, jnp.uint32), y, noise))
    return labels if y.ndim == 2 else labels[None]


def _initial_state(family: Family, config: SweepConfig, words: np.ndarray, widths: np.ndarray,
                   max_width: int, features: int, labels) -> _State:
    """Every model's initial state, (configurations, seeds, ...): parameters made on the host,
    the optimizer's state (zeros, as `optax.sgd` and `optax.adam` start), the training labels
    `labels` (configurations, seeds, N) (or their `jax.ShapeDtypeStruct`, to compile)."""
    per_model = [[family.init(w, int(width), max_width, features) for w in row]
                 for row, width in zip(words, widths)]
    params = jax.tree.map(lambda *leaves: np.stack(leaves).reshape(
        (len(widths), words.shape[1]) + leaves[0].shape), *[p for row in per_model for p in row])
    shapes = jax.eval_shape(jax.vmap(jax.vmap(config.transformation().init)), params)
    return _State(params, jax.tree.map(lambda s: np.zeros(s.shape, s.dtype), shapes), labels)


MAX_WIDTH = 2**16
"""The widest hidden layer or channel count a sweep takes (memory is checked as well)."""


def _check_sweep_memory(family: Family, widths: np.ndarray, seeds: int, waste: float) -> None:
    """Refuses a sweep whose padded parameters, gradients and optimizer states (about four
    float32 copies of `cost(width)` numbers per model) exceed the memory available."""
    groups = buckets(widths.tolist(), family.cost, waste, family.cost(family.floor))
    needed = sum(len(g) * seeds * 16 * family.cost(int(widths[g].max())) for g in groups)
    check_memory(needed, f"a sweep of widths up to {int(widths.max())}",
                 "train fewer or narrower models at a time")


def sweep(family: Family, widths: Sequence[int], data: dict, *, seeds=(0, 1, 2),
          config: SweepConfig = SweepConfig(), label_noise: float = 0.0,
          n_train: Sequence[int] | None = None, key=None, waste: float = 1.0,
          progress: Callable[[str], None] | None = print, workers: int | None = None) -> dict:
    """Trains `family` at every width in `widths` for every seed, bucket by bucket.

    Args:
      family: `MLP`, `CNN`, or another `Family`.
      widths: (C,) hidden units or channels of each configuration (repeats allowed, e.g. one
        width at several training-set sizes).
      data: `x` (N, F), `y` (N,), `x_test` (M, F), `y_test` (M,) shared by every configuration;
        or, when `x` is 3-D, one dataset per configuration: (C, N, F), (C, N), (C, M, F), (C, M)
        (pad training sets of different sizes to the largest N and give `n_train`).
      seeds: (S,) seeds; a model's initialisation and batch order come from (key, seed, width,
        n_train), its label noise from (key, seed): the same configuration gives the same run in
        any sweep.
      config: the training settings (`SweepConfig`).
      label_noise: fraction of training labels replaced by random classes (`corrupt_labels`);
        test labels are never touched.
      n_train: (C,) training-set sizes: configuration `c` trains on its first `n_train[c]` rows
        (traced: every size shares a compiled program). Default: all N rows.
      key: a threefry JAX key, `jax.random.key` or `jax.random.PRNGKey` (default
        `jax.random.key(0)`).
      waste: at most this factor of padded compute per bucket (`buckets`).
      progress: called with one line after every compiled chunk of updates (`None`: silent);
        from the thread that trains the bucket.
      workers: buckets trained at once (default `cpu.workers()`: the CPU cores, on a CPU; 1 on
        an accelerator). On a CPU a bucket's program uses about one core (`cpu`).

    Returns:
      dict of NumPy arrays, axes (configuration, seed) in the order given: `train_error`,
      `test_error` (percent; train on the labels trained on, noise included), `train_loss`,
      `test_loss` after the last update; `test_error_curve` (C, S, E) at `eval_steps` (E,)
      (update counts, 0 first); `wall_s`, the seconds of the whole sweep, compilation included.
    """
    if not isinstance(family, Family):
        raise TypeError(f"family must be a sweep.Family (sweep.MLP, sweep.CNN or "
                        f"sweep.pooling_family(kind)); got {family!r}")
    if not isinstance(config, SweepConfig):
        raise TypeError(f"config must be a sweep.SweepConfig; got {config!r}")
    widths = check_integers(widths, "widths", 1, MAX_WIDTH)
    seeds = check_seeds(seeds, scalar=False)
    label_noise = check_real(label_noise, "label_noise", 0.0, 1.0)
    waste = check_real(waste, "waste", 1.0, 1e6)
    workers = cpu.workers() if workers is None else check_positive_int(workers, "workers")
    stacked = hasattr(data, "get") and np.ndim(data.get("x")) == 3
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
    key = jax.random.key(0) if key is None else check_key(key)
    _check_sweep_memory(family, widths, len(seeds), waste)
    start_time = time.perf_counter()
    model_keys, words = _model_keys(key, seeds, widths, sizes)
    model_keys = jax.random.wrap_key_data(model_keys)
    eval_steps = np.concatenate([[0], config.eval_steps])
    out = {name: np.zeros((len(widths), len(seeds)), np.float32) for name in METRICS}
    out["test_error_curve"] = np.zeros((len(widths), len(seeds), len(eval_steps)), np.float32)
    plans = []
    for group in buckets(widths.tolist(), family.cost, waste, family.cost(family.floor)):
        group = np.asarray(group)
        max_width = int(widths[group].max())
        model = _Model(jnp.asarray(widths[group]), jnp.asarray(sizes[group]), model_keys[group],
                       jax.tree.map(lambda a: a[group], data) if stacked else data)
        labels = jax.ShapeDtypeStruct((len(group), len(seeds), n_max), jnp.int32)
        state = _initial_state(family, config, words[group], widths[group], max_width,
                               data["x"].shape[-1], labels)
        plans.append((group, max_width, model, state))
    compiler = concurrent.futures.ThreadPoolExecutor(max_workers=2)
    try:
        labels = compiler.submit(_training_labels, key, seeds, data["y"], float(label_noise))
        programs = [_compile_bucket(compiler, family, max_width, config, stacked, state, model)
                    for _, max_width, model, state in plans]

        def train_bucket(plan_and_programs):
            (group, max_width, model, state), compiled = plan_and_programs
            every = labels.result()
            state = state._replace(y=every[group] if stacked else np.broadcast_to(
                every, (len(group),) + every.shape[1:]))
            report = None if progress is None else (lambda done: progress(
                f"{family.name} widths {widths[group].min()}-{max_width} ({len(group)} x "
                f"{len(seeds)} seeds): update {done:,} of {config.steps:,}, "
                f"{time.perf_counter() - start_time:.0f} s"))
            final, curve = _train_bucket(compiled, state, model, config, report)
            for name, values in final.items():
                out[name][group] = values
            out["test_error_curve"][group] = curve

        cpu.run_all(train_bucket, zip(plans, programs), workers)
    finally:
        compiler.shutdown(cancel_futures=True)  # on an error, compile nothing more
    out["eval_steps"] = eval_steps
    out["wall_s"] = time.perf_counter() - start_time
    return out
