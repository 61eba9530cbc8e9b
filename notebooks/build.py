"""Writes the notebooks' sources (cells) as .ipynb files; run them afterwards to fill outputs:

    python notebooks/build.py && jupyter nbconvert --execute --inplace notebooks/*.ipynb

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
from mnist1d_jax import transforms, plot, models, train
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
from mnist1d_jax import models, train
seeds = [0] if FAST else [0, 1, 2]
config = train.TrainConfig(total_steps=100 if FAST else 6000, eval_every=50 if FAST else 250)
data = mnist1d_jax.reference_dataset(dtype="float32")
datasets = {"regular": data, "shuffled": train.shuffle_positions(data, seed=0)}''',
    "Every model is trained for all seeds in one vmapped, compiled call:",
    '''def log(setting, name, result, seconds):
    final = np.asarray(result["test_acc"])[:, -1]
    print(f"{setting:9s} {name:7s} {final.mean():5.1f} +- {final.std():.1f}%  "
          f"(paper {train.PAPER[setting][name]}%)  {seconds:.1f} s")

table = train.train_table(datasets, models.MODELS, seeds=seeds, config=config, log=log)''',
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


def build(name: str, cells: list[str]) -> None:
    notebook = new_notebook(cells=[new_markdown_cell(c) if c.startswith("#") or c[0].isupper()
                                   else new_code_cell(c) for c in cells])
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                       "language": "python"}
    nbformat.write(notebook, os.path.join(os.path.dirname(__file__), f"{name}.ipynb"))


if __name__ == "__main__":
    for name in sys.argv[1:] or NOTEBOOKS:
        build(name, NOTEBOOKS[name])
