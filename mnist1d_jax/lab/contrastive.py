"""Self-supervised contrastive learning (the reference's `self-supervised-learning.ipynb`,
SimCLR), compiled, with views that only a generator can make.

- `augment`: the reference's augmentation of signals x (n, F): remove each row's offset and
  linear trend, shift circularly by up to `maxshift - 1` positions, add a random slope and offset.
- `generator_views`: the two positives of a pair made by the generator itself: the same class
  (so the same template) through two independent sets of draws (padding, scale, shift, noise,
  shear): exactly the invariances the dataset was built with.
- The model is the reference's SimCLR model, `nn.SimCLR`, as its parameter state (`nn.init`,
  `nn.apply`; its layers' features by `method="features"`): three convolutions of 25 channels
  (kernels 5, 3, 3, stride 2, padding 1; 125 features) and a projector 125 -> 125 (ReLU) -> 16.
- `info_nce`: the reference's loss (half-batch repulsion, temperature 0.5).
- `train`: Adam (0.01), batches of 100, every epoch a fresh permutation of the training set
  (`training.batch_rows`): one compiled scan over all updates (`training.fit_steps`). Views:
  "augment" (the reference's), "generator", or "both" (generator views, then augmented).
- `knn_probe`, `linear_probe`: accuracy of a k-nearest-neighbour vote (k = 10; cosine or
  Euclidean) and of a logistic-regression probe (standardised features, L2 as scikit-learn's
  default C = 1) fitted on the training set's features, on the test set's.
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np
import optax

from .. import recipe
from ..args import as_args, jit_seedless
from ..checks import check_integer
from ..draws import draw
from ..templates import check_templates
from .nn import SimCLR, apply, init
from .parallel import cpu, placement
from .training import (
    batch_rows,
    check_counts,
    check_data,
    check_hyperparameter,
    check_keys,
    check_learning_rate,
    fit_steps,
    one_or_many,
    optimizer,
    over_runs,
)

__all__ = ["VIEWS", "augment", "generator_views", "info_nce", "knn_probe", "linear_probe", "train"]

VIEWS = ("augment", "generator", "both")


def _ramp(length: int):
    return jnp.arange(length, dtype=jnp.float32) - (length - 1) / 2


def augment(key, x, offsets_std: float = 0.3, slopes_std: float = 0.04, maxshift: int = 10):
    """The reference's `augment(x, maxshift=10)` for x (n, F), from `key`: (n, F).

    Every row's shift, slope and offset come from one `jax.random.uniform` call (the normals as
    `jax.random.normal` makes them from its uniforms): random numbers are slow to compile on
    CPUs, so the training step has few places that draw them."""
    n, length = x.shape
    t = _ramp(length)
    slopes = (x * t).sum(1, keepdims=True) / (t * t).sum()
    centred = x - x.mean(1, keepdims=True) - slopes * t
    u = jax.random.uniform(key, (3, n, 1), minval=np.nextafter(np.float32(-1), np.float32(0)))
    shifts = jnp.minimum(((u[0] + 1) * (maxshift / 2)).astype(jnp.int32), maxshift - 1)
    normals = np.sqrt(2).astype(np.float32) * jax.scipy.special.erfinv(u[1:])
    rolled = jnp.take_along_axis(centred, (jnp.arange(length) - shifts) % length, axis=1)
    return rolled + slopes_std * normals[0] * t + offsets_std * normals[1]


def generator_views(key, args, n: int, templates=None):
    """Two views of `n` generated examples: example `i` has a uniformly random class (from
    `fold_in(key, i)`) and two independent sets of draws for it. Normalised as `sample_batch`.
    `templates`: the template set (default the reference's ten).

    Returns (x1 (n, F), x2 (n, F), y (n,) int32)."""
    args = as_args(args)
    return _views(key, args, n, recipe.prepare(args, check_templates(templates), jnp.float32))


def _views(key, args, n: int, source: recipe.Source):
    """`generator_views` from a prepared `recipe.Source` (inside compiled programs)."""
    index = jnp.arange(n, dtype=jnp.uint32)
    x1, labels, _, _ = recipe.stream_examples(key, index, None, args, jnp.float32, source)
    second = jax.vmap(lambda i: draw(jax.random.fold_in(jax.random.fold_in(key, i), 1), args))(
        index)
    x2 = recipe.examples(second, labels, args, jnp.float32, source.bank)
    mean, scale = recipe.population_mean_and_scale(args, source, jnp.float32)
    return recipe.normalise(x1, mean, scale), recipe.normalise(x2, mean, scale), labels


def info_nce(z1, z2, tau: float = 0.5):
    """The reference's InfoNCE: rows normalised, scores `z1 @ z2.T / tau`, mean over rows of
    `-score[i, i] + log sum_j exp(score[i, j])`."""
    o1 = z1 / jnp.maximum(jnp.linalg.norm(z1, axis=1, keepdims=True), 1e-12)
    o2 = z2 / jnp.maximum(jnp.linalg.norm(z2, axis=1, keepdims=True), 1e-12)
    scores = o1 @ o2.T / tau
    return jnp.mean(-jnp.diag(scores) + jax.nn.logsumexp(scores, axis=1))


_STATIC = ("views", "epochs", "batch_size", "maxshift")
"""`_train_program`'s static arguments; its rates (`learning_rate`, `tau`) are traced: one
program serves every value."""


@functools.partial(jit_seedless, static_argnames=_STATIC)
def _train_program(key, x, args, source, learning_rate, tau, *, views: str, epochs: int,
                   batch_size: int, maxshift: int):
    k_init, k_run = jax.random.split(key)
    params = init(SimCLR, k_init, input_size=x.shape[1])
    adam = optimizer("adam", learning_rate)
    per_epoch = x.shape[0] // batch_size
    k_steps = jax.random.fold_in(k_run, 2**31)

    def batch_fn(i):  # the pair of views of update i: (2 batch_size, F)
        k = jax.random.fold_in(k_steps, i)
        if views == "augment":  # a fresh order of the training set each epoch, as the reference
            rows, _ = batch_rows(i, batch_size, x.shape[0], "epochs", k_run, drop_last=True)
            pair = jnp.concatenate([x[rows], x[rows]])
        else:
            x1, x2, _ = _views(k, args, batch_size, source)
            pair = jnp.concatenate([x1, x2])
        if views != "generator":  # both views augmented independently, in one call
            pair = augment(jax.random.fold_in(k, 1), pair, maxshift=maxshift)
        return pair

    def loss_fn(params, pair):  # both views through the model as one batch
        z = apply(SimCLR, params, pair)
        return info_nce(z[:batch_size], z[batch_size:], tau)

    (params, _), (losses, _) = fit_steps(loss_fn, adam, batch_fn, params, adam.init(params),
                                         jnp.arange(epochs * per_epoch))
    return params, losses.reshape(epochs, per_epoch).mean(1)


@functools.partial(jit_seedless, static_argnames=_STATIC)
def _train_runs(keys, x, args, source, learning_rate, tau, **static):
    """`_train_program` for every key of keys (R,), `vmap`ped: one program for a mesh."""
    return over_runs(lambda k: _train_program.__wrapped__(k, x, args, source, learning_rate,
                                                          tau, **static), keys)


def train(key, data: dict, *, views: str = "augment", args=None, templates=None,
          epochs: int = 200, batch_size: int = 100, learning_rate: float = 0.01, tau: float = 0.5,
          maxshift: int = 10, mesh=None):
    """Contrastive training of the reference's SimCLR model (one compiled scan per run).

    Args:
      key: a JAX key (`jax.random.key` or `jax.random.PRNGKey`), or a 1-D array of S keys (one
        run per key: seeds). The runs share one compiled program and execute side by side, one
        per CPU core (`cpu.run_all`).
      data: `x` (n, F): the training signals ("augment" and the epochs' length use them).
      views: "augment" (the reference's), "generator" (`generator_views` of `args`), "both".
      args: the generator's arguments for generated views (default: the defaults).
      templates: the generator's template set for generated views (default the reference's).
      mesh: a `jax.sharding.Mesh`: the runs `vmap`ped in one program, spread over all its
        devices (padded to a multiple of their number; `runs`), data replicated; it may span
        processes under `jax.distributed`. Default: one program per key, side by side.

    Returns:
      (params, loss per epoch (epochs,)) as NumPy; with S keys every leaf has a leading axis S.
    """
    if views not in VIEWS:
        raise ValueError(f"views must be one of {VIEWS}; got {views!r}")
    keys, single = check_keys(key)
    x = check_data(data, ("x",))["x"]
    args = as_args(args)
    source = recipe.prepare(args, check_templates(templates), jnp.float32)
    if views != "augment" and source.grid.shape[0] != x.shape[1]:
        raise ValueError(f"data['x'] has {x.shape[1]} points but args.final_seq_length is "
                         f"{args.final_seq_length}: generated views must have the data's length")
    static = dict(views=views, **check_counts(epochs=epochs),
                  batch_size=check_integer(batch_size, "batch_size", 2, x.shape[0]),
                  maxshift=check_integer(maxshift, "maxshift", 0, x.shape[1]))
    rates = (check_learning_rate(learning_rate),
             check_hyperparameter(tau, "tau", 0.0, 1e3, low_open=True))
    mesh = placement.check_mesh(mesh)
    if mesh is not None:
        padded = placement.padded_runs(len(keys), mesh)
        out = placement.gather(_train_runs(placement.place(keys[padded], mesh),
                                           placement.place(x, mesh, False), args, source, *rates,
                                           **static))
        out = jax.tree.map(lambda leaf: leaf[:len(keys)], out)
        return one_or_many(out, single)
    program = cpu.compile_lowered(_train_program.lower(keys[0], x, args, source, *rates,
                                                       **static))
    results = cpu.run_all(lambda k, stop: jax.device_get(program(k, x, args, source, *rates)),
                          list(keys))
    if single:
        return results[0]
    return jax.tree.map(lambda *leaves: np.stack(leaves), *results)


def knn_probe(train_features, train_labels, test_features, test_labels, k: int = 10,
              metric: str = "cosine") -> float:
    """Test accuracy (%) of a k-nearest-neighbour majority vote (NumPy), by cosine similarity
    (the reference's probe of learned features) or Euclidean distance (its pixel-space probe)."""
    a, b = np.asarray(test_features, np.float64), np.asarray(train_features, np.float64)
    if metric == "cosine":
        a = a / np.maximum(np.linalg.norm(a, axis=1, keepdims=True), 1e-12)
        b = b / np.maximum(np.linalg.norm(b, axis=1, keepdims=True), 1e-12)
        distance = -a @ b.T
    elif metric == "euclidean":
        distance = (a * a).sum(1)[:, None] - 2 * a @ b.T + (b * b).sum(1)[None]
    else:
        raise ValueError(f"metric must be 'cosine' or 'euclidean'; got {metric!r}")
    nearest = np.argsort(distance, axis=1, kind="stable")[:, :k]
    votes = np.asarray(train_labels)[nearest]
    predicted = np.array([np.bincount(row, minlength=10).argmax() for row in votes])
    return float(100 * np.mean(predicted == np.asarray(test_labels)))


def linear_probe(train_features, train_labels, test_features, test_labels, c: float = 1.0,
                 iterations: int = 300) -> float:
    """Test accuracy (%) of multinomial logistic regression on standardised features with
    scikit-learn's default penalty (`C * sum of log-losses + |W|^2 / 2`), fitted by L-BFGS."""
    mean, std = train_features.mean(0), train_features.std(0)
    std = np.where(std > 0, std, 1.0)
    xs = jnp.asarray((train_features - mean) / std, jnp.float32)
    xt = jnp.asarray((test_features - mean) / std, jnp.float32)
    classes = int(max(np.max(train_labels), np.max(test_labels))) + 1
    params = _fit_logistic(xs, jnp.asarray(train_labels), c, iterations, max(classes, 10))
    predicted = np.asarray(jnp.argmax(xt @ params["w"] + params["b"], 1))
    return float(100 * np.mean(predicted == np.asarray(test_labels)))


@functools.partial(jax.jit, static_argnames=("iterations", "classes"))
def _fit_logistic(xs, y, c, iterations: int, classes: int = 10) -> dict:
    """Weights (F, classes) and bias of multinomial logistic regression on xs (n, F), labels y
    (n,) in [0, classes):
    `iterations` L-BFGS steps on `(c * sum of log-losses + |W|^2 / 2) / n`. Compiled once per
    feature shape."""
    def objective(params):
        logits = xs @ params["w"] + params["b"]
        data_term = optax.softmax_cross_entropy_with_integer_labels(logits, y).sum()
        return (c * data_term + 0.5 * jnp.sum(params["w"] ** 2)) / xs.shape[0]

    solver = optax.lbfgs()
    value_and_grad = optax.value_and_grad_from_state(objective)

    def step(carry, _):
        params, state = carry
        value, grad = value_and_grad(params, state=state)
        updates, state = solver.update(grad, state, params, value=value, grad=grad,
                                       value_fn=objective)
        return (optax.apply_updates(params, updates), state), None

    params = {"w": jnp.zeros((xs.shape[1], classes)), "b": jnp.zeros(classes)}
    (params, _), _ = jax.lax.scan(step, (params, solver.init(params)), None, length=iterations)
    return params
