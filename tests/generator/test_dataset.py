"""make_dataset on the JAX-key path: shapes, dtypes, determinism, keys, normalisation."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import mnist1d_jax
from mnist1d_jax.args import SCALE_FIELDS

SMALL = mnist1d_jax.get_dataset_args(num_samples=500)


def test_shapes_and_dtypes_of_the_default_dataset():
    data = mnist1d_jax.make_dataset(jax.random.key(0))
    assert data["x"].shape == (4000, 40) and data["x_test"].shape == (1000, 40)
    assert data["y"].shape == (4000,) and data["y_test"].shape == (1000,)
    assert data["t"].shape == (40,)
    assert data["x"].dtype == jnp.float32 and data["y"].dtype == jnp.int32
    assert data["templates"]["x"].shape == (10, 12)
    np.testing.assert_allclose(data["templates"]["x"], mnist1d_jax.get_templates()["x"], atol=1e-7)


def test_classes_balanced_and_data_normalised():
    data = mnist1d_jax.make_dataset(jax.random.key(1))
    labels = np.concatenate([data["y"], data["y_test"]])
    np.testing.assert_array_equal(np.bincount(labels), [500] * 10)
    x = np.concatenate([data["x"], data["x_test"]])
    assert abs(x.mean()) < 1e-5 and abs(x.std() - 1) < 1e-5
    assert np.all(np.diff(np.asarray(data["t"])) > 0)


def test_same_key_is_bit_identical_and_other_keys_differ():
    a = mnist1d_jax.make_dataset(jax.random.key(7), SMALL)
    b = mnist1d_jax.make_dataset(jax.random.key(7), SMALL)
    c = mnist1d_jax.make_dataset(jax.random.key(8), SMALL)
    for key in ("x", "x_test", "y", "y_test", "t"):
        np.testing.assert_array_equal(a[key], b[key])
    assert not np.array_equal(a["x"], c["x"])


def test_legacy_key_and_default_key():
    typed = mnist1d_jax.make_dataset(jax.random.key(42), SMALL)
    legacy = mnist1d_jax.make_dataset(jax.random.PRNGKey(42), SMALL)
    default = mnist1d_jax.make_dataset(None, SMALL)  # jax.random.key(args.seed)
    np.testing.assert_array_equal(typed["x"], legacy["x"])
    np.testing.assert_array_equal(typed["x"], default["x"])


@pytest.mark.parametrize("key", [42, np.zeros(2, np.int64), jnp.zeros(3, jnp.uint32),
                                 jax.random.split(jax.random.key(0), 2), "seed"])
def test_bad_keys_are_rejected(key):
    with pytest.raises(TypeError, match="key must be a single JAX PRNG key"):
        mnist1d_jax.make_dataset(key, SMALL)


def test_bad_dtype_is_rejected():
    with pytest.raises(ValueError, match="dtype must be float32 or float64"):
        mnist1d_jax.make_dataset(jax.random.key(0), SMALL, dtype=jnp.int32)
    with pytest.raises(ValueError, match="enable_x64"):
        mnist1d_jax.make_dataset(jax.random.key(0), SMALL, dtype=jnp.float64)
    with pytest.raises(ValueError, match="dtype must be 'float32' or 'float64'"):
        mnist1d_jax.reference_dataset(SMALL, dtype="float16")


def test_float64_inside_enable_x64():
    with jax.enable_x64(True):
        data = mnist1d_jax.make_dataset(jax.random.key(0), SMALL, dtype=jnp.float64)
        assert data["x"].dtype == jnp.float64


def test_shuffle_seq_permutes_positions_consistently():
    plain = mnist1d_jax.make_dataset(jax.random.key(3), SMALL)
    shuffled = mnist1d_jax.make_dataset(jax.random.key(3), dict(num_samples=500, shuffle_seq=True))
    x, xs = np.asarray(plain["x"]), np.asarray(shuffled["x"])
    # one fixed permutation of the columns maps the plain data to the shuffled data
    order = [int(np.argmin(np.abs(x[:50].T[:, None] - xs[:50].T[None]).sum(-1)[:, j]))
             for j in range(40)]
    assert sorted(order) == list(range(40)) and order != list(range(40))
    np.testing.assert_allclose(x[:, order], xs, atol=1e-5)


@pytest.mark.slow
def test_make_dataset_works_inside_jit_with_traced_scales():
    @jax.jit
    def mean_abs(scale):
        args = mnist1d_jax.get_dataset_args(num_samples=100)
        args = args.replace(**{name: scale for name in SCALE_FIELDS})
        return jnp.abs(mnist1d_jax.make_dataset(jax.random.key(0), args)["x"]).mean()

    assert np.isfinite(float(mean_abs(0.5)))
