"""Deep double descent (the reference's `deep-double-descent.ipynb`; *Understanding Deep
Learning*, section 8.4): 4000 training and 12000 test examples; an MLP 40-h-h-10 for 19 widths
from 2 to 300, without and with 15% label noise, and a CNN of 2 to 100 channels with 15% label
noise; SGD (0.01, momentum 0.9), batches of 100 reshuffled every epoch, 500 epochs
(`sweeps.sweep`)."""

from __future__ import annotations

from typing import Any

import jax
import numpy as np

from ... import get_dataset_args, reference_dataset
from .. import sweeps
from .base import Stages, band, draw_band, new_figure, outcome
from .registry import Experiment
from .result import Claim, Number, Tolerance

__all__ = ["CHANNELS", "COSTS", "DECIDED_EPOCHS", "EXPERIMENT", "REFERENCE", "RISE", "SIZES",
           "SWEEPS", "WIDTHS", "draw", "rise_and_fall", "run"]

WIDTHS = np.unique(np.geomspace(2, 300, 20, dtype=int))
CHANNELS = np.concatenate((np.arange(2, 30, 2), np.arange(30, 101, 5)))
SWEEPS = {"mlp": (sweeps.MLP_FAMILY, WIDTHS, 0.0), "mlp, noisy": (sweeps.MLP_FAMILY, WIDTHS, 0.15),
          "cnn, noisy": (sweeps.CNN_FAMILY, CHANNELS, 0.15)}
REFERENCE = {
    "mlp": [68.5, 66.8, 58.3, 61.4, 54.2, 49.3, 50.1, 44.6, 42.6, 41.0, 41.7, 41.0, 41.2, 39.6,
            38.6, 38.6, 38.1, 37.1, 37.3],
    "mlp, noisy": [69.6, 67.5, 62.6, 57.5, 54.8, 49.0, 50.3, 47.2, 50.8, 50.7, 52.8, 54.1, 54.0,
                   52.1, 50.2, 48.4, 47.9, 46.5, 45.5],
    "cnn, noisy": [61.2, 35.8, 23.9, 22.0, 19.6, 23.7, 27.7, 27.3, 33.8, 32.5, 31.3, 32.0, 30.0,
                   32.5, 29.8, 30.2, 30.5, 30.2, 28.7, 28.2, 30.0, 28.1, 28.8, 29.4, 28.1, 28.1,
                   28.8, 27.4, 27.7]}
"""The reference's recorded test errors (%, one seed), at `WIDTHS` (MLPs) and `CHANNELS`."""
COSTS = {"mlp": 1, "mlp, noisy": 1, "cnn, noisy": 10}  # relative wall times on a CPU
SIZES: dict[str, dict] = {
    "quick": dict(seeds=1, epochs=30, picks=[0, 4, 9, 14, 18], channel_picks=[0, 4, 14, 28]),
    "full": dict(seeds=2, epochs=500, picks=None, channel_picks=None)}
RISE = 1.0
"""The noisy peak must stand more than this (points) above the first minimum."""
DECIDED_EPOCHS = 500
"""The peak appears once the models fit the noisy labels: with fewer epochs (the quick size)
the claims are not decided."""


def rise_and_fall(test) -> tuple:
    """Indices of the first minimum of a test-error curve (in its first half) and of the peak
    after it."""
    test = np.asarray(test)
    first = int(np.argmin(test[: len(test) // 2 + 1]))
    return first, first + int(np.argmax(test[first:]))


def run(key, settings, progress):
    """The three sweeps, every width and seed. Numbers per sweep: the first minimum of the mean
    test error, the peak after it and the last point (at the widths where the mean curve has
    them; the reference's from its curve). Claim: with label noise the peak stands above the
    first minimum (both sweeps)."""
    args = get_dataset_args(num_samples=16_000, train_split=0.25)
    data = reference_dataset(args, dtype="float32")
    steps = settings["epochs"] * data["x"].shape[0] // 100
    config = sweeps.SweepConfig(optimizer="sgd", learning_rate=0.01, momentum=0.9,
                                batch_size=100, steps=steps, order="epochs",
                                chunk=max(steps // 4, 1))
    # padding models to a bucket's largest width costs compute on a CPU (arithmetic-bound);
    # on an accelerator one program for all widths saves the small models' kernel launches
    waste = 1.0 if jax.default_backend() == "cpu" else 100.0
    stages = Stages(progress, COSTS)
    numbers: list[Number] = []
    claims: list[Claim] = []
    arrays: dict[str, Any] = {}
    runs: dict[str, Any] = {}
    for name, (family, all_sizes, noise) in SWEEPS.items():
        picks = settings["channel_picks" if family is sweeps.CNN_FAMILY else "picks"]
        widths = all_sizes if picks is None else all_sizes[picks]
        with stages(name):
            swept = runs[name] = sweeps.sweep(family, widths, data, key,
                                              seeds=settings["seeds"], config=config,
                                              label_noise=noise, waste=waste,
                                              progress=stages.within(name))
        test = swept["test_error"]
        first, peak = rise_and_fall(test.mean(1))
        reference = np.asarray(REFERENCE[name])[picks if picks is not None else slice(None)]
        ref_first, ref_peak = rise_and_fall(reference)
        unit = "hidden units" if family is sweeps.MLP_FAMILY else "channels"
        numbers += [
            Number(f"{name}: first minimum of the test error (at {widths[first]} {unit}; "
                   f"reference at {widths[ref_first]})", test[first], reference[ref_first]),
            Number(f"{name}: peak after it (at {widths[peak]}; reference at {widths[ref_peak]})",
                   test[peak], reference[ref_peak]),
            Number(f"{name}: largest model ({widths[-1]})", test[-1], reference[-1])]
        if noise:
            rise = test[peak].mean() - test[first].mean()
            claims.append(Claim(f"{name}: the test error rises over {RISE:g} points above its "
                                f"first minimum before falling again", rise > RISE,
                                f"{test[first].mean():.1f} at {widths[first]} up to "
                                f"{test[peak].mean():.1f} at {widths[peak]} ({rise:+.1f}), "
                                f"then {test[-1].mean():.1f} at {widths[-1]}",
                                at_size=settings["epochs"] >= DECIDED_EPOCHS))
        arrays |= {f"{name}/sizes": widths, f"{name}/reference": reference}
        for field in ("test_error", "train_error"):
            arrays |= band(f"{name}/{field}", swept[field], 1)
    return outcome(numbers, claims, arrays, runs=runs)


def draw(result):
    """Train and test error against width, mean of the seeds with a min-max band, and the
    reference's test error (one seed)."""
    figure, axes = new_figure(13, 3.8, columns=3, sharey=True)
    for ax, name in zip(axes[0], SWEEPS):
        x = result.arrays[f"{name}/sizes"]
        for field, style, label in (("test_error", "-", "test"), ("train_error", "--", "train")):
            draw_band(ax, x, result.arrays, f"{name}/{field}", style,
                      label=f"{label} (mean of seeds)")
        ax.plot(x, result.arrays[f"{name}/reference"], "k:", label="reference test (1 seed)")
        if "noisy" in name:
            ax.axhline(15, color="#aaaaaa", linestyle=":", zorder=-1)
        ax.set(title=name, xlabel="hidden units" if name.startswith("mlp") else "channels")
        ax.grid(alpha=0.3)
    axes[0, 0].set_ylabel("classification error (%)")
    axes[0, 0].legend(fontsize=8)
    figure.tight_layout()
    return figure


EXPERIMENT = Experiment(
    name="double-descent", title="Deep double descent", run=run,
    draw=draw, sizes=SIZES,
    choices={"picks": range(len(WIDTHS)), "channel_picks": range(len(CHANNELS))},
    figure_arrays={"*": 1},
    reference_time=(4260.0, "its notebook records 71 minutes (one seed per point)"),
    smoke=dict(epochs=1, picks=[0, 14], channel_picks=[0, 18]),
    tolerance=Tolerance(3.0))
