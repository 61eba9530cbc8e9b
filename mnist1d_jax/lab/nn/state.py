"""The one pair of model-state helpers: a model's parameter state (`init`) and the model applied
with a parameter state (`apply`), so that pure functions (training steps, inner loops, masks)
handle plain `nnx.State` pytrees inside `jit`, `vmap`, `scan` and `grad`; and the helpers they
share (`graphdef`, `state_with`, `count_params`, `in_blocks`)."""

from __future__ import annotations

import functools

import jax
from flax import nnx

from ...checks import check_positive_int

__all__ = ["apply", "count_params", "graphdef", "in_blocks", "init", "state_with"]


@functools.cache
def graphdef(model: type, **structure) -> nnx.GraphDef:
    """The graph definition of `model(**structure, rngs=...)`, built abstractly (no arrays) and
    kept: what `nnx.merge` needs to apply a state of that model. It depends on the structure
    only (for `FeedForward`, on the number of layers), not on the sizes' values."""
    return nnx.graphdef(nnx.eval_shape(lambda: model(**structure, rngs=nnx.Rngs(0))))


def init(model: type, key, **sizes) -> nnx.State:
    """The parameter state (`nnx.Param` leaves) of `model(**sizes, rngs=nnx.Rngs(key))`."""
    return nnx.state(model(**sizes, rngs=nnx.Rngs(key)), nnx.Param)


def apply(model: type, params: nnx.State, *args, method: str = "__call__", **kwargs):
    """`model.method(*args, **kwargs)` of the model whose parameter state is `params` (as
    `init` gives it). The graph definition is `graphdef(model)` at the constructor's defaults,
    or at `model.structure(params)` for a model whose graph depends on its sizes."""
    structure = model.structure(params) if hasattr(model, "structure") else {}
    return getattr(nnx.merge(graphdef(model, **structure), params), method)(*args, **kwargs)


def in_blocks(fn, x, rows: int = 1024):
    """`fn(x)` for a row-wise `fn` ((b, ...) -> (b, ...), each output row depending on its
    input row only), computed `rows` rows at a time (`jax.lax.map` with `batch_size`) when x has
    more: its temporaries then scale with `rows`, not with n. Evaluating a convolution on a
    50,000-example training set at once allocates (and the kernel zeroes) hundreds of MB per
    model; in blocks it reuses one block's buffers.

    x: (n, ...) -> what `fn(x)` returns, (n, ...).

    Raises:
      TypeError, ValueError: `rows` is not a positive integer.
    """
    rows = check_positive_int(rows, "rows")
    if x.shape[0] <= rows:
        return fn(x)
    return jax.lax.map(lambda row: jax.tree.map(lambda out: out[0], fn(row[None])), x,
                       batch_size=rows)


def state_with(like: nnx.State, arrays: dict) -> nnx.State:
    """A copy of the state `like` holding `arrays` instead (a nested dict of the same paths,
    as `nnx.to_pure_dict` gives): how pure functions build a state of computed arrays (masks,
    gradients) that merges with the model's graph definition."""
    state = jax.tree.map(lambda leaf: leaf, like)
    nnx.replace_by_pure_dict(state, arrays)
    return state


def count_params(model: nnx.Module) -> int:
    """The number of scalar parameters of a model."""
    return sum(p.size for p in jax.tree.leaves(nnx.state(model, nnx.Param)))
