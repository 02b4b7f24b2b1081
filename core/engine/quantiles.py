"""Per-group quantiles, exact or sketched, and every way of getting them.

Exact (in memory): the values travel in the state; :func:`order_statistics` finds the
wanted ranks per group (numpy's ``linear`` interpolation, bit for bit): compiled, by a
counting sort by group and a selection within each group; in numpy, through a per-group
histogram over uniform value buckets, keeping only the rows in the buckets that hold them,
and sorting only those.

Sketched (one pass over a stream, worker processes, Dask): a logarithmic-bucket sketch in
the manner of DDSketch (Masson, Rim and Lee, VLDB 2019). A value ``v > 0`` falls in bucket
``ceil(log(v) / log(gamma))`` with ``gamma = (1 + alpha) / (1 - alpha)``, and the bucket's
representative ``2 gamma**i / (gamma + 1)`` is within ``alpha`` of every value in it,
relatively. Negative values mirror positive ones; values within ``1e-9`` of zero count as
zero. Counts per (group, bucket) add exactly when sketches merge, so a merged sketch equals
the sketch of all the values. The quantile is interpolated between the estimates of the two
order statistics around it, so it too is within ``alpha`` of the exact value when the
values do not change sign there. With ``alpha = 0.005`` the error is at most 0.5 %.

Two passes (streaming a source that can be read again): the first pass keeps a coarse
sketch (values within a factor 1.5 share a bucket: a few entries per group); its
:meth:`QuantileSketch.targets` say which bucket holds each group's ranks; the second pass
keeps only the rows in those buckets (:func:`in_target_buckets`) and
:func:`select_from_buckets` picks the exact values.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor

import attrs
import numpy as np

from kpiforge.engine.accelerator import cores, loops
from kpiforge.engine.accumulators import Min, Part, valid_rows
from kpiforge.engine.grouping import Groups


class QuantileMode(enum.Enum):
    """How a pass produces quantile measures."""

    #: Keep the values; select exactly when finishing (in memory).
    EXACT = "exact"
    #: A mergeable sketch within :data:`RELATIVE_ACCURACY` (one pass: streams, workers, Dask).
    SKETCH = "sketch"
    #: Exact from two passes over a re-readable source: :data:`COARSE` then :data:`SELECTED`.
    TWO_PASS = "two-pass"
    #: The first of two passes: a coarse sketch locating each group's quantile.
    COARSE = "coarse"
    #: Quantiles already selected per group by the second pass; merging places them.
    SELECTED = "selected"

    @property
    def finished(self) -> QuantileMode:
        """The mode of the states a plan in this mode finishes with (two passes end with
        selected values)."""
        return QuantileMode.SELECTED if self is QuantileMode.TWO_PASS else self


RELATIVE_ACCURACY = 0.005
#: Relative width of the coarse histogram's buckets (values within a factor 1.5 share one).
COARSE_ACCURACY = 0.2
_ZERO = 1e-9
#: Bucket indexes are shifted by this much so that every magnitude >= 1e-9 has one >= 1.
_SHIFT = 1 << 20
_SPAN = 4 * _SHIFT


def lerp(low: np.ndarray, high: np.ndarray, fraction: np.ndarray) -> np.ndarray:
    """Linear interpolation as numpy's quantile does it (from the nearer end), so results
    match ``np.quantile(..., method="linear")`` to the last bit."""
    step = high - low
    with np.errstate(invalid="ignore"):
        return np.where(fraction >= 0.5, high - step * (1 - fraction), low + step * fraction)


Run = tuple[np.ndarray, np.ndarray, np.ndarray | None]
"""Values kept by an exact quantile: each row's code, its value, and the map from those codes
to the state's groups (None: the codes are the state's groups). Merging composes the maps,
one entry per group, instead of rewriting the code of every row."""


class ExactQuantile:
    """The q-quantile per group with numpy's ``linear`` method; the state keeps the values,
    as a list of :data:`Run`."""

    def __init__(self, q: float) -> None:
        self.q = q

    def accumulate(self, groups: Groups, values: np.ndarray | None,
                   mask: np.ndarray | None) -> list[Run]:
        assert values is not None, "a quantile needs values"
        valid = valid_rows(values, mask)
        codes = groups.codes
        if codes is None:
            codes = np.zeros(groups.rows, dtype=np.intp)
        if valid is None:
            return [(codes, np.asarray(values, dtype=np.float64), None)]
        return [(codes[valid], np.asarray(values[valid], dtype=np.float64), None)]

    def merge(self, parts: Sequence[Part], n: int) -> list[Run]:
        return [(codes, values, index if groups is None else index[groups])
                for state, index in parts for codes, values, groups in state]

    def finalize(self, state: list[Run], n: int) -> np.ndarray:
        counts = group_sizes(state, n)
        has = counts > 0
        position = np.where(has, (counts - 1) * self.q, 0.0)
        below = np.floor(position).astype(np.intp)
        above = np.where(has, np.minimum(below + 1, counts - 1), 0)
        low, high = order_statistics(state, counts, (below, above))
        return np.where(has, lerp(low, high, position - below), np.nan)


def group_sizes(runs: Sequence[Run], n: int) -> np.ndarray:
    """How many values each of ``n`` groups has in ``runs``."""
    sizes = np.zeros(n, dtype=np.intp)
    for codes, _, groups in runs:
        if groups is None:
            sizes += np.bincount(codes, minlength=n)
        else:
            sizes[groups] += np.bincount(codes, minlength=len(groups))
    return sizes


#: Rows at least per thread selecting from the compiled loop's grouped values.
_ROWS_PER_THREAD = 1 << 20
#: Below this many rows, or this few rows per group, order statistics come from one sort.
_SORT_ROWS = 1 << 17
_SORT_ROWS_PER_GROUP = 8
_MAX_BUCKETS = 64
#: Another histogram round pays only while it drops at least a quarter of the rows.
_KEEP_AT_MOST = 0.75


def order_statistics(runs: Sequence[Run], sizes: np.ndarray, ranks: Sequence[np.ndarray]
                     ) -> list[np.ndarray]:
    """For each array of per-group ranks, the value of that rank within each group of the
    values in ``runs`` (0 = smallest; exact); ``sizes``: each group's number of values.
    Groups without values get an arbitrary value.

    The compiled loops, where they run, put each group's values side by side (a counting
    sort: ``sizes`` say where each group starts) and select within each group, the groups
    shared out among threads. numpy finds them with :func:`_numpy_order_statistics`.
    """
    rows = int(sizes.sum())
    compiled = loops(rows)
    if compiled is None:
        codes = np.concatenate([c if g is None else g[c] for c, _, g in runs] or
                               [np.zeros(0, np.intp)])
        values = np.concatenate([v for _, v, _ in runs] or [np.zeros(0)])
        return _numpy_order_statistics(codes, values, len(sizes), ranks)
    start = np.zeros(len(sizes) + 1, dtype=np.int64)
    np.cumsum(sizes, out=start[1:])
    fill = start[:-1].copy()
    grouped = np.empty(rows)
    for codes, values, groups in runs:
        compiled.place(codes, values, groups, fill, grouped)
    wanted = np.stack(ranks)
    threads = min(cores(), max(1, rows // _ROWS_PER_THREAD))
    bounds = np.searchsorted(start, rows * np.arange(threads + 1) / threads)
    bounds[0], bounds[-1] = 0, len(sizes)
    with ThreadPoolExecutor(threads) as pool:
        parts = pool.map(lambda first, end: compiled.select(
            grouped, start[first:end + 1], wanted[:, first:end]), bounds[:-1], bounds[1:])
        return list(np.concatenate(list(parts), axis=1))


def _numpy_order_statistics(codes: np.ndarray, values: np.ndarray, groups: int,
                            ranks: Sequence[np.ndarray]) -> list[np.ndarray]:
    """:func:`order_statistics` in numpy, from each row's group code and value.

    Rather than sorting every row, a per-group histogram over uniform value buckets finds
    the buckets holding the wanted ranks; only rows in those buckets go on, with ranks
    counted from their bucket's start, to the next round (finer buckets over their narrower
    range) or, once few, to one sort.
    """
    # Buckets per group: enough to cut each group's rows finely, few enough that the
    # groups x buckets histogram stays smaller than the rows.
    buckets = int(min(_MAX_BUCKETS, len(values) // (2 * max(groups, 1))))
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
            if len(keep) < _KEEP_AT_MOST * len(values):
                skipped = np.where(first > 0, before[np.arange(groups),
                                                     np.maximum(first - 1, 0)], 0)
                return _numpy_order_statistics(codes[keep], values[keep], groups,
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


class QuantileSketch:
    """Accumulator: state is (sorted group x bucket keys as int64, int32 counts; a group's
    count in one bucket stays far below 2**31 in any chunk or merge of them)."""

    def __init__(self, q: float, alpha: float = RELATIVE_ACCURACY) -> None:
        self.q = q
        self.gamma = (1 + alpha) / (1 - alpha)
        self.log_gamma = np.log(self.gamma)

    def bucket(self, values: np.ndarray) -> np.ndarray:
        """Order-preserving bucket code: negative < 0 (zero) < positive."""
        magnitude = np.abs(values)
        with np.errstate(divide="ignore"):
            index = np.ceil(np.log(np.maximum(magnitude, _ZERO)) / self.log_gamma)
        code = index.astype(np.int64) + _SHIFT
        code = np.where(magnitude <= _ZERO, 0, code)
        return np.where(values < 0, -code, code)

    def _value(self, code: np.ndarray) -> np.ndarray:
        index = np.abs(code) - _SHIFT
        value = 2 * self.gamma ** index.astype(np.float64) / (self.gamma + 1)
        return np.where(code == 0, 0.0, np.sign(code) * value)

    def accumulate(self, groups: Groups, values: np.ndarray | None, mask: np.ndarray | None
                   ) -> tuple[np.ndarray, np.ndarray]:
        assert values is not None, "a quantile needs values"
        valid = valid_rows(values, mask)
        if valid is None:
            valid = np.ones(groups.rows, dtype=bool)
        codes = np.zeros(groups.rows, dtype=np.int64) if groups.codes is None else groups.codes
        keys = codes[valid].astype(np.int64) * _SPAN + (self.bucket(values[valid]) + 2 * _SHIFT)
        unique, counts = np.unique(keys, return_counts=True)
        return unique, counts.astype(np.int32)

    def merge(self, parts: Sequence[tuple[tuple[np.ndarray, np.ndarray], np.ndarray]],
              n: int) -> tuple[np.ndarray, np.ndarray]:
        keys = np.concatenate([state[0] for state, _ in parts])
        # Re-key groups in place: key = group x span + bucket, group -> index[group].
        offsets = np.cumsum([0] + [len(state[0]) for state, _ in parts])
        for (_, index), start, stop in zip(parts, offsets[:-1], offsets[1:], strict=True):
            part = keys[start:stop]
            group = part // _SPAN
            part -= group * _SPAN
            part += index[group] * _SPAN
        counts = np.concatenate([state[1] for state, _ in parts])
        return _sum_by_key(keys, counts)

    def targets(self, state: tuple[np.ndarray, np.ndarray], n: int) -> Targets:
        """Where each group's quantile lies: its two ranks, the buckets that hold them, and
        how many of the group's values lie below the lower bucket."""
        keys, counts = state
        group = keys // _SPAN
        code = keys % _SPAN - 2 * _SHIFT
        per_group = np.bincount(group, weights=counts, minlength=n).astype(np.int64)
        has = per_group > 0
        position = np.where(has, (per_group - 1) * self.q, 0.0)
        below_rank = np.floor(position).astype(np.int64)
        above_rank = np.where(has, np.minimum(below_rank + 1, per_group - 1), 0)
        cumulative = np.cumsum(counts, dtype=np.int64)
        before = np.cumsum(per_group) - per_group
        last = max(len(code) - 1, 0)
        low = np.minimum(np.searchsorted(cumulative, before + below_rank, side="right"), last)
        high = np.minimum(np.searchsorted(cumulative, before + above_rank, side="right"), last)
        # No value in any group (an empty sketch): every group's quantile is undefined.
        ahead = (np.where(low > 0, cumulative[np.maximum(low - 1, 0)], 0) if len(code)
                 else np.zeros(n, dtype=np.int64)) - before
        nowhere = np.iinfo(np.int64).min  # a bucket no value falls in
        pick = (lambda entries: np.where(has, code[entries], nowhere)) if len(code) else (
            lambda entries: np.full(n, nowhere))
        return Targets(has=has, position=position, ranks=(below_rank, above_rank),
                       buckets=(pick(low), pick(high)), ahead=np.where(has, ahead, 0))

    def finalize(self, state: tuple[np.ndarray, np.ndarray], n: int) -> np.ndarray:
        target = self.targets(state, n)
        low, high = (self._value(np.where(target.has, bucket, 0)) for bucket in target.buckets)
        return np.where(target.has, lerp(low, high, target.position - target.ranks[0]), np.nan)


class Selected(Min):
    """Quantiles already selected per group (after the second pass): merging places each
    group's value."""


def quantile_accumulator(q: float, mode: QuantileMode
                         ) -> ExactQuantile | QuantileSketch | Selected:
    """The accumulator producing a q-quantile as ``mode`` says."""
    if mode is QuantileMode.EXACT:
        return ExactQuantile(q)
    if mode is QuantileMode.SELECTED:
        return Selected()
    if mode is QuantileMode.TWO_PASS:
        raise ValueError("TWO_PASS is a plan of two passes: run COARSE, then SELECTED")
    return QuantileSketch(q, COARSE_ACCURACY if mode is QuantileMode.COARSE
                          else RELATIVE_ACCURACY)


def in_target_buckets(sketch: QuantileSketch, target: Targets, codes: np.ndarray,
                      values: np.ndarray) -> np.ndarray:
    """Which rows (group ``codes``, ``values``) lie in a bucket holding their group's ranks."""
    bucket = sketch.bucket(values)
    return (bucket == target.buckets[0][codes]) | (bucket == target.buckets[1][codes])


def select_from_buckets(target: Targets, codes: np.ndarray, values: np.ndarray, n: int
                        ) -> np.ndarray:
    """The exact quantile per group from the rows kept in its target buckets."""
    low, high = order_statistics([(codes, values, None)], np.bincount(codes, minlength=n),
                                 [rank - target.ahead for rank in target.ranks])
    return np.where(target.has, lerp(low, high, target.position - target.ranks[0]), np.nan)


@attrs.frozen(eq=False)
class Targets:
    """Per group: whether it has values, the fractional rank of the quantile, the two
    integer ranks around it, the buckets holding them, and the values below the lower."""

    has: np.ndarray
    position: np.ndarray
    ranks: tuple[np.ndarray, np.ndarray]
    buckets: tuple[np.ndarray, np.ndarray]
    ahead: np.ndarray


def _sum_by_key(keys: np.ndarray, counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Sorted distinct keys and their summed counts. The stable sort is a merge of the
    parts' already-sorted runs, close to linear."""
    order = np.argsort(keys, kind="stable")
    keys = keys[order]
    counts = counts[order]
    del order
    starts = np.flatnonzero(np.r_[True, keys[1:] != keys[:-1]])
    if not len(keys):
        return keys, counts
    return keys[starts], np.add.reduceat(counts, starts, dtype=np.int64).astype(np.int32)
