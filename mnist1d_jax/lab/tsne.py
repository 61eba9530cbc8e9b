"""t-SNE (van der Maaten & Hinton 2008) in JAX: exact (dense) affinities, one compiled call.

For the few thousand points of MNIST-1D's test set the exact O(n^2) method is fast and needs no
extra dependency; it follows scikit-learn's defaults (perplexity 30, PCA initialisation scaled
to standard deviation 1e-4, early exaggeration 12 at momentum 0.5 for the first 250 iterations
(a quarter of a shorter run), then momentum 0.8, learning rate max(n / 48, 50), per-coordinate
gains).
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np

from ..checks import check_integer, check_real
from .training import check_data

__all__ = ["tsne"]


def _geometric_mean(low, high):
    """sqrt(low * high) without forming the product, which overflows float32 for the widest
    bounds (identical rows push every precision to its upper bound)."""
    return jnp.sqrt(low) * jnp.sqrt(high)


def _affinities(x, perplexity: float, bisections: int = 64):
    """Symmetric joint probabilities P (n, n) of points x (n, F): each row's Gaussian width found
    by bisection on its precision so that the row's entropy is log(perplexity)."""
    sq = jnp.sum(x * x, 1)
    distances = jnp.maximum(sq[:, None] - 2 * x @ x.T + sq[None], 0.0)
    n = x.shape[0]
    off_diagonal = 1.0 - jnp.eye(n)
    target = jnp.log(perplexity)

    def conditional(beta):  # (n,) precisions -> rows of P(j|i) and their entropies
        logits = jnp.where(off_diagonal > 0, -distances * beta[:, None], -jnp.inf)
        p = jax.nn.softmax(logits, axis=1)
        entropy = -jnp.sum(jnp.where(p > 0, p * jnp.log(jnp.where(p > 0, p, 1.0)), 0.0), 1)
        return p, entropy

    def bisect(bounds, _):
        low, high = bounds
        middle = _geometric_mean(low, high)  # precisions span decades: bisect their logarithm
        _, entropy = conditional(middle)
        too_wide = entropy > target  # entropy too high: raise the precision
        return (jnp.where(too_wide, middle, low), jnp.where(too_wide, high, middle)), None

    scale = 1.0 / jnp.maximum(jnp.median(distances), 1e-12)
    bounds = (jnp.full(n, 1e-8) * scale, jnp.full(n, 1e8) * scale)
    (low, high), _ = jax.lax.scan(bisect, bounds, None, length=bisections)
    p, _ = conditional(_geometric_mean(low, high))
    return jnp.maximum((p + p.T) / (2 * n), 1e-12)


@functools.partial(jax.jit, static_argnames=("iterations", "exaggerated"))
def _embed(x, perplexity, iterations: int, exaggerated: int):
    p = _affinities(x, perplexity)
    n = x.shape[0]
    centred = x - x.mean(0)
    _, _, vt = jnp.linalg.svd(centred, full_matrices=False)
    y = centred @ vt[:2].T
    spread = jnp.std(y[:, 0])  # 0 when every row is the same point: all stay at the origin
    y = jnp.where(spread > 0, y / jnp.where(spread > 0, spread, 1.0) * 1e-4, 0.0)
    learning_rate = jnp.maximum(n / 12.0 / 4.0, 50.0)
    off_diagonal = 1.0 - jnp.eye(n)

    def gradient(y, exaggeration):
        sq = jnp.sum(y * y, 1)
        kernel = off_diagonal / (1.0 + sq[:, None] - 2 * y @ y.T + sq[None])
        q = jnp.maximum(kernel / jnp.sum(kernel), 1e-12)
        weights = (exaggeration * p - q) * kernel
        return 4.0 * (jnp.sum(weights, 1)[:, None] * y - weights @ y)

    def step(carry, i):
        y, velocity, gains = carry
        early = i < exaggerated
        grad = gradient(y, jnp.where(early, 12.0, 1.0))
        momentum = jnp.where(early, 0.5, 0.8)
        gains = jnp.maximum(jnp.where(grad * velocity < 0, gains + 0.2, gains * 0.8), 0.01)
        velocity = momentum * velocity - learning_rate * gains * grad
        return (y + velocity, velocity, gains), None

    (y, _, _), _ = jax.lax.scan(step, (y, jnp.zeros_like(y), jnp.ones_like(y)),
                                jnp.arange(iterations))
    return y


def _rescaled(x: np.ndarray) -> np.ndarray:
    """x (n, F) centred and scaled to at most 1 in absolute value, in float64 on the host (t-SNE
    does not depend on the scale: each row's width is calibrated to its perplexity), so that
    float32 distances neither overflow (values beyond about 1e19) nor vanish (below 1e-30)."""
    x = np.asarray(x, np.float64)
    for _ in range(2):  # the first pass brings any finite scale to 1, so centring cannot overflow
        largest = np.max(np.abs(x))
        if largest > 0:
            x = x / largest
        x = x - x.mean(0)
    return x


def tsne(x, *, perplexity: float = 30.0, iterations: int = 1000) -> np.ndarray:
    """A 2-D t-SNE embedding of the rows of x (n, F), as NumPy (n, 2).

    Deterministic (PCA initialisation, no random draws). Any finite scale of x gives the same
    embedding (x is rescaled first); rows that are all the same point stay at the origin.
    Exact affinities: memory and time grow as n^2 (n = 1000 takes a few seconds on a CPU; keep
    n to a few thousand).

    Raises:
      ValueError: x is not a finite 2-D array of at least 4 rows and 2 features, or perplexity
        is outside [1, (n - 1) / 3].
    """
    check_data({"x": x}, ("x",), "x")  # finite 2-D floats; rescaled below from the given values
    x = np.asarray(x)
    n, features = x.shape
    if n < 4:
        raise ValueError(f"x must have at least 4 rows; got {n}")
    if features < 2:
        raise ValueError(f"x must have at least 2 features (columns) for a 2-D embedding; got "
                         f"{features}")
    perplexity = check_real(perplexity, "perplexity", 1.0, (n - 1) / 3.0)
    iterations = check_integer(iterations, "iterations", 1, 100_000)
    return np.asarray(_embed(jnp.asarray(_rescaled(x), jnp.float32), perplexity, iterations,
                             min(250, iterations // 4)))
