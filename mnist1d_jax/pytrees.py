"""Frozen dataclasses split into static fields and traced leaves: one owner of the recipe that
`DatasetArgs` and the lab's training configurations share.

A split dataclass is a pytree whose leaves are the fields named `traced` (numbers that fix no
shape: scales, fractions, learning rates) and whose static metadata are the others (sizes,
counts, orders, names: what fixes a compiled program). Passed to a jitted function as an
ordinary argument, it compiles once per static part: changing a traced field does not recompile,
and each traced field may be a tracer (`jax.grad` with respect to it, `jax.vmap` over it).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any, cast

import jax

__all__ = ["register_split_dataclass", "unchecked"]


def unchecked(cls: type, fields: Mapping[str, Any]):
    """An instance of dataclass `cls` holding `fields` (every field), built without `__init__`
    or `__post_init__`: for pytree unflattening (whose leaves may be tracers or placeholders that
    no validation could read) and for re-assembling values already validated."""
    instance: Any = object.__new__(cls)
    for field in dataclasses.fields(cls):
        object.__setattr__(instance, field.name, fields[field.name])
    return instance


def register_split_dataclass(cls: type, traced: tuple[str, ...]) -> type:
    """Registers the frozen dataclass `cls` as a pytree: the fields in `traced` its leaves (with
    `GetAttrKey` paths), every other field static metadata (hashable values: part of the jit
    cache key). Unflattening uses `unchecked`. Returns `cls`.

    Raises:
      TypeError: `cls` is not a frozen dataclass. ValueError: `traced` names a field it lacks.
    """
    if not dataclasses.is_dataclass(cls) or not cast(Any, cls).__dataclass_params__.frozen:
        raise TypeError(f"{cls.__name__} must be a frozen dataclass")
    names = tuple(f.name for f in dataclasses.fields(cls))
    unknown = [name for name in traced if name not in names]
    if unknown:
        raise ValueError(f"{cls.__name__} has no field(s) {unknown}")
    static = tuple(name for name in names if name not in traced)

    def flatten_with_keys(instance):
        return (tuple((jax.tree_util.GetAttrKey(f), getattr(instance, f)) for f in traced),
                tuple(getattr(instance, f) for f in static))

    def flatten(instance):
        return (tuple(getattr(instance, f) for f in traced),
                tuple(getattr(instance, f) for f in static))

    def unflatten(meta, leaves):
        return unchecked(cls, {**dict(zip(static, meta)), **dict(zip(traced, leaves))})

    jax.tree_util.register_pytree_with_keys(cls, flatten_with_keys, unflatten,
                                            flatten_func=flatten)
    return cls
