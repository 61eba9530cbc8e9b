"""Exact population statistics of un-normalised MNIST-1D signals, as functions of the scales.

After the per-example transforms a signal is (before the final linear resampling `R`, F x L)

    x = s * d  +  c * (1 - m) * (G z1)  +  i * z2  -  h * (u - 1/2) * ramp

with `d` the shifted dilated template (zero on the padding), `m = (d != 0)`, `s = 1 + a (U - 1/2)`,
`z1, z2` standard normal, `u` uniform. Only the discrete draws (class, padding, shift) enter
non-linearly, through `d` and `m`, so enumerating them gives the exact mean and second moment:

    E[mean_j (R x)_j]   = mean over (class, padding, shift) of mean_j (R d)_j      (no scales)
    E[mean_j (R x)_j^2] = ((1 + a^2/12) A + c^2 B + i^2 C + h^2 D / 12) / F

A, B, C, D are constants computed here in float64 NumPy; the scales may be traced.
"""

from __future__ import annotations

import functools
from typing import NamedTuple

import jax.numpy as jnp
import numpy as np

from . import transforms
from .templates import get_templates


class Moments(NamedTuple):
    """`mean`: E of the mean over positions; `signal, corr, iid, shear`: the constants A, B, C, D
    (expected squared norms, summed over the F positions)."""

    mean: float
    signal: float
    corr: float
    iid: float
    shear: float


def resample_matrix(n_in: int, n_out: int) -> np.ndarray:
    """(n_out, n_in) matrix of `transforms.subsample` (equal up to rounding)."""
    table = transforms.interp_table(n_in, n_out)
    weight = table.offset / table.step
    matrix = np.zeros((n_out, n_in))
    np.add.at(matrix, (np.arange(n_out), table.lo), 1 - weight)
    np.add.at(matrix, (np.arange(n_out), table.hi), weight)
    return matrix


def shifted_templates(layout) -> np.ndarray:
    """(10, P, K, L) every dilated template at every padding and shift `k < max_translation`
    (shifts `>= L` leave the signal unchanged, as in the reference)."""
    bank = transforms.dilation_bank(get_templates()["x"], layout.padding, layout.dilated_len)
    n = layout.dilated_len
    shifts = np.arange(layout.max_translation)
    shifts = np.where(shifts < n, shifts, 0)
    index = (np.arange(n)[None, :] - shifts[:, None]) % n  # (K, L)
    return bank[:, :, index]


@functools.lru_cache(maxsize=64)  # a memo of a pure function of the (hashable) Layout
def moments(layout) -> Moments:
    """The constants of the module docstring for a `Layout`, by exact enumeration (classes,
    paddings and shifts equally likely)."""
    resample = resample_matrix(layout.dilated_len, layout.final_seq_length)
    filt = transforms.gaussian_filter_matrix(layout.dilated_len)
    d = shifted_templates(layout).reshape(-1, layout.dilated_len)  # all combos, equally likely
    signal = d @ resample.T
    unmasked = (d == 0).astype(np.float64)
    quadratic = (resample.T @ resample) * (filt @ filt.T)  # (L, L)
    ramp = resample @ np.linspace(-0.5, 0.5, layout.dilated_len)
    return Moments(
        mean=float(signal.mean()),
        signal=float((signal**2).sum(1).mean()),
        corr=float(np.einsum("na,ab,nb->n", unmasked, quadratic, unmasked).mean()),
        iid=float((resample**2).sum()),
        shear=float(ramp @ ramp),
    )


def mean_and_std(layout, scales):
    """Population mean and std of all values of un-normalised signals (what `make_dataset`
    estimates from its sample). `scales`: the four float scales, possibly traced."""
    m = moments(layout)
    scale_coeff, corr, iid, shear = scales
    second = ((1 + scale_coeff**2 / 12) * m.signal + corr**2 * m.corr + iid**2 * m.iid
              + shear**2 * m.shear / 12) / layout.final_seq_length
    return m.mean, jnp.sqrt(second - m.mean**2)

