"""Exact population statistics of un-normalised MNIST-1D signals, as functions of the scales.

After the per-example transforms a signal is (before the final linear resampling `R`, F x L)

    x = s * d  +  c * (1 - m) * (G z1)  +  i * z2  -  h * (u - 1/2) * ramp

with `d` the shifted dilated template (zero on the padding), `m = (d != 0)`, `s = 1 + a (U - 1/2)`,
`z1, z2` standard normal, `u` uniform. Only the discrete draws (class, padding, shift) enter
non-linearly, through `d` and `m`, so enumerating them gives the exact mean and second moment:

    E[mean_j (R x)_j]   = mean over (class, padding, shift) of mean_j (R d)_j      (no scales)
    E[mean_j (R x)_j^2] = ((1 + a^2/12) A + c^2 B + i^2 C + h^2 D / 12) / F

A, B, C, D depend on the templates and `max_translation`; they are computed in float64 NumPy on
the host when both are concrete (the usual case, memoised), and by the same code in JAX when one
is traced (then differentiable with respect to the templates). The scales may always be traced.
Shifts `>= L` leave a signal unchanged (as in the reference), so only `min(max_translation, L)`
distinct shifts exist, and they are averaged in closed form: the cost does not grow with
`max_translation`.
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from . import transforms
from .checks import is_traced


class Moments(NamedTuple):
    """`mean`: E of the mean over positions; `signal, corr, iid, shear`: the constants A, B, C, D
    (expected squared norms, summed over the F positions)."""

    mean: float
    signal: float
    corr: float
    iid: float
    shear: float


def shift_weights(max_translation, n: int):
    """(n,) probability of each effective circular shift `0 .. n-1` of an `n`-point signal.

    Shifts are uniform on `[0, max_translation)`; those `>= n` leave the signal unchanged (as in
    the reference), so their mass goes to shift 0. The cost is independent of `max_translation`.
    float64 NumPy for an int, JAX for a traced `max_translation`.
    """
    if is_traced(max_translation):
        count = jnp.asarray(max_translation, jnp.float32)
        weights = jnp.where(jnp.arange(n) < max_translation, 1 / count, 0.0)
        return weights.at[0].add(jnp.maximum(count - n, 0) / count)
    weights = np.zeros(n)
    weights[: min(max_translation, n)] = 1.0 / max_translation
    weights[0] += max(0, max_translation - n) / max_translation
    return weights


def shift_average(v, weights):
    """`sum_s weights[s] * roll(v, s)` along the last axis (a circular convolution, by FFT).

    v: (..., n); weights: (n,), NumPy or JAX. Returns (..., n): the expectation of `v` shifted
    right by a random shift of distribution `weights`.
    """
    xp = jnp if is_traced(v, weights) else np
    n = v.shape[-1]
    return xp.fft.irfft(xp.fft.rfft(v, axis=-1) * xp.fft.rfft(weights), n=n, axis=-1)


class Band(NamedTuple):
    """The diagonal (n,) and the first super-diagonal (n - 1,) of a symmetric matrix."""

    diag: np.ndarray
    upper: np.ndarray


def resample_weights(table: transforms.InterpTable):
    """The resampling `R` of `table` as weights: output `j` is `a[j] * x[lo[j]] + b[j] *
    x[hi[j]]`; `same[j]` where `hi[j] == lo[j]` (a grid hit or the last point, `b[j] == 0`)."""
    b = table.offset / table.step
    return 1 - b, b, table.hi == table.lo


def resample_gram(table: transforms.InterpTable, n_in: int) -> Band:
    """`R^T R` for the resampling `R` of `table`: tridiagonal, since each output point reads two
    neighbouring input points (`lo`, `lo + 1`) or one."""
    a, b, same = resample_weights(table)
    diag, upper = np.zeros(n_in), np.zeros(max(n_in - 1, 0))
    np.add.at(diag, table.lo, np.where(same, (a + b) ** 2, a**2))
    np.add.at(diag, table.hi, np.where(same, 0.0, b**2))
    np.add.at(upper, table.lo[~same], (a * b)[~same])
    return Band(diag, upper)


def filter_gram(n: int) -> Band:
    """The diagonal and super-diagonal of `G G^T` for the Gaussian filter `G` on `n` points,
    from its 17 taps per row (no `n x n` matrix)."""
    source, weights = transforms.gaussian_filter_taps(n)
    pair = weights[:, None] * weights[None, :]

    def overlap(rows, other):
        return ((source[rows, :, None] == source[other, None, :]) * pair).sum((1, 2))

    return Band(overlap(np.arange(n), np.arange(n)), overlap(np.arange(n - 1), np.arange(1, n)))


def _pair_products(v):
    """v[..., p] * v[..., p + 1] (wrapping at the end, which no resampling row reads)."""
    xp = jnp if is_traced(v) else np
    return v * xp.roll(v, -1, axis=-1)


def _correlate(u, kernel):
    """`out[s] = sum_x kernel[x] * u[(x - s) mod n]` for every shift s (a circular
    cross-correlation, by FFT): the value of the linear functional `kernel` on `u` shifted right
    by s. u: (n,) NumPy or JAX; kernel: (n,) NumPy."""
    xp = jnp if is_traced(u) else np
    n = u.shape[-1]
    return xp.fft.irfft(np.fft.rfft(kernel) * xp.conj(xp.fft.rfft(u)), n=n)


def shift_moments(layout, bank):
    """The constants of the module docstring for each fixed shift: (L, 5), row s the `Moments`
    (mean, signal, corr, iid, shear) of signals shifted right by exactly s.

    Every constant is a mean over classes and paddings of a functional that is linear in a
    per-row quantity (the signal, its square, its neighbour products, the padding mask and its
    neighbour products), so the rows are averaged first and the shift enters as one circular
    cross-correlation per quantity: O(C P L + L log L).

    Args:
      layout: the `Layout` (its dilated and final lengths).
      bank: (C, P, L) the dilated templates (`transforms.dilation_bank`), float64 NumPy or
        traced (then JAX of its dtype).
    """
    xp = jnp if is_traced(bank) else np
    n, width = layout.dilated_len, layout.final_seq_length
    table = transforms.interp_table(n, width)
    a, b, same = resample_weights(table)

    def kernel(*terms):  # (index, weight) pairs accumulated into an (n,) NumPy vector
        out = np.zeros(n)
        for index, weight in terms:
            np.add.at(out, index, weight)
        return out

    d = bank.reshape(-1, n)
    padded = (d == 0).astype(d.dtype)
    gram, filt = resample_gram(table, n), filter_gram(n)
    mean = _correlate(d.mean(0), kernel((table.lo, a / width), (table.hi, b / width)))
    signal = (_correlate((d**2).mean(0), kernel((table.lo, a**2), (table.hi, b**2),
                                                (table.lo[same], (2 * a * b)[same])))
              + _correlate(_pair_products(d).mean(0),
                           kernel((table.lo[~same], (2 * a * b)[~same]))))
    corr = (_correlate(padded.mean(0), gram.diag * filt.diag)
            + _correlate(_pair_products(padded).mean(0),
                         np.append(2 * gram.upper * filt.upper, 0.0)))
    ramp = transforms.interpolate(np.linspace(-0.5, 0.5, n), table)
    iid = float(np.where(same, (a + b) ** 2, a**2 + b**2).sum())
    constant = xp.ones(n, mean.dtype)
    return xp.stack([mean, signal, corr, iid * constant, float(ramp @ ramp) * constant], axis=1)


def moments(layout, bank, max_translation) -> Moments:
    """The constants of the module docstring for shifts uniform on `[0, max_translation)`
    (`shift_weights`: shifts `>= L` act as 0), from `shift_moments`; NumPy float64 for a NumPy
    bank and an int, JAX otherwise."""
    per_shift = shift_moments(layout, bank)
    weights = shift_weights(max_translation, layout.dilated_len)
    values = weights @ per_shift[:, :3]  # iid and shear do not depend on the shift
    values = (values if is_traced(values) else values.tolist())
    constants = per_shift[0, 3:] if is_traced(per_shift) else per_shift[0, 3:].tolist()
    return Moments(*values, *constants)


class Population(NamedTuple):
    """The population mean and the variance's coefficients: variance = `base + scale_coeff**2 *
    scale + corr_noise_scale**2 * corr + iid_noise_scale**2 * iid + shear_scale**2 * shear`.
    Floats or () arrays."""

    mean: float
    base: float
    scale: float
    corr: float
    iid: float
    shear: float


def _population(values, width: int) -> Population:
    """`Population` from `Moments` values (..., 5) for signals of `width` points."""
    mean, signal, corr, iid, shear = (values[..., k] for k in range(5))
    return Population(mean, signal / width - mean**2, signal / 12 / width, corr / width,
                      iid / width, shear / 12 / width)


class PopulationTable(NamedTuple):
    """`Population` as a function of `max_translation` K, for K traced or not: `rows` (L, 6), the
    coefficients for K = 1 .. L, computed exactly (in float64 on the host for concrete
    templates); for K > L (every shift beyond L acts as 0) the moments are `first + rest / K`,
    `first` (5,) the moments of shift 0 and `rest` (5,) the sum over shifts minus L times
    `first`. A pytree of arrays: passed into compiled programs as their arguments."""

    rows: jax.Array
    first: jax.Array
    rest: jax.Array


def population_table(layout, bank) -> PopulationTable:
    """The `PopulationTable` of the dilation `bank` (C, P, L) (see `shift_moments`)."""
    xp = jnp if is_traced(bank) else np
    per_shift = shift_moments(layout, bank)
    n = layout.dilated_len
    sums = xp.cumsum(per_shift, axis=0)  # row k - 1: the sum over shifts 0 .. k - 1
    counts = xp.arange(1, n + 1, dtype=per_shift.dtype)[:, None]
    means = xp.concatenate([sums[:, :3] / counts, per_shift[:, 3:]], axis=1)  # iid, shear: exact
    rows = xp.stack(_population(means, layout.final_seq_length), axis=1)
    rest = xp.concatenate([sums[-1, :3] - n * per_shift[0, :3], 0 * per_shift[0, 3:]])
    return PopulationTable(rows, per_shift[0], rest)


def population_at(table: PopulationTable, max_translation, width: int) -> Population:
    """The `Population` for `max_translation` (an int or a traced integer) from its table, in
    the table's precision: a row for `max_translation <= L` (exactly the table's values),
    `first + rest / max_translation` beyond. The same operations whether `max_translation` is
    traced or not, so a compiled program gives the same bits either way."""
    rows, first, rest = (jnp.asarray(v) for v in table)
    count = rows.shape[0]
    row = rows[jnp.clip(max_translation, 1, count) - 1]
    beyond = jnp.stack(_population(first + rest / jnp.maximum(max_translation, 1), width))
    return Population(*jnp.where(max_translation <= count, row, beyond))


def population_std(coefficients: Population, args):
    """The population std for the (possibly traced) scales of `args`.

    A polynomial in the scales evaluated with multiplications and additions only: no division by
    a constant, which XLA compiles as a multiplication by the reciprocal but folds exactly when
    the scales are constants, so the result is the same bits wherever it is evaluated.
    """
    c = coefficients
    scale_coeff, corr, iid, shear = args.scales
    variance = (c.base + scale_coeff * scale_coeff * c.scale + corr * corr * c.corr
                + iid * iid * c.iid + shear * shear * c.shear)
    return jnp.sqrt(variance)


class Statistics(NamedTuple):
    """A mean and std to normalise signals by: `(x - mean) / std` (`population_statistics`)."""

    mean: jax.Array
    std: jax.Array


def divisor(std):
    """`std` prepared for dividing by it: 1 where it is 0 (a dataset without variance, e.g. all
    scales 0 and one padding and shift, is centred but not scaled, instead of becoming NaN).

    The `where` also stops XLA from rewriting `x / sqrt(v)` as `x * rsqrt(v)` (an approximation
    it uses only when `v` is not a constant), so a batch is the same bits whether the scales are
    runtime values or constants folded at compile time.
    """
    return jnp.where(std > 0, std, jnp.ones_like(std))
