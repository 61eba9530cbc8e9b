"""The compiled program of a sweep's bucket: every (configuration, seed) model of the bucket
trained by one program per chunk length, `vmap`ped over configurations and seeds. A call computes
the metrics before the first update, `count` updates (with the test error at the recorded steps)
and the metrics after the last update; `_train_bucket` runs the chunks in order."""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax

from ..draws import index_permutation
from . import cpu
from .families import Family
from ..checks import check_integer, check_real
from .inputs import MAX_COUNT, check_counts, check_learning_rate
from .train import cyclic_rows



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
        check_counts(batch_size=self.batch_size, steps=self.steps, chunk=self.chunk)
        check_integer(self.eval_every, "eval_every", 0, MAX_COUNT)
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
        return cyclic_rows(step, b, n_train), jnp.ones(b)
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
    """Futures of a bucket's compiled programs (`_bucket_program`), one per update count that the
    sweep runs (`config.chunk`, and a shorter last one), compiled by `pool` (XLA releases the GIL:
    later buckets compile while earlier ones train), with the lab's options
    (`cpu.compile_lowered`)."""
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
