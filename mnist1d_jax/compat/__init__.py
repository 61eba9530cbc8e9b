"""The reference package's API, offline and exact: `mnist1d.data`, `mnist1d.utils` and
`mnist1d.transform` by name and signature, so that code written for `mnist1d` runs after changing
its import line only:

    import mnist1d_jax.compat as mnist1d                      # was: import mnist1d
    from mnist1d_jax.compat.data import make_dataset           # was: from mnist1d.data import ...

Outputs equal the reference's for the same arguments (float64, its NumPy draws replayed). What
differs, on purpose: nothing is downloaded (`get_dataset(download=True)` rebuilds the published
file exactly), `from_pickle` never executes code (it reads data: arrays, numbers, strings, dicts,
lists), files that this package did not write are never replaced, and `make_dataset` leaves
NumPy's global random state alone (the reference reseeds it with `args.seed`).
"""

from . import data, utils
from .data import get_dataset, get_dataset_args, get_templates
from .transform import transform  # the function, as in the reference (it shadows the module)
from .utils import ObjectView, from_pickle, plot_signals, set_seed, to_pickle

__all__ = ["ObjectView", "data", "from_pickle", "get_dataset", "get_dataset_args",
           "get_templates", "plot_signals", "set_seed", "to_pickle", "transform", "utils"]
