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

from kpiforge.categorical import Categorical

#: Dense tables up to this many cells are compacted with bincount instead of a sort.
_DENSE_LIMIT = 1 << 24


@attrs.frozen(eq=False)
class Groups:
    """Which group each of ``rows`` rows belongs to (``codes``, or None for a single group)
    and each group's key per dimension."""

    codes: np.ndarray | None
    count: int
    keys: dict[str, np.ndarray]
    rows: int


def factorize(values: np.ndarray | Categorical) -> tuple[np.ndarray, np.ndarray]:
    """Dense codes 0..k-1 per row and the k key values (None for a missing label)."""
    if isinstance(values, Categorical):
        keys = np.empty(len(values.labels) + 1, dtype=object)
        keys[1:] = values.labels
        return values.codes.astype(np.intp) + 1, keys
    values = np.asarray(values)
    if values.dtype.kind in "iu" and len(values):
        low, high = int(values.min()), int(values.max())
        if high - low <= 4 * len(values) + 1024:
            return (values - low).astype(np.intp), np.arange(low, high + 1)
    keys, codes = np.unique(values, return_inverse=True)
    return codes.astype(np.intp), keys


def factorize_keys(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Like :func:`factorize` for a (group-sized) key array that may mix None and labels."""
    if values.dtype != object:
        return factorize(values)
    encoded = pc.dictionary_encode(pa.array(values, from_pandas=True))
    codes = pc.fill_null(encoded.indices, -1).to_numpy(zero_copy_only=False)
    keys = np.empty(len(encoded.dictionary) + 1, dtype=object)
    keys[1:] = encoded.dictionary.to_pylist()
    return (codes + 1).astype(np.intp), keys


def combine(codes: Sequence[np.ndarray], key_values: Sequence[np.ndarray],
            names: Sequence[str], rows: int) -> Groups:
    """Groups from per-dimension codes: only combinations that occur, in key order."""
    if not codes:
        return Groups(codes=None, count=1, keys={}, rows=rows)
    sizes = tuple(len(k) for k in key_values)
    total = int(np.prod(sizes, dtype=object))
    if total >= np.iinfo(np.int64).max:
        return _combine_large(codes, key_values, names)
    flat = np.ravel_multi_index(tuple(codes), sizes) if len(codes) > 1 else codes[0]
    if total <= max(_DENSE_LIMIT, 4 * len(flat)):
        present = np.bincount(flat, minlength=total) > 0
        dense = np.cumsum(present, dtype=np.intp) - 1
        row_codes, occurring = dense[flat], np.flatnonzero(present)
    else:
        occurring, row_codes = np.unique(flat, return_inverse=True)
    parts = np.unravel_index(occurring, sizes)
    keys = {n: k[p] for n, k, p in zip(names, key_values, parts, strict=True)}
    return Groups(codes=row_codes.astype(np.intp, copy=False), count=len(occurring), keys=keys,
                  rows=rows)


def _combine_large(codes: Sequence[np.ndarray], key_values: Sequence[np.ndarray],
                   names: Sequence[str]) -> Groups:
    stacked = np.stack(codes, axis=1)
    occurring, row_codes = np.unique(stacked, axis=0, return_inverse=True)
    keys = {n: k[occurring[:, i]] for i, (n, k) in enumerate(zip(names, key_values, strict=True))}
    return Groups(codes=row_codes.ravel().astype(np.intp), count=len(occurring), keys=keys,
                  rows=len(row_codes))


def sort_order(keys: dict[str, np.ndarray]) -> np.ndarray:
    """Row order sorting groups by their keys (missing keys first)."""
    ranks = []
    for values in keys.values():
        if values.dtype == object:
            labels = sorted({v for v in values if v is not None}, key=str)
            rank = {label: i for i, label in enumerate(labels)}
            ranks.append(np.array([-1 if v is None else rank[v] for v in values]))
        else:
            ranks.append(np.argsort(np.argsort(values, kind="stable"), kind="stable"))
    if not ranks:
        return np.arange(1)
    return np.lexsort(tuple(reversed(ranks)))
