"""Training: the lab's one training core (`loop`: configurations with traced hyperparameters,
the optimizer choice, batching, the step builder, runs side by side), the paper's supervised
training (`supervised`: `train`, `train_on_stream`, `train_table`), the metrics every model is
trained and judged on (`metrics`) and the checks every lab entry point runs on its inputs
before anything is traced (`checks`).

    from mnist1d_jax.lab import nn, training
    result = training.train(nn.CNN, data, jax.random.key(0), training.TrainConfig(total_steps=500))
"""

from .checks import (
    MAX_COUNT,
    MAX_LEARNING_RATE,
    check_counts,
    check_data,
    check_hyperparameter,
    check_integers,
    check_keys,
    check_learning_rate,
    check_model_fits,
    data_classes,
)
from .loop import (
    OPTIMIZERS,
    ORDERS,
    LoopConfig,
    RunConfig,
    Schedule,
    batch_rows,
    fit_steps,
    one_or_many,
    optimizer,
    over_runs,
    traced_config,
)
from .metrics import accuracy, cross_entropy, error
from .supervised import (
    PAPER,
    STREAM,
    TrainConfig,
    print_pair,
    shuffle_positions,
    train,
    train_on_stream,
    train_table,
)

__all__ = [
    "MAX_COUNT", "MAX_LEARNING_RATE", "OPTIMIZERS", "ORDERS", "PAPER", "STREAM", "LoopConfig",
    "RunConfig", "Schedule", "TrainConfig", "accuracy", "batch_rows", "check_counts",
    "check_data", "check_hyperparameter", "check_integers", "check_keys", "check_learning_rate",
    "check_model_fits", "cross_entropy", "data_classes", "error", "fit_steps", "one_or_many",
    "optimizer", "over_runs", "print_pair", "shuffle_positions", "traced_config", "train",
    "train_on_stream", "train_table",
]
