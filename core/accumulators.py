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
        return np.bincount(groups.codes, weights=valid, minlength=groups.count)

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
        weights = values if valid is None else np.where(valid, values, 0.0)
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
        order = np.lexsort((values, codes))
        ordered = values[order]
        counts = np.bincount(codes, minlength=n)
        starts = np.cumsum(counts) - counts
        position = (counts - 1) * self.q
        below = np.floor(position).astype(np.intp)
        above = np.minimum(below + 1, counts - 1)
        has = counts > 0
        out = np.full(n, np.nan)
        low = ordered[(starts + below)[has]]
        high = ordered[(starts + above)[has]]
        out[has] = low + (position[has] - below[has]) * (high - low)
        return out


def accumulator_for(measure: Measure) -> Count | Min | ExactQuantile:
    """The accumulator that computes ``measure``."""
    if measure.agg == "quantile":
        return ExactQuantile(measure.q)
    return {"count": Count, "sum": Sum, "min": Min, "max": Max}[measure.agg]()
