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
# # Metalearning an activation function
#
# The reference experiment: the activation is `elu(x) + 0.2 * g(x)`, g a tanh MLP 1-100-1 applied elementwise; an MLP 40-128-10 with it is trained by RMSprop (decay 0.4, learning rate 1e-2) for 301 steps on batches of 100; the outer objective is the mean of the last 200 inner losses; g follows outer SGD (0.3) with the meta-gradient clipped to [-0.1, 0.1]. Then the learned function is compared with standard activations trained the same way (same initialisations, 5 seeds; `experiments.activation`).
#
# The inner loop backpropagates by hand (`meta.mlp_loss_and_grad`), so the learned activation gives its value and slope from one evaluation of g, with a hand-written VJP for the meta-gradient, and each inner step is rematerialised on the way back: one outer step is about 0.6 s on a 2-core CPU instead of several seconds with autodiff alone. We run 40 outer steps where the reference ran 301; its figure is the test accuracy of its last outer step's inner run.

# %%
import os
FAST = os.environ.get("MNIST1D_FAST") == "1"  # the test suite's quick mode
import jax
from mnist1d_jax.lab import experiments
size, changes = ("quick", experiments.activation.smoke) if FAST else ("full", {})
result = experiments.activation(jax.random.key(0), size, **changes)
result

# %%
experiments.figure(result)
