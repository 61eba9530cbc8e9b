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
# The reference experiment: an MLP 40-50-10 (tanh) trained by plain SGD for 200 steps on batches of 50; the outer objective is the mean inner training loss; the learning rate follows outer SGD (step 0.3) on its meta-gradient, from 1.5 and from 0.15. In JAX the unrolled inner loop is one `lax.scan`, the meta-gradient one `jax.grad`, and all 50 outer steps one compiled call (`mnist1d_jax.meta.learn_learning_rate`).

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
outer_steps = 5 if FAST else 50
start = time.perf_counter()
runs = {lr: jax.block_until_ready(meta.learn_learning_rate(jax.random.key(0), data, lr,
                                                           outer_steps=outer_steps))
        for lr in (1.5, 0.15)}
print(f"both runs, {outer_steps} outer steps each, compilation included: "
      f"{time.perf_counter() - start:.1f} s")
for lr, run in runs.items():
    print(f"from {lr}: final learning rate {float(run.learning_rate[-1]):.3f}")

# %% [markdown]
# Both starts converge to the same learning rate (the reference reports about 0.62).

# %%
fig, axes = plt.subplots(1, 3, figsize=(13, 3.4))
for lr, run in runs.items():
    axes[0].plot(run.outer_loss, label=f"from {lr}")
    axes[1].plot(run.final_inner_loss, label=f"from {lr}")
    axes[2].plot(run.learning_rate, label=f"from {lr}")
for ax, title in zip(axes, ["outer loss (mean inner loss)", "final inner loss", "learning rate"]):
    ax.set(title=title, xlabel="outer step"); ax.grid(alpha=0.3)
axes[2].legend(); fig.tight_layout()
