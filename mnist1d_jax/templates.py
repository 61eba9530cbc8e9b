"""Template sets: the reference's ten 12-point digits, your own shapes made by the same recipe, and
the check that admits a template set at the public boundary.

A template set is a dict with `x` (C, T), one template per class, `t` (T,), the positions of their
points, and `y` (C,), the classes `0 .. C-1`. The generator draws `num_samples // C` examples of
each class. `x` and `t` may be traced (`jax.grad` with respect to the templates, `jax.vmap` over
template sets); C and T are shapes, so each pair compiles its own program.
"""

from __future__ import annotations

import jax
import numpy as np

from .checks import is_traced

_DIGITS = (
    (5, 6, 6.5, 6.75, 7, 7, 7, 7, 6.75, 6.5, 6, 5),
    (5, 3, 3, 3.4, 3.8, 4.2, 4.6, 5, 5.4, 5.8, 5, 5),
    (5, 6, 6.5, 6.5, 6, 5.25, 4.75, 4, 3.5, 3.5, 4, 5),
    (5, 6, 6.5, 6.5, 6, 5, 5, 6, 6.5, 6.5, 6, 5),
    (5, 4.4, 3.8, 3.2, 2.6, 2.6, 5, 5, 5, 5, 5, 5),
    (5, 3, 3, 3, 3, 5, 6, 6.5, 6.5, 6, 4.5, 5),
    (5, 4, 3.5, 3.25, 3, 3, 3, 3, 3.25, 3.5, 4, 5),
    (5, 7, 7, 6.6, 6.2, 5.8, 5.4, 5, 4.6, 4.2, 5, 5),
    (5, 4, 3.5, 3.5, 4, 5, 5, 4, 3.5, 3.5, 4, 5),
    (5, 4, 3.5, 3.5, 4, 5, 5, 5, 5, 4.7, 4.3, 5),
)
TEMPLATE_POINTS = 12
"""Points of each of the reference's templates."""
MAX_CLASSES = 1024
"""Most classes a template set may have (labels, class counts and the dilation table grow with
it)."""
MAX_TEMPLATE_POINTS = 1024
"""Most points a template may have."""


def default_grid(points: int) -> np.ndarray:
    """The reference's grid for templates of `points` points: `linspace(-5, 5, points) / 6`."""
    return np.linspace(-5, 5, points) / 6.0


def make_templates(shapes, t=None) -> dict:
    """A template set from your own shapes, by the reference's recipe: each row centred, divided
    by its std, shifted so that its first point is 0, and divided by 6.

    Args:
      shapes: (C, T) numbers, one shape per class, `2 <= C <= MAX_CLASSES`,
        `2 <= T <= MAX_TEMPLATE_POINTS`; no row may be constant.
      t: (T,) the points' positions; default `default_grid(T)`.
    Returns:
      dict with `x` (C, T) float64, `t` (T,) float64 and `y` (C,) int64 `0 .. C-1`.
    Raises:
      ValueError: a shape, a count or a value out of range (naming `shapes` or `t`).
    """
    x = _checked_matrix(shapes, "shapes").copy()
    spread = x.std(1, keepdims=True)
    if not (spread > 0).all():
        raise ValueError(f"shapes row {int(np.argmin(spread[:, 0]))} is constant: a template "
                         "needs a shape (its std is the unit it is scaled by)")
    x -= x.mean(1, keepdims=True)
    x /= x.std(1, keepdims=True)
    x -= x[:, :1]
    grid = default_grid(x.shape[1]) if t is None else _checked_grid(t, x.shape[1], "t")
    return {"x": x / 6.0, "t": grid, "y": np.arange(len(x), dtype=np.int64)}


def get_templates() -> dict:
    """The reference's templates: `make_templates` of its ten digit shapes.

    Returns:
      dict with `x` (10, 12) float64, `t` (12,): `linspace(-5, 5, 12) / 6`, `y` (10,) int64.
    """
    return make_templates(np.asarray(_DIGITS, dtype=np.float64))


def _checked_matrix(value, name: str):
    """(C, T) finite numbers as float64 NumPy, or a traced float array of that shape as it is."""
    if is_traced(value):
        shape, ok = value.shape, jax.numpy.issubdtype(value.dtype, jax.numpy.floating)
    else:
        try:
            value = np.asarray(value)
        except (TypeError, ValueError):
            raise TypeError(f"{name} must be a (classes, points) array of numbers") from None
        shape, ok = value.shape, value.dtype.kind in "fiu"
    message = (f"{name} must be a (classes, points) array of finite numbers with 2 to "
               f"{MAX_CLASSES} classes and 2 to {MAX_TEMPLATE_POINTS} points")
    if not ok or len(shape) != 2:
        raise ValueError(f"{message}; got {'dtype ' + str(value.dtype) if not ok else ''}"
                         f"{'' if not ok else 'shape ' + str(shape)}")
    if not (2 <= shape[0] <= MAX_CLASSES and 2 <= shape[1] <= MAX_TEMPLATE_POINTS):
        raise ValueError(f"{message}; got shape {shape}")
    if is_traced(value):
        return value
    if not np.isfinite(value).all():
        raise ValueError(f"{message}; it holds values that are not finite")
    return value.astype(np.float64)


def _checked_grid(value, points: int, name: str):
    """(points,) finite numbers as float64 NumPy (or a traced float array as it is)."""
    if is_traced(value):
        if value.shape != (points,) or not jax.numpy.issubdtype(value.dtype, jax.numpy.floating):
            raise ValueError(f"{name} must be ({points},) floats, one per template point; got "
                             f"{value.dtype} of shape {value.shape}")
        return value
    grid = np.asarray(value)
    if grid.shape != (points,) or grid.dtype.kind not in "fiu" or not np.isfinite(grid).all():
        raise ValueError(f"{name} must be ({points},) finite numbers, one per template point; "
                         f"got {grid.dtype} of shape {grid.shape}")
    return grid.astype(np.float64)


def check_templates(templates, name: str = "templates") -> dict:
    """A template set admitted at the public boundary: `None` (the reference's ten), a dict like
    `get_templates()`'s (`x` (C, T); `t` (T,) optional, default `default_grid(T)`; `y` optional,
    and then the classes `0 .. C-1` in order: a traced `y`, whose values a trace cannot show, is
    checked for its shape and taken as such) or a bare (C, T) array.

    Returns:
      dict with `x` (C, T) and `t` (T,): float64 NumPy, or JAX arrays as given where traced;
      `y` (C,) int64. Concrete values are checked finite.
    Raises:
      TypeError, ValueError: naming `name` and what it allows, before anything is traced.
    """
    if templates is None:
        return get_templates()
    if isinstance(templates, dict):
        unknown = sorted(set(templates) - {"x", "t", "y"})
        if "x" not in templates or unknown:
            raise ValueError(f"{name} must be a dict with 'x' (classes, points) and optionally "
                             f"'t' (points,) and 'y', as get_templates() returns, or a "
                             f"(classes, points) array; got keys {sorted(templates)}")
        x = _checked_matrix(templates["x"], f"{name}['x']")
        t = templates.get("t")
        grid = default_grid(x.shape[1]) if t is None else _checked_grid(t, x.shape[1],
                                                                        f"{name}['t']")
        y = templates.get("y")
        if y is not None and is_traced(y):  # a set passed through jit: only its shape is known
            wrong = y.shape != (len(x),) or not jax.numpy.issubdtype(y.dtype, jax.numpy.integer)
        else:
            wrong = y is not None and np.asarray(y).tolist() != list(range(len(x)))
        if wrong:
            raise ValueError(f"{name}['y'] must be the classes 0..{len(x) - 1} in order (or "
                             "left out)")
        return {"x": x, "t": grid, "y": np.arange(len(x), dtype=np.int64)}
    if isinstance(templates, (str, bytes)):
        raise TypeError(f"{name} must be a dict like get_templates()'s or a (classes, points) "
                        f"array; got the string {templates!r} (read a file with "
                        "mnist1d_jax.load_templates)")
    x = _checked_matrix(templates, name)
    return {"x": x, "t": default_grid(x.shape[1]), "y": np.arange(len(x), dtype=np.int64)}


def check_concrete(templates: dict, where: str) -> dict:
    """A checked template set that must hold values, not tracers (`where` says why: written to
    files, kept by a loader); `TypeError` otherwise."""
    if is_traced(templates["x"], templates["t"]):
        raise TypeError(f"{where} must be concrete (not traced)")
    return templates
