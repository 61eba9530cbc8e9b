"""Contrastive learning: the loss against a direct NumPy restatement, the reference's
augmentation, generator views (same class and template, independent draws), training, probes."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import mnist1d_jax
from mnist1d_jax.draws import draw, draw_labelled
from mnist1d_jax.lab import contrastive as cl
from mnist1d_jax.lab import nn


def test_info_nce_equals_a_direct_numpy_restatement():
    rng = np.random.default_rng(0)
    z1, z2 = rng.normal(size=(7, 5)), rng.normal(size=(7, 5))
    o1 = z1 / np.linalg.norm(z1, axis=1, keepdims=True)
    o2 = z2 / np.linalg.norm(z2, axis=1, keepdims=True)
    sims = np.exp(o1 @ o2.T / 0.5)
    expected = np.mean(-np.log(np.diag(sims)) + np.log(sims.sum(axis=1)))
    np.testing.assert_allclose(cl.info_nce(z1.astype(np.float32), z2.astype(np.float32)),
                               expected, rtol=1e-5)


def test_augment_removes_offset_and_trend_then_shifts_circularly():
    x = np.asarray(mnist1d_jax.reference_dataset(mnist1d_jax.get_dataset_args(num_samples=100))
                   ["x"][:20], np.float32)
    t = np.arange(40) - 19.5
    flat = np.asarray(cl.augment(jax.random.key(0), x, 0.0, 0.0, maxshift=1))
    np.testing.assert_allclose(flat.mean(1), 0, atol=1e-5)
    np.testing.assert_allclose((flat * t).sum(1), 0, atol=1e-3)
    shifted = np.asarray(cl.augment(jax.random.key(1), x, 0.0, 0.0, maxshift=10))
    shifts = [[s for s in range(10) if np.allclose(np.roll(f, s), g, atol=1e-5)]
              for f, g in zip(flat, shifted)]
    assert all(len(s) == 1 for s in shifts) and len({s[0] for s in shifts}) > 3
    noisy = np.asarray(cl.augment(jax.random.key(1), x))  # random slope and offset added
    assert 0.1 < (noisy - shifted).mean(1).std() < 0.6


@pytest.mark.slow
def test_generator_views_share_class_and_template_with_independent_draws():
    args = mnist1d_jax.get_dataset_args()
    key = jax.random.key(3)
    x1, x2, y = cl.generator_views(key, args, 256)
    batch = mnist1d_jax.sample_batch(key, args, 256)  # view 1 is the stream's own example
    np.testing.assert_array_equal(y, batch["y"])
    np.testing.assert_allclose(x1, batch["x"], atol=1e-5)
    keys = [jax.random.fold_in(key, i) for i in range(256)]
    first = [draw_labelled(k, args)[1] for k in keys]
    second = [draw(jax.random.fold_in(k, 1), args) for k in keys]
    shift1 = np.array([int(d.shift) for d in first])
    shift2 = np.array([int(d.shift) for d in second])
    assert abs(np.corrcoef(shift1, shift2)[0, 1]) < 0.2 and (shift1 != shift2).mean() > 0.9
    assert np.abs(np.asarray(x1) - np.asarray(x2)).mean() > 0.3


@pytest.mark.slow
@pytest.mark.parametrize("views", cl.VIEWS)
def test_training_runs_and_lowers_the_loss(views):
    data = mnist1d_jax.reference_dataset(mnist1d_jax.get_dataset_args(num_samples=1000),
                                         dtype="float32")
    # The loss falls from chance (log 50) by 0.38-0.88 in 16 epochs over seeds 0-5 for every kind
    # of view ("both" is the slowest: 0.04-0.31 after 8 epochs); without learning it moves by
    # 0.003 at most. A margin of 0.15 leaves room for other machines' rounding.
    params, losses = cl.train(jax.random.key(0), data, views=views, epochs=16, batch_size=50)
    assert losses.shape == (16,) and np.isfinite(losses).all()
    assert losses[-1] < losses[0] - 0.15 and losses[-1] < np.log(50)  # below chance
    layers = nn.apply(nn.SimCLR, params, data["x_test"], method="features")
    assert [f.shape[1] for f in layers] == [19 * 25, 10 * 25, 125, 125, 16]


@pytest.mark.slow
def test_pixel_space_probes_give_the_reference_notebooks_numbers(reference_pickle):
    d = reference_pickle  # the reference: kNN 59.6% (Euclidean, k = 10), linear 32.8%
    assert cl.knn_probe(d["x"], d["y"], d["x_test"], d["y_test"],
                        metric="euclidean") == pytest.approx(59.6)  # 596 of 1000
    assert cl.linear_probe(d["x"], d["y"], d["x_test"], d["y_test"]) == pytest.approx(32.8,
                                                                                      abs=0.3)


@pytest.mark.slow
def test_probes_on_features_that_separate_the_classes():
    rng = np.random.default_rng(0)
    centres = rng.normal(size=(10, 8)) * 5
    y, y_test = rng.integers(0, 10, 300), rng.integers(0, 10, 100)
    f, f_test = centres[y] + rng.normal(size=(300, 8)), centres[y_test] + rng.normal(size=(100, 8))
    assert cl.knn_probe(f, y, f_test, y_test) > 95
    assert cl.linear_probe(f, y, f_test, y_test) > 95
    assert cl.linear_probe(rng.normal(size=(300, 8)), y, rng.normal(size=(100, 8)), y_test) < 30
    with pytest.raises(ValueError, match="views must be one of"):
        cl.train(jax.random.key(0), {"x": f}, views="mixup")


@pytest.mark.slow
def test_several_keys_run_side_by_side_and_equal_separate_runs():
    data = mnist1d_jax.reference_dataset(mnist1d_jax.get_dataset_args(num_samples=300),
                                         dtype="float32")
    keys = jnp.stack([jax.random.key(3), jax.random.key(8)])
    params, losses = cl.train(keys, data, epochs=2, batch_size=60)
    assert losses.shape == (2, 2) and simclr_layers(params)["conv1"]["kernel"].shape == \
        (2, 5, 1, 25)
    for i, seed in enumerate((3, 8)):
        alone, alone_losses = cl.train(jax.random.key(seed), data, epochs=2, batch_size=60)
        np.testing.assert_array_equal(losses[i], alone_losses)
        for a, b in zip(jax.tree.leaves(params), jax.tree.leaves(alone)):
            np.testing.assert_array_equal(a[i], b)
    for key in (np.array([0, 3, 1], np.uint32), 3, keys[:0], jnp.stack([keys, keys])):
        with pytest.raises(TypeError, match="key must be a JAX key"):
            cl.train(key, data, epochs=1)
    legacy = cl.train(jax.random.PRNGKey(3), data, epochs=2, batch_size=60)[1]  # raw uint32 key
    np.testing.assert_array_equal(legacy, losses[0])


def simclr_layers(params) -> dict:
    """The SimCLR model's layers by the reference's names."""
    encoder, projector = params["encoder"]["convs"], params["projector"]["layers"]
    return {"conv1": encoder[0], "conv2": encoder[1], "conv3": encoder[2],
            "linear1": projector[0], "linear2": projector[1]}


def test_simclrs_initial_state_is_torchs_uniform_initialisation():
    params = simclr_layers(nn.init(nn.SimCLR, jax.random.key(4)))
    fan_in = {"conv1": 5, "conv2": 75, "conv3": 75, "linear1": 125, "linear2": 125}
    shapes = {"conv1": (5, 1, 25), "conv2": (3, 25, 25), "conv3": (3, 25, 25),
              "linear1": (125, 125), "linear2": (125, 16)}
    for name, layer in params.items():
        bound = 1 / np.sqrt(fan_in[name])
        kernel, bias = layer["kernel"][...], layer["bias"][...]
        assert kernel.shape == shapes[name] and bias.shape == shapes[name][-1:]
        for leaf in (kernel, bias):
            assert np.abs(leaf).max() <= bound
        w = np.asarray(kernel).ravel()
        assert abs(w.std() - bound / np.sqrt(3)) < 0.15 * bound and abs(w.mean()) < 0.2 * bound
    other = simclr_layers(nn.init(nn.SimCLR, jax.random.key(5)))
    assert not np.array_equal(params["conv2"]["kernel"][...], other["conv2"]["kernel"][...])
