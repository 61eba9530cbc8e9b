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
# # Pooling on MNIST-1D: how much does it help, and when?
#
# The reference experiment (`benchmark-pooling.ipynb` of greydanus/mnist1d): a CNN with two 3-tap convolutions of 20 channels and a linear read-out, in five variants (no pooling at stride 1, stride 2, and max, average and L2 pooling of width 2), trained with Adam (1e-2, batches of 100, 6000 updates) on training sets of 1000 to 50000 examples, each with 1000 test examples (the reference's datasets: `num_samples = n + 1000`, seed 42). Three seeds per point.
#
# Every variant is one compiled program for all six training-set sizes and three seeds: the size is a traced quantity (batches index within the first `n` rows of data padded to 50000).

# %%
import os
FAST = os.environ.get("MNIST1D_FAST") == "1"  # the test suite's quick mode
import jax, numpy as np
import matplotlib.pyplot as plt
import mnist1d_jax
from mnist1d_jax.lab import sweep
sizes = [100, 300] if FAST else [1000, 2000, 5000, 10000, 20000, 50000]
seeds = [0] if FAST else [0, 1, 2]
config = sweep.SweepConfig(optimizer="adam", learning_rate=1e-2, batch_size=100,
                           steps=60 if FAST else 6000, order="cyclic",
                           eval_every=20 if FAST else 100, chunk=60 if FAST else 1500)
datasets = [mnist1d_jax.reference_dataset(mnist1d_jax.get_dataset_args(
    num_samples=n + 1000, train_split=1 - 1000 / (n + 1000)), dtype="float32") for n in sizes]

def padded(a, rows):
    return np.concatenate([a, np.zeros((rows - len(a),) + a.shape[1:], a.dtype)])

# int(num_samples * train_split) can round down by one, as in the reference: use the actual
# sizes, and the first 1000 test examples of each dataset
n_train = [len(d["y"]) for d in datasets]
test_rows = min(len(d["y_test"]) for d in datasets)
stacked = {"x": np.stack([padded(d["x"], max(n_train)) for d in datasets]),
           "y": np.stack([padded(d["y"], max(n_train)) for d in datasets]),
           "x_test": np.stack([d["x_test"][:test_rows] for d in datasets]),
           "y_test": np.stack([d["y_test"][:test_rows] for d in datasets])}
print("training sets", n_train, {k: v.shape for k, v in stacked.items()}, "on",
      jax.devices()[0].device_kind)

# %% [markdown]
# ## Five variants x six sizes x three seeds

# %%
runs = {}
for kind in sweep.POOLING:
    runs[kind] = sweep.sweep(sweep.pooling_family(kind), [20] * len(sizes), stacked,
                             seeds=seeds, config=config, n_train=n_train, progress=None)
    print(f"{kind:8s} {len(sizes)} sizes x {len(seeds)} seeds in {runs[kind]['wall_s']:.0f} s")
accuracy = {kind: 100 - run["test_error"] for kind, run in runs.items()}
print("final test accuracy (%), mean +- std over seeds")
print("size     " + "".join(f"{kind:>14s}" for kind in sweep.POOLING))
for i, n in enumerate(sizes):
    print(f"{n:<9d}" + "".join(f"{accuracy[k][i].mean():8.1f} +- {accuracy[k][i].std():3.1f}"
                                for k in sweep.POOLING))

# %% [markdown]
# ## The reference's claim: pooling helps most with little data
#
# The advantage of the pooling variants (max, average, L2) over no pooling, by training-set size:

# %%
pooled = np.mean([accuracy[k].mean(1) for k in ("max", "average", "l2")], 0)
advantage = pooled - accuracy["none"].mean(1)
for n, a in zip(sizes, advantage):
    print(f"{n:6d} examples: pooling {a:+5.1f} points over no pooling")
print("advantage shrinks from the smallest to the largest training set:",
      bool(advantage[0] > advantage[-1]))

# %%
shown = [0, len(sizes) // 2, len(sizes) - 1]
styles = {"none": "k-", "stride": "k--", "max": "r-", "average": "g-", "l2": "b-"}
fig, axes = plt.subplots(1, len(shown) + 1, figsize=(15, 3.4))
for ax, i in zip(axes, shown):
    for kind, run in runs.items():
        ax.plot(run["eval_steps"], 100 - run["test_error_curve"][i].mean(0), styles[kind],
                label=kind)
    ax.set(title=f"{sizes[i]} training examples", xlabel="update")
    ax.grid(alpha=0.3)
axes[0].set_ylabel("test accuracy (%)"); axes[0].legend(fontsize=8, ncol=2)
for kind in runs:
    axes[-1].errorbar(sizes, accuracy[kind].mean(1), accuracy[kind].std(1),
                      fmt=styles[kind][0] + "o" + styles[kind][1:], label=kind, capsize=2)
axes[-1].set(xscale="log", xlabel="training examples", title="final test accuracy")
axes[-1].grid(alpha=0.3); fig.tight_layout()
