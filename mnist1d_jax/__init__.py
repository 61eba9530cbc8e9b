"""mnist1d_jax: a JAX-native, jit-compiled, vectorised MNIST-1D generator.

The generator (JAX and NumPy only) is this top level; `mnist1d_jax.lab` (models, training,
metalearning) needs the `lab` extra and `mnist1d_jax.plot` the `plot` extra.
"""

from .args import DatasetArgs, get_dataset_args
from .dataset import latents, make_dataset, population_statistics, sample_batch, sample_rows
from .draws import Draws, draw, draw_batch
from .files import load, load_templates, save
from .reference import get_dataset, reference_dataset, replay_numpy
from .stats import Statistics
from .templates import get_templates, make_templates
from .transforms import transform

__all__ = [
    "DatasetArgs", "Draws", "Statistics", "draw", "draw_batch", "get_dataset",
    "get_dataset_args", "get_templates", "latents", "load", "load_templates", "make_dataset",
    "make_templates", "population_statistics", "reference_dataset", "replay_numpy",
    "sample_batch", "sample_rows", "save", "transform",
]
