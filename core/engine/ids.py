"""Row ids seen by a pass (``contact_id``), mergeable, to find rows that repeat an id: each
such row would be counted as another contact.

The ids are counted on the Arrow column as it was read, before the table is converted, so
no id becomes a text label or a Python string: integer ids are sorted as they are; text
ids are hashed to 64 bits from the Arrow buffers, the hashes sorted, and only texts with
an equal hash compared as text (so the count is exact). The state keeps each distinct id
(8 bytes for an integer id; a text id's text and hash), so chunks, worker processes and
Dask merge to the exact count of repeating rows, however the rows were split.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import attrs
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from kpiforge.errors import KpiforgeError, KpiforgeWarning

#: Multiplier of the text hash (odd, so every step is a bijection of 64-bit words).
_MIX = np.uint64(0x9E3779B97F4A7C15)


@attrs.frozen(eq=False)
class IdSet:
    """The distinct present ids of some rows: integer ids as ``keys``; text ids as
    ``texts`` with a 64-bit hash of each in ``keys`` (found as repeats by sorting the
    hashes, then compared as text, so a hash collision is never a repeat); how many rows
    repeated an id, and the least repeated id, to show (None when none repeats; the same
    however the rows were split)."""

    column: str
    keys: np.ndarray
    texts: pa.Array | None
    repeats: int
    example: int | str | None = None

    def __len__(self) -> int:
        return len(self.keys)

    @classmethod
    def of(cls, column: str, values: pa.ChunkedArray | pa.Array) -> IdSet:
        """The ids of the rows ``values`` holds; an empty or missing cell is no id."""
        array = values.combine_chunks() if isinstance(values, pa.ChunkedArray) else values
        if pa.types.is_dictionary(array.type):
            array = array.cast(array.type.value_type)
        if pa.types.is_integer(array.type) and not array.null_count:
            return _distinct(column, array.to_numpy().astype(np.int64, copy=False), None, 0)
        texts = _as_text(array)
        return _distinct(column, _hashes(texts), texts, 0)

    @classmethod
    def merged(cls, sets: Sequence[IdSet]) -> IdSet:
        """The ids of all of ``sets``' rows."""
        if len(sets) == 1:
            return sets[0]
        repeats = sum(s.repeats for s in sets)
        if any(s.texts is not None for s in sets):  # text in one piece: compare as text
            parts = [s.text_parts() for s in sets]
            merged = _distinct(sets[0].column, np.concatenate([keys for keys, _ in parts]),
                               pa.concat_arrays([texts for _, texts in parts]), repeats)
        else:
            merged = _distinct(sets[0].column, np.concatenate([s.keys for s in sets]), None,
                               repeats)
        examples = [s.example for s in (*sets, merged) if s.example is not None]
        return attrs.evolve(merged, example=min(examples, key=_order) if examples else None)

    def text_parts(self) -> tuple[np.ndarray, pa.Array]:
        """Hashes and texts, as text ids have them (integer ids made text)."""
        if self.texts is not None:
            return self.keys, self.texts
        texts = pa.array(self.keys).cast(pa.string())
        return _hashes(texts), texts

    def message(self) -> str:
        """What the repeats mean, in one line."""
        return (f"{self.repeats:,} contacts rows repeat the {self.column} of another row "
                f"(such as {self.example!r}; {len(self):,} distinct ids); each is "
                "counted as another contact: remove the duplicates")


def _as_text(array: pa.Array) -> pa.Array:
    """Ids as text, the empty text missing (as the tables read text keys); NaN missing."""
    if pa.types.is_floating(array.type):
        array = pc.if_else(pc.is_nan(array), None, array)
    text = array.cast(pa.string())
    return text.filter(pc.fill_null(pc.not_equal(text, ""), False))


def _order(example: int | str) -> tuple[int, int | str]:
    """Examples in order: integer ids by value, then text ids by text."""
    return (0, example) if isinstance(example, int) else (1, example)


def _hashes(texts: pa.Array) -> np.ndarray:
    """A 64-bit hash of each text, read from the Arrow buffers 8 bytes at a time (one
    vectorised step per 8 bytes of the longest text)."""
    offsets = np.frombuffer(texts.buffers()[1], np.int32)[texts.offset:
                                                           texts.offset + len(texts) + 1]
    start = offsets[:-1].astype(np.int64)
    length = (offsets[1:] - offsets[:-1]).astype(np.int64)
    hashes = length.astype(np.uint64) * _MIX
    if not len(texts) or not length.max():
        return hashes
    raw = np.frombuffer(texts.buffers()[2], np.uint8)
    data = np.zeros(len(raw) + 8, np.uint8)
    data[:len(raw)] = raw
    # Every position's next 8 bytes as one little-endian word (overlapping views).
    words = np.ndarray(shape=(len(raw) + 1,), dtype="<u8", buffer=data, strides=(1,))
    for at in range(0, int(length.max()), 8):
        left = np.clip(length - at, 0, 8).astype(np.uint64)
        mask = np.where(left == 8, np.uint64(2**64 - 1),
                        (np.uint64(1) << (left * np.uint64(8))) - np.uint64(1))
        mixed = (hashes ^ (words[np.minimum(start + at, len(raw))] & mask)) * _MIX
        mixed ^= mixed >> np.uint64(29)
        hashes = np.where(left > 0, mixed, hashes)  # a text's hash ends with its bytes
    return hashes


def _distinct(column: str, keys: np.ndarray, texts: pa.Array | None, repeats: int
              ) -> IdSet:
    """Ids (``keys``; for text ids, the hashes of ``texts``) as an :class:`IdSet`, adding
    their repeats to ``repeats``: sorting the keys finds equal ones, which are repeats of
    an integer id, and for text ids are compared as text."""
    ordered = np.sort(keys)
    equal = ordered[1:] == ordered[:-1]
    if not equal.any():
        return IdSet(column, keys, texts, repeats)
    example: int | str
    if texts is None:
        kept = np.append(True, ~equal)
        repeated = ordered[1:][equal]
        return IdSet(column, ordered[kept], None, repeats + len(repeated), int(repeated[0]))
    # Texts whose hash occurs more than once: the first of each text stays.
    candidates = np.flatnonzero(np.isin(keys, ordered[1:][equal]))
    codes = pc.dictionary_encode(texts.take(pa.array(candidates))).indices.to_numpy()
    first = np.zeros(len(candidates), bool)
    first[np.unique(codes, return_index=True)[1]] = True
    repeated = candidates[~first]
    if not len(repeated):
        return IdSet(column, keys, texts, repeats)
    example = pc.min(texts.take(pa.array(repeated))).as_py()
    kept = np.ones(len(keys), bool)
    kept[repeated] = False
    return IdSet(column, keys[kept], texts.filter(pa.array(kept)), repeats + len(repeated),
                 example)


def check_ids(sets: Sequence[IdSet | None], strict: bool) -> None:
    """Warn (:class:`KpiforgeWarning`) when rows repeat an id, or with ``strict`` raise
    :class:`KpiforgeError`."""
    for ids in sets:
        if ids is None or not ids.repeats:
            continue
        if strict:
            raise KpiforgeError(f"{ids.message()}; strict=True (--strict) makes this an "
                                "error")
        warnings.warn(f"{ids.message()}, or pass strict=True (--strict) to make this an "
                      "error", KpiforgeWarning, stacklevel=4)
