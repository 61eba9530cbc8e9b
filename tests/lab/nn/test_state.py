"""`nn.in_blocks`: a row-wise function over many rows, in bounded memory."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from mnist1d_jax.lab import nn

W = jax.random.normal(jax.random.key(0), (40, 512)) / 6
V = jax.random.normal(jax.random.key(1), (512, 10)) / 20


def layer(x):
    """(n, 40) -> logits (n, 10) and hidden sums (n,): a (n, 512) hidden layer in between."""
    h = jax.nn.relu(x @ W)
    return {"logits": h @ V, "total": h.sum(-1)}


@pytest.mark.parametrize("n, rows", [(5000, 1024), (2048, 1024), (700, 1024), (33, 8)])
def test_in_blocks_equals_the_whole_call(n, rows):
    x = jax.random.normal(jax.random.key(2), (n, 40))
    got, want = jax.jit(lambda x: nn.in_blocks(layer, x, rows))(x), jax.jit(layer)(x)
    for name in want:
        assert got[name].shape == want[name].shape
        np.testing.assert_allclose(got[name], want[name], rtol=1e-5, atol=1e-5)


def test_in_blocks_under_vmap_keeps_each_run_apart():
    x = jax.random.normal(jax.random.key(3), (3, 2500, 40)) * jnp.arange(1, 4)[:, None, None]
    got = jax.jit(jax.vmap(lambda x: nn.in_blocks(layer, x, 1000)))(x)
    for run in range(3):
        np.testing.assert_allclose(got["logits"][run], layer(x[run])["logits"], rtol=1e-5,
                                   atol=1e-5)


def test_in_blocks_temporaries_scale_with_the_block_not_the_rows():
    x = jax.ShapeDtypeStruct((20_000, 40), jnp.float32)
    whole = jax.jit(layer).lower(x).compile().memory_analysis().temp_size_in_bytes
    blocked = jax.jit(lambda x: nn.in_blocks(layer, x, 1000)).lower(x).compile()
    hidden = 20_000 * 512 * 4  # the whole call's (n, 512) hidden layer
    assert whole >= hidden
    assert blocked.memory_analysis().temp_size_in_bytes < hidden / 4


@pytest.mark.parametrize("rows, error", [(0, ValueError), (-3, ValueError), (2.5, TypeError)])
def test_in_blocks_refuses_a_block_that_is_not_a_positive_integer(rows, error):
    with pytest.raises(error, match="rows must be a positive integer"):
        nn.in_blocks(layer, jnp.ones((50, 40)), rows)
