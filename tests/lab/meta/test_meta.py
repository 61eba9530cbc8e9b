"""Gradients through the generator (against finite differences) and the metalearning library."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import mnist1d_jax
from mnist1d_jax.args import SCALE_FIELDS
from mnist1d_jax.lab import meta, nn
from mnist1d_jax.lab.training import cross_entropy

SMALL = mnist1d_jax.get_dataset_args(num_samples=60, seed=3)


def dataset_objective(scales):
    args = SMALL.replace(**dict(zip(SCALE_FIELDS, scales)))
    data = mnist1d_jax.make_dataset(jax.random.key(0), args, dtype="float64")
    weights = jnp.sin(jnp.arange(data["x"].size, dtype=jnp.float64)).reshape(data["x"].shape)
    return jnp.sum(weights * data["x"]) + jnp.sum(jnp.cos(data["x_test"])) + jnp.sum(data["t"])


def stream_objective(scales):
    args = SMALL.replace(**dict(zip(SCALE_FIELDS, scales)))
    batch = mnist1d_jax.sample_batch(jax.random.key(1), args, 64, dtype="float64")
    return jnp.sum(jnp.tanh(batch["x"]) * jnp.cos(jnp.arange(40.0)))


@pytest.mark.parametrize("objective", [dataset_objective, stream_objective],
                         ids=["make_dataset", "sample_batch"])
@pytest.mark.slow
@pytest.mark.parametrize("index", range(4), ids=SCALE_FIELDS)
def test_gradient_matches_central_differences_in_float64(objective, index):
    with jax.enable_x64(True):
        scales = jnp.asarray(SMALL.scales, jnp.float64)
        grad = jax.grad(lambda s: objective(tuple(s)))(scales)[index]
        step = 1e-5 * max(1.0, float(scales[index]))
        unit = jnp.zeros(4, jnp.float64).at[index].set(step)
        fd = (objective(tuple(scales + unit)) - objective(tuple(scales - unit))) / (2 * step)
        assert abs(float(grad) - float(fd)) <= 1e-3 * abs(float(fd)) + 1e-9
        assert abs(float(fd)) > 1e-6  # the argument really moves the output


@pytest.fixture(scope="module")
def data():
    return {k: jnp.asarray(v) for k, v in
            mnist1d_jax.reference_dataset(dtype="float32").items() if k in ("x", "y", "x_test",
                                                                            "y_test")}


@pytest.mark.slow
def test_an_inner_mlp_state_is_pytorch_uniform_and_has_its_layers_shapes():
    params = nn.init(nn.FeedForward, jax.random.key(0), sizes=(40, 50, 10))
    layers = meta.layer_arrays(params)
    assert [w.shape for w, _ in layers] == [(40, 50), (50, 10)]
    assert float(jnp.abs(layers[0][0]).max()) <= 1 / np.sqrt(40)
    assert nn.apply(nn.FeedForward, params, jnp.ones((3, 40))).shape == (3, 10)


@pytest.mark.slow
def test_learning_rate_meta_gradient_moves_towards_a_common_value(data):
    high = meta.learn_learning_rate(jax.random.key(0), data, 1.5, outer_steps=8)
    low = meta.learn_learning_rate(jax.random.key(0), data, 0.15, outer_steps=8)
    assert high.learning_rate.shape == (9,) and high.outer_loss.shape == (8,)
    assert float(high.learning_rate[-1]) < 1.5 and float(low.learning_rate[-1]) > 0.15
    gap = abs(float(high.learning_rate[-1] - low.learning_rate[-1]))
    assert gap < 1.35 - 0.2  # the two starts come closer


@pytest.mark.slow
def test_learning_rate_meta_gradient_matches_finite_differences(data):
    key = jax.random.key(0)
    params = nn.init(nn.FeedForward, key, sizes=(40, 50, 10))

    def objective(lr):
        return meta.inner_sgd(params, lr, data["x"], data["y"], 20, 50)[1].mean()

    grad = jax.grad(objective)(0.5)
    fd = (objective(0.5 + 1e-2) - objective(0.5 - 1e-2)) / 2e-2
    assert abs(float(grad) - float(fd)) < 0.05 * abs(float(fd))


@pytest.mark.slow
def test_explicit_backpropagation_equals_autodiff():
    keys = jax.random.split(jax.random.key(4), 3)
    layers = nn.init(nn.FeedForward, keys[0], sizes=(40, 30, 20, 10))
    x = jax.random.normal(keys[1], (16, 40))
    y = jax.random.randint(keys[2], (16,), 0, 10)
    loss, grads = meta.mlp_loss_and_grad(layers, meta.with_slope(jnp.tanh), x, y)
    want_loss, want = jax.value_and_grad(
        lambda p: cross_entropy(nn.apply(nn.FeedForward, p, x, activation=jnp.tanh), y))(layers)
    np.testing.assert_allclose(loss, want_loss, rtol=1e-6)
    for got, expected in zip(jax.tree.leaves(grads), jax.tree.leaves(want)):
        np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-7)


@pytest.mark.slow
def test_learned_activation_slope_and_its_hand_written_vjp_match_autodiff():
    keys = jax.random.split(jax.random.key(5), 4)
    params = meta.ActivationParams(nn.init(nn.FeedForward, keys[0], sizes=(1, 100, 1)))
    x = 3 * jax.random.normal(keys[1], (7, 9))  # both sides of elu's kink
    cotangents = (jax.random.normal(keys[2], x.shape), jax.random.normal(keys[3], x.shape))

    def autodiff_pair(layers, x):
        return jax.jvp(lambda v: meta.learned_activation(meta.ActivationParams(layers), v),
                       (x,), (jnp.ones_like(x),))

    fast = meta.learned_activation_and_slope(params, x)
    for got, expected in zip(fast, autodiff_pair(params.g, x)):
        np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6)
    got = jax.vjp(lambda g, v: meta.learned_activation_and_slope(meta.ActivationParams(g), v),
                  params.g, x)[1](cotangents)
    expected = jax.vjp(autodiff_pair, params.g, x)[1](cotangents)
    for g, e in zip(jax.tree.leaves(got), jax.tree.leaves(expected)):
        np.testing.assert_allclose(g, e, rtol=1e-4, atol=1e-5)


@pytest.mark.slow
def test_learned_activation_starts_near_elu_and_its_outer_loop_runs(data):
    history = meta.learn_activation(jax.random.key(0), data, outer_steps=2, inner_steps=30,
                                    last=20)
    assert history.outer_loss.shape == (2,) and np.isfinite(history.outer_loss).all()
    xs = jnp.linspace(-5, 5, 11)
    difference = meta.learned_activation(history.params, xs) - jax.nn.elu(xs)
    assert float(jnp.abs(difference).max()) < 0.2 * 3  # elu + 0.2 * g, |g| bounded


@pytest.mark.slow
def test_augmentation_scales_get_gradients_and_move(data):
    target = {"x": data["x_test"], "y": data["y_test"]}
    history = meta.learn_augmentation(jax.random.key(0), mnist1d_jax.get_dataset_args(), target,
                                      outer_steps=3, inner_steps=20)
    assert history.scales.shape == (3, 4) and np.isfinite(history.target_loss).all()
    np.testing.assert_allclose(history.scales[0], mnist1d_jax.get_dataset_args().scales,
                               rtol=1e-6)
    assert not np.allclose(history.scales[-1], history.scales[0])


@pytest.mark.slow
def test_train_with_activation_runs_each_key_as_alone(data):
    keys = jax.vmap(jax.random.key)(jnp.arange(2))
    losses, accuracies = meta.train_with_activation(keys, jax.nn.elu, data, steps=20)
    assert losses.shape == (2, 20) and accuracies.shape == (2,)
    alone = meta.train_with_activation(jax.random.key(1), jax.nn.elu, data, steps=20)
    np.testing.assert_allclose(losses[1], alone[0], rtol=1e-5)
    assert float(losses[0, -1]) < float(losses[0, 0])  # it trains
    learned = meta.ActivationParams(nn.init(nn.FeedForward, jax.random.key(3), sizes=(1, 100, 1)))
    assert meta.train_with_activation(keys, learned, data, steps=5)[1].shape == (2,)


@pytest.mark.slow
def test_hidden_noise_is_added_after_the_activation_in_both_passes():
    """The reference's notebook: h = act(z) + 0.1 * U(-1, 1), one draw (hidden,) per pass, for
    the inner MLP and, inside a learned activation, for g's hidden units."""
    keys = jax.random.split(jax.random.key(6), 5)
    layers = nn.init(nn.FeedForward, keys[0], sizes=(40, 30, 10))
    x = jax.random.normal(keys[1], (16, 40))
    y = jax.random.randint(keys[2], (16,), 0, 10)
    noise = meta.draw_hidden_noise(keys[3], layers, 0.1)
    assert [n.shape for n in noise] == [(30,)] and float(jnp.abs(noise[0]).max()) <= 0.1
    assert float(jnp.abs(noise[0]).max()) > 0.05  # drawn over the whole range

    def noisy_loss(p):
        (w1, b1), (w2, b2) = meta.layer_arrays(p)
        return cross_entropy((jnp.tanh(x @ w1 + b1) + noise[0]) @ w2 + b2, y)

    loss, grads = meta.mlp_loss_and_grad(layers, meta.with_slope(jnp.tanh), x, y, noise)
    want_loss, want = jax.value_and_grad(noisy_loss)(layers)
    np.testing.assert_allclose(loss, want_loss, rtol=1e-6)
    for got, expected in zip(jax.tree.leaves(grads), jax.tree.leaves(want)):
        np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-7)

    params = meta.ActivationParams(nn.init(nn.FeedForward, keys[4], sizes=(1, 100, 1)))
    g_noise = meta.draw_hidden_noise(keys[3], params.g, 0.1)[0]
    z = jnp.linspace(-3, 3, 13)

    def plain(g):  # elu + 0.2 * (w_out . (tanh(z w_in + b_in) + noise) + b_out)
        (w_in, b_in), (w_out, b_out) = meta.layer_arrays(g)
        hidden = jnp.tanh(z[:, None] * w_in[0] + b_in) + g_noise
        return jax.nn.elu(z) + meta.GAIN * (hidden @ w_out[:, 0] + b_out[0])

    value, slope = meta.learned_activation_and_slope(params, z, g_noise)
    np.testing.assert_allclose(value, plain(params.g), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(slope, meta.learned_activation_and_slope(params, z)[1])
    got = jax.grad(lambda g: meta.learned_activation_and_slope(
        meta.ActivationParams(g), z, g_noise)[0].sum())(params.g)
    for g, e in zip(jax.tree.leaves(got), jax.tree.leaves(jax.grad(lambda g: plain(g).sum())(
            params.g))):
        np.testing.assert_allclose(g, e, rtol=1e-4, atol=1e-5)


@pytest.mark.slow
def test_inner_rmsprop_starts_its_average_at_ones_as_the_reference():
    """The notebook's avg_sq_grad = ones: the first update is lr * g / (sqrt(0.4 + 0.6 g^2) + eps)
    (PyTorch's and optax's default start at zeros would give lr * g / (sqrt(0.6) |g|))."""
    keys = jax.random.split(jax.random.key(7), 3)
    layers = nn.init(nn.FeedForward, keys[0], sizes=(40, 8, 10))
    x = jax.random.normal(keys[1], (20, 40))
    y = jax.random.randint(keys[2], (20,), 0, 10)
    after, _ = meta.inner_rmsprop(layers, jnp.tanh, x, y, steps=1, batch_size=20)
    _, grads = meta.mlp_loss_and_grad(layers, meta.with_slope(jnp.tanh), x, y)
    for p, g, q in zip(jax.tree.leaves(layers), jax.tree.leaves(grads), jax.tree.leaves(after)):
        np.testing.assert_allclose(q, p - 1e-2 * g / (jnp.sqrt(0.4 + 0.6 * g * g) + 1e-8),
                                   rtol=1e-5, atol=1e-7)


@pytest.mark.slow
def test_the_reference_trains_every_outer_step_from_the_same_draws(data):
    """`redraw=False` (the reference's notebooks) repeats the initial weights (and the noise) in
    every outer step: with an outer step too small to move anything, every outer loss is the
    same; `redraw=True` draws afresh and they differ."""
    tiny = dict(outer_steps=2, outer_learning_rate=1e-12)
    for redraw in (False, True):
        rates = meta.learn_learning_rate(jax.random.key(0), data, 0.5, inner_steps=10,
                                         redraw=redraw, **tiny)
        activation = meta.learn_activation(jax.random.key(0), data, inner_steps=10, last=5,
                                           redraw=redraw, **tiny)
        for losses in (rates.outer_loss, activation.outer_loss):
            assert (float(losses[0]) == float(losses[1])) is not redraw


@pytest.mark.slow
def test_recovering_the_arguments_moves_each_scale_towards_the_target():
    """A target made with every scale 1.6 to 3.3 times from its default, both directions: a
    short recovery from the defaults moves every scale most of the way to the truth (in
    logarithms)."""
    defaults = mnist1d_jax.get_dataset_args()
    truth = (1.0, 0.08, 0.006, 1.5)
    target = mnist1d_jax.sample_batch(jax.random.key(1), defaults.replace(
        **dict(zip(SCALE_FIELDS, truth))), 2000, normalize="none")
    recovery = meta.recover_arguments(jax.random.key(2), defaults, target, steps=150,
                                      batch_size=500)
    assert recovery.scales.shape == (150, 4) and recovery.loss.shape == (150,)
    np.testing.assert_allclose(recovery.scales[0], defaults.scales, rtol=1e-6)
    start = np.abs(np.log(np.asarray(defaults.scales) / truth))
    left = np.abs(np.log(np.asarray(recovery.estimate) / truth))
    assert (left < 0.5 * start).all(), (recovery.estimate, truth)
    assert float(recovery.loss[-20:].mean()) < float(recovery.loss[:5].mean())


@pytest.mark.slow
def test_class_mmd_is_zero_for_equal_sets_and_grows_with_a_shift():
    x = jax.random.normal(jax.random.key(0), (60, 5))
    labels = jnp.arange(60) % 3
    widths = jnp.asarray([1.0, 2.0])
    assert abs(float(meta.class_mmd2(x, labels, x, labels, widths))) < 1e-6
    near = float(meta.class_mmd2(x, labels, x + 0.3, labels, widths))
    far = float(meta.class_mmd2(x, labels, x + 1.0, labels, widths))
    assert 0 < near < far
    # only same-class pairs count: swapping the labels of a shifted copy changes the distance
    assert float(meta.class_mmd2(x, labels, x, (labels + 1) % 3, widths)) > near
