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
# The generator is differentiable: its four float arguments (`scale_coeff`, `corr_noise_scale`, `iid_noise_scale`, `shear_scale`) enter every signal smoothly (the noise is reparameterised: fixed draws times a scale). So the loss of a model trained on freshly generated data can be differentiated with respect to them. Here we learn the augmentation strengths that make an MLP trained only on fresh generated data do best on the original test set (`mnist1d_jax.meta.learn_augmentation`).

# %%
import os
FAST = os.environ.get("MNIST1D_FAST") == "1"  # the test suite's quick mode
import time
import jax, jax.numpy as jnp
import matplotlib.pyplot as plt
import mnist1d_jax
from mnist1d_jax.lab import meta
data = {k: jnp.asarray(v) for k, v in mnist1d_jax.reference_dataset(dtype="float32").items()
        if k in ("x", "y", "x_test", "y_test")}

# %%
from mnist1d_jax.args import SCALE_FIELDS
args = mnist1d_jax.get_dataset_args()
target = {"x": data["x_test"], "y": data["y_test"]}
outer_steps, inner_steps = (3, 20) if FAST else (40, 200)
start = time.perf_counter()
history = jax.block_until_ready(meta.learn_augmentation(
    jax.random.key(0), args, target, outer_steps=outer_steps, inner_steps=inner_steps))
print(f"{outer_steps} outer steps in {time.perf_counter() - start:.1f} s")
for name, first, final in zip(SCALE_FIELDS, history.scales[0], history.scales[-1]):
    print(f"{name:17s} {float(first):.3f} -> {float(final):.3f}")

# %%
fig, axes = plt.subplots(1, 2, figsize=(10, 3.4))
axes[0].plot(history.target_loss); axes[0].set(title="loss on the original test set",
                                               xlabel="outer step")
for i, name in enumerate(SCALE_FIELDS):
    axes[1].plot(history.scales[:, i], label=name)
axes[1].set(title="generator arguments", xlabel="outer step"); axes[1].legend(); fig.tight_layout()

# %% [markdown]
# The gradients are exact: the test suite checks `jax.grad` of functions of `make_dataset` and `sample_batch` with respect to each argument against central finite differences in float64.
