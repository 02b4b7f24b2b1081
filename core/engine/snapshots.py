"""Snapshots finished: every interval of each combination of the other dimensions, and the
running count of rows open at each interval's end.

A pass accumulates a snapshot as two ordinary measures (rows opened in each interval,
placed by ``since``; rows closed in it, placed by ``until``; see ``Measure.parts``), which
merge like any other. Finishing needs what no group alone knows: the intervals in between,
where nothing happened but rows are still open, and the order of the intervals. So with a
grain the key space gets every interval from each combination's first to its last, and the
snapshot is the running sum of opened - closed along those intervals.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from kpiforge.engine.grouping import Keys, combine, factorize, take
from kpiforge.results import INTERVAL_START


def every_interval(keys: dict[str, Keys], count: int, indexes: Sequence[np.ndarray]
                   ) -> tuple[dict[str, Keys], int, list[np.ndarray], np.ndarray]:
    """The key space with every interval from each combination of the other dimensions'
    first interval to its last, in key order (combination, then interval); the count; the
    partials' indexes mapped onto it; and where each combination starts (True on its first
    interval). ``keys[INTERVAL_START]`` are interval numbers."""
    if not count:
        return keys, count, list(indexes), np.zeros(0, dtype=bool)
    numbers = np.asarray(keys[INTERVAL_START], dtype=np.int64)
    others = [name for name in keys if name != INTERVAL_START]
    groups = combine([factorize(keys[name]) for name in others], others, rows=count)
    combos = np.zeros(count, dtype=np.intp) if groups.codes is None else groups.codes
    first = np.full(groups.count, np.iinfo(np.int64).max)
    last = np.full(groups.count, np.iinfo(np.int64).min)
    np.minimum.at(first, combos, numbers)
    np.maximum.at(last, combos, numbers)
    lengths = (last - first + 1).astype(np.intp)
    offsets = np.concatenate([[0], np.cumsum(lengths)[:-1]]).astype(np.intp)
    total = int(lengths.sum())
    combo_of = np.repeat(np.arange(groups.count), lengths)
    dense = {name: take(groups.keys[name], combo_of) for name in others}
    dense[INTERVAL_START] = first[combo_of] + (np.arange(total) - offsets[combo_of])
    position = offsets[combos] + (numbers - first[combos])
    starts = np.zeros(total, dtype=bool)
    starts[offsets] = True
    return dense, total, [position[index] for index in indexes], starts


def running(net: np.ndarray, starts: np.ndarray) -> np.ndarray:
    """The running sum of ``net`` within each run of groups that begins where ``starts``
    is True (each combination's intervals, in order)."""
    total = np.cumsum(net)
    first = np.maximum.accumulate(np.where(starts, np.arange(len(net)), 0))
    return total - total[first] + net[first]
