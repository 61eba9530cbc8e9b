"""The reference's double-descent models and training loop (greydanus/mnist1d
`notebooks/deep-double-descent.ipynb`: `get_model`, `get_model_cnn`, `fit_model`), restated here
only to time them beside `mnist1d_jax.lab.sweeps` in the same run (`sweeps.py`).

PyTorch is never a dependency of the package: install it to run this (`pip install torch`; the
CPU build is enough).
"""

from __future__ import annotations

import time

import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset


def mlp(hidden: int) -> nn.Module:
    """40-h-h-10 with ReLU."""
    return nn.Sequential(nn.Linear(40, hidden), nn.ReLU(), nn.Linear(hidden, hidden), nn.ReLU(),
                         nn.Linear(hidden, 10))


def cnn(channels: int) -> nn.Module:
    """Three stride-2 convolutions (kernels 5, 3, 3, padding 1) and a linear read-out."""
    return nn.Sequential(
        nn.Conv1d(1, channels, 5, stride=2, padding=1), nn.ReLU(),
        nn.Conv1d(channels, channels, 3, stride=2, padding=1), nn.ReLU(),
        nn.Conv1d(channels, channels, 3, stride=2, padding=1), nn.ReLU(),
        nn.Flatten(), nn.Linear(channels * 5, 10))


def fit(model: nn.Module, data: dict, epochs: int, channels_axis: bool) -> dict:
    """The reference's `fit_model`: SGD (0.01, momentum 0.9), `DataLoader(batch_size=100,
    shuffle=True)`, `epochs` epochs, then train and test error (%). Returns those and the
    seconds of training."""
    loss_function = nn.CrossEntropyLoss()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    shape = (lambda a: a[:, None, :]) if channels_axis else (lambda a: a)
    x = torch.tensor(shape(np.asarray(data["x"], np.float32)))
    y = torch.tensor(np.asarray(data["y"], np.int64))
    x_test = torch.tensor(shape(np.asarray(data["x_test"], np.float32)))
    y_test = torch.tensor(np.asarray(data["y_test"], np.int64))
    loader = DataLoader(TensorDataset(x, y), batch_size=100, shuffle=True)
    start = time.perf_counter()
    steps = 0
    for _ in range(epochs):
        for x_batch, y_batch in loader:
            optimizer.zero_grad()
            loss_function(model(x_batch), y_batch).backward()
            optimizer.step()
            steps += 1
    seconds = time.perf_counter() - start
    with torch.no_grad():
        train_error = 100 * (model(x).argmax(1) != y).float().mean().item()
        test_error = 100 * (model(x_test).argmax(1) != y_test).float().mean().item()
    return {"train_error": train_error, "test_error": test_error, "seconds": seconds,
            "steps": steps}
