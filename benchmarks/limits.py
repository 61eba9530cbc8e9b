"""How close the compute-bound experiments come to this machine's dense matrix-product rate.

The rate: float32 square matrix products (`jnp.dot`, jitted) at a few sizes, the best. The work:
each experiment's matrix products and convolutions (2 flops per multiply-add), counted from the
jaxprs of one training step and one evaluation of its models (scans multiplied by their length)
times the steps, runs and evaluations of its full size; elementwise work (activations, the
optimiser, the random draws) is not counted, so the fractions are lower bounds on how busy the
machine was. The time: each experiment's wall time (compilation included) from a reproduction's
`results.json`, as `mnist1d-jax reproduce` recorded it.

    python benchmarks/limits.py --results benchmarks/results/reproduce-cpu/results.json
        [--sizes 256 512 1024 2048] [--json PATH]
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import sys

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx

sys.path.insert(0, os.path.dirname(__file__))
from common import json_path, median_time, print_table, write_json  # noqa: E402

from mnist1d_jax.lab import contrastive, nn, sweeps  # noqa: E402
from mnist1d_jax.lab.training import cross_entropy  # noqa: E402

# the modules (the package's names `double_descent`, `pooling` are the experiments themselves)
double_descent = importlib.import_module("mnist1d_jax.lab.experiments.double_descent")
pooling = importlib.import_module("mnist1d_jax.lab.experiments.pooling")

FEATURES, CLASSES, BATCH = 40, 10, 100


def matmul_rate(sizes) -> dict:
    """Flops per second of float32 n x n products for each n, and the best."""
    rates = {}
    product = jax.jit(jnp.dot)
    for n in sizes:
        a = jax.random.normal(jax.random.key(0), (n, n), jnp.float32)
        b = jax.random.normal(jax.random.key(1), (n, n), jnp.float32)
        seconds = median_time(lambda a=a, b=b: product(a, b), repeats=5, warmup=2)
        rates[n] = 2 * n ** 3 / seconds
    return {"by_size": rates, "best": max(rates.values())}


def _dense_flops(jaxpr) -> float:
    """2 x multiply-adds of every dot_general and convolution in `jaxpr`, inner jaxprs included
    (a scan's body times its length; a cond's costliest branch)."""
    total = 0.0
    for eqn in jaxpr.eqns:
        name = eqn.primitive.name
        if name == "dot_general":
            (contracting, _), _ = eqn.params["dimension_numbers"]
            lhs = eqn.invars[0].aval.shape
            total += 2 * np.prod(eqn.outvars[0].aval.shape) * np.prod(
                [lhs[d] for d in contracting])
        elif name == "conv_general_dilated":
            rhs = eqn.invars[1].aval.shape  # (out, in / groups, *window) in the default layout
            spec = eqn.params["dimension_numbers"].rhs_spec
            window = np.prod([rhs[d] for d in spec[2:]])
            total += 2 * np.prod(eqn.outvars[0].aval.shape) * rhs[spec[1]] * window
        elif name == "scan":
            total += eqn.params["length"] * _dense_flops(eqn.params["jaxpr"].jaxpr)
        elif name == "cond":
            total += max(_dense_flops(b.jaxpr) for b in eqn.params["branches"])
        else:
            for value in eqn.params.values():
                inner = getattr(value, "jaxpr", None)
                if inner is not None:
                    total += _dense_flops(getattr(inner, "jaxpr", inner))
    return float(total)


def flops_of(fn, *args) -> float:
    return _dense_flops(jax.make_jaxpr(fn)(*args).jaxpr)


def step_and_eval(module: nnx.Module, batch: int = BATCH, features: int = FEATURES) -> tuple:
    """Dense flops of one training step (loss and gradient) on `batch` examples and of one
    forward pass of one example."""
    graphdef, params, rest = nnx.split(module, nnx.Param, ...)
    x = jnp.zeros((batch, features), jnp.float32)
    y = jnp.zeros((batch,), jnp.int32)

    def loss(p, x, y):
        return cross_entropy(nnx.merge(graphdef, p, rest)(x), y)

    step = flops_of(jax.grad(loss), params, x, y)
    forward = flops_of(lambda p, x: nnx.merge(graphdef, p, rest)(x), params, x[:1])
    return step, forward


def table_work() -> float:
    """The paper's table, full size: 3 seeds x 2 settings x each model: 6001 updates, 25
    evaluations on 1000 test examples."""
    total = 0.0
    for model in nn.MODELS.values():
        step, forward = step_and_eval(model(rngs=nnx.Rngs(0)))
        total += 3 * 2 * (6001 * step + 25 * 1000 * forward)
    return total


def double_descent_work() -> float:
    """Double descent, full size: per width and seed 500 epochs of 40 updates, and the final
    errors on 4000 training and 12000 test examples."""
    seeds = double_descent.SIZES["full"]["seeds"]
    total = 0.0
    for family, widths, _ in double_descent.SWEEPS.values():
        for width in widths:
            step, forward = step_and_eval(family.model(int(width), FEATURES, CLASSES,
                                                       padded=int(width), rngs=nnx.Rngs(0)))
            total += seeds * (500 * 40 * step + 16000 * forward)
    return total


def pooling_work() -> float:
    """Pooling, full size: per kind, training-set size and seed 6000 updates and 61
    evaluations on 1000 test examples."""
    settings = pooling.SIZES["full"]
    total = 0.0
    for kind in sweeps.POOLING:
        family = sweeps.pooling_family(kind)
        step, forward = step_and_eval(family.model(20, FEATURES, CLASSES, padded=20,
                                                   rngs=nnx.Rngs(0)))
        evaluations = settings["steps"] // settings["eval_every"] + 1
        total += len(settings["sizes"]) * settings["seeds"] * (
            settings["steps"] * step + evaluations * 1000 * forward)
    return total


def lottery_work() -> float:
    """The lottery search, full size: 2 methods x 2 trials x 100 rounds (and 4 rounds from new
    weights), each 1502 updates of the masked MLP 40-500-500-10 and 16 evaluations on 1000 test
    examples."""
    step, forward = step_and_eval(nn.MLP(hidden_size=500, rngs=nnx.Rngs(0)))
    return (2 * 2 * 100 + 4) * (1502 * step + 16 * 1000 * forward)


def simclr_work() -> float:
    """SimCLR, full size: 3 kinds of view x 3 seeds x 200 epochs of 40 updates, each on two
    views of 100 examples (the projector's output)."""
    graphdef, params, rest = nnx.split(nn.SimCLR(rngs=nnx.Rngs(0)), nnx.Param, ...)
    x = jnp.zeros((2 * BATCH, FEATURES), jnp.float32)
    step = flops_of(jax.grad(lambda p, x: jnp.sum(nnx.merge(graphdef, p, rest)(x))), params, x)
    return len(contrastive.VIEWS) * 3 * 200 * 40 * step


WORK = {"paper-table": table_work, "double-descent": double_descent_work,
        "pooling": pooling_work, "lottery": lottery_work, "self-supervised": simclr_work}


def wall_times(path: str) -> dict:
    """Experiment -> (wall seconds, size) from a reproduction's `results.json`."""
    with open(path) as handle:
        stored = json.load(handle)["experiments"]
    return {name: (float(entry["wall_s"]), entry["size"], entry.get("changes", {}))
            for name, entry in stored.items()}


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--results", required=True,
                        help="a reproduction's results.json (its experiments' wall times)")
    parser.add_argument("--sizes", type=int, nargs="+", default=[256, 512, 1024, 2048])
    parser.add_argument("--json", type=json_path, help="write the results to this file")
    options = parser.parse_args(argv)
    times = wall_times(options.results)
    rate = matmul_rate(options.sizes)
    print(f"dense float32 matrix products: best {rate['best'] / 1e9:.1f} GFLOP/s "
          f"({', '.join(f'{n}: {r / 1e9:.1f}' for n, r in rate['by_size'].items())})")
    rows, results = [], {}
    for name, work in WORK.items():
        if name not in times:
            continue
        seconds, size, changes = times[name]
        if size != "full" or changes:
            print(f"{name}: skipped, the stored result is not the full size as defined")
            continue
        flops = work()
        fraction = flops / seconds / rate["best"]
        results[name] = {"flops": flops, "wall_s": seconds, "fraction": fraction}
        rows.append((name, f"{flops / 1e12:.2f}", f"{seconds:.0f}",
                     f"{flops / seconds / 1e9:.1f}", f"{100 * fraction:.1f}%"))
    print_table(rows, ("experiment", "dense TFLOP", "wall s", "GFLOP/s", "of the rate"))
    payload = {"matmul": {"by_size": {str(n): r for n, r in rate["by_size"].items()},
                          "best": rate["best"]},
               "experiments": results, "results": os.path.abspath(options.results)}
    if options.json:
        write_json(options.json, payload)
    return payload


if __name__ == "__main__":
    main()
