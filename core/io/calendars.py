"""Business-hours calendars: weekly opening hours, holidays and a time zone, and the open
seconds between two instants, vectorised.

Opening hours are local wall-clock times, so a 09:00-17:00 day is eight hours on the days the
clocks change too; a span that holds a change lasts the time that elapses (00:00-24:00 on the
spring change is 23 hours), so the ``24x7`` calendar's business time is calendar time. The
open seconds between two instants are ``open(end) - open(start)``, where ``open(t)`` counts
the open seconds before ``t`` from a table of the open spans over the rows' days, looked up
with :func:`numpy.searchsorted`: no Python loop over rows.
"""

from __future__ import annotations

import datetime as dt
import functools
import os
import re
import tomllib
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import attrs
import numpy as np

from kpiforge.errors import KpiforgeError, did_you_mean
from kpiforge.io.timestamps import DEFAULT_EPOCH, local_instants, zone

WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
DAY_S = 86_400
#: 1970-01-01 was a Thursday: day number + 3 puts Mondays on multiples of 7.
_MONDAY = 3
_SPAN = re.compile(r"^(\d\d):(\d\d)-(\d\d):(\d\d)$")
#: The keys of a calendar file and of its ``[holidays]`` table.
KEYS = ("timezone", "hours", "holidays")
HOLIDAY_KEYS = ("country", "subdivision", "dates")
#: What ``calendar=`` and ``--calendar`` accept, for messages.
ACCEPTED = ("a calendar file (TOML), a preset's name ({presets}) or a Calendar")

#: Opening hours of a day: (open, close) in seconds from local midnight, in order.
Spans = tuple[tuple[int, int], ...]


def _to_hours(value: Iterable[Spans]) -> tuple[Spans, ...]:
    hours = tuple(tuple((int(o), int(c)) for o, c in day) for day in value)
    if len(hours) != 7:
        raise KpiforgeError(f"Calendar hours must give the spans of each of the 7 weekdays, "
                            f"got {value!r}")
    for day, spans in zip(WEEKDAYS, hours, strict=True):
        ends = [0]
        for opens, closes in spans:
            if not ends[-1] <= opens < closes <= DAY_S:
                raise KpiforgeError(f"Calendar hours, {day}: spans must lie within "
                                    "00:00-24:00, each end after its start and after the "
                                    f"span before, got {spans!r}")
            ends.append(closes)
    if not any(hours):
        raise KpiforgeError("Calendar hours: open on no day; give at least one weekday spans")
    return hours


def _to_dates(value: Iterable[dt.date]) -> tuple[dt.date, ...]:
    return tuple(sorted(value))


@attrs.frozen
class Calendar:
    """When a helpdesk is open: ``hours``, the spans of each weekday (Monday first) in
    seconds from local midnight; closed on ``dates`` and on the public holidays of
    ``country`` (and ``subdivision``) from the ``holidays`` package; in ``timezone``
    (None: the run's zone, else UTC). Build one with :func:`calendar_from_dict`,
    :func:`load_calendar` or a preset (:data:`PRESETS`)."""

    hours: tuple[Spans, ...] = attrs.field(converter=_to_hours)
    timezone: str | None = None
    country: str | None = None
    subdivision: str | None = None
    dates: tuple[dt.date, ...] = attrs.field(default=(), converter=_to_dates)
    #: Where it came from (a file, a preset), for messages.
    name: str = attrs.field(default="calendar", eq=False)

    def __attrs_post_init__(self) -> None:
        if self.timezone is not None:
            zone(self.timezone)
        if self.country is not None:
            _holidays_of(self.country, self.subdivision, 2000)
        elif self.subdivision is not None:
            raise KpiforgeError(f"{self.name}: a holidays subdivision needs its country")

    def open_seconds(self, start: np.ndarray, end: np.ndarray, epoch: dt.datetime,
                     tz: str | None = None) -> np.ndarray:
        """The open seconds from each ``start`` to its ``end`` (seconds from ``epoch``, a
        naive UTC instant): negative when ``end`` is earlier, NaN where either is missing.
        ``tz`` is the run's zone, used when the calendar names none."""
        start, end = np.broadcast_arrays(np.asarray(start, dtype=np.float64),
                                          np.asarray(end, dtype=np.float64))
        if not start.size:
            return np.zeros(start.shape)
        unix = (epoch - DEFAULT_EPOCH).total_seconds()
        with np.errstate(invalid="ignore"):
            low = min(np.nanmin(start), np.nanmin(end))
            high = max(np.nanmax(start), np.nanmax(end))
        if not np.isfinite(low + high):  # every start or every end is missing
            return np.full(start.shape, np.nan)
        # Local days from a day before the first instant to a day after the last (offsets
        # are within a day), so every instant lies inside the table.
        opens, closes = self.spans(int(np.floor((low + unix) / DAY_S)) - 1,
                                   int(np.floor((high + unix) / DAY_S)) + 1,
                                   self.timezone or tz or "UTC")
        # A first span that opens before any time and lasts 0 s, so every time has a span
        # at or before it; before[k]: the open seconds of the spans before span k.
        opens = np.concatenate([[-np.inf], opens - unix])
        lengths = np.concatenate([[0.0], closes - unix - opens[1:]])
        before = np.concatenate([[0.0], np.cumsum(lengths[:-1])])  # whole seconds: exact
        ends_at, ends_in = _position(end, opens, lengths)
        starts_at, starts_in = _position(start, opens, lengths)
        # Whole spans (exact whatever the table's first day) plus the parts of two spans,
        # so every way of cutting the rows gives the same bits; NaN stays NaN.
        whole = before[ends_at]
        whole -= before[starts_at]
        ends_in -= starts_in
        whole += ends_in
        return whole

    def spans(self, first: int, last: int, tz: str) -> tuple[np.ndarray, np.ndarray]:
        """The open spans of local days ``first..last`` (days since 1970-01-01) in ``tz``,
        as Unix seconds, in order: each day's hours unless it is a holiday."""
        days = np.arange(first, last + 1, dtype=np.int64)
        weekday = (days + _MONDAY) % 7
        open_day = ~np.isin(days, self.closed_days(first, last))
        local: list[np.ndarray] = []
        for number, spans in enumerate(self.hours):
            chosen = days[(weekday == number) & open_day] * DAY_S
            local.extend(np.stack([chosen + opens, chosen + closes], axis=1)
                         for opens, closes in spans)
        if not local:
            return np.zeros(0), np.zeros(0)
        pairs = np.concatenate(local)
        pairs = pairs[np.argsort(pairs[:, 0], kind="stable")]
        opens, closes = (local_instants(pairs[:, i], tz) for i in (0, 1))
        return opens, np.maximum(closes, opens)

    def closed_days(self, first: int, last: int) -> np.ndarray:
        """The holidays among local days ``first..last``, as days since 1970-01-01."""
        dates = list(self.dates)
        if self.country is not None:
            low = dt.date(1970, 1, 1) + dt.timedelta(days=first)
            high = dt.date(1970, 1, 1) + dt.timedelta(days=last)
            for year in range(low.year, high.year + 1):
                dates.extend(_holidays_of(self.country, self.subdivision, year))
        return np.array(dates, dtype="datetime64[D]").astype(np.int64)


def _position(times: np.ndarray, opens: np.ndarray, lengths: np.ndarray
              ) -> tuple[np.ndarray, np.ndarray]:
    """For each time, the last span that opens at or before it and the seconds of that
    span before it (NaN for a missing time)."""
    span = np.searchsorted(opens, times, side="right") - 1
    inside = times - opens[span]
    np.minimum(inside, lengths[span], out=inside)
    return span, inside


@functools.lru_cache(maxsize=512)
def _holidays_of(country: str, subdivision: str | None, year: int) -> tuple[dt.date, ...]:
    """The public holidays of ``country`` (and ``subdivision``) in ``year``."""
    try:
        import holidays
    except ImportError:
        raise KpiforgeError("holidays by country need the holidays package: pip install "
                            "'kpiforge[calendar]', or list the dates yourself") from None
    try:
        found = holidays.country_holidays(country, subdiv=subdivision, years=year)
    except NotImplementedError as exc:
        what = f"subdivision {subdivision!r} of {country!r}" if subdivision and \
            country in holidays.list_supported_countries() else f"country {country!r}"
        raise KpiforgeError(f"the holidays package does not know {what} ({exc}); use an ISO "
                            "3166 code such as 'JP', 'DE' or 'US' (and a subdivision such "
                            "as 'BY' or 'CA')") from None
    return tuple(sorted(found))


def _every_day(spans: Spans) -> tuple[Spans, ...]:
    return (spans,) * 7


#: Calendars by name, for ``calendar=`` and ``--calendar``; their zone is the run's.
PRESETS: dict[str, Calendar] = {
    "24x7": Calendar(_every_day(((0, DAY_S),)), name="preset '24x7'"),
    "weekdays-9-17": Calendar((*((((9 * 3600, 17 * 3600),),) * 5), (), ()),
                              name="preset 'weekdays-9-17'"),
}
PRESET_DESCRIPTIONS = {
    "24x7": "always open: business time equals calendar time",
    "weekdays-9-17": "Monday to Friday 09:00-17:00, no holidays",
}


def calendar_from_dict(data: Mapping[str, Any], source: str = "calendar") -> Calendar:
    """A calendar from the contents of a calendar file; errors name ``source`` and the
    key."""
    _known(data, KEYS, source, "")
    timezone = data.get("timezone")
    if timezone is not None:
        _text(timezone, source, "timezone")
        _naming(source, "timezone", lambda: zone(timezone))
    hours = data.get("hours")
    if not isinstance(hours, Mapping) or not hours:
        raise KpiforgeError(f"{source}: [hours] must give each open weekday's spans, as in "
                            'monday = "09:00-17:00" or friday = ["09:00-12:00", '
                            '"13:00-17:00"]')
    _known(hours, WEEKDAYS, source, "hours.")
    days = tuple(_day_spans(hours.get(day, []), source, f"hours.{day}") for day in WEEKDAYS)
    if not any(days):
        raise KpiforgeError(f"{source}: [hours] opens on no day; give at least one weekday "
                            "its spans")
    holidays = data.get("holidays", {})
    if not isinstance(holidays, Mapping):
        raise KpiforgeError(f"{source}: holidays must be a table ([holidays]) with country, "
                            "subdivision and dates")
    _known(holidays, HOLIDAY_KEYS, source, "holidays.")
    country, subdivision = (holidays.get(key) for key in ("country", "subdivision"))
    for key, value in (("country", country), ("subdivision", subdivision)):
        if value is not None:
            _text(value, source, f"holidays.{key}")
    if subdivision is not None and country is None:
        raise KpiforgeError(f"{source}, key holidays.subdivision: give holidays.country too")
    dates = _dates(holidays.get("dates", []), source)
    if country is not None:
        _naming(source, "holidays.country", lambda: _holidays_of(country, None, 2000))
        _naming(source, "holidays.subdivision",
                lambda: _holidays_of(country, subdivision, 2000))
    return Calendar(days, timezone=timezone, country=country, subdivision=subdivision,
                    dates=dates, name=source)


def load_calendar(path: str | os.PathLike[str]) -> Calendar:
    """A calendar file (TOML); errors name the file and the key."""
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise KpiforgeError(f"{path}: cannot read the calendar file ({exc.strerror})") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise KpiforgeError(f"{path}: not a valid TOML calendar file ({exc})") from None
    return calendar_from_dict(data, str(path))


def resolve_calendar(value: Calendar | str | os.PathLike[str] | Mapping[str, Any] | None
                     ) -> Calendar | None:
    """What ``calendar=`` accepts as a :class:`Calendar`: a Calendar, a preset's name, a
    calendar file or the contents of one."""
    if value is None or isinstance(value, Calendar):
        return value
    if isinstance(value, Mapping):
        return calendar_from_dict(value)
    if isinstance(value, str) and value in PRESETS:
        return PRESETS[value]
    if isinstance(value, str | os.PathLike) and Path(value).is_file():
        return load_calendar(value)
    if isinstance(value, str | os.PathLike):
        raise KpiforgeError(
            f"calendar {str(value)!r} is neither a file nor a preset"
            f"{did_you_mean(str(value), PRESETS)}; give "
            f"{ACCEPTED.format(presets=', '.join(PRESETS))}")
    raise KpiforgeError(f"calendar must be {ACCEPTED.format(presets=', '.join(PRESETS))}, "
                        f"got {type(value).__name__}")


def _day_spans(value: Any, source: str, key: str) -> Spans:
    """A weekday's spans: ``"09:00-17:00"`` or a list of them, in order, within the day."""
    texts = [value] if isinstance(value, str) else value
    if not isinstance(texts, list) or not all(isinstance(t, str) for t in texts):
        raise KpiforgeError(f"{source}, key {key}: expected \"HH:MM-HH:MM\" or a list of "
                            f"them, got {value!r}")
    spans: list[tuple[int, int]] = []
    for text in texts:
        match = _SPAN.match(text.strip())
        if match is None:
            raise KpiforgeError(f"{source}, key {key}: {text!r} is not a span such as "
                                "\"09:00-17:00\" (24-hour clock, 24:00 for midnight at "
                                "the end of the day)")
        oh, om, ch, cm = (int(g) for g in match.groups())
        if oh > 23 or ch > 24 or om > 59 or cm > 59 or (ch == 24 and cm):
            raise KpiforgeError(f"{source}, key {key}: {text!r} is not a time of day")
        opens, closes = oh * 3600 + om * 60, ch * 3600 + cm * 60
        if closes <= opens:
            raise KpiforgeError(f"{source}, key {key}: {text!r} ends before it starts; a "
                                "span past midnight is two spans, \"22:00-24:00\" on one "
                                "day and \"00:00-06:00\" on the next")
        if spans and opens < spans[-1][1]:
            raise KpiforgeError(f"{source}, key {key}: {text!r} starts before the span "
                                "before it ends; list a day's spans in order, apart")
        spans.append((opens, closes))
    return tuple(spans)


def _dates(value: Any, source: str) -> list[dt.date]:
    """``holidays.dates``: TOML dates (``2024-12-24``) or ISO text."""
    dates = []
    for item in value if isinstance(value, list) else [value]:
        try:
            date = dt.date.fromisoformat(item) if isinstance(item, str) else item
        except ValueError:
            date = None
        if not isinstance(date, dt.date) or isinstance(date, dt.datetime):
            raise KpiforgeError(f"{source}, key holidays.dates: {item!r} is not a date; give "
                                "a list of dates such as [2024-12-24, 2024-12-31]")
        dates.append(date)
    return dates


def _known(data: Mapping[str, Any], keys: tuple[str, ...], source: str, prefix: str
           ) -> None:
    for key in data:
        if key not in keys:
            what = "a weekday" if keys is WEEKDAYS else "a calendar key"
            raise KpiforgeError(f"{source}, key {prefix}{key}: not {what}"
                                f"{did_you_mean(key, keys)}; use {', '.join(keys)}")


def _text(value: Any, source: str, key: str) -> None:
    if not isinstance(value, str):
        raise KpiforgeError(f"{source}, key {key}: expected text, got {value!r}")


def _naming(source: str, key: str, check: Any) -> None:
    """Run ``check``; its error names ``source`` and ``key``."""
    try:
        check()
    except KpiforgeError as exc:
        raise KpiforgeError(f"{source}, key {key}: {exc}") from None
