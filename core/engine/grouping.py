"""Group codes: one dense integer per row from any mix of dimension columns.

Each key column is factorised once (text columns already are: their codes index their
labels); the per-column codes are combined with :func:`numpy.ravel_multi_index` and
compacted to the groups that occur. No Python loop touches rows.
"""

from __future__ import annotations

from collections.abc import Sequence

import attrs
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from kpiforge.io.categorical import Categorical

#: Combined keys are compacted with a bincount over every possible combination instead of a
#: sort when there are at most this many combinations, or this many per row.
_DENSE_LIMIT, _DENSE_CELLS_PER_ROW = 1 << 24, 4
#: An integer key column spanning at most this many values per row (plus a fixed allowance)
#: is factorised by offset, as its own codes, instead of by a sort: the key table stays
#: within a small multiple of the rows.
_DENSE_SPAN_PER_ROW, _DENSE_SPAN_EXTRA = 4, 1024


@attrs.frozen(eq=False)
class Groups:
    """Which group each of ``rows`` rows belongs to (``codes``, or None for a single group)
    and each group's key per dimension."""

    codes: np.ndarray | None
    count: int
    keys: dict[str, np.ndarray]
    rows: int
    _buffers: list[np.ndarray] = attrs.field(factory=list, init=False, repr=False)

    def scratch(self) -> np.ndarray:
        """A float64 work array of one value per row, shared by the measures of a pass so
        that each does not allocate (and page in) its own."""
        if not self._buffers:
            self._buffers.append(np.empty(self.rows))
        return self._buffers[0]


@attrs.frozen(eq=False)
class Factor:
    """A key column factorised: row ``i`` is key ``keys[codes[i] + shift]``. Keeping the
    shift apart lets integer and text codes be used as they are, without a copy."""

    codes: np.ndarray
    shift: int
    keys: np.ndarray


def factorize(values: np.ndarray | Categorical) -> Factor:
    """The distinct keys of a column (None for a missing label) and each row's code."""
    if isinstance(values, Categorical):
        keys = np.empty(len(values.labels) + 1, dtype=object)
        keys[1:] = values.labels
        return Factor(values.codes, 1, keys)
    values = np.asarray(values)
    if values.dtype.kind in "iu" and len(values):
        low, high = int(values.min()), int(values.max())
        if high - low <= _DENSE_SPAN_PER_ROW * len(values) + _DENSE_SPAN_EXTRA:
            return Factor(values, -low, np.arange(low, high + 1))
    keys, codes = np.unique(values, return_inverse=True)
    return Factor(codes, 0, keys)


def factorize_keys(values: np.ndarray) -> Factor:
    """Like :func:`factorize` for a (group-sized) key array that may mix None and labels."""
    if values.dtype != object:
        return factorize(values)
    encoded = pc.dictionary_encode(pa.array(values, from_pandas=True))
    codes = pc.fill_null(encoded.indices, -1).to_numpy(zero_copy_only=False)
    keys = np.empty(len(encoded.dictionary) + 1, dtype=object)
    keys[1:] = encoded.dictionary.to_pylist()
    return Factor(codes, 1, keys)


def combine(factors: Sequence[Factor], names: Sequence[str], rows: int) -> Groups:
    """Groups from per-dimension factors: only combinations that occur, in key order. The
    combined code is built in one int64 buffer, in place."""
    if not factors:
        return Groups(codes=None, count=1, keys={}, rows=rows)
    sizes = tuple(len(f.keys) for f in factors)
    total = int(np.prod(sizes, dtype=object))
    if total >= np.iinfo(np.int64).max:
        return _combine_large(factors, names)
    flat = np.add(factors[0].codes, factors[0].shift, dtype=np.int64)
    for factor, size in zip(factors[1:], sizes[1:], strict=True):
        np.multiply(flat, size, out=flat)
        np.add(flat, factor.codes, out=flat, casting="unsafe")
        if factor.shift:
            np.add(flat, factor.shift, out=flat)
    if total <= max(_DENSE_LIMIT, _DENSE_CELLS_PER_ROW * len(flat)):
        present = np.bincount(flat, minlength=total) > 0
        dense = np.cumsum(present, dtype=np.intp) - 1
        row_codes, occurring = np.take(dense, flat), np.flatnonzero(present)
    else:
        occurring, row_codes = np.unique(flat, return_inverse=True)
    parts = np.unravel_index(occurring, sizes)
    keys = {n: f.keys[p] for n, f, p in zip(names, factors, parts, strict=True)}
    return Groups(codes=row_codes.astype(np.intp, copy=False), count=len(occurring), keys=keys,
                  rows=rows)


def _combine_large(factors: Sequence[Factor], names: Sequence[str]) -> Groups:
    stacked = np.stack([f.codes.astype(np.int64) + f.shift for f in factors], axis=1)
    occurring, row_codes = np.unique(stacked, axis=0, return_inverse=True)
    keys = {n: f.keys[occurring[:, i]] for i, (n, f) in enumerate(zip(names, factors,
                                                                        strict=True))}
    return Groups(codes=row_codes.ravel().astype(np.intp), count=len(occurring), keys=keys,
                  rows=len(row_codes))


def sort_order(keys: dict[str, np.ndarray]) -> np.ndarray:
    """Row order sorting groups by their keys (missing keys first)."""
    if not keys:
        return np.arange(1)
    table = pa.table({f"k{i}": pa.array(values, from_pandas=True)
                      for i, values in enumerate(keys.values())})
    order = pc.sort_indices(table, sort_keys=[(name, "ascending", "at_start")
                                              for name in table.column_names])
    return order.to_numpy()
