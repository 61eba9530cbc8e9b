"""Figures of templates and examples (matplotlib, an optional dependency: `pip install
mnist1d-jax[plot]`). Signals are drawn as the reference draws them: value across, t downwards."""

from __future__ import annotations

import numpy as np


def _pyplot():
    try:  # no backend is chosen here: notebooks keep theirs, headless runs fall back to Agg
        import matplotlib.pyplot as plt
    except ImportError:  # pragma: no cover - depends on the environment
        raise ImportError("plotting needs matplotlib: pip install 'mnist1d-jax[plot]'") from None
    return plt


def _draw(ax, x, t, title=None, zoom=None):
    ax.plot(x, t, "k-", linewidth=1.5)
    if zoom is not None:
        ax.set_xlim(-zoom, zoom)
        ax.set_ylim(t.min(), t.max())
    ax.invert_yaxis()
    ax.set_xticks([])
    ax.set_yticks([])
    if title is not None:
        ax.set_title(title, fontsize=10)


def plot_signals(xs, t, labels=None, *, columns: int = 10, zoom=None, axes=None):
    """Draws signals xs (n, F) against t (F,) in a grid; returns the figure."""
    plt = _pyplot()
    xs, t = np.asarray(xs), np.asarray(t)
    rows = -(-len(xs) // columns)
    if axes is None:
        fig, axes = plt.subplots(rows, columns, figsize=(1.2 * columns, 2.4 * rows), squeeze=False)
    axes = np.asarray(axes).reshape(-1)
    for i, ax in enumerate(axes):
        if i >= len(xs):
            ax.axis("off")
            continue
        _draw(ax, xs[i], t, None if labels is None else f"{int(labels[i])}", zoom)
    fig = axes[0].figure
    fig.tight_layout()
    return fig


def plot_templates(templates: dict):
    """The ten templates (dict with `x` (10, 12), `t` (12,), `y` (10,))."""
    return plot_signals(templates["x"], templates["t"], templates["y"])


def plot_examples(data: dict, per_class: int = 4, zoom: float = 3.0):
    """`per_class` training examples of each class: one row per example rank, one column per
    class."""
    x, y = np.asarray(data["x"]), np.asarray(data["y"])
    picks = [np.flatnonzero(y == c)[:per_class] for c in range(10)]
    order = [picks[c][r] for r in range(per_class) for c in range(10) if r < len(picks[c])]
    return plot_signals(x[order], data["t"], y[order], zoom=zoom)


def plot_overview(data: dict, per_class: int = 4, zoom: float = 3.0):
    """One figure: the ten templates in the first row, then `per_class` examples of each class
    (one column per class), as the reference's figures."""
    plt = _pyplot()
    templates = data["templates"]
    fig, axes = plt.subplots(1 + per_class, 10, figsize=(12, 2.2 * (1 + per_class)), squeeze=False)
    for c in range(10):
        _draw(axes[0, c], np.asarray(templates["x"])[c], np.asarray(templates["t"]),
              f"template {c}")
    x, y = np.asarray(data["x"]), np.asarray(data["y"])
    for c in range(10):
        rows = np.flatnonzero(y == c)[:per_class]
        for r in range(per_class):
            if r < len(rows):
                _draw(axes[1 + r, c], x[rows[r]], np.asarray(data["t"]), None, zoom)
            else:
                axes[1 + r, c].axis("off")
    fig.tight_layout()
    return fig


def save_figure(fig, path) -> None:
    """Saves a figure as PNG atomically and closes it."""
    from .io import atomic_open

    with atomic_open(path) as handle:
        fig.savefig(handle, format="png", dpi=80)
    _pyplot().close(fig)
