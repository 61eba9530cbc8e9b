"""Same key, same bits, wherever it is called; the example order is a keyed bijection computed per
position, so chunks and subsets equal the same rows of the whole."""

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import mnist1d_jax
from mnist1d_jax import recipe
from mnist1d_jax.draws import index_permutation

ARGS = [mnist1d_jax.get_dataset_args(),
        mnist1d_jax.get_dataset_args(shuffle_seq=True, seed=3, padding=(0, 5), scale_coeff=1.2,
                                     max_translation=100, final_seq_length=30)]


def _same(a, b):
    """`a` and `b` hold the same bits; where `a` has `noisy` masks and `b` none (label noise
    traced inside a jit but not outside, so `a` says where it changed labels), none changed."""
    extra = set(a) - set(b)
    if extra - {"noisy", "noisy_test"} or not all(not np.asarray(a[k]).any() for k in extra):
        return False
    a = {k: v for k, v in a.items() if k in b}
    return jax.tree.all(jax.tree.map(lambda u, v: bool(np.array_equal(u, v)), a, b))


@pytest.mark.slow
@pytest.mark.parametrize("args", ARGS, ids=["default", "other"])
def test_sample_batch_eager_jitted_and_closed_over_are_bit_identical(args):
    key = jax.random.key(5)
    eager = mnist1d_jax.sample_batch(key, args, 1000)
    calls = {
        "args passed": jax.jit(lambda k, a: mnist1d_jax.sample_batch(k, a, 1000))(key, args),
        "args closed over": jax.jit(lambda k: mnist1d_jax.sample_batch(k, args, 1000))(key),
        "key and args closed over": jax.jit(lambda: mnist1d_jax.sample_batch(key, args, 1000))(),
        "inside a larger step": jax.jit(
            lambda k: jax.tree.map(lambda v: v + 0, mnist1d_jax.sample_batch(k, args, 1000)))(key),
    }
    for name, batch in calls.items():
        assert _same(batch, eager), name


@pytest.mark.slow
@pytest.mark.parametrize("args", ARGS, ids=["default", "other"])
def test_make_dataset_eager_jitted_and_closed_over_are_bit_identical(args):
    args = dataclasses.replace(args, num_samples=700)
    key = jax.random.key(2)
    eager = mnist1d_jax.make_dataset(key, args)
    calls = {
        "args passed": jax.jit(lambda k, a: mnist1d_jax.make_dataset(k, a))(key, args),
        "args closed over": jax.jit(lambda k: mnist1d_jax.make_dataset(k, args))(key),
        "key and args closed over": jax.jit(lambda: mnist1d_jax.make_dataset(key, args))(),
    }
    for name, data in calls.items():
        assert _same(data, eager), name


@pytest.mark.slow
@pytest.mark.parametrize("args", ARGS, ids=["default", "other"])
def test_a_jitted_part_of_a_dataset_is_the_same_bits_as_the_whole(args):
    """XLA prunes what a jitted function does not return, and fuses the rest anew."""
    key = jax.random.key(0)
    whole = mnist1d_jax.make_dataset(key, args)
    for name in ("x", "x_test", "t", "y"):
        part = jax.jit(lambda k, name=name: mnist1d_jax.make_dataset(k, args)[name])(key)
        np.testing.assert_array_equal(part, whole[name], err_msg=name)
    batch = mnist1d_jax.sample_batch(key, args, 1000)
    np.testing.assert_array_equal(jax.jit(lambda k: mnist1d_jax.sample_batch(k, args, 1000)["x"])
                                  (key), batch["x"])


@pytest.mark.slow
def test_vmap_over_keys_gives_the_bits_of_separate_calls():
    keys = jax.random.split(jax.random.key(0), 4)
    batched = jax.vmap(lambda k: mnist1d_jax.sample_batch(k, ARGS[1], 256))(keys)
    for i in range(4):
        single = mnist1d_jax.sample_batch(keys[i], ARGS[1], 256)
        assert _same(jax.tree.map(lambda v, i=i: v[i], batched), single), i


@settings(max_examples=15, deadline=None)
@given(n=st.integers(1, 5000) | st.sampled_from([2**16, 2**16 + 1, 4**9 - 1, 4**9 + 1]),
       seed=st.integers(0, 2**32 - 1))
@pytest.mark.slow
def test_index_permutation_is_a_bijection(n, seed):
    perm = np.asarray(index_permutation(jax.random.key(seed), jnp.arange(n), n))
    np.testing.assert_array_equal(np.sort(perm), np.arange(n))


def test_index_permutation_depends_on_the_key_and_mixes():
    n = 10_000
    a = np.asarray(index_permutation(jax.random.key(0), jnp.arange(n), n))
    b = np.asarray(index_permutation(jax.random.key(1), jnp.arange(n), n))
    assert np.mean(a == b) < 0.01
    assert abs(np.corrcoef(np.arange(n), a)[0, 1]) < 0.05  # no trace of the identity
    # class order: the first 800 positions (a training split's first rows) hold every class
    labels = a // 1000
    assert np.bincount(labels[:800], minlength=10).min() > 50


@pytest.mark.slow
def test_any_chunk_of_positions_equals_the_same_rows_of_the_whole():
    args = mnist1d_jax.get_dataset_args(num_samples=1000, shuffle_seq=True)
    key = jax.random.key(9)
    seq = recipe.position_permutation(args)
    source = recipe.prepare(args, mnist1d_jax.get_templates(), jnp.float32)

    @jax.jit
    def rows(positions):
        return recipe.ordered_examples(key, positions, seq, args, jnp.float32, source)[:2]

    whole_x, whole_y = rows(jnp.arange(1000, dtype=jnp.uint32))
    part = jnp.asarray([999, 3, 500, 0, 3], jnp.uint32)
    part_x, part_y = rows(part)
    np.testing.assert_array_equal(part_y, whole_y[np.asarray(part)])
    np.testing.assert_allclose(part_x, whole_x[np.asarray(part)], rtol=0, atol=1e-6)
    np.testing.assert_array_equal(np.bincount(whole_y, minlength=10), [100] * 10)


@pytest.mark.parametrize("count", [1, 3, 8, 100])
def test_rows_by_index_are_the_batch_rows_bit_for_bit(count):
    key = jax.random.key(5)
    batch = mnist1d_jax.sample_batch(key, None, 1000)
    indices = np.random.default_rng(count).choice(1000, count, replace=False)
    rows = mnist1d_jax.sample_rows(key, None, indices)
    np.testing.assert_array_equal(rows["x"], np.asarray(batch["x"])[indices])
    np.testing.assert_array_equal(rows["y"], np.asarray(batch["y"])[indices])
