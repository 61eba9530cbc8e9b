"""sample_batch: the on-device stream, its statistics, and its use inside jit."""

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import mnist1d_jax
from mnist1d_jax import recipe
from mnist1d_jax.draws import draw_labelled
from mnist1d_jax.templates import check_templates

ARGS = mnist1d_jax.get_dataset_args()
OTHER = mnist1d_jax.get_dataset_args(padding=(0, 5), max_translation=100, scale_coeff=1.2,
                                     corr_noise_scale=0.7, final_seq_length=30)


SHAPES = np.random.default_rng(1).normal(size=(20, 16))


@pytest.mark.parametrize("args, shapes", [(ARGS, None), (OTHER, None), (ARGS, SHAPES),
                                          (OTHER, SHAPES[:2, :8])],
                         ids=["default", "other", "20 classes of 16 points",
                              "other, 2 classes of 8 points"])
def test_population_statistics_match_a_monte_carlo_sample(args, shapes):
    templates = None if shapes is None else mnist1d_jax.make_templates(shapes)
    mean, std = mnist1d_jax.population_statistics(args, templates)
    source = recipe.prepare(args, check_templates(templates), jnp.float32)

    @jax.jit
    def raw(key):
        labels, draws = jax.vmap(lambda i: draw_labelled(jax.random.fold_in(key, i), args,
                                                         num_classes=len(source.bank)))(
            jnp.arange(100_000, dtype=jnp.uint32))
        return recipe.examples(draws, labels, args, jnp.float32, source.bank)

    x = np.asarray(raw(jax.random.key(11)), np.float64)
    per_example = x.mean(1)  # values within an example are correlated: use example means
    assert abs(x.mean() - mean) < 5 * per_example.std() / np.sqrt(len(x))
    assert abs(x.std() / float(std) - 1) < 0.01


@pytest.mark.slow
def test_stream_matches_make_dataset_scale():
    batch = mnist1d_jax.sample_batch(jax.random.key(0), ARGS, 100_000)
    data = mnist1d_jax.make_dataset(jax.random.key(0), dataclasses.replace(ARGS,
                                                                           num_samples=100_000))
    x = np.concatenate([data["x"], data["x_test"]])
    assert batch["x"].shape == (100_000, 40) and batch["y"].shape == (100_000,)
    assert abs(float(batch["x"].mean()) - x.mean()) < 0.02
    assert abs(float(batch["x"].std()) / x.std() - 1) < 0.02
    counts = np.bincount(np.asarray(batch["y"]), minlength=10)
    assert np.all(np.abs(counts - 10_000) < 5 * np.sqrt(10_000))


def test_stream_inside_a_jitted_step_does_not_recompile_per_key():
    traces = []

    @jax.jit
    def step(key):
        traces.append(1)
        batch = mnist1d_jax.sample_batch(key, ARGS, 32)
        return batch["x"].sum(), batch["y"]

    outputs = [step(jax.random.key(i)) for i in range(4)]
    assert len(traces) == 1
    assert not np.array_equal(outputs[0][1], outputs[1][1]) or \
        outputs[0][0] != outputs[1][0]


@pytest.mark.slow
def test_stream_is_deterministic_and_prefix_stable():
    a = mnist1d_jax.sample_batch(jax.random.key(4), ARGS, 64)
    b = mnist1d_jax.sample_batch(jax.random.PRNGKey(4), ARGS, 128)
    np.testing.assert_array_equal(a["x"], b["x"][:64])  # example i depends on (key, i) only
    np.testing.assert_array_equal(a["y"], b["y"][:64])


@pytest.mark.slow
def test_stream_shuffle_seq_shares_the_dataset_permutation():
    args = mnist1d_jax.get_dataset_args(shuffle_seq=True, seed=5)
    perm = recipe.position_permutation(args)
    plain = mnist1d_jax.sample_batch(jax.random.key(1), dataclasses.replace(args,
                                                                            shuffle_seq=False), 16)
    shuffled = mnist1d_jax.sample_batch(jax.random.key(1), args, 16)
    np.testing.assert_allclose(np.asarray(plain["x"])[:, perm], shuffled["x"], atol=1e-6)
    assert sorted(perm) == list(range(40)) and list(perm) != list(range(40))


@pytest.mark.parametrize("batch_size, error", [(0, ValueError), (-3, ValueError),
                                               (2.5, TypeError), (True, TypeError)])
def test_bad_batch_size(batch_size, error):
    with pytest.raises(error, match=r"batch_size must be an integer in \[1, 2147483647\]"):
        mnist1d_jax.sample_batch(jax.random.key(0), ARGS, batch_size)


def test_bad_sharding():
    with pytest.raises(TypeError, match="sharding must be a jax.sharding.NamedSharding"):
        mnist1d_jax.sample_batch(jax.random.key(0), ARGS, 8, sharding="batch")
    with pytest.raises(TypeError, match="key must be"):
        mnist1d_jax.sample_batch(0, ARGS, 8)
