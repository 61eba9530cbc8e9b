"""Sweeps: many models of one family (widths, training-set sizes, seeds, learning rates, label
noise) trained as few compiled programs. `sweep` is the entry point (`driver`); `program` is the
compiled training of one bucket of models; `families` the model families a sweep indexes by
width; `buckets` which widths share a program; `host_keys` JAX's key derivation restated in NumPy
so that nothing compiles before the first bucket.

    from mnist1d_jax.lab import sweeps
    out = sweeps.sweep(sweeps.MLP_FAMILY, [16, 64, 256], data, jax.random.key(0), seeds=3)
"""

from . import host_keys
from .buckets import buckets, spread
from .driver import MAX_WIDTH, corrupt_labels, label_noise_key, sweep
from .families import CNN_FAMILY, MLP_FAMILY, OVERHEAD_WIDTH, POOLING, Family, pooling_family
from .program import METRICS, SweepConfig

__all__ = [
    "CNN_FAMILY", "MAX_WIDTH", "METRICS", "MLP_FAMILY", "OVERHEAD_WIDTH", "POOLING", "Family",
    "SweepConfig", "buckets", "corrupt_labels", "host_keys", "label_noise_key",
    "pooling_family", "spread", "sweep",
]
