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
# The reference experiment (`self-supervised-learning.ipynb` of greydanus/mnist1d): SimCLR with a CNN encoder (three convolutions of 25 channels, kernels 5/3/3, stride 2: 125 features) and a projector 125 -> 125 -> 16, InfoNCE at temperature 0.5, Adam 0.01, batches of 100, 200 epochs, with the reference's augmentations (offset and trend removed, a circular shift of up to 9, a random slope and offset). Then what only a generator can do: **generator views**, the two positives of a pair made from the same class with independent draws of padding, scale, shift, noise and shear. Probes: kNN (cosine, k = 10) and a linear probe (logistic regression on standardised features) on every layer, three seeds per kind of view.

# %%
import os
FAST = os.environ.get("MNIST1D_FAST") == "1"  # the test suite's quick mode
import time
import jax, jax.numpy as jnp, numpy as np
import matplotlib.pyplot as plt
import mnist1d_jax
from mnist1d_jax.lab import contrastive
data = mnist1d_jax.reference_dataset(dtype="float32")          # the published dataset
epochs, seeds, kinds = 200, [0, 1, 2], contrastive.VIEWS
layers = ["pixels", "conv1", "conv2", "conv3", "projector 1", "projector 2"]
if FAST:
    epochs, seeds, kinds, layers = 1, [0], ("generator",), ["pixels", "conv3"]
print(f"{epochs} epochs, seeds {seeds}, on", jax.devices()[0].device_kind)

# %% [markdown]
# ## Probes in pixel space (the reference: kNN 59.6%, linear 32.8%)

# %%
knn = contrastive.knn_probe(data["x"], data["y"], data["x_test"], data["y_test"],
                           metric="euclidean")
lin = contrastive.linear_probe(data["x"], data["y"], data["x_test"], data["y_test"])
print(f"kNN {knn:.1f}%, linear {lin:.1f}%")


# %% [markdown]
# ## Training with the reference's augmentations, generator views, and both

# %%
def probe_all(params):
    """Linear-probe accuracy of each layer in `layers`, and kNN on the projector output."""
    train = [data["x"]] + [np.asarray(f) for f in contrastive.features(params, data["x"])]
    test = [data["x_test"]] + [np.asarray(f) for f in contrastive.features(params, data["x_test"])]
    names = ["pixels", "conv1", "conv2", "conv3", "projector 1", "projector 2"]
    linear = {n: contrastive.linear_probe(train[i], data["y"], test[i], data["y_test"])
              for i, n in enumerate(names) if n in layers}
    return linear, contrastive.knn_probe(train[-1], data["y"], test[-1], data["y_test"])

results, trained = {}, {}
keys = jnp.stack([jax.random.key(seed) for seed in seeds])  # one run per seed, side by side
for views in kinds:
    start = time.perf_counter()
    params, losses = contrastive.train(keys, data, views=views, epochs=epochs)
    for i, seed in enumerate(seeds):
        trained[views, seed] = jax.tree.map(lambda leaf: leaf[i], params)
    results[views] = [probe_all(trained[views, seed]) for seed in seeds]
    print(f"{views:9s} {len(seeds)} seeds in {time.perf_counter() - start:.0f} s (training and "
          f"probes), final loss {losses[:, -1].mean():.3f}")
print("\nlinear probe, test accuracy (%), mean +- std over seeds")
print("views     " + "".join(f"{n:>14s}" for n in layers) + "   kNN (projector)")
for views, runs in results.items():
    cells = [np.array([r[0][n] for r in runs]) for n in layers]
    knns = np.array([r[1] for r in runs])
    print(f"{views:9s} " + "".join(f"{c.mean():8.1f} +-{c.std():4.1f}" for c in cells)
          + f"   {knns.mean():5.1f} +-{knns.std():4.1f}")
print("reference (augment, 1 seed): per-layer linear 75.9, 82.4, 79.5, 77.3, 72.8, 65.0, 61.1")

# %%
fig, ax = plt.subplots(figsize=(7, 3.4))
for views, marker in zip(results, "osd"):
    acc = np.array([[r[0][n] for n in layers] for r in results[views]])
    ax.errorbar(np.arange(len(layers)), acc.mean(0), acc.std(0), marker=marker, capsize=3,
                label=views)
ax.set(xticks=np.arange(len(layers)), xticklabels=layers, ylabel="linear probe accuracy (%)",
       title="what each layer knows about the class")
ax.legend(); ax.grid(alpha=0.3); fig.tight_layout()

# %% [markdown]
# ## t-SNE: raw signals against learned features (test set, coloured by class)

# %%
from sklearn.manifold import TSNE
rows = slice(0, 200 if FAST else 1000)
encoder = np.asarray(contrastive.features(trained["generator", seeds[0]], data["x_test"])[2])
embedded = {name: TSNE(init="pca", random_state=0, perplexity=30).fit_transform(f[rows])
            for name, f in (("raw signals", data["x_test"]), ("encoder, generator views",
                                                              encoder))}
fig, axes = plt.subplots(1, 2, figsize=(10, 4.5))
for ax, (name, points) in zip(axes, embedded.items()):
    ax.scatter(*points.T, c=data["y_test"][rows], cmap="tab10", s=6)
    ax.set(title=name, xticks=[], yticks=[])
fig.tight_layout()
