"""The lab's one training core: a configuration base (`RunConfig`: its checks, its traced
hyperparameters, its optimizer and the evaluation schedule), the one choice of optimizer
(`optimizer`), the one batching function (`batch_rows`), the one step builder (`fit_steps`) and
the one way to run several runs side by side (`over_runs`).

`train`, `sweep`, `lottery` and `contrastive` each bring only their loss and
what is their own (masks and rounds, views, buckets); the updates are the same `lax.scan` here:
a batch by `batch_rows`, the gradient of the loss, the optimizer's update, and, after the
updates the schedule names, an evaluation compiled once under a `lax.cond`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import ClassVar, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax

from ...checks import check_integer
from ...draws import index_permutation
from ...pytrees import register_split_dataclass
from .checks import MAX_COUNT, check_counts, check_learning_rate

__all__ = ["LoopConfig", "OPTIMIZERS", "ORDERS", "RunConfig", "Schedule", "batch_rows",
           "fit_steps", "one_or_many", "optimizer", "over_runs", "traced_config"]

OPTIMIZERS = ("adam", "sgd")
"""The optimizers a configuration may name."""


def optimizer(name: str, learning_rate, *, momentum=None,
              weight_decay=None) -> optax.GradientTransformation:
    """The lab's one choice of optimizer: "adam" (`optax.adam`, PyTorch's defaults) or "sgd"
    (`optax.sgd`, with `momentum` where given: 0 gives plain SGD's updates exactly), at the
    rates given (each may be traced); with `weight_decay`, PyTorch's L2 term (`weight_decay *
    params` added to the gradient before the update, `optax.add_decayed_weights`)."""
    if name not in OPTIMIZERS:
        raise ValueError(f"optimizer must be one of {OPTIMIZERS}; got {name!r}")
    chosen = optax.adam(learning_rate) if name == "adam" else \
        optax.sgd(learning_rate, momentum=momentum)
    if weight_decay is None:
        return chosen
    return optax.chain(optax.add_decayed_weights(weight_decay), chosen)


ORDERS = ("cyclic", "epochs")
"""Batch orders: "cyclic" (rows `step * batch_size` onwards, wrapping: the reference's
`train.py`) or "epochs" (every epoch a fresh keyed permutation of the rows, as PyTorch's
`DataLoader(shuffle=True)`)."""


class Schedule(NamedTuple):
    """Which updates of a compiled call are followed by an evaluation (static): those at the
    positions `first`, `first + every`, ... (`evaluations` of them) among the call's updates."""

    first: int
    every: int
    evaluations: int


@dataclasses.dataclass(frozen=True)
class RunConfig:
    """What every training of the lab is configured by: a pytree split as `DatasetArgs` is
    (`traced_config`). The fields in `TRACED` (the learning rate, and what subclasses add:
    momentum, weight decay) are its leaves: one compiled program serves every value, and each
    may be a tracer (`jax.grad`, `jax.vmap`). The others (sizes, counts, orders: what fixes a
    program) are static. Subclasses add their own fields and say which updates are followed by
    an evaluation (`schedule`).

    Attributes:
      learning_rate: the optimizer's step size, in (0, `training.MAX_LEARNING_RATE`]. Traced.
      optimizer: one of `OPTIMIZERS` ("adam" unless a subclass says otherwise); with the
        subclass's traced `momentum` and `weight_decay` where it has them (`transformation`).
      batch_size: examples per update.
      eval_every: an evaluation every this many updates (0: none during training, where a
        subclass allows it).

    The batch order is `order`, one of `ORDERS`: "cyclic" (the reference's) unless a subclass
    makes it a field.
    """

    TRACED: ClassVar[tuple[str, ...]] = ("learning_rate",)
    """The fields that are pytree leaves."""
    PER_CONFIGURATION: ClassVar[bool] = False
    """Whether a traced field may hold one value per configuration (a sweep's)."""

    learning_rate: float = 1e-2
    optimizer: str = "adam"
    batch_size: int = 100
    eval_every: int = 250
    order = "cyclic"

    def __post_init__(self):
        self._set("learning_rate", check_learning_rate(
            self.learning_rate, per_configuration=self.PER_CONFIGURATION))
        if self.optimizer not in OPTIMIZERS:
            raise ValueError(f"optimizer must be one of {OPTIMIZERS}; got {self.optimizer!r}")
        check_counts(batch_size=self.batch_size)
        check_integer(self.eval_every, "eval_every", 0, MAX_COUNT)
        if self.order not in ORDERS:
            raise ValueError(f"order must be one of {ORDERS}; got {self.order!r}")

    def _set(self, name: str, value) -> None:
        """Stores a validated field (the dataclass is frozen)."""
        object.__setattr__(self, name, value)

    def replace(self, **changes):
        """A copy with some fields changed, validated (a traced field may be a tracer)."""
        return dataclasses.replace(self, **changes)

    def transformation(self) -> optax.GradientTransformation:
        """This configuration's optimizer (`optimizer`) at its (possibly traced) rates: its
        learning rate, and its `momentum` and `weight_decay` where its class has them."""
        return optimizer(self.optimizer, self.learning_rate,
                         momentum=getattr(self, "momentum", None),
                         weight_decay=getattr(self, "weight_decay", None))

    def schedule(self, count: int) -> Schedule | None:
        """The evaluations of a compiled call of `count` updates (positions within the call;
        static), or None for none."""
        raise NotImplementedError

    def batch(self, step, n, key=None, *, largest: int | None = None):
        """`batch_rows` of update `step` in this configuration's order and batch size."""
        return batch_rows(step, self.batch_size, n, self.order, key, largest=largest)


def traced_config(cls):
    """Class decorator: the `RunConfig` dataclass `cls` registered as a pytree whose leaves are
    its `TRACED` fields and whose static metadata are the others
    (`pytrees.register_split_dataclass`)."""
    return register_split_dataclass(cls, cls.TRACED)


@traced_config
@dataclasses.dataclass(frozen=True)
class LoopConfig(RunConfig):
    """The reference's training loop (`notebooks/train.py` of greydanus/mnist1d): steps
    0..`total_steps` (total_steps + 1 updates), an evaluation after steps 0, `eval_every`,
    2 `eval_every`, ... (`eval_steps`)."""

    total_steps: int = 6000

    def __post_init__(self):
        super().__post_init__()
        check_counts(total_steps=self.total_steps, eval_every=self.eval_every)

    def schedule(self, count: int) -> Schedule:
        """After the updates 0, `eval_every`, 2 `eval_every`, ... of steps 0..count - 1."""
        return Schedule(0, self.eval_every, (count - 1) // self.eval_every + 1)

    @property
    def eval_steps(self):
        """(E,) the steps after which the model is evaluated."""
        return np.arange(0, self.total_steps + 1, self.eval_every)


def batch_rows(step, batch_size: int, n, order: str = "cyclic", key=None, *,
               largest: int | None = None, drop_last: bool = False):
    """The rows (batch_size,) int32 of update `step` and their weights (batch_size,) float32.

    "cyclic": rows `step * batch_size` onwards, wrapping around `n`; every weight 1. "epochs":
    epoch `e` visits the `n` rows in the order of a keyed bijection of `[0, n)`
    (`draws.index_permutation` with key `fold_in(key, e)`), computed per row, so no permutation
    is stored or sorted; an epoch is `ceil(n / batch_size)` updates, the last one short (weight 0
    past its end), or with `drop_last` `n // batch_size` full ones. `n` may be traced when
    `largest` (a Python int >= n) bounds it.
    """
    if order == "cyclic":
        return (step * batch_size + jnp.arange(batch_size)) % n, jnp.ones(batch_size)
    per_epoch = n // batch_size if drop_last else (n + batch_size - 1) // batch_size
    epoch, position = step // per_epoch, step % per_epoch
    index = position * batch_size + jnp.arange(batch_size)
    valid = index < n
    rows = index_permutation(jax.random.fold_in(key, epoch), jnp.where(valid, index, 0), n,
                             largest=largest)
    return rows.astype(jnp.int32), valid.astype(jnp.float32)


def _recorder(evaluate: Callable, schedule: Schedule) -> Callable:
    """`record(position, params, records)`: `records` with `evaluate(params)` written into its
    slot when `position` is one that `schedule` names, under a `lax.cond` on the position."""
    def record(position, params, records):
        offset = position - schedule.first
        slot = offset // schedule.every
        due = ((offset >= 0) & (offset % schedule.every == 0)
               & (slot < schedule.evaluations))
        return jax.lax.cond(due, lambda r: jax.tree.map(lambda buffer, value: buffer.at[slot]
                                                        .set(value), r, evaluate(params)),
                            lambda r: r, records)
    return record


def fit_steps(loss_fn: Callable, optimizer: optax.GradientTransformation, batch_fn: Callable,
              params, opt_state, steps, *, evaluate: Callable | None = None,
              schedule: Schedule | None = None):
    """The updates `steps` ((T,) 0-based update indices, possibly offset by a traced start) as
    one `lax.scan`.

    Update `i`: `batch = batch_fn(i)`; the loss and gradient of `loss_fn(params, batch)`; the
    optimizer's update. After the updates at the positions `schedule` names,
    `evaluate(params)` (a pytree of float arrays) is recorded in its slot of a (count, ...)
    buffer that the scan carries: the result holds exactly the scheduled evaluations, whatever
    any model's values are (a diverging model fills its own slots with its own NaNs, and no
    other). The evaluation is compiled once, under a `lax.cond` whose predicate depends only on
    the scan's position, which no `vmap` batches: it stays a branch (run only where due) even
    when the models are vmapped.

    Returns:
      ((params, opt_state), (losses (T,), metrics (count, ...), or None without `evaluate` or a
      schedule)).
    """
    records, record = None, None
    if evaluate is not None and schedule is not None and schedule.evaluations > 0:
        records = jax.tree.map(lambda m: jnp.zeros((schedule.evaluations,) + m.shape, m.dtype),
                               jax.eval_shape(evaluate, params))
        record = _recorder(evaluate, schedule)

    def step(carry, inputs):
        position, i = inputs
        params, opt_state, records = carry
        loss, grads = jax.value_and_grad(loss_fn)(params, batch_fn(i))
        updates, opt_state = optimizer.update(grads, opt_state, params)
        params = optax.apply_updates(params, updates)
        if record is not None:
            records = record(position, params, records)
        return (params, opt_state, records), loss

    (params, opt_state, records), losses = jax.lax.scan(
        step, (params, opt_state, records), (jnp.arange(len(steps)), steps))
    return (params, opt_state), (losses, records)


def over_runs(run: Callable, keys, *shared):
    """`run(key, *shared)` for every key of `keys` (S,), `vmap`ped into one program: the lab's
    one way to run several runs side by side (`shared`, such as data and rates, is broadcast).
    Every leaf of the result has a leading axis S. A single key (shape ()) is one plain run,
    not a batch of one (whose batched products would round differently)."""
    if jnp.ndim(keys) == 0:
        return run(keys, *shared)
    return jax.vmap(run, (0,) + (None,) * len(shared))(keys, *shared)


def one_or_many(tree, single: bool):
    """`tree`'s first run when the caller gave one key (`training.check_keys`), else all of it."""
    return jax.tree.map(lambda leaf: leaf[0], tree) if single else tree
