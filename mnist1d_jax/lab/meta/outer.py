"""Differentiable metalearning: unrolled inner training as one `lax.scan`, meta-gradients by
`jax.grad`, through the learning rate, an activation function, or the data generator itself.

The inner loops are in `inner` (SGD, explicit backpropagation) and `activation` (the learned
activation, RMSprop with it); the inner models are `nn.FeedForward` parameter states.

- `learn_learning_rate`: the reference's metalearn-learn-rate experiment.
- `learn_activation`: the reference's metalearn-activation-function experiment.
- `learn_augmentation`: new: the dataset's float arguments (`scale_coeff`, `corr_noise_scale`,
  `iid_noise_scale`, `shear_scale`) learned by gradient descent so that a model trained on
  freshly generated data does best on a fixed target set.
"""

from __future__ import annotations

import functools
from typing import NamedTuple

import jax
import jax.numpy as jnp
import optax

from ...args import NUM_CLASSES, SCALE_FIELDS, as_args, jit_seedless
from ...checks import check_integer, check_key, check_real
from ...dataset import sample_batch
from ...templates import check_templates
from .. import training
from ..nn import FeedForward, apply, init
from ..training import (
    accuracy,
    check_counts,
    check_data,
    check_keys,
    check_learning_rate,
    cross_entropy,
    data_classes,
    one_or_many,
    over_runs,
)
from .activation import (
    ActivationParams,
    inner_rmsprop,
    noisy_call,
)
from .inner import inner_sgd, mlp_logits

__all__ = ["ActivationHistory", "AugmentationHistory", "LRHistory", "learn_activation",
           "learn_augmentation", "learn_learning_rate", "train_with_activation"]


class LRHistory(NamedTuple):
    """Per outer step: the learning rate used, the outer loss (mean inner loss) and the final
    inner loss; `learning_rate` has one more entry (the value after the last update)."""

    learning_rate: jax.Array
    outer_loss: jax.Array
    final_inner_loss: jax.Array


@functools.partial(jax.jit, static_argnames=("outer_steps", "inner_steps", "batch_size",
                                             "hidden", "classes", "redraw"))
def _learn_learning_rate(key, data: dict, learning_rate, *, outer_steps: int, inner_steps: int,
                         batch_size: int, hidden: int, outer_learning_rate: float, redraw: bool,
                         classes: int = NUM_CLASSES) -> LRHistory:
    x, y = data["x"], data["y"]

    def outer(lr, i):
        params = init(FeedForward, jax.random.fold_in(key, i) if redraw else key,
                      sizes=(x.shape[-1], hidden, classes))

        def objective(lr):
            _, losses = inner_sgd(params, lr, x, y, inner_steps, batch_size)
            return losses.mean(), losses[-1]

        (loss, last), grad = jax.value_and_grad(objective, has_aux=True)(lr)
        new = lr - outer_learning_rate * grad
        return new, (lr, loss, last)

    final, (lrs, losses, lasts) = jax.lax.scan(outer, jnp.asarray(learning_rate, x.dtype),
                                               jnp.arange(outer_steps))
    return LRHistory(jnp.concatenate([lrs, final[None]]), losses, lasts)


def _train_with_activation(key, activation, data: dict, steps: int, batch_size: int,
                           hidden: int, classes: int, noise_scale):
    """The inner task of `train_with_activation` for one key: (losses (steps,), test
    accuracy). The hidden noise of update i is drawn from `fold_in(noise_key, i)`, the test
    pass's from `fold_in(noise_key, steps)`."""
    x = data["x"]
    init_key, noise_key = jax.random.split(key)
    params = init(FeedForward, init_key, sizes=(x.shape[-1], hidden, classes))
    params, losses = inner_rmsprop(params, activation, x, data["y"], steps, batch_size,
                                   noise_key=noise_key, noise_scale=noise_scale)
    noise, function = noisy_call(activation, jax.random.fold_in(noise_key, steps), params,
                                 noise_scale)
    logits = mlp_logits(params, function, data["x_test"], noise)
    return losses, accuracy(logits, data["y_test"])


@functools.partial(jax.jit, static_argnames=("function", "steps", "batch_size", "hidden",
                                             "classes"))
def _train_runs(keys, learned, data, function, steps: int, batch_size: int, hidden: int,
                classes: int, noise_scale):
    activation = learned if function is None else function
    return over_runs(lambda k: _train_with_activation(k, activation, data, steps, batch_size,
                                                      hidden, classes, noise_scale), keys)


def train_with_activation(key, activation, data: dict, *, steps: int = 301,
                          batch_size: int = 100, hidden: int = 128,
                          hidden_noise: float = 0.1):
    """The inner task: MLP 40-`hidden`-10 with `activation` (an elementwise function, hashable:
    it is static in the compiled run, or `ActivationParams`), RMSprop (`inner_rmsprop`), with
    `hidden_noise * U(-1, 1)` added to the hidden units in every training step and in the test
    pass, as the reference's notebook does; as one compiled call.

    Args:
      key: a JAX key, or a 1-D array of S typed keys: S runs, `vmap`ped in one call.
      data: `x`, `y` (the training set), `x_test`, `y_test`.

    Returns:
      (losses (steps,), test accuracy in percent); with S keys each has a leading axis S.
    """
    keys, single = check_keys(key)
    classes = data_classes(data)
    data = check_data(data)
    counts = check_counts(steps=steps, batch_size=batch_size, hidden=hidden)
    noise_scale = check_real(hidden_noise, "hidden_noise", 0.0, 1e3)
    if isinstance(activation, ActivationParams):
        learned, function = activation, None
    elif callable(activation):
        learned, function = None, activation
    else:
        raise TypeError(f"activation must be an elementwise function or meta.ActivationParams; "
                        f"got {activation!r}")
    return one_or_many(_train_runs(keys, learned, data, function, **counts, classes=classes,
                                   noise_scale=noise_scale), single)


class ActivationHistory(NamedTuple):
    """Per outer step: the outer loss and the test accuracy of that step's inner run;
    `params` the learned activation after the last update."""

    outer_loss: jax.Array
    test_acc: jax.Array
    params: ActivationParams


@functools.partial(jax.jit, static_argnames=("outer_steps", "inner_steps", "last", "classes",
                                             "redraw"))
def _learn_activation(key, data: dict, *, outer_steps: int, inner_steps: int, last: int,
                      outer_learning_rate: float, clip: float, noise_scale, redraw: bool,
                      classes: int = NUM_CLASSES) -> ActivationHistory:
    key_g, key_inner = jax.random.split(key)
    params = ActivationParams(init(FeedForward, key_g, sizes=(1, 100, 1)))
    optimizer = optax.chain(optax.clip(clip), training.optimizer("sgd", outer_learning_rate))

    def outer(carry, i):
        params, state = carry

        def objective(params):
            inner_key = jax.random.fold_in(key_inner, i) if redraw else key_inner
            losses, acc = _train_with_activation(inner_key, params, data, steps=inner_steps,
                                                 batch_size=100, hidden=128, classes=classes,
                                                 noise_scale=noise_scale)
            return losses[-last:].mean(), acc

        (loss, acc), grads = jax.value_and_grad(objective, has_aux=True)(params)
        updates, state = optimizer.update(grads, state, params)
        return (optax.apply_updates(params, updates), state), (loss, acc)

    (params, _), (losses, accs) = jax.lax.scan(outer, (params, optimizer.init(params)),
                                               jnp.arange(outer_steps))
    return ActivationHistory(losses, accs, params)


# ---------------------------------------------------------------- experiment 3: the data

class AugmentationHistory(NamedTuple):
    """Per outer step: the four scales used (`SCALE_FIELDS` order) and the target loss."""

    scales: jax.Array
    target_loss: jax.Array


@functools.partial(jit_seedless, static_argnames=("outer_steps", "inner_steps", "batch_size",
                                                  "hidden"))
def _learn_augmentation(key, args, target: dict, templates, *, outer_steps: int,
                        inner_steps: int, batch_size: int, hidden: int, learning_rate: float,
                        outer_learning_rate: float) -> AugmentationHistory:
    classes = NUM_CLASSES if templates is None else templates["x"].shape[0]

    def target_loss(log_scales, i):
        scaled = args.replace(**dict(zip(SCALE_FIELDS, jnp.exp(log_scales))))
        params = init(FeedForward, jax.random.fold_in(key, 2 * i),
                      sizes=(target["x"].shape[-1], hidden, classes))
        inner = training.optimizer("adam", learning_rate)
        stream = jax.random.fold_in(key, 2 * i + 1)

        def step(carry, j):
            params, state = carry
            batch = sample_batch(jax.random.fold_in(stream, j), scaled, batch_size,
                                 templates=templates)
            grads = jax.grad(lambda p: cross_entropy(apply(FeedForward, p, batch["x"]),
                                                     batch["y"]))(params)
            updates, state = inner.update(grads, state, params)
            return (optax.apply_updates(params, updates), state), None

        (params, _), _ = jax.lax.scan(step, (params, inner.init(params)), jnp.arange(inner_steps))
        return cross_entropy(apply(FeedForward, params, target["x"]), target["y"])  # ReLU

    outer = training.optimizer("adam", outer_learning_rate)

    def outer_step(carry, i):
        log_scales, state = carry
        loss, grad = jax.value_and_grad(target_loss)(log_scales, i)
        updates, state = outer.update(grad, state, log_scales)
        return (optax.apply_updates(log_scales, updates), state), (jnp.exp(log_scales), loss)

    start = jnp.log(jnp.asarray([getattr(args, f) for f in SCALE_FIELDS], jnp.float32))
    _, (scales, losses) = jax.lax.scan(outer_step, (start, outer.init(start)),
                                       jnp.arange(outer_steps))
    return AugmentationHistory(scales, losses)


# ---------------------------------------------------------------- checked entry points

def learn_learning_rate(key, data: dict, learning_rate, *, outer_steps: int = 50,
                        inner_steps: int = 200, batch_size: int = 50, hidden: int = 50,
                        outer_learning_rate: float = 0.3, redraw: bool = False) -> LRHistory:
    """The reference's experiment: an MLP 40-`hidden`-10 (tanh) trained by SGD for
    `inner_steps` steps on cyclic batches of `data["x"]`; the outer loss is the mean inner
    training loss; the learning rate follows outer SGD on its meta-gradient. `redraw=False`
    (the reference: it initialises its MLP once) starts every outer step from the same initial
    weights (drawn from `key`); `redraw=True` from fresh ones (`fold_in(key, step)`). The whole
    run is one compiled call. Every argument is checked first (`checks`).
    """
    classes = data_classes(data)
    check_data(data, ("x", "y"))
    return _learn_learning_rate(
        check_key(key), data, check_learning_rate(learning_rate),
        **check_counts(outer_steps=outer_steps, inner_steps=inner_steps, batch_size=batch_size,
                       hidden=hidden),
        outer_learning_rate=check_learning_rate(outer_learning_rate, "outer_learning_rate"),
        redraw=bool(redraw), classes=classes)


def learn_activation(key, data: dict, *, outer_steps: int = 301, inner_steps: int = 301,
                     last: int = 200, outer_learning_rate: float = 0.3, clip: float = 0.1,
                     hidden_noise: float = 0.1, redraw: bool = False) -> ActivationHistory:
    """The reference's experiment: the activation `elu + 0.2 * g` (g a tanh MLP 1-100-1) of an
    MLP 40-128-10 trained by RMSprop for `inner_steps` (`train_with_activation`, its hidden
    units perturbed by `hidden_noise * U(-1, 1)`); the outer loss is the mean of the last `last`
    inner losses; g follows outer SGD with the meta-gradient clipped to +-`clip`.

    `redraw=False` (the reference, which reseeds its generator inside every inner run) trains
    every outer step from the same initial weights and noise; `redraw=True` draws them afresh
    per outer step (`fold_in(key, step)`). Every argument is checked first (`checks`)."""
    classes = data_classes(data)
    check_data(data)
    counts = check_counts(outer_steps=outer_steps, inner_steps=inner_steps)
    return _learn_activation(
        check_key(key), data, **counts, classes=classes,
        last=check_integer(last, "last", 1, counts["inner_steps"]),
        outer_learning_rate=check_learning_rate(outer_learning_rate, "outer_learning_rate"),
        clip=check_real(clip, "clip", 0.0, 1e3, low_open=True),
        noise_scale=check_real(hidden_noise, "hidden_noise", 0.0, 1e3), redraw=bool(redraw))


def learn_augmentation(key, args, target: dict, *, outer_steps: int = 30,
                       inner_steps: int = 100, batch_size: int = 100, hidden: int = 100,
                       learning_rate: float = 1e-2, outer_learning_rate: float = 0.05,
                       templates=None) -> AugmentationHistory:
    """Learn the generator's four float arguments by gradient descent on a target set.

    An MLP 40-`hidden`-10 (ReLU) is trained by Adam for `inner_steps` steps, each on a fresh
    `sample_batch` drawn with the current scales (the draws are reparameterised: the scales
    enter the signals smoothly, so the batch is differentiable with respect to them). The outer
    loss is that model's cross-entropy on `target` (`x`, `y`). The scales are updated by Adam on
    their logarithms (so they stay positive) with step `outer_learning_rate`. `templates`: the
    generator's template set (default the reference's ten), whose classes the target's labels
    must be. Every argument is checked first (`inputs`).
    """
    args = as_args(args)
    checked = check_templates(templates)
    if data_classes(target) > len(checked["x"]) or (
            "templates" in target and data_classes(target) != len(checked["x"])):
        raise ValueError(f"target has {data_classes(target)} classes but the templates "
                         f"{len(checked['x'])}: give the templates that made it")
    target = check_data(target, ("x", "y"), "target")
    if target["x"].shape[1] != args.final_seq_length:
        raise ValueError(f"target['x'] has {target['x'].shape[1]} points but "
                         f"args.final_seq_length is {args.final_seq_length}")
    templates = None if templates is None else {k: checked[k] for k in ("x", "t")}
    return _learn_augmentation(
        check_key(key), args, target, templates,
        **check_counts(outer_steps=outer_steps, inner_steps=inner_steps, batch_size=batch_size,
                       hidden=hidden),
        learning_rate=check_learning_rate(learning_rate),
        outer_learning_rate=check_learning_rate(outer_learning_rate, "outer_learning_rate"))
