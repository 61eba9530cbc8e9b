"""Flax models: the reference's sizes, PyTorch's layer semantics, and compiled training."""

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

import mnist1d_jax
from mnist1d_jax.lab import layers, metrics, models, train


@pytest.mark.parametrize("name, count", [("linear", 410), ("mlp", 15210), ("cnn", 5210),
                                         ("gru", 5134)])
@pytest.mark.slow
def test_parameter_counts_and_shapes_match_the_reference(name, count):
    model = models.MODELS[name](rngs=nnx.Rngs(0))
    assert models.count_params(model) == count
    logits = model(jnp.ones((7, 40)))
    assert logits.shape == (7, 10) and logits.dtype == jnp.float32


@pytest.mark.slow
def test_sizes_are_keyword_arguments():
    mlp = models.MLP(hidden_size=10, rngs=nnx.Rngs(0))
    assert models.count_params(mlp) == 40 * 10 + 10 + 110 + 110
    assert models.count_params(models.GRU(bidirectional=False, rngs=nnx.Rngs(0))) == 162 + 2410
    assert models.CNN(channels=4, rngs=nnx.Rngs(0))(jnp.ones((2, 40))).shape == (2, 10)


@pytest.mark.slow
def test_conv1d_is_a_stride_2_padding_1_convolution():
    conv = layers.Conv1d(3, 5, 3, rngs=nnx.Rngs(1))
    x = jax.random.normal(jax.random.key(0), (4, 19, 3))
    expected = jax.lax.conv_general_dilated(x, conv.kernel[...], (2,), [(1, 1)],
                                            dimension_numbers=("NWC", "WIO", "NWC"))
    np.testing.assert_allclose(conv(x), expected + conv.bias[...], atol=1e-5)
    assert conv(x).shape == (4, layers.conv_output_length(19, 3), 5) == (4, 10, 5)


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
    model = models.GRU(input_size=9, rngs=nnx.Rngs(3))
    x = np.random.default_rng(0).normal(size=(5, 9))
    states = layers.run_gru(list(model.cells), jnp.asarray(x, jnp.float32)[..., None])
    expected = np.concatenate([torch_gru_direction(model.cells[0], x, False),
                               torch_gru_direction(model.cells[1], x, True)], -1)
    np.testing.assert_allclose(states, expected, atol=1e-5)


def test_initialisation_is_pytorchs_uniform():
    model = models.MLP(rngs=nnx.Rngs(0))
    kernel = np.asarray(model.linear2.kernel[...])
    assert np.abs(kernel).max() <= 0.1 and np.abs(kernel).max() > 0.099  # 1/sqrt(100)
    assert abs(kernel.std() - 0.1 / np.sqrt(3)) < 0.003


@pytest.fixture(scope="module")
def data():
    return mnist1d_jax.reference_dataset(mnist1d_jax.get_dataset_args(num_samples=2000),
                                         dtype="float32")


SHORT = train.TrainConfig(total_steps=300, eval_every=100)


@pytest.mark.slow
def test_a_short_run_learns_and_returns_the_reference_curves(data):
    result = train.train(models.MLP, data, jax.random.key(0), config=SHORT)
    assert result["train_loss"].shape == (301,)
    for key in ("test_loss", "train_acc", "test_acc"):
        assert result[key].shape == (4,)
    np.testing.assert_array_equal(SHORT.eval_steps, [0, 100, 200, 300])
    assert result["train_loss"][-20:].mean() < result["train_loss"][:5].mean() - 0.5
    assert result["test_acc"][-1] > 35 and result["train_acc"][-1] > result["train_acc"][0]
    model = nnx.merge(nnx.graphdef(models.MLP(rngs=nnx.Rngs(0))), result["params"])
    np.testing.assert_allclose(metrics.accuracy(model(jnp.asarray(data["x_test"])),
                                                data["y_test"]), result["test_acc"][-1])


@pytest.mark.slow
def test_keys_are_independent_and_vmapped_runs_equal_single_runs(data):
    keys = jax.random.split(jax.random.key(0), 2)
    both = train.train(models.CNN, data, keys, config=SHORT)
    single = train.train(models.CNN, data, keys[1], config=SHORT)
    # Batched and unbatched matrix products round differently and Adam amplifies the difference:
    # over the first 30 steps the runs agree to 4e-7 (keys 0-3, AVX-512 and SSE4.2 code), after
    # 60-280 steps by only 2e-4, and their final accuracies differ by up to 1.5 points.
    np.testing.assert_allclose(both["train_loss"][1, :30], single["train_loss"][:30],
                               rtol=1e-5, atol=1e-5)
    assert abs(float(both["test_acc"][1, -1] - single["test_acc"][-1])) < 4
    assert not np.allclose(both["train_loss"][0], both["train_loss"][1])
    assert (both["test_acc"][:, -1] > 40).all()
    again = train.train(models.CNN, data, keys, config=SHORT)
    np.testing.assert_array_equal(both["train_loss"], again["train_loss"])


@pytest.mark.slow
def test_training_on_a_fresh_stream_learns(data):
    args = mnist1d_jax.get_dataset_args()
    result = train.train_on_stream(models.MLP, jax.random.key(0), args,
                                   {"x_test": data["x_test"], "y_test": data["y_test"]},
                                   config=SHORT)
    assert result["train_loss"].shape == (301,)
    result = train.train_on_stream(models.MLP, jax.random.split(jax.random.key(0), 2), args,
                                   {"x_test": data["x_test"], "y_test": data["y_test"]},
                                   config=SHORT)
    assert result["train_loss"].shape == (2, 301) and "train_acc" not in result
    assert (result["test_acc"][:, -1] > 35).all()
    assert not np.allclose(result["train_loss"][0], result["train_loss"][1])


@pytest.mark.slow
def test_gru_trains(data):
    config = train.TrainConfig(total_steps=150, eval_every=150)
    result = train.train(models.GRU, data, jax.random.key(0), config=config)
    assert result["train_loss"][-10:].mean() < result["train_loss"][:5].mean() - 0.2


def test_shuffle_positions_permutes_train_and_test_alike(data):
    shuffled = train.shuffle_positions(data, seed=0)
    permutation = np.random.default_rng(0).permutation(40)
    np.testing.assert_array_equal(shuffled["x"], np.asarray(data["x"])[:, permutation])
    np.testing.assert_array_equal(shuffled["x_test"], np.asarray(data["x_test"])[:, permutation])
    np.testing.assert_array_equal(shuffled["y"], data["y"])
    assert not np.array_equal(shuffled["x"], data["x"])


@pytest.mark.parametrize("kwargs, message", [
    ({"batch_size": 0}, "batch_size"), ({"total_steps": -1}, "total_steps"),
    ({"eval_every": 7}, "eval_every must divide total_steps"),
    ({"learning_rate": float("nan")}, "learning_rate"), ({"weight_decay": -1.0}, "weight_decay")])
def test_bad_training_settings_are_named(kwargs, message):
    with pytest.raises(ValueError, match=message):
        train.TrainConfig(**kwargs)


@pytest.mark.parametrize("key", [0, [0, 1], jax.random.split(jax.random.key(0), (2, 2)),
                                 jax.numpy.zeros((0,), jax.random.key(0).dtype)])
def test_bad_keys_are_named(data, key):
    with pytest.raises(TypeError, match="key must be a JAX key"):
        train.train(models.Linear, data, key, config=SHORT)


def test_missing_data_and_bad_models_are_named(data):
    with pytest.raises(ValueError, match="x_test"):
        train.train(models.Linear, {"x": data["x"], "y": data["y"]}, jax.random.key(0),
                    config=SHORT)
    with pytest.raises(TypeError, match="model_fn"):
        train.train("cnn", data, jax.random.key(0), config=SHORT)


@pytest.mark.slow
def test_model_factories_with_other_sizes_train(data):
    wide = functools.partial(models.MLP, hidden_size=32)
    result = train.train(wide, data, jax.random.key(0), config=SHORT)
    assert result["params"]["linear1"]["kernel"][...].shape == (40, 32)


@pytest.mark.slow
def test_train_table_reports_each_pair_by_default(data, capsys):
    table = train.train_table({"regular": data}, {"linear": models.Linear},
                              jax.random.split(jax.random.key(0), 2), config=SHORT)
    final = np.asarray(table["regular"]["linear"]["result"]["test_acc"])[:, -1]
    lines = capsys.readouterr().out.splitlines()
    assert lines == [f"regular / linear: test accuracy {final.mean():.1f}% (mean of 2 runs), "
                     f"{table['regular']['linear']['wall_s']:.1f} s"]


@pytest.mark.slow
def test_train_table_compiles_ahead_and_equals_separate_runs(data):
    datasets = {"regular": data, "shuffled": train.shuffle_positions(data, seed=0)}
    model_fns = {"linear": models.Linear, "mlp": models.MLP}
    logged = []
    keys = jax.random.split(jax.random.key(0), 2)
    table = train.train_table(datasets, model_fns, keys, config=SHORT,
                              log=lambda setting, name, result, seconds: logged.append(
                                  (setting, name, seconds)))
    assert [(s, n) for s, n, _ in logged] == [("regular", "linear"), ("regular", "mlp"),
                                              ("shuffled", "linear"), ("shuffled", "mlp")]
    assert all(seconds > 0 for _, _, seconds in logged)
    for setting, rows in table.items():
        for name, entry in rows.items():
            alone = train.train(model_fns[name], datasets[setting], keys, config=SHORT)
            np.testing.assert_allclose(entry["result"]["test_acc"], alone["test_acc"])
            np.testing.assert_allclose(entry["result"]["train_loss"], alone["train_loss"],
                                       rtol=1e-6)
    built = []

    def counting_linear(**kwargs):
        built.append(1)
        return models.Linear(**kwargs)

    with pytest.raises(TypeError, match="model_fn"):  # before anything is traced or compiled
        train.train_table(datasets, {"linear": counting_linear, "bad": "cnn"},
                          jax.random.key(0), config=SHORT)
    assert built == []
