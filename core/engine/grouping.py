"""Group codes: one dense integer per row from any mix of dimension columns.

Each key column is factorised once (text columns already are: their codes index their
labels); the per-column codes are combined with :func:`numpy.ravel_multi_index` and
compacted to the groups that occur. No Python loop touches rows.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import attrs
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from kpiforge.definitions import key_text
from kpiforge.errors import KpiforgeError
from kpiforge.io.categorical import Categorical

#: Combined keys are compacted with a bincount over every possible combination instead of a
#: sort when there are at most this many combinations, or this many per row.
_DENSE_LIMIT, _DENSE_CELLS_PER_ROW = 1 << 24, 4
#: An integer key column spanning at most this many values per row (plus a fixed allowance)
#: is factorised by offset, as its own codes, instead of by a sort: the key table stays
#: within a small multiple of the rows.
_DENSE_SPAN_PER_ROW, _DENSE_SPAN_EXTRA = 4, 1024


Keys = np.ndarray | Categorical
"""The keys of a dimension, one per group: numbers, or text as codes into labels (so that
merging, sorting and joining groups never handles the strings themselves)."""


@attrs.frozen(eq=False)
class Groups:
    """Which group each of ``rows`` rows belongs to (``codes``, or None for a single group)
    and each group's key per dimension."""

    codes: np.ndarray | None
    count: int
    keys: dict[str, Keys]
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
    shift apart lets integer and text codes be used as they are, without a copy. Text keys
    are a :class:`Categorical` whose position 0 is the missing label."""

    codes: np.ndarray
    shift: int
    keys: Keys


def factorize(values: np.ndarray | Categorical) -> Factor:
    """The distinct keys of a column (text: its labels, missing first) and each row's code."""
    if isinstance(values, Categorical):
        return Factor(values.codes, 1, _every_label(values.labels))
    values = np.asarray(values)
    if values.dtype.kind in "iu" and len(values):
        low, high = int(values.min()), int(values.max())
        if high - low <= _DENSE_SPAN_PER_ROW * len(values) + _DENSE_SPAN_EXTRA:
            return Factor(values, -low, np.arange(low, high + 1))
    keys, codes = np.unique(values, return_inverse=True)
    return Factor(codes, 0, keys)


def factorize_keys(parts: Sequence[Keys], name: str) -> Factor:
    """Like :func:`factorize` for the keys of dimension ``name`` in several partials, one
    after another; text keys whose label lists differ (chunks read apart) are put on one
    list."""
    texts = [part for part in parts if isinstance(part, Categorical)]
    numbers = [part for part in parts if not isinstance(part, Categorical)]
    if texts and numbers:
        raise KpiforgeError(f"dimension {name!r} is text in one table or chunk and numbers "
                            "in another; give its columns one type")
    if numbers:
        return factorize(np.concatenate(numbers))
    first = texts[0].labels
    if all(t.labels is first or np.array_equal(t.labels, first) for t in texts[1:]):
        return Factor(np.concatenate([t.codes for t in texts]), 1, _every_label(first))
    labels = np.unique(np.concatenate([t.labels for t in texts]))  # sorted, as tables' are
    # Each partial's codes through its labels' places in the union (the last, for -1, -1).
    codes = [np.append(np.searchsorted(labels, t.labels), -1)[t.codes] for t in texts]
    return Factor(np.concatenate(codes), 1, _every_label(labels))


def _every_label(labels: np.ndarray) -> Categorical:
    """Every key of a text column by position: missing (position 0), then each label."""
    return Categorical(np.arange(-1, len(labels), dtype=np.int32), labels)


def take(keys: Keys, positions: np.ndarray) -> Keys:
    """The keys at ``positions``."""
    if isinstance(keys, Categorical):
        return Categorical(keys.codes[positions], keys.labels)
    return keys[positions]


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
    key_lists = [f.keys for f in factors]
    if marks_cells(total, rows):
        dense, count, keys = occurring_cells(np.bincount(flat, minlength=total) > 0,
                                             key_lists, names)
        return Groups(codes=np.take(dense, flat), count=count, keys=keys, rows=rows)
    occurring, row_codes = np.unique(flat, return_inverse=True)
    parts = np.unravel_index(occurring, sizes)
    keys = {n: take(k, p) for n, k, p in zip(names, key_lists, parts, strict=True)}
    return Groups(codes=row_codes.astype(np.intp, copy=False), count=len(occurring), keys=keys,
                  rows=rows)


def marks_cells(total: int, rows: int) -> bool:
    """Whether ``total`` combinations of keys are few enough for a table marking those
    that occur (else the occurring ones are found by sorting)."""
    return total <= max(_DENSE_LIMIT, _DENSE_CELLS_PER_ROW * rows)


def occurring_cells(present: np.ndarray, key_lists: Sequence[Keys], names: Sequence[str]
                    ) -> tuple[np.ndarray, int, dict[str, Keys]]:
    """The groups of the cells (flattened combinations of key positions) marked
    ``present``: each present cell's group code, the group count, and the groups' keys in
    key order."""
    dense = np.cumsum(present, dtype=np.intp) - 1
    occurring = np.flatnonzero(present)
    parts = np.unravel_index(occurring, tuple(len(k) for k in key_lists))
    keys = {n: take(k, p) for n, k, p in zip(names, key_lists, parts, strict=True)}
    return dense, len(occurring), keys


def _combine_large(factors: Sequence[Factor], names: Sequence[str]) -> Groups:
    stacked = np.stack([f.codes.astype(np.int64) + f.shift for f in factors], axis=1)
    occurring, row_codes = np.unique(stacked, axis=0, return_inverse=True)
    keys = {n: take(f.keys, occurring[:, i]) for i, (n, f) in enumerate(zip(names, factors,
                                                                            strict=True))}
    return Groups(codes=row_codes.ravel().astype(np.intp), count=len(occurring), keys=keys,
                  rows=len(row_codes))


def sort_order(keys: dict[str, Keys], orders: Mapping[str, Sequence[str]] | None = None
               ) -> np.ndarray | None:
    """Row order sorting groups by their keys (missing keys first; text by label; a
    dimension in ``orders`` by its declared order of keys, as :func:`key_text` names them,
    then the keys it does not list, sorted); None when they are in order already, as they
    usually are (text labels sorted, as dictionaries often are), which is checked in a few
    vectorised steps before sorting."""
    orders = orders or {}
    columns = [_ranked(values, orders[name]) if orders.get(name) else _sortable(values)
               for name, values in keys.items()]
    if _ascending(columns):
        return None
    table = pa.table({f"k{i}": pa.array(column, from_pandas=True)
                      for i, column in enumerate(columns)})
    order = pc.sort_indices(table, sort_keys=[(name, "ascending", "at_start")
                                              for name in table.column_names])
    return order.to_numpy().astype(np.intp)  # Arrow's are uint64, slow to index with


def _sortable(keys: Keys) -> np.ndarray:
    """Keys as numbers that sort like them: text as each label's rank, -1 where missing."""
    if not isinstance(keys, Categorical):
        return keys
    rank = np.full(len(keys.labels) + 1, -1, dtype=np.int64)  # the last for code -1
    rank[pc.sort_indices(pa.array(keys.labels)).to_numpy()] = np.arange(len(keys.labels))
    return rank[keys.codes]


def _ranked(keys: Keys, order: Sequence[str]) -> np.ndarray:
    """Keys as numbers that sort as ``order`` lists them, the keys it does not list after
    them in sorted order, missing keys (-1) first. Only the distinct keys are named."""
    if isinstance(keys, Categorical):
        distinct, codes = keys.labels, keys.codes
    else:
        distinct, codes = np.unique(keys, return_inverse=True)
    texts = [key_text(value) for value in distinct.tolist()]
    place = {key: i for i, key in enumerate(order)}
    rank = np.full(len(texts) + 1, -1, dtype=np.int64)  # the last for code -1
    unlisted = [i for i, text in enumerate(texts) if text is not None and text not in place]
    for i, text in enumerate(texts):
        if text in place:
            rank[i] = place[text]
    # np.unique's keys are sorted; text labels are ranked through Arrow's sort, as usual.
    sorted_rank = _sortable(Categorical(np.arange(len(texts), dtype=np.int32), distinct)) \
        if isinstance(keys, Categorical) else np.arange(len(texts))
    unlisted.sort(key=lambda i: sorted_rank[i])
    rank[unlisted] = len(order) + np.arange(len(unlisted))
    return rank[codes]


def _ascending(columns: Sequence[np.ndarray]) -> bool:
    """Whether the rows of ``columns`` are in ascending order, first column first (NaN
    makes it false)."""
    before = np.zeros(max(len(columns[0]) - 1, 0), dtype=bool)  # row i < row i + 1 so far
    tied = np.ones_like(before)
    for column in columns:
        before |= tied & (column[:-1] < column[1:])
        tied &= column[:-1] == column[1:]
    return bool((before | tied).all())


def decode(keys: Keys) -> np.ndarray:
    """Keys as plain values: text as labels (None where missing)."""
    if not isinstance(keys, Categorical):
        return keys
    labels = np.empty(len(keys.labels) + 1, dtype=object)  # the last, None, for code -1
    labels[:-1] = keys.labels
    return labels[keys.codes]
