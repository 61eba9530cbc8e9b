# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#       jupytext_version: 1.19.6
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Deep double descent on MNIST-1D
#
# The reference experiment (`deep-double-descent.ipynb` of greydanus/mnist1d; *Understanding Deep Learning*, section 8.4): 4000 training and 12000 test examples; an MLP 40-h-h-10 (ReLU) for 19 widths from 2 to 300, without and with 15% label noise; a CNN of `c` channels (three stride-2 convolutions, kernels 5/3/3) for 29 channel counts from 2 to 100, with 15% label noise. SGD (learning rate 0.01, momentum 0.9), batches of 100 reshuffled every epoch, 500 epochs (20,000 updates). Three seeds per point where the reference ran one.
#
# `mnist1d_jax.lab.sweep` trains a whole sweep in a few compiled calls: models of similar widths share one program, padded to the largest and masked (a masked model is the narrow model), `vmap`ped over widths and seeds.

# %%
import os
FAST = os.environ.get("MNIST1D_FAST") == "1"  # the test suite's quick mode
import jax, numpy as np
import matplotlib.pyplot as plt
import mnist1d_jax
from mnist1d_jax.lab import sweep
args = mnist1d_jax.get_dataset_args(num_samples=16_000, train_split=0.25)
data = mnist1d_jax.reference_dataset(args, dtype="float32")   # the reference notebook's data
widths = np.unique(np.geomspace(2, 300, 20, dtype=int))
channels = np.concatenate((np.arange(2, 30, 2), np.arange(30, 101, 5)))
seeds, epochs = [0, 1, 2], 500
if FAST:
    widths, channels, seeds, epochs = widths[[0, 14]], channels[[0, 18]], [0], 1
steps = epochs * 4000 // 100
config = sweep.SweepConfig(optimizer="sgd", learning_rate=0.01, momentum=0.9, batch_size=100,
                           steps=steps, order="epochs", chunk=steps // 4)
# padding models to a bucket's largest width: little on a CPU (arithmetic-bound; measured), all
# widths in one program on an accelerator, where a small model's step costs its kernel launches
waste = 1.0 if jax.default_backend() == "cpu" else 100.0
print(data["x"].shape, data["x_test"].shape, f"{config.steps} updates per model on",
      jax.devices()[0].device_kind)

# %% [markdown]
# The reference's recorded test errors (one seed each), for the overlay:

# %%
reference = {
    "mlp": [68.5, 66.8, 58.3, 61.4, 54.2, 49.3, 50.1, 44.6, 42.6, 41.0, 41.7, 41.0, 41.2, 39.6,
            38.6, 38.6, 38.1, 37.1, 37.3],
    "mlp, noisy": [69.6, 67.5, 62.6, 57.5, 54.8, 49.0, 50.3, 47.2, 50.8, 50.7, 52.8, 54.1, 54.0,
                   52.1, 50.2, 48.4, 47.9, 46.5, 45.5],
    "cnn, noisy": [61.2, 35.8, 23.9, 22.0, 19.6, 23.7, 27.7, 27.3, 33.8, 32.5, 31.3, 32.0, 30.0,
                   32.5, 29.8, 30.2, 30.5, 30.2, 28.7, 28.2, 30.0, 28.1, 28.8, 29.4, 28.1, 28.1,
                   28.8, 27.4, 27.7]}
all_widths = np.unique(np.geomspace(2, 300, 20, dtype=int))
reference_x = {"mlp": all_widths, "mlp, noisy": all_widths,
               "cnn, noisy": np.concatenate((np.arange(2, 30, 2), np.arange(30, 101, 5)))}

# %% [markdown]
# ## The three sweeps

# %%
runs, sizes_of = {}, {}
for name, family, sizes, noise in (("mlp", sweep.MLP_FAMILY, widths, 0.0),
                                   ("mlp, noisy", sweep.MLP_FAMILY, widths, 0.15),
                                   ("cnn, noisy", sweep.CNN_FAMILY, channels, 0.15)):
    sizes_of[name] = sizes
    runs[name] = sweep.sweep(family, sizes, data, seeds=seeds, config=config, label_noise=noise,
                             waste=waste, progress=None)
    print(f"{name}: {len(sizes)} sizes x {len(seeds)} seeds in {runs[name]['wall_s']:.0f} s "
          "(compilation included)")


# %% [markdown]
# ## Does the test error descend twice?
#
# With label noise, the test error should fall to a first minimum, rise again near the width where the model first fits the noisy training set, and fall again at the largest widths; without noise the rise should be smaller.

# %%
def rise_and_fall(test):
    """Indices of the first minimum of a mean test-error curve (in its first half) and of the
    peak after it."""
    first = int(np.argmin(test[: len(test) // 2 + 1]))
    return first, first + int(np.argmax(test[first:]))

for name, run in runs.items():
    test, x = run["test_error"].mean(1), sizes_of[name]
    first, peak = rise_and_fall(test)
    print(f"{name:11s} first minimum {test[first]:5.1f}% at {x[first]:3d}, then up to "
          f"{test[peak]:5.1f}% at {x[peak]:3d} ({test[peak] - test[first]:+4.1f}), last "
          f"{test[-1]:5.1f}% at {x[-1]} ({test[-1] - test[peak]:+5.1f} from the peak)")

# %% [markdown]
# ## The figure: our three seeds (mean, min-max band) against the reference's single run

# %%
fig, axes = plt.subplots(1, 3, figsize=(13, 3.8), sharey=True)
for ax, (name, run) in zip(axes, runs.items()):
    x = sizes_of[name]
    for key, style, label in (("test_error", "-", "test"), ("train_error", "--", "train")):
        line, = ax.plot(x, run[key].mean(1), style, label=f"{label} (mean of {len(seeds)} seeds)")
        ax.fill_between(x, run[key].min(1), run[key].max(1), color=line.get_color(), alpha=0.2)
    ax.plot(reference_x[name], reference[name], "k:", label="reference test (1 seed)")
    if "noisy" in name:
        ax.axhline(15, color="#aaaaaa", linestyle=":", zorder=-1)
    ax.set(title=name, xlabel="hidden units" if name.startswith("mlp") else "channels",
           ylim=(0, 75))
    ax.grid(alpha=0.3)
axes[0].set_ylabel("classification error (%)"); axes[0].legend(fontsize=8); fig.tight_layout()
