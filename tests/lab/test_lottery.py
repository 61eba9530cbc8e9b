"""Lottery tickets: exact per-layer pruning, pruned weights that stay zero, rewinding to the
initial values, and a small search whose rounds equal separate rounds."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import mnist1d_jax
from mnist1d_jax.lab import lottery as lt
from mnist1d_jax.lab import nn

SMALL = lt.TicketConfig(total_steps=60, eval_every=20, hidden=24)


@pytest.fixture(scope="module")
def data():
    d = mnist1d_jax.reference_dataset(mnist1d_jax.get_dataset_args(num_samples=600),
                                      dtype="float32")
    return {k: jnp.asarray(d[k]) for k in ("x", "y", "x_test", "y_test")}


@pytest.mark.slow
def test_each_layer_loses_exactly_its_lowest_scoring_fraction():
    params = nn.init(nn.MLP, jax.random.key(0), hidden_size=30)
    scores = lt.scores(1, jax.random.key(1), params)  # random scores
    for sparsity in (0.0, 0.37, 0.91, 1.0):
        masks = lt.layer_masks(scores, sparsity)
        for name in ("linear1", "linear2", "linear3"):
            kept = np.concatenate([np.ravel(masks[name]["kernel"]), masks[name]["bias"]])
            flat = np.concatenate([np.ravel(scores[name]["kernel"]), scores[name]["bias"]])
            assert (kept == 0).sum() == int(np.floor(sparsity * flat.size)), (name, sparsity)
            if 0 < sparsity < 1:
                assert flat[kept == 0].max() <= flat[kept == 1].min()
    magnitude = lt.scores(0, jax.random.key(1), params)
    np.testing.assert_array_equal(magnitude["linear2"]["kernel"],
                                  np.abs(params["linear2"]["kernel"]))


@pytest.mark.slow
def test_pruned_weights_get_no_gradient_and_stay_zero(data):
    params = nn.init(nn.MLP, jax.random.key(2), hidden_size=SMALL.hidden)
    masks = lt.layer_masks(lt.scores(1, jax.random.key(3), params), 0.6)
    trained, tests, loss = lt.train_round(params, masks, data, SMALL)
    for name in ("linear1", "linear2", "linear3"):
        for part in ("kernel", "bias"):
            pruned = np.asarray(masks[name][part]) == 0
            assert np.all(np.asarray(trained[name][part])[pruned] == 0), (name, part)
            moved = np.asarray(trained[name][part]) != np.asarray(params[name][part])
            assert moved[~pruned].mean() > 0.9
    assert tests.shape == (4,) and np.isfinite(loss)


@pytest.mark.slow
def test_search_rounds_rewind_to_the_initial_values(data):
    sparsities = [0.0, 0.5]
    out = lt.search(jax.random.key(4), data, sparsities, trials=1, config=SMALL, keep=1)
    assert out["test_accuracy"].shape == (2, 1, 2, 4)
    assert out["first_layer_masks"].shape == (2, 1, 2, 40, SMALL.hidden)
    # round 2 by hand: magnitude masks of round 1's trained weights, then training from the
    # initial values (not from round 1's trained ones)
    initial = jax.tree.map(lambda a: a[0, 0], out["initial"])
    first, _, _ = lt.train_round(initial, jax.tree.map(jnp.ones_like, initial), data, SMALL)
    masks = lt.layer_masks(lt.scores(0, jax.random.key(0), first), 0.5)
    _, tests, _ = lt.train_round(initial, masks, data, SMALL)
    np.testing.assert_allclose(out["test_accuracy"][0, 0, 1], tests, atol=0.2)
    ticket = jax.tree.map(lambda a: a[0, 0], out["ticket"])
    np.testing.assert_array_equal(ticket["linear2"]["kernel"], masks["linear2"]["kernel"])
    assert out["first_layer_masks"][0, 0, 1].mean() == pytest.approx(0.5, abs=0.01)
    with pytest.raises(ValueError, match="methods must be"):
        lt.search(jax.random.key(4), data, sparsities, methods=("biggest",), config=SMALL)


@pytest.mark.slow
def test_retraining_a_mask_from_new_weights_is_a_round_from_those_weights(data):
    """`retrain_fresh`: trial t's new weights come from fold_in(key, t), the same for every
    method, and each ticket trains as `train_round` from them."""
    out = lt.search(jax.random.key(4), data, [0.0, 0.5], trials=2, config=SMALL, keep=1)
    fresh = lt.retrain_fresh(jax.random.key(9), out["ticket"], data, config=SMALL)
    assert fresh.shape == (2, 2, 4)
    initial = nn.init(nn.MLP, jax.random.fold_in(jax.random.key(9), 1), input_size=40,
                      num_classes=10, hidden_size=SMALL.hidden)
    for method in range(2):
        masks = jax.tree.map(lambda a, m=method: a[m, 1], out["ticket"])
        _, tests, _ = lt.train_round(initial, masks, data, SMALL)
        np.testing.assert_allclose(fresh[method, 1], tests, atol=0.2)
    assert not np.array_equal(initial["linear1"]["kernel"][...],
                              out["initial"]["linear1"]["kernel"][0, 1])  # new weights


def test_retrain_fresh_refuses_tickets_that_are_not_masks_of_the_model(data):
    masks = jax.tree.map(jnp.ones_like, nn.init(nn.MLP, jax.random.key(0), input_size=40,
                                                num_classes=10, hidden_size=SMALL.hidden))
    one_trial = jax.tree.map(lambda m: m[None, None], masks)  # (method 1, trial 1)
    wider = jax.tree.map(lambda m: m[None, None], nn.init(
        nn.MLP, jax.random.key(0), input_size=40, num_classes=10, hidden_size=SMALL.hidden + 1))
    for tickets in (masks, wider, {"linear1": one_trial["linear1"]}):
        with pytest.raises(ValueError, match=r"tickets must be search\(\.\.\.\)\['ticket'\]"):
            lt.retrain_fresh(jax.random.key(1), tickets, data, config=SMALL)
