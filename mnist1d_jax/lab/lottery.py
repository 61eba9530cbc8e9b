"""Lottery tickets (Frankle & Carbin; the reference's `lottery-tickets.ipynb`), compiled.

The model is the reference's sparse MLP (40-h-h-10, ReLU, residual second layer) as a pytree of
parameters `{"l1": {"w", "b"}, "l2": ..., "l3": ...}`; a mask is a pytree of the same structure
(1 kept, 0 pruned) and the network always sees `params * masks`, so a pruned weight has no
gradient and, rewound to 0, stays 0 under Adam. A search round prunes each layer (weights and
bias together, as the reference's per-layer parameter vector) to a sparsity by a score, rewinds
the survivors to their initial values and retrains: one compiled `scan` over training steps; the
rounds are a `scan` too, and trials x methods are `vmap`ped, so a whole search is one program.

Scores: "magnitude" (the trained weights' absolute values: the lottery ticket) or "random"
(uniform draws: the random ticket). Shapes: `S` rounds, `E` evaluations per round.
"""

from __future__ import annotations

import dataclasses
import functools
import math

import jax
import jax.numpy as jnp
import numpy as np
import optax

from ..checks import check_integer, check_key, check_real
from .inputs import check_counts, check_data, check_learning_rate
from .models import uniform
from .train import accuracy, cross_entropy, cyclic_batch

METHODS = ("magnitude", "random")


@dataclasses.dataclass(frozen=True)
class TicketConfig:
    """Training of each round, the reference's: Adam, steps 0..`total_steps` (cyclic batches),
    test accuracy after steps 0, `eval_every`, ... (hashable: static in the compiled search)."""

    learning_rate: float = 2e-2
    batch_size: int = 100
    total_steps: int = 1501
    eval_every: int = 100
    hidden: int = 500

    def __post_init__(self):
        check_counts(batch_size=self.batch_size, total_steps=self.total_steps,
                     eval_every=self.eval_every, hidden=self.hidden)
        check_learning_rate(self.learning_rate)

    @property
    def eval_steps(self) -> np.ndarray:
        """(E,) the steps after which the test accuracy is recorded."""
        return np.arange(0, self.total_steps + 1, self.eval_every)


def init_params(key, hidden: int = 500, features: int = 40, classes: int = 10) -> dict:
    """`torch.nn.Linear`'s initialisation of the three layers."""
    sizes = {"l1": (features, hidden), "l2": (hidden, hidden), "l3": (hidden, classes)}
    keys = jax.random.split(key, 2 * len(sizes))
    params = {}
    for i, (name, (fan_in, fan_out)) in enumerate(sizes.items()):
        init = uniform(1 / math.sqrt(fan_in))
        params[name] = {"w": init(keys[2 * i], (fan_in, fan_out)),
                        "b": init(keys[2 * i + 1], (fan_out,))}
    return params


def apply(params, x):
    """Logits (n, classes) of x (n, features): relu(l1), plus relu(l2) of that, then l3."""
    h = jax.nn.relu(x @ params["l1"]["w"] + params["l1"]["b"])
    h = h + jax.nn.relu(h @ params["l2"]["w"] + params["l2"]["b"])
    return h @ params["l3"]["w"] + params["l3"]["b"]


def masked(params, masks):
    """The parameters the network sees."""
    return jax.tree.map(lambda p, m: p * m, params, masks)


def layer_masks(scores, sparsity):
    """Per layer, the `floor(sparsity * n)` lowest-scoring of its `n` weights and biases pruned
    (0), the rest kept (1); `sparsity` may be traced. scores: a parameter pytree."""
    def one_layer(layer):
        flat = jnp.concatenate([layer["w"].ravel(), layer["b"]])
        drop = jnp.floor(sparsity * flat.size).astype(jnp.int32)
        rank = jnp.argsort(jnp.argsort(flat, stable=True), stable=True)
        keep = (rank >= drop).astype(flat.dtype)
        return {"w": keep[:layer["w"].size].reshape(layer["w"].shape),
                "b": keep[layer["w"].size:]}
    return {name: one_layer(layer) for name, layer in scores.items()}


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
    optimizer = optax.adam(config.learning_rate)
    x, y = data["x"], data["y"]

    def loss_fn(p, xb, yb):
        return cross_entropy(apply(masked(p, masks), xb), yb)

    def step(carry, i):
        p, state = carry
        xb, yb = cyclic_batch(x, y, i, config.batch_size)
        loss, grads = jax.value_and_grad(loss_fn)(p, xb, yb)
        updates, state = optimizer.update(grads, state, p)
        p = optax.apply_updates(p, updates)
        test = jax.lax.cond(i % config.eval_every == 0,
                            lambda q: accuracy(apply(masked(q, masks), data["x_test"]),
                                               data["y_test"]),
                            lambda q: jnp.float32(jnp.nan), p)
        return (p, state), (test, loss)

    start = masked(params, masks)
    (trained, _), (tests, losses) = jax.lax.scan(step, (start, optimizer.init(start)),
                                                 jnp.arange(config.total_steps + 1))
    evaluated = tests[config.eval_steps]
    return trained, evaluated, losses[-1]


def _one_search(method, key, data: dict, sparsities, keep: int, config: TicketConfig):
    """One trial of one method: the rounds as a scan (carry: the last round's trained
    parameters and the masks of round `keep`)."""
    k_init, k_scores = jax.random.split(key)
    initial = init_params(k_init, config.hidden, data["x"].shape[-1])
    ones = jax.tree.map(jnp.ones_like, initial)

    def one_round(carry, inputs):
        trained, kept = carry
        sparsity, r = inputs
        masks = layer_masks(scores(method, jax.random.fold_in(k_scores, r), trained), sparsity)
        trained, tests, loss = train_round(initial, masks, data, config)  # rewound to initial
        kept = jax.tree.map(lambda k, m: jnp.where(r == keep, m, k), kept, masks)
        return (trained, kept), (tests, loss, masks["l1"]["w"] > 0)

    rounds = jnp.arange(len(sparsities))
    (_, ticket), (tests, losses, first) = jax.lax.scan(
        one_round, (initial, ones), (jnp.asarray(sparsities, jnp.float32), rounds))
    return {"test_accuracy": tests, "final_loss": losses, "first_layer_masks": first,
            "ticket": ticket, "initial": initial}


def search(key, data: dict, sparsities, *, trials: int = 2, methods=METHODS,
           config: TicketConfig = TicketConfig(), keep: int | None = None) -> dict:
    """The reference's search for every method and trial in one compiled program.

    Args:
      key: a JAX key; trial `t` initialises and draws its random scores from `fold_in(key, t)`
        (the same for both methods, so the lottery and the random ticket start alike).
      data: `x` (n, F), `y`, `x_test`, `y_test`.
      sparsities: (S,) the sparsity of each round, e.g. `np.linspace(0, 1, 100)`.
      trials: independent trials. methods: a subset of `METHODS`.
      keep: the round whose masks are returned as `ticket` (default: the round nearest to
        sparsity 0.91, where the reference reports its results).

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
    data = check_data(data)
    method_ids = jnp.asarray([METHODS.index(m) for m in methods])
    keys = jax.vmap(lambda t: jax.random.fold_in(key, t))(jnp.arange(trials))
    out = _search(method_ids, keys, data, sparsities, keep, config)
    return {**jax.tree.map(np.asarray, out), "keep": keep}


@functools.partial(jax.jit, static_argnames=("keep", "config"))
def _search(method_ids, keys, data, sparsities, keep: int, config: TicketConfig):
    one = functools.partial(_one_search, keep=keep, config=config)
    return jax.vmap(jax.vmap(one, (None, 0, None, None)), (0, None, None, None))(
        method_ids, keys, data, sparsities)
