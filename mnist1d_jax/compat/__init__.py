"""The reference package's API, offline and exact: `mnist1d.data`, `mnist1d.utils` and
`mnist1d.transform` by name and signature. Code written for `mnist1d` runs in one of two ways:

    import mnist1d_jax.compat as mnist1d                      # change the import line, or
    import mnist1d_jax.compat; mnist1d_jax.compat.install()   # add one line, change nothing else

`install()` makes `import mnist1d`, `import mnist1d.data`, `from mnist1d.data import ...`,
`from mnist1d.utils import ...` and `from mnist1d.transform import ...` resolve to this package in
the running process (the real `mnist1d` need not be installed).

Outputs equal the reference's for the same arguments (float64, its NumPy draws replayed), side
effects included: `make_dataset` (and `get_dataset` when it builds) reseeds Python's `random` and
NumPy's global generator and draws from the latter, as the reference does, so that code that draws
label noise or splits right after loading gets the reference's numbers. That is this package's
one deliberate change of global state; its core API never changes it. Arrays are writable NumPy
arrays of the reference's dtypes. What differs, on purpose: nothing is downloaded
(`get_dataset(download=True)` rebuilds the published file), `from_pickle` never executes code (it
reads data), and files that this package did not write are never replaced.
"""

import importlib
import sys

from . import data, utils
from .data import get_dataset, get_dataset_args, get_templates
from .transform import transform  # the function, as in the reference (it shadows the module)
from .utils import ObjectView, from_pickle, plot_signals, set_seed, to_pickle

__all__ = ["ObjectView", "data", "from_pickle", "get_dataset", "get_dataset_args",
           "get_templates", "install", "plot_signals", "set_seed", "to_pickle", "transform",
           "utils"]

# the submodule by its name: after the line above, and after `importlib.reload` of this package
# (IPython's autoreload), the attribute `transform` is the function
_MODULES = {"mnist1d": sys.modules[__name__], "mnist1d.data": data, "mnist1d.utils": utils,
            "mnist1d.transform": importlib.import_module(f"{__name__}.transform")}


def install() -> None:
    """Makes `mnist1d` and its modules `data`, `utils`, `transform` this package's, for imports
    in this process from now on (entries in `sys.modules`; nothing on disk changes).

    Calling it again is harmless. Raises `RuntimeError` if the real `mnist1d` is already
    imported: code may hold its modules, and swapping them would mix the two.
    """
    present = {name: sys.modules[name] for name in _MODULES if name in sys.modules}
    foreign = [name for name, module in present.items() if module is not _MODULES[name]]
    if foreign:
        raise RuntimeError(f"mnist1d_jax.compat.install(): the real {foreign[0]} is already "
                           "imported in this process; call install() before importing mnist1d")
    sys.modules.update(_MODULES)
