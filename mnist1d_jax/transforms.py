"""The per-example steps of the MNIST-1D pipeline, each a small pure function.

Every step takes its random draw as an argument, so a step is deterministic and the same code
serves the JAX-key path and the NumPy-replay (parity) path. Shapes are for one example; all steps
work under `jax.vmap`. `L` is the dilated length `template_len + padding[1]`, `F` is
`final_seq_length`.

Static helpers (`interp_table`, `gaussian_filter_matrix`, ...) run in NumPy float64 at trace time
and return constants.

Adding a transform step touches four places, each owning one thing:

1. `draws.Draws` and `draws.UNIFORM_LAYOUT`: the step's random draw (JAX keys);
2. `reference.replay_numpy`: the same draw, in the reference's order of NumPy calls;
3. `stats.moments` / `stats.mean_and_std`: the step's contribution to the exact population
   moments (which normalise streamed batches);
4. `transform_dilated` here: the step itself.

`recipe` (labels, order, normalisation, `t`) then carries it into every output unchanged.
"""

from __future__ import annotations

import functools
import operator
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from .templates import TEMPLATE_POINTS

EPS = 1e-8
GAUSSIAN_SIGMA = 2.0
GAUSSIAN_TRUNCATE = 4.0


class InterpTable(NamedTuple):
    """Static description of linear resampling from `n_in` to `n_out` points on [0, 1].

    `lo` (n_out,) int: left neighbour; `hi` (n_out,) int: right neighbour (== lo on grid hits and
    the last point); `offset` (n_out,): `x_new - x[lo]`; `step` (n_out,): `x[hi] - x[lo]` (1 where
    hi == lo). Reproduces `np.interp` (which `scipy.interpolate.interp1d` calls) bit for bit.
    """

    lo: np.ndarray
    hi: np.ndarray
    offset: np.ndarray
    step: np.ndarray


def interp_table(n_in: int, n_out: int) -> InterpTable:
    """Builds the `InterpTable` from `linspace(0, 1, n_in)` to `linspace(0, 1, n_out)`."""
    x, x_new = np.linspace(0, 1, n_in), np.linspace(0, 1, n_out)
    lo = np.clip(np.searchsorted(x, x_new, side="right") - 1, 0, n_in - 1)
    exact = (x[lo] == x_new) | (lo == n_in - 1)
    hi = np.where(exact, lo, lo + 1)
    step = np.where(exact, 1.0, x[hi] - x[lo])
    return InterpTable(lo, hi, x_new - x[lo], step)


def interpolate(x, table: InterpTable):
    """Linear resampling along the last axis, as `np.interp`: `slope * (t - t_lo) + x_lo`.

    Args:
      x: (..., n_in) NumPy or JAX array.
      table: an `InterpTable` with (n_out,) entries (NumPy, or JAX arrays gathered by a traced
        index).
    Returns:
      (..., n_out) array of `x`'s dtype.
    """
    lo, hi = x[..., table.lo], x[..., table.hi]
    return (hi - lo) / table.step.astype(x.dtype) * table.offset.astype(x.dtype) + lo


def padding_tables(padding: tuple[int, int], dilated_len: int,
                   points: int = TEMPLATE_POINTS) -> InterpTable:
    """One `InterpTable` per possible padding `p` in `[low, high]`, stacked: (P, L) each.

    Row `p - low` resamples the `points + p`-point padded template to `L` points.
    """
    low, high = padding
    tables = [interp_table(points + p, dilated_len) for p in range(low, high + 1)]
    return InterpTable(*(np.stack(parts) for parts in zip(*tables)))


def pad_and_dilate(template, padding, args):
    """Steps 1-2: `template + 1e-8`, append `padding` zeros, resample to `L` points.

    Args:
      template: (T,) one template (12 points for the reference's).
      padding: () int, the number of zeros appended, in `[args.padding[0], args.padding[1]]`.
      args: the dataset arguments (only the static fields are used).
    Returns:
      (L,) the dilated signal; points inside the padding are exactly 0.
    """
    low, high = args.padding
    tables = padding_tables(args.padding, args.template_len + high, template.shape[-1])
    row = InterpTable(*(jnp.asarray(v)[padding - low] for v in tables))
    buffer = jnp.concatenate([template + EPS, jnp.zeros(high, template.dtype)])
    return interpolate(buffer, row)


def dilation_bank(templates, padding: tuple[int, int], dilated_len: int):
    """`pad_and_dilate` of every template at every padding: NumPy in, NumPy out (float64 for the
    concrete path), JAX in (traced templates), JAX out of the same dtype.

    Args:
      templates: (C, T).
    Returns:
      (C, P, L), `P = padding[1] - padding[0] + 1`; entry `[c, p - low]` is template `c` padded
      with `p` zeros and dilated.
    """
    xp = np if isinstance(templates, np.ndarray) else jnp
    high = padding[1]
    buffer = xp.concatenate([templates + EPS, xp.zeros((len(templates), high), templates.dtype)],
                            axis=1)
    tables = padding_tables(padding, dilated_len, templates.shape[-1])
    return xp.stack([interpolate(buffer, InterpTable(*row)) for row in zip(*tables)], axis=1)


def scale_factor(u, scale_coeff):
    """The amplitude factor `1 + scale_coeff * (u - 0.5)` of a uniform draw u."""
    return 1 + scale_coeff * (u - 0.5)


def scale(x, u, scale_coeff):
    """Step 3: multiply by `scale_factor(u, scale_coeff)`. x: (L,), u: () uniform in [0, 1)."""
    return x * scale_factor(u, scale_coeff)


def translate(x, shift):
    """Step 4: circular shift right by `shift` (() int), as the reference's
    `concatenate([x[-k:], x[:-k]])`, which leaves `x` unchanged for `k == 0` and `k >= L`.
    x: (L,) -> (L,)."""
    n = x.shape[-1]
    k = jnp.where(shift < n, shift, 0)
    return x[(jnp.arange(n) - k) % n]


def gaussian_kernel(sigma: float = GAUSSIAN_SIGMA, truncate: float = GAUSSIAN_TRUNCATE):
    """SciPy's `gaussian_filter` weights: (2r + 1,) float64, `r = int(truncate * sigma + 0.5)`."""
    radius = int(truncate * sigma + 0.5)
    weights = np.exp(-0.5 / sigma**2 * np.arange(-radius, radius + 1.0) ** 2)
    return weights / weights.sum()


def gaussian_filter_taps(n: int) -> tuple[np.ndarray, np.ndarray]:
    """Where SciPy's `gaussian_filter1d(z, 2)` (mode `reflect`) reads: `(source, weights)` with
    `source` (n, 17) int, the input point of each tap of each output point, and `weights` (17,):
    `out[a] = sum_j weights[j] * z[source[a, j]]` (half-sample symmetric, repeated for short
    signals)."""
    weights = gaussian_kernel()
    radius = len(weights) // 2
    source = (np.arange(n)[:, None] + np.arange(-radius, radius + 1)[None, :]) % (2 * n)
    return np.where(source < n, source, 2 * n - 1 - source), weights


def gaussian_filter_matrix(n: int) -> np.ndarray:
    """The (n, n) matrix `G` with `G @ z == scipy.ndimage.gaussian_filter(z, 2)` for `z` (n,)."""
    source, weights = gaussian_filter_taps(n)
    matrix = np.zeros((n, n))
    np.add.at(matrix, (np.repeat(np.arange(n), len(weights)), source.ravel()), np.tile(weights, n))
    return matrix


def gaussian_filter_stencil(z):
    """`scipy.ndimage.gaussian_filter1d(z, 2, axis=-1)` (mode `reflect`) as a 17-tap stencil.

    z: (..., n) -> (..., n). Elementwise arithmetic only: XLA fuses it, and a row's result does
    not depend on the batch it is in (a GPU matrix product's algorithm choice can change it).
    """
    weights = gaussian_kernel()
    radius, n = len(weights) // 2, z.shape[-1]
    source = np.arange(-radius, n + radius) % (2 * n)
    extended = z[..., np.where(source < n, source, 2 * n - 1 - source)]
    taps = (float(w) * extended[..., j:j + n] for j, w in enumerate(weights))
    return functools.reduce(operator.add, taps)


def gaussian_filter(z):
    """`scipy.ndimage.gaussian_filter1d(z, 2, axis=-1)`, mode `reflect`; z: (..., n).

    Always the stencil: a matrix product is no faster on CPUs (benchmarks/throughput.py) and
    its result for a row depends on the batch around it on both CPU (Eigen's blocking) and GPU
    (cuBLAS's algorithm choice), which would break sharding and prefix invariance.
    """
    return jax.lax.platform_dependent(
        z, cpu=gaussian_filter_stencil,
        # On GPUs a barrier materialises z once; without it XLA fuses the 17 taps into z's
        # producer and recomputes every draw's inverse CDF 17 times (docs/benchmarks.md).
        default=lambda v: gaussian_filter_stencil(jax.lax.optimization_barrier(v)))


def corr_noise(x, noise, corr_noise_scale):
    """Step 5: replace every point that is exactly 0 (the padding) by Gaussian-filtered noise.

    x: (L,); noise: (L,) standard normal draws; returns (L,).
    """
    return jnp.where(x != 0, x, gaussian_filter(corr_noise_scale * noise))


def iid_noise(x, noise, iid_noise_scale):
    """Step 6: add `iid_noise_scale * noise` (noise (L,) standard normal)."""
    return x + iid_noise_scale * noise


def shear_coefficient(u, shear_scale):
    """The slope `shear_scale * (u - 0.5)` of the shear for a uniform draw u."""
    return shear_scale * (u - 0.5)


def shear(x, u, shear_scale):
    """Step 7: subtract `shear_coefficient(u, shear_scale) * linspace(-0.5, 0.5, L)`. u: ()
    uniform."""
    ramp = jnp.asarray(np.linspace(-0.5, 0.5, x.shape[-1]), x.dtype)
    return x - shear_coefficient(u, shear_scale) * ramp


def subsample(x, final_seq_length: int):
    """Step 8: linear resampling of x (..., L) to (..., final_seq_length)."""
    return interpolate(x, interp_table(x.shape[-1], final_seq_length))


def transform_dilated(draws, x, args):
    """Steps 3-8 on a dilated signal x (L,); returns (F,). `draws` is one example's `Draws`."""
    x = scale(x, draws.scale, args.scale_coeff)
    x = translate(x, draws.shift)
    x = corr_noise(x, draws.corr_noise, args.corr_noise_scale)
    x = iid_noise(x, draws.iid_noise, args.iid_noise_scale)
    x = shear(x, draws.shear, args.shear_scale)
    return subsample(x, args.final_seq_length)


def transform(draws, template, args):
    """The whole per-example pipeline as a pure function of its random draws.

    Args:
      draws: one example's `Draws` (see `mnist1d_jax.draws`), float leaves of the working dtype.
      template: (T,) a template of the same dtype (12 points for the reference's digits).
      args: `DatasetArgs` (scales may be traced).
    Returns:
      (final_seq_length,) the transformed signal.
    """
    return transform_dilated(draws, pad_and_dilate(template, draws.padding, args), args)


def transform_grid(t, dilated_len: int, final_seq_length: int):
    """The reference's `new_t`: the template grid t (T,) resampled to L, then to F points
    (NumPy or JAX, as t)."""
    return subsample(interpolate(t, interp_table(len(t), dilated_len)), final_seq_length)
