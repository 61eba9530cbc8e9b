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
# # MNIST-1D in JAX: a quickstart
#
# The ten templates, every step of the generator on one example, a whole dataset in one jitted call, and a CNN trained in a few seconds.

# %%
import os
FAST = os.environ.get("MNIST1D_FAST") == "1"  # the test suite's quick mode
import jax, jax.numpy as jnp, numpy as np
import matplotlib.pyplot as plt
import mnist1d_jax
from mnist1d_jax import transforms, plot
from mnist1d_jax.lab import nn, training
args = mnist1d_jax.get_dataset_args()
args

# %% [markdown]
# ## The templates
#
# Ten hand-made 12-point signals, one per digit.

# %%
templates = mnist1d_jax.get_templates()
plot.plot_templates(templates);

# %% [markdown]
# ## Every transform step on one example
#
# An example is a pure function of its random draws (`mnist1d_jax.draw`); each step is a small function in `mnist1d_jax.transforms`.

# %%
draws = mnist1d_jax.draw(jax.random.key(3), args)
x = jnp.asarray(templates["x"][3], jnp.float32)
steps = {"1-2. pad and dilate": transforms.pad_and_dilate(x, draws.padding, args)}
steps["3. scale"] = transforms.scale(steps["1-2. pad and dilate"], draws.scale, args.scale_coeff)
steps["4. translate"] = transforms.translate(steps["3. scale"], draws.shift)
steps["5. correlated noise"] = transforms.corr_noise(steps["4. translate"], draws.corr_noise,
                                                     args.corr_noise_scale)
steps["6. iid noise"] = transforms.iid_noise(steps["5. correlated noise"], draws.iid_noise,
                                            args.iid_noise_scale)
steps["7. shear"] = transforms.shear(steps["6. iid noise"], draws.shear, args.shear_scale)
steps["8. subsample"] = transforms.subsample(steps["7. shear"], args.final_seq_length)
fig, axes = plt.subplots(1, len(steps), figsize=(2.2 * len(steps), 2.4), sharey=True)
for ax, (name, signal) in zip(axes, steps.items()):
    ax.plot(signal, np.arange(len(signal)), "k-"); ax.set_title(name, fontsize=8)
fig.tight_layout()
same = mnist1d_jax.transform(draws, x, args)
print("transform() gives the same signal:", bool(jnp.allclose(same, steps["8. subsample"])))

# %% [markdown]
# ## A whole dataset in one jitted call

# %%
data = mnist1d_jax.make_dataset(jax.random.key(0), args)
print({k: v.shape for k, v in data.items() if k != "templates"})
plot.plot_overview(data);

# %% [markdown]
# The published dataset, reproduced from the reference's NumPy draws:

# %%
original = mnist1d_jax.reference_dataset(dtype="float32")
original["x"].shape, original["y"][:10]

# %% [markdown]
# ## A CNN in a few seconds
#
# The whole training run (optax Adam, a `lax.scan` over steps, evaluations every 250 steps) is one compiled call.

# %%
config = training.TrainConfig(total_steps=100 if FAST else 2000,
                              eval_every=50 if FAST else 250)
result = training.train(nn.CNN, original, jax.random.key(0), config=config)
plt.figure(figsize=(5, 3))
plt.plot(config.eval_steps, result["test_acc"], label="test")
plt.plot(config.eval_steps, result["train_acc"], label="train")
plt.xlabel("step"); plt.ylabel("accuracy (%)"); plt.legend()
print(f"final test accuracy: {float(result['test_acc'][-1]):.1f}%")

# %% [markdown]
# ## Fresh data in every step
#
# `sample_batch` draws a new batch inside the compiled step, so a model can train on an endless stream.

# %%
stream = training.train_on_stream(nn.CNN, jax.random.key(1), args, original, config=config)
print(f"trained on {config.total_steps * config.batch_size} fresh examples: "
      f"test accuracy {float(stream['test_acc'][-1]):.1f}%")
