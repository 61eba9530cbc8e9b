"""Lottery tickets (Frankle & Carbin; the reference's `lottery-tickets.ipynb`), compiled.

The model is the reference's sparse MLP, `nn.MLP` (40-h-h-10, ReLU, residual second layer),
as its parameter state (`nn.init`, `nn.apply`); a mask is a state of the same structure (1 kept,
0 pruned) and the network always sees `params * masks`, so a pruned weight has no gradient and,
rewound to 0, stays 0 under Adam. A search round prunes each layer (kernel and bias together, as
the reference's per-layer parameter vector) to a sparsity by a score, rewinds the survivors to
their initial values and retrains (`training.fit_steps`); the rounds are a `scan`, and trials x
methods are `vmap`ped, so a whole search is one compiled program (on a CPU, one per core, each
for its share of the runs: `cpu.run_grouped`).

Scores: "magnitude" (the trained weights' absolute values: the lottery ticket) or "random"
(uniform draws: the random ticket). Shapes: `S` rounds, `E` evaluations per round.
"""

from __future__ import annotations

import dataclasses
import functools

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx

from ..checks import check_integer, check_key, check_real
from .nn import MLP, apply, init, state_with
from .parallel import cpu, placement
from .training import (
    LoopConfig,
    accuracy,
    check_counts,
    check_data,
    cross_entropy,
    data_classes,
    fit_steps,
    traced_config,
)

__all__ = ["METHODS", "TicketConfig", "layer_masks", "masked", "retrain_fresh", "scores", "search",
           "train_round"]

METHODS = ("magnitude", "random")


@traced_config
@dataclasses.dataclass(frozen=True)
class TicketConfig(LoopConfig):
    """Training of each round, the reference's (`training.LoopConfig`): Adam, steps
    0..`total_steps` (cyclic batches), test accuracy after steps 0, `eval_every`, ...; `hidden`
    units per hidden layer. The learning rate is traced (one compiled search serves every
    value); the counts and `hidden` are static."""

    learning_rate: float = 2e-2
    eval_every: int = 100
    total_steps: int = 1501
    hidden: int = 500

    def __post_init__(self):
        super().__post_init__()
        check_counts(hidden=self.hidden)


def masked(params, masks):
    """The parameters the network sees."""
    return jax.tree.map(lambda p, m: p * m, params, masks)


def layer_masks(scores: nnx.State, sparsity) -> nnx.State:
    """Per layer, the `floor(sparsity * n)` lowest-scoring of its `n` weights and biases pruned
    (0), the rest kept (1); `sparsity` may be traced. scores: a parameter state."""
    def one_layer(layer):
        kernel, bias = layer["kernel"], layer["bias"]
        flat = jnp.concatenate([kernel.ravel(), bias])
        drop = jnp.floor(sparsity * flat.size).astype(jnp.int32)
        rank = jnp.argsort(jnp.argsort(flat, stable=True), stable=True)
        keep = (rank >= drop).astype(flat.dtype)
        return {"kernel": keep[:kernel.size].reshape(kernel.shape), "bias": keep[kernel.size:]}
    return state_with(scores, {name: one_layer(layer)
                               for name, layer in nnx.to_pure_dict(scores).items()})


def scores(method, key, trained):
    """Scores of the trained parameters: |trained| for method 0 ("magnitude"), uniform random
    for method 1 ("random"); `method` may be traced."""
    leaves, tree = jax.tree.flatten(trained)
    draws = [jax.random.uniform(k, leaf.shape) for k, leaf in
             zip(jax.random.split(key, len(leaves)), leaves)]
    return jax.tree.unflatten(tree, [jnp.where(method == 0, jnp.abs(leaf), draw)
                                     for leaf, draw in zip(leaves, draws)])


def train_round(params, masks, data: dict, config: TicketConfig):
    """Trains `params * masks` (Adam from a fresh state). Returns the trained parameters (pruned
    ones stay exactly 0: they get no gradient), the test accuracy (E,) after
    `config.eval_steps`, and the last training loss."""
    optimizer = config.transformation()
    x, y = data["x"], data["y"]

    def loss_fn(p, rows):
        return cross_entropy(apply(MLP, masked(p, masks), x[rows]), y[rows])

    start = masked(params, masks)
    updates = config.total_steps + 1
    (trained, _), (losses, tests) = fit_steps(
        loss_fn, optimizer, lambda i: config.batch(i, x.shape[0])[0], start,
        optimizer.init(start), jnp.arange(updates),
        evaluate=lambda q: accuracy(apply(MLP, masked(q, masks), data["x_test"]),
                                    data["y_test"]),
        schedule=config.schedule(updates))
    return trained, tests, losses[-1]


def _initial(key, features: int, classes: int, hidden: int) -> nnx.State:
    """The initial parameters of the ticket's model, `MLP(features, classes, hidden)`, from
    `key`: a search's and a retraining's alike."""
    return init(MLP, key, input_size=features, num_classes=classes, hidden_size=hidden)


def _one_search(method, key, data: dict, sparsities, keep: int, config: TicketConfig,
                classes: int):
    """One trial of one method: the rounds as a scan (carry: the last round's trained
    parameters and the masks of round `keep`)."""
    k_init, k_scores = jax.random.split(key)
    initial = _initial(k_init, data["x"].shape[-1], classes, config.hidden)
    ones = jax.tree.map(jnp.ones_like, initial)

    def one_round(carry, inputs):
        trained, kept = carry
        sparsity, r = inputs
        masks = layer_masks(scores(method, jax.random.fold_in(k_scores, r), trained), sparsity)
        trained, tests, loss = train_round(initial, masks, data, config)  # rewound to initial
        kept = jax.tree.map(lambda k, m: jnp.where(r == keep, m, k), kept, masks)
        return (trained, kept), (tests, loss, masks["linear1"]["kernel"][...] > 0)

    rounds = jnp.arange(len(sparsities))
    (_, ticket), (tests, losses, first) = jax.lax.scan(
        one_round, (initial, ones), (jnp.asarray(sparsities, jnp.float32), rounds))
    return {"test_accuracy": tests, "final_loss": losses, "first_layer_masks": first,
            "ticket": ticket, "initial": initial}


def search(key, data: dict, sparsities, *, trials: int = 2, methods=METHODS,
           config: TicketConfig = TicketConfig(), keep: int | None = None, mesh=None) -> dict:
    """The reference's search for every method and trial, compiled once.

    Args:
      key: a JAX key; trial `t` initialises and draws its random scores from `fold_in(key, t)`
        (the same for both methods, so the lottery and the random ticket start alike).
      data: `x` (n, F), `y`, `x_test`, `y_test` (C classes: `training.data_classes`).
      sparsities: (S,) the sparsity of each round, e.g. `np.linspace(0, 1, 100)`.
      trials: independent trials. methods: a subset of `METHODS`.
      keep: the round whose masks are returned as `ticket` (default: the round nearest to
        sparsity 0.91, where the reference reports its results).
      mesh: a `jax.sharding.Mesh`: the (method, trial) runs spread over all its devices (padded
        to a multiple of their number; `runs`), data replicated; it may span processes under
        `jax.distributed`. Default: the default device; on a CPU the runs are split into one
        group per core, executed side by side (`cpu.run_grouped`).

    Returns:
      dict of NumPy arrays, axes (method, trial, ...): `test_accuracy` (M, T, S, E) after
      `config.eval_steps`, `final_loss` (M, T, S), `first_layer_masks` (M, T, S, F, hidden) bool,
      `ticket` (masks pytree of round `keep`) and `initial` (parameters) with leading (M, T),
      `keep`.
    """
    key = check_key(key)
    if np.ndim(sparsities) != 1 or not len(sparsities):
        raise ValueError(f"sparsities must be a non-empty 1-D sequence of numbers in [0, 1]; got "
                         f"{sparsities!r}")
    sparsities = np.asarray([check_real(s, f"sparsities[{i}]", 0.0, 1.0)
                             for i, s in enumerate(np.asarray(sparsities).tolist())])
    unknown = [m for m in methods if m not in METHODS]
    if unknown or not methods:
        raise ValueError(f"methods must be a non-empty subset of {METHODS}; got {methods}")
    check_counts(trials=trials)
    if not isinstance(config, TicketConfig):
        raise TypeError(f"config must be a lottery.TicketConfig; got {config!r}")
    keep = int(np.argmin(np.abs(sparsities - 0.91))) if keep is None else \
        check_integer(keep, "keep", 0, len(sparsities) - 1)
    classes = data_classes(data)
    data = check_data(data)
    mesh = placement.check_mesh(mesh)
    count = len(methods) * trials  # one run per (method, trial), methods outer
    padded = placement.padded_runs(count, mesh)
    method_ids = np.repeat([METHODS.index(m) for m in methods], trials).astype(np.int32)[padded]
    keys = jax.vmap(lambda t: jax.random.fold_in(key, t))(jnp.arange(trials))[padded % trials]
    sparsities = sparsities.astype(np.float32)
    static = dict(keep=keep, classes=classes)
    if mesh is None:
        out = cpu.run_grouped(_search, (method_ids, keys), (data, sparsities, config), static)
    else:
        out = placement.gather(_search(placement.place(method_ids, mesh),
                                       placement.place(keys, mesh),
                                       placement.place(data, mesh, False),
                                       placement.place(sparsities, mesh, False), config,
                                       **static))
    out = jax.tree.map(lambda a: a[:count].reshape((len(methods), trials) + a.shape[1:]), out)
    return {**out, "keep": keep}


@functools.partial(jax.jit, static_argnames=("keep", "classes"))
def _search(method_ids, keys, data, sparsities, config: TicketConfig, keep: int, classes: int):
    """Every run's search, `vmap`ped over the runs: method_ids (R,), keys (R,)."""
    one = functools.partial(_one_search, keep=keep, config=config, classes=classes)
    return jax.vmap(one, (0, 0, None, None))(method_ids, keys, data, sparsities)


def retrain_fresh(key, tickets, data: dict, *, config: TicketConfig = TicketConfig()):
    """Each ticket's masks applied to freshly drawn initial weights and trained as a search round
    (`train_round`): does a mask help "even under different initial weights"?

    Args:
      key: a JAX key; trial `t`'s new weights are drawn from `fold_in(key, t)`, the same for
        every method, so the tickets of one trial differ only by their masks.
      tickets: `search(...)["ticket"]`: masks with leading axes (method M, trial T).
      data: as for `search`.

    Returns:
      test accuracy (M, T, E) after `config.eval_steps`.
    """
    key = check_key(key)
    if not isinstance(config, TicketConfig):
        raise TypeError(f"config must be a lottery.TicketConfig; got {config!r}")
    classes = data_classes(data)
    data = check_data(data)
    shape = _check_tickets(tickets, data["x"].shape[-1], classes, config.hidden)
    flat = jax.tree.map(lambda m: jnp.reshape(m, (-1,) + m.shape[2:]), tickets)
    keys = jax.vmap(lambda t: jax.random.fold_in(key, t))(jnp.arange(shape[1]))
    tests = cpu.run_grouped(_retrain_fresh, (jnp.tile(keys, shape[0]), flat), (data, config),
                            dict(classes=classes))
    return tests.reshape(shape + tests.shape[1:])


def _check_tickets(tickets, features: int, classes: int, hidden: int) -> tuple:
    """The leading (M, T) of `tickets` if they are masks of `MLP(features, classes, hidden)` with
    two leading axes, else a `ValueError` naming what was expected."""
    expected = jax.eval_shape(lambda: _initial(jax.random.key(0), features, classes, hidden))
    want = jax.tree.structure(expected)
    leaves = jax.tree.leaves(tickets)
    shape = tuple(np.shape(leaves[0])[:2]) if leaves else ()
    if (jax.tree.structure(tickets) != want or len(shape) != 2
            or any(np.shape(leaf) != shape + e.shape
                   for leaf, e in zip(leaves, jax.tree.leaves(expected)))):
        raise ValueError(f"tickets must be search(...)['ticket'] for these data and config: "
                         f"masks of MLP({features}, {classes}, hidden={hidden}) with leading "
                         f"(method, trial) axes; got shapes "
                         f"{[np.shape(leaf) for leaf in leaves]}")
    return shape


@functools.partial(jax.jit, static_argnames=("classes",))
def _retrain_fresh(keys, masks, data, config: TicketConfig, classes: int):
    def one(key, masks):
        initial = _initial(key, data["x"].shape[-1], classes, config.hidden)
        return train_round(initial, masks, data, config)[1]
    return jax.vmap(one)(keys, masks)
