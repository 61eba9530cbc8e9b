"""Figures of templates and examples (matplotlib, an optional dependency: `pip install
mnist1d-jax[plot]`). Signals are drawn as the reference draws them: value across, t downwards."""

from __future__ import annotations

import numpy as np

from .extras import require

require("plot", "mnist1d_jax.plot", "matplotlib")

# No backend is chosen here: notebooks keep theirs, headless runs fall back to Agg.
import matplotlib.pyplot as plt  # noqa: E402


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


def _fitting_zoom(x) -> float:
    """Half-width of the value axis that shows every value of `x` with a 5% margin."""
    extent = float(np.max(np.abs(x))) if np.size(x) else 1.0
    return 1.05 * extent if extent > 0 else 1.0


def plot_overview(data: dict, per_class: int = 4, zoom: float | None = None,
                  title: str | None = None):
    """One figure: the ten templates in the first row, then `per_class` examples of each class
    (one column per class), as the reference's figures. Rows are labelled on the left; `zoom`,
    the half-width of the value axis of the examples, fits the examples drawn when `None`;
    `title` (e.g. the dataset's arguments) goes above."""
    templates = data["templates"]
    x, y, t = np.asarray(data["x"]), np.asarray(data["y"]), np.asarray(data["t"])
    rows = [np.flatnonzero(y == c)[:per_class] for c in range(10)]
    zoom = _fitting_zoom(x[np.concatenate(rows)]) if zoom is None else zoom
    fig, axes = plt.subplots(1 + per_class, 10, figsize=(12, 2.2 * (1 + per_class) + 0.4),
                             squeeze=False)
    for c in range(10):
        _draw(axes[0, c], np.asarray(templates["x"])[c], np.asarray(templates["t"]), f"{c}")
        for r in range(per_class):
            if r < len(rows[c]):
                _draw(axes[1 + r, c], x[rows[c][r]], t, None, zoom)
            else:
                axes[1 + r, c].axis("off")
    axes[0, 0].set_ylabel("template", fontsize=10)
    for r in range(per_class):
        axes[1 + r, 0].set_ylabel(f"example {r + 1}", fontsize=10)
    if title:
        fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    return fig


def save_figure(fig, path) -> None:
    """Saves a figure as PNG atomically and closes it."""
    from .outputs import atomic_open

    with atomic_open(path) as handle:
        fig.savefig(handle, format="png", dpi=80)
    plt.close(fig)
