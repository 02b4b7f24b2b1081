"""A planner's forecast: contacts per interval and channel, read from CSV, to drive a run.

The file has one row per interval and channel (and queue, when the forecast splits them)::

    interval_start,channel,contacts,aht_s
    2026-11-16T08:00,call,112,305
    2026-11-16T08:30,call,148,298

``interval_start`` is ISO 8601 local time (no offset), ``contacts`` the expected arrivals in
the interval; the optional ``aht_s`` (handling plus after-contact work, as ``kpiforge
staff`` reads it) and ``patience_s`` set that interval's means (the channel's distributions
keep their shape and are rescaled to them), and ``queue`` routes the interval's contacts to
one of the channel's queues. Other columns are ignored, so the output of ``kpiforge staff``
reads as a forecast too.
"""

from __future__ import annotations

import csv
import datetime as dt
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import attrs
import numpy as np

from kpiforge.errors import did_you_mean
from kpiforge.io.csvfiles import open_text
from kpiforge.simulations.sections import ScenarioError

REQUIRED = ("interval_start", "channel", "contacts")
OPTIONAL = ("aht_s", "patience_s", "queue")


@attrs.frozen(eq=False)
class Forecast:
    """Forecast rows as columns; times in seconds from the scenario's epoch, NaN where an
    optional value is not given, queue ``-1`` where contacts follow the channel's shares."""

    file: str
    interval_s: float
    channel: np.ndarray
    start_s: np.ndarray
    contacts: np.ndarray
    aht_s: np.ndarray
    patience_s: np.ndarray
    queue: np.ndarray

    def channel_rows(self, channel: str) -> np.ndarray:
        """Indices of ``channel``'s rows, in time order."""
        rows = np.flatnonzero(self.channel == channel)
        return rows[np.argsort(self.start_s[rows], kind="stable")]


@attrs.frozen
class ForecastRow:
    """One row of a forecast file, its values checked."""

    line: int
    start: dt.datetime
    channel: str
    contacts: float
    aht_s: float
    patience_s: float
    queue: str | None


def read_rows(path: Path) -> list[ForecastRow]:
    """The rows of the forecast file at ``path``, each value checked; errors name the file,
    line and column. (The scenario's channels are checked by :func:`build_forecast`.)"""
    label = str(path)
    try:
        with open_text(path) as handle:
            reader = csv.reader(handle)
            header = [name.strip() for name in next(reader, [])]
            missing = [name for name in REQUIRED if name not in header]
            if missing:
                raise ScenarioError(f"{label}: missing column {missing[0]!r}; a forecast has "
                                    f"the columns {', '.join(REQUIRED)} (and optionally "
                                    f"{', '.join(OPTIONAL)})")
            rows = [_row(dict(zip(header, values, strict=False)), reader.line_num, label)
                    for values in reader if any(v.strip() for v in values)]
    except FileNotFoundError:
        raise ScenarioError(f"{label}: no such forecast file") from None
    except (csv.Error, UnicodeDecodeError, OSError) as exc:
        raise ScenarioError(f"{label}: not a readable CSV file ({exc})") from None
    if not rows:
        raise ScenarioError(f"{label}: the forecast has no rows")
    return rows


def build_forecast(path: Path, rows: list[ForecastRow], interval_min: int | None,
                   epoch: dt.datetime, queues: Mapping[str, Sequence[str]],
                   acw_s: Mapping[str, float]) -> Forecast:
    """The forecast of ``rows`` for a scenario with ``epoch`` whose channels have
    ``queues`` and mean after-contact work ``acw_s``; a row naming another channel or queue,
    or an ``aht_s`` (handling plus after-contact work) not above the channel's after-contact
    work, is an error naming its line."""
    label = str(path)
    check_channels(rows, list(queues), label)
    for row in rows:
        where = f"{label}: line {row.line}"
        if row.queue is not None and row.queue not in queues[row.channel]:
            raise ScenarioError(f"{where}, column queue: channel {row.channel!r} has no queue "
                                f"{row.queue!r}; its queues are "
                                f"{', '.join(queues[row.channel])}")
        if row.aht_s <= acw_s[row.channel]:
            raise ScenarioError(f"{where}, column aht_s: {row.aht_s:g} s is handling plus "
                                f"after-contact work, so it must exceed channels."
                                f"{row.channel}.acw_s (mean {acw_s[row.channel]:g} s)")
    _check_duplicates(rows, label)
    starts = np.array([(row.start - epoch).total_seconds() for row in rows])
    return Forecast(
        file=str(path.resolve()),
        interval_s=_interval(starts, interval_min, label),
        channel=np.array([row.channel for row in rows], dtype=object),
        start_s=starts,
        contacts=np.array([row.contacts for row in rows]),
        aht_s=np.array([row.aht_s for row in rows]),
        patience_s=np.array([row.patience_s for row in rows]),
        queue=np.array([-1 if row.queue is None else list(queues[row.channel]).index(row.queue)
                        for row in rows], dtype=np.int64),
    )


def check_channels(rows: list[ForecastRow], channels: list[str], label: str) -> None:
    """Every row names one of the scenario's ``channels``."""
    for row in rows:
        if row.channel not in channels:
            raise ScenarioError(f"{label}: line {row.line}, column channel: unknown channel "
                                f"{row.channel!r}{did_you_mean(row.channel, channels)}; the "
                                f"scenario has {', '.join(channels)}")


def _row(cells: dict[str, str], line: int, label: str) -> ForecastRow:
    def fail(column: str, message: str) -> ScenarioError:
        return ScenarioError(f"{label}: line {line}, column {column}: {message}")

    def value(column: str, low: float, optional: bool) -> float:
        cell = (cells.get(column) or "").strip()
        if not cell and optional:
            return math.nan
        try:
            number = float(cell)
        except ValueError:
            raise fail(column, f"{cell!r} is not a number") from None
        if not (number >= low if column == "contacts" else number > low) or \
                not math.isfinite(number):
            sign = ">=" if column == "contacts" else ">"
            raise fail(column, f"must be a number {sign} {low:g}, got {cell}")
        return number

    stamp = (cells.get("interval_start") or "").strip()
    try:
        start = dt.datetime.fromisoformat(stamp)
    except ValueError:
        raise fail("interval_start", f"{stamp!r} is not an ISO 8601 time like "
                   "2026-11-16T09:30") from None
    if start.tzinfo is not None:
        raise fail("interval_start", f"{stamp!r} has a UTC offset; give local time without "
                   "one (2026-11-16T09:30)")
    channel = (cells.get("channel") or "").strip()
    if not channel:
        raise fail("channel", "is empty; name the scenario channel")
    queue = (cells.get("queue") or "").strip() or None
    return ForecastRow(line, start, channel, value("contacts", 0, False), value("aht_s", 0, True),
                value("patience_s", 0, True), queue)


def _check_duplicates(rows: list[ForecastRow], label: str) -> None:
    seen: dict[tuple[Any, ...], int] = {}
    for row in rows:
        key = (row.start, row.channel, row.queue)
        if key in seen:
            raise ScenarioError(f"{label}: line {row.line} repeats line {seen[key]} "
                                f"({row.start.isoformat()}, {row.channel}"
                                f"{'/' + row.queue if row.queue else ''}); give each interval "
                                "once")
        seen[key] = row.line


def _interval(starts: np.ndarray, interval_min: int | None, label: str) -> float:
    if interval_min is not None:
        return interval_min * 60.0
    steps = np.diff(np.unique(starts))
    if not len(steps):
        raise ScenarioError(f"{label}: one interval start only; give forecast.interval_min "
                            "(the length of an interval)")
    step = float(steps.min())
    if step % 60:
        raise ScenarioError(f"{label}: interval starts step by {step:g} s, not whole minutes; "
                            "give forecast.interval_min")
    return step
