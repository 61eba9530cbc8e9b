"""Differentiable metalearning: unrolled inner training differentiated by `jax.grad` with
respect to a learning rate, an activation function or the data generator's arguments
(`outer`), the inner loops it unrolls (`inner`: SGD and explicit backpropagation of
`nn.FeedForward` parameter states), the learned activation with RMSprop (`activation`), and
the generator's arguments recovered from a target set by a distribution distance (`recover`).

    from mnist1d_jax.lab import meta
    history = meta.learn_learning_rate(jax.random.key(0), data, 0.1, outer_steps=20)
"""

from .activation import (
    GAIN,
    ActivationParams,
    inner_rmsprop,
    learned_activation,
    learned_activation_and_slope,
    noisy_call,
    value_and_slope,
)
from .inner import (
    cyclic_batch,
    draw_hidden_noise,
    inner_sgd,
    layer_arrays,
    mlp_logits,
    mlp_loss_and_grad,
    with_slope,
)
from .outer import (
    ActivationHistory,
    AugmentationHistory,
    LRHistory,
    learn_activation,
    learn_augmentation,
    learn_learning_rate,
    train_with_activation,
)
from .recover import WIDTHS, Recovery, class_mmd2, kernel_widths, recover_arguments

__all__ = [
    "GAIN", "WIDTHS", "ActivationHistory", "ActivationParams", "AugmentationHistory", "LRHistory",
    "Recovery", "class_mmd2", "cyclic_batch", "draw_hidden_noise", "inner_rmsprop", "inner_sgd",
    "kernel_widths", "layer_arrays", "learn_activation", "learn_augmentation",
    "learn_learning_rate", "learned_activation", "learned_activation_and_slope", "mlp_logits",
    "mlp_loss_and_grad", "noisy_call", "recover_arguments", "train_with_activation",
    "value_and_slope", "with_slope",
]
