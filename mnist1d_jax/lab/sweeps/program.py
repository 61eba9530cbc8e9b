"""The compiled program of a sweep's bucket: every (configuration, seed) model of the bucket
trained by one program per chunk length, `vmap`ped over configurations and seeds. A call computes
the metrics before the first update, `count` updates (with the test error at the recorded steps)
and the metrics after the last update; `train_bucket` runs the chunks in order."""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx

from ..nn import in_blocks
from ..parallel import cpu, placement
from ..training import (
    RunConfig,
    Schedule,
    check_counts,
    check_hyperparameter,
    cross_entropy,
    error,
    fit_steps,
    traced_config,
)

__all__ = ["METRICS", "BucketModels", "BucketState", "SweepConfig", "compile_bucket",
           "train_bucket", "updates"]


@traced_config
@dataclasses.dataclass(frozen=True)
class SweepConfig(RunConfig):
    """Training settings of a sweep (`training.RunConfig`): `learning_rate` and `momentum` are
    traced (`TRACED`), each a number or one value per configuration of the sweep (a (C,)
    sequence): every value shares the compiled program. The rest is static.

    Attributes:
      learning_rate, batch_size: as `RunConfig`.
      eval_every: test accuracy recorded every this many updates (and after the last), or 0 for
        the final evaluation only; divides `chunk`.
      order: "epochs" (a fresh permutation of the training set every epoch, as PyTorch's
        `DataLoader(shuffle=True)`; a short last batch when the size is not a multiple) or
        "cyclic" (the reference's `train.py`); `training.batch_rows`.
      optimizer: "sgd" (with `momentum`, as `torch.optim.SGD`) or "adam".
      momentum: SGD's momentum, in [0, 1) (0: plain SGD).
      steps: number of updates.
      chunk: updates per compiled call (progress is reported between calls).
    """

    TRACED = RunConfig.TRACED + ("momentum",)
    PER_CONFIGURATION = True

    eval_every: int = 0
    order: str = "epochs"
    optimizer: str = "sgd"
    momentum: float = 0.9
    steps: int = 20_000
    chunk: int = 2_000

    def __post_init__(self):
        super().__post_init__()
        check_counts(steps=self.steps, chunk=self.chunk)
        self._set("momentum", check_hyperparameter(
            self.momentum, "momentum", 0.0, 1.0, high_open=True,
            per_configuration=self.PER_CONFIGURATION))
        if self.eval_every and self.chunk % self.eval_every:
            raise ValueError(f"eval_every must be 0 or divide chunk={self.chunk}; got "
                             f"{self.eval_every}")

    def schedule(self, count: int) -> Schedule | None:
        """In a chunk of `count` updates (chunks start at multiples of `chunk`, which
        `eval_every` divides): after its every `eval_every`-th update; None when `eval_every` is
        0 (`_run` evaluates after the last update)."""
        return Schedule(self.eval_every - 1, self.eval_every, count // self.eval_every) \
            if self.eval_every else None

    def per_configuration(self, count: int) -> SweepConfig:
        """This configuration with every traced field as a float32 array (count,): a number
        repeated, a sequence as given.

        Raises:
          ValueError: a sequence of another length than `count`.
        """
        for name in self.TRACED:
            value = getattr(self, name)
            if np.ndim(value) == 1 and len(value) != count:
                raise ValueError(f"config.{name} gives {len(value)} values for {count} "
                                 "configurations (widths)")
        return jax.tree.map(lambda v: np.broadcast_to(np.asarray(v, np.float32), (count,)), self)

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


class BucketState(NamedTuple):
    """The training state of a bucket's models (leaves stacked over configurations and seeds)."""

    params: nnx.State
    opt_state: tuple
    y: jax.Array          # (n_max,) the training labels, label noise applied


class BucketModels(NamedTuple):
    """What tells one model of a sweep from another (leaves vmapped over the configurations and
    the seeds): its width (the model's `nn.Width` state), training-set size, keys, data
    when they differ per configuration, and its training configuration (traced rates)."""

    width: nnx.State
    n_train: jax.Array
    key: jax.Array        # initialisation and batch order: (seed, width, n_train)
    data: dict
    config: SweepConfig   # its traced fields (configurations,) outside the vmaps


def _errors(graphdef, params, width, x, y, valid):
    """Error (%) and mean cross-entropy over the rows where `valid` is 1, the model applied to
    x in blocks of rows (`nn.in_blocks`: a training set's evaluation in bounded memory)."""
    logits = in_blocks(nnx.merge(graphdef, params, width), x)
    return error(logits, y, valid), cross_entropy(logits, y, valid)


def _test_metrics(graphdef, params, model: BucketModels):
    """Test error (%) and mean cross-entropy on the model's whole test set."""
    data = model.data
    return _errors(graphdef, params, model.width, data["x_test"], data["y_test"],
                   jnp.ones(data["y_test"].shape[0]))


def updates(state: BucketState, start, model: BucketModels, graphdef, count: int):
    """`count` updates of one model from update `start` (`training.fit_steps`) with its
    configuration; the test errors (count // eval_every,) after its every `eval_every`-th update
    (`SweepConfig.schedule`), or None when `eval_every` is 0."""
    config = model.config

    def loss_fn(params, batch):
        rows, weights = batch
        logits = nnx.merge(graphdef, params, model.width)(model.data["x"][rows])
        return cross_entropy(logits, state.y[rows], weights)

    def batch_fn(step):
        return config.batch(step, model.n_train, model.key, largest=model.data["y"].shape[-1])

    (params, opt_state), (_, errors) = fit_steps(
        loss_fn, config.transformation(), batch_fn, state.params, state.opt_state,
        start + jnp.arange(count), evaluate=lambda p: _test_metrics(graphdef, p, model)[0],
        schedule=config.schedule(count))
    return state._replace(params=params, opt_state=opt_state), errors


METRICS = ("train_error", "train_loss", "test_error", "test_loss")
"""What a sweep reports of each model at the start and after the last update."""


def _evaluate(state: BucketState, model: BucketModels, graphdef) -> dict:
    """Train and test error (%) and loss of one model (`METRICS`)."""
    valid = (jnp.arange(state.y.shape[0]) < model.n_train).astype(jnp.float32)
    train = _errors(graphdef, state.params, model.width, model.data["x"], state.y, valid)
    test = _test_metrics(graphdef, state.params, model)
    return dict(zip(METRICS, train + test))


def _run(state: BucketState, start, model: BucketModels, graphdef, count: int):
    """One compiled call of a model's training: its metrics before the updates (when `start`
    is 0, else NaN), `count` updates from `start` (`updates`), and its metrics after them (when
    they end the run, else NaN). One program per bucket and chunk length does it all."""
    def evaluate_if(condition, state):
        return jax.lax.cond(condition, lambda s: _evaluate(s, model, graphdef),
                            lambda s: {name: jnp.float32(jnp.nan) for name in METRICS}, state)

    before = evaluate_if(start == 0, state)
    state, errors = updates(state, start, model, graphdef, count)
    return state, (before, errors, evaluate_if(start + count == model.config.steps, state))


def _per_model(fn, stacked: bool):
    """`fn(state, model)` vmapped over the seeds (inner) and the configurations (outer): states
    and keys carry both axes, width and size the configurations', data too when `stacked`."""
    inner = BucketModels._make((None, None, 0, None, None))  # vmap axes, not values
    outer = BucketModels._make((0, 0, 0, 0 if stacked else None, 0))
    return jax.vmap(jax.vmap(fn, in_axes=(0, inner)), in_axes=(0, outer))


@functools.partial(jax.jit, static_argnames=("graphdef", "count", "stacked"),
                   donate_argnums=(0,))
def _bucket_program(state, start, model, graphdef, count, stacked):
    return _per_model(lambda s, m: _run(s, start, m, graphdef, count), stacked)(state, model)


def _on_mesh(function, state: BucketState, start, model: BucketModels, stacked: bool, mesh):
    """`function` (`placement.place` or `placement.abstract`) applied to a bucket's inputs:
    every per-run array's leading (configuration) axis sharded over `mesh`, shared data and
    `start` replicated."""
    return (function(state, mesh), function(start, mesh, False),
            BucketModels(function(model.width, mesh), function(model.n_train, mesh),
                         function(model.key, mesh), function(model.data, mesh, stacked),
                         function(model.config, mesh)))


def compile_bucket(pool, graphdef, config: SweepConfig, stacked: bool, state: BucketState,
                   model: BucketModels, mesh=None) -> dict:
    """Futures of a bucket's compiled programs (`_bucket_program`), one per update count that the
    sweep runs (`config.chunk`, and a shorter last one), compiled by `pool` (XLA releases the GIL:
    later buckets compile while earlier ones train), with the lab's options
    (`cpu.compile_lowered`); on `mesh`, for inputs placed as `_on_mesh` places them."""
    counts = sorted({count for _, count in config.chunks})
    inputs = _on_mesh(placement.abstract, state, jnp.int32(0), model, stacked, mesh)
    return {count: pool.submit(lambda c: cpu.compile_lowered(_bucket_program.lower(
        *inputs, graphdef=graphdef, count=c, stacked=stacked)), count)
        for count in counts}


def train_bucket(compiled: dict, state: BucketState, model: BucketModels, config: SweepConfig,
                 report: Callable[[int], None] | None, stacked: bool = False, mesh=None):
    """Trains one bucket from `state` with its compiled programs (`compile_bucket`), on `mesh`
    if given: the final metrics (dict of (configurations, seeds) arrays) and the test-error
    curve (configurations, seeds, evaluations), the initial error first. `report(updates
    done)` after each chunk. Each column of the curve is the evaluation after the update count
    it stands for (0, then `config.eval_steps`): placed by the schedule, never by the values."""
    recorded = {}  # update count -> test errors (configurations, seeds)
    state, _, model = _on_mesh(placement.place, state, None, model, stacked, mesh)
    for begin, count in config.chunks:
        start = (placement.place(np.int32(begin), mesh, False) if mesh is not None
                 else jnp.int32(begin))
        state, (before, errors, after) = compiled[count].result()(state, start, model)
        if begin == 0:
            recorded[0] = placement.gather(before["test_error"])
        schedule = config.schedule(count)
        if errors is not None and schedule is not None:  # after the update at position
            # first + k * every of the chunk
            errors = placement.gather(errors)
            for k in range(schedule.evaluations):
                recorded[begin + schedule.first + k * schedule.every + 1] = errors[..., k]
        if report is not None:
            report(begin + count)
    final = placement.gather(after)
    recorded[config.steps] = final["test_error"]
    return final, np.stack([recorded[int(s)] for s in [0, *config.eval_steps]], -1)
