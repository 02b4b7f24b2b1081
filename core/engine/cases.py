"""Cases: the contacts that share a ``case_id``, summarised per case and mergeable by key.

A pass over contacts keeps, per case, its first arrival, the next arrival after it, its
last arrival, the first contact's resolution, its last resolution, its number of contacts
and the group (dimension keys and interval) of its first contact. States of other rows
(chunks, workers, Dask) merge by case id, so a case whose contacts fall in different
chunks is one case; finishing turns the cases into the columns of
:data:`~kpiforge.io.schemas.CASE_COLUMNS` and accumulates the ``per="case"`` measures over
them, by the group of each case's first contact, exactly (the state holds every case).
A contact without a case id is a case of its own.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence

import attrs
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from kpiforge.engine.grouping import Groups
from kpiforge.io.categorical import Categorical
from kpiforge.io.tables import Table

#: The contacts column naming each row's case.
CASE_ID = "case_id"


@attrs.frozen(eq=False)
class CaseState:
    """Per case (one entry each, in no particular order): its id (null for a contact
    without one), the group of its first contact, its first, second and last arrival
    (second: inf with one contact), the first contact's and the last resolution (NaN: none)
    and its contacts."""

    ids: pa.Array
    group: np.ndarray
    first: np.ndarray
    second: np.ndarray
    last: np.ndarray
    first_resolved: np.ndarray
    resolved: np.ndarray
    contacts: np.ndarray

    def __len__(self) -> int:
        return len(self.group)


def case_state(table: Table, groups: Groups, ids: pa.ChunkedArray | None = None
               ) -> CaseState:
    """The cases of ``table``'s rows, each row in its group of ``groups``; their ids are
    ``ids`` (the Arrow column as read, encoded here in C++) or else the table's
    ``case_id`` column."""
    if ids is None:
        column = table.columns[CASE_ID]
        assert isinstance(column, Categorical), "an ID column of the schema is text"
        codes, labels = column.codes, pa.array(column.labels, pa.string())
    else:
        encoded = pc.dictionary_encode(_normalised(ids))
        codes = pc.fill_null(encoded.indices, -1).to_numpy(zero_copy_only=False)
        labels = encoded.dictionary
    rows = len(table)
    arrived, resolved = table.time, table.numbers("resolved_s")
    group = np.zeros(rows, np.intp) if groups.codes is None else groups.codes
    keys, count = _dense_keys(codes.astype(np.int64), len(labels))

    def case_ids(rows: np.ndarray) -> pa.Array:
        return labels.take(pa.array(codes[rows], mask=codes[rows] < 0))

    return _combine(keys, count, case_ids, group, arrived, np.full(rows, np.inf), arrived,
                    resolved, resolved, np.ones(rows))


def _normalised(ids: pa.ChunkedArray) -> pa.Array:
    """Case ids as the tables read an ID column: integers as they are, anything else as
    text, where an empty text or a NaN is no id."""
    array = ids.combine_chunks()
    if pa.types.is_dictionary(array.type):
        array = array.cast(array.type.value_type)
    if pa.types.is_integer(array.type):
        return array.cast(pa.int64())
    if pa.types.is_floating(array.type):
        array = pc.if_else(pc.is_nan(array), None, array)
    text = array.cast(pa.string())
    return pc.if_else(pc.equal(text, ""), None, text)


def merge_cases(parts: Sequence[tuple[CaseState, np.ndarray]]) -> CaseState:
    """One state from states whose groups map into a merged key space by index; entries
    with the same id become one case."""
    arrays = [part.ids for part, _ in parts]
    if len({array.type for array in arrays}) > 1:  # integers in one piece, text in another
        arrays = [array.cast(pa.string()) for array in arrays]
    ids = pa.concat_arrays(arrays)
    encoded = pc.dictionary_encode(ids)
    keys, count = _dense_keys(pc.fill_null(encoded.indices, -1).to_numpy(
        zero_copy_only=False).astype(np.int64), len(encoded.dictionary))

    def joined(name: str) -> np.ndarray:
        return np.concatenate([getattr(part, name) for part, _ in parts])

    return _combine(keys, count, lambda rows: ids.take(pa.array(rows)),
                    np.concatenate([index[part.group] for part, index in parts]),
                    joined("first"), joined("second"), joined("last"),
                    joined("first_resolved"), joined("resolved"), joined("contacts"))


def _dense_keys(codes: np.ndarray, labels: int) -> tuple[np.ndarray, int]:
    """Keys 0..n-1 from codes into ``labels`` labels, an entry without one (-1) a key of
    its own; and n."""
    missing = codes < 0
    keys = codes.copy()
    keys[missing] = labels + np.arange(np.count_nonzero(missing))
    used = np.zeros(labels + np.count_nonzero(missing), bool)
    used[keys] = True
    if used.all():
        return keys, len(used)
    dense = np.cumsum(used) - 1
    return dense[keys], int(dense[-1]) + 1


def _combine(keys: np.ndarray, count: int, ids: Callable[[np.ndarray], pa.Array],
             group: np.ndarray, first: np.ndarray, second: np.ndarray, last: np.ndarray,
             first_resolved: np.ndarray, resolved: np.ndarray, contacts: np.ndarray
             ) -> CaseState:
    """Entries (a contact, or a case of some rows) with equal ``keys`` (0..count-1, each
    used) combined into one case; ``ids`` gives the ids of entries by position. The first
    contact is the earliest arrival, the lower group on a tie (so that every split of the
    rows agrees). Scatters (``ufunc.at``, ``bincount``), no sort."""
    earliest = np.full(count, np.inf)
    np.minimum.at(earliest, keys, first)
    ties = first == earliest[keys]
    lowest = np.full(count, np.iinfo(np.intp).max)
    np.minimum.at(lowest, keys[ties], group[ties])
    chosen = np.full(count, len(keys))
    candidates = np.flatnonzero(ties & (group == lowest[keys]))
    np.minimum.at(chosen, keys[candidates], candidates)
    # The second arrival: the chosen entry's second, or another entry's first.
    others = first.copy()
    others[chosen] = second[chosen]
    second_out = np.full(count, np.inf)
    np.minimum.at(second_out, keys, others)
    last_out = np.full(count, -np.inf)
    np.maximum.at(last_out, keys, last)
    resolved_out = np.full(count, np.nan)
    np.fmax.at(resolved_out, keys, resolved)
    return CaseState(ids=ids(chosen), group=group[chosen], first=first[chosen],
                     second=second_out, last=last_out,
                     first_resolved=first_resolved[chosen], resolved=resolved_out,
                     contacts=np.bincount(keys, contacts, minlength=count))


def case_table(state: CaseState, source: str, epoch: dt.datetime, tz: str | None) -> Table:
    """The cases of ``state`` as a table of :data:`~kpiforge.io.schemas.CASE_COLUMNS`,
    one row per case, for ``per="case"`` measures to read; times count from ``epoch`` in
    zone ``tz``, as the contacts' do. A case is resolved when its last resolution is not
    before its last arrival (a contact after it reopened the case)."""
    with np.errstate(invalid="ignore"):
        closed = state.resolved >= state.last
    return Table(name="contacts", source=f"{source} (cases)", columns={
        "arrived_s": state.first,
        "repeat_s": np.where(np.isinf(state.second), np.nan, state.second),
        "resolved_s": np.where(closed, state.resolved, np.nan),
        "first_resolved_s": state.first_resolved,
        "contacts": state.contacts}, epoch=epoch, tz=tz)
