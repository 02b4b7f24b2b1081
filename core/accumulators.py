"""Mergeable per-group accumulators, one per aggregation.

Each accumulator turns rows (group codes, values, a filter mask) into a *state* sized by the
number of groups, merges states that were computed over other rows (chunks, processes,
workers) after mapping their groups onto a common key space, and finalises a state into one
float per group. Merging is exact: a sum of partial sums is the sum.

When every row is in one group (``groups.codes`` is None) the scatter is skipped.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from kpiforge.definitions import Measure
from kpiforge.grouping import Groups
from kpiforge.sketches import RELATIVE_ACCURACY, QuantileSketch, lerp

Part = tuple[Any, np.ndarray]
"""A state and, for each of its groups, the group it maps to in the merged key space."""


def _valid(values: np.ndarray | None, mask: np.ndarray | None) -> np.ndarray | None:
    """Rows that count: passing the filter and with a present value."""
    if values is None or values.dtype.kind in "iub":
        return mask
    present = ~np.isnan(values)
    return present if mask is None else mask & present


class Count:
    """Rows passing the filter (and with a present value, when there is one)."""

    def accumulate(self, groups: Groups, values: np.ndarray | None,
                   mask: np.ndarray | None) -> np.ndarray:
        valid = _valid(values, mask)
        if groups.codes is None:
            return np.array([float(groups.rows if valid is None else np.count_nonzero(valid))])
        if valid is None:
            return np.bincount(groups.codes, minlength=groups.count).astype(np.float64)
        weights = groups.scratch()
        np.copyto(weights, valid)
        return np.bincount(groups.codes, weights=weights, minlength=groups.count)

    def merge(self, parts: Sequence[Part], n: int) -> np.ndarray:
        out = np.zeros(n)
        for state, index in parts:
            out[index] += state
        return out

    def finalize(self, state: np.ndarray, n: int) -> np.ndarray:
        return state


class Sum(Count):
    """Sum of present values over rows passing the filter."""

    def accumulate(self, groups: Groups, values: np.ndarray,
                   mask: np.ndarray | None) -> np.ndarray:
        valid = _valid(values, mask)
        weights = values
        if valid is not None:
            weights = groups.scratch()
            np.copyto(weights, values)
            np.copyto(weights, 0.0, where=~valid)
        if groups.codes is None:
            return np.array([float(np.sum(weights, dtype=np.float64))])
        return np.bincount(groups.codes, weights=weights, minlength=groups.count)


class Min:
    """Smallest present value per group (NaN where a group has none)."""

    reduce = np.fmin

    def accumulate(self, groups: Groups, values: np.ndarray,
                   mask: np.ndarray | None) -> np.ndarray:
        valid = _valid(values, mask)
        chosen = values if valid is None else values[valid]
        if groups.codes is None:
            return np.array([self.reduce.reduce(chosen) if len(chosen) else np.nan],
                            dtype=np.float64)
        out = np.full(groups.count, np.nan)
        self.reduce.at(out, groups.codes if valid is None else groups.codes[valid], chosen)
        return out

    def merge(self, parts: Sequence[Part], n: int) -> np.ndarray:
        out = np.full(n, np.nan)
        for state, index in parts:
            out[index] = self.reduce(out[index], state)
        return out

    def finalize(self, state: np.ndarray, n: int) -> np.ndarray:
        return state


class Max(Min):
    """Largest present value per group (NaN where a group has none)."""

    reduce = np.fmax


class ExactQuantile:
    """The q-quantile per group with numpy's ``linear`` method; the state keeps the values."""

    def __init__(self, q: float) -> None:
        self.q = q

    def accumulate(self, groups: Groups, values: np.ndarray,
                   mask: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
        valid = _valid(values, mask)
        codes = groups.codes
        if codes is None:
            codes = np.zeros(groups.rows, dtype=np.intp)
        if valid is None:
            return codes, np.asarray(values, dtype=np.float64)
        return codes[valid], np.asarray(values[valid], dtype=np.float64)

    def merge(self, parts: Sequence[Part], n: int) -> tuple[np.ndarray, np.ndarray]:
        codes = np.concatenate([index[state[0]] for state, index in parts])
        values = np.concatenate([state[1] for state, _ in parts])
        return codes, values

    def finalize(self, state: tuple[np.ndarray, np.ndarray], n: int) -> np.ndarray:
        codes, values = state
        counts = np.bincount(codes, minlength=n)
        has = counts > 0
        position = np.where(has, (counts - 1) * self.q, 0.0)
        below = np.floor(position).astype(np.intp)
        above = np.where(has, np.minimum(below + 1, counts - 1), 0)
        low, high = order_statistics(codes, values, n, (below, above))
        return np.where(has, lerp(low, high, position - below), np.nan)


#: Below this many rows, or this few rows per group, order statistics come from one sort.
_SORT_ROWS = 1 << 17
_SORT_ROWS_PER_GROUP = 8
_MAX_BUCKETS = 64


def order_statistics(codes: np.ndarray, values: np.ndarray, groups: int,
                     ranks: Sequence[np.ndarray]) -> list[np.ndarray]:
    """For each array of per-group ranks, the value of that rank within each group (0 =
    smallest; exact). Groups without rows get an arbitrary value.

    Rather than sorting every row, a per-group histogram over uniform value buckets finds
    the buckets holding the wanted ranks; only rows in those buckets go on, with ranks
    counted from their bucket's start, to the next round (finer buckets over their narrower
    range) or, once few, to one sort.
    """
    # Buckets per group: enough to cut each group's rows finely, few enough that the
    # groups x buckets histogram stays smaller than the rows.
    buckets = int(min(_MAX_BUCKETS, len(values) // (2 * groups)))
    if len(values) > _SORT_ROWS and buckets >= _SORT_ROWS_PER_GROUP // 2:
        low, high = values.min(), values.max()
        if high > low:
            scale = buckets / (high - low)
            bucket = ((values - low) * scale).astype(np.intp)
            np.minimum(bucket, buckets - 1, out=bucket)
            histogram = np.bincount(codes * buckets + bucket, minlength=groups * buckets)
            before = np.cumsum(histogram.reshape(groups, buckets), axis=1)
            wanted = [(before <= rank[:, None]).sum(axis=1) for rank in ranks]
            first, last = np.minimum.reduce(wanted), np.maximum.reduce(wanted)
            keep = np.flatnonzero((bucket == first[codes]) | (bucket == last[codes]))
            if len(keep) < 0.75 * len(values):
                skipped = np.where(first > 0, before[np.arange(groups),
                                                     np.maximum(first - 1, 0)], 0)
                return order_statistics(codes[keep], values[keep], groups,
                                        [rank - skipped for rank in ranks])
    ordered = _sorted_within_groups(codes, values)
    per_group = np.bincount(codes, minlength=groups)
    start = np.cumsum(per_group) - per_group
    last_row = max(len(ordered) - 1, 0)
    if not len(ordered):
        return [np.full(groups, np.nan) for _ in ranks]
    return [ordered[np.clip(start + rank, 0, last_row)] for rank in ranks]


def _sorted_within_groups(codes: np.ndarray, values: np.ndarray) -> np.ndarray:
    """``values`` ordered by (group, value): one sort of a combined integer key, group x n
    + the value's rank, which is about twice as fast as a two-key lexsort."""
    n = len(values)
    by_value = np.argsort(values)
    rank = np.empty(n, dtype=np.int64)
    rank[by_value] = np.arange(n)
    key = codes.astype(np.int64) * n
    key += rank
    key.sort()
    return values[by_value][key % n] if n else values


#: How quantile measures are produced: exactly in memory, as a mergeable sketch (workers,
#: Dask, one-pass streams), as a coarse histogram (first pass of a two-pass stream), or
#: already resolved per group (after the second pass).
QUANTILE_MODES = ("exact", "sketch", "coarse", "resolved")
#: Relative width of the coarse histogram's buckets (values within a factor 1.5 share one).
COARSE_ACCURACY = 0.2


class Resolved(Min):
    """Quantiles already selected per group: merging places each group's value."""


def accumulator_for(measure: Measure, quantiles: str = "exact"
                    ) -> Count | Min | ExactQuantile | QuantileSketch:
    """The accumulator that computes ``measure``, quantiles as ``quantiles`` says."""
    if measure.agg == "quantile":
        if quantiles == "exact":
            return ExactQuantile(measure.q)
        if quantiles == "resolved":
            return Resolved()
        return QuantileSketch(measure.q, COARSE_ACCURACY if quantiles == "coarse"
                              else RELATIVE_ACCURACY)
    return {"count": Count, "sum": Sum, "min": Min, "max": Max}[measure.agg]()
