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
# `mnist1d_jax.lab.lottery` runs the whole search (2 methods x 2 trials x 100 rounds x 1502 steps) as one compiled program: masks are pytrees beside the parameters, a round is a `scan` over training steps, the rounds are a `scan`, and methods x trials are `vmap`ped. `experiments.lottery_tickets` runs it and reads off the reference's numbers at sparsity 0.91.

# %%
import os
FAST = os.environ.get("MNIST1D_FAST") == "1"  # the test suite's quick mode
import jax
from mnist1d_jax.lab import experiments
size, changes = ("quick", experiments.lottery_tickets.smoke) if FAST else ("full", {})
print(f"on {jax.devices()[0].device_kind}")
result = experiments.lottery_tickets(jax.random.key(0), size, **changes)
result

# %%
experiments.figure(result)

# %% [markdown]
# The reference found the first layer's surviving weights clustered along neighbouring input positions (local connectivity, a spatial prior); the right panel shows ours.
#
# ## Does the ticket transfer?
#
# The ticket of trial 0 (its masks and initial values) against the random ticket of the same sparsity, retrained on a new dataset from the same distribution (`seed + 1`), on position-shuffled data and on sign-flipped data.

# %%
import jax.numpy as jnp
import mnist1d_jax
from mnist1d_jax.lab import lottery, training
search, data = result.objects["search"], result.objects["data"]
config = result.objects["config"]  # the search's settings
variants = {"new dataset (seed 43)": mnist1d_jax.reference_dataset(
                mnist1d_jax.get_dataset_args(seed=43), dtype="float32"),
            "positions shuffled": training.shuffle_positions(data),
            "sign flipped": {**data, "x": -data["x"], "x_test": -data["x_test"]}}
pick = lambda tree, m: jax.tree.map(lambda a: a[m, 0], tree)
for name, variant in variants.items():
    arrays = {k: jnp.asarray(variant[k]) for k in ("x", "y", "x_test", "y_test")}
    scores = {method: float(lottery.train_round(pick(search["initial"], m),
                                                pick(search["ticket"], m), arrays, config)[1].max())
              for m, method in enumerate(lottery.METHODS)}
    print(f"{name:22s} lottery ticket {scores['magnitude']:5.1f}%, random ticket "
          f"{scores['random']:5.1f}%")
