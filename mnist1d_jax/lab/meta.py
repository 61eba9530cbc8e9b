"""Differentiable metalearning: unrolled inner training as one `lax.scan`, meta-gradients by
`jax.grad`, through the learning rate, an activation function, or the data generator itself.

The inner models are `models.FeedForward` MLPs as their parameter state (`init_mlp`), so that an
unrolled inner loop is a pure function of it; `mlp` applies one with any activation.

- `learn_learning_rate`: the reference's metalearn-learn-rate experiment.
- `learn_activation`: the reference's metalearn-activation-function experiment.
- `learn_augmentation`: new: the dataset's float arguments (`scale_coeff`, `corr_noise_scale`,
  `iid_noise_scale`, `shear_scale`) learned by gradient descent so that a model trained on
  freshly generated data does best on a fixed target set.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import NamedTuple

import jax
import jax.numpy as jnp
import optax
from flax import nnx

from ..args import SCALE_FIELDS, as_args, jit_seedless
from ..checks import check_integer, check_key, check_real
from ..dataset import sample_batch
from .core import batch_rows
from .inputs import check_counts, check_data, check_keys, check_learning_rate
from .models import FeedForward
from .train import accuracy, cross_entropy

__all__ = ["init_mlp", "mlp", "layer_arrays", "inner_sgd", "learn_learning_rate", "with_slope",
           "mlp_loss_and_grad", "ActivationParams", "learned_activation",
           "learned_activation_and_slope", "inner_rmsprop", "train_with_activation",
           "learn_activation", "learn_augmentation"]


# ---------------------------------------------------------------------------- small MLPs

def init_mlp(key, sizes: tuple[int, ...]) -> nnx.State:
    """The parameter state of `models.FeedForward(sizes)` initialised from `key` (PyTorch's
    `nn.Linear` initialisation)."""
    return nnx.state(FeedForward(sizes, rngs=nnx.Rngs(key)), nnx.Param)


@functools.cache
def _graphdef(layers: int):
    """The graph definition of a `models.FeedForward` of `layers` layers (any sizes)."""
    return nnx.graphdef(nnx.eval_shape(lambda: FeedForward((1,) * (layers + 1),
                                                           rngs=nnx.Rngs(0))))


def mlp(params: nnx.State, x, activation: Callable = jnp.tanh):
    """x (..., in) -> (..., out): the `init_mlp` MLP with `activation` after every layer but the
    last."""
    return nnx.merge(_graphdef(len(params["layers"])), params)(x, activation=activation)


def layer_arrays(params: nnx.State) -> list:
    """An `init_mlp` state's layers as `(kernel (in, out), bias (out,))` arrays, in order."""
    layers = nnx.to_pure_dict(params)["layers"]
    return [(layers[i]["kernel"], layers[i]["bias"]) for i in range(len(layers))]


def _with_layer_arrays(like: nnx.State, layers: list) -> nnx.State:
    """A state shaped as `like` (an `init_mlp` state) holding `layers` (`layer_arrays`)."""
    state = jax.tree.map(lambda leaf: leaf, like)
    nnx.replace_by_pure_dict(state, {"layers": {i: {"kernel": kernel, "bias": bias}
                                                for i, (kernel, bias) in enumerate(layers)}})
    return state


def _cyclic(x, y, step, batch_size: int):
    """The reference's batch of update `step` (`core.batch_rows`)."""
    rows, _ = batch_rows(step, batch_size, x.shape[0])
    return x[rows], y[rows]


# ---------------------------------------------------------------- experiment 1: learning rate

def inner_sgd(params, learning_rate, x, y, steps: int, batch_size: int, activation=jnp.tanh):
    """Plain SGD for `steps` steps on cyclic batches. Returns (final params, losses (steps,)),
    differentiable with respect to `learning_rate` and `params`."""
    def step(params, i):
        xb, yb = _cyclic(x, y, i, batch_size)
        loss, grads = jax.value_and_grad(
            lambda p: cross_entropy(mlp(p, xb, activation), yb))(params)
        return jax.tree.map(lambda p, g: p - learning_rate * g, params, grads), loss
    return jax.lax.scan(step, params, jnp.arange(steps))


class LRHistory(NamedTuple):
    """Per outer step: the learning rate used, the outer loss (mean inner loss) and the final
    inner loss; `learning_rate` has one more entry (the value after the last update)."""

    learning_rate: jax.Array
    outer_loss: jax.Array
    final_inner_loss: jax.Array


@functools.partial(jax.jit, static_argnames=("outer_steps", "inner_steps", "batch_size",
                                             "hidden"))
def _learn_learning_rate(key, data: dict, learning_rate, *, outer_steps: int, inner_steps: int,
                         batch_size: int, hidden: int, outer_learning_rate: float) -> LRHistory:
    x, y = data["x"], data["y"]

    def outer(lr, i):
        params = init_mlp(jax.random.fold_in(key, i), (x.shape[-1], hidden, 10))

        def objective(lr):
            _, losses = inner_sgd(params, lr, x, y, inner_steps, batch_size)
            return losses.mean(), losses[-1]

        (loss, last), grad = jax.value_and_grad(objective, has_aux=True)(lr)
        new = lr - outer_learning_rate * grad
        return new, (lr, loss, last)

    final, (lrs, losses, lasts) = jax.lax.scan(outer, jnp.asarray(learning_rate, x.dtype),
                                                jnp.arange(outer_steps))
    return LRHistory(jnp.concatenate([lrs, final[None]]), losses, lasts)


# ------------------------------------------------------------ experiment 2: the activation

def with_slope(activation: Callable) -> Callable:
    """An elementwise `activation` -> a function `x -> (activation(x), activation'(x))`,
    the slope by forward-mode differentiation."""
    return lambda x: jax.jvp(activation, (x,), (jnp.ones_like(x),))


def mlp_loss_and_grad(params: nnx.State, activation_and_slope: Callable, x, y):
    """Cross-entropy of `mlp(params, x)` on integer labels `y` and its gradient with respect to
    `params` (a state of the same structure), by explicit backpropagation (the same values as
    `jax.value_and_grad`).

    x: (batch, in); y: (batch,). `activation_and_slope(z) -> (value, slope)` elementwise. Writing
    the backward pass out lets a learned activation give its value and slope from one shared
    evaluation, which makes differentiating through many such steps several times cheaper.
    """
    layers = layer_arrays(params)
    inputs, slopes = [], []
    for kernel, bias in layers[:-1]:
        inputs.append(x)
        x, slope = activation_and_slope(x @ kernel + bias)
        slopes.append(slope)
    inputs.append(x)
    logits = x @ layers[-1][0] + layers[-1][1]
    delta = (jax.nn.softmax(logits) - jax.nn.one_hot(y, logits.shape[-1], dtype=logits.dtype)
             ) / logits.shape[0]
    grads = []
    for i in reversed(range(len(layers))):
        grads.append((inputs[i].T @ delta, delta.sum(0)))
        if i:
            delta = (delta @ layers[i][0].T) * slopes[i - 1]
    return cross_entropy(logits, y), _with_layer_arrays(params, grads[::-1])


GAIN = 0.2  # the learned activation is elu + GAIN * g


class ActivationParams(NamedTuple):
    """A learned activation: `elu(x) + 0.2 * g(x)`, `g` the state of a tanh MLP 1-100-1
    (`init_mlp`)."""

    g: nnx.State


def _elu_and_slopes(x):
    """elu(x), elu'(x) and elu''(x), elementwise."""
    elu = jax.nn.elu(x)
    exp = elu + 1.0  # exp(x) where x <= 0: elu's slope and curvature there
    return elu, jnp.where(x > 0, 1.0, exp), jnp.where(x > 0, 0.0, exp)


def _hidden(layers, x):
    """g's hidden layer: x (...) -> tanh(x * w_in + b_in) (..., hidden)."""
    (w_in, b_in), _ = layers
    return jnp.tanh(x[..., None] * w_in[0] + b_in)


@jax.custom_vjp
def _learned_value_and_slope(layers, x):
    (w_in, _), (w_out, b_out) = layers
    hidden = _hidden(layers, x)
    g = hidden @ w_out[:, 0] + b_out[0]
    g_slope = (1 - hidden * hidden) @ (w_in[0] * w_out[:, 0])
    elu, elu_slope, _ = _elu_and_slopes(x)
    return elu + GAIN * g, elu_slope + GAIN * g_slope


def _learned_forward(layers, x):
    return _learned_value_and_slope(layers, x), (layers, x)


def _learned_backward(residuals, cotangents):
    """The VJP of (f(x), f'(x)) written out: one recomputation of g's hidden layer h, then
    every parameter's cotangent is a contraction of h, 1 - h^2 or the hidden cotangent with
    one vector. About a fifth faster than the VJP that autodiff derives."""
    layers, x = residuals
    value_bar, slope_bar = cotangents
    (w_in, _), (w_out, _) = layers
    w_in, w_out = w_in[0], w_out[:, 0]
    hidden = _hidden(layers, x)
    one_minus_h2 = 1 - hidden * hidden
    _, elu_slope, elu_curvature = _elu_and_slopes(x)
    g_bar, g_slope_bar = GAIN * value_bar, GAIN * slope_bar
    pre_bar = (g_bar[..., None] * w_out
               - 2 * g_slope_bar[..., None] * (w_in * w_out) * hidden) * one_minus_h2
    flat = (x.size, w_in.shape[0])
    c_bar = g_slope_bar.reshape(-1) @ one_minus_h2.reshape(flat)  # cotangent of w_in * w_out
    layers_bar = [((x.reshape(-1) @ pre_bar.reshape(flat) + c_bar * w_out)[None],
                   pre_bar.reshape(flat).sum(0)),
                  ((g_bar.reshape(-1) @ hidden.reshape(flat) + c_bar * w_in)[:, None],
                   g_bar.sum()[None])]
    x_bar = pre_bar @ w_in + value_bar * elu_slope + slope_bar * elu_curvature
    return layers_bar, x_bar


_learned_value_and_slope.defvjp(_learned_forward, _learned_backward)


def learned_activation_and_slope(params: ActivationParams, x):
    """Elementwise `f(x) = elu(x) + 0.2 * g(x)`, g a tanh MLP 1-`hidden`-1, and its slope
    `f'(x)`, both from one evaluation of g's hidden layer. x: any shape -> two arrays of x's
    shape. Reverse-mode differentiable (a hand-written VJP; forward mode is not defined)."""
    return _learned_value_and_slope(layer_arrays(params.g), x)


def learned_activation(params: ActivationParams, x):
    """Elementwise `elu(x) + 0.2 * g(x)`, g a tanh MLP 1-`hidden`-1. x: any shape. Plain JAX:
    differentiable in every mode (`learned_activation_and_slope` is the fast path for
    training)."""
    return jax.nn.elu(x) + GAIN * mlp(params.g, x[..., None])[..., 0]


def _value_and_slope(activation) -> Callable:
    """`ActivationParams` or an elementwise function -> `x -> (value, slope)`."""
    if isinstance(activation, ActivationParams):
        return functools.partial(learned_activation_and_slope, activation)
    return with_slope(activation)


def inner_rmsprop(params, activation, x, y, steps: int, batch_size: int,
                  learning_rate: float = 1e-2, decay: float = 0.4):
    """RMSprop (as `torch.optim.RMSprop(lr, alpha=decay)`) for `steps` steps on cyclic batches.
    `activation`: an elementwise function or `ActivationParams`. Returns (final params,
    losses (steps,)).

    Each step is rematerialised (`jax.checkpoint`) under differentiation: the reverse pass keeps
    only the parameters and optimiser state per step, not the activations' hidden layers.
    """
    optimizer = optax.rmsprop(learning_rate, decay=decay, eps=1e-8, eps_in_sqrt=False)
    activation_and_slope = _value_and_slope(activation)

    @functools.partial(jax.checkpoint, prevent_cse=False)
    def step(carry, i):
        params, state = carry
        xb, yb = _cyclic(x, y, i, batch_size)
        loss, grads = mlp_loss_and_grad(params, activation_and_slope, xb, yb)
        updates, state = optimizer.update(grads, state, params)
        return (optax.apply_updates(params, updates), state), loss

    (params, _), losses = jax.lax.scan(step, (params, optimizer.init(params)), jnp.arange(steps))
    return params, losses


def _train_with_activation(key, activation, data: dict, steps: int, batch_size: int,
                           hidden: int):
    """The inner task of `train_with_activation` for one key: (losses (steps,), test
    accuracy)."""
    x = data["x"]
    params = init_mlp(key, (x.shape[-1], hidden, 10))
    params, losses = inner_rmsprop(params, activation, x, data["y"], steps, batch_size)
    logits = mlp(params, data["x_test"], lambda z: _value_and_slope(activation)(z)[0])
    return losses, accuracy(logits, data["y_test"])


@functools.partial(jax.jit, static_argnames=("function", "steps", "batch_size", "hidden"))
def _train_runs(keys, learned, data, function, steps: int, batch_size: int, hidden: int):
    activation = learned if function is None else function
    return jax.vmap(lambda k: _train_with_activation(k, activation, data, steps, batch_size,
                                                     hidden))(keys)


def train_with_activation(key, activation, data: dict, *, steps: int = 301,
                          batch_size: int = 100, hidden: int = 128):
    """The inner task: MLP 40-`hidden`-10 with `activation` (an elementwise function, hashable:
    it is static in the compiled run, or `ActivationParams`), RMSprop, as one compiled call.

    Args:
      key: a JAX key, or a 1-D array of S typed keys: S runs, `vmap`ped in one call.
      data: `x`, `y` (the training set), `x_test`, `y_test`.

    Returns:
      (losses (steps,), test accuracy in percent); with S keys each has a leading axis S.
    """
    keys, single = check_keys(key)
    data = check_data(data)
    counts = check_counts(steps=steps, batch_size=batch_size, hidden=hidden)
    if isinstance(activation, ActivationParams):
        learned, function = activation, None
    elif callable(activation):
        learned, function = None, activation
    else:
        raise TypeError(f"activation must be an elementwise function or meta.ActivationParams; "
                        f"got {activation!r}")
    losses, accuracies = _train_runs(keys, learned, data, function, **counts)
    return (losses[0], accuracies[0]) if single else (losses, accuracies)


class ActivationHistory(NamedTuple):
    """Per outer step: the outer loss and the test accuracy of that step's inner run;
    `params` the learned activation after the last update."""

    outer_loss: jax.Array
    test_acc: jax.Array
    params: ActivationParams


@functools.partial(jax.jit, static_argnames=("outer_steps", "inner_steps", "last"))
def _learn_activation(key, data: dict, *, outer_steps: int, inner_steps: int, last: int,
                      outer_learning_rate: float, clip: float) -> ActivationHistory:
    key_g, key_inner = jax.random.split(key)
    params = ActivationParams(init_mlp(key_g, (1, 100, 1)))
    optimizer = optax.chain(optax.clip(clip), optax.sgd(outer_learning_rate))

    def outer(carry, i):
        params, state = carry

        def objective(params):
            losses, acc = _train_with_activation(jax.random.fold_in(key_inner, i), params, data,
                                                 steps=inner_steps, batch_size=100, hidden=128)
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
def _learn_augmentation(key, args, target: dict, *, outer_steps: int, inner_steps: int,
                        batch_size: int, hidden: int, learning_rate: float,
                        outer_learning_rate: float) -> AugmentationHistory:
    def target_loss(log_scales, i):
        scaled = args.replace(**dict(zip(SCALE_FIELDS, jnp.exp(log_scales))))
        params = init_mlp(jax.random.fold_in(key, 2 * i), (target["x"].shape[-1], hidden, 10))
        inner = optax.adam(learning_rate)
        stream = jax.random.fold_in(key, 2 * i + 1)

        def step(carry, j):
            params, state = carry
            batch = sample_batch(jax.random.fold_in(stream, j), scaled, batch_size)
            grads = jax.grad(lambda p: cross_entropy(mlp(p, batch["x"], jax.nn.relu),
                                                     batch["y"]))(params)
            updates, state = inner.update(grads, state, params)
            return (optax.apply_updates(params, updates), state), None

        (params, _), _ = jax.lax.scan(step, (params, inner.init(params)), jnp.arange(inner_steps))
        return cross_entropy(mlp(params, target["x"], jax.nn.relu), target["y"])

    outer = optax.adam(outer_learning_rate)

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
                        outer_learning_rate: float = 0.3) -> LRHistory:
    """The reference's experiment: an MLP 40-`hidden`-10 (tanh) trained by SGD for
    `inner_steps` steps on cyclic batches of `data["x"]`; the outer loss is the mean inner
    training loss; the learning rate follows outer SGD on its meta-gradient. Every outer step
    starts from a fresh initialisation (`fold_in(key, step)`). The whole run is one compiled call.
    Every argument is checked first (`inputs`).
    """
    check_data(data, ("x", "y"))
    return _learn_learning_rate(
        check_key(key), data, check_learning_rate(learning_rate),
        **check_counts(outer_steps=outer_steps, inner_steps=inner_steps, batch_size=batch_size,
                       hidden=hidden),
        outer_learning_rate=check_learning_rate(outer_learning_rate, "outer_learning_rate"))


def learn_activation(key, data: dict, *, outer_steps: int = 40, inner_steps: int = 301,
                     last: int = 200, outer_learning_rate: float = 0.3,
                     clip: float = 0.1) -> ActivationHistory:
    """The reference's experiment: the activation `elu + 0.2 * g` (g a tanh MLP 1-100-1) of an
    MLP 40-128-10 trained by RMSprop for `inner_steps`; the outer loss is the mean of the last
    `last` inner losses; g follows outer SGD with the meta-gradient clipped to +-`clip`. Every
    argument is checked first (`inputs`)."""
    check_data(data)
    counts = check_counts(outer_steps=outer_steps, inner_steps=inner_steps)
    return _learn_activation(
        check_key(key), data, **counts,
        last=check_integer(last, "last", 1, counts["inner_steps"]),
        outer_learning_rate=check_learning_rate(outer_learning_rate, "outer_learning_rate"),
        clip=check_real(clip, "clip", 0.0, 1e3, low_open=True))


def learn_augmentation(key, args, target: dict, *, outer_steps: int = 30,
                       inner_steps: int = 100, batch_size: int = 100, hidden: int = 100,
                       learning_rate: float = 1e-2,
                       outer_learning_rate: float = 0.05) -> AugmentationHistory:
    """Learn the generator's four float arguments by gradient descent on a target set.

    An MLP 40-`hidden`-10 (ReLU) is trained by Adam for `inner_steps` steps, each on a fresh
    `sample_batch` drawn with the current scales (the draws are reparameterised: the scales
    enter the signals smoothly, so the batch is differentiable with respect to them). The outer
    loss is that model's cross-entropy on `target` (`x`, `y`). The scales are updated by Adam on
    their logarithms (so they stay positive) with step `outer_learning_rate`.
    Every argument is checked first (`inputs`).
    """
    check_data(target, ("x", "y"), "target")
    return _learn_augmentation(
        check_key(key), as_args(args), target,
        **check_counts(outer_steps=outer_steps, inner_steps=inner_steps, batch_size=batch_size,
                       hidden=hidden),
        learning_rate=check_learning_rate(learning_rate),
        outer_learning_rate=check_learning_rate(outer_learning_rate, "outer_learning_rate"))
