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
# Every variant is one compiled program for all six training-set sizes and three seeds: the size is a traced quantity (batches index within the first `n` rows of data padded to 50000). `experiments.pooling` reports pooling's advantage (the mean of max, average and L2 pooling less no pooling) at each size, beside the reference's final accuracies (read from its training logs).

# %%
import os
FAST = os.environ.get("MNIST1D_FAST") == "1"  # the test suite's quick mode
import jax
from mnist1d_jax.lab import experiments
size, changes = ("quick", experiments.pooling.smoke) if FAST else ("full", {})
print(f"on {jax.devices()[0].device_kind}")
result = experiments.pooling(jax.random.key(0), size, **changes)
result

# %% [markdown]
# The reference's claim holds when the advantage at the smallest training set is larger than at the largest: pooling helps most with little data.

# %%
experiments.figure(result)
