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
# `mnist1d_jax.lab.sweeps` trains a whole sweep in a few compiled calls: models of similar widths share one program, padded to the largest and masked (a masked model is the narrow model), `vmap`ped over widths and seeds. `experiments.double_descent` runs the three sweeps and finds, on each mean test-error curve, its first minimum, the peak after it and the last point, as on the reference's curves.

# %%
import os
FAST = os.environ.get("MNIST1D_FAST") == "1"  # the test suite's quick mode
import jax
from mnist1d_jax.lab import experiments
# three seeds a point, one more than the full size's two (which shorten `reproduce`)
size, changes = ("quick", experiments.double_descent.smoke) if FAST else ("full", {"seeds": 3})
print(f"on {jax.devices()[0].device_kind}")
result = experiments.double_descent(jax.random.key(0), size, **changes)
result

# %% [markdown]
# With label noise the test error falls to a first minimum, rises again near the width where the model first fits the noisy training set, and falls again at the largest widths; without noise the rise is small or absent.
#
# ## Our three seeds (mean, min-max band) against the reference's single run

# %%
experiments.figure(result)
