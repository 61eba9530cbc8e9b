"""Pooling (the reference's `benchmark-pooling.ipynb`): a CNN of two 3-tap convolutions of 20
channels and a linear read-out in five variants (no pooling, stride 2, max, average and L2
pooling), Adam (1e-2, batches of 100, 6000 updates), on training sets of 1000 to 50000 examples
with 1000 test examples each (the reference's datasets: `num_samples = n + 1000`). One compiled
program per variant for every size and seed (`sweeps.sweep` with traced training-set sizes)."""

from __future__ import annotations

import numpy as np

from ... import get_dataset_args, reference_dataset
from .. import sweeps
from .base import Stages, new_figure, outcome
from .registry import Experiment
from .result import Claim, Number, Tolerance

__all__ = ["EXPERIMENT", "POOLED", "REFERENCE", "SIZES", "STYLES", "draw", "run",
           "stacked_datasets"]

POOLED = ("max", "average", "l2")
REFERENCE = {1000: (59.2, 57.4, 78.2, 78.0, 77.2), 2000: (82.0, 81.7, 89.2, 90.0, 89.9),
             5000: (91.9, 89.9, 94.5, 94.0, 95.3), 10000: (94.3, 91.3, 97.0, 96.0, 96.6),
             20000: (94.4, 92.2, 96.8, 96.2, 97.8), 50000: (96.3, 95.4, 98.1, 97.3, 97.1)}
"""The reference's final test accuracies (%, one run) by training-set size, in `sweeps.POOLING`
order (none, stride, max, average, l2): its training logs at step 6000."""
SIZES: dict[str, dict] = {
    "quick": dict(sizes=[1000, 10000], seeds=2, steps=1000, eval_every=100, chunk=1000),
    "full": dict(sizes=list(REFERENCE), seeds=3, steps=6000, eval_every=100, chunk=1500)}


def _padded(a, rows):
    return np.concatenate([a, np.zeros((rows - len(a),) + a.shape[1:], a.dtype)])


def stacked_datasets(sizes) -> tuple:
    """The reference's dataset for each training-set size, stacked: training sets padded to the
    largest (the sizes themselves returned: `int(num_samples * train_split)` can round down by
    one, as in the reference) and the first 1000 test examples of each."""
    datasets = [reference_dataset(get_dataset_args(num_samples=n + 1000,
                                                   train_split=1 - 1000 / (n + 1000)),
                                  dtype="float32") for n in sizes]
    n_train = [len(d["y"]) for d in datasets]
    test_rows = min(len(d["y_test"]) for d in datasets)
    stacked = {"x": np.stack([_padded(d["x"], max(n_train)) for d in datasets]),
               "y": np.stack([_padded(d["y"], max(n_train)) for d in datasets]),
               "x_test": np.stack([d["x_test"][:test_rows] for d in datasets]),
               "y_test": np.stack([d["y_test"][:test_rows] for d in datasets])}
    return stacked, n_train


def run(key, settings, progress):
    """Every variant at every size and seed. Numbers: pooling's advantage (mean of max, average
    and L2 less no pooling) at each size, and each variant's accuracy at the smallest and largest
    size. Claim: the advantage shrinks from the smallest to the largest training set."""
    config = sweeps.SweepConfig(optimizer="adam", learning_rate=1e-2, batch_size=100,
                                steps=settings["steps"], order="cyclic",
                                eval_every=settings["eval_every"], chunk=settings["chunk"])
    stacked, n_train = stacked_datasets(settings["sizes"])
    stages = Stages(progress, {kind: 1 for kind in sweeps.POOLING})
    accuracy, curves = {}, {}
    for kind in sweeps.POOLING:
        with stages(kind):
            swept = sweeps.sweep(sweeps.pooling_family(kind), [20] * len(n_train), stacked, key,
                                 seeds=settings["seeds"], config=config, n_train=n_train,
                                 progress=stages.within(kind))
        accuracy[kind] = 100 - swept["test_error"]  # (size, seed)
        curves[kind] = 100 - swept["test_error_curve"].mean(1)  # (size, evaluation)
    advantage = np.mean([accuracy[k] for k in POOLED], 0) - accuracy["none"]  # (size, seed)
    reference = {n: dict(zip(sweeps.POOLING, REFERENCE[n])) for n in REFERENCE}
    ref_advantage = {n: np.mean([r[k] for k in POOLED]) - r["none"] for n, r in reference.items()}
    shown = settings["sizes"]
    numbers = [Number(f"pooling's advantage at {n} examples", advantage[i], ref_advantage.get(n),
                      "points") for i, n in enumerate(shown)]
    for i in (0, len(shown) - 1):
        numbers += [Number(f"{kind} at {shown[i]} examples", accuracy[kind][i],
                           reference.get(shown[i], {}).get(kind)) for kind in sweeps.POOLING]
    first, last = advantage[0].mean(), advantage[-1].mean()
    claims = [Claim("pooling's advantage shrinks with data", first > last,
                    f"{first:+.1f} points at {shown[0]} examples, {last:+.1f} at {shown[-1]}")]
    arrays = {"sizes": np.asarray(shown), "eval_steps": swept["eval_steps"]}
    for kind in sweeps.POOLING:
        arrays |= {f"{kind}/curve": curves[kind], f"{kind}/mean": accuracy[kind].mean(1),
                   f"{kind}/std": accuracy[kind].std(1)}
    return outcome(numbers, claims, arrays)


STYLES = {"none": "k-", "stride": "k--", "max": "r-", "average": "g-", "l2": "b-"}


def draw(result):
    """Test accuracy during training at the smallest, a middle and the largest size, and the
    final accuracy against the training-set size."""
    sizes = result.arrays["sizes"]
    shown = sorted({0, len(sizes) // 2, len(sizes) - 1})
    figure, axes = new_figure(15, 3.4, columns=len(shown) + 1)
    for ax, i in zip(axes[0], shown):
        for kind, style in STYLES.items():
            ax.plot(result.arrays["eval_steps"], result.arrays[f"{kind}/curve"][i], style,
                    label=kind)
        ax.set(title=f"{sizes[i]} training examples", xlabel="update")
        ax.grid(alpha=0.3)
    axes[0, 0].set_ylabel("test accuracy (%)")
    axes[0, 0].legend(fontsize=8, ncol=2)
    last = axes[0, -1]
    for kind, style in STYLES.items():
        last.errorbar(sizes, result.arrays[f"{kind}/mean"], result.arrays[f"{kind}/std"],
                      fmt=style[0] + "o" + style[1:], label=kind, capsize=2)
    last.set(xscale="log", xlabel="training examples", title="final test accuracy")
    last.grid(alpha=0.3)
    figure.tight_layout()
    return figure


EXPERIMENT = Experiment(
    name="pooling", title="Pooling: how much it helps, and when", run=run,
    draw=draw, sizes=SIZES, choices={"sizes": range(10, 100_001)},
    figure_arrays={"sizes": 1, "eval_steps": 1, "*/curve": 2, "*/mean": 1, "*/std": 1},
    reference_time=(400.0, "its notebook's log: 30 runs of 6000 steps at about 2.2 s per 1000 "
                    "(GPU)"),
    smoke=dict(seeds=1, sizes=[100], steps=20, eval_every=10, chunk=20),
    tolerance=Tolerance(3.0))
