"""The reference's PyTorch models and training loop (greydanus/mnist1d `notebooks/models.py` and
`notebooks/train.py`), restated here only to time them beside `mnist1d_jax.train` in the same run.

Imported by `paper_table.py` only when PyTorch is importable; PyTorch is never a dependency.
"""

from __future__ import annotations

import time

import numpy as np
import torch
from torch import nn


class LinearBase(nn.Module):
    def __init__(self, input_size=40, output_size=10):
        super().__init__()
        self.linear = nn.Linear(input_size, output_size)

    def forward(self, x):
        return self.linear(x)


class MLPBase(nn.Module):
    def __init__(self, input_size=40, output_size=10, hidden_size=100):
        super().__init__()
        self.linear1 = nn.Linear(input_size, hidden_size)
        self.linear2 = nn.Linear(hidden_size, hidden_size)
        self.linear3 = nn.Linear(hidden_size, output_size)

    def forward(self, x):
        h = self.linear1(x).relu()
        h = h + self.linear2(h).relu()
        return self.linear3(h)


class ConvBase(nn.Module):
    def __init__(self, output_size=10, channels=25, linear_in=125):
        super().__init__()
        self.conv1 = nn.Conv1d(1, channels, 5, stride=2, padding=1)
        self.conv2 = nn.Conv1d(channels, channels, 3, stride=2, padding=1)
        self.conv3 = nn.Conv1d(channels, channels, 3, stride=2, padding=1)
        self.linear = nn.Linear(linear_in, output_size)

    def forward(self, x):
        x = x.view(-1, 1, x.shape[-1])
        h = self.conv3(self.conv2(self.conv1(x).relu()).relu()).relu()
        return self.linear(h.view(h.shape[0], -1))


class GRUBase(nn.Module):
    def __init__(self, input_size=1, output_size=10, hidden_size=6, time_steps=40,
                 bidirectional=True):
        super().__init__()
        self.gru = nn.GRU(input_size, hidden_size, batch_first=True, bidirectional=bidirectional)
        flat_size = (2 if bidirectional else 1) * hidden_size * time_steps
        self.linear = nn.Linear(flat_size, output_size)

    def forward(self, x):
        output, _ = self.gru(x.view(*x.shape[:2], 1))
        return self.linear(output.reshape(output.shape[0], -1))


MODELS = {"linear": LinearBase, "mlp": MLPBase, "cnn": ConvBase, "gru": GRUBase}


def accuracy(model, inputs, targets):
    preds = model(inputs).argmax(-1).cpu().numpy()
    return 100 * np.mean(preds == targets.cpu().numpy())


def train_model(dataset, model, learning_rate=1e-2, batch_size=100, total_steps=6000,
                eval_every=250):
    """The reference's `train_model`, without printing and checkpointing."""
    criterion = nn.CrossEntropyLoss()
    optimizer = torch.optim.Adam(model.parameters(), lr=learning_rate)
    x_train, x_test = (torch.tensor(np.array(dataset[k]), dtype=torch.float32)
                       for k in ("x", "x_test"))
    y_train, y_test = (torch.tensor(np.array(dataset[k]), dtype=torch.long)
                       for k in ("y", "y_test"))
    results = {"train_losses": [], "test_losses": [], "train_acc": [], "test_acc": []}
    for step in range(total_steps + 1):
        bix = (step * batch_size) % len(x_train)
        x, y = x_train[bix:bix + batch_size], y_train[bix:bix + batch_size]
        loss = criterion(model(x), y)
        results["train_losses"].append(loss.item())
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()
        if eval_every > 0 and step % eval_every == 0:
            with torch.no_grad():
                results["test_losses"].append(criterion(model(x_test), y_test).item())
                results["train_acc"].append(accuracy(model, x_train, y_train))
                results["test_acc"].append(accuracy(model, x_test, y_test))
    return results


def time_model(name: str, dataset: dict, seed: int = 0, total_steps: int = 6000) -> dict:
    """Train the reference's model `name` once; returns final test accuracy and wall time."""
    torch.manual_seed(seed)
    start = time.perf_counter()
    results = train_model(dataset, MODELS[name](), total_steps=total_steps)
    return {"test_acc": results["test_acc"][-1], "wall_s": time.perf_counter() - start}
