"""The paper's supervised training (`training.train`, `train_on_stream`, `train_table`): curves,
keys and vmapped runs, streams, shuffled positions, input checks, compiling ahead."""

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

import mnist1d_jax
from mnist1d_jax.lab import nn, training


@pytest.fixture(scope="module")
def data():
    return mnist1d_jax.reference_dataset(mnist1d_jax.get_dataset_args(num_samples=2000),
                                         dtype="float32")


SHORT = training.TrainConfig(total_steps=300, eval_every=100)


@pytest.mark.slow
def test_a_short_run_learns_and_returns_the_reference_curves(data):
    result = training.train(nn.MLP, data, jax.random.key(0), config=SHORT)
    assert result["train_loss"].shape == (301,)
    for key in ("test_loss", "train_acc", "test_acc"):
        assert result[key].shape == (4,)
    np.testing.assert_array_equal(SHORT.eval_steps, [0, 100, 200, 300])
    assert result["train_loss"][-20:].mean() < result["train_loss"][:5].mean() - 0.5
    assert result["test_acc"][-1] > 35 and result["train_acc"][-1] > result["train_acc"][0]
    model = nnx.merge(nnx.graphdef(nn.MLP(rngs=nnx.Rngs(0))), result["params"])
    np.testing.assert_allclose(training.accuracy(model(jnp.asarray(data["x_test"])),
                                                 data["y_test"]), result["test_acc"][-1])


@pytest.mark.slow
def test_keys_are_independent_and_vmapped_runs_equal_single_runs(data):
    keys = jax.random.split(jax.random.key(0), 2)
    both = training.train(nn.CNN, data, keys, config=SHORT)
    single = training.train(nn.CNN, data, keys[1], config=SHORT)
    # Batched and unbatched matrix products round differently and Adam amplifies the difference:
    # over the first 30 steps the runs agree to 4e-7 (keys 0-3, AVX-512 and SSE4.2 code), after
    # 60-280 steps by only 2e-4, and their final accuracies differ by up to 1.5 points.
    np.testing.assert_allclose(both["train_loss"][1, :30], single["train_loss"][:30],
                               rtol=1e-5, atol=1e-5)
    assert abs(float(both["test_acc"][1, -1] - single["test_acc"][-1])) < 4
    assert not np.allclose(both["train_loss"][0], both["train_loss"][1])
    assert (both["test_acc"][:, -1] > 40).all()
    again = training.train(nn.CNN, data, keys, config=SHORT)
    np.testing.assert_array_equal(both["train_loss"], again["train_loss"])


@pytest.mark.slow
def test_training_on_a_fresh_stream_learns(data):
    args = mnist1d_jax.get_dataset_args()
    result = training.train_on_stream(nn.MLP, jax.random.key(0), args,
                                      {"x_test": data["x_test"], "y_test": data["y_test"]},
                                      config=SHORT)
    assert result["train_loss"].shape == (301,)
    result = training.train_on_stream(nn.MLP, jax.random.split(jax.random.key(0), 2), args,
                                      {"x_test": data["x_test"], "y_test": data["y_test"]},
                                      config=SHORT)
    assert result["train_loss"].shape == (2, 301) and "train_acc" not in result
    assert (result["test_acc"][:, -1] > 35).all()
    assert not np.allclose(result["train_loss"][0], result["train_loss"][1])


@pytest.mark.slow
def test_gru_trains(data):
    config = training.TrainConfig(total_steps=150, eval_every=150)
    result = training.train(nn.GRU, data, jax.random.key(0), config=config)
    assert result["train_loss"][-10:].mean() < result["train_loss"][:5].mean() - 0.2


def test_shuffle_positions_permutes_train_and_test_alike(data):
    shuffled = training.shuffle_positions(data, seed=0)
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
        training.TrainConfig(**kwargs)


@pytest.mark.parametrize("key", [0, [0, 1], jax.random.split(jax.random.key(0), (2, 2)),
                                 jax.numpy.zeros((0,), jax.random.key(0).dtype)])
def test_bad_keys_are_named(data, key):
    with pytest.raises(TypeError, match="key must be a JAX key"):
        training.train(nn.Linear, data, key, config=SHORT)


def test_missing_data_and_bad_models_are_named(data):
    with pytest.raises(ValueError, match="x_test"):
        training.train(nn.Linear, {"x": data["x"], "y": data["y"]}, jax.random.key(0),
                       config=SHORT)
    with pytest.raises(TypeError, match="model_fn"):
        training.train("cnn", data, jax.random.key(0), config=SHORT)


@pytest.mark.slow
def test_model_factories_with_other_sizes_train(data):
    wide = functools.partial(nn.MLP, hidden_size=32)
    result = training.train(wide, data, jax.random.key(0), config=SHORT)
    assert result["params"]["linear1"]["kernel"][...].shape == (40, 32)


@pytest.mark.slow
def test_train_table_reports_each_pair_by_default(data, capsys):
    table = training.train_table({"regular": data}, {"linear": nn.Linear},
                                 jax.random.split(jax.random.key(0), 2), config=SHORT)
    final = np.asarray(table["regular"]["linear"]["result"]["test_acc"])[:, -1]
    lines = capsys.readouterr().out.splitlines()
    assert lines == [f"regular / linear: test accuracy {final.mean():.1f}% (mean of 2 runs), "
                     f"{table['regular']['linear']['wall_s']:.1f} s"]


@pytest.mark.slow
def test_train_table_compiles_ahead_and_equals_separate_runs(data):
    datasets = {"regular": data, "shuffled": training.shuffle_positions(data, seed=0)}
    model_fns = {"linear": nn.Linear, "mlp": nn.MLP}
    logged = []
    keys = jax.random.split(jax.random.key(0), 2)
    table = training.train_table(datasets, model_fns, keys, config=SHORT,
                                 log=lambda setting, name, result, seconds: logged.append(
                                  (setting, name, seconds)))
    assert [(s, n) for s, n, _ in logged] == [("regular", "linear"), ("regular", "mlp"),
                                              ("shuffled", "linear"), ("shuffled", "mlp")]
    assert all(seconds > 0 for _, _, seconds in logged)
    for setting, rows in table.items():
        for name, entry in rows.items():
            alone = training.train(model_fns[name], datasets[setting], keys, config=SHORT)
            np.testing.assert_allclose(entry["result"]["test_acc"], alone["test_acc"])
            np.testing.assert_allclose(entry["result"]["train_loss"], alone["train_loss"],
                                       rtol=1e-6)
    built = []

    def counting_linear(**kwargs):
        built.append(1)
        return nn.Linear(**kwargs)

    with pytest.raises(TypeError, match="model_fn"):  # before anything is traced or compiled
        training.train_table(datasets, {"linear": counting_linear, "bad": "cnn"},
                             jax.random.key(0), config=SHORT)
    assert built == []
