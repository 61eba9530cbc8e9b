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
# # Self-supervised contrastive learning on MNIST-1D
#
# The reference experiment (`self-supervised-learning.ipynb` of greydanus/mnist1d): SimCLR with a CNN encoder (three convolutions of 25 channels, kernels 5/3/3, stride 2: 125 features) and a projector 125 -> 125 -> 16, InfoNCE at temperature 0.5, Adam 0.01, batches of 100, 200 epochs, with the reference's augmentations (offset and trend removed, a circular shift of up to 9, a random slope and offset). Then what only a generator can do: **generator views**, the two positives of a pair made from the same class with independent draws of padding, scale, shift, noise and shear. Probes: kNN (cosine, k = 10) and a linear probe (logistic regression on standardised features) on every layer, three seeds per kind of view, run side by side (`experiments.self_supervised`). Pixel-space probes first (the reference: kNN 59.6%, linear 32.8%).

# %%
import os
FAST = os.environ.get("MNIST1D_FAST") == "1"  # the test suite's quick mode
import jax
from mnist1d_jax.lab import experiments
size, changes = ("quick", experiments.self_supervised.smoke) if FAST else ("full", {})
print(f"on {jax.devices()[0].device_kind}")
result = experiments.self_supervised(jax.random.key(0), size, **changes)
result

# %% [markdown]
# ## What each layer knows, and t-SNE of raw signals against learned features
#
# The t-SNE is `mnist1d_jax.lab.tsne` (exact, in JAX, scikit-learn's defaults) on the first 1000 test signals, coloured by class.

# %%
experiments.figure(result)
