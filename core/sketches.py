"""A mergeable per-group quantile sketch with bounded relative error.

Exact quantiles need every value; a stream of chunks, or workers on a cluster, must instead
send something group-sized. This is a logarithmic-bucket sketch in the manner of DDSketch
(Masson, Rim and Lee, VLDB 2019): a value ``v > 0`` falls in bucket
``ceil(log(v) / log(gamma))`` with ``gamma = (1 + alpha) / (1 - alpha)``, and the bucket's
representative ``2 gamma**i / (gamma + 1)`` is within ``alpha`` of every value in it,
relatively. Negative values mirror positive ones; values within ``1e-9`` of zero count as
zero. Counts per (group, bucket) add exactly when sketches merge, so a merged sketch equals
the sketch of all the values.

The quantile is interpolated, as numpy's ``linear`` method does, between the estimates of
the two order statistics around it, so it too is within ``alpha`` of the exact value when
the values do not change sign there. With ``alpha = 0.005`` the error is at most 0.5 %,
and the state is at most one count per group and occupied bucket, however many rows.
"""

from __future__ import annotations

from collections.abc import Sequence

import attrs
import numpy as np

from kpiforge.grouping import Groups

RELATIVE_ACCURACY = 0.005
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

    def accumulate(self, groups: Groups, values: np.ndarray, mask: np.ndarray | None
                   ) -> tuple[np.ndarray, np.ndarray]:
        valid = ~np.isnan(values) if mask is None else mask & ~np.isnan(values)
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
        ahead = np.where(low > 0, cumulative[np.maximum(low - 1, 0)], 0) - before
        nowhere = np.iinfo(np.int64).min  # a bucket no value falls in
        pick = (lambda entries: np.where(has, code[entries], nowhere)) if len(code) else (
            lambda entries: np.full(n, nowhere))
        return Targets(has=has, position=position, ranks=(below_rank, above_rank),
                       buckets=(pick(low), pick(high)), ahead=np.where(has, ahead, 0))

    def finalize(self, state: tuple[np.ndarray, np.ndarray], n: int) -> np.ndarray:
        target = self.targets(state, n)
        low, high = (self._value(np.where(target.has, bucket, 0)) for bucket in target.buckets)
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
