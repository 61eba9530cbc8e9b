"""JAX keys in a form that pickles into loader worker processes."""

from __future__ import annotations

import jax
import numpy as np

from ..checks import check_key


def key_data(key) -> tuple[str, np.ndarray]:
    """A JAX key as (implementation name, uint32 key data)."""
    key = check_key(key)
    return str(jax.random.key_impl(key)), np.asarray(jax.random.key_data(key))


def wrap(impl: str, data: np.ndarray):
    """The typed JAX key of `key_data`'s output."""
    return jax.random.wrap_key_data(data, impl=impl)
