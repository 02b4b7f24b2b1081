"""Time grains: which interval each timestamp falls in, vectorised.

Times are float seconds from a table's epoch. Fixed grains (15min ... 1d) align to the
epoch's midnight; ``1w`` starts on Monday; ``1mo`` follows the calendar. The calendar keys
(hour of the day, day of the week) pool intervals across days.
"""

from __future__ import annotations

import datetime as dt

import numpy as np

from kpiforge.errors import KpiforgeError, did_you_mean

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


def fixed_intervals(grain: str, epoch: dt.datetime) -> tuple[float, float] | None:
    """For a grain of fixed length: the offset and the length in seconds that number its
    intervals, ``floor((seconds + offset) / length)``; None for weeks and months."""
    if grain not in _FIXED_S:
        return None
    return float(_midnight_offset(epoch)), float(_FIXED_S[grain])


def interval_numbers(seconds: np.ndarray, grain: str, epoch: dt.datetime) -> np.ndarray:
    """The interval each time falls in, as an int64 count of grains (comparable, dense)."""
    fixed = fixed_intervals(grain, epoch)
    if fixed is not None:
        offset, length = fixed
        return np.floor((np.asarray(seconds, dtype=np.float64) + offset) / length
                        ).astype(np.int64)
    since_midnight = np.asarray(seconds, dtype=np.float64) + _midnight_offset(epoch)
    days = np.floor(since_midnight / DAY_S).astype(np.int64)
    if grain == "1w":
        return (days + epoch.weekday()) // 7
    first, last = int(days.min()), int(days.max())
    month_of_day = (_epoch_day(epoch) + np.arange(first, last + 1)).astype("datetime64[M]")
    return month_of_day.astype(np.int64)[days - first]


def interval_bounds(numbers: np.ndarray, grain: str, epoch: dt.datetime
                    ) -> tuple[np.ndarray, np.ndarray]:
    """Start (seconds from epoch) and length in seconds of each interval number."""
    numbers = np.asarray(numbers, dtype=np.int64)
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


def calendar_keys(seconds: np.ndarray, name: str, epoch: dt.datetime) -> np.ndarray:
    """Each time's hour of the day (0-23) or day of the week (0 Monday - 6 Sunday), from the
    same interval numbers as the ``1h`` and ``1d`` grains, so both read the clock alike."""
    if name == "hour_of_day":
        return interval_numbers(seconds, "1h", epoch) % 24
    return (interval_numbers(seconds, "1d", epoch) + epoch.weekday()) % 7
