"""The `mnist1d-jax` command line."""

from __future__ import annotations

import argparse
import sys

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


def _generate(namespace) -> None:
    from .dataset import make_dataset, reference_dataset  # imports JAX: only when needed
    from .io import check_format, save

    args = dataset_args_from_flags(namespace)
    check_format(namespace.out)
    data = reference_dataset(args) if namespace.reference else make_dataset(None, args)
    save(data, namespace.out)
    print(f"wrote {namespace.out}: x {tuple(data['x'].shape)}, x_test "
          f"{tuple(data['x_test'].shape)} ({'reference replay' if namespace.reference else 'JAX'}"
          f", seed {args.seed})")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="mnist1d-jax", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    generate = commands.add_parser("generate", help="generate a dataset and write it to a file")
    _add_dataset_flags(generate)
    generate.add_argument("--out", required=True, help="output file: .pkl or .npz")
    generate.add_argument("--reference", action="store_true",
                          help="replay the reference's NumPy draws (the original dataset)")
    generate.set_defaults(run=_generate)
    return parser


def main(argv=None) -> int:
    """Entry point. Returns the exit status: 0 on success, 2 on bad flags or values."""
    parser = build_parser()
    namespace = parser.parse_args(argv)
    try:
        namespace.run(namespace)
    except (TypeError, ValueError) as error:
        parser.exit(2, f"mnist1d-jax {namespace.command}: error: {error}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
