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
# # Metalearning the data itself
#
# The generator is differentiable: its four float arguments (`scale_coeff`, `corr_noise_scale`, `iid_noise_scale`, `shear_scale`) enter every signal smoothly (the noise is reparameterised: fixed draws times a scale). So the loss of a model trained on freshly generated data can be differentiated with respect to them. Here we learn the augmentation strengths that make an MLP trained only on fresh generated data do best on the original test set (`mnist1d_jax.lab.meta.learn_augmentation`, run from two keys by `experiments.metalearned_data`). The "reference" column holds the reference's default arguments, where the learning starts.

# %%
import os
FAST = os.environ.get("MNIST1D_FAST") == "1"  # the test suite's quick mode
import jax
from mnist1d_jax.lab import experiments
size, changes = ("quick", experiments.metalearned_data.smoke) if FAST else ("full", {})
result = experiments.metalearned_data(jax.random.key(0), size, **changes)
result

# %%
experiments.figure(result)

# %% [markdown]
# The arguments move the same way from both keys: less amplitude scaling (`scale_coeff` down from 0.40), more shear, smaller noise. But the loss on the test set does not fall beyond its step-to-step noise (each outer step trains a fresh model on fresh data), so the claim in the table does not hold: what this shows is that the generator can be differentiated through end to end, not (yet) a better dataset. A longer inner loop, several inner runs per outer step or a held-out target are the next things to try.
#
# The gradients are exact: the test suite checks `jax.grad` of functions of `make_dataset` and `sample_batch` with respect to each argument against central finite differences in float64.
