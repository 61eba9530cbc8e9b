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
# # The paper's table: models on MNIST-1D, with and without spatial structure
#
# Logistic regression, MLP, CNN and GRU, trained with the reference's settings on the original dataset and on a copy whose 40 positions are shuffled by one fixed permutation. Shuffling removes locality: the CNN and GRU fall towards the MLP, which does not care.
#
# The experiment is `mnist1d_jax.lab.experiments.paper_table`: every model is trained for all seeds in one vmapped, compiled call, each pair compiled in a background thread while the one before it trains. Its numbers, beside the paper's, and the claims they test:

# %%
import os
FAST = os.environ.get("MNIST1D_FAST") == "1"  # the test suite's quick mode
import jax
from mnist1d_jax.lab import experiments
size, changes = ("quick", experiments.paper_table.smoke) if FAST else ("full", {})
import matplotlib.pyplot as plt
result = experiments.paper_table(jax.random.key(0), size, **changes)
result

# %% [markdown]
# On this permutation the shuffled CNN lands 4 points above the paper's 56% (60.0) and the shuffled GRU 5.5 points below its 57%. The reference's own PyTorch loop, on the same permuted data, agrees with these runs rather than with the paper (CNN 59.7%, GRU 54.6% over seeds 0-2; see the README): the shuffled figures depend on the permutation, which the paper does not publish.
#
# ## Test accuracy during training (mean of the seeds, min-max band)

# %%
experiments.figure(result)

# %% [markdown]
# ## What shuffling does to the signals
#
# The same examples before and after the permutation: a human (and a CNN) loses the shape.

# %%
datasets = result.objects["datasets"]
fig, axes = plt.subplots(2, 5, figsize=(10, 3.5), sharex=True)
for i in range(5):
    axes[0, i].plot(datasets["regular"]["x"][i], "k-")
    axes[0, i].set_title(f"class {datasets['regular']['y'][i]}")
    axes[1, i].plot(datasets["shuffled"]["x"][i], "r-")
axes[0, 0].set_ylabel("regular"); axes[1, 0].set_ylabel("shuffled"); fig.tight_layout()
