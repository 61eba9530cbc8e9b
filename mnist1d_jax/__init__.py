"""mnist1d_jax: a JAX-native, jit-compiled, vectorised MNIST-1D generator."""

from .args import DatasetArgs, get_dataset_args
from .dataset import make_dataset, reference_dataset, sample_batch
from .draws import Draws, draw, draw_batch, replay_numpy
from .io import get_dataset, load, save
from .templates import get_templates
from .transforms import transform

__all__ = [
    "DatasetArgs", "Draws", "draw", "draw_batch", "get_dataset", "get_dataset_args",
    "get_templates", "load", "make_dataset", "reference_dataset", "replay_numpy", "sample_batch", "save",
    "transform",
]
