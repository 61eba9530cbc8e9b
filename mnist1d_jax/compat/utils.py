"""`mnist1d.utils`: `set_seed`, `to_pickle`, `from_pickle` (safe), `ObjectView`, `plot_signals`."""

from __future__ import annotations

import io
import os
import pickle
import random

import numpy as np

from ..files import dataset_file_problem
from ..outputs import Kind, atomic_open, check_input, check_output, register_kind
from ..unpickle import safe_unpickle
from .transform import transform

PICKLE_MARK = "written by mnist1d_jax.compat.to_pickle"
"""Ownership of a pickle: pushed and popped right after the protocol header (`marked_pickle`), so
that every unpickler, the reference's plain `pickle.load` included, reads the same value."""


def _mark_prefix() -> bytes:
    """Protocol 3's header, then `PICKLE_MARK` pushed (BINUNICODE) and popped (POP)."""
    mark = PICKLE_MARK.encode()
    return b"\x80\x03X" + len(mark).to_bytes(4, "little") + mark + b"0"


def marked_pickle(value) -> bytes:
    """`pickle.dumps(value, protocol=3)` carrying `PICKLE_MARK`: the same value for any reader."""
    body = pickle.dumps(value, protocol=3)
    return _mark_prefix() + body[2:]


def _our_pickle(target: str) -> str:
    """Why the regular file `target` is neither a pickle of `to_pickle` nor a dataset .pkl ("" if
    it is one of them)."""
    prefix = _mark_prefix()
    with open(target, "rb") as handle:
        if handle.read(len(prefix)) == prefix:
            return ""
    if dataset_file_problem(target, ".pkl"):
        return "it was not written by compat.to_pickle, nor is it an MNIST-1D dataset"
    return ""


register_kind("pickle", Kind("a pickle written by `compat.to_pickle` (`PICKLE_MARK`), or a "
                             "dataset .pkl", _our_pickle))


def set_seed(seed) -> None:
    """Seeds Python's `random` and NumPy's global random state, as the reference does (this is
    the one function here that changes global state, because that is what it is for)."""
    random.seed(seed)
    np.random.seed(seed)


def to_pickle(thing, path) -> None:
    """Pickles `thing` to `path` (protocol 3, as the reference; any file name), atomically. The
    pickle carries a mark of this function that every reader skips (`marked_pickle`). An
    existing file is replaced only if this function wrote it, or it is an MNIST-1D dataset
    (`ValueError` otherwise: a foreign file is never replaced).

    Only what `from_pickle` reads back is written: data (see `from_pickle`) and `ObjectView`s of
    data. Anything else (a JAX array, an object of another class) is a `ValueError` before the
    file is touched, rather than a pickle this package would refuse to load."""
    check_output(path, "pickle")
    try:
        content = marked_pickle(thing)
        safe_unpickle(io.BytesIO(content), plain=True, records=_RECORDS)
    except Exception as error:  # noqa: BLE001 - whatever the reader refuses
        raise ValueError(f"to_pickle writes only what from_pickle reads back (NumPy arrays, "
                         f"plain Python values, ObjectView); not this value: {error}") from None
    with atomic_open(path) as handle:
        handle.write(content)


def from_pickle(path):
    """Reads a pickle of data (NumPy arrays, numbers, strings, bytes, dicts, lists, tuples, sets,
    complex numbers, ranges, bytearrays, slices, and `ObjectView`s of them: what `to_pickle`
    writes, and the reference's pickles of its arguments) under any file name, without executing
    anything; a pickle that would import or call anything else
    raises `ValueError`."""
    with open(check_input(path), "rb") as handle:
        try:
            return safe_unpickle(handle, plain=True, records=_RECORDS)
        except OSError:
            raise
        except Exception as error:  # noqa: BLE001 - any failure of untrusted bytes
            problem = str(error) or type(error).__name__
            raise ValueError(f"{os.fspath(path)!r} was not loaded: {problem}") from None


class ObjectView:
    """A dict seen as an object: `ObjectView(d).key is d["key"]`; attribute assignment writes
    into `d` (the reference's arguments object)."""

    def __init__(self, d):
        self.__dict__ = d

    def __repr__(self):
        return f"ObjectView({self.__dict__!r})"


_RECORDS = {("mnist1d_jax.compat.utils", "ObjectView"): ObjectView,
            ("mnist1d.utils", "ObjectView"): ObjectView}
"""The arguments object under this module's name and the reference's: `to_pickle(args)` and
the reference's pickles of its arguments read back as an `ObjectView`."""

def plot_signals(xs, t, labels=None, args=None, ratio=2.6, do_transform=False, dark_mode=False,
                 zoom=1):
    """The reference's figure of the first ten signals xs (n, F) against t (F,), shown and
    returned. `do_transform=True` first passes each through `transform(x, t, args)` (random, from
    NumPy's global state, as in the reference). Needs the `plot` extra."""
    from ..extras import require

    require("plot", "mnist1d_jax.compat.utils.plot_signals", "matplotlib")
    import matplotlib.pyplot as plt

    if do_transform and args is None:
        raise ValueError("plot_signals(do_transform=True) needs args")
    fig = plt.figure(figsize=[15, 1.5 * ratio], dpi=60)
    for ix in range(10):
        x, tt = xs[ix], t
        ax = plt.subplot(1, 10, ix + 1)
        if do_transform:
            x, tt = transform(x, tt, args)
        if dark_mode:
            ax.plot(x, tt, "wo", linewidth=6)
            ax.set_facecolor("k")
        else:
            ax.plot(x, tt, "k-", linewidth=2)
        if labels is not None:
            ax.set_title(f"label={labels[ix]}", fontsize=22)
        ax.set_xlim(-zoom, zoom)
        ax.set_ylim(-zoom, zoom)
        ax.invert_yaxis()
        ax.set_xticks([])
        ax.set_yticks([])
    fig.subplots_adjust(wspace=0, hspace=0)
    fig.tight_layout()
    plt.show()
    return fig
