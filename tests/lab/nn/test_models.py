"""Flax models: the reference's sizes, PyTorch's layer semantics, the model-state helpers."""


import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

from mnist1d_jax.lab import nn


@pytest.mark.parametrize("name, count", [("linear", 410), ("mlp", 15210), ("cnn", 5210),
                                         ("gru", 5134)])
@pytest.mark.slow
def test_parameter_counts_and_shapes_match_the_reference(name, count):
    model = nn.MODELS[name](rngs=nnx.Rngs(0))
    assert nn.count_params(model) == count
    logits = model(jnp.ones((7, 40)))
    assert logits.shape == (7, 10) and logits.dtype == jnp.float32


@pytest.mark.slow
def test_sizes_are_keyword_arguments():
    mlp = nn.MLP(hidden_size=10, rngs=nnx.Rngs(0))
    assert nn.count_params(mlp) == 40 * 10 + 10 + 110 + 110
    assert nn.count_params(nn.GRU(bidirectional=False, rngs=nnx.Rngs(0))) == 162 + 2410
    assert nn.CNN(channels=4, rngs=nnx.Rngs(0))(jnp.ones((2, 40))).shape == (2, 10)


@pytest.mark.slow
def test_init_and_apply_are_the_model_built_from_its_key_and_called():
    """The one pair of model-state helpers: `init` is the model's parameter state, `apply` the
    model called (or any method of it) with a state, for a model whose graph depends on its
    sizes (`FeedForward`: its number of layers) as for one at its defaults."""
    key, x = jax.random.key(7), jax.random.normal(jax.random.key(1), (3, 40))
    for model, sizes in ((nn.CNN, {}), (nn.MLP, {"hidden_size": 12}),
                         (nn.FeedForward, {"sizes": (40, 9, 7, 10)})):
        built = model(**sizes, rngs=nnx.Rngs(key))
        params = nn.init(model, key, **sizes)
        assert jax.tree.all(jax.tree.map(np.array_equal, params, nnx.state(built, nnx.Param)))
        np.testing.assert_array_equal(nn.apply(model, params, x), built(x))
    shallow = nn.init(nn.FeedForward, key, sizes=(40, 5, 10))
    np.testing.assert_allclose(nn.apply(nn.FeedForward, shallow, x, activation=jnp.tanh),
                               nn.FeedForward((40, 5, 10), rngs=nnx.Rngs(key))(x, jnp.tanh),
                               rtol=1e-6)
    simclr = nn.init(nn.SimCLR, key)
    features = nn.apply(nn.SimCLR, simclr, x, method="features")
    assert [f.shape[1] for f in features] == [19 * 25, 10 * 25, 125, 125, 16]
    np.testing.assert_array_equal(features[-1], nn.apply(nn.SimCLR, simclr, x))


@pytest.mark.slow
def test_conv1d_is_a_stride_2_padding_1_convolution():
    conv = nn.Conv1d(3, 5, 3, rngs=nnx.Rngs(1))
    x = jax.random.normal(jax.random.key(0), (4, 19, 3))
    expected = jax.lax.conv_general_dilated(x, conv.kernel[...], (2,), [(1, 1)],
                                            dimension_numbers=("NWC", "WIO", "NWC"))
    np.testing.assert_allclose(conv(x), expected + conv.bias[...], atol=1e-5)
    assert conv(x).shape == (4, nn.conv_output_length(19, 3), 5) == (4, 10, 5)


def torch_gru_direction(cell, x, reverse):
    """PyTorch's GRU equations, step by step in NumPy. x: (batch, time) -> (batch, time, h)."""
    w_ih, w_hh, b_ih, b_hh = (np.asarray(getattr(cell, n)[...], np.float64)
                              for n in ("w_ih", "w_hh", "b_ih", "b_hh"))
    hidden = w_hh.shape[0]
    sigmoid = lambda v: 1 / (1 + np.exp(-v))  # noqa: E731
    h, out = np.zeros((x.shape[0], hidden)), np.zeros((x.shape[0], x.shape[1], hidden))
    for t in (reversed(range(x.shape[1])) if reverse else range(x.shape[1])):
        gi, gh = x[:, t, None] @ w_ih + b_ih, h @ w_hh + b_hh
        r = sigmoid(gi[:, :hidden] + gh[:, :hidden])
        z = sigmoid(gi[:, hidden:2 * hidden] + gh[:, hidden:2 * hidden])
        n = np.tanh(gi[:, 2 * hidden:] + r * gh[:, 2 * hidden:])
        h = (1 - z) * n + z * h
        out[:, t] = h
    return out


@pytest.mark.slow
def test_bidirectional_gru_follows_pytorchs_equations_and_layout():
    model = nn.GRU(input_size=9, rngs=nnx.Rngs(3))
    x = np.random.default_rng(0).normal(size=(5, 9))
    states = nn.run_gru(list(model.cells), jnp.asarray(x, jnp.float32)[..., None])
    expected = np.concatenate([torch_gru_direction(model.cells[0], x, False),
                               torch_gru_direction(model.cells[1], x, True)], -1)
    np.testing.assert_allclose(states, expected, atol=1e-5)


def test_initialisation_is_pytorchs_uniform():
    model = nn.MLP(rngs=nnx.Rngs(0))
    kernel = np.asarray(model.linear2.kernel[...])
    assert np.abs(kernel).max() <= 0.1 and np.abs(kernel).max() > 0.099  # 1/sqrt(100)
    assert abs(kernel.std() - 0.1 / np.sqrt(3)) < 0.003
