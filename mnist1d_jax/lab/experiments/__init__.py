"""The reference's experiments, each a registered `Experiment`: called with a key and a size
("quick", "full", or one of them with settings changed) it returns a `Result`: its numbers with
their spread over seeds beside the reference's recorded ones, the headline claims they test, and
the arrays of its figure (`figure(result)`, needs the plot extra). The notebooks call them;
`reproduce` (`mnist1d-jax reproduce`) runs every registered experiment and writes a folder with
a report (`reproduction`), keeping every result (`store`).

    from mnist1d_jax.lab import experiments
    result = experiments.pooling(jax.random.key(0), "quick")
    result = experiments.pooling(jax.random.key(0), "full", seeds=10)  # a derived size
    result.numbers, result.claims, experiments.figure(result)
"""

from __future__ import annotations

from . import activation as _activation
from . import double_descent as _double_descent
from . import learning_rate as _learning_rate
from . import lottery_tickets as _lottery_tickets
from . import metalearned_data as _metalearned_data
from . import paper_table as _paper_table
from . import pooling as _pooling
from . import self_supervised as _self_supervised
from .base import Progress, Stages
from .registry import EXPERIMENTS, Experiment, figure, register
from .reproduction import REPORT, check_names, plan_changes, reproduce
from .result import SIZES, Claim, Number, Result, Tolerance

paper_table = register(_paper_table.EXPERIMENT)
learning_rate = register(_learning_rate.EXPERIMENT)
activation = register(_activation.EXPERIMENT)
double_descent = register(_double_descent.EXPERIMENT)
pooling = register(_pooling.EXPERIMENT)
lottery_tickets = register(_lottery_tickets.EXPERIMENT)
self_supervised = register(_self_supervised.EXPERIMENT)
metalearned_data = register(_metalearned_data.EXPERIMENT)

__all__ = ["EXPERIMENTS", "REPORT", "SIZES", "Claim", "Experiment", "Number", "Progress",
           "Result", "Stages", "Tolerance", "activation", "check_names", "double_descent", "figure",
           "learning_rate", "lottery_tickets", "metalearned_data", "paper_table", "plan_changes",
           "pooling", "register", "reproduce", "self_supervised"]
