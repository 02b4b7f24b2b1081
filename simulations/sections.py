"""Reading a scenario's TOML: tables whose every key is checked, and converters that say
what they expect, so that an error names the file and the key and what to write instead."""

from __future__ import annotations

import datetime as dt
import math
import sys
from collections.abc import Callable, Iterable, Mapping
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from kpiforge.errors import KpiforgeError, did_you_mean
from kpiforge.simulations.distributions import Distribution

DAY_S = 86_400
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
PROFILE_LENGTHS = (24, 48, 96)
#: Opening hours of a day: (open, close) pairs in seconds from midnight.
Hours = tuple[tuple[float, float], ...]
ALL_DAY: Hours = ((0.0, float(DAY_S)),)

# Bounds of keys with no natural one (the planner's guide lists them). What a run costs in
# contacts and agent intervals is estimated before it starts (``size.py``); these bound what
# that estimate does not see.
#: Days of a run, and of its warm-up, warm-down and any event: ten years.
MAX_DAYS = 3660
#: Any duration (handling, patience, delays, targets): as long as the longest run.
MAX_DURATION_S = MAX_DAYS * DAY_S
#: Coefficient of variation of a duration.
MAX_CV = 100
#: Chats an agent holds at once, and how much each extra one slows them.
MAX_CONCURRENCY = 10
MAX_STRETCH = 10
#: Satisfaction penalties and noise, in points of the 1-5 score: beyond the whole scale.
MAX_POINTS = 10
#: The customer base.
MAX_CUSTOMERS = 10**9
#: Seeds are TOML integers: 64-bit.
MAX_SEED = 2**63 - 1
#: Integers beyond the largest float are numbers no key can use.
MAX_FLOAT = sys.float_info.max

#: Named intraday shapes, hourly from midnight (relative; normalised to the day's volume).
INTRADAY = {
    "flat": (1.0,) * 24,
    "office": (0, 0, 0, 0, 0, 0, 0.1, 0.4, 1.2, 2.0, 2.2, 2.0, 1.4, 1.7, 2.0, 1.8, 1.5, 1.1,
               0.5, 0.1, 0, 0, 0, 0),
    "extended": (0.05, 0.02, 0.01, 0.01, 0.02, 0.05, 0.2, 0.6, 1.3, 1.8, 1.9, 1.8, 1.5, 1.6,
                 1.7, 1.6, 1.4, 1.2, 1.0, 0.9, 0.7, 0.5, 0.3, 0.1),
    "evening": (0.1, 0.05, 0.02, 0.02, 0.02, 0.05, 0.1, 0.3, 0.6, 0.8, 0.9, 1.0, 1.1, 1.0,
                1.0, 1.1, 1.2, 1.4, 1.7, 2.0, 2.1, 1.8, 1.2, 0.5),
    "weekend": (0, 0, 0, 0, 0, 0, 0, 0, 0, 0.6, 1.6, 1.8, 1.7, 1.6, 1.4, 1.0, 0.5, 0, 0, 0, 0,
                0, 0, 0),
}


class ScenarioError(KpiforgeError):
    """A scenario that cannot be run, with the file and key at fault."""


_REQUIRED = object()


class Section:
    """A TOML table being read: every key taken is checked, leftovers are unknown keys."""

    def __init__(self, data: Any, path: str, source: str) -> None:
        self.path, self.source = path, source
        if not isinstance(data, Mapping):
            self.fail(f"must be a table, got {data!r}")
        self.data = dict(data)
        self.known: list[str] = []

    def where(self, key: Any = None) -> str:
        return ".".join(str(p) for p in (self.path, key) if p is not None and p != "")

    def fail(self, message: str, key: str | None = None) -> None:
        raise ScenarioError(f"{self.source}: {self.where(key) or 'top level'}: {message}")

    def take(self, key: str, convert: Callable[[Any], Any], default: Any = _REQUIRED) -> Any:
        self.known.append(key)
        if key not in self.data:
            if default is _REQUIRED:
                typo = did_you_mean(key, map(str, self.data)).replace("did you mean",
                                                                       "found")
                self.fail(f"is required{typo}", key)
            return default
        try:
            return convert(self.data.pop(key))
        except ScenarioError:
            raise
        except (ValueError, TypeError) as exc:
            self.fail(str(exc), key)

    def section(self, key: str, default: Any = _REQUIRED) -> Section:
        return Section(self.take(key, lambda v: v, default), self.where(key), self.source)

    def items(self, key: str) -> list[Section]:
        """The tables of the array ``key`` (``[[key]]``), each named by its position."""
        return [Section(item, f"{self.where(key)}[{i}]", self.source)
                for i, item in enumerate(self.take(key, _list, []))]

    def done(self) -> None:
        for key in self.data:
            self.fail(f"unknown key {key!r}{did_you_mean(str(key), self.known)}; known keys: "
                      f"{', '.join(self.known)}")


def required(section: Section, key: str, convert: Callable[[Any], Any], needed: bool,
             default: Any) -> Any:
    """``section.take`` with a default only where the key is not ``needed``."""
    return section.take(key, convert, _REQUIRED if needed else default)


def _list(value: Any) -> list[Any]:
    if not isinstance(value, list):
        raise ValueError(f"must be a list, got {value!r}")
    return value


def number(low: float | None = None, high: float | None = None, integer: bool = False,
           above: bool = False) -> Callable[[Any], float]:
    """A converter to a finite number within ``[low, high]`` (``above``: greater than
    ``low``), a whole one if ``integer``: ``nan``, ``inf`` and numbers beyond a float are
    rejected here, for every key that takes a number."""
    def convert(value: Any) -> float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ValueError(f"must be a number, got {value!r}")
        finite = abs(value) <= MAX_FLOAT if isinstance(value, int) else math.isfinite(value)
        if not finite:
            raise ValueError(f"must be a finite number, got {value!r}")
        if integer and value != int(value):
            raise ValueError(f"must be a whole number, got {value!r}")
        if low is not None and (value <= low if above else value < low):
            raise ValueError(f"must be {'>' if above else '>='} {low:g}, got {value!r}")
        if high is not None and value > high:
            shown = f"{high:,}" if isinstance(high, int) else f"{high:,g}"
            raise ValueError(f"must be <= {shown}, got {value!r}")
        return int(value) if integer else float(value)

    return convert


def text(value: Any) -> str:
    if not isinstance(value, str) or not value:
        raise ValueError(f"must be a non-empty string, got {value!r}")
    return value


def zone_name(value: Any) -> str:
    """An IANA time zone name (``Asia/Tokyo``)."""
    try:
        ZoneInfo(text(value))
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"must be an IANA time zone such as 'Asia/Tokyo' or "
                         f"'Europe/Berlin', got {value!r}") from None
    return str(value)


def date(value: Any) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError:
        raise ValueError(f"must be a date like 2026-11-16, got {value!r}") from None


def clock_seconds(value: Any) -> float:
    try:
        hours, minutes = str(value).strip().split(":")
        h, m = int(hours), int(minutes)
    except ValueError:
        raise ValueError(f"must be a time like \"08:30\", got {value!r}") from None
    if not (0 <= h <= 24 and 0 <= m < 60) or (h == 24 and m):
        raise ValueError(f"{value!r} is not a time of day (00:00 to 24:00)")
    return float(h * 3600 + m * 60)


def clock(seconds: float) -> str:
    """``HH:MM`` of a time of day (``24:00`` for the end of the day)."""
    seconds = round(seconds)
    if seconds == DAY_S:
        return "24:00"
    seconds %= DAY_S
    return f"{seconds // 3600:02d}:{seconds % 3600 // 60:02d}"


def hours(value: Any) -> Hours:
    """Opening hours: ``"08:00-20:00"``, several ranges ``"08:00-12:00, 13:00-17:00"``, or
    ``"closed"``."""
    if not isinstance(value, str):
        raise ValueError(f"must be opening hours like \"08:00-20:00\" or \"closed\", got "
                         f"{value!r}")
    if value.strip() == "closed":
        return ()
    ranges: list[tuple[float, float]] = []
    for part in value.split(","):
        start, sep, end = part.partition("-")
        if not sep:
            raise ValueError(f"{part.strip()!r} is not a range like \"08:00-20:00\"")
        opens, closes = clock_seconds(start), clock_seconds(end)
        if closes <= opens:
            raise ValueError(f"{part.strip()!r} closes before it opens; a range ends by "
                             "24:00 (give a night as two ranges on two days)")
        if ranges and opens < ranges[-1][1]:
            raise ValueError(f"{part.strip()!r} overlaps or precedes the range before it")
        ranges.append((opens, closes))
    return tuple(ranges)


def hours_text(ranges: Hours) -> str:
    return ", ".join(f"{clock(a)}-{clock(b)}" for a, b in ranges) if ranges else "closed"


def weekday_hours(value: Any) -> tuple[Hours, ...]:
    """Opening hours for every weekday: one value for all, or ``{ sat = ..., sun = ... }``
    (weekdays not named are open all day)."""
    if isinstance(value, Mapping):
        by_day = by_weekday(hours)(value)
        return tuple(by_day.get(day, ALL_DAY) for day in WEEKDAYS)
    return (hours(value),) * 7


def by_weekday(convert: Callable[[Any], Any]) -> Callable[[Any], dict[str, Any]]:
    """A table keyed by weekday (``mon`` ... ``sun``), each value converted."""
    def table(value: Any) -> dict[str, Any]:
        if not isinstance(value, Mapping):
            raise ValueError(f"must be a table of weekday = value, e.g. {{ sat = ... }}, got "
                             f"{value!r}")
        out = {}
        for day, item in value.items():
            if day not in WEEKDAYS:
                raise ValueError(f"unknown weekday {day!r}{did_you_mean(str(day), WEEKDAYS)}; "
                                 f"use {', '.join(WEEKDAYS)}")
            try:
                out[day] = convert(item)
            except ValueError as exc:
                raise ValueError(f"{day}: {exc}") from None
        return {day: out[day] for day in WEEKDAYS if day in out}

    return table


def profile(length: int | tuple[int, ...], normalise: str) -> Callable[[Any], tuple]:
    lengths = (length,) if isinstance(length, int) else length

    def convert(value: Any) -> tuple[float, ...]:
        if isinstance(value, str):
            if normalise != "shape" or value not in INTRADAY:
                known = ", ".join(INTRADAY) if normalise == "shape" else "a list"
                raise ValueError(f"unknown profile {value!r}{did_you_mean(value, INTRADAY)}; "
                                 f"use {known} or a list of multipliers")
            value = INTRADAY[value]
        if not isinstance(value, list | tuple) or len(value) not in lengths:
            raise ValueError(f"must be a list of {' or '.join(map(str, lengths))} "
                             f"multipliers, got {value!r}")
        return normalised([number(0)(v) for v in value], normalise == "mean")

    return convert


shape = profile(PROFILE_LENGTHS, "shape")


def normalised(values: list[float], mean: bool = False) -> tuple[float, ...]:
    """``values`` (each >= 0) scaled to sum 1, or to mean 1; scaled by the largest first,
    so that no sum overflows and the smallest shares survive."""
    largest = max(values, default=0.0)
    if not largest > 0:
        raise ValueError("must have at least one multiplier > 0")
    scaled = [v / largest for v in values]
    total = math.fsum(scaled) / (len(scaled) if mean else 1)
    return tuple(v / total for v in scaled)


def distribution(value: Any) -> Distribution:
    """A duration: seconds, or a table ``{ dist, mean, cv, values }`` whose numbers are
    checked like every other (finite, within their range)."""
    seconds = number(0, MAX_DURATION_S)
    if not isinstance(value, Mapping):
        if isinstance(value, int | float) and not isinstance(value, bool):
            return Distribution.fixed(seconds(value))
        raise ValueError(f"must be seconds or a table like {{ dist = \"exponential\", "
                         f"mean = 180 }}, got {value!r}")
    unknown = set(value) - {"dist", "mean", "cv", "values"}
    if unknown:
        raise ValueError(f"unknown key {sorted(unknown)[0]!r}; a distribution takes dist, "
                         "mean, cv, values")
    checks: dict[str, Callable[[Any], Any]] = {
        "mean": number(0, MAX_DURATION_S, above=True), "cv": number(0, MAX_CV, above=True),
        "values": lambda v: [seconds(x) for x in _list(v)]}
    fields = {}
    for key, item in value.items():
        try:
            fields[key] = checks.get(key, lambda v: v)(item)
        except ValueError as exc:
            raise ValueError(f"{key} {exc}") from None
    return Distribution(**fields)


def names(choices: Iterable[str]) -> Callable[[Any], tuple[str, ...]]:
    allowed = tuple(choices)

    def convert(value: Any) -> tuple[str, ...]:
        for name in _list(value):
            if name not in allowed:
                raise ValueError(f"unknown name {name!r}{did_you_mean(str(name), allowed)}; "
                                 f"use {', '.join(allowed)}")
        return tuple(value)

    return convert


def agents_per_day(value: Any) -> tuple[int, ...]:
    """A head count, or 7 head counts (Monday first)."""
    if isinstance(value, list):
        if len(value) != 7:
            raise ValueError(f"must be one number or 7 (Monday first), got {len(value)}")
        return tuple(int(number(0, integer=True)(v)) for v in value)
    return (int(number(0, integer=True)(value)),) * 7
