"""`mnist1d.data`: `get_dataset_args`, `get_templates`, `make_dataset`, `get_dataset`, offline.

`make_dataset(args)` equals the reference's for the same arguments (float64, its NumPy draws
replayed by `mnist1d_jax.reference_dataset`), side effects included: like the reference it calls
`set_seed(args.seed)` and then draws from NumPy's global state, so afterwards Python's `random`
and NumPy's global generator are exactly where the reference leaves them (code written for it
draws label noise and splits from there). The core API (`mnist1d_jax.make_dataset`,
`reference_dataset`) never touches global state. `get_dataset` never touches the network: with
`download=True` it rebuilds the published dataset when the file is missing, by `make_dataset` of
the default arguments, which is what the reference itself does when its download fails. Every
array returned is a writable NumPy array of the reference's dtype.
"""

from __future__ import annotations

import os

import numpy as np

from .. import reference
from ..args import REFERENCE_FIELDS, as_args
from ..args import get_dataset_args as _defaults
from ..files import load
from ..templates import get_templates
from .transform import transform
from .utils import ObjectView, from_pickle, set_seed, to_pickle

__all__ = ["ObjectView", "from_pickle", "get_dataset", "get_dataset_args", "get_templates",
           "make_dataset", "set_seed", "to_pickle", "transform"]

URL = "https://github.com/greydanus/mnist1d/raw/master/mnist1d_data.pkl"
"""Where the reference downloads the published dataset from (never fetched here)."""


def get_dataset_args(as_dict=False):
    """The default arguments, as the reference gives them: an `ObjectView` (attribute assignment,
    e.g. `args.num_samples = 16_000`) or, with `as_dict=True`, a dict; `url` included."""
    fields = {**{name: value for name, value in _defaults(as_dict=True).items()
                 if name in REFERENCE_FIELDS}, "url": URL}
    fields["padding"] = list(fields["padding"])
    return fields if as_dict else ObjectView(fields)


def _writable(data: dict) -> dict:
    """`data` with every array a writable NumPy array of its own (the reference's arrays are;
    code edits them in place)."""
    return {k: _writable(v) if isinstance(v, dict) else np.array(v) for k, v in data.items()}


def make_dataset(args=None, template=None):
    """The reference's `make_dataset(args, template)`: `x`, `x_test` (float64), `y`, `y_test`
    (int64), `t`, `templates`, equal to the reference's output for the same arguments.

    Changes global state as the reference does: `set_seed(args.seed)` (Python's `random` and
    NumPy's global generator), then the draws are taken from NumPy's global generator."""
    args = get_dataset_args() if args is None else args
    set_seed(as_args(args).seed)
    return _writable(reference.reference_dataset(args, templates=template, random=np.random,
                                                 name="template"))


def get_dataset(args, path=None, verbose=True, download=True, regenerate=False, **kwargs):
    """The reference's cached dataset: loads `path` (default `./mnist1d_data.pkl`) if it exists.

    Where the file is missing, `download=True` writes the published dataset there (rebuilt, not
    downloaded: `make_dataset` of the default arguments, its side effects on global state
    included), else `make_dataset(args, **kwargs)`; `regenerate=True` rebuilds from `args` and
    replaces the file (only a file `to_pickle` wrote, or a dataset, is ever replaced). Any file
    name: the file is a pickle, as the reference writes it. A file that is not an MNIST-1D
    dataset raises `ValueError` instead of being overwritten.
    """
    if download and regenerate:
        raise ValueError("You can either download the o.g. MNIST1D dataset or generate your own "
                         "- but not both (download=True and regenerate=True)")
    path = "./mnist1d_data.pkl" if path is None else path
    if os.path.lexists(path) and not regenerate:
        if download and verbose:
            print("File already exists. Skipping download.")
        data = load(path, ".pkl")  # the reference reads a pickle whatever the file's name
        data.pop("args", None)
        data = _writable(data)
        if verbose:
            print(f"Successfully loaded data from {path}")
        return data
    if download:
        data = make_dataset()  # the published dataset, for any args
        if verbose:
            print(f"Rebuilt the published MNIST-1D dataset (no download). Saving to {path}")
    else:
        if verbose:
            print(f"Did or could not load data from {path}. Rebuilding dataset...")
        data = make_dataset(args, **kwargs)
    to_pickle(data, path)
    return data
