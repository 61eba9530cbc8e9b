"""The paper's four models in Flax NNX, with the reference's architectures and initialisation.

The reference (`notebooks/models.py` of greydanus/mnist1d) is PyTorch; these match its layer sizes,
parameter counts (410, 15210, 5210 and 5134 with default sizes) and PyTorch's default
initialisation (weights and biases uniform on +-1/sqrt(fan_in); GRU weights on +-1/sqrt(hidden)).

Every model maps signals `x` (batch, length) to logits (batch, num_classes) and is built as
`Model(rngs=nnx.Rngs(seed))`, sizes as keyword arguments.
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
from flax import nnx

__all__ = ["Linear", "MLP", "CNN", "GRU", "GRUCell", "torch_linear", "MODELS"]


def uniform(bound: float):
    """An initializer drawing uniformly from [-bound, bound)."""
    def init(key, shape, dtype=jnp.float32):
        return jax.random.uniform(key, shape, dtype, -bound, bound)
    return init


def torch_init(fan_in: int) -> dict:
    """PyTorch's default `Linear`/`Conv1d` initialisation for a layer with this fan-in."""
    bound = 1 / math.sqrt(fan_in)
    return {"kernel_init": uniform(bound), "bias_init": uniform(bound)}


def torch_linear(in_features: int, out_features: int, *, rngs: nnx.Rngs) -> nnx.Linear:
    """`nnx.Linear` initialised as `torch.nn.Linear`."""
    return nnx.Linear(in_features, out_features, **torch_init(in_features), rngs=rngs)


class Conv1d(nnx.Module):
    """`torch.nn.Conv1d(in, out, kernel_size, stride=2, padding=1)`, channels-last (`conv1d`)."""

    def __init__(self, in_features: int, out_features: int, kernel_size: int, *,
                 rngs: nnx.Rngs):
        init = uniform(1 / math.sqrt(in_features * kernel_size))
        self.kernel = nnx.Param(init(rngs.params(), (kernel_size, in_features, out_features)))
        self.bias = nnx.Param(init(rngs.params(), (out_features,)))

    def __call__(self, x):
        """x: (batch, length, in_features) -> (batch, conv_output_length, out_features)."""
        return conv1d(x, self.kernel[...], self.bias[...])


def conv1d(x, kernel, bias, stride: int = 2):
    """`torch.nn.functional.conv1d(..., stride, padding=1)`, channels-last, as one matrix
    product over extracted patches (static strided slices): on CPUs XLA runs this several times
    faster than a general convolution, forward and backward.

    x: (batch, length, in), kernel: (size, in, out), bias: (out,) -> (batch, length', out) with
    `length' = (length + 2 - size) // stride + 1`.
    """
    size, features, _ = kernel.shape
    length = conv_output_length(x.shape[1], size, stride)
    padded = jnp.pad(x, ((0, 0), (1, 1), (0, 0)))
    patches = jnp.concatenate(
        [padded[:, j:j + stride * (length - 1) + 1:stride] for j in range(size)], -1)
    return patches @ kernel.reshape(size * features, -1) + bias


def conv_output_length(length: int, kernel_size: int, stride: int = 2) -> int:
    """Length after a padding-1 convolution."""
    return (length + 2 - kernel_size) // stride + 1


class Linear(nnx.Module):
    """Logistic regression: one linear layer, input_size -> num_classes (410 parameters)."""

    def __init__(self, input_size: int = 40, num_classes: int = 10, *, rngs: nnx.Rngs):
        self.linear = torch_linear(input_size, num_classes, rngs=rngs)

    def __call__(self, x):
        """x: (batch, input_size) -> logits (batch, num_classes)."""
        return self.linear(x)


class MLP(nnx.Module):
    """input -> hidden -> hidden (residual) -> classes with ReLU (15210 parameters)."""

    def __init__(self, input_size: int = 40, num_classes: int = 10, hidden_size: int = 100, *,
                 rngs: nnx.Rngs):
        self.linear1 = torch_linear(input_size, hidden_size, rngs=rngs)
        self.linear2 = torch_linear(hidden_size, hidden_size, rngs=rngs)
        self.linear3 = torch_linear(hidden_size, num_classes, rngs=rngs)

    def __call__(self, x):
        """x: (batch, input_size) -> logits (batch, num_classes)."""
        h = jax.nn.relu(self.linear1(x))
        h = h + jax.nn.relu(self.linear2(h))
        return self.linear3(h)


class CNN(nnx.Module):
    """Three stride-2 convolutions (kernels 5, 3, 3; padding 1; ReLU) and a linear read-out over
    the flattened features (5210 parameters for length 40 and 25 channels)."""

    def __init__(self, input_size: int = 40, num_classes: int = 10, channels: int = 25, *,
                 rngs: nnx.Rngs):
        self.conv1 = Conv1d(1, channels, 5, rngs=rngs)
        self.conv2 = Conv1d(channels, channels, 3, rngs=rngs)
        self.conv3 = Conv1d(channels, channels, 3, rngs=rngs)
        length = conv_output_length(conv_output_length(conv_output_length(input_size, 5), 3), 3)
        self.linear = torch_linear(channels * length, num_classes, rngs=rngs)

    def __call__(self, x):
        """x: (batch, input_size) -> logits (batch, num_classes)."""
        h = x[..., None]  # (batch, length, 1 channel): NNX convolutions are channels-last
        for conv in (self.conv1, self.conv2, self.conv3):
            h = jax.nn.relu(conv(h))
        return self.linear(h.reshape(h.shape[0], -1))


def gru_gates(gi, gh, h):
    """One GRU update from the input projections gi = (gi_r, gi_z, gi_n), the hidden projection
    gh (..., 3h) and the state h (..., h): r = sigmoid(gi_r + gh_r), z = sigmoid(gi_z + gh_z),
    n = tanh(gi_n + r * gh_n), h' = (1 - z) * n + z * h (PyTorch's gate order and equations)."""
    r_i, z_i, n_i = gi
    r_h, z_h, n_h = jnp.split(gh, 3, axis=-1)
    r, z = jax.nn.sigmoid(r_i + r_h), jax.nn.sigmoid(z_i + z_h)
    return (1 - z) * jnp.tanh(n_i + r * n_h) + z * h


class GRUCell(nnx.Module):
    """`torch.nn.GRU`'s parameters for one direction: W_ih (in, 3h), W_hh (h, 3h), b_ih, b_hh,
    3h(in + h + 2) numbers, uniform on +-1/sqrt(h) as PyTorch draws them."""

    def __init__(self, input_size: int, hidden_size: int, *, rngs: nnx.Rngs):
        init = uniform(1 / math.sqrt(hidden_size))
        self.w_ih = nnx.Param(init(rngs.params(), (input_size, 3 * hidden_size)))
        self.w_hh = nnx.Param(init(rngs.params(), (hidden_size, 3 * hidden_size)))
        self.b_ih = nnx.Param(init(rngs.params(), (3 * hidden_size,)))
        self.b_hh = nnx.Param(init(rngs.params(), (3 * hidden_size,)))


def run_gru(cells, x):
    """Run GRU directions over a sequence in one scan: the first cell forwards, a second one
    backwards (PyTorch's bidirectional layout).

    cells: 1 or 2 `GRUCell`s; x: (batch, time, input) -> (batch, time, directions * hidden).
    """
    stack = lambda name: jnp.stack([getattr(c, name)[...] for c in cells])  # noqa: E731
    w_ih, w_hh, b_ih, b_hh = (stack(n) for n in ("w_ih", "w_hh", "b_ih", "b_hh"))
    sequences = jnp.stack([x, x[:, ::-1]][:len(cells)])  # (dirs, batch, time, in)
    gates_in = jnp.einsum("dbti,dig->tdbg", sequences, w_ih) + b_ih[:, None]  # (time, dirs, b, 3h)
    # Three separate (time, dirs, batch, hidden) inputs: XLA's CPU loop fusion slows down ~4x
    # when it reads several slices of one dynamically indexed array per step.
    gates_in = tuple(jnp.split(gates_in, 3, axis=-1))

    def step(h, gi):  # h: (dirs, batch, hidden)
        h = gru_gates(gi, jnp.einsum("dbh,dhg->dbg", h, w_hh) + b_hh[:, None], h)
        return h, h

    h0 = jnp.zeros(gates_in[0].shape[1:], gates_in[0].dtype)
    _, states = jax.lax.scan(step, h0, gates_in)  # (time, dirs, batch, hidden)
    states = jnp.concatenate([states[:, :1], states[::-1, 1:]], 1)  # backward re-aligned
    return jnp.moveaxis(states, 2, 0).reshape(x.shape[0], x.shape[1], -1)


class GRU(nnx.Module):
    """A (bidirectional) GRU over the signal's points, one input per step, and a linear read-out
    over every step's state (5134 parameters with hidden size 6 over 40 steps)."""

    def __init__(self, input_size: int = 40, num_classes: int = 10, hidden_size: int = 6,
                 bidirectional: bool = True, *, rngs: nnx.Rngs):
        directions = 2 if bidirectional else 1
        self.cells = nnx.List([GRUCell(1, hidden_size, rngs=rngs) for _ in range(directions)])
        self.linear = torch_linear(directions * hidden_size * input_size, num_classes, rngs=rngs)

    def __call__(self, x):
        """x: (batch, input_size) -> logits (batch, num_classes)."""
        h = run_gru(list(self.cells), x[..., None])  # (batch, time, directions * hidden)
        return self.linear(h.reshape(h.shape[0], -1))


MODELS = {"linear": Linear, "mlp": MLP, "cnn": CNN, "gru": GRU}


def count_params(model: nnx.Module) -> int:
    """The number of scalar parameters of a model."""
    return sum(p.size for p in jax.tree.leaves(nnx.state(model, nnx.Param)))
