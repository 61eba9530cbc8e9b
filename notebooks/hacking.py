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
# # Hacking MNIST-1D: your own classes, difficulty sweeps, shifted test sets, curricula, learned templates, noisy labels
#
# MNIST-1D is meant to be changed. Here every change stays on the JAX path: a template set is data (any number of classes and points, traced, differentiable), the float arguments and `max_translation` are traced leaves, normalisation is a choice, and label noise is drawn by the generator. Each section is one idea; docs/hacking.md says the same in prose.

# %%
import os
FAST = os.environ.get("MNIST1D_FAST") == "1"  # the test suite's quick mode
import functools
import jax
import jax.numpy as jnp
import matplotlib.pyplot as plt
import numpy as np
import optax
from flax import nnx
import mnist1d_jax
from mnist1d_jax.lab import nn, training
print(f"on {jax.devices()[0].device_kind}")
STEPS = 40 if FAST else 3000
config = training.TrainConfig(total_steps=STEPS, eval_every=STEPS // 4)

# %% [markdown]
# ## 1. Twenty classes of your own
#
# `make_templates` turns any shapes into templates by the reference's recipe (centred, unit std, first point at 0, divided by 6). Twenty random smooth 16-point shapes give a 20-class MNIST-1D; the classes stay balanced (`num_samples // 20` each), and the lab's models are sized for the data (a model left at ten classes is refused in one line naming `num_classes`).

# %%
rng = np.random.default_rng(0)
shapes = np.cumsum(rng.normal(size=(20, 16)), axis=1)  # random walks: smooth-ish shapes
templates = mnist1d_jax.make_templates(shapes)
args = mnist1d_jax.get_dataset_args(num_samples=1_000 if FAST else 10_000)
data = mnist1d_jax.make_dataset(jax.random.key(0), args, templates=templates)
print({k: v.shape for k, v in data.items() if k != "templates"}, "classes:",
      np.bincount(np.concatenate([data["y"], data["y_test"]])))
cnn20 = functools.partial(nn.CNN, num_classes=20)
result = training.train(cnn20, data, jax.random.split(jax.random.key(1), 2), config=config)
print(f"CNN on 20 classes: test accuracy {np.asarray(result['test_acc'])[:, -1].mean():.1f}% "
      "(chance 5%)")
fig, axes = plt.subplots(2, 10, figsize=(14, 3), sharey=True)
for c, ax in enumerate(axes.flat):
    ax.plot(templates["x"][c]); ax.set_title(str(c), fontsize=8); ax.set_xticks([])
fig.suptitle("your own twenty templates"); plt.show()

# %% [markdown]
# ## 2. A difficulty sweep in one compiled call
#
# The correlated noise scale is a traced leaf: `vmap` over it generates one dataset per scale and trains a logistic regression on each, inside one `jit` (one compilation for every scale).

# %%
scales = jnp.linspace(0.0, 1.5, 3 if FAST else 8)
small = mnist1d_jax.get_dataset_args(num_samples=1_000 if FAST else 4_000)


def accuracy_at(scale):
    data = mnist1d_jax.make_dataset(jax.random.key(1), small.replace(corr_noise_scale=scale))
    optimizer = optax.adam(1e-2)
    params = {"w": jnp.zeros((40, 10)), "b": jnp.zeros(10)}

    def loss(p, rows):
        logits = data["x"][rows] @ p["w"] + p["b"]
        return optax.softmax_cross_entropy_with_integer_labels(logits, data["y"][rows]).mean()

    batches = lambda i: (i * 100 + jnp.arange(100)) % data["x"].shape[0]  # noqa: E731
    (params, _), _ = training.fit_steps(loss, optimizer, batches, params, optimizer.init(params),
                                        jnp.arange(STEPS))
    logits = data["x_test"] @ params["w"] + params["b"]
    return 100 * jnp.mean(jnp.argmax(logits, 1) == data["y_test"])


sweep = jax.jit(jax.vmap(accuracy_at))(scales)
plt.plot(scales, sweep, "o-"); plt.xlabel("corr_noise_scale"); plt.ylabel("test accuracy (%)")
plt.title("logistic regression against correlated noise (one jit)"); plt.show()

# %% [markdown]
# ## 3. A shifted test set, normalised as the training set
#
# Each dataset is normalised by its own statistics by default, which confounds a distribution shift with a change of scale. `normalize=` takes the training distribution's `DatasetArgs` (or `population_statistics` of it), so a test set with more shear is scaled as the model's inputs were.

# %%
base = mnist1d_jax.get_dataset_args(num_samples=1_000 if FAST else 4_000)
train_data = mnist1d_jax.make_dataset(jax.random.key(2), base)
model = training.train(nn.CNN, train_data, jax.random.key(0), config=config)
cnn = nn.graphdef(nn.CNN)
shears = [0.0, 0.75, 1.5, 3.0]
own, as_training = [], []
for shear in shears:
    shifted = base.replace(shear_scale=shear)
    for normalize, out in (("dataset", own), (base, as_training)):
        test = mnist1d_jax.make_dataset(jax.random.key(3), shifted, normalize=normalize)
        logits = nnx.merge(cnn, model["params"])(test["x_test"])
        out.append(float(training.accuracy(logits, test["y_test"])))
plt.plot(shears, own, "o-", label="normalised by its own statistics")
plt.plot(shears, as_training, "s-", label="normalised as the training set")
plt.axvline(0.75, color="grey", lw=0.5); plt.xlabel("test shear_scale (training: 0.75)")
plt.ylabel("CNN test accuracy (%)"); plt.legend(); plt.show()

# %% [markdown]
# ## 4. A curriculum inside the training scan
#
# Fresh batches come from `sample_batch` inside the compiled step, so a scale can follow a schedule of the step: here the correlated noise grows from 0 to the reference's 0.25 over the first half of training, against a run at 0.25 throughout.

# %%
def curriculum_run(anneal: bool):
    graphdef, params = nnx.split(nn.MLP(rngs=nnx.Rngs(0)))
    optimizer = optax.adam(1e-3)

    def batch(i):
        scale = jnp.minimum(i / (STEPS / 2), 1.0) * 0.25 if anneal else 0.25
        b = mnist1d_jax.sample_batch(jax.random.fold_in(jax.random.key(4), i),
                                     base.replace(corr_noise_scale=scale), 100)
        return b["x"], b["y"]

    def loss(p, xy):
        logits = nnx.merge(graphdef, p)(xy[0])
        return training.cross_entropy(logits, xy[1])

    (params, _), (losses, _) = jax.jit(lambda p: training.fit_steps(
        loss, optimizer, batch, p, optimizer.init(p), jnp.arange(STEPS)))(params)
    test = mnist1d_jax.make_dataset(jax.random.key(5), base)
    logits = nnx.merge(graphdef, params)(test["x_test"])
    return float(training.accuracy(logits, test["y_test"])), losses


for anneal in (False, True):
    acc, losses = curriculum_run(anneal)
    plt.plot(np.convolve(losses, np.ones(50) / 50, "valid"),
             label=f"{'annealed' if anneal else 'constant'} noise: test {acc:.1f}%")
plt.xlabel("update"); plt.ylabel("training loss (moving mean)"); plt.legend(); plt.show()

# %% [markdown]
# ## 5. Templates learned by gradient
#
# A dataset is differentiable with respect to its templates. Here a fixed, randomly initialised small MLP is frozen, and the ten templates are learned so that it classifies fresh examples of them best: the data adapt to the model rather than the model to the data.

# %%
frozen_graph, frozen = nnx.split(nn.MLP(hidden_size=32, rngs=nnx.Rngs(1)))
stream = mnist1d_jax.get_dataset_args()


def template_loss(x, i):
    batch = mnist1d_jax.sample_batch(jax.random.fold_in(jax.random.key(6), i), stream, 256,
                                     templates={"x": x})
    return training.cross_entropy(nnx.merge(frozen_graph, frozen)(batch["x"]), batch["y"])


def frozen_accuracy(x):
    batch = mnist1d_jax.sample_batch(jax.random.key(7), stream, 4000, templates={"x": x})
    return float(training.accuracy(nnx.merge(frozen_graph, frozen)(batch["x"]), batch["y"]))


start = jnp.asarray(mnist1d_jax.get_templates()["x"], jnp.float32)
optimizer = optax.adam(3e-2)
(learned, _), (losses, _) = jax.jit(lambda x: training.fit_steps(
    template_loss, optimizer, lambda i: i, x, optimizer.init(x),
    jnp.arange(20 if FAST else 1000)))(start)
print(f"the frozen model's accuracy on fresh examples: {frozen_accuracy(start):.1f}% with the "
      f"reference's templates, {frozen_accuracy(learned):.1f}% with the learned ones")
fig, (a, b) = plt.subplots(1, 2, figsize=(12, 3))
a.plot(losses); a.set_xlabel("step"); a.set_ylabel("frozen model's loss")
for c in range(10):
    b.plot(np.asarray(learned[c]), color=plt.cm.tab10(c))
b.set_title("learned templates"); plt.show()

# %% [markdown]
# ## 6. Noisy labels, streamed
#
# `label_noise` is a field of the arguments: a stream with 40% of its labels replaced by uniform classes (drawn from the example's key, so reproducible) trains the same MLP as a clean stream; both are tested on clean labels.

# %%
evaluation = mnist1d_jax.make_dataset(jax.random.key(7), base)
for noise in (0.0, 0.4):
    run = training.train_on_stream(nn.MLP, jax.random.key(8), base.replace(label_noise=noise),
                                   evaluation, config=config)
    plt.plot(config.eval_steps, run["test_acc"], "o-", label=f"label noise {noise:.0%}")
plt.xlabel("update"); plt.ylabel("clean test accuracy (%)"); plt.legend(); plt.show()
