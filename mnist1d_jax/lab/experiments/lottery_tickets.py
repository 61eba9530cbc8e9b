"""Lottery tickets (the reference's `lottery-tickets.ipynb`; Frankle & Carbin 2018): an MLP
40-500-500-10, 100 rounds of prune, rewind and retrain (1502 Adam steps each) at sparsities
`linspace(0, 1, 100)`, pruning the smallest trained weights (the lottery ticket) or random ones
(the random ticket), two trials, as one compiled program (`lottery.search`); then both tickets'
masks retrained from new initial weights (`lottery.retrain_fresh`), and the lottery ticket's
first-layer mask's local connectivity against random masks."""

from __future__ import annotations

import jax
import numpy as np

from ... import reference_dataset
from .. import lottery
from .base import Stages, band, draw_band, new_figure, outcome
from .registry import Experiment
from .result import Claim, Number, Tolerance

__all__ = ["EXPERIMENT", "RANDOM_MASKS", "REFERENCE", "SIZES", "draw", "kept_neighbours",
           "random_neighbours", "run"]

REFERENCE = {"lottery ticket": (75.0, 72.9), "random ticket": (62.3, 62.1),
             "dense": (66.4, 65.4)}
"""The reference's max test accuracy (%) at sparsity 0.91 (dense: sparsity 0), trials 0 and 1."""
SIZES = {"quick": dict(total_steps=800, eval_every=100, hidden=200, rounds=12),
         "full": dict(total_steps=1501, eval_every=100, hidden=500, rounds=100)}
"""Each round's training (`lottery.TicketConfig`: the full size is its default, the reference's)
and the number of rounds."""


RANDOM_MASKS = 1000
"""How many random masks of the ticket's sparsity the local-connectivity statistic is set
against."""


def kept_neighbours(mask):
    """Of the kept first-layer weights (mask: (..., inputs, hidden) bool), the share (%) whose
    neighbour along the input axis (position + 1, same hidden unit) is kept too: the local
    connectivity of a mask, one per leading index. A mask without spatial structure keeps a
    neighbour as often as it keeps any weight (its density)."""
    mask = np.asarray(mask, bool)
    pairs = (mask[..., :-1, :] & mask[..., 1:, :]).sum((-2, -1))
    return 100.0 * pairs / np.maximum(1, mask[..., :-1, :].sum((-2, -1)))


def random_neighbours(key, mask, count: int = RANDOM_MASKS) -> np.ndarray:
    """`kept_neighbours` of `count` uniformly random masks with as many kept weights as `mask`
    (`key`: a JAX key)."""
    mask = np.asarray(mask, bool)
    rng = np.random.default_rng(np.asarray(jax.random.key_data(key)).ravel())
    shuffled = rng.permuted(np.broadcast_to(mask.ravel(), (count, mask.size)), axis=1)
    return kept_neighbours(shuffled.reshape((count,) + mask.shape))


def run(key, settings, progress):
    """Both methods and two trials from `key`. Numbers: the max test accuracy of a round's
    training at sparsity 0.91 for both tickets, and of the dense model (round 0), per trial;
    both tickets' masks retrained from new initial weights; the lottery ticket's first-layer
    mask's `kept_neighbours` against random masks of its sparsity. Claims: the lottery ticket
    beats the random ticket and the dense model; its mask helps under new initial weights; its
    first layer is locally connected."""
    config = lottery.TicketConfig(total_steps=settings["total_steps"],
                                  eval_every=settings["eval_every"], hidden=settings["hidden"])
    sparsities = np.linspace(0, 1, settings["rounds"])
    data = reference_dataset(dtype="float32")
    search_key, fresh_key, random_key = jax.random.split(key, 3)
    stages = Stages(progress, {"search": settings["rounds"], "new initial weights": 1})
    with stages("search"):
        out = lottery.search(search_key, data, sparsities, trials=2, config=config)
    with stages("new initial weights"):
        fresh = lottery.retrain_fresh(fresh_key, out["ticket"], data, config=config).max(-1)
    best = out["test_accuracy"].max(-1)  # (method, trial, round)
    at = out["keep"]
    ours = {"lottery ticket": best[0, :, at], "random ticket": best[1, :, at],
            "dense": best[:, :, 0].mean(0)}
    numbers = [Number(f"{name}, max test accuracy at sparsity "
                      f"{0 if name == 'dense' else sparsities[at]:.2f}", ours[name],
                      np.mean(REFERENCE[name])) for name in REFERENCE]
    ticket, rand, dense = (ours[n].mean() for n in REFERENCE)
    numbers += [Number(f"{name}'s mask, new initial weights, max test accuracy", fresh[m])
                for m, name in enumerate(("lottery ticket", "random ticket"))]
    masks = out["first_layer_masks"][0, :, at]  # (trial, inputs, hidden)
    local = kept_neighbours(masks)
    chance = np.stack([random_neighbours(jax.random.fold_in(random_key, t), m)
                       for t, m in enumerate(masks)])  # (trial, random mask)
    numbers += [Number("first layer of the lottery ticket: kept weights whose input neighbour "
                       "is kept", local),
                Number(f"the same, mean of {RANDOM_MASKS} random masks of its sparsity",
                       chance.mean(1))]
    fresh_ticket, fresh_random = fresh.mean(1)
    claims = [Claim(f"at sparsity {sparsities[at]:.2f} the lottery ticket beats the random "
                    f"ticket and the dense model", ticket > rand and ticket > dense,
                    f"ticket {ticket:.1f}, random {rand:.1f}, dense {dense:.1f}"),
              Claim("its mask helps even under new initial weights (against the random "
                    "ticket's mask, same new weights and training)", fresh_ticket > fresh_random,
                    f"{fresh_ticket:.1f} against {fresh_random:.1f}"),
              Claim("its first layer is locally connected: it keeps a weight's input "
                    f"neighbour more often than every one of {RANDOM_MASKS} random masks of its "
                    f"sparsity (each trial)", bool((local > chance.max(1)).all()),
                    f"{', '.join(f'{v:.1f}%' for v in local)} against at most "
                    f"{', '.join(f'{v:.1f}%' for v in chance.max(1))} "
                    f"(mean {chance.mean():.1f}%)")]
    arrays = {"sparsities": sparsities, "at": at,
              "first_layer_mask": out["first_layer_masks"][0, 0, at]}
    for m, method in enumerate(lottery.METHODS):
        arrays |= band(method, best[m], 0)
    return outcome(numbers, claims, arrays, search=out, data=data, config=config)


def draw(result):
    """Max test accuracy against sparsity for both tickets (band: the two trials) with the
    reference's points at 0.91, and the first layer's mask of the lottery ticket there."""
    figure, axes = new_figure(12, 3.6, columns=2)
    sparsities = result.arrays["sparsities"]
    ax = axes[0, 0]
    for method, color in zip(lottery.METHODS, ("tab:red", "tab:gray")):
        draw_band(ax, sparsities, result.arrays, method, color=color,
                  label=f"{method} (mean of 2 trials)")
    for name, marker in (("lottery ticket", "r*"), ("random ticket", "k*")):
        ax.plot([0.91, 0.91], REFERENCE[name], marker, label=f"reference {name}, 0.91")
    ax.set(xlabel="sparsity", ylabel="max test accuracy (%)", title="lottery vs random tickets")
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    axes[0, 1].imshow(result.arrays["first_layer_mask"].T, aspect="auto", cmap="gray_r",
                      interpolation="nearest")
    at = int(result.arrays["at"])
    axes[0, 1].set(xlabel="input position", ylabel="hidden unit",
                   title=f"first layer of the lottery ticket at sparsity {sparsities[at]:.2f}")
    figure.tight_layout()
    return figure


EXPERIMENT = Experiment(
    name="lottery", title="Lottery tickets", run=run,
    draw=draw, sizes=SIZES,
    figure_arrays={"sparsities": 1, "at": 0, "first_layer_mask": 2, "*/*": 1},
    reference_time=(3600.0, "its notebook: \"takes ~1 hour\" (GPU)"),
    smoke=dict(rounds=4, total_steps=20, eval_every=10, hidden=16),
    tolerance=Tolerance(3.0))
