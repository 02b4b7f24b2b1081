"""Mergeable per-group accumulators: count, sum, min, max and distinct count (quantiles:
``quantiles.py``).

An accumulator turns rows (group codes, values, a filter mask) into a *state* sized by the
number of groups, merges states computed over other rows (chunks, processes, workers) after
mapping their groups onto a common key space, and finalises a state into one float per
group. Merging is exact: a sum of partial sums is the sum.

When every row is in one group (``groups.codes`` is None) the scatter is skipped.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from kpiforge.engine.grouping import Groups, marks_cells
from kpiforge.io.categorical import Categorical

Part = tuple[Any, np.ndarray]
"""A state and, for each of its groups, the group it maps to in the merged key space."""


class Accumulator(Protocol):
    """What the engine asks of every aggregation."""

    def accumulate(self, groups: Groups, values: np.ndarray | None,
                   mask: np.ndarray | None) -> Any:
        """The state of the rows of ``groups``: ``values`` (None for a plain count) where
        ``mask`` (None: every row) holds."""

    def merge(self, parts: Sequence[Part], n: int) -> Any:
        """One state over ``n`` groups from states whose groups map there by index."""

    def finalize(self, state: Any, n: int) -> np.ndarray:
        """One float per group (NaN where undefined)."""


def valid_rows(values: np.ndarray | None, mask: np.ndarray | None) -> np.ndarray | None:
    """Rows that count: passing the filter and with a present value (None: all rows)."""
    if values is None or values.dtype.kind in "iub":
        return mask
    present = ~np.isnan(values)
    return present if mask is None else mask & present


class Count:
    """Rows passing the filter (and with a present value, when there is one)."""

    def accumulate(self, groups: Groups, values: np.ndarray | None,
                   mask: np.ndarray | None) -> np.ndarray:
        valid = valid_rows(values, mask)
        if groups.codes is None:
            return np.array([float(groups.rows if valid is None else np.count_nonzero(valid))])
        if valid is None:
            return np.bincount(groups.codes, minlength=groups.count).astype(np.float64)
        weights = groups.scratch()
        np.copyto(weights, valid)
        return np.bincount(groups.codes, weights=weights, minlength=groups.count)

    def merge(self, parts: Sequence[Part], n: int) -> np.ndarray:
        out = np.zeros(n)
        (first, index), *others = parts
        out[index] = first  # as 0.0 + first: a count or sum is never -0.0
        for state, index in others:
            out[index] += state
        return out

    def finalize(self, state: np.ndarray, n: int) -> np.ndarray:
        return state


class Sum(Count):
    """Sum of present values over rows passing the filter."""

    def accumulate(self, groups: Groups, values: np.ndarray | None,
                   mask: np.ndarray | None) -> np.ndarray:
        assert values is not None, "a sum needs values"
        valid = valid_rows(values, mask)
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

    reduce: np.ufunc = np.fmin

    def accumulate(self, groups: Groups, values: np.ndarray | None,
                   mask: np.ndarray | None) -> np.ndarray:
        assert values is not None, "a minimum needs values"
        valid = valid_rows(values, mask)
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

    reduce: np.ufunc = np.fmax


class Distinct:
    """Distinct present values per group, exact: the state is each group's distinct values
    as three arrays, group and value code per (group, value) pair, and the labels the codes
    index (text as labels, numbers as numbers), so chunks whose label lists differ merge.
    Merging puts the codes on one label list (only when the lists differ, through the
    distinct labels, never per pair) and drops repeated pairs, so it stays exact however
    the rows were split, and costs integer sorts."""

    def accumulate(self, groups: Groups, values: Any, mask: np.ndarray | None
                   ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        if isinstance(values, Categorical):
            keys, valid = values.codes, values.codes >= 0
            labels: np.ndarray = values.labels
        else:
            values = np.asarray(values)
            labels, keys = np.unique(values, return_inverse=True)
            valid = ~np.isnan(values) if values.dtype.kind == "f" else np.ones(len(values), bool)
        if mask is not None:
            valid &= mask
        codes = np.zeros(groups.rows, dtype=np.intp) if groups.codes is None else groups.codes
        return _pairs(codes[valid], keys[valid], labels)

    def merge(self, parts: Sequence[Part], n: int
              ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        groups = np.concatenate([index[state[0]] for state, index in parts])
        lists = [state[2] for state, _ in parts]
        if all(other is lists[0] or np.array_equal(other, lists[0]) for other in lists[1:]):
            labels = lists[0]
            keys = np.concatenate([state[1] for state, _ in parts])
        else:  # Arrow's hash tables: no sort of the labels
            union = pc.unique(pa.array(np.concatenate(lists)))
            labels = union.to_numpy(zero_copy_only=False)
            keys = np.concatenate([
                pc.index_in(pa.array(state[2]), value_set=union).to_numpy()[state[1]]
                for state, _ in parts])
        return _pairs(groups, keys, labels)

    def finalize(self, state: tuple[np.ndarray, np.ndarray, np.ndarray], n: int
                 ) -> np.ndarray:
        return np.bincount(state[0], minlength=n).astype(np.float64)


def _pairs(groups: np.ndarray, keys: np.ndarray, labels: np.ndarray
           ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The distinct (group, key) pairs of parallel ``groups`` and ``keys`` (codes into
    ``labels``), as a Distinct state."""
    size = max(len(labels), 1)
    flat = groups.astype(np.int64) * size + keys
    total = (int(groups.max()) + 1) * size if len(groups) else 0
    if marks_cells(total, len(flat)):  # a table of every pair, not a sort
        present = np.zeros(total, dtype=bool)
        present[flat] = True
        pairs = np.flatnonzero(present)
    else:
        pairs = np.unique(flat)
    return pairs // size, pairs % size, labels


#: The accumulator class of each non-quantile aggregation.
BY_AGGREGATION: dict[str, type[Count] | type[Min] | type[Distinct]] = {
    "count": Count, "sum": Sum, "min": Min, "max": Max, "distinct": Distinct}
