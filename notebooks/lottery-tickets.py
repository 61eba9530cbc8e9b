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
# # Lottery tickets on MNIST-1D
#
# The reference experiment (`lottery-tickets.ipynb` of greydanus/mnist1d; Frankle & Carbin 2018): an MLP 40-500-500-10 (ReLU, residual second layer), Adam 2e-2, batches of 100, 1501 steps per round, test accuracy every 100 steps; 100 rounds of prune, rewind, retrain with layer-wise sparsity `linspace(0, 1, 100)`, pruning the lowest trained magnitudes (the lottery ticket) or random scores (the random ticket); two trials. The reference notes it "takes ~1 hour" on a GPU.
#
# `mnist1d_jax.lab.lottery` runs the whole search (2 methods x 2 trials x 100 rounds x 1502 steps) as one compiled program: masks are pytrees beside the parameters, a round is a `scan` over training steps, the rounds are a `scan`, and methods x trials are `vmap`ped.

# %%
import os
FAST = os.environ.get("MNIST1D_FAST") == "1"  # the test suite's quick mode
import time
import jax, jax.numpy as jnp, numpy as np
import matplotlib.pyplot as plt
import mnist1d_jax
from mnist1d_jax.lab import lottery, train
data = mnist1d_jax.reference_dataset(dtype="float32")          # the published dataset
config = lottery.TicketConfig()                                # the reference's settings
sparsities = np.linspace(0, 1, 100)
if FAST:
    config, sparsities = lottery.TicketConfig(total_steps=40, eval_every=20, hidden=32), \
        np.linspace(0, 1, 12)
print(f"{len(sparsities)} rounds of {config.total_steps + 1} steps, hidden {config.hidden}, on",
      jax.devices()[0].device_kind)

# %% [markdown]
# ## The search: both methods, two trials, one call

# %%
start = time.perf_counter()
out = lottery.search(jax.random.key(0), data, sparsities, trials=2, config=config)
print(f"whole search in {time.perf_counter() - start:.0f} s (compilation included)")
best = out["test_accuracy"].max(-1)                         # (method, trial, round): max accuracy
at = out["keep"]                                           # the round at sparsity 0.91
reference = {"magnitude": (75.0, 72.9), "random": (62.3, 62.1), "dense": (66.4, 65.4)}
print(f"max test accuracy at sparsity {sparsities[at]:.2f} (trial 0 / 1), reference in brackets")
for m, method in enumerate(lottery.METHODS):
    print(f"  {method:9s} {best[m, 0, at]:5.1f} / {best[m, 1, at]:5.1f}   "
          f"[{reference[method][0]} / {reference[method][1]}]")
print(f"  {'dense':9s} {best[0, 0, 0]:5.1f} / {best[0, 1, 0]:5.1f}   "
      f"[{reference['dense'][0]} / {reference['dense'][1]}]")
ticket, rand, dense = best[0, :, at].mean(), best[1, :, at].mean(), best[:, :, 0].mean()
print(f"mean of trials: lottery ticket {ticket:.1f}, random ticket {rand:.1f}, dense {dense:.1f}:"
      f" ticket above both by {min(ticket - rand, ticket - dense):.1f} points")

# %%
fig, axes = plt.subplots(1, 2, figsize=(12, 3.6))
for m, (method, color) in enumerate(zip(lottery.METHODS, ("tab:red", "tab:gray"))):
    axes[0].plot(sparsities, best[m].mean(0), color=color, label=f"{method} (mean of 2 trials)")
    axes[0].fill_between(sparsities, best[m].min(0), best[m].max(0), color=color, alpha=0.2)
for method, marker in (("magnitude", "r*"), ("random", "k*")):
    axes[0].plot([0.91, 0.91], reference[method], marker, label=f"reference {method}, 0.91")
axes[0].set(xlabel="sparsity", ylabel="max test accuracy (%)", title="lottery vs random tickets")
axes[0].legend(fontsize=8); axes[0].grid(alpha=0.3)
axes[1].imshow(out["first_layer_masks"][0, 0, at].T, aspect="auto", cmap="gray_r",
               interpolation="nearest")
axes[1].set(xlabel="input position", ylabel="hidden unit",
            title=f"first layer of the lottery ticket at sparsity {sparsities[at]:.2f}")
fig.tight_layout()

# %% [markdown]
# The reference found the first layer's surviving weights clustered along neighbouring input positions (local connectivity, a spatial prior); the right panel shows ours.
#
# ## Does the ticket transfer?
#
# The ticket of trial 0 (its masks and initial values) against the random ticket of the same sparsity, retrained on a new dataset from the same distribution (`seed + 1`), on position-shuffled data and on sign-flipped data.

# %%
new_args = mnist1d_jax.get_dataset_args(seed=43)
variants = {"new dataset (seed 43)": mnist1d_jax.reference_dataset(new_args, dtype="float32"),
            "positions shuffled": train.shuffle_positions(data),
            "sign flipped": {**data, "x": -data["x"], "x_test": -data["x_test"]}}
pick = lambda tree, m: jax.tree.map(lambda a: a[m, 0], tree)
for name, variant in variants.items():
    arrays = {k: jnp.asarray(variant[k]) for k in ("x", "y", "x_test", "y_test")}
    scores = {method: float(lottery.train_round(pick(out["initial"], m), pick(out["ticket"], m),
                                                arrays, config)[1].max())
              for m, method in enumerate(lottery.METHODS)}
    print(f"{name:22s} lottery ticket {scores['magnitude']:5.1f}%, random ticket "
          f"{scores['random']:5.1f}%")
