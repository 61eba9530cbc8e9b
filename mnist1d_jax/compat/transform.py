"""`mnist1d.transform.transform`: one random example from a template, drawing from NumPy's
global random state in the reference's order (so `set_seed` then `transform` gives the
reference's example)."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from .. import transforms
from ..args import SCALE_FIELDS, as_args
from ..reference import draw_numpy
from ..templates import MAX_TEMPLATE_POINTS


def transform(x, y, args, eps=1e-8):
    """The reference's `transform(x, y, args)`: template x (T,) and its grid y (T,) -> the
    transformed signal (F,) and its grid (F,), float64 NumPy. Draws from `np.random`'s global
    state, as the reference does."""
    if eps != transforms.EPS:
        raise ValueError(f"eps must be {transforms.EPS} (the reference's); got {eps}")
    x, y = np.asarray(x, np.float64), np.asarray(y, np.float64)
    if x.ndim != 1 or not 2 <= len(x) <= MAX_TEMPLATE_POINTS or y.shape != x.shape:
        raise ValueError(f"x and y must be a template and its grid of the same number of points "
                         f"(2 to {MAX_TEMPLATE_POINTS}); got {x.shape} and {y.shape}")
    args = as_args(args)
    layout = args.layout
    draws = draw_numpy(np.random, args)
    with jax.enable_x64(True):
        scales = {name: jnp.float64(getattr(args, name)) for name in SCALE_FIELDS}
        new_x = transforms.transform(draws, jnp.asarray(x), args.replace(**scales))
        new_x = np.asarray(new_x)
    return new_x, transforms.transform_grid(y, layout.dilated_len, layout.final_seq_length)
