"""The limits benchmark's flop counter (benchmarks/limits.py): the dense work of matrix products
and convolutions, scans counted once per step, against counts made by hand."""

import os
import sys

import jax
import jax.numpy as jnp
import pytest
from flax import nnx

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "benchmarks"))
import limits  # noqa: E402

from mnist1d_jax.lab import nn  # noqa: E402


def test_products_convolutions_and_scans_are_counted_by_hand():
    a = jnp.ones((3, 5))
    assert limits.flops_of(lambda a, b: a @ b, a, jnp.ones((5, 7))) == 2 * 3 * 5 * 7
    x, kernel = jnp.ones((1, 3, 10)), jnp.ones((4, 3, 5))  # 3 -> 4 channels, width 5
    conv = limits.flops_of(lambda x, k: jax.lax.conv_general_dilated(x, k, (1,), "VALID"),
                           x, kernel)
    assert conv == 2 * 4 * 6 * 3 * 5  # 4 x 6 outputs, each 3 x 5 multiply-adds
    m = jnp.ones((4, 4))
    scanned = limits.flops_of(lambda m: jax.lax.scan(lambda c, _: (c @ m, None), m, None,
                                                     length=7)[0], m)
    assert scanned == 7 * 2 * 4 ** 3


@pytest.mark.slow
def test_a_models_step_and_forward_pass():
    step, forward = limits.step_and_eval(nn.MLP(rngs=nnx.Rngs(0)), batch=10)
    assert forward == 2 * (40 * 100 + 100 * 100 + 100 * 10)  # the paper's MLP, one example
    # the backward pass: both products per layer but the first layer's input gradient
    assert step == 10 * (forward + 2 * (100 * 100 + 100 * 10) + 2 * (40 * 100 + 100 * 100
                                                                       + 100 * 10))
