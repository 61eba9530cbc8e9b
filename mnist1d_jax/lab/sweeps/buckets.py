"""Buckets: which widths of a sweep share one compiled program. Padding every member of a group
to its largest width costs compute; small models, whose steps cost their overhead rather than
their arithmetic, share a program at little loss."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from .families import OVERHEAD_WIDTH

__all__ = ["buckets", "spread"]


def buckets(widths: Sequence[int], cost: Callable, waste: float = 1.0,
            floor: float | None = None) -> list[list[int]]:
    """Groups `widths` (indices into it, largest first) so that padding every member of a group
    to its largest width costs at most `waste` times the group's own compute, counting each
    model as at least `floor` (default: the cost of width `OVERHEAD_WIDTH`, below which a step
    costs its overhead, not its arithmetic)."""
    floor = cost(OVERHEAD_WIDTH) if floor is None else floor
    order = sorted(range(len(widths)), key=lambda i: -widths[i])
    groups: list[list[int]] = []
    for i in order:
        if groups:
            group = groups[-1]
            top = max(cost(widths[group[0]]), floor)
            own = sum(max(cost(widths[j]), floor) for j in group + [i])
            if top * (len(group) + 1) <= waste * own:
                group.append(i)
                continue
        groups.append([i])
    return groups


def spread(groups: list[list[int]], workers: int) -> list[list[int]]:
    """`groups` with the largest split in halves until there are at least `workers` groups or
    every group holds one member: a CPU trains one group per core at once (`cpu.run_all`), so
    fewer groups than cores would leave cores idle (one group of six equal widths, say)."""
    groups = [list(group) for group in groups]
    while len(groups) < workers and max(map(len, groups), default=1) > 1:
        largest = max(range(len(groups)), key=lambda g: len(groups[g]))
        group = groups.pop(largest)
        half = (len(group) + 1) // 2
        groups[largest:largest] = [group[:half], group[half:]]
    return groups
