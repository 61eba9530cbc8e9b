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
# # Metalearning the learning rate
#
# The reference experiment: an MLP 40-50-10 (tanh) trained by plain SGD for 200 steps on batches of 50; the outer objective is the mean inner training loss; the learning rate follows outer SGD (step 0.3) on its meta-gradient, from 1.5 and from 0.15. In JAX the unrolled inner loop is one `lax.scan`, the meta-gradient one `jax.grad`, and all 50 outer steps one compiled call (`mnist1d_jax.lab.meta.learn_learning_rate`); `experiments.learning_rate` runs both starts from three keys each.

# %%
import os
FAST = os.environ.get("MNIST1D_FAST") == "1"  # the test suite's quick mode
import jax
from mnist1d_jax.lab import experiments
size, changes = ("quick", experiments.learning_rate.smoke) if FAST else ("full", {})
result = experiments.learning_rate(jax.random.key(0), size, **changes)
result

# %% [markdown]
# Both starts converge to the same learning rate, as the reference's did (about 0.62).

# %%
experiments.figure(result)
