"""Hyperparameters are traced leaves, as the dataset's scales are: every lab configuration is a
pytree whose floats (learning rate, momentum, weight decay) are leaves and whose sizes and
counts are static; SimCLR's rates and a sweep's label noise are arguments, not constants. One
compiled program serves every value (counted with `jax.monitoring`), and a sweep takes a
learning rate per configuration, so a learning rate x width grid is one call."""

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from conftest import Compilations

import mnist1d_jax
from mnist1d_jax.lab import contrastive, lottery, nn, sweeps, training


@pytest.fixture(scope="module")
def data():
    d = mnist1d_jax.make_dataset(jax.random.key(0), mnist1d_jax.get_dataset_args(
        num_samples=600))
    return {k: np.asarray(d[k]) for k in ("x", "y", "x_test", "y_test")}


CONFIGS = [training.TrainConfig(), sweeps.SweepConfig(), lottery.TicketConfig()]


@pytest.mark.parametrize("config", CONFIGS, ids=lambda c: type(c).__name__)
def test_configurations_are_pytrees_of_their_rates(config):
    leaves, treedef = jax.tree.flatten(config)
    assert leaves == [getattr(config, name) for name in config.TRACED]
    assert "learning_rate" in config.TRACED and "batch_size" not in config.TRACED
    doubled = jax.tree.map(lambda v: 2 * v, config)
    assert type(doubled) is type(config)
    assert doubled.learning_rate == 2 * config.learning_rate
    assert doubled.batch_size == config.batch_size  # static fields ride along
    other = config.replace(batch_size=config.batch_size + 1)
    assert jax.tree.structure(other) != treedef  # a static field is another program


def test_a_configuration_takes_a_tracer_inside_a_users_jit():
    @jax.jit
    def halved(rate):
        return jax.tree.map(lambda v: v / 2, training.TrainConfig(learning_rate=rate))

    assert float(halved(0.5).learning_rate) == 0.25
    rates = jax.vmap(lambda r: training.TrainConfig(learning_rate=r, weight_decay=r / 10)
                     .weight_decay)(jnp.array([0.1, 0.2]))
    np.testing.assert_allclose(rates, [0.01, 0.02], rtol=1e-6)


def test_bad_rates_are_refused_in_one_line_naming_them():
    with pytest.raises(ValueError, match=r"learning_rate must be a finite number in \(0, 1000\]"):
        training.TrainConfig(learning_rate=0.0)
    with pytest.raises(TypeError, match="weight_decay must be a number"):
        training.TrainConfig(weight_decay=[0.1, 0.2])  # one training takes one value
    with pytest.raises(ValueError, match=r"momentum\[1\] must be a finite number in \[0, 1\)"):
        sweeps.SweepConfig(momentum=[0.5, 1.0])
    with pytest.raises(TypeError, match="learning_rate must be a number"):
        lottery.TicketConfig(learning_rate="fast")


@pytest.mark.slow
def test_training_compiles_once_for_every_learning_rate_and_weight_decay(data):
    config = training.TrainConfig(total_steps=20, eval_every=10)
    results = []
    with Compilations() as counted:
        for rate, decay in ((1e-3, 0.0), (1e-2, 0.0), (1e-2, 1e-2)):
            results.append(training.train(nn.MLP, data, jax.random.split(jax.random.key(0), 2),
                                          config=config.replace(learning_rate=rate,
                                                                weight_decay=decay)))
    assert counted["_train"] == 1
    losses = [r["train_loss"][:, -1] for r in results]
    assert not np.array_equal(losses[0], losses[1]) and not np.array_equal(losses[1], losses[2])
    again = training.train(nn.MLP, data, jax.random.split(jax.random.key(0), 2),
                           config=config.replace(learning_rate=1e-2))
    np.testing.assert_array_equal(again["train_loss"], results[1]["train_loss"])


SHORT = sweeps.SweepConfig(steps=40, chunk=20, batch_size=50, eval_every=20)


@pytest.mark.slow
def test_a_learning_rate_by_width_grid_is_one_call_equal_to_separate_sweeps(data):
    rates, widths = [0.01, 0.05, 0.2], [8, 32]
    with Compilations() as counted:
        grid = sweeps.sweep(sweeps.MLP_FAMILY, np.repeat(widths, len(rates)), data,
                            jax.random.key(0), seeds=2,
                            config=SHORT.replace(learning_rate=rates * len(widths),
                                                 momentum=[0.0, 0.5, 0.9] * len(widths)),
                            label_noise=0.1, progress=None, workers=1)  # one bucket: not spread
    assert counted["_bucket_program"] == 1  # one bucket, one chunk length
    with Compilations() as counted:
        for i, (rate, momentum) in enumerate(zip(rates, [0.0, 0.5, 0.9])):
            alone = sweeps.sweep(sweeps.MLP_FAMILY, widths, data, jax.random.key(0), seeds=2,
                                 config=SHORT.replace(learning_rate=rate, momentum=momentum),
                                 label_noise=0.2 + i / 10, progress=None, workers=1)
            if i == 0:
                first = alone
    assert counted["_bucket_program"] == 1  # for C = 2 configurations
    assert counted["_noisy_labels"] == 0  # the grid's, with its other fraction
    same_noise = sweeps.sweep(sweeps.MLP_FAMILY, widths, data, jax.random.key(0), seeds=2,
                              config=SHORT.replace(learning_rate=rates[0], momentum=0.0),
                              label_noise=0.1, progress=None, workers=1)
    for name in ("train_loss", "test_error", "test_error_curve"):
        np.testing.assert_array_equal(grid[name][[0, 3]], same_noise[name], err_msg=name)
    assert not np.array_equal(first["train_loss"], same_noise["train_loss"])  # the noise counts
    assert not np.array_equal(grid["train_loss"][0], grid["train_loss"][1])  # the rate counts


def test_a_sweep_refuses_rates_that_do_not_match_its_configurations(data):
    with pytest.raises(ValueError, match=r"config.learning_rate gives 3 values for 2 "
                                         r"configurations"):
        sweeps.sweep(sweeps.MLP_FAMILY, [4, 8], data, jax.random.key(0), seeds=1,
                     config=SHORT.replace(learning_rate=[0.1, 0.2, 0.3]), progress=None)


@pytest.mark.slow
def test_lottery_and_simclr_compile_once_for_every_rate(data):
    small = lottery.TicketConfig(total_steps=10, eval_every=5, hidden=8)
    with Compilations() as counted:
        found = [lottery.search(jax.random.key(1), data, [0.0, 0.5], trials=1,
                                methods=("magnitude",), config=small.replace(learning_rate=rate))
                 for rate in (1e-2, 3e-2)]
        trained = [contrastive.train(jax.random.key(2), data, epochs=1, batch_size=100,
                                     learning_rate=rate, tau=tau)
                   for rate, tau in ((1e-2, 0.5), (1e-3, 0.1))]
    assert counted["_search"] == 1 and counted["_train_program"] == 1
    assert not np.array_equal(found[0]["final_loss"], found[1]["final_loss"])
    assert not np.array_equal(trained[0][1], trained[1][1])


def test_configurations_stay_frozen_dataclasses():
    config = training.TrainConfig()
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.learning_rate = 1.0
