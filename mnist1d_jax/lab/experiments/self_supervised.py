"""Self-supervised learning (the reference's `self-supervised-learning.ipynb`): SimCLR with a
CNN encoder and a projector, the reference's augmentations, InfoNCE, 200 epochs
(`contrastive.train`); and generator views, the two positives of a pair made by the generator
from one class with independent draws. Linear and kNN probes, and t-SNE (`tsne`) of the raw test
signals against the learned features."""

from __future__ import annotations

import functools

import jax
import numpy as np

from ... import reference_dataset
from .. import contrastive, nn
from ..tsne import tsne
from .base import Stages, new_figure, outcome
from .registry import Experiment
from .result import Claim, Number, Tolerance

__all__ = ["ENCODER", "EXPERIMENT", "GUILLOTINE_EPOCHS", "LAYERS", "REFERENCE", "SIZES",
           "WELL_ABOVE", "draw", "run"]

LAYERS = ("conv1", "conv2", "conv3", "projector 1", "projector 2")
ENCODER = LAYERS[:3]
REFERENCE = {"pixels, kNN": 59.6, "pixels, linear": 32.8, "augment, best encoder layer": 82.4,
             "augment, kNN on the projector": 61.3}
"""The reference's probes (%, one run): pixel space, its best layer's linear probe and its kNN
on the projector output after 200 epochs."""
WELL_ABOVE = 20.0
""""Well above" the pixels' linear probe: by more than this (points)."""
GUILLOTINE_EPOCHS = 20
"""The fewest epochs at which the guillotine claim is decided: a projector trained for a few
epochs has not yet specialised to the contrastive task."""
SIZES = {"quick": dict(epochs=20, seeds=2, tsne_rows=200, tsne_iterations=250,
                       views=["augment"]),
         "full": dict(epochs=200, seeds=3, tsne_rows=1000, tsne_iterations=1000,
                      views=list(contrastive.VIEWS))}
"""`views`: the kinds of view trained (`contrastive.VIEWS`); the claim needs "augment", the
t-SNE of the encoder takes "generator" (else the first kind trained)."""

_features = jax.jit(functools.partial(nn.apply, nn.SimCLR, method="features"))
"""Every layer's features of a SimCLR parameter state: (params, x (n, F)) -> [conv1, conv2,
conv3, projector hidden, projector output], compiled once per shape of x."""


def _probes(params, data) -> tuple:
    """Linear-probe accuracy of every layer (dict) and kNN on the projector output."""
    train = [np.asarray(f) for f in _features(params, data["x"])]
    test = [np.asarray(f) for f in _features(params, data["x_test"])]
    linear = {name: contrastive.linear_probe(a, data["y"], b, data["y_test"])
              for name, a, b in zip(LAYERS, train, test)}
    return linear, contrastive.knn_probe(train[-1], data["y"], test[-1], data["y_test"])


def run(key, settings, progress):
    """Each kind of view asked for (`settings["views"]`) for several seeds (keys split from
    `key`), every layer probed. Claims: the probe of the reference's SimCLR stands well above the
    pixels'; guillotine regularization (the paper: probing a layer before the projector beats
    probing its output), both linear probes."""
    data = reference_dataset(dtype="float32")
    kinds = settings["views"]
    stages = Stages(progress, {"pixel probes": 1} | {views: 4 for views in kinds}
                    | {"t-SNE": 1})
    with stages("pixel probes"):
        pixels = {"pixels, kNN": contrastive.knn_probe(data["x"], data["y"], data["x_test"],
                                                       data["y_test"], metric="euclidean"),
                  "pixels, linear": contrastive.linear_probe(data["x"], data["y"],
                                                             data["x_test"], data["y_test"])}
    numbers = [Number(name, value, REFERENCE[name]) for name, value in pixels.items()]
    keys = jax.random.split(key, settings["seeds"])
    probes, trained = {}, {}
    for views in kinds:
        with stages(views):
            params, _ = contrastive.train(keys, data, views=views, epochs=settings["epochs"])
            trained[views] = params
            probes[views] = [_probes(jax.tree.map(lambda leaf, i=i: leaf[i], params), data)
                             for i in range(settings["seeds"])]
        best = [max(linear[n] for n in ENCODER) for linear, _ in probes[views]]
        numbers += [
            Number(f"{views}, best encoder layer", best,
                   REFERENCE.get(f"{views}, best encoder layer")),
            Number(f"{views}, encoder output (conv3)", [p[0]["conv3"] for p in probes[views]]),
            Number(f"{views}, projector output", [p[0]["projector 2"] for p in probes[views]]),
            Number(f"{views}, kNN on the projector", [p[1] for p in probes[views]],
                   REFERENCE.get(f"{views}, kNN on the projector"))]
    claims = []
    if "augment" in probes:
        simclr = np.mean([max(linear[n] for n in ENCODER) for linear, _ in probes["augment"]])
        claims.append(Claim(f"the SimCLR probe (reference augmentations, best encoder layer) "
                            f"stands over {WELL_ABOVE:g} points above the pixels' linear probe",
                            simclr - pixels["pixels, linear"] > WELL_ABOVE,
                            f"{simclr:.1f} against {pixels['pixels, linear']:.1f}"))
        projector = np.mean([linear["projector 2"] for linear, _ in probes["augment"]])
        claims.append(Claim("guillotine regularization: a linear probe of the best encoder layer "
                            "beats one of the projector's output (reference augmentations)",
                            simclr > projector, f"{simclr:.1f} against {projector:.1f}",
                            at_size=settings["epochs"] >= GUILLOTINE_EPOCHS))
    rows = slice(0, settings["tsne_rows"])
    with stages("t-SNE"):
        shown = "generator" if "generator" in trained else kinds[0]
        first = jax.tree.map(lambda leaf: leaf[0], trained[shown])
        encoder = np.asarray(_features(first, data["x_test"])[2])
        embedded = {"raw": tsne(data["x_test"][rows], iterations=settings["tsne_iterations"]),
                    "encoder": tsne(encoder[rows], iterations=settings["tsne_iterations"])}
    arrays = {"tsne/raw": embedded["raw"], "tsne/encoder": embedded["encoder"],
              "tsne/labels": data["y_test"][rows]}
    for views in kinds:
        layers = np.array([[linear[n] for n in LAYERS] for linear, _ in probes[views]])
        arrays |= {f"{views}/layers/mean": layers.mean(0), f"{views}/layers/std": layers.std(0)}
    return outcome(numbers, claims, arrays, trained=trained, data=data)


def draw(result):
    """Linear-probe accuracy by layer for each kind of view trained, and t-SNE of the raw test
    signals and of the encoder's features (generator views where trained; first seed),
    coloured by class."""
    figure, axes = new_figure(15, 4.2, columns=3)
    ax = axes[0, 0]
    x = np.arange(len(LAYERS))
    for views, marker in zip(contrastive.VIEWS, "osd"):
        if f"{views}/layers/mean" not in result.arrays:
            continue
        ax.errorbar(x, result.arrays[f"{views}/layers/mean"], result.arrays[f"{views}/layers/std"],
                    marker=marker, capsize=3, label=views)
    ax.axhline(REFERENCE["pixels, linear"], color="k", linestyle=":", label="pixels")
    ax.set(xticks=x, ylabel="linear probe accuracy (%)", title="what each layer knows")
    ax.set_xticklabels(LAYERS, rotation=20)
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    generator = " (generator views)" if "generator/layers/mean" in result.arrays else ""
    for ax, (name, title) in zip(axes[0, 1:], (("raw", "t-SNE of raw signals"),
                                               ("encoder", f"t-SNE of the encoder{generator}"))):
        ax.scatter(*result.arrays[f"tsne/{name}"].T, c=result.arrays["tsne/labels"],
                   cmap="tab10", s=6)
        ax.set(title=title, xticks=[], yticks=[])
    figure.tight_layout()
    return figure


EXPERIMENT = Experiment(
    name="self-supervised", title="Self-supervised learning (SimCLR) and t-SNE", run=run,
    draw=draw, sizes=SIZES, choices={"views": contrastive.VIEWS},
    figure_arrays={"tsne/raw": 2, "tsne/encoder": 2, "tsne/labels": 1, "*/layers/*": 1},
    reference_time=(140.0, "its notebook's log: 200 epochs at 0.3-0.4 s for each of its two "
                    "runs (GPU)"),
    smoke=dict(seeds=1, epochs=1, tsne_rows=100, tsne_iterations=100),
    tolerance=Tolerance(3.0))
