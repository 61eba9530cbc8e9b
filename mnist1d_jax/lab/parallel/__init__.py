"""Running many runs at once: independent runs placed over the devices of a mesh, across
processes under `jax.distributed` (`placement`), and independent programs side by side on a
CPU's cores, compiled with the options that suit the lab's small models there (`cpu`)."""

from . import cpu, placement
from .cpu import Cancelled, check_stop, compile_lowered, compiler_options, run_all, workers
from .placement import abstract, check_mesh, gather, padded_runs, place

__all__ = [
    "Cancelled", "abstract", "check_mesh", "check_stop", "compile_lowered", "compiler_options",
    "cpu", "gather", "padded_runs", "place", "placement", "run_all", "workers",
]
