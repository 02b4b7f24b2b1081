"""Time grains: which interval each timestamp falls in, vectorised.

Times are float seconds from a table's epoch. Without a time zone, fixed grains (15min ...
1d) align to the epoch's midnight; ``1w`` starts on Monday; ``1mo`` follows the calendar.
In a time zone, days, weeks (from Monday) and months are the zone's calendar, DST included
(a day is 23 or 25 hours long on the changes), and grains under a day are intervals of
their length aligned to the zone's local hour, so the repeated autumn hour is two intervals.
The calendar keys (hour of the day, day of the week) pool intervals across days, read on the
same clock.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from kpiforge.errors import KpiforgeError, did_you_mean
from kpiforge.io.timestamps import DEFAULT_EPOCH, local_instants

DAY_S = 86_400
_FIXED_S = {"15min": 900, "30min": 1800, "1h": 3600, "1d": DAY_S}
GRAINS = (*_FIXED_S, "1w", "1mo")
#: Dimensions of every table computed from its time column, pooling the same hour of the day
#: (0-23) or day of the week (0 Monday - 6 Sunday) across days and weeks.
CALENDAR_KEYS = ("hour_of_day", "weekday")


def check_grain(grain: str) -> str:
    """Return ``grain`` or raise :class:`KpiforgeError` naming the valid grains."""
    if grain not in GRAINS:
        raise KpiforgeError(
            f"unknown grain {grain!r}{did_you_mean(grain, GRAINS)}; use one of {', '.join(GRAINS)}"
        )
    return grain


def _midnight_offset(epoch: dt.datetime) -> int:
    return epoch.hour * 3600 + epoch.minute * 60 + epoch.second


def _epoch_day(epoch: dt.datetime) -> np.datetime64:
    return np.datetime64(epoch.date(), "D")


def fixed_intervals(grain: str, epoch: dt.datetime, tz: str | None = None
                    ) -> tuple[float, float] | None:
    """For a grain of fixed length: the offset and the length in seconds that number its
    intervals, ``floor((seconds + offset) / length)``; None for weeks and months and in a
    time zone."""
    if grain not in _FIXED_S or tz is not None:
        return None
    return float(_midnight_offset(epoch)), float(_FIXED_S[grain])


def interval_numbers(seconds: np.ndarray, grain: str, epoch: dt.datetime,
                     tz: str | None = None) -> np.ndarray:
    """The interval each time falls in, as an int64 count of grains (comparable, dense);
    in ``tz``'s calendar when given."""
    if tz is not None:
        return _zone_numbers(np.asarray(seconds, dtype=np.float64) + _unix(epoch), grain, tz)
    fixed = fixed_intervals(grain, epoch)
    if fixed is not None:
        offset, length = fixed
        return np.floor((np.asarray(seconds, dtype=np.float64) + offset) / length
                        ).astype(np.int64)
    since_midnight = np.asarray(seconds, dtype=np.float64) + _midnight_offset(epoch)
    days = np.floor(since_midnight / DAY_S).astype(np.int64)
    if grain == "1w":
        return (days + epoch.weekday()) // 7
    if not len(days):
        return days
    first, last = int(days.min()), int(days.max())
    month_of_day = (_epoch_day(epoch) + np.arange(first, last + 1)).astype("datetime64[M]")
    return month_of_day.astype(np.int64)[days - first]


def interval_bounds(numbers: np.ndarray, grain: str, epoch: dt.datetime,
                    tz: str | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Start (seconds from epoch) and length in seconds of each interval number (of
    :func:`interval_numbers` with the same ``tz``)."""
    numbers = np.asarray(numbers, dtype=np.int64)
    if tz is not None:
        start, end = _zone_bounds(numbers, grain, tz)
        return start - _unix(epoch), end - start
    offset = _midnight_offset(epoch)
    if grain in _FIXED_S:
        size = _FIXED_S[grain]
        return (numbers * size - offset).astype(np.float64), np.full(len(numbers), float(size))
    if grain == "1w":
        start_day = numbers * 7 - epoch.weekday()
        return (start_day * DAY_S - offset).astype(np.float64), np.full(len(numbers), 7.0 * DAY_S)
    month = numbers.astype("datetime64[M]")
    start_day = (month.astype("datetime64[D]") - _epoch_day(epoch)).astype(np.int64)
    end_day = ((month + 1).astype("datetime64[D]") - _epoch_day(epoch)).astype(np.int64)
    return ((start_day * DAY_S - offset).astype(np.float64),
            ((end_day - start_day) * DAY_S).astype(np.float64))


def calendar_keys(seconds: np.ndarray, name: str, epoch: dt.datetime,
                  tz: str | None = None) -> np.ndarray:
    """Each time's hour of the day (0-23) or day of the week (0 Monday - 6 Sunday), from the
    same interval numbers as the ``1h`` and ``1d`` grains, so both read the clock alike (in
    ``tz``: its local hour and weekday)."""
    if tz is not None:
        instants = np.asarray(seconds, dtype=np.float64) + _unix(epoch)
        local = instants + utc_offsets(instants, tz)
        if name == "hour_of_day":
            return np.floor(local / 3600).astype(np.int64) % 24
        return (np.floor(local / DAY_S).astype(np.int64) + _MONDAY) % 7
    if name == "hour_of_day":
        return interval_numbers(seconds, "1h", epoch) % 24
    return (interval_numbers(seconds, "1d", epoch) + epoch.weekday()) % 7


#: Zone offsets are looked up per slot of this many seconds (every zone's changes since 1900
#: fall on quarter hours but a few, and a slot holding a change is looked up row by row).
_SLOT_S = 900
#: 1970-01-01 was a Thursday: day number + 3 puts Mondays on multiples of 7.
_MONDAY = 3


def _unix(epoch: dt.datetime) -> float:
    return (epoch - DEFAULT_EPOCH).total_seconds()


def utc_offsets(instants: np.ndarray, tz: str) -> np.ndarray:
    """Seconds east of UTC in ``tz`` at each instant (seconds since 1970 UTC): one lookup
    per quarter hour of the data's span, and per row only in a quarter hour that holds a
    change."""
    if not len(instants):
        return np.zeros(0)
    slots = np.floor(instants / _SLOT_S).astype(np.int64)
    low, high = int(slots.min()), int(slots.max())
    if high - low > 4 * len(instants) + 1024:
        return _exact_offsets(instants, tz)
    edges = _exact_offsets(np.arange(low, high + 2, dtype=np.float64) * _SLOT_S, tz)
    offsets = edges[slots - low]
    changing = (edges[1:] != edges[:-1])[slots - low]
    if changing.any():
        rows = np.flatnonzero(changing)
        offsets[rows] = _exact_offsets(instants[rows], tz)
    return offsets


def _exact_offsets(instants: np.ndarray, tz: str) -> np.ndarray:
    micros = np.floor(instants * 1e6).astype(np.int64)
    local = pc.local_timestamp(pa.array(micros).cast(pa.timestamp("us", tz)))
    return (pc.cast(local, pa.int64()).to_numpy(zero_copy_only=False) - micros) / 1e6


def _zone_numbers(instants: np.ndarray, grain: str, tz: str) -> np.ndarray:
    offsets = utc_offsets(instants, tz)
    if grain in _FIXED_S and grain != "1d":
        length = _FIXED_S[grain]
        return np.floor((instants + np.mod(offsets, length)) / length).astype(np.int64)
    days = np.floor((instants + offsets) / DAY_S).astype(np.int64)
    if grain == "1d":
        return days
    if grain == "1w":
        return (days + _MONDAY) // 7
    return days.astype("datetime64[D]").astype("datetime64[M]").astype(np.int64)


def _zone_bounds(numbers: np.ndarray, grain: str, tz: str) -> tuple[np.ndarray, np.ndarray]:
    """Start and end (seconds since 1970 UTC) of intervals numbered in ``tz``."""
    if grain in _FIXED_S and grain != "1d":
        length = _FIXED_S[grain]
        start = numbers * float(length)
        start -= np.mod(utc_offsets(start, tz), length)
        return start, start + length
    if grain == "1d":
        first, last = numbers, numbers + 1
    elif grain == "1w":
        first = numbers * 7 - _MONDAY
        last = first + 7
    else:
        month = numbers.astype("datetime64[M]")
        first = month.astype("datetime64[D]").astype(np.int64)
        last = (month + 1).astype("datetime64[D]").astype(np.int64)
    return _local_midnights(first, tz), _local_midnights(last, tz)


def _local_midnights(days: np.ndarray, tz: str) -> np.ndarray:
    """The instant (seconds since 1970 UTC) each local day starts in ``tz`` (where midnight
    is skipped by a change, the first instant after it)."""
    return local_instants(days.astype(np.int64) * DAY_S, tz)
