"""Sweeps: label noise, masked models equal to narrow ones, per-configuration results equal to
separate runs, traced training-set sizes, buckets, progress and input checks."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

import mnist1d_jax
from mnist1d_jax.lab import sweeps as sw
from mnist1d_jax.lab.sweeps import driver, program


@pytest.fixture(scope="module")
def data():
    d = mnist1d_jax.make_dataset(jax.random.key(0), mnist1d_jax.get_dataset_args(
        num_samples=1200, train_split=0.5))
    return {k: np.asarray(d[k]) for k in ("x", "y", "x_test", "y_test")}


SHORT = sw.SweepConfig(steps=60, chunk=30, batch_size=50, eval_every=30)


def test_corrupt_labels_replaces_the_given_fraction_by_uniform_classes():
    y = jnp.asarray(np.arange(200_000) % 10)
    key = jax.random.key(3)
    noisy = np.asarray(sw.corrupt_labels(key, y, 0.15))
    changed = (noisy != np.asarray(y)).mean()
    assert abs(changed - 0.15 * 0.9) < 0.005  # a replacement keeps its class 1 time in 10
    assert np.array_equal(noisy, np.asarray(sw.corrupt_labels(key, y, 0.15)))
    assert not np.array_equal(noisy, np.asarray(sw.corrupt_labels(jax.random.key(4), y, 0.15)))
    assert np.array_equal(np.asarray(sw.corrupt_labels(key, y, 0.0)), np.asarray(y))
    counts = np.bincount(np.asarray(sw.corrupt_labels(key, jnp.zeros(100_000, jnp.int32), 1.0)))
    assert counts.shape == (10,) and np.all(np.abs(counts / 1e5 - 0.1) < 0.005)


@pytest.mark.parametrize("family, width, padded", [(sw.MLP_FAMILY, 5, 12), (sw.CNN_FAMILY, 3, 8),
                                                   (sw.pooling_family("max"), 4, 9)])
@pytest.mark.slow
def test_a_masked_model_is_the_narrow_model(family, width, padded):
    words = np.random.default_rng(1).integers(0, 2**32, (8, 4), dtype=np.uint32)
    models = {n: family.init(words, width, n, 40) for n in (width, padded)}
    narrow, wide = ({"/".join(map(str, path)): np.asarray(value) for path, value in
                     nnx.to_flat_state(nnx.state(models[n], nnx.Param))} for n in (width, padded))
    for name, value in narrow.items():  # the narrow block, bit for bit; zeros elsewhere
        block = tuple(slice(0, n) for n in value.shape)
        if name == "linear/kernel":  # a read-out over (positions x channels) rows
            rows = wide[name].reshape(-1, padded, wide[name].shape[-1])[:, :width]
            np.testing.assert_array_equal(rows.reshape(value.shape), value)
            continue
        np.testing.assert_array_equal(wide[name][block], value)
        assert float(jnp.abs(wide[name]).sum()) == pytest.approx(float(jnp.abs(value).sum()),
                                                                 rel=1e-6)
    x = jnp.asarray(np.random.default_rng(0).normal(size=(7, 40)), jnp.float32)
    apply = nnx.jit(lambda model, x: model(x))
    np.testing.assert_allclose(apply(models[padded], x), apply(models[width], x), rtol=1e-5,
                               atol=1e-5)


@pytest.mark.slow
def test_padded_units_stay_zero_and_training_follows_the_narrow_model(data):
    model = {}
    for max_width in (6, 20):
        words = np.random.default_rng(2).integers(0, 2**32, (1, 1, 8, 4), dtype=np.uint32)
        graphdef, state, width = driver.initial_state(sw.MLP_FAMILY, SHORT, words, np.array([6]),
                                                      max_width, 40, 10, data["y"][None, None])
        state = jax.tree.map(lambda a: a[0, 0], state)
        m = program.BucketModels(jax.tree.map(lambda a: a[0], width), jnp.int32(600),
                                 jax.random.key(2), {k: jnp.asarray(v) for k, v in data.items()},
                                 SHORT)
        state, _ = jax.jit(lambda s, m=m, graphdef=graphdef: program.updates(
            s, 0, m, graphdef, 60))(state)
        model[max_width] = [layer["kernel"][...] for layer in state.params["layers"].values()]
    (w1, w2, w3), narrow = model[20], model[6]
    assert float(jnp.abs(w1[:, 6:]).max()) == 0.0
    assert float(jnp.abs(w2[6:]).max()) == 0.0 == float(jnp.abs(w2[:, 6:]).max())
    assert float(jnp.abs(w3[6:]).max()) == 0.0
    np.testing.assert_allclose(w2[:6, :6], narrow[1], rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(w3[:6], narrow[2], rtol=1e-4, atol=1e-5)


@pytest.mark.slow
def test_a_sweep_equals_separate_runs(data, capsys):
    together = sw.sweep(sw.MLP_FAMILY, [3, 16], data, jax.random.key(0), seeds=2, config=SHORT,
                        label_noise=0.15, waste=100.0, workers=1)  # one bucket: not spread
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 2 and lines[-1].startswith("mlp widths 3-16 (2 x 2 seeds): update 60")
    alone = sw.sweep(sw.MLP_FAMILY, [3], data, jax.random.key(0), seeds=1, config=SHORT,
                     label_noise=0.15, progress=None)  # the narrow model in a bucket of its own
    for name in ("train_error", "test_error", "train_loss", "test_loss"):
        np.testing.assert_allclose(together[name][0, 0], alone[name][0, 0], rtol=1e-3,
                                   atol=0.11, err_msg=name)
    np.testing.assert_allclose(together["test_error_curve"][0, 0],
                               alone["test_error_curve"][0, 0], atol=0.11)
    assert together["test_error_curve"].shape == (2, 2, 3)
    assert together["eval_steps"].tolist() == [0, 30, 60]
    np.testing.assert_array_equal(together["test_error_curve"][..., -1], together["test_error"])
    assert together["test_error"][0, 0] != together["test_error"][0, 1]  # seeds differ


@pytest.mark.slow
def test_training_set_size_is_traced_and_equals_truncated_data(data):
    stacked = {k: np.stack([v, v]) for k, v in data.items()}
    config = sw.SweepConfig(steps=40, chunk=40, batch_size=50, optimizer="adam",
                            learning_rate=1e-2, order="cyclic")
    both = sw.sweep(sw.CNN_FAMILY, [4, 4], stacked, jax.random.key(0), seeds=1, config=config,
                    n_train=[200, 600], progress=None)
    small = {**data, "x": data["x"][:200], "y": data["y"][:200]}
    alone = sw.sweep(sw.CNN_FAMILY, [4], small, jax.random.key(0), seeds=1, config=config,
                     progress=None)
    np.testing.assert_allclose(both["test_loss"][0], alone["test_loss"][0], rtol=1e-4)
    np.testing.assert_allclose(both["train_loss"][0], alone["train_loss"][0], rtol=1e-4)
    assert both["test_loss"][0, 0] != both["test_loss"][1, 0]


@pytest.mark.slow
def test_epochs_visit_every_training_row_once():
    config = sw.SweepConfig(batch_size=30, steps=8, order="epochs")
    key = jax.random.key(0)
    epochs = []
    for epoch in range(2):  # ceil(100 / 30) = 4 updates per epoch, the last one short
        seen, weights = [], []
        for step in range(4 * epoch, 4 * epoch + 4):
            rows, w = config.batch(step, 100, key, largest=128)
            seen.append(np.asarray(rows)[np.asarray(w) > 0])
            weights.append(float(w.sum()))
        assert sorted(np.concatenate(seen).tolist()) == list(range(100))
        assert weights == [30, 30, 30, 10]
        epochs.append(np.concatenate(seen))
    assert not np.array_equal(epochs[0], epochs[1])


def test_buckets_bound_the_padded_compute():
    widths = [2, 3, 4, 5, 7, 9, 12, 16, 21, 27, 36, 47, 61, 80, 104, 135, 177, 230, 300]
    groups = sw.buckets(widths, sw.MLP_FAMILY.cost, waste=2.0)
    assert sorted(i for g in groups for i in g) == list(range(len(widths)))
    floor = sw.MLP_FAMILY.cost(32)
    for group in groups:
        top = max(sw.MLP_FAMILY.cost(widths[group[0]]), floor)
        costs = [max(sw.MLP_FAMILY.cost(widths[i]), floor) for i in group]
        assert top * len(group) <= 2.0 * sum(costs)
    assert len(groups) < len(widths)
    assert set(range(8)) <= set(groups[-1])  # every width <= 32 in one group: overhead-bound


@pytest.mark.parametrize("groups, workers, expected", [
    ([[0, 1, 2, 3, 4, 5]], 2, [[0, 1, 2], [3, 4, 5]]),
    ([[0, 1, 2, 3, 4]], 4, [[0], [1], [2], [3, 4]]),
    ([[4, 2], [0, 1, 3]], 3, [[4, 2], [0, 1], [3]]),
    ([[0], [1]], 4, [[0], [1]]),
    ([[0, 1, 2]], 1, [[0, 1, 2]])])
def test_spread_splits_the_largest_groups_until_every_core_has_one(groups, workers, expected):
    assert sw.spread(groups, workers) == expected


@pytest.mark.parametrize("kwargs, message", [
    (dict(widths=[]), "widths must be"), (dict(widths=[0]), "widths must be"),
    (dict(seeds=0), "seeds must be"), (dict(label_noise=1.5), "label_noise"),
    (dict(n_train=[10_000]), "n_train must"),
])
def test_bad_sweep_arguments(data, kwargs, message):
    arguments = {"widths": [4], "seeds": 1, "config": SHORT, "progress": None, **kwargs}
    widths = arguments.pop("widths")
    with pytest.raises(ValueError, match=message):
        sw.sweep(sw.MLP_FAMILY, widths, data, jax.random.key(0), **arguments)


def test_bad_family_and_config_types(data):
    with pytest.raises(TypeError, match="family must be a sweeps.Family"):
        sw.sweep("mlp", [4], data, jax.random.key(0), seeds=1, config=SHORT, progress=None)
    with pytest.raises(TypeError, match="config must be a sweeps.SweepConfig"):
        sw.sweep(sw.MLP_FAMILY, [4], data, jax.random.key(0), seeds=1, config={"steps": 10},
                 progress=None)


def test_bad_config():
    with pytest.raises(ValueError, match="optimizer"):
        sw.SweepConfig(optimizer="rmsprop")
    with pytest.raises(ValueError, match="order"):
        sw.SweepConfig(order="random")
    with pytest.raises(ValueError, match="eval_every"):
        sw.SweepConfig(chunk=100, eval_every=30)


@pytest.mark.slow
def test_model_keys_and_labels_are_jaxs_derivation(data):
    key, seeds, widths, sizes = jax.random.key(5), np.array([0, 3]), np.array([4, 9, 4]), \
        np.array([600, 600, 200])
    keys, words = driver.model_keys(key, seeds, widths, sizes)
    for c, (width, size) in enumerate(zip(widths, sizes)):
        for s, seed in enumerate(seeds):
            expected = jax.random.fold_in(jax.random.fold_in(jax.random.fold_in(key, seed),
                                                             width), size)
            np.testing.assert_array_equal(keys[c, s], jax.random.key_data(expected))
            np.testing.assert_array_equal(words[c, s], jax.random.bits(
                jax.random.fold_in(expected, 2**31), (8, 4), jnp.uint32))
    labels = driver.training_labels(key, seeds, data["y"], 0.3, 10)  # shared labels: (1, S, N)
    assert labels.shape == (1, 2, len(data["y"]))
    for s, seed in enumerate(seeds):
        np.testing.assert_array_equal(labels[0, s], sw.corrupt_labels(
            sw.label_noise_key(key, seed), data["y"], 0.3))
    stacked = driver.training_labels(key, seeds, np.stack([data["y"], data["y"][::-1]]), 0.3, 10)
    assert stacked.shape == (2, 2, len(data["y"]))
    np.testing.assert_array_equal(stacked[1, 1], sw.corrupt_labels(
        sw.label_noise_key(key, 3), data["y"][::-1], 0.3))
    clean = driver.training_labels(key, seeds, data["y"], 0.0, 10)
    np.testing.assert_array_equal(clean, np.broadcast_to(data["y"], clean.shape))


@pytest.mark.slow
def test_buckets_side_by_side_give_the_results_of_one_at_a_time(data):
    runs = [sw.sweep(sw.MLP_FAMILY, [3, 40, 70], data, jax.random.key(0), seeds=2, config=SHORT,
                     label_noise=0.15, progress=None, workers=workers) for workers in (1, 3)]
    for name in ("train_error", "test_error", "train_loss", "test_loss", "test_error_curve"):
        np.testing.assert_array_equal(runs[0][name], runs[1][name], err_msg=name)


@pytest.mark.slow
def test_one_bucket_spread_over_two_cores_gives_the_results_of_one_program(data):
    runs = [sw.sweep(sw.MLP_FAMILY, [6] * 4, data, jax.random.key(0), seeds=2, config=SHORT,
                     n_train=[100, 200, 300, 400], progress=None, workers=workers)
            for workers in (1, 2)]
    for name in ("train_error", "test_error", "train_loss", "test_loss", "test_error_curve"):
        np.testing.assert_array_equal(runs[0][name], runs[1][name], err_msg=name)
    assert not np.array_equal(runs[0]["train_loss"][0], runs[0]["train_loss"][3])


@pytest.mark.slow
def test_a_sweep_needs_one_threefry_key(data):
    for key in (0, jax.random.split(jax.random.key(0), 2)):
        with pytest.raises(TypeError, match="key must be a single JAX PRNG key"):
            sw.sweep(sw.MLP_FAMILY, [4], data, key, seeds=1, config=SHORT, progress=None)
    with pytest.raises(TypeError, match="key must be a threefry JAX key"):
        sw.sweep(sw.MLP_FAMILY, [4], data, jax.random.key(0, impl="rbg"), seeds=1, config=SHORT,
                 progress=None)
    legacy, typed = (sw.sweep(sw.MLP_FAMILY, [4], data, key, seeds=1, config=SHORT,
                              progress=None) for key in (jax.random.PRNGKey(7), jax.random.key(7)))
    np.testing.assert_array_equal(legacy["test_error_curve"], typed["test_error_curve"])
    with pytest.raises(ValueError, match="workers must be a positive integer"):
        sw.sweep(sw.MLP_FAMILY, [4], data, jax.random.key(0), seeds=1, config=SHORT, workers=0,
                 progress=None)


@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
def test_the_host_made_optimizer_state_is_optaxs_initial_state(optimizer):
    config = sw.SweepConfig(optimizer=optimizer, steps=10, chunk=10)
    words = np.random.default_rng(3).integers(0, 2**32, (2, 3, 8, 4), dtype=np.uint32)
    _, state, _ = driver.initial_state(sw.CNN_FAMILY, config, words, np.array([3, 5]), 5, 40, 10,
                                       np.zeros((2, 3, 7), np.int32))
    expected = jax.vmap(jax.vmap(config.transformation().init))(state.params)
    assert jax.tree.structure(state.opt_state) == jax.tree.structure(expected)
    for made, init in zip(jax.tree.leaves(state.opt_state), jax.tree.leaves(expected)):
        assert made.shape == init.shape and made.dtype == init.dtype
        np.testing.assert_array_equal(made, init)


@pytest.mark.slow
def test_a_diverging_model_leaves_every_other_curve_intact_and_aligned(data):
    """Configuration 0 (the one the curve's columns were once chosen by) diverges at a learning
    rate of 1e3; every other model's curve, one column per `eval_steps`, equals its curve in a
    sweep without it."""
    config = SHORT.replace(eval_every=10)
    with_divergent = sw.sweep(sw.MLP_FAMILY, [8, 8, 16], data, jax.random.key(0), seeds=2,
                              progress=None,
                              config=config.replace(learning_rate=[1e3, 0.01, 0.01]))
    without = sw.sweep(sw.MLP_FAMILY, [8, 16], data, jax.random.key(0), seeds=2, progress=None,
                       config=config)
    assert (with_divergent["train_loss"][0] > 100).all()  # it did diverge (chance: 2.3)
    curve = with_divergent["test_error_curve"]
    assert curve.shape == (3, 2, 7) and with_divergent["eval_steps"].tolist() == list(
        range(0, 61, 10))
    np.testing.assert_array_equal(curve[..., -1], with_divergent["test_error"])
    np.testing.assert_allclose(curve[1:], without["test_error_curve"], atol=0.11)
    assert np.isfinite(curve[1:]).all()
    halfway = sw.sweep(sw.MLP_FAMILY, [8, 16], data, jax.random.key(0), seeds=2, progress=None,
                       config=config.replace(steps=30))  # the same first 30 updates
    np.testing.assert_allclose(curve[1:, :, 3], halfway["test_error"], atol=0.9)  # one example
