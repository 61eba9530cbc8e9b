"""The reference's lottery-ticket search (greydanus/mnist1d `notebooks/lottery-tickets.ipynb`:
`SparseMLP`, `get_mask`, `find_lottery_ticket`, with `notebooks/train.py`'s `train_model`),
restated only to time it beside `mnist1d_jax.lab.lottery` in the same run (`lottery.py`).

PyTorch is never a dependency of the package: install it to run this (the CPU build is enough).
"""

from __future__ import annotations

import time

import torch
from torch import nn


class SparseMLP(nn.Module):
    """40-h-h-10 with ReLU and a residual second layer; each layer's weights and bias are
    multiplied by their mask before use (the reference rewrites them before every forward)."""

    def __init__(self, hidden: int):
        super().__init__()
        self.layers = nn.ModuleList([nn.Linear(40, hidden), nn.Linear(hidden, hidden),
                                     nn.Linear(hidden, 10)])
        self.masks = [torch.ones(layer.weight.numel() + layer.bias.numel())
                      for layer in self.layers]

    def vectors(self):
        return [torch.cat([layer.weight.flatten(), layer.bias]).detach().clone()
                for layer in self.layers]

    def set_vectors(self, vectors):
        with torch.no_grad():
            for layer, vector, mask in zip(self.layers, vectors, self.masks):
                vector = vector * mask
                layer.weight.copy_(vector[:layer.weight.numel()].view_as(layer.weight))
                layer.bias.copy_(vector[layer.weight.numel():])

    def forward(self, x):
        self.set_vectors(self.vectors())  # apply the masks, as the reference does
        h = torch.relu(self.layers[0](x))
        h = h + torch.relu(self.layers[1](h))
        return self.layers[2](h)


def get_mask(scores, sparsity: float):
    drop = int(sparsity * len(scores))
    mask = torch.ones_like(scores)
    mask[torch.sort(scores)[1][:drop]] = 0
    return mask


def train_model(model, data: dict, total_steps: int, eval_every: int, learning_rate: float):
    optimizer = torch.optim.Adam(model.parameters(), learning_rate)
    criterion = nn.CrossEntropyLoss()
    x, y = torch.tensor(data["x"]), torch.tensor(data["y"], dtype=torch.long)
    x_test, y_test = torch.tensor(data["x_test"]), torch.tensor(data["y_test"], dtype=torch.long)
    accuracies = []
    for step in range(total_steps + 1):
        start = (step * 100) % len(x)
        loss = criterion(model(x[start:start + 100]), y[start:start + 100])
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()
        if step % eval_every == 0:
            with torch.no_grad():
                accuracies.append(100 * (model(x_test).argmax(-1) == y_test).float().mean().item())
    return accuracies


def search(data: dict, sparsities, method: str, hidden: int, total_steps: int, eval_every: int,
           learning_rate: float, seed: int) -> dict:
    """One trial: rounds of prune (magnitude or random scores), rewind, retrain."""
    torch.manual_seed(seed)
    model = SparseMLP(hidden)
    initial = model.vectors()
    best, start = [], time.perf_counter()
    for sparsity in sparsities:
        trained = model.vectors()
        scores = [v.abs() if method == "magnitude" else torch.rand_like(v) for v in trained]
        model.masks = [get_mask(s, sparsity) for s in scores]
        model.set_vectors(initial)
        best.append(max(train_model(model, data, total_steps, eval_every, learning_rate)))
    return {"seconds": time.perf_counter() - start, "best": best}
