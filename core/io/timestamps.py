"""Times as the tables hold them: float seconds from an epoch, read from numbers, ISO 8601
text and Arrow timestamps in one way on every path, and back to calendar time."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from kpiforge.errors import KpiforgeError

#: Times are seconds from this instant unless a reader says otherwise (Unix time).
DEFAULT_EPOCH = dt.datetime(1970, 1, 1)
#: Arrow/Parquet schema metadata key holding the epoch as ISO time (the simulator sets it).
EPOCH_METADATA = b"kpiforge.epoch"


def epoch_from_metadata(metadata: Mapping[bytes, bytes] | None,
                        default: dt.datetime = DEFAULT_EPOCH) -> dt.datetime:
    """The epoch recorded in schema metadata, else ``default``."""
    if metadata and EPOCH_METADATA in metadata:
        return dt.datetime.fromisoformat(metadata[EPOCH_METADATA].decode())
    return default


def with_epoch(table: pa.Table, epoch: dt.datetime) -> pa.Table:
    """``table`` with ``epoch`` recorded in its schema metadata."""
    metadata = dict(table.schema.metadata or {})
    metadata[EPOCH_METADATA] = epoch.isoformat().encode()
    return table.replace_schema_metadata(metadata)


def to_datetime64(seconds: np.ndarray, epoch: dt.datetime) -> np.ndarray:
    """Seconds from ``epoch`` as ``datetime64[us]``."""
    micros = np.round(np.asarray(seconds, dtype=np.float64) * 1e6).astype(np.int64)
    return np.datetime64(epoch, "us") + micros.astype("timedelta64[us]")


def to_iso(seconds: np.ndarray, epoch: dt.datetime, tz: str | None = None) -> list[str]:
    """Seconds from ``epoch`` as ISO 8601 strings (second resolution): naive UTC, or local
    times in ``tz`` with their offset (``2024-03-31T00:00:00+09:00``)."""
    if tz is None:
        return np.datetime_as_string(to_datetime64(seconds, epoch), unit="s").tolist()
    stamps = pa.array(to_datetime64(seconds, epoch)).cast(pa.timestamp("us", tz))
    return iso_text(stamps).to_pylist()


def iso_text(stamps: pa.Array | pa.ChunkedArray) -> pa.Array | pa.ChunkedArray:
    """Arrow timestamps as ISO 8601 text to the second; those with a zone as local times
    with the offset (``+09:00``)."""
    stamps = pc.cast(stamps, pa.timestamp("s", stamps.type.tz), safe=False)
    if stamps.type.tz is None:
        return pc.strftime(stamps, format="%Y-%m-%dT%H:%M:%S")
    text = pc.strftime(stamps, format="%Y-%m-%dT%H:%M:%S%z")
    return pc.replace_substring_regex(text, r"([+-]\d\d)(\d\d)$", r"\1:\2")


#: What a time column may hold, for messages.
ACCEPTED_TIMES = ("seconds from the epoch (a number) or an ISO 8601 time such as "
                  "2024-03-31T09:30:00, 2024-03-31 09:30 or 2024-03-31T09:30:00+09:00")
#: What a number column may hold, for messages.
ACCEPTED_NUMBERS = "a number such as 300 or 4.5 (durations in seconds, not hh:mm:ss)"
#: Times must fall within these years: outside them a value is in the wrong unit or broken.
EARLIEST, LATEST = dt.datetime(1900, 1, 1), dt.datetime(2200, 1, 1)
#: Cells that are a missing value in a time or number column (pyarrow's CSV defaults: empty,
#: NA, null, NaN...). In a text column only an empty cell is missing.
MISSING_NUMBERS = pa.array(pacsv.ConvertOptions().null_values, pa.string())
#: An ISO 8601 time that names its offset from UTC (``Z``, ``+09:00``, ``-0500``).
_OFFSET = r"(Z|z|[+-]\d\d(:?\d\d)?)$"


def epoch_instant(epoch: dt.datetime, tz: str | None) -> dt.datetime:
    """The instant ``epoch`` stands for, as a naive UTC datetime: an epoch with an offset is
    that instant, the Unix epoch is UTC, and another naive epoch (a simulated run's start) is
    a wall-clock time in ``tz`` (UTC when None)."""
    if epoch.tzinfo is None:
        if epoch == DEFAULT_EPOCH or tz is None:
            return epoch
        epoch = epoch.replace(tzinfo=zone(tz))
    return epoch.astimezone(dt.UTC).replace(tzinfo=None)


def zone(tz: str) -> ZoneInfo:
    """The IANA time zone ``tz``; an unknown name is a :class:`KpiforgeError`."""
    try:
        return ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError):
        raise KpiforgeError(f"unknown time zone {tz!r}; use an IANA name such as "
                            "'Asia/Tokyo', 'Europe/Berlin' or 'UTC'") from None


def local_instants(local: np.ndarray, tz: str) -> np.ndarray:
    """Wall-clock times in ``tz`` (whole seconds since 1970-01-01 on the local clock) as Unix
    seconds: a time the spring change skips is the first instant after it, a repeated autumn
    time the earlier one."""
    wall = pa.array(np.asarray(local).astype(np.int64)).cast(pa.timestamp("s"))
    stamps = pc.assume_timezone(wall, tz, ambiguous="earliest", nonexistent="latest")
    return pc.cast(stamps.cast(pa.timestamp("s")), pa.int64()).to_numpy(
        zero_copy_only=False).astype(np.float64)


def time_seconds(column: pa.ChunkedArray | pa.Array, name: str, epoch: dt.datetime,
                 tz: str | None, source: str, where: Callable[[int], str]) -> np.ndarray:
    """A time column as float64 seconds from ``epoch`` (a naive UTC instant), NaN where a
    value is missing: the one way every reader turns numbers, ISO 8601 text and Arrow
    timestamps into times. Naive ISO text and timestamps are wall-clock times in ``tz``
    (UTC when None); those with an offset are instants. ``where(row)`` names a row for the
    error raised by a value that is not a time, not finite, or outside 1900-2200."""
    if isinstance(column, pa.ChunkedArray):
        column = column.combine_chunks()
    if pa.types.is_dictionary(column.type):
        column = column.cast(column.type.value_type)
    kind = column.type
    if pa.types.is_string(kind) or pa.types.is_large_string(kind):
        seconds = _text_times(column, name, epoch, tz, where)
    elif pa.types.is_timestamp(kind) or pa.types.is_date(kind):
        seconds = instant_seconds(column, epoch, tz)
    elif pa.types.is_integer(kind) or pa.types.is_floating(kind):
        seconds = pc.cast(column, pa.float64()).to_numpy(zero_copy_only=False)
    elif pa.types.is_null(kind):
        seconds = np.full(len(column), np.nan)
    else:
        raise KpiforgeError(f"{source}: column {name!r} has type {kind}; "
                            f"expected times: {ACCEPTED_TIMES}")
    check_times(seconds, name, epoch, where)
    return seconds


def check_times(seconds: np.ndarray, name: str, epoch: dt.datetime,
                where: Callable[[int], str]) -> None:
    """Raise naming the first time that is not finite or falls outside 1900-2200."""
    low = (EARLIEST - epoch).total_seconds()
    high = (LATEST - epoch).total_seconds()
    with np.errstate(invalid="ignore"):
        bad = np.isinf(seconds) | (seconds < low) | (seconds >= high)
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        value = float(seconds[row])
        what = "is not a finite time" if not np.isfinite(value) else \
            "is outside the years 1900-2200 (a time in other units, or broken?)"
        raise KpiforgeError(f"{where(row)}, column {name!r}: {value:g} {what}; times are "
                            f"{ACCEPTED_TIMES}")


def _text_times(text: pa.Array, name: str, epoch: dt.datetime, tz: str | None,
                where: Callable[[int], str]) -> np.ndarray:
    text = pc.utf8_trim_whitespace(text.cast(pa.string()))
    text = pc.if_else(pc.fill_null(pc.is_in(text, MISSING_NUMBERS), True), None, text)
    try:
        return pc.cast(text, pa.float64()).to_numpy(zero_copy_only=False)
    except pa.ArrowInvalid:
        pass
    dates = pc.fill_null(pc.match_substring_regex(text, r"^\d{4}-\d\d-\d\d$"), False)
    text = pc.if_else(dates, pc.binary_join_element_wise(text, "T00:00:00", ""), text)
    offset = pc.fill_null(pc.match_substring_regex(text, _OFFSET), False)
    seconds = np.full(len(text), np.nan)
    for has_offset, kind in ((True, pa.timestamp("us", "UTC")), (False, pa.timestamp("us"))):
        rows = np.flatnonzero(offset.to_numpy(zero_copy_only=False) == has_offset)
        part = text.take(pa.array(rows))
        try:
            stamps = pc.cast(part, kind)
        except pa.ArrowInvalid:
            first = first_unparsed(part, kind)
            if first is None:
                raise KpiforgeError(f"{where(int(rows[0]))}, column {name!r}: the times mix "
                                    f"formats; use one of {ACCEPTED_TIMES}") from None
            row = rows[first]
            raise KpiforgeError(f"{where(int(row))}, column {name!r}: {text[row].as_py()!r} "
                                f"is not a time; expected {ACCEPTED_TIMES}") from None
        seconds[rows] = instant_seconds(stamps, epoch, tz)
    return seconds


def time_cells(text: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """Text cells of a time column, each read as a number or an ISO 8601 time (naive ones
    as UTC): seconds from the Unix epoch (NaN where missing or not a time), and where a
    cell is not a time. For judging rows one by one (``--on-bad-rows``); the tables read the
    kept cells with :func:`time_seconds`. Whole columns are cast at once; cell by cell only
    where such a cast fails."""
    text = pc.utf8_trim_whitespace(text.cast(pa.string()))
    text = pc.if_else(pc.fill_null(pc.is_in(text, MISSING_NUMBERS), True), None, text)
    dates = pc.fill_null(pc.match_substring_regex(text, r"^\d{4}-\d\d-\d\d$"), False)
    text = pc.if_else(dates, pc.binary_join_element_wise(text, "T00:00:00", ""), text)
    offset = pc.fill_null(pc.match_substring_regex(text, _OFFSET), False).to_numpy(
        zero_copy_only=False)
    seconds = np.full(len(text), np.nan)
    bad = np.zeros(len(text), dtype=bool)
    for rows, kind in ((np.flatnonzero(offset), pa.timestamp("us", "UTC")),
                       (np.flatnonzero(~offset), pa.timestamp("us"))):
        part = text.take(pa.array(rows, pa.int64()))
        try:
            seconds[rows] = _cell_seconds(part, kind)
            continue
        except pa.ArrowInvalid:
            pass
        for row, cell in zip(rows, part, strict=True):
            try:
                seconds[row] = _cell_seconds(pa.array([cell.as_py()], pa.string()), kind)[0]
            except pa.ArrowInvalid:
                bad[row] = True
    return seconds, bad


def _cell_seconds(text: pa.Array, kind: pa.DataType) -> np.ndarray:
    """``text`` as seconds from the Unix epoch: numbers, else times of type ``kind``;
    :class:`pyarrow.ArrowInvalid` when a cell is neither."""
    try:
        return pc.cast(text, pa.float64()).to_numpy(zero_copy_only=False)
    except pa.ArrowInvalid:
        return instant_seconds(pc.cast(text, kind), DEFAULT_EPOCH, None)


def first_unparsed(text: pa.Array, kind: pa.DataType) -> int | None:
    """The first of ``text`` that pyarrow does not cast to ``kind`` (after a whole cast
    failed: errors then name the value pyarrow rejects), or None when each casts alone."""
    for row, value in enumerate(text):
        try:
            pc.cast(pa.array([value.as_py()], pa.string()), kind)
        except pa.ArrowInvalid:
            return row
    return None


def instant_seconds(stamps: pa.Array, epoch: dt.datetime, tz: str | None) -> np.ndarray:
    """Seconds from ``epoch`` of Arrow timestamps or dates; naive ones are wall-clock times
    in ``tz`` (a time the spring-forward gap skips is the first instant after it, a repeated
    autumn time the earlier of the two)."""
    stamps = stamps.cast(pa.timestamp("us", getattr(stamps.type, "tz", None)))
    if stamps.type.tz is None and tz is not None:
        zone(tz)
        stamps = pc.assume_timezone(stamps, tz, ambiguous="earliest", nonexistent="latest")
    micros = pc.cast(stamps.cast(pa.timestamp("us")), pa.int64()).to_numpy(
        zero_copy_only=False).astype(np.float64)
    base = (epoch - DEFAULT_EPOCH) // dt.timedelta(microseconds=1)
    return (micros - base) / 1e6
