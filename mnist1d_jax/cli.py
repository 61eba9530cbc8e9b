"""The `mnist1d-jax` command line: `generate`, `plot`, `info`, `export`, `verify`, `reproduce`."""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from typing import Any

import numpy as np

from .args import FIELD_NAMES, DatasetArgs
from .cache import OFF_VARIABLE, CompileTimer
from .interrupts import Deferred, Interrupted
from .verify import DEFAULT_TOLERANCE

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
    "label_noise": "fraction of training labels replaced by uniformly drawn classes",
    "test_label_noise": "the same for the test labels",
}


def _add_dataset_flags(parser: argparse.ArgumentParser) -> None:
    """One flag per dataset argument. A flag not given leaves no attribute at all
    (`argparse.SUPPRESS`), so every value given, 0 and False included, reaches the arguments."""
    defaults = DatasetArgs()
    for name in FIELD_NAMES:
        flag, default = "--" + name.replace("_", "-"), getattr(defaults, name)
        options: dict[str, Any] = {"default": argparse.SUPPRESS,
                                   "help": f"{_FLAG_HELP[name]} (default {default})"}
        if isinstance(default, bool):
            parser.add_argument(flag, action=argparse.BooleanOptionalAction, **options)
        elif isinstance(default, tuple):
            parser.add_argument(flag, nargs=2, type=int, metavar=("LOW", "HIGH"), **options)
        else:
            parser.add_argument(flag, type=type(default), **options)


def _add_generator_flags(parser: argparse.ArgumentParser) -> None:
    """`--templates FILE` and `--normalize`, the generator's choices beyond its arguments."""
    parser.add_argument("--templates", metavar="FILE",
                        help="your own template set: a .npy (classes, points) array or a .npz "
                             "with x (and t); default the reference's ten digits")
    parser.add_argument("--normalize", choices=["dataset", "population", "none"],
                        default="dataset",
                        help="dataset: by the data's own mean and std (the reference's, "
                             "default); population: by the exact statistics of the "
                             "distribution; none: raw signals")


def _generator_choices(namespace) -> dict:
    """`templates=` and `normalize=` from the flags (the template file read and checked)."""
    from .files import load_templates

    path = getattr(namespace, "templates", None)
    return {"templates": None if path is None else load_templates(path),
            "normalize": getattr(namespace, "normalize", "dataset")}


def _check_reference_choices(namespace, choices: dict) -> None:
    """`--reference` replays the reference's recipe: its normalisation, ten classes."""
    if namespace.reference and choices["normalize"] != "dataset":
        raise ValueError("--reference makes the reference's dataset, normalised by its own "
                         "statistics: leave out --normalize")


def _label_noise_line(data_or_summary) -> str | None:
    """`label noise: ...` for the summary, or None without label noise."""
    if "labels_changed" in data_or_summary:
        changed = data_or_summary["labels_changed"]
        sizes = [sum(counts) for counts in data_or_summary["class_counts"]]
    elif "noisy" in data_or_summary:
        changed = [int(np.sum(data_or_summary[k])) for k in ("noisy", "noisy_test")]
        sizes = [len(data_or_summary[k]) for k in ("noisy", "noisy_test")]
    else:
        return None
    return ("label noise: " + ", ".join(
        f"{count:,} of {size:,} {split} labels changed ({100 * count / max(size, 1):.1f}%)"
        for split, count, size in zip(("training", "test"), changed, sizes)))


def dataset_args_from_flags(namespace: argparse.Namespace) -> DatasetArgs:
    """The `DatasetArgs` given by the flags (defaults for those not given). Validates."""
    return DatasetArgs(**{name: getattr(namespace, name) for name in FIELD_NAMES
                          if hasattr(namespace, name)})


def _what_was_made(args: DatasetArgs, reference: bool) -> str:
    """The kind of data `generate` writes, for its summary line: a user who asks for the default
    dataset must not mistake JAX draws for the published file."""
    if not reference:
        return (f"JAX draws, seed {args.seed}: not the published dataset; `--reference` "
                f"rebuilds that one")
    if args == DatasetArgs():
        return (f"reference replay, seed {args.seed}: the published dataset, within "
                f"{DEFAULT_TOLERANCE:g} of its values (`mnist1d-jax verify` checks a file)")
    return f"reference replay, seed {args.seed}: the reference's draws for these arguments"


def _generate_command(namespace) -> None:
    from .checks import check_count
    from .chunked import MAX_CHUNK_SIZE, write_dataset
    from .files import check_format, save
    from .outputs import check_output
    from .progress import Bar

    args = dataset_args_from_flags(namespace)
    kind = check_format(namespace.out)
    check_count(namespace.chunk_size, "chunk_size", MAX_CHUNK_SIZE)
    choices = _generator_choices(namespace)
    _check_reference_choices(namespace, choices)
    check_output(namespace.out, kind)
    start = time.perf_counter()
    with CompileTimer() as compiling:
        if kind == "folder" and not namespace.reference:
            with Bar("generate") as bar:
                def progress(stage: str, done: int, total: int) -> None:
                    namespace.interrupts.check()
                    bar(f"{stage}, chunk {done} of {total}",
                        done + (total if stage == "normalise" else 0), 2 * total)

                data = write_dataset(namespace.out, None, args, chunk_size=namespace.chunk_size,
                                     **choices, progress=progress)
        else:
            if namespace.reference:
                from .reference import reference_dataset

                data = reference_dataset(args, templates=choices["templates"])
            else:
                from .dataset import make_dataset

                data = make_dataset(None, args, **choices)
            namespace.interrupts.check()  # a signal during generation: nothing is written
            save(data, namespace.out, args, normalize=choices["normalize"])
    elapsed = time.perf_counter() - start
    n = len(data["y"]) + len(data["y_test"]) if "y" in data else sum(map(sum,
                                                                         data["class_counts"]))
    generating = max(elapsed - compiling.seconds, 1e-9)
    cache = namespace.cache_note
    if namespace.cache_on and compiling.requests:
        cache += f": {compiling.hits} of {compiling.requests} programs loaded"
    print(f"{_what_was_made(args, namespace.reference)}: "
          f"{n:,} examples in {elapsed:.2f} s = compilation {compiling.seconds:.2f} s "
          f"({cache}) + generation and writing {generating:.2f} s "
          f"({n / generating:,.0f} examples/s)")
    noise = _label_noise_line(data)
    if noise:
        print(noise)
    if compiling.unreadable:
        print(f"note: {compiling.unreadable} entries of the compilation cache could not be read "
              f"and were compiled afresh; delete {namespace.cache_folder} to rebuild it",
              file=sys.stderr)
    _print_summary(namespace.out)


def _export_command(namespace) -> None:
    """The dataset of the flags (JAX draws, or the reference's with `--reference`), or the file
    `--from`, written in Hugging Face's parquet layout."""
    from .adapters.parquet import export_parquet  # needs the parquet extra: one line if missing
    from .outputs import check_output

    given = [name for name in FIELD_NAMES if hasattr(namespace, name)]
    given += ["templates"] if namespace.templates is not None else []
    given += ["normalize"] if namespace.normalize != "dataset" else []
    check_output(namespace.out, "parquet")  # before anything is read or generated
    if namespace.source is not None:
        if given or namespace.reference:
            raise ValueError("--from exports a file as it is; give no dataset flags with it")
        from .files import load

        data, note = load(namespace.source), f"Exported from `{namespace.source}`."
    else:
        args = dataset_args_from_flags(namespace)
        choices = _generator_choices(namespace)
        _check_reference_choices(namespace, choices)
        if namespace.reference:
            from .reference import reference_dataset

            data = reference_dataset(args, templates=choices["templates"])
            note = ("The published MNIST-1D dataset (the reference's draws replayed)."
                    if args == DatasetArgs() and choices["templates"] is None
                    else "The reference's draws replayed.")
        else:
            from .dataset import make_dataset

            data = make_dataset(None, args, **choices)
            note = "Generated by mnist1d_jax.make_dataset."
            if namespace.templates is not None:
                note += f" Templates from `{namespace.templates}`."
            if namespace.normalize != "dataset":
                note += f" Normalised: {namespace.normalize}."
        changed = {k: v for k, v in args.as_dict().items() if v != DatasetArgs().as_dict()[k]}
        note += f" Arguments: {changed or 'the defaults'}."
    files = export_parquet(data, namespace.out, note)
    print(f"wrote {namespace.out}: " + ", ".join(f"{split} {path}" for split, path in
                                                 files.items()))


def _stats(x: np.ndarray) -> tuple:
    """mean, std, min, max of a (possibly memory-mapped) array, a chunk of rows at a time."""
    from .validate import row_chunks

    total = total_sq = 0.0
    low, high = np.inf, -np.inf
    for part in row_chunks(x):
        part = part.astype(np.float64)
        total, total_sq = total + part.sum(), total_sq + (part**2).sum()
        low, high = min(low, part.min()), max(high, part.max())
    mean = total / x.size
    return mean, float(np.sqrt(max(total_sq / x.size - mean**2, 0.0))), low, high


def _class_counts(y, classes: int) -> list:
    from .validate import row_chunks

    return sum((np.bincount(part, minlength=classes) for part in row_chunks(y, 1 << 20)),
               np.zeros(classes, np.int64)).tolist()


def _print_summary(path) -> None:
    from .files import load

    data = load(path)
    print(f"{path}")
    classes, points = data["templates"]["x"].shape
    print(f"  templates: {classes} classes of {points} points")
    recorded = data.get("args")
    if recorded:
        print("  arguments: " + ", ".join(f"{k}={v}" for k, v in recorded.items()))
    else:
        print("  arguments: not recorded in this file")
    normalized = data.get("normalize")
    if normalized is not None:
        print("  normalised: " + (normalized if isinstance(normalized, str) else
                                  f"by mean {normalized['mean']:+.6g}, std "
                                  f"{normalized['std']:.6g}"))
    for split, labels in (("x", "y"), ("x_test", "y_test")):
        x, y = data[split], data[labels]
        mean, std, low, high = _stats(x)
        counts = _class_counts(y, len(data["templates"]["x"]))
        print(f"  {split:6s} {str(tuple(x.shape)):14s} {x.dtype}  mean {mean:+.4f}  std {std:.4f}"
              f"  min {low:+.3f}  max {high:+.3f}")
        print(f"  {labels:6s} class counts {counts}")
    print(f"  t      {tuple(data['t'].shape)}  from {float(data['t'][0]):+.4f} to "
          f"{float(data['t'][-1]):+.4f}")


def _info_command(namespace) -> None:
    from .files import check_format

    check_format(namespace.path)
    _print_summary(namespace.path)


MAX_PER_CLASS = 20


def _plot_command(namespace) -> None:
    from .checks import check_count
    from .outputs import check_output

    args = dataset_args_from_flags(namespace)
    if not namespace.out.lower().endswith(".png"):
        raise ValueError(f"--out must be a .png file, got {namespace.out!r}")
    check_count(namespace.per_class, "per_class", MAX_PER_CLASS)
    check_output(namespace.out, ".png")
    from .dataset import make_dataset
    from .plot import plot_overview, save_figure  # needs the plot extra: one line if missing

    defaults = DatasetArgs().as_dict()
    changed = [f"{k}={v}" for k, v in args.as_dict().items() if v != defaults[k]]
    title = (f"MNIST-1D, JAX generator, seed {args.seed}: "
             + (", ".join(changed) if changed else "the reference's default arguments"))
    figure = plot_overview(make_dataset(None, args, **_generator_choices(namespace)),
                           namespace.per_class, title=title)
    save_figure(figure, namespace.out)
    print(f"wrote {namespace.out}")


def _verify_command(namespace) -> int:
    """Prints a line per array and a verdict: exit 0 when the file is the published dataset,
    bit for bit or within the tolerance; 1 when not."""
    from .verify import describe, verify

    try:
        report = verify(namespace.path, namespace.tolerance)
    except OSError as error:  # unreadable input is exit 2, as a malformed file
        raise ValueError(f"cannot read {namespace.path!r}: {error.strerror or error}") from None
    lines, matches = describe(report, namespace.path, namespace.tolerance)
    print("\n".join(lines))
    return 0 if matches else 1


def _reproduce_command(namespace) -> None:
    """Runs the experiments (all by default) with a progress bar each and writes the folder."""
    from .extras import require

    require("lab", "mnist1d-jax reproduce", "flax", "optax", "filelock")  # before the lab's own
    from .lab.experiments import REPORT, reproduce  # which checks plot, names, folder first
    from .lab.experiments.result import holding
    from .progress import Bar

    start = time.perf_counter()
    changes = dict(_setting(text) for text in namespace.set or ())
    results = reproduce(namespace.out, namespace.names, seed=namespace.seed,
                        size="quick" if namespace.quick else "full", changes=changes,
                        force=namespace.force,
                        bar=Bar, log=lambda line: print(line, flush=True),
                        check=namespace.interrupts.check)
    claims = [c for r in results.values() for c in r.claims]
    print(f"wrote {os.path.join(namespace.out, REPORT)}: {len(results)} experiments, "
          f"{holding(claims, ' claims hold')}; this run {time.perf_counter() - start:.0f} s")


def _setting(text: str) -> tuple:
    """`--set SETTING=VALUE`: the value read as JSON (an integer, a number, a list, null), else
    as the string it is."""
    name, equals, value = text.partition("=")
    if not equals or not name:
        raise ValueError(f"--set takes SETTING=VALUE or NAME.SETTING=VALUE (for example "
                         f"seeds=1 or pooling.steps=120); got {text!r}")
    try:
        return name, json.loads(value)
    except json.JSONDecodeError:
        return name, value


def _add_cache_flag(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--cache", action=argparse.BooleanOptionalAction, default=True,
                        help="keep compiled programs in JAX's persistent compilation cache under "
                             "$XDG_CACHE_HOME/mnist1d-jax (default: on; "
                             f"{OFF_VARIABLE}=1 turns it off too)")


def _use_cache(namespace) -> None:
    """Turns the compilation cache on for commands that compile, unless switched off; records
    what happened for the summary line."""
    from .cache import cache_disabled, cache_folder, enable_compilation_cache

    namespace.cache_folder, namespace.cache_on = cache_folder(), False
    if not getattr(namespace, "cache", False) or cache_disabled():
        namespace.cache_note = "cache off"
    elif enable_compilation_cache(namespace.cache_folder):
        namespace.cache_note, namespace.cache_on = f"cache {namespace.cache_folder}", True
    else:
        namespace.cache_note = f"cache unavailable: cannot create {namespace.cache_folder}"


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
    _add_generator_flags(generate)
    _add_cache_flag(generate)
    generate.set_defaults(run=_generate_command)

    plot = commands.add_parser("plot", help="PNG of the templates and examples of each class")
    _add_dataset_flags(plot)
    plot.add_argument("--out", required=True, help="output .png file")
    plot.add_argument("--per-class", type=int, default=4,
                      help=f"examples per class, at most {MAX_PER_CLASS} (default 4)")
    _add_generator_flags(plot)
    _add_cache_flag(plot)
    plot.set_defaults(run=_plot_command)

    info = commands.add_parser("info", help="arguments, shapes, class counts, statistics of a "
                                            "dataset file")
    info.add_argument("path", help=".pkl, .npz or folder")
    info.set_defaults(run=_info_command)

    export = commands.add_parser("export", help="write a dataset in another library's layout "
                                                "(parquet: Hugging Face's)")
    export.add_argument("--format", choices=["parquet"], required=True,
                        help="parquet: OUT/data/{train,test}-00000-of-00001.parquet and a "
                             "dataset card, the schema of the hub's christopher/mnist1d")
    export.add_argument("out", help="output folder")
    export.add_argument("--from", dest="source", metavar="FILE",
                        help="export this dataset file (.pkl, .npz or folder) instead")
    export.add_argument("--reference", action="store_true",
                        help="the reference's draws (the published dataset by default)")
    _add_dataset_flags(export)
    _add_generator_flags(export)
    export.set_defaults(run=_export_command)

    verify = commands.add_parser("verify", help="is a file the published MNIST-1D dataset? "
                                                "(exit 0 yes, 1 no, 2 unreadable)")
    verify.add_argument("path", help=".pkl, .npz or folder")
    verify.add_argument("--tolerance", type=float, default=DEFAULT_TOLERANCE,
                        help="accept arrays surely within this absolute difference of the "
                             f"published values (default {DEFAULT_TOLERANCE:g}; 0 accepts the "
                             "published bytes only)")
    verify.set_defaults(run=_verify_command)

    reproduce = commands.add_parser(
        "reproduce", help="run the paper's experiments and write a report beside the "
                          "reference's numbers (needs the lab and plot extras)")
    reproduce.add_argument("names", nargs="*", metavar="NAME",
                           help="experiments to run (default: all): paper-table, learning-rate, "
                                "activation, double-descent, pooling, lottery, self-supervised, "
                                "metalearned-data")
    reproduce.add_argument("--out", required=True,
                           help="folder for report.md, results.json and the figures: new, "
                                "empty, or an earlier reproduction (resumed: results of the same "
                                "size and seed are kept; one run at a time holds the folder)")
    reproduce.add_argument("--quick", action="store_true",
                           help="small but real sizes: under 4 minutes on a 2-core CPU; claims "
                                "that so few steps cannot decide say so")
    reproduce.add_argument("--set", action="append", metavar="[NAME.]SETTING=VALUE",
                           help="change a setting of the size (repeatable): in every experiment "
                                "that has it (seeds=5) or in one (pooling.sizes=[1000,5000]); "
                                "the value is read as JSON; the report names the changes")
    reproduce.add_argument("--force", action="store_true",
                           help="run the named experiments again and replace their stored "
                                "results, also those of another size or seed or written by "
                                "another version (without it such results stop the run before "
                                "anything runs)")
    reproduce.add_argument("--seed", type=int, default=0,
                           help="seed of the experiments' key jax.random.key(SEED) (default 0)")
    _add_cache_flag(reproduce)
    reproduce.set_defaults(run=_reproduce_command)
    return parser


def _message(error: BaseException) -> str:
    """One line for an error: an `OSError` of this package carries its whole message in
    `strerror` (no `[Errno N]` prefix); others print as they are."""
    if isinstance(error, OSError) and error.filename is None and error.strerror:
        return error.strerror
    return str(error)


def _out_of_memory(error: BaseException) -> bool:
    """Whether `error` is XLA's out-of-memory (`RESOURCE_EXHAUSTED`), raised by JAX as a
    `JaxRuntimeError` when a buffer cannot be allocated."""
    jax = sys.modules.get("jax")
    return (jax is not None and isinstance(error, jax.errors.JaxRuntimeError)
            and "RESOURCE_EXHAUSTED" in str(error))


def main(argv=None) -> int:
    """Entry point. Returns 0 on success. Anything a user can get wrong ends with one line on
    stderr: exit 2 for bad flags, values, paths or files; 1 for failed reads and writes (a
    read-only folder, a full disk); 130 on Ctrl-C and 143 on SIGTERM, which stop the run at its
    next safe point and leave no temporary behind (`interrupts`)."""
    parser = build_parser()
    namespace = parser.parse_args(argv)
    prefix = f"mnist1d-jax {namespace.command}: error: "
    with Deferred() as namespace.interrupts:
        return _run(parser, namespace, prefix)


def _run(parser: argparse.ArgumentParser, namespace, prefix: str) -> int:
    """Runs the command under `namespace.interrupts`: a signal stops it at the next safe point
    (the commands call `check()` between chunks, experiments and files), and a signal that came
    after the last one still ends it with 130 or 143, never 0."""
    try:
        _use_cache(namespace)
        status = namespace.run(namespace)
        namespace.interrupts.check()
    except (TypeError, ValueError, FileNotFoundError, ImportError) as error:
        parser.exit(2, f"{prefix}{_message(error)}\n")
    except BrokenPipeError:  # the reader of the output went away (`| head`): stop quietly
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        parser.exit(141)
    except OSError as error:
        parser.exit(1, f"{prefix}{_message(error)}\n")
    except MemoryError:
        parser.exit(1, f"{prefix}out of memory\n")
    except Exception as error:  # noqa: BLE001 - only an accelerator's or XLA's out-of-memory
        if not _out_of_memory(error):
            raise
        parser.exit(1, f"{prefix}out of memory (the device could not allocate what this run "
                       f"needs: try a smaller --num-samples, or a folder output)\n")
    except KeyboardInterrupt:  # outside the main thread, where no handler defers SIGINT
        parser.exit(130, f"mnist1d-jax {namespace.command}: interrupted\n")
    except Interrupted as stop:
        parser.exit(stop.status, f"mnist1d-jax {namespace.command}: "
                                 f"{'terminated' if stop.status == 143 else 'interrupted'}\n")
    return status or 0


if __name__ == "__main__":
    sys.exit(main())
