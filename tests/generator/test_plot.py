"""Figures: rows labelled, settings named, the value range fitting the data."""

import matplotlib
import numpy as np

import mnist1d_jax
from mnist1d_jax import plot


def test_overview_labels_rows_names_settings_and_fits_the_values():
    backend = matplotlib.get_backend()
    data = mnist1d_jax.make_dataset(None, mnist1d_jax.get_dataset_args(num_samples=200))
    data = {**data, "x": np.asarray(data["x"]).copy()}
    first_of_class_3 = int(np.flatnonzero(np.asarray(data["y"]) == 3)[0])
    data["x"][first_of_class_3, 7] = 4.8  # beyond the old fixed range of +-3
    fig = plot.plot_overview(data, per_class=2, title="seed 42: num_samples=200")
    axes = np.asarray(fig.axes).reshape(3, 10)
    assert [ax.get_ylabel() for ax in axes[:, 0]] == ["template", "example 1", "example 2"]
    assert fig._suptitle.get_text() == "seed 42: num_samples=200"
    low, high = axes[1, 3].get_xlim()
    assert high - low > 2 * 4.8 and max(abs(low), abs(high)) >= 4.8
    shown = np.concatenate([line.get_xdata() for ax in axes[1:].ravel() for line in ax.lines])
    assert max(abs(low), abs(high)) <= 1.06 * np.abs(shown).max()
    plot.plt.close(fig)
    assert matplotlib.get_backend() == backend  # drawing never switches the backend
