"""Exact parity with the published dataset and with the reference package."""

import mnist1d.data
import numpy as np
import pytest
from conftest import max_abs_diff, reference_args

import mnist1d_jax
from mnist1d_jax.verify import REBUILD_TOLERANCE

FLOAT_KEYS = ("x", "x_test", "t")


@pytest.mark.parametrize("dtype, tolerance", [("float64", REBUILD_TOLERANCE), ("float32", 1e-4)])
def test_reference_dataset_reproduces_published_pickle(reference_pickle, dtype, tolerance):
    data = mnist1d_jax.reference_dataset(dtype=dtype)
    for key in FLOAT_KEYS:
        assert data[key].dtype == np.dtype(dtype)
        assert data[key].shape == reference_pickle[key].shape
        assert max_abs_diff(data[key], reference_pickle[key]) <= tolerance, key
    for key in ("y", "y_test"):
        np.testing.assert_array_equal(data[key], reference_pickle[key])
    for key in ("x", "t", "y"):
        np.testing.assert_array_equal(data["templates"][key], reference_pickle["templates"][key])


@pytest.mark.slow
def test_the_default_dataset_matches_the_installed_reference_package():
    """Parity of the published dataset's arguments without the published file: this runs in any
    clone (the reference package is a test dependency)."""
    expected = mnist1d.data.make_dataset(mnist1d.data.get_dataset_args())
    data = mnist1d_jax.reference_dataset()
    for key in FLOAT_KEYS:
        assert data[key].shape == expected[key].shape, key
        assert max_abs_diff(data[key], expected[key]) <= REBUILD_TOLERANCE, key
    for key in ("y", "y_test"):
        np.testing.assert_array_equal(data[key], expected[key])
    for key in ("x", "t", "y"):
        np.testing.assert_array_equal(data["templates"][key], expected["templates"][key])


NON_DEFAULT = [
    dict(num_samples=600, shuffle_seq=True, seed=3),
    dict(num_samples=500, padding=[10, 20], max_translation=30, seed=11),
    dict(num_samples=400, template_len=20, final_seq_length=64, seed=5),
    dict(num_samples=1234, seed=7),
    dict(num_samples=300, seed=123, scale_coeff=1.5, corr_noise_scale=0.6, iid_noise_scale=0.1,
         shear_scale=2.0, train_split=0.5),
    dict(num_samples=200, padding=[0, 3], max_translation=200, final_seq_length=16, seed=9),
]


@pytest.mark.slow
@pytest.mark.parametrize("overrides", NON_DEFAULT, ids=lambda o: ",".join(map(str, o.items())))
def test_reference_dataset_matches_reference_package(overrides):
    expected = mnist1d.data.make_dataset(reference_args(**overrides))
    data = mnist1d_jax.reference_dataset(mnist1d_jax.get_dataset_args(**overrides))
    for key in FLOAT_KEYS:
        assert data[key].shape == expected[key].shape, key
        assert max_abs_diff(data[key], expected[key]) <= 1e-12, key
    for key in ("y", "y_test"):
        np.testing.assert_array_equal(data[key], expected[key])


def test_reference_dataset_accepts_reference_argument_object():
    args = reference_args(num_samples=100)
    data = mnist1d_jax.reference_dataset(args)  # the reference's ObjectView, `url` and all
    assert data["x"].shape == (80, 40)
