"""Training compiled as a whole: optax Adam, a `lax.scan` over steps, `vmap` over runs.

The reference's loop (`notebooks/train.py` of greydanus/mnist1d): Adam, learning rate 1e-2, batches
of 100 taken cyclically through the training set, steps 0..6000, and an evaluation (test loss,
train and test accuracy) after the steps 0, 250, 500, ... Here the whole run, for k keys at once,
is one jitted call:

    from mnist1d_jax.lab import nn, training
    result = training.train(nn.CNN, data, jax.random.split(jax.random.key(0), 3))
    result["test_acc"][:, -1]          # final test accuracy (percent) of each run

`train_on_stream` trains on fresh examples from `sample_batch` instead of a fixed training set.
"""

from __future__ import annotations

import concurrent.futures
import dataclasses
import functools
import time
from collections.abc import Callable

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx

from ...args import as_args, jit_seedless
from ...dataset import sample_batch
from ...templates import check_templates
from .checks import check_data, check_hyperparameter, check_keys, check_model_fits, data_classes
from .loop import LoopConfig, fit_steps, over_runs, traced_config
from .metrics import accuracy, cross_entropy

__all__ = ["PAPER", "STREAM", "TrainConfig", "print_pair", "shuffle_positions", "train",
           "train_on_stream", "train_table"]


@traced_config
@dataclasses.dataclass(frozen=True)
class TrainConfig(LoopConfig):
    """The reference's training settings (`training.LoopConfig`): a pytree whose leaves are
    `learning_rate` and `weight_decay` (`TRACED`), so one compiled run serves every value of
    them; the step counts and sizes are static.

    Attributes:
      learning_rate: the optimizer's step size (> 0). Traced.
      optimizer: "adam" (the reference's) or "sgd" (`training.optimizer`).
      batch_size: examples per step.
      eval_every: evaluate after steps 0, eval_every, 2 eval_every, ...; divides total_steps.
      Batches are the reference's, cyclic (`training.batch_rows`).
      total_steps: the last step's index; steps 0..total_steps run (total_steps + 1 updates).
      weight_decay: L2 penalty added to the gradient, as `torch.optim.Adam(weight_decay=...)`.
        Traced.
    """

    TRACED = LoopConfig.TRACED + ("weight_decay",)

    weight_decay: float = 0.0

    def __post_init__(self):
        super().__post_init__()
        if self.total_steps % self.eval_every:
            raise ValueError(f"eval_every must divide total_steps; got eval_every="
                             f"{self.eval_every}, total_steps={self.total_steps}")
        self._set("weight_decay", check_hyperparameter(self.weight_decay, "weight_decay", 0.0,
                                                       1e3))


def shuffle_positions(data: dict, seed: int = 0) -> dict:
    """A copy of `data` whose signals' positions are permuted by one fixed random permutation
    (NumPy `default_rng(seed)`), applied to `x` and `x_test` alike: the paper's shuffled setting,
    which leaves linear models and MLPs unaffected and takes locality from CNNs and RNNs."""
    permutation = np.random.default_rng(seed).permutation(np.shape(data["x"])[-1])
    return {**data, "x": np.asarray(data["x"])[:, permutation],
            "x_test": np.asarray(data["x_test"])[:, permutation]}


def _fit(model_fn, config: TrainConfig, batch_fn: Callable, eval_data: dict, key):
    """One run from `key` (its initial weights). `batch_fn(step, key) -> (x, y)`. Returns the
    curves and final state."""
    graphdef, params = nnx.split(model_fn(rngs=nnx.Rngs(key)))
    optimizer = config.transformation()

    def loss_fn(params, batch):
        x, y = batch
        return cross_entropy(nnx.merge(graphdef, params)(x), y)

    n_test = eval_data["x_test"].shape[0]
    eval_x = jnp.concatenate([eval_data["x_test"]] + ([eval_data["x"]] if "x" in eval_data
                                                      else []))

    def evaluate(params):  # one forward pass over the test set and the training set
        logits = nnx.merge(graphdef, params)(eval_x)
        test = logits[:n_test]
        metrics = {"test_loss": cross_entropy(test, eval_data["y_test"]),
                   "test_acc": accuracy(test, eval_data["y_test"])}
        if "x" in eval_data:
            metrics["train_acc"] = accuracy(logits[n_test:], eval_data["y"])
        return metrics

    # One scan over every step with the evaluation under a `cond`: the step and the evaluation
    # are each compiled once; the curves hold exactly the evaluations at `eval_steps`.
    updates = config.total_steps + 1
    (params, _), (losses, curves) = fit_steps(
        loss_fn, optimizer, lambda step: batch_fn(step, key), params, optimizer.init(params),
        jnp.arange(updates), evaluate=evaluate, schedule=config.schedule(updates))
    return {"train_loss": losses, **curves, "params": params}


@functools.partial(jax.jit, static_argnames=("model_fn",))
def _train(model_fn, config, data, keys):
    def batch_fn(step, key):
        rows, _ = config.batch(step, data["x"].shape[0])
        return data["x"][rows], data["y"][rows]
    return over_runs(lambda k: _fit(model_fn, config, batch_fn, data, k), keys)


@functools.partial(jit_seedless, static_argnames=("model_fn",))
def _train_on_stream(model_fn, config, keys, args, data, templates):
    def batch_fn(step, key):  # the stream: fold_in(key, STREAM), then the step
        batch = sample_batch(jax.random.fold_in(jax.random.fold_in(key, STREAM), step), args,
                             config.batch_size, templates=templates)
        return batch["x"], batch["y"]
    return over_runs(lambda k: _fit(model_fn, config, batch_fn, data, k), keys)


def _run_keys(key):
    """One typed key (shape ()) for one run, or the (k,) keys of k runs (`training.check_keys`)."""
    keys, single = check_keys(key)
    return keys[0] if single else keys


def _check_config(config):
    if not isinstance(config, TrainConfig):
        raise TypeError(f"config must be a training.TrainConfig; got {config!r}")
    return config


def _check_model_fn(model_fn):
    if not callable(model_fn):
        raise TypeError(f"model_fn must be a callable taking rngs=nnx.Rngs (e.g. models.CNN); "
                        f"got {model_fn!r}")
    return model_fn


def train(model_fn, data: dict, key, config: TrainConfig = TrainConfig()) -> dict:
    """Train `model_fn(rngs=nnx.Rngs(key))` on `data`'s training set, the whole run compiled.

    Args:
      model_fn: a model class or factory, e.g. `nn.CNN` or `functools.partial(models.MLP,
        hidden_size=256)` (hashable: it is a static argument; reuse the same object to reuse
        the compiled run). It must map (batch, F) signals to (batch, C) logits: one that does
        not (say `nn.CNN` left at 40 points for data of 80) is refused in one line naming
        `input_size`/`num_classes` before anything compiles.
      data: a dict with `x` (n, F), `y` (n,), `x_test` (m, F), `y_test` (m,) and, as
        `make_dataset` gives them, `templates` (their rows are the C classes; without them
        `training.data_classes`).
      key: a JAX key (the initial weights; the batches are the reference's, cyclic), or a 1-D
        array of k keys (`jax.random.split(key, k)`): k runs in one vmapped call.
      config: `TrainConfig` (the reference's settings by default).

    Returns:
      dict (with a leading (k,) axis when `key` holds k keys): `train_loss` (T + 1,) per step,
      and at `config.eval_steps` (E,): `test_loss`, `train_acc`, `test_acc` (percent); `params`
      the final `nnx.State` (`nnx.merge(nnx.graphdef(model), params)` rebuilds the model).
    """
    keys = _run_keys(key)
    config = _check_config(config)
    classes = data_classes(data)
    data = check_data(data)
    check_model_fits(_check_model_fn(model_fn), data["x"].shape[1], classes)
    return _train(model_fn, config, data, keys)


STREAM = 2**32 - 1
"""What `train_on_stream` folds into a run's key for its batches (the key itself initialises
the weights)."""


def train_on_stream(model_fn, key, args, data: dict, config: TrainConfig = TrainConfig(), *,
                    templates=None) -> dict:
    """Like `train`, but every step's batch is fresh: `sample_batch` drawn inside the compiled
    step from `fold_in(fold_in(key, STREAM), step)` with dataset arguments `args` (label noise,
    traced scales and all) and `templates` (default the reference's ten); `key` (or each of a
    1-D array of keys: one run each) also initialises the weights.

    `data` supplies the evaluation sets: `x_test`, `y_test` (and `x`, `y` for a train accuracy,
    if given). Returns the same curves as `train`.
    """
    keys = _run_keys(key)
    config = _check_config(config)
    fields = ("x", "y", "x_test", "y_test") if "x" in data else ("x_test", "y_test")
    args = as_args(args)
    checked_templates = check_templates(templates)
    classes = len(checked_templates["x"])
    templates = None if templates is None else {k: checked_templates[k] for k in ("x", "t")}
    checked = check_data(data, fields)
    if data_classes(data) > classes:
        raise ValueError(f"data hold labels of {data_classes(data)} classes, but the stream's "
                         f"templates have {classes}")
    if checked["x_test"].shape[1] != args.final_seq_length:
        raise ValueError(f"data['x_test'] has {checked['x_test'].shape[1]} points but "
                         f"args.final_seq_length is {args.final_seq_length}")
    check_model_fits(_check_model_fn(model_fn), args.final_seq_length, classes)
    return _train_on_stream(model_fn, config, keys, args, checked, templates)


PAPER = {"regular": {"linear": 32, "mlp": 68, "cnn": 94, "gru": 91},
         "shuffled": {"linear": 32, "mlp": 68, "cnn": 56, "gru": 57}}
"""The paper's test accuracies (percent; Greydanus & Kobak 2024, Table 1)."""


def print_pair(setting: str, model: str, result: dict, seconds: float) -> None:
    """`train_table`'s default report: one line per (dataset, model) pair as it finishes, with
    the final test accuracy (mean over runs) and the pair's wall time."""
    final = np.asarray(result["test_acc"])[..., -1]
    print(f"{setting} / {model}: test accuracy {final.mean():.1f}% (mean of {final.size} "
          f"run{'s' if final.size > 1 else ''}), {seconds:.1f} s", flush=True)


def train_table(datasets: dict, model_fns: dict, key, config: TrainConfig = TrainConfig(),
                log: Callable | None = print_pair) -> dict:
    """Train every model on every dataset, all runs in one call per pair (each pair from the
    same keys).

    The pairs run in order; a background thread compiles each pair while the pairs before it
    train (XLA compilation releases the GIL), so compilation mostly overlaps training.

    Args:
      datasets: name -> data dict, e.g. `{"regular": data, "shuffled": shuffle_positions(data)}`.
      model_fns: name -> model class, e.g. `nn.MODELS`.
      key, config: as for `train` (a 1-D array of k keys: k runs of each pair).
      log: `log(setting, model, result, seconds)`, called after each pair; by default
        `print_pair` prints a line per pair; `None` is silent.

    Returns:
      `{setting: {model: {"result": train(...) output, "wall_s": seconds}}}`, `wall_s` the time
      from the end of the previous pair to this pair's result (waiting for its compilation, if it
      is not ready yet, and training): the `wall_s` add up to the whole table's time.
    """
    keys = _run_keys(key)  # every input is checked before anything compiles
    config = _check_config(config)
    model_fns = {name: _check_model_fn(fn) for name, fn in model_fns.items()}
    arrays = {setting: check_data(data, name=f"datasets[{setting!r}]")
              for setting, data in datasets.items()}
    pairs = [(setting, name) for setting in datasets for name in model_fns]
    table: dict[str, dict] = {setting: {} for setting in datasets}
    compiler = concurrent.futures.ThreadPoolExecutor(max_workers=1)
    try:
        compiled = [compiler.submit(lambda fn, data: _train.lower(fn, config, data, keys).compile(),
                                    model_fns[name], arrays[setting])
                    for setting, name in pairs]
        start = time.perf_counter()
        for (setting, name), run in zip(pairs, compiled):
            result = jax.block_until_ready(run.result()(config, arrays[setting], keys))
            now = time.perf_counter()
            seconds, start = now - start, now
            table[setting][name] = {"result": result, "wall_s": seconds}
            if log is not None:
                log(setting, name, result, seconds)
    finally:
        compiler.shutdown(cancel_futures=True)  # on an error, compile nothing more
    return table
