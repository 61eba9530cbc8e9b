"""The reference's experiments, each one function of a key and a size ("quick" or "full")
returning a `Result`: its numbers with their spread over seeds beside the reference's recorded
ones, the headline claims they test, and its figure (`Result.figure()`, needs the plot extra).
The notebooks call these functions; `mnist1d-jax reproduce` runs them all and writes a report.

    from mnist1d_jax.lab import experiments
    result = experiments.pooling(jax.random.key(0), "quick")
    result.numbers, result.claims, result.figure()
"""

from __future__ import annotations

from . import (activation as _activation, double_descent as _double_descent,
               learning_rate as _learning_rate, lottery_tickets as _lottery_tickets,
               metalearned_data as _metalearned_data, paper_table as _paper_table,
               pooling as _pooling, self_supervised as _self_supervised)
from .base import Progress, Stages
from .result import SIZES, Claim, Number, Result

EXPERIMENTS = {module.NAME: module for module in (
    _paper_table, _learning_rate, _activation, _double_descent, _pooling, _lottery_tickets,
    _self_supervised, _metalearned_data)}
"""Name -> module: its `NAME`, `TITLE`, `REFERENCE_TIME` (seconds or None, and where from),
the experiment function and `draw(result)`; in the order of the paper and the notebooks."""

paper_table = _paper_table.paper_table
learning_rate = _learning_rate.learning_rate
activation = _activation.activation
double_descent = _double_descent.double_descent
pooling = _pooling.pooling
lottery_tickets = _lottery_tickets.lottery_tickets
self_supervised = _self_supervised.self_supervised
metalearned_data = _metalearned_data.metalearned_data

RUN = {name: getattr(module, module.__name__.rsplit(".", 1)[1])
       for name, module in EXPERIMENTS.items()}
"""Name -> experiment function."""

__all__ = ["EXPERIMENTS", "RUN", "SIZES", "Claim", "Number", "Progress", "Result", "Stages",
           "activation", "double_descent", "learning_rate", "lottery_tickets",
           "metalearned_data", "paper_table", "pooling", "self_supervised"]
