"""Deep-double-descent sweeps, reduced: `mnist1d_jax.lab.sweeps` against the reference's PyTorch
loop (its `fit_model`, restated in `torch_double_descent.py`), same CPU, same run, same work.

The same models and settings as the notebook (4000 training examples, SGD 0.01 with momentum 0.9,
batches of 100 reshuffled every epoch, 15% label noise where noted, three seeds per point), with
fewer epochs (100 of 500 by default) and widths and channel counts spread over the whole range;
every configuration and seed is trained by both, for the same number of updates. JAX times include
compilation; the noisy MLP sweep reuses the programs that the clean one compiled (same shapes), as
in the notebook, so the two are also reported together. Run with two threads for PyTorch
(`torch.set_num_threads`), the CI machine's cores.

    python benchmarks/sweeps.py [--epochs N] [--seeds K] [--json PATH]
"""

from __future__ import annotations

import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(__file__))
from common import parse_counts, print_table, write_json  # noqa: E402

import mnist1d_jax  # noqa: E402
from mnist1d_jax.lab import sweeps  # noqa: E402

MLP_WIDTHS = [2, 9, 27, 61, 135, 300]
CNN_CHANNELS = [2, 10, 30, 60, 100]
SWEEPS = (("mlp", "MLP, clean", MLP_WIDTHS, 0.0), ("mlp", "MLP, 15% noise", MLP_WIDTHS, 0.15),
          ("cnn", "CNN, 15% noise", CNN_CHANNELS, 0.15))


def torch_sweep(kind: str, sizes, data: dict, noisy_labels: dict, seeds, epochs: int) -> dict:
    """Seconds and final errors of the reference loop for every (size, seed)."""
    import torch
    import torch_double_descent as reference

    torch.set_num_threads(2)
    out = {"seconds": 0.0, "test_error": [], "per_step_ms": {}}
    for size in sizes:
        for seed in seeds:
            torch.manual_seed(seed)
            model = reference.mlp(size) if kind == "mlp" else reference.cnn(size)
            run = reference.fit(model, {**data, "y": noisy_labels[seed]}, epochs,
                                channels_axis=kind == "cnn")
            out["seconds"] += run["seconds"]
            out["test_error"].append(run["test_error"])
            out["per_step_ms"][int(size)] = 1e3 * run["seconds"] / run["steps"]
    return out


def main(argv=None) -> dict:
    options = parse_counts(__doc__, argv, epochs=100, seeds=3)

    import jax

    args = mnist1d_jax.get_dataset_args(num_samples=16_000, train_split=0.25)
    data = {k: np.asarray(v) for k, v in mnist1d_jax.reference_dataset(args, dtype="float32")
            .items() if k in ("x", "y", "x_test", "y_test")}
    seeds = list(range(options.seeds))
    steps = options.epochs * len(data["y"]) // 100
    config = sweeps.SweepConfig(steps=steps, chunk=steps)
    families = {"mlp": sweeps.MLP_FAMILY, "cnn": sweeps.CNN_FAMILY}
    results, rows = {}, []
    for kind, name, sizes, noise in SWEEPS:
        ours = sweeps.sweep(families[kind], sizes, data, jax.random.key(0), seeds=len(seeds),
                            config=config, label_noise=noise, progress=None)
        # the labels each of our seeds trained on, for the reference loop too
        noisy = {seed: np.asarray(sweeps.corrupt_labels(
            sweeps.label_noise_key(jax.random.key(0), seed), data["y"], noise)) if noise
            else data["y"] for seed in seeds}
        theirs = torch_sweep(kind, sizes, data, noisy, seeds, options.epochs)
        results[name] = {"sizes": sizes, "seeds": len(seeds), "updates_per_model": steps,
                         "mnist1d_jax_s": ours["wall_s"], "reference_loop_s": theirs["seconds"],
                         "speedup": theirs["seconds"] / ours["wall_s"],
                         "reference_per_step_ms": theirs["per_step_ms"],
                         "test_error": {"mnist1d_jax": ours["test_error"].mean(1).tolist(),
                                        "reference_loop": theirs["test_error"]}}
        rows.append((name, f"{len(sizes)} x {len(seeds)} x {steps}", f"{ours['wall_s']:.1f} s",
                     f"{theirs['seconds']:.1f} s", f"{results[name]['speedup']:.1f}x"))
    # the notebook's two MLP sweeps together: the second reuses the programs the first compiled
    mlp = [results[name] for _, name, *_ in SWEEPS[:2]]
    ours_s, theirs_s = (sum(r[k] for r in mlp) for k in ("mnist1d_jax_s", "reference_loop_s"))
    results["MLP, both sweeps"] = {"mnist1d_jax_s": ours_s, "reference_loop_s": theirs_s,
                                   "speedup": theirs_s / ours_s}
    rows.insert(2, ("MLP, both sweeps", f"2 x {len(MLP_WIDTHS)} x {len(seeds)} x {steps}",
                    f"{ours_s:.1f} s", f"{theirs_s:.1f} s", f"{theirs_s / ours_s:.1f}x"))
    print_table(rows, header=("sweep", "models x seeds x updates", "mnist1d_jax (compiled)",
                              "reference loop", "speed-up"))
    if options.json:
        write_json(options.json, results)
    return results


if __name__ == "__main__":
    main()
