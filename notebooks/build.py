"""Writes the notebooks' sources (cells) as .ipynb files; run them afterwards to fill outputs:

    python notebooks/build.py [NAME ...] [--execute]

Every notebook reads MNIST1D_FAST=1 (set by the test suite) to run a few steps instead of all.
"""

import os
import sys

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

FAST = '''import os
FAST = os.environ.get("MNIST1D_FAST") == "1"  # the test suite's quick mode'''

NOTEBOOKS = {}

NOTEBOOKS["quickstart"] = [
    "# MNIST-1D in JAX: a quickstart\n\nThe ten templates, every step of the generator on one "
    "example, a whole dataset in one jitted call, and a CNN trained in a few seconds.",
    FAST + '''
import jax, jax.numpy as jnp, numpy as np
import matplotlib.pyplot as plt
import mnist1d_jax
from mnist1d_jax import transforms, plot
from mnist1d_jax.lab import models, train
args = mnist1d_jax.get_dataset_args()
args''',
    "## The templates\n\nTen hand-made 12-point signals, one per digit.",
    '''templates = mnist1d_jax.get_templates()
plot.plot_templates(templates);''',
    "## Every transform step on one example\n\nAn example is a pure function of its random draws "
    "(`mnist1d_jax.draw`); each step is a small function in `mnist1d_jax.transforms`.",
    '''draws = mnist1d_jax.draw(jax.random.key(3), args)
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
print("transform() gives the same signal:", bool(jnp.allclose(same, steps["8. subsample"])))''',
    "## A whole dataset in one jitted call",
    '''data = mnist1d_jax.make_dataset(jax.random.key(0), args)
print({k: v.shape for k, v in data.items() if k != "templates"})
plot.plot_overview(data);''',
    "The published dataset, reproduced from the reference's NumPy draws:",
    '''original = mnist1d_jax.reference_dataset(dtype="float32")
original["x"].shape, original["y"][:10]''',
    "## A CNN in a few seconds\n\nThe whole training run (optax Adam, a `lax.scan` over steps, "
    "evaluations every 250 steps) is one compiled call.",
    '''config = train.TrainConfig(total_steps=100 if FAST else 2000,
                           eval_every=50 if FAST else 250)
result = train.train(models.CNN, original, seeds=0, config=config)
plt.figure(figsize=(5, 3))
plt.plot(config.eval_steps, result["test_acc"], label="test")
plt.plot(config.eval_steps, result["train_acc"], label="train")
plt.xlabel("step"); plt.ylabel("accuracy (%)"); plt.legend()
print(f"final test accuracy: {float(result['test_acc'][-1]):.1f}%")''',
    "## Fresh data in every step\n\n`sample_batch` draws a new batch inside the compiled step, "
    "so a model can train on an endless stream.",
    '''stream = train.train_on_stream(models.CNN, jax.random.key(1), args, original, seeds=0,
                               config=config)
print(f"trained on {config.total_steps * config.batch_size} fresh examples: "
      f"test accuracy {float(stream['test_acc'][-1]):.1f}%")''',
]

NOTEBOOKS["classification"] = [
    "# The paper's table: models on MNIST-1D, with and without spatial structure\n\n"
    "Logistic regression, MLP, CNN and GRU, trained with the reference's settings on the "
    "original dataset and on a copy whose 40 positions are shuffled by one fixed permutation. "
    "Shuffling removes locality: the CNN and GRU fall towards the MLP, which does not care.",
    FAST + '''
import jax, numpy as np
import matplotlib.pyplot as plt
import mnist1d_jax
from mnist1d_jax.lab import models, train
seeds = [0] if FAST else [0, 1, 2]
config = train.TrainConfig(total_steps=100 if FAST else 6000, eval_every=50 if FAST else 250)
data = mnist1d_jax.reference_dataset(dtype="float32")
datasets = {"regular": data, "shuffled": train.shuffle_positions(data, seed=0)}''',
    "Every model is trained for all seeds in one vmapped, compiled call; `train_table` compiles "
    "each model in a background thread while the one before it trains:",
    '''def log(setting, name, result, seconds):
    final = np.asarray(result["test_acc"])[:, -1]
    print(f"{setting:9s} {name:7s} {final.mean():5.1f} +- {final.std():.1f}%  "
          f"(paper {train.PAPER[setting][name]}%)  {seconds:.1f} s")

chosen = {k: models.MODELS[k] for k in (("linear", "cnn") if FAST else models.MODELS)}
table = train.train_table(datasets, chosen, seeds=seeds, config=config, log=log)''',
    "On this permutation the shuffled CNN lands about 2 points above the paper's 56% and the "
    "shuffled GRU about 3 below its 57%. The reference's own PyTorch loop, on the same permuted "
    "data, agrees with these runs rather than with the paper (CNN 59.7%, GRU 54.6% over seeds "
    "0-2; see the README): the shuffled figures depend on the permutation, which the paper does "
    "not publish.",
    "## Test accuracy during training",
    '''fig, axes = plt.subplots(1, 2, figsize=(10, 3.6), sharey=True)
for ax, (setting, rows) in zip(axes, table.items()):
    for name, row in rows.items():
        curves = np.asarray(row["result"]["test_acc"])
        line, = ax.plot(config.eval_steps, curves.mean(0), label=name)
        ax.fill_between(config.eval_steps, curves.min(0), curves.max(0), alpha=0.2,
                        color=line.get_color())
    ax.set(title=f"{setting} positions", xlabel="step", ylim=(0, 100)); ax.grid(alpha=0.3)
axes[0].set_ylabel("test accuracy (%)"); axes[0].legend();''',
    "## What shuffling does to the signals\n\nThe same examples before and after the "
    "permutation: a human (and a CNN) loses the shape.",
    '''fig, axes = plt.subplots(2, 5, figsize=(10, 3.5), sharex=True)
for i in range(5):
    axes[0, i].plot(datasets["regular"]["x"][i], "k-"); axes[0, i].set_title(f"class {data['y'][i]}")
    axes[1, i].plot(datasets["shuffled"]["x"][i], "r-")
axes[0, 0].set_ylabel("regular"); axes[1, 0].set_ylabel("shuffled"); fig.tight_layout()''',
]

DATA = FAST + """
import time
import jax, jax.numpy as jnp, numpy as np
import matplotlib.pyplot as plt
import mnist1d_jax
from mnist1d_jax.lab import meta
data = {k: jnp.asarray(v) for k, v in mnist1d_jax.reference_dataset(dtype="float32").items()
        if k in ("x", "y", "x_test", "y_test")}"""

NOTEBOOKS["metalearn-learn-rate"] = [
    "# Metalearning the learning rate\n\nThe reference experiment: an MLP 40-50-10 (tanh) "
    "trained by plain SGD for 200 steps on batches of 50; the outer objective is the mean inner "
    "training loss; the learning rate follows outer SGD (step 0.3) on its meta-gradient, from "
    "1.5 and from 0.15. In JAX the unrolled inner loop is one `lax.scan`, the meta-gradient one "
    "`jax.grad`, and all 50 outer steps one compiled call (`mnist1d_jax.meta.learn_learning_rate`).",
    DATA,
    '''outer_steps = 5 if FAST else 50
start = time.perf_counter()
runs = {lr: jax.block_until_ready(meta.learn_learning_rate(jax.random.key(0), data, lr,
                                                           outer_steps=outer_steps))
        for lr in (1.5, 0.15)}
print(f"both runs, {outer_steps} outer steps each, compilation included: "
      f"{time.perf_counter() - start:.1f} s")
for lr, run in runs.items():
    print(f"from {lr}: final learning rate {float(run.learning_rate[-1]):.3f}")''',
    "Both starts converge to the same learning rate (the reference reports about 0.62).",
    '''fig, axes = plt.subplots(1, 3, figsize=(13, 3.4))
for lr, run in runs.items():
    axes[0].plot(run.outer_loss, label=f"from {lr}")
    axes[1].plot(run.final_inner_loss, label=f"from {lr}")
    axes[2].plot(run.learning_rate, label=f"from {lr}")
for ax, title in zip(axes, ["outer loss (mean inner loss)", "final inner loss", "learning rate"]):
    ax.set(title=title, xlabel="outer step"); ax.grid(alpha=0.3)
axes[2].legend(); fig.tight_layout()''',
]

NOTEBOOKS["metalearn-activation-function"] = [
    "# Metalearning an activation function\n\nThe reference experiment: the activation is "
    "`elu(x) + 0.2 * g(x)`, g a tanh MLP 1-100-1 applied elementwise; an MLP 40-128-10 with it "
    "is trained by RMSprop (decay 0.4, learning rate 1e-2) for 301 steps on batches of 100; the "
    "outer objective is the mean of the last 200 inner losses; g follows outer SGD (0.3) with the "
    "meta-gradient clipped to [-0.1, 0.1]. Then the learned function is compared with standard "
    "activations trained the same way.\n\nThe inner loop backpropagates by hand "
    "(`meta.mlp_loss_and_grad`), so the learned activation gives its value and slope from one "
    "evaluation of g, with a hand-written VJP for the meta-gradient, and each inner step is "
    "rematerialised on the way back: one outer step is about 0.6 s on a 2-core CPU instead of "
    "several seconds with autodiff alone.",
    DATA,
    '''outer_steps = 2 if FAST else 40
inner_steps, last = (30, 20) if FAST else (301, 200)
start = time.perf_counter()
history = jax.block_until_ready(meta.learn_activation(
    jax.random.key(0), data, outer_steps=outer_steps, inner_steps=inner_steps, last=last))
print(f"{outer_steps} outer steps in {time.perf_counter() - start:.1f} s (compilation included)")
plt.figure(figsize=(5, 3)); plt.plot(history.outer_loss); plt.xlabel("outer step")
plt.ylabel("mean of the last inner losses");''',
    "## The learned activation against the standard ones\n\nEach trained the same way "
    "(same initialisations, 5 seeds), test accuracy on the original test set:",
    '''activations = {"learned": history.params,  # ActivationParams: elu + 0.2 * g
               "relu": jax.nn.relu, "swish": jax.nn.swish, "elu": jax.nn.elu,
               "softplus": jax.nn.softplus, "tanh": jnp.tanh, "sigmoid": jax.nn.sigmoid}
if FAST:
    activations = {k: activations[k] for k in ("learned", "relu")}
seeds = jnp.arange(2 if FAST else 5)
scores = {}
for name, activation in activations.items():
    run = jax.jit(jax.vmap(lambda s: meta.train_with_activation(
        jax.random.key(s), activation, data, steps=inner_steps)[1]))
    scores[name] = np.asarray(run(seeds))
    print(f"{name:9s} {scores[name].mean():5.1f} +- {scores[name].std():.1f}%")''',
    '''xs = jnp.linspace(-5, 5, 201)
plt.figure(figsize=(5, 3.4))
plt.plot(xs, meta.learned_activation(history.params, xs), label="learned", linewidth=2)
plt.plot(xs, jax.nn.elu(xs), "--", label="elu")
plt.plot(xs, jax.nn.relu(xs), ":", label="relu")
plt.legend(); plt.grid(alpha=0.3); plt.title("the learned activation on [-5, 5]");''',
]

NOTEBOOKS["metalearn-data"] = [
    "# Metalearning the data itself\n\nThe generator is differentiable: its four float "
    "arguments (`scale_coeff`, `corr_noise_scale`, `iid_noise_scale`, `shear_scale`) enter "
    "every signal smoothly (the noise is reparameterised: fixed draws times a scale). So the "
    "loss of a model trained on freshly generated data can be differentiated with respect to "
    "them. Here we learn the augmentation strengths that make an MLP trained only on fresh "
    "generated data do best on the original test set (`mnist1d_jax.meta.learn_augmentation`).",
    DATA,
    '''from mnist1d_jax.args import SCALE_FIELDS
args = mnist1d_jax.get_dataset_args()
target = {"x": data["x_test"], "y": data["y_test"]}
outer_steps, inner_steps = (3, 20) if FAST else (40, 200)
start = time.perf_counter()
history = jax.block_until_ready(meta.learn_augmentation(
    jax.random.key(0), args, target, outer_steps=outer_steps, inner_steps=inner_steps))
print(f"{outer_steps} outer steps in {time.perf_counter() - start:.1f} s")
for name, first, final in zip(SCALE_FIELDS, history.scales[0], history.scales[-1]):
    print(f"{name:17s} {float(first):.3f} -> {float(final):.3f}")''',
    '''fig, axes = plt.subplots(1, 2, figsize=(10, 3.4))
axes[0].plot(history.target_loss); axes[0].set(title="loss on the original test set",
                                               xlabel="outer step")
for i, name in enumerate(SCALE_FIELDS):
    axes[1].plot(history.scales[:, i], label=name)
axes[1].set(title="generator arguments", xlabel="outer step"); axes[1].legend(); fig.tight_layout()''',
    "The gradients are exact: the test suite checks `jax.grad` of functions of `make_dataset` "
    "and `sample_batch` with respect to each argument against central finite differences in "
    "float64.",
]

NOTEBOOKS["deep-double-descent"] = [
    "# Deep double descent on MNIST-1D\n\nThe reference experiment (`deep-double-descent.ipynb` "
    "of greydanus/mnist1d; *Understanding Deep Learning*, section 8.4): 4000 training and 12000 "
    "test examples; an MLP 40-h-h-10 (ReLU) for 19 widths from 2 to 300, without and with 15% "
    "label noise; a CNN of `c` channels (three stride-2 convolutions, kernels 5/3/3) for 29 "
    "channel counts from 2 to 100, with 15% label noise. SGD (learning rate 0.01, momentum 0.9), "
    "batches of 100 reshuffled every epoch, 500 epochs (20,000 updates). Three seeds per point "
    "where the reference ran one.\n\n`mnist1d_jax.lab.sweep` trains a whole sweep in a few "
    "compiled calls: models of similar widths share one program, padded to the largest and "
    "masked (a masked model is the narrow model), `vmap`ped over widths and seeds.",
    FAST + '''
import jax, numpy as np
import matplotlib.pyplot as plt
import mnist1d_jax
from mnist1d_jax.lab import sweep
args = mnist1d_jax.get_dataset_args(num_samples=16_000, train_split=0.25)
data = mnist1d_jax.reference_dataset(args, dtype="float32")   # the reference notebook's data
widths = np.unique(np.geomspace(2, 300, 20, dtype=int))
channels = np.concatenate((np.arange(2, 30, 2), np.arange(30, 101, 5)))
seeds, epochs = [0, 1, 2], 500
if FAST:
    widths, channels, seeds, epochs = widths[[0, 14]], channels[[0, 18]], [0], 1
steps = epochs * 4000 // 100
config = sweep.SweepConfig(optimizer="sgd", learning_rate=0.01, momentum=0.9, batch_size=100,
                           steps=steps, order="epochs", chunk=steps // 4)
# padding models to a bucket's largest width: little on a CPU (arithmetic-bound; measured), all
# widths in one program on an accelerator, where a small model's step costs its kernel launches
waste = 1.0 if jax.default_backend() == "cpu" else 100.0
print(data["x"].shape, data["x_test"].shape, f"{config.steps} updates per model on",
      jax.devices()[0].device_kind)''',
    "The reference's recorded test errors (one seed each), for the overlay:",
    '''reference = {
    "mlp": [68.5, 66.8, 58.3, 61.4, 54.2, 49.3, 50.1, 44.6, 42.6, 41.0, 41.7, 41.0, 41.2, 39.6,
            38.6, 38.6, 38.1, 37.1, 37.3],
    "mlp, noisy": [69.6, 67.5, 62.6, 57.5, 54.8, 49.0, 50.3, 47.2, 50.8, 50.7, 52.8, 54.1, 54.0,
                   52.1, 50.2, 48.4, 47.9, 46.5, 45.5],
    "cnn, noisy": [61.2, 35.8, 23.9, 22.0, 19.6, 23.7, 27.7, 27.3, 33.8, 32.5, 31.3, 32.0, 30.0,
                   32.5, 29.8, 30.2, 30.5, 30.2, 28.7, 28.2, 30.0, 28.1, 28.8, 29.4, 28.1, 28.1,
                   28.8, 27.4, 27.7]}
all_widths = np.unique(np.geomspace(2, 300, 20, dtype=int))
reference_x = {"mlp": all_widths, "mlp, noisy": all_widths,
               "cnn, noisy": np.concatenate((np.arange(2, 30, 2), np.arange(30, 101, 5)))}''',
    "## The three sweeps",
    '''runs, sizes_of = {}, {}
for name, family, sizes, noise in (("mlp", sweep.MLP, widths, 0.0),
                                   ("mlp, noisy", sweep.MLP, widths, 0.15),
                                   ("cnn, noisy", sweep.CNN, channels, 0.15)):
    sizes_of[name] = sizes
    runs[name] = sweep.sweep(family, sizes, data, seeds=seeds, config=config, label_noise=noise,
                             waste=waste, progress=None)
    print(f"{name}: {len(sizes)} sizes x {len(seeds)} seeds in {runs[name]['wall_s']:.0f} s "
          "(compilation included)")''',
    "## Does the test error descend twice?\n\nWith label noise, the test error should fall to "
    "a first minimum, rise again near the width where the model first fits the noisy training "
    "set, and fall again at the largest widths; without noise the rise should be smaller.",
    '''def rise_and_fall(test):
    """Indices of the first minimum of a mean test-error curve (in its first half) and of the
    peak after it."""
    first = int(np.argmin(test[: len(test) // 2 + 1]))
    return first, first + int(np.argmax(test[first:]))

for name, run in runs.items():
    test, x = run["test_error"].mean(1), sizes_of[name]
    first, peak = rise_and_fall(test)
    print(f"{name:11s} first minimum {test[first]:5.1f}% at {x[first]:3d}, then up to "
          f"{test[peak]:5.1f}% at {x[peak]:3d} ({test[peak] - test[first]:+4.1f}), last "
          f"{test[-1]:5.1f}% at {x[-1]} ({test[-1] - test[peak]:+5.1f} from the peak)")''',
    "## The figure: our three seeds (mean, min-max band) against the reference's single run",
    '''fig, axes = plt.subplots(1, 3, figsize=(13, 3.8), sharey=True)
for ax, (name, run) in zip(axes, runs.items()):
    x = sizes_of[name]
    for key, style, label in (("test_error", "-", "test"), ("train_error", "--", "train")):
        line, = ax.plot(x, run[key].mean(1), style, label=f"{label} (mean of {len(seeds)} seeds)")
        ax.fill_between(x, run[key].min(1), run[key].max(1), color=line.get_color(), alpha=0.2)
    ax.plot(reference_x[name], reference[name], "k:", label="reference test (1 seed)")
    if "noisy" in name:
        ax.axhline(15, color="#aaaaaa", linestyle=":", zorder=-1)
    ax.set(title=name, xlabel="hidden units" if name.startswith("mlp") else "channels",
           ylim=(0, 75))
    ax.grid(alpha=0.3)
axes[0].set_ylabel("classification error (%)"); axes[0].legend(fontsize=8); fig.tight_layout()''',
]

NOTEBOOKS["benchmark-pooling"] = [
    "# Pooling on MNIST-1D: how much does it help, and when?\n\nThe reference experiment "
    "(`benchmark-pooling.ipynb` of greydanus/mnist1d): a CNN with two 3-tap convolutions of 20 "
    "channels and a linear read-out, in five variants (no pooling at stride 1, stride 2, and "
    "max, average and L2 pooling of width 2), trained with Adam (1e-2, batches of 100, 6000 "
    "updates) on training sets of 1000 to 50000 examples, each with 1000 test examples (the "
    "reference's datasets: `num_samples = n + 1000`, seed 42). Three seeds per point.\n\n"
    "Every variant is one compiled program for all six training-set sizes and three seeds: the "
    "size is a traced quantity (batches index within the first `n` rows of data padded to 50000).",
    FAST + '''
import jax, numpy as np
import matplotlib.pyplot as plt
import mnist1d_jax
from mnist1d_jax.lab import sweep
sizes = [100, 300] if FAST else [1000, 2000, 5000, 10000, 20000, 50000]
seeds = [0] if FAST else [0, 1, 2]
config = sweep.SweepConfig(optimizer="adam", learning_rate=1e-2, batch_size=100,
                           steps=60 if FAST else 6000, order="cyclic",
                           eval_every=20 if FAST else 100, chunk=60 if FAST else 1500)
datasets = [mnist1d_jax.reference_dataset(mnist1d_jax.get_dataset_args(
    num_samples=n + 1000, train_split=1 - 1000 / (n + 1000)), dtype="float32") for n in sizes]

def padded(a, rows):
    return np.concatenate([a, np.zeros((rows - len(a),) + a.shape[1:], a.dtype)])

# int(num_samples * train_split) can round down by one, as in the reference: use the actual
# sizes, and the first 1000 test examples of each dataset
n_train = [len(d["y"]) for d in datasets]
test_rows = min(len(d["y_test"]) for d in datasets)
stacked = {"x": np.stack([padded(d["x"], max(n_train)) for d in datasets]),
           "y": np.stack([padded(d["y"], max(n_train)) for d in datasets]),
           "x_test": np.stack([d["x_test"][:test_rows] for d in datasets]),
           "y_test": np.stack([d["y_test"][:test_rows] for d in datasets])}
print("training sets", n_train, {k: v.shape for k, v in stacked.items()}, "on",
      jax.devices()[0].device_kind)''',
    "## Five variants x six sizes x three seeds",
    '''runs = {}
for kind in sweep.POOLING:
    runs[kind] = sweep.sweep(sweep.pooling_family(kind), [20] * len(sizes), stacked,
                             seeds=seeds, config=config, n_train=n_train, progress=None)
    print(f"{kind:8s} {len(sizes)} sizes x {len(seeds)} seeds in {runs[kind]['wall_s']:.0f} s")
accuracy = {kind: 100 - run["test_error"] for kind, run in runs.items()}
print("final test accuracy (%), mean +- std over seeds")
print("size     " + "".join(f"{kind:>14s}" for kind in sweep.POOLING))
for i, n in enumerate(sizes):
    print(f"{n:<9d}" + "".join(f"{accuracy[k][i].mean():8.1f} +- {accuracy[k][i].std():3.1f}"
                                for k in sweep.POOLING))''',
    "## The reference's claim: pooling helps most with little data\n\nThe advantage of the "
    "pooling variants (max, average, L2) over no pooling, by training-set size:",
    '''pooled = np.mean([accuracy[k].mean(1) for k in ("max", "average", "l2")], 0)
advantage = pooled - accuracy["none"].mean(1)
for n, a in zip(sizes, advantage):
    print(f"{n:6d} examples: pooling {a:+5.1f} points over no pooling")
print("advantage shrinks from the smallest to the largest training set:",
      bool(advantage[0] > advantage[-1]))''',
    '''shown = [0, len(sizes) // 2, len(sizes) - 1]
styles = {"none": "k-", "stride": "k--", "max": "r-", "average": "g-", "l2": "b-"}
fig, axes = plt.subplots(1, len(shown) + 1, figsize=(15, 3.4))
for ax, i in zip(axes, shown):
    for kind, run in runs.items():
        ax.plot(run["eval_steps"], 100 - run["test_error_curve"][i].mean(0), styles[kind],
                label=kind)
    ax.set(title=f"{sizes[i]} training examples", xlabel="update")
    ax.grid(alpha=0.3)
axes[0].set_ylabel("test accuracy (%)"); axes[0].legend(fontsize=8, ncol=2)
for kind in runs:
    axes[-1].errorbar(sizes, accuracy[kind].mean(1), accuracy[kind].std(1),
                      fmt=styles[kind][0] + "o" + styles[kind][1:], label=kind, capsize=2)
axes[-1].set(xscale="log", xlabel="training examples", title="final test accuracy")
axes[-1].grid(alpha=0.3); fig.tight_layout()''',
]


NOTEBOOKS["lottery-tickets"] = [
    "# Lottery tickets on MNIST-1D\n\nThe reference experiment (`lottery-tickets.ipynb` of "
    "greydanus/mnist1d; Frankle & Carbin 2018): an MLP 40-500-500-10 (ReLU, residual second "
    "layer), Adam 2e-2, batches of 100, 1501 steps per round, test accuracy every 100 steps; 100 "
    "rounds of prune, rewind, retrain with layer-wise sparsity `linspace(0, 1, 100)`, pruning the "
    "lowest trained magnitudes (the lottery ticket) or random scores (the random ticket); two "
    "trials. The reference notes it \"takes ~1 hour\" on a GPU.\n\n`mnist1d_jax.lab.lottery` "
    "runs the whole search (2 methods x 2 trials x 100 rounds x 1502 steps) as one compiled "
    "program: masks are pytrees beside the parameters, a round is a `scan` over training steps, "
    "the rounds are a `scan`, and methods x trials are `vmap`ped.",
    FAST + '''
import time
import jax, jax.numpy as jnp, numpy as np
import matplotlib.pyplot as plt
import mnist1d_jax
from mnist1d_jax.lab import lottery, train
data = mnist1d_jax.reference_dataset(dtype="float32")          # the published dataset
config = lottery.TicketConfig()                                # the reference's settings
sparsities = np.linspace(0, 1, 100)
if FAST:
    config, sparsities = lottery.TicketConfig(total_steps=40, eval_every=20, hidden=32), \\
        np.linspace(0, 1, 12)
print(f"{len(sparsities)} rounds of {config.total_steps + 1} steps, hidden {config.hidden}, on",
      jax.devices()[0].device_kind)''',
    "## The search: both methods, two trials, one call",
    '''start = time.perf_counter()
out = lottery.search(jax.random.key(0), data, sparsities, trials=2, config=config)
print(f"whole search in {time.perf_counter() - start:.0f} s (compilation included)")
best = out["test_accuracy"].max(-1)                         # (method, trial, round): max accuracy
at = out["keep"]                                           # the round at sparsity 0.91
reference = {"magnitude": (75.0, 72.9), "random": (62.3, 62.1), "dense": (66.4, 65.4)}
print(f"max test accuracy at sparsity {sparsities[at]:.2f} (trial 0 / 1), reference in brackets")
for m, method in enumerate(lottery.METHODS):
    print(f"  {method:9s} {best[m, 0, at]:5.1f} / {best[m, 1, at]:5.1f}   "
          f"[{reference[method][0]} / {reference[method][1]}]")
print(f"  {'dense':9s} {best[0, 0, 0]:5.1f} / {best[0, 1, 0]:5.1f}   "
      f"[{reference['dense'][0]} / {reference['dense'][1]}]")
ticket, rand, dense = best[0, :, at].mean(), best[1, :, at].mean(), best[:, :, 0].mean()
print(f"mean of trials: lottery ticket {ticket:.1f}, random ticket {rand:.1f}, dense {dense:.1f}:"
      f" ticket above both by {min(ticket - rand, ticket - dense):.1f} points")''',
    '''fig, axes = plt.subplots(1, 2, figsize=(12, 3.6))
for m, (method, color) in enumerate(zip(lottery.METHODS, ("tab:red", "tab:gray"))):
    axes[0].plot(sparsities, best[m].mean(0), color=color, label=f"{method} (mean of 2 trials)")
    axes[0].fill_between(sparsities, best[m].min(0), best[m].max(0), color=color, alpha=0.2)
for method, marker in (("magnitude", "r*"), ("random", "k*")):
    axes[0].plot([0.91, 0.91], reference[method], marker, label=f"reference {method}, 0.91")
axes[0].set(xlabel="sparsity", ylabel="max test accuracy (%)", title="lottery vs random tickets")
axes[0].legend(fontsize=8); axes[0].grid(alpha=0.3)
axes[1].imshow(out["first_layer_masks"][0, 0, at].T, aspect="auto", cmap="gray_r",
               interpolation="nearest")
axes[1].set(xlabel="input position", ylabel="hidden unit",
            title=f"first layer of the lottery ticket at sparsity {sparsities[at]:.2f}")
fig.tight_layout()''',
    "The reference found the first layer's surviving weights clustered along neighbouring input "
    "positions (local connectivity, a spatial prior); the right panel shows ours.\n\n"
    "## Does the ticket transfer?"
    "\n\nThe ticket of trial 0 (its masks and initial values) against the random ticket of the "
    "same sparsity, retrained on a new dataset from the same distribution (`seed + 1`), on "
    "position-shuffled data and on sign-flipped data.",
    '''new_args = mnist1d_jax.get_dataset_args(seed=43)
variants = {"new dataset (seed 43)": mnist1d_jax.reference_dataset(new_args, dtype="float32"),
            "positions shuffled": train.shuffle_positions(data),
            "sign flipped": {**data, "x": -data["x"], "x_test": -data["x_test"]}}
pick = lambda tree, m: jax.tree.map(lambda a: a[m, 0], tree)
for name, variant in variants.items():
    arrays = {k: jnp.asarray(variant[k]) for k in ("x", "y", "x_test", "y_test")}
    scores = {method: float(lottery.train_round(pick(out["initial"], m), pick(out["ticket"], m),
                                                arrays, config)[1].max())
              for m, method in enumerate(lottery.METHODS)}
    print(f"{name:22s} lottery ticket {scores['magnitude']:5.1f}%, random ticket "
          f"{scores['random']:5.1f}%")''',
]


NOTEBOOKS["self-supervised-learning"] = [
    "# Self-supervised contrastive learning on MNIST-1D\n\nThe reference experiment "
    "(`self-supervised-learning.ipynb` of greydanus/mnist1d): SimCLR with a CNN encoder (three "
    "convolutions of 25 channels, kernels 5/3/3, stride 2: 125 features) and a projector "
    "125 -> 125 -> 16, InfoNCE at temperature 0.5, Adam 0.01, batches of 100, 200 epochs, with "
    "the reference's augmentations (offset and trend removed, a circular shift of up to 9, a "
    "random slope and offset). Then what only a generator can do: **generator views**, the two "
    "positives of a pair made from the same class with independent draws of padding, scale, "
    "shift, noise and shear. Probes: kNN (cosine, k = 10) and a linear probe (logistic "
    "regression on standardised features) on every layer, three seeds per kind of view.",
    FAST + '''
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
print(f"{epochs} epochs, seeds {seeds}, on", jax.devices()[0].device_kind)''',
    "## Probes in pixel space (the reference: kNN 59.6%, linear 32.8%)",
    '''knn = contrastive.knn_probe(data["x"], data["y"], data["x_test"], data["y_test"],
                           metric="euclidean")
lin = contrastive.linear_probe(data["x"], data["y"], data["x_test"], data["y_test"])
print(f"kNN {knn:.1f}%, linear {lin:.1f}%")''',
    "## Training with the reference's augmentations, generator views, and both",
    '''def probe_all(params):
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
print("\\nlinear probe, test accuracy (%), mean +- std over seeds")
print("views     " + "".join(f"{n:>14s}" for n in layers) + "   kNN (projector)")
for views, runs in results.items():
    cells = [np.array([r[0][n] for r in runs]) for n in layers]
    knns = np.array([r[1] for r in runs])
    print(f"{views:9s} " + "".join(f"{c.mean():8.1f} +-{c.std():4.1f}" for c in cells)
          + f"   {knns.mean():5.1f} +-{knns.std():4.1f}")
print("reference (augment, 1 seed): per-layer linear 75.9, 82.4, 79.5, 77.3, 72.8, 65.0, 61.1")''',
    '''fig, ax = plt.subplots(figsize=(7, 3.4))
for views, marker in zip(results, "osd"):
    acc = np.array([[r[0][n] for n in layers] for r in results[views]])
    ax.errorbar(np.arange(len(layers)), acc.mean(0), acc.std(0), marker=marker, capsize=3,
                label=views)
ax.set(xticks=np.arange(len(layers)), xticklabels=layers, ylabel="linear probe accuracy (%)",
       title="what each layer knows about the class")
ax.legend(); ax.grid(alpha=0.3); fig.tight_layout()''',
    "## t-SNE: raw signals against learned features (test set, coloured by class)",
    '''from sklearn.manifold import TSNE
rows = slice(0, 200 if FAST else 1000)
encoder = np.asarray(contrastive.features(trained["generator", seeds[0]], data["x_test"])[2])
embedded = {name: TSNE(init="pca", random_state=0, perplexity=30).fit_transform(f[rows])
            for name, f in (("raw signals", data["x_test"]), ("encoder, generator views",
                                                              encoder))}
fig, axes = plt.subplots(1, 2, figsize=(10, 4.5))
for ax, (name, points) in zip(axes, embedded.items()):
    ax.scatter(*points.T, c=data["y_test"][rows], cmap="tab10", s=6)
    ax.set(title=name, xticks=[], yticks=[])
fig.tight_layout()''',
]


def build(name: str, cells: list[str]) -> None:
    notebook = new_notebook(cells=[new_markdown_cell(c) if c.startswith("#") or c[0].isupper()
                                   else new_code_cell(c) for c in cells])
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                       "language": "python"}
    nbformat.write(notebook, os.path.join(os.path.dirname(__file__), f"{name}.ipynb"))




def execute(name: str) -> None:
    """Runs a notebook top to bottom in place (full mode unless MNIST1D_FAST=1 is set)."""
    from nbclient import NotebookClient

    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), f"{name}.ipynb")
    notebook = nbformat.read(path, as_version=4)
    NotebookClient(notebook, timeout=3600, kernel_name="python3",
                   resources={"metadata": {"path": os.path.dirname(path)}}).execute()
    nbformat.write(notebook, path)


if __name__ == "__main__":
    run = "--execute" in sys.argv
    for name in [a for a in sys.argv[1:] if a != "--execute"] or NOTEBOOKS:
        build(name, NOTEBOOKS[name])
        if run:
            execute(name)
            print("executed", name)
