"""The ten 12-point digit templates, exactly as the reference builds them."""

import numpy as np

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


def get_templates() -> dict:
    """The reference's templates as NumPy float64 arrays.

    Returns:
      dict with `x` (10, 12): each digit centred, divided by its std, shifted to start at 0, and
      divided by 6; `t` (12,): `linspace(-5, 5, 12) / 6`; `y` (10,): the labels 0..9 (int64).
    """
    x = np.asarray(_DIGITS, dtype=np.float64)
    x -= x.mean(1, keepdims=True)
    x /= x.std(1, keepdims=True)
    x -= x[:, :1]
    return {
        "x": x / 6.0,
        "t": np.linspace(-5, 5, TEMPLATE_POINTS) / 6.0,
        "y": np.arange(10, dtype=np.int64),
    }
