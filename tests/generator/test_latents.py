"""Regression targets: each example's random draws, on request, reproduce the example through
`transform`, in the dataset's order; off by default, and the data are the same either way."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import mnist1d_jax

ARGS = mnist1d_jax.get_dataset_args(num_samples=600)


def replayed(draws, labels, args):
    """The un-normalised examples (n, F) that `transform` makes from `draws` and the labels'
    templates."""
    templates = jnp.asarray(mnist1d_jax.get_templates()["x"], jnp.float32)
    return jax.vmap(mnist1d_jax.transform, (0, 0, None))(draws, templates[labels], args)


@pytest.mark.slow
def test_dataset_draws_reproduce_every_example_in_order():
    key = jax.random.key(4)
    data = mnist1d_jax.make_dataset(key, ARGS, with_draws=True)
    plain = mnist1d_jax.make_dataset(key, ARGS)
    assert "draws" not in plain
    for name in ("x", "x_test", "y", "y_test", "t"):
        np.testing.assert_array_equal(data[name], plain[name])
    draws = jax.tree.map(lambda a, b: jnp.concatenate([a, b]), data["draws"], data["draws_test"])
    assert data["draws"].corr_noise.shape == (480, ARGS.layout.dilated_len)
    raw = replayed(draws, jnp.concatenate([data["y"], data["y_test"]]), ARGS)
    x = jnp.concatenate([data["x"], data["x_test"]])
    np.testing.assert_allclose((raw - raw.mean()) / raw.std(), x, atol=2e-5)

    factors = mnist1d_jax.latents(data["draws"], ARGS)
    assert set(factors) == {"padding", "shift", "scale", "shear"}
    assert factors["padding"].min() >= 36 and factors["padding"].max() <= 60
    assert factors["shift"].min() >= 0 and factors["shift"].max() < 48
    assert 0.8 <= factors["scale"].min() and factors["scale"].max() < 1.2
    assert -0.375 <= factors["shear"].min() and factors["shear"].max() < 0.375
    assert len(np.unique(factors["padding"])) > 10


@pytest.mark.slow
def test_stream_draws_reproduce_the_batch():
    batch = mnist1d_jax.sample_batch(jax.random.key(1), ARGS, 64, with_draws=True)
    mean, std = mnist1d_jax.population_statistics(ARGS)
    raw = replayed(batch["draws"], batch["y"], ARGS)
    np.testing.assert_allclose((raw - mean) / std, batch["x"], atol=2e-5)
    plain = mnist1d_jax.sample_batch(jax.random.key(1), ARGS, 64)
    np.testing.assert_array_equal(plain["x"], batch["x"])
    assert set(plain) == {"x", "y"}


def test_with_draws_must_be_a_flag():
    with pytest.raises(TypeError, match="with_draws must be True or False"):
        mnist1d_jax.make_dataset(None, ARGS, with_draws="yes")
    with pytest.raises(TypeError, match="with_draws must be True or False"):
        mnist1d_jax.sample_batch(jax.random.key(0), ARGS, 8, with_draws=1)
