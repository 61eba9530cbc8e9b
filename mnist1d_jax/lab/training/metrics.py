"""The lab's metrics, each of (n, C) logits and (n,) integer labels, with optional (n,) row
weights (a sweep's padded training sets weigh their padding 0): the softmax cross-entropy that
every model trains on, and accuracy and error in percent."""

from __future__ import annotations

import jax.numpy as jnp
import optax

__all__ = ["accuracy", "cross_entropy", "error"]


def _mean(values, weights):
    """The mean of values (n,), or their weighted mean `sum(w v) / sum(w)`."""
    return values.mean() if weights is None else (values * weights).sum() / weights.sum()


def cross_entropy(logits, labels, weights=None):
    """Mean softmax cross-entropy (), as `torch.nn.CrossEntropyLoss`; weighted by `weights`."""
    return _mean(optax.softmax_cross_entropy_with_integer_labels(logits, labels), weights)


def accuracy(logits, labels, weights=None):
    """Percentage () of rows whose arg-max equals the label; weighted by `weights`."""
    return 100 * _mean(jnp.argmax(logits, -1) == labels, weights)


def error(logits, labels, weights=None):
    """Percentage () of rows whose arg-max is not the label; weighted by `weights`."""
    return 100 * _mean((jnp.argmax(logits, -1) != labels).astype(jnp.float32), weights)
