"""JAX's persistent compilation cache for the command line.

A `mnist1d-jax` process spends most of its time compiling; with the cache on, the second and
later runs of the same command load the compiled program instead. The command line turns it on
(`--no-cache` or `MNIST1D_JAX_NO_CACHE=1` turn it off); the library never does, because the
cache is JAX's global configuration. Python users turn it on themselves with one line:

    jax.config.update("jax_compilation_cache_dir", os.path.expanduser("~/.cache/mnist1d-jax/jax"))

A cache folder that cannot be created or written, or entries that cannot be read, never fail a
run: JAX then compiles as without a cache.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Mapping

OFF_VARIABLE = "MNIST1D_JAX_NO_CACHE"


def cache_folder(environ: Mapping[str, str] = os.environ) -> str:
    """`$XDG_CACHE_HOME/mnist1d-jax/jax`, `~/.cache/mnist1d-jax/jax` when that variable is unset
    or not an absolute path (the XDG base directory rule)."""
    base = environ.get("XDG_CACHE_HOME", "")
    if not os.path.isabs(base):
        base = os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "mnist1d-jax", "jax")


def cache_disabled(environ: Mapping[str, str] = os.environ) -> bool:
    """Whether `MNIST1D_JAX_NO_CACHE` asks for no cache (any value but empty, 0, false, no)."""
    return environ.get(OFF_VARIABLE, "").strip().lower() not in ("", "0", "false", "no")


def enable_compilation_cache(folder: str) -> bool:
    """Points JAX's persistent compilation cache at `folder` (created if missing) and caches
    every compiled program, however quick its compilation. Returns whether the cache is on:
    `False`, and nothing changed, when the folder cannot be created or is not a folder."""
    try:
        os.makedirs(folder, exist_ok=True)  # raises too where a file stands in the way
    except OSError:
        return False
    import jax

    jax.config.update("jax_compilation_cache_dir", folder)
    jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.0)
    jax.config.update("jax_persistent_cache_min_entry_size_bytes", 0)
    return True


class CompileTimer:
    """Seconds JAX spends compiling (tracing, lowering, and XLA compilation or loading the
    program from the persistent cache, which JAX times inside its compilation step) while the
    context is open, from `jax.monitoring` events; and the cache entries that could not be read
    (JAX's warnings, collected instead of printed)."""

    EVENTS = ("/jax/core/compile/jaxpr_trace_duration",
              "/jax/core/compile/jaxpr_to_mlir_module_duration",
              "/jax/core/compile/backend_compile_duration")

    def __init__(self):
        self.seconds = 0.0
        self.unreadable = 0
        self.requests = self.hits = 0

    def _listen(self, name, seconds, **kwargs):
        if name in self.EVENTS:
            self.seconds += seconds

    def _count_event(self, name, **kwargs):
        if name == "/jax/compilation_cache/compile_requests_use_cache":
            self.requests += 1
        elif name == "/jax/compilation_cache/cache_hits":
            self.hits += 1

    def __enter__(self):
        import jax.monitoring

        self._warnings = warnings.catch_warnings(record=True)
        self._caught = self._warnings.__enter__()
        warnings.simplefilter("always")
        jax.monitoring.register_event_duration_secs_listener(self._listen)
        jax.monitoring.register_event_listener(self._count_event)
        return self

    def __exit__(self, *exc):
        import jax.monitoring

        jax.monitoring.unregister_event_duration_listener(self._listen)
        jax.monitoring.unregister_event_listener(self._count_event)
        self._warnings.__exit__(*exc)
        for caught in self._caught:
            if "persistent compilation cache" in str(caught.message):
                self.unreadable += 1
            else:
                warnings.warn_explicit(caught.message, caught.category, caught.filename,
                                       caught.lineno)
        return False
