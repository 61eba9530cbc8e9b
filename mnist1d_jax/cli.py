"""The `mnist1d-jax` command line: `generate`, `plot`, `info`."""

from __future__ import annotations

import argparse
import sys
import time

import numpy as np

from .args import FIELD_NAMES, DatasetArgs

_FLAG_HELP = {
    "num_samples": "total examples (num_samples // 10 per class)",
    "train_split": "fraction in the training split, in (0, 1)",
    "template_len": "sets the dilated length template_len + padding[1]",
    "padding": "LOW HIGH: range of zeros appended to a template",
    "scale_coeff": "amplitude scaling strength",
    "max_translation": "shifts drawn from [0, max_translation)",
    "corr_noise_scale": "std of the correlated noise",
    "iid_noise_scale": "std of the iid noise",
    "shear_scale": "shear strength",
    "shuffle_seq": "apply one fixed permutation to the positions",
    "final_seq_length": "points per signal",
    "seed": "seed of the JAX key (or of NumPy's RandomState with --reference)",
}


def _add_dataset_flags(parser: argparse.ArgumentParser) -> None:
    defaults = DatasetArgs()
    for name in FIELD_NAMES:
        flag, default = "--" + name.replace("_", "-"), getattr(defaults, name)
        help_text = f"{_FLAG_HELP[name]} (default {default})"
        if isinstance(default, bool):
            parser.add_argument(flag, action="store_true", help=help_text)
        elif isinstance(default, tuple):
            parser.add_argument(flag, nargs=2, type=int, metavar=("LOW", "HIGH"), help=help_text)
        else:
            parser.add_argument(flag, type=type(default), help=help_text)


def dataset_args_from_flags(namespace: argparse.Namespace) -> DatasetArgs:
    """The `DatasetArgs` given by the flags (defaults for those not given). Validates."""
    given = {name: getattr(namespace, name) for name in FIELD_NAMES}
    return DatasetArgs(**{k: v for k, v in given.items() if v not in (None, False)})


def _progress_bar():
    """A rich progress bar as a `progress(stage, done, total)` callback, and its context."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

    bar = Progress("[progress.description]{task.description}", BarColumn(),
                   MofNCompleteColumn(), TimeRemainingColumn(), transient=True)
    tasks = {}

    def progress(stage, done, total):
        if stage not in tasks:
            tasks[stage] = bar.add_task(f"{stage} (chunks)", total=total)
        bar.update(tasks[stage], completed=done)

    return bar, progress


def _generate(namespace) -> None:
    from .chunked import write_dataset
    from .dataset import check_positive_int, make_dataset, reference_dataset
    from .io import check_format, save

    args = dataset_args_from_flags(namespace)
    kind = check_format(namespace.out)
    check_positive_int(namespace.chunk_size, "chunk_size")
    start = time.perf_counter()
    if kind == "folder" and not namespace.reference:
        chunks = -(-args.layout.num_examples // namespace.chunk_size)
        bar, progress = _progress_bar()
        with bar if chunks > 1 else _nothing():
            write_dataset(namespace.out, None, args, chunk_size=namespace.chunk_size,
                          progress=progress if chunks > 1 else None)
    else:
        data = reference_dataset(args) if namespace.reference else make_dataset(None, args)
        save(data, namespace.out, args)
    elapsed = time.perf_counter() - start
    print(f"{'reference replay' if namespace.reference else 'JAX'}, seed {args.seed}: "
          f"{args.layout.num_examples} examples in {elapsed:.2f} s "
          f"({args.layout.num_examples / elapsed:,.0f} examples/s)")
    _print_summary(namespace.out)


class _nothing:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def _stats(x: np.ndarray, rows: int = 1 << 16) -> tuple:
    """mean, std, min, max of a (possibly memory-mapped) array, a chunk of rows at a time."""
    total = total_sq = 0.0
    low, high = np.inf, -np.inf
    for start in range(0, len(x), rows):
        part = np.asarray(x[start:start + rows], np.float64)
        total, total_sq = total + part.sum(), total_sq + (part**2).sum()
        low, high = min(low, part.min()), max(high, part.max())
    mean = total / x.size
    return mean, float(np.sqrt(max(total_sq / x.size - mean**2, 0.0))), low, high


def _print_summary(path) -> None:
    from .io import load

    data = load(path)
    print(f"{path}")
    recorded = data.get("args")
    if recorded:
        print("  arguments: " + ", ".join(f"{k}={v}" for k, v in recorded.items()))
    else:
        print("  arguments: not recorded in this file")
    for split, labels in (("x", "y"), ("x_test", "y_test")):
        x, y = data[split], np.asarray(data[labels])
        mean, std, low, high = _stats(x)
        counts = np.bincount(y.astype(np.int64), minlength=10)
        print(f"  {split:6s} {str(tuple(x.shape)):14s} {x.dtype}  mean {mean:+.4f}  std {std:.4f}"
              f"  min {low:+.3f}  max {high:+.3f}")
        print(f"  {labels:6s} class counts {counts.tolist()}")
    print(f"  t      {tuple(data['t'].shape)}  from {float(data['t'][0]):+.4f} to "
          f"{float(data['t'][-1]):+.4f}")


def _info(namespace) -> None:
    from .io import check_format

    check_format(namespace.path)
    _print_summary(namespace.path)


def _plot(namespace) -> None:
    from .dataset import check_positive_int, make_dataset
    from .plot import plot_overview, save_figure

    args = dataset_args_from_flags(namespace)
    if not namespace.out.lower().endswith(".png"):
        raise ValueError(f"--out must be a .png file, got {namespace.out!r}")
    check_positive_int(namespace.per_class, "per_class")
    save_figure(plot_overview(make_dataset(None, args), namespace.per_class), namespace.out)
    print(f"wrote {namespace.out}")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="mnist1d-jax", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    generate = commands.add_parser("generate", help="generate a dataset and write it")
    _add_dataset_flags(generate)
    generate.add_argument("--out", required=True,
                          help="output: .pkl, .npz, or a folder (no extension) of .npy files "
                               "written in chunks, for datasets larger than memory")
    generate.add_argument("--reference", action="store_true",
                          help="replay the reference's NumPy draws (the original dataset)")
    generate.add_argument("--chunk-size", type=int, default=100_000,
                          help="examples per chunk for folder output (default 100000)")
    generate.set_defaults(run=_generate)

    plot = commands.add_parser("plot", help="PNG of the templates and examples of each class")
    _add_dataset_flags(plot)
    plot.add_argument("--out", required=True, help="output .png file")
    plot.add_argument("--per-class", type=int, default=4, help="examples per class (default 4)")
    plot.set_defaults(run=_plot)

    info = commands.add_parser("info", help="arguments, shapes, class counts, statistics of a "
                                            "dataset file")
    info.add_argument("path", help=".pkl, .npz or folder")
    info.set_defaults(run=_info)
    return parser


def main(argv=None) -> int:
    """Entry point. Returns 0 on success; exits with 2 on bad flags or values."""
    parser = build_parser()
    namespace = parser.parse_args(argv)
    try:
        namespace.run(namespace)
    except (TypeError, ValueError, FileNotFoundError) as error:
        parser.exit(2, f"mnist1d-jax {namespace.command}: error: {error}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
