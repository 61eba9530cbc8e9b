"""The lottery-ticket search, reduced: `mnist1d_jax.lab.lottery.search` against the reference's
PyTorch loop (restated in `torch_lottery.py`; 2 threads), same CPU, same run, same work.

The reference's model and settings (MLP 40-500-500-10, Adam 2e-2, batches of 100, 1502 steps per
round, test accuracy every 100 steps, magnitude and random tickets) with fewer rounds over the same
sparsity range; both methods, `--trials` trials. JAX times include compilation.

    python benchmarks/lottery.py [--rounds 4] [--trials 1] [--json PATH]
"""

from __future__ import annotations

import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(__file__))
from common import parse_counts, report_against_reference  # noqa: E402

import mnist1d_jax  # noqa: E402
from mnist1d_jax.lab import lottery  # noqa: E402


def main(argv=None) -> dict:
    options = parse_counts(__doc__, argv, rounds=4, trials=1)

    import jax

    data = {k: np.asarray(v, np.float32 if k.startswith("x") else np.int64) for k, v in
            mnist1d_jax.reference_dataset().items() if k in ("x", "y", "x_test", "y_test")}
    sparsities = np.linspace(0, 0.91, options.rounds)
    config = lottery.TicketConfig()
    start = time.perf_counter()
    ours = lottery.search(jax.random.key(0), data, sparsities, trials=options.trials,
                          config=config)
    ours_s = time.perf_counter() - start

    import torch
    import torch_lottery

    torch.set_num_threads(2)
    theirs = {method: [torch_lottery.search(data, sparsities, method, config.hidden,
                                            config.total_steps, config.eval_every,
                                            config.learning_rate, seed=trial)
                       for trial in range(options.trials)] for method in lottery.METHODS}
    theirs_s = sum(run["seconds"] for runs in theirs.values() for run in runs)
    steps = 2 * options.trials * options.rounds * (config.total_steps + 1)
    results = {"rounds": options.rounds, "trials": options.trials, "sparsities":
               sparsities.tolist(), "updates": steps, "mnist1d_jax_s": ours_s,
               "reference_loop_s": theirs_s, "speedup": theirs_s / ours_s,
               "best_test_accuracy": {
                   "mnist1d_jax": {m: ours["test_accuracy"][i].max(-1).mean(0).tolist()
                                   for i, m in enumerate(lottery.METHODS)},
                   "reference_loop": {m: np.mean([r["best"] for r in runs], 0).tolist()
                                      for m, runs in theirs.items()}}}
    return report_against_reference(
        f"2 methods x {options.trials} trials x {options.rounds} rounds x "
        f"{config.total_steps + 1} steps", ours_s, theirs_s, results, options.json)

if __name__ == "__main__":
    main()
