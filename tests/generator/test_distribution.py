"""The JAX-key path against the reference package in distribution."""

import jax
import mnist1d.data
import numpy as np
import pytest
from conftest import reference_args

import mnist1d_jax

N_REFERENCE, N_OURS = 10_000, 100_000

pytestmark = pytest.mark.slow  # the reference's 10,000 examples take 5 s to build


@pytest.fixture(scope="module")
def samples():
    ref = mnist1d.data.make_dataset(reference_args(num_samples=N_REFERENCE, seed=1))
    ours = mnist1d_jax.make_dataset(jax.random.key(1), dict(num_samples=N_OURS))
    return ({k: np.asarray(v, np.float64) for k, v in ref.items() if k != "templates"},
            {k: np.asarray(v, np.float64) for k, v in ours.items() if k != "templates"})


def _all(data):
    return np.concatenate([data["x"], data["x_test"]]), np.concatenate([data["y"], data["y_test"]])


def test_class_balance_in_both_splits(samples):
    _, ours = samples
    for key, size in (("y", 0.8 * N_OURS), ("y_test", 0.2 * N_OURS)):
        counts = np.bincount(ours[key].astype(int), minlength=10)
        expected = size / 10
        # a random split of a balanced set: hypergeometric, std below sqrt(expected)
        assert np.all(np.abs(counts - expected) < 5 * np.sqrt(expected)), counts


def test_per_position_mean_and_std_match_the_reference(samples):
    (x_ref, _), (x_ours, _) = _all(samples[0]), _all(samples[1])
    mean_ref, mean_ours = x_ref.mean(0), x_ours.mean(0)
    se_mean = np.sqrt(x_ref.var(0) / len(x_ref) + x_ours.var(0) / len(x_ours))
    assert np.all(np.abs(mean_ref - mean_ours) < 5 * se_mean)

    def var_and_se(x):
        centred = x - x.mean(0)
        var = (centred**2).mean(0)
        return var, np.sqrt(((centred**4).mean(0) - var**2) / len(x))

    (var_ref, se_ref), (var_ours, se_ours) = var_and_se(x_ref), var_and_se(x_ours)
    assert np.all(np.abs(var_ref - var_ours) < 5 * np.sqrt(se_ref**2 + se_ours**2))


def test_per_class_mean_signal_matches_the_reference(samples):
    (x_ref, y_ref), (x_ours, y_ours) = _all(samples[0]), _all(samples[1])
    for label in range(10):
        a, b = x_ref[y_ref == label], x_ours[y_ours == label]
        se = np.sqrt(a.var(0) / len(a) + b.var(0) / len(b))
        assert np.all(np.abs(a.mean(0) - b.mean(0)) < 5.5 * se), label


def test_t_grid_is_scaled_like_the_reference(samples):
    ref, ours = samples
    # t differs only through the dataset std, which agrees to sampling error
    np.testing.assert_allclose(ours["t"], ref["t"], rtol=0.02)
