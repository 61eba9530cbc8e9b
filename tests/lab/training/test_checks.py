"""The lab's boundary: every entry point refuses bad configurations, data, seeds and keys with one
line naming the argument, before anything is traced or compiled (issue: hangs, silent wraps, NaN
losses and raw errors deep inside JAX)."""

import math

import jax
import numpy as np
import pytest

import mnist1d_jax
from mnist1d_jax.lab import contrastive, lottery, sweeps, training

DATA = mnist1d_jax.reference_dataset(mnist1d_jax.get_dataset_args(num_samples=200),
                                     dtype="float32")
QUICK = sweeps.SweepConfig(steps=10, chunk=10)


def one_line(error: BaseException) -> bool:
    return "\n" not in str(error)


def run_sweep(**kwargs):
    arguments = dict(family=sweeps.MLP_FAMILY, widths=[4], data=DATA, key=jax.random.key(0),
                     seeds=1, config=QUICK, progress=None)
    arguments.update(kwargs)
    return sweeps.sweep(arguments.pop("family"), arguments.pop("widths"), arguments.pop("data"),
                        arguments.pop("key"), **arguments)


@pytest.mark.parametrize("kwargs, error, message", [
    (dict(n_train=[2.5]), ValueError, "n_train must be integers"),
    (dict(n_train=[30.5]), ValueError, "n_train must be integers"),
    (dict(seeds=[0, 1]), TypeError, "seeds must be an integer in \\[1, 2147483647\\]"),
    (dict(seeds=0), ValueError, "seeds must be an integer in \\[1, 2147483647\\]"),
    (dict(widths=[10**6]), ValueError, "widths must be integers in \\[1, 65536\\]"),
    (dict(label_noise=math.nan), ValueError, "label_noise"),
    (dict(data={**DATA, "y": np.where(DATA["y"] == 0, 37, DATA["y"])}), ValueError,
     "labels outside"),
    (dict(data={**DATA, "y": DATA["y"] - 4}), ValueError, "labels outside"),
    (dict(data={**DATA, "y": DATA["y"] + 0.5}), ValueError, "integer labels"),
    (dict(data={**DATA, "x": np.where(DATA["x"] > 2, np.nan, DATA["x"])}), ValueError,
     "not finite"),
    (dict(data={k: v for k, v in DATA.items() if k != "x"}), ValueError, "missing \\['x'\\]"),
    (dict(family=sweeps.CNN_FAMILY,
          data={**DATA, "x": DATA["x"][:, :1], "x_test": DATA["x_test"][:, :1]}),
     ValueError, "cnn cannot take signals of 1 points"),
    (dict(family=sweeps.pooling_family("max"), data={**DATA, "x": DATA["x"][:, :6],
                                                     "x_test": DATA["x_test"][:, :6]}),
     ValueError, "multiple of 4"),
    (dict(family=sweeps.pooling_family("stride"),
          data={**DATA, "x": np.pad(DATA["x"], ((0, 0), (0, 1))),
                "x_test": np.pad(DATA["x_test"], ((0, 0), (0, 1)))}),
     ValueError, "41 points"),
    (dict(key=0), TypeError, "key"),
    (dict(key="x"), TypeError, "key"),
])
def test_sweep_refuses_with_one_line(kwargs, error, message):
    with pytest.raises(error, match=message) as caught:
        run_sweep(**kwargs)
    assert one_line(caught.value)


@pytest.mark.parametrize("kwargs, error, message", [
    (dict(learning_rate=math.nan), ValueError, "learning_rate"),
    (dict(learning_rate=math.inf), ValueError, "learning_rate"),
    (dict(learning_rate=1e30), ValueError,
     "learning_rate must be a finite number in \\(0, 1000\\]"),
    (dict(learning_rate=-0.1), ValueError, "learning_rate"),
    (dict(momentum=math.nan), ValueError, "momentum"),
    (dict(momentum=1.0), ValueError, "momentum"),
    (dict(eval_every=0.5), TypeError, "eval_every"),
    (dict(steps=2.0), TypeError, "steps"),
])
def test_sweep_config_refuses_with_one_line(kwargs, error, message):
    with pytest.raises(error, match=message):
        sweeps.SweepConfig(**kwargs)


def test_every_config_takes_the_same_learning_rates():
    for config in (training.TrainConfig, lottery.TicketConfig, sweeps.SweepConfig):
        for bad in (math.nan, math.inf, 1e30, -0.1, 0.0, True, "0.1"):
            with pytest.raises((TypeError, ValueError), match="learning_rate"):
                config(learning_rate=bad)
        assert config(learning_rate=np.float32(0.05)).learning_rate == np.float32(0.05)


@pytest.mark.parametrize("kwargs, error, message", [
    (dict(sparsities=[0.5, math.nan]), ValueError, "sparsities\\[1\\]"),
    (dict(sparsities=[0.5, 1.5]), ValueError, "sparsities\\[1\\]"),
    (dict(data={**DATA, "y": DATA["y"][:10]}), ValueError, "shape \\(10,\\) for signals"),
    (dict(data={**DATA, "y": DATA["y"] + 37}), ValueError, "labels outside"),
    (dict(key=0), TypeError, "key"),
    (dict(key=None), TypeError, "key"),
    (dict(key="x"), TypeError, "key"),
    (dict(trials=1.5), TypeError, "trials"),
])
def test_lottery_search_refuses_with_one_line(kwargs, error, message):
    arguments = dict(key=jax.random.key(0), data=DATA, sparsities=[0.0, 0.5],
                     config=lottery.TicketConfig(total_steps=10, eval_every=5, hidden=8))
    arguments.update(kwargs)
    with pytest.raises(error, match=message) as caught:
        lottery.search(arguments.pop("key"), arguments.pop("data"), arguments.pop("sparsities"),
                       **arguments)
    assert one_line(caught.value)


@pytest.mark.parametrize("kwargs, error, message", [
    (dict(epochs=0), ValueError, "epochs"),
    (dict(epochs=-2), ValueError, "epochs"),
    (dict(epochs=2.7), TypeError, "epochs"),
    (dict(batch_size=1000), ValueError, "batch_size must be an integer in \\[2, 160\\]"),
    (dict(learning_rate=math.nan), ValueError, "learning_rate"),
    (dict(tau=0.0), ValueError, "tau"),
    (dict(data={"y": DATA["y"]}), ValueError, "missing \\['x'\\]"),
    (dict(data={"x": np.full((20, 40), np.nan, np.float32)}), ValueError, "not finite"),
    (dict(key=0), TypeError, "key"),
    (dict(key="x"), TypeError, "key"),
])
def test_contrastive_training_refuses_with_one_line(kwargs, error, message):
    arguments = dict(key=jax.random.key(0), data=DATA, epochs=1, batch_size=40)
    arguments.update(kwargs)
    with pytest.raises(error, match=message) as caught:
        contrastive.train(arguments.pop("key"), arguments.pop("data"), **arguments)
    assert one_line(caught.value)


def test_training_refuses_bad_data_and_configs():
    with pytest.raises(ValueError, match="labels outside"):
        training.train(lambda rngs: None, {**DATA, "y": DATA["y"] + 10}, jax.random.key(0))
    with pytest.raises(TypeError, match="config must be a training.TrainConfig"):
        training.train(lambda rngs: None, DATA, jax.random.key(0), config=sweeps.SweepConfig())
    with pytest.raises(ValueError, match="datasets\\['regular'\\]"):
        training.train_table({"regular": {**DATA, "x": DATA["x"][:, None]}}, {}, jax.random.key(0))


@pytest.mark.parametrize("call, error, message", [
    (lambda m: m.learn_learning_rate(0, DATA, 0.5), TypeError, "key"),
    (lambda m: m.learn_learning_rate(jax.random.key(0), DATA, math.nan), ValueError,
     "learning_rate"),
    (lambda m: m.learn_learning_rate(jax.random.key(0), DATA, 0.5, outer_steps=2.5), TypeError,
     "outer_steps"),
    (lambda m: m.learn_learning_rate(jax.random.key(0), {"x": DATA["x"]}, 0.5), ValueError,
     "missing \\['y'\\]"),
    (lambda m: m.learn_activation(jax.random.key(0), {**DATA, "y_test": DATA["y_test"] + 20}),
     ValueError, "labels outside"),
    (lambda m: m.learn_activation(jax.random.key(0), DATA, inner_steps=10, last=20), ValueError,
     "last must be an integer in \\[1, 10\\]"),
    (lambda m: m.learn_activation(jax.random.key(0), DATA, clip=0.0), ValueError, "clip"),
    (lambda m: m.learn_augmentation(jax.random.key(0), None, {"x": DATA["x"]}), ValueError,
     "target is missing"),
    (lambda m: m.learn_augmentation(jax.random.key(0), None, DATA, learning_rate=-1), ValueError,
     "learning_rate"),
    (lambda m: m.train_with_activation(7, jax.nn.relu, DATA), TypeError, "key must be"),
    (lambda m: m.train_with_activation(jax.random.key(0), "relu", DATA), TypeError,
     "activation must be"),
    (lambda m: m.train_with_activation(jax.random.key(0), jax.nn.relu, DATA, steps=0),
     ValueError, "steps"),
    (lambda m: m.train_with_activation(jax.random.key(0), jax.nn.relu, {"x": DATA["x"]}),
     ValueError, "missing"),
])
def test_metalearning_refuses_with_one_line(call, error, message):
    from mnist1d_jax.lab import meta

    with pytest.raises(error, match=message) as caught:
        call(meta)
    assert one_line(caught.value)
