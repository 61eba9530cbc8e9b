"""The reference's SimCLR training (greydanus/mnist1d `notebooks/self-supervised-learning.ipynb`:
`augment`, `SimCLR`, `contrastive_train` without its periodic evaluation), restated only to time
it beside `mnist1d_jax.lab.contrastive` in the same run (`contrastive.py`).

PyTorch is never a dependency of the package: install it to run this (the CPU build is enough).
"""

from __future__ import annotations

import time

import numpy as np
import torch
from torch import nn
from torch_reference import ConvBase


def augment(x, offsets_std=0.3, slopes_std=0.04, maxshift=10):
    """Offset and trend removed, circular shift (a Python loop over examples, as the
    reference), random slope and offset added."""
    n = x.shape[0]
    t = torch.arange(x.shape[1]) - (x.shape[1] - 1) / 2
    new = x.detach().clone() - x.mean(axis=1, keepdims=True)
    new -= ((x * t).sum(axis=1) / (t ** 2).sum())[:, None] * t
    shifts = np.random.randint(0, maxshift, size=(n,))
    for i in range(n):
        new[i] = torch.roll(new[i], int(shifts[i]))
    new += torch.normal(0, slopes_std, size=(n, 1)) * t
    return new + torch.normal(0, offsets_std, size=(n, 1))


class SimCLR(ConvBase):
    """The reference's encoder (the paper's CNN: three convolutions of 25 channels, 125
    features) with its projector: the base's linear layer 125 -> 125, ReLU, then 125 -> 16."""

    def __init__(self, output_dim=16, hidden_dim=125):
        super().__init__(output_size=hidden_dim)
        self.linear2 = nn.Linear(hidden_dim, output_dim)

    def forward(self, x):
        return self.linear2(super().forward(x).relu())


def train(x: np.ndarray, epochs: int, seed: int, batch_size=100, lr=0.01, tau=0.5) -> dict:
    torch.manual_seed(seed)
    np.random.seed(seed)
    model = SimCLR()
    optimizer = torch.optim.Adam(model.parameters(), lr)
    x = torch.tensor(x, dtype=torch.float32)
    start, losses = time.perf_counter(), []
    for _ in range(epochs):
        shuffle = np.random.permutation(len(x))
        total = 0.0
        for batch in range(len(x) // batch_size):
            rows = x[shuffle][batch * batch_size:(batch + 1) * batch_size]
            o1 = nn.functional.normalize(model(augment(rows)))
            o2 = nn.functional.normalize(model(augment(rows)))
            sims = torch.exp(o1 @ o2.t() / tau)
            loss = torch.mean(-torch.log(torch.diag(sims)) + torch.log(sims.sum(axis=1)))
            loss.backward()
            optimizer.step()
            optimizer.zero_grad()
            total += loss.item()
        losses.append(total / (len(x) // batch_size))
    return {"seconds": time.perf_counter() - start, "losses": losses}
