"""SimCLR training, reduced: `mnist1d_jax.lab.contrastive.train` against the reference's PyTorch
loop (restated in `torch_contrastive.py`; 2 threads), same CPU, same run, same work (the
reference's model, augmentations, loss, Adam 0.01, batches of 100 over the published training
set, `--epochs` epochs, `--seeds` seeds: three, as the notebook). JAX times include compilation;
our seeds run side by side (one per core, `contrastive.train` with several keys), the reference
loop's one after another (each with both threads).

    python benchmarks/contrastive.py [--epochs 50] [--seeds 3] [--json PATH]
"""

from __future__ import annotations

import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(__file__))
from common import parse_counts, report_against_reference  # noqa: E402

import mnist1d_jax  # noqa: E402
from mnist1d_jax.lab import contrastive  # noqa: E402


def main(argv=None) -> dict:
    options = parse_counts(__doc__, argv, epochs=50, seeds=3)

    import jax
    import jax.numpy as jnp

    data = {k: np.asarray(v, np.float32) if k.startswith("x") else np.asarray(v) for k, v in
            mnist1d_jax.reference_dataset().items() if k in ("x", "y")}
    start = time.perf_counter()
    keys = jnp.stack([jax.random.key(seed) for seed in range(options.seeds)])
    ours = contrastive.train(keys, data, epochs=options.epochs)[1]
    ours_s = time.perf_counter() - start

    import torch
    import torch_contrastive

    torch.set_num_threads(2)
    theirs = [torch_contrastive.train(data["x"], options.epochs, seed)
              for seed in range(options.seeds)]
    theirs_s = sum(run["seconds"] for run in theirs)
    results = {"epochs": options.epochs, "seeds": options.seeds, "mnist1d_jax_s": ours_s,
               "reference_loop_s": theirs_s, "speedup": theirs_s / ours_s,
               "per_epoch_s": {"mnist1d_jax": ours_s / options.epochs / options.seeds,
                               "reference_loop": theirs_s / options.epochs / options.seeds},
               "final_loss": {"mnist1d_jax": [float(losses[-1]) for losses in ours],
                              "reference_loop": [run["losses"][-1] for run in theirs]}}
    return report_against_reference(
        f"{options.seeds} seed(s) x {options.epochs} epochs x 40 batches", ours_s, theirs_s,
        results, options.json)

if __name__ == "__main__":
    main()
