"""The lab's networks: PyTorch's layers and initialisation restated in Flax NNX
(`layers`, `initializers`), every architecture of the lab defined once (`models`), and the one
pair of model-state helpers every pure training function uses (`state`: `init`, `apply`).

    from mnist1d_jax.lab import nn
    params = nn.init(nn.MLP, key, hidden_size=100)
    logits = nn.apply(nn.MLP, params, x)          # x (n, 40) -> (n, 10)
"""

from .initializers import UnitHash, torch_uniform, unit_uniform
from .layers import (
    Conv1d,
    Dense,
    GRUCell,
    Width,
    conv1d,
    conv_output_length,
    gru_gates,
    mask_units,
    run_gru,
    unit_mask,
)
from .models import (
    CNN,
    GRU,
    MLP,
    MODELS,
    POOLING,
    ConvStack,
    FeedForward,
    Linear,
    PoolingCNN,
    SimCLR,
)
from .state import apply, count_params, graphdef, in_blocks, init, state_with

__all__ = [
    "CNN", "GRU", "MLP", "MODELS", "POOLING", "Conv1d", "ConvStack", "Dense", "FeedForward",
    "GRUCell", "Linear", "PoolingCNN", "SimCLR", "UnitHash", "Width", "apply", "conv1d",
    "conv_output_length", "count_params", "graphdef", "gru_gates", "in_blocks", "init",
    "mask_units", "run_gru", "state_with", "torch_uniform", "unit_mask", "unit_uniform",
]
