"""Each transform step against the reference's own function, fed the same random draws."""

import importlib

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.ndimage
from conftest import max_abs_diff, reference_args

import mnist1d_jax
from mnist1d_jax import transforms

R = importlib.import_module("mnist1d.transform")  # the package re-exports a function of that name
ARGS = mnist1d_jax.get_dataset_args()


@pytest.fixture(autouse=True)
def float64():
    with jax.enable_x64(True):
        yield


@pytest.mark.parametrize("n_in, n_out", [(12, 72), (72, 40), (48, 72), (71, 72), (2, 9), (40, 3)])
def test_interpolate_matches_reference(n_in, n_out):
    x = np.random.default_rng(n_in).normal(size=n_in)
    ours = transforms.interpolate(jnp.asarray(x), transforms.interp_table(n_in, n_out))
    np.testing.assert_array_equal(np.asarray(ours), R.interpolate(x, n_out))


@pytest.mark.parametrize("seed", range(8))
def test_pad_and_dilate_matches_reference(seed):
    template = mnist1d_jax.get_templates()["x"][seed % 10]
    np.random.seed(seed)
    expected = R.interpolate(R.pad(template + transforms.EPS, ARGS.padding), 72)
    padding = ARGS.padding[0] + int(np.random.RandomState(seed).rand() * 25)
    ours = transforms.pad_and_dilate(jnp.asarray(template), jnp.asarray(padding), ARGS)
    assert max_abs_diff(ours, expected) <= 1e-15
    assert np.array_equal(np.asarray(ours) == 0, expected == 0)  # the padding mask is exact


def test_dilation_bank_equals_pad_and_dilate_for_every_padding():
    templates = mnist1d_jax.get_templates()["x"]
    bank = transforms.dilation_bank(templates, ARGS.padding, 72)
    for p in range(ARGS.padding[0], ARGS.padding[1] + 1):
        ours = transforms.pad_and_dilate(jnp.asarray(templates[3]), jnp.asarray(p), ARGS)
        np.testing.assert_array_equal(bank[3, p - ARGS.padding[0]], np.asarray(ours))


@pytest.mark.parametrize("max_translation", [1, 48, 72, 100])
def test_translate_matches_reference(max_translation):
    x = np.arange(72.0)
    for seed in range(10):
        np.random.seed(seed)
        expected = R.translate(x, max_translation)
        shift = np.random.RandomState(seed).choice(max_translation)
        np.testing.assert_array_equal(np.asarray(transforms.translate(jnp.asarray(x), shift)),
                                      expected)


@pytest.mark.parametrize("n", [1, 2, 5, 9, 17, 40, 72])
def test_gaussian_filter_matrix_matches_scipy(n):
    z = np.random.default_rng(n).normal(size=n)
    assert max_abs_diff(transforms.gaussian_filter_matrix(n) @ z,
                        scipy.ndimage.gaussian_filter(z, 2)) <= 1e-14


@pytest.mark.parametrize("n", [1, 2, 5, 9, 17, 40, 72])
@pytest.mark.parametrize("implementation", ["gaussian_filter_stencil", "gaussian_filter"])
def test_gaussian_filters_match_scipy(n, implementation):
    z = np.random.default_rng(n).normal(size=(3, n))
    assert max_abs_diff(getattr(transforms, implementation)(jnp.asarray(z)),
                        scipy.ndimage.gaussian_filter1d(z, 2, axis=-1)) <= 1e-14


def test_corr_noise_matches_reference():
    x = np.where(np.arange(72) % 3 == 0, 0.0, np.linspace(1, 2, 72))
    np.random.seed(1)
    noise = R.corr_noise_like(x, 0.25)
    expected = np.where(x != 0, x, noise)
    z = np.random.RandomState(1).randn(72)
    ours = transforms.corr_noise(jnp.asarray(x), jnp.asarray(z), 0.25)
    assert max_abs_diff(ours, expected) <= 1e-15


def test_iid_noise_matches_reference():
    x = np.linspace(-1, 1, 72)
    np.random.seed(2)
    expected = x + R.iid_noise_like(x, 0.02)
    z = np.random.RandomState(2).randn(72)
    assert max_abs_diff(transforms.iid_noise(jnp.asarray(x), jnp.asarray(z), 0.02), expected) == 0


def test_shear_matches_reference():
    x = np.cos(np.arange(72.0))
    np.random.seed(3)
    expected = R.shear(x, 0.75)
    u = np.random.RandomState(3).rand()
    assert max_abs_diff(transforms.shear(jnp.asarray(x), u, 0.75), expected) <= 1e-15


def test_scale_is_the_reference_expression():
    # The reference scales inline: new_x *= 1 + scale_coeff * (rand() - 0.5).
    x = np.linspace(0.5, 1.5, 72)
    expected = x * (1 + 0.4 * (0.9 - 0.5))
    np.testing.assert_array_equal(np.asarray(transforms.scale(jnp.asarray(x), 0.9, 0.4)), expected)


@pytest.mark.parametrize("overrides", [{}, dict(padding=[0, 5], max_translation=90, seed=4),
                                       dict(template_len=30, final_seq_length=100, seed=8)])
@pytest.mark.slow
def test_whole_transform_matches_reference(overrides):
    args = mnist1d_jax.get_dataset_args(**overrides)
    templates = mnist1d_jax.get_templates()
    for label in range(10):
        np.random.seed(args.seed + label)
        expected, _ = R.transform(templates["x"][label], templates["t"],
                                  reference_args(**overrides))
        replay = mnist1d_jax.replay_numpy(mnist1d_jax.get_dataset_args(
            num_samples=10, **{**overrides, "seed": args.seed + label}))
        draws = jax.tree.map(lambda a: jnp.asarray(a[0]), replay.draws)
        ours = mnist1d_jax.transform(draws, jnp.asarray(templates["x"][label]), args)
        assert max_abs_diff(ours, expected) <= 1e-13


@pytest.mark.slow
def test_transform_works_under_vmap_and_jit():
    templates = jnp.asarray(mnist1d_jax.get_templates()["x"])
    keys = jax.random.split(jax.random.key(0), 10)
    draws = jax.vmap(lambda k: mnist1d_jax.draw(k, ARGS, jnp.float64))(keys)
    batched = jax.jit(jax.vmap(mnist1d_jax.transform, (0, 0, None)))(draws, templates, ARGS)
    single = mnist1d_jax.transform(jax.tree.map(lambda a: a[4], draws), templates[4], ARGS)
    assert batched.shape == (10, 40)
    assert max_abs_diff(batched[4], single) <= 1e-12
