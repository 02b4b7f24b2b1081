"""Forecasting contacts from history: volume and handling time per channel (and queue) and
interval, weeks ahead, with a back-test against seasonal naive.

The model is the planner's top-down one. Each series' daily volume is forecast by
statsmodels: an MSTL decomposition of ``log(1 + contacts per day)`` into a weekly (and,
with two years or more of history, a yearly) seasonal component, a trend and noise; the
seasonally adjusted series goes on by exponential smoothing with a damped additive trend
(ETS(A,Ad,N)), and each seasonal component repeats its last cycle. Holidays (the
``holidays`` package's calendar of a country, or a scenario's dated events) are taken out
of the decomposition (replaced by the same weekday a week earlier) and come back as an
effect per holiday name: the mean log ratio of what happened on its dates to what the
model expected; a holiday never seen before gets the mean effect of those seen. Each day's
volume is then spread over its intervals by the weekday's intraday shape (the share of
each interval in the day, over the last eight weeks without holidays; a holiday seen
before keeps the shape of its last occurrence). Handling time goes the same way: the
day's mean AHT by the same model on its logarithm, times each interval's ratio to the
day's mean for that weekday.

The back-test holds out the last ``backtest`` weeks, fits on the rest, and compares the
forecast interval by interval with what happened and with seasonal naive (the last week
before the held-out weeks, repeated): MAPE over intervals with contacts, WAPE (absolute
errors over actual contacts) and the AHT's workload-weighted error.
"""

from __future__ import annotations

import datetime as dt
import math
import os
import re
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import attrs
import numpy as np
import pyarrow as pa

from kpiforge.errors import KpiforgeError
from kpiforge.io.output import csv_text, json_text, write_parquet, write_text
from kpiforge.simulations.forecast import read_forecast
from kpiforge.simulations.scenario import DAY_S, load_scenario

INSTALL_HINT = "pip install 'kpiforge[forecast]'"
#: Weeks of recent history whose intraday shapes are averaged.
PROFILE_WEEKS = 8
#: Days of history a fit needs at least: three weeks (MSTL needs two weekly cycles).
MIN_DAYS = 21
#: Days of history from which the yearly seasonality is fitted: two yearly cycles.
YEARLY_DAYS = 730
FORMATS = ("csv", "json", "parquet")
BY = ("channel", "queue")


def parse_horizon(text: str | int) -> int:
    """``13w``, ``91d`` or a number of days, as days."""
    match = re.fullmatch(r"\s*(\d+)\s*([wd]?)\s*", str(text).lower())
    if not match or int(match.group(1)) < 1:
        raise KpiforgeError(f"--horizon: expected weeks or days such as 13w or 91d, got "
                            f"{text!r}")
    return int(match.group(1)) * (7 if match.group(2) == "w" else 1)


@attrs.frozen(eq=False)
class BackTest:
    """The held-out weeks: daily totals of what happened, of the forecast and of seasonal
    naive, and the interval-level errors of both."""

    days: np.ndarray
    daily_actual: np.ndarray
    daily_forecast: np.ndarray
    daily_naive: np.ndarray
    intervals: int
    mape: float
    wape: float
    naive_mape: float
    naive_wape: float
    aht_wape: float
    naive_aht_wape: float

    @property
    def weeks(self) -> int:
        return len(self.days) // 7


@attrs.frozen(eq=False)
class Series:
    """One channel's (or channel and queue's) history and forecast.

    ``days``/``daily``: the history's calendar days and contacts per day;
    ``starts``/``contacts``/``aht_s``: the forecast per interval; ``forecast_days`` and
    ``forecast_daily``: its daily totals; ``backtest``: the back-test, if one was run.
    """

    key: tuple[str, ...]
    days: np.ndarray
    daily: np.ndarray
    starts: np.ndarray
    contacts: np.ndarray
    aht_s: np.ndarray
    forecast_days: np.ndarray
    forecast_daily: np.ndarray
    backtest: BackTest | None = None


@attrs.frozen(eq=False)
class ContactForecast:
    """A forecast of every series, with ``by`` naming the key columns."""

    by: tuple[str, ...]
    interval_s: int
    series: tuple[Series, ...]

    def to_arrow(self) -> pa.Table:
        """The forecast file: ``interval_start``, ``channel`` (``queue``), ``contacts``,
        ``aht_s``, one row per interval and series (what ``kpiforge staff`` and a
        scenario's ``[forecast]`` read)."""
        columns: dict[str, Any] = {"interval_start": pa.array(np.concatenate(
            [s.starts for s in self.series]).astype("datetime64[s]"))}
        for position, name in enumerate(self.by):
            columns[name] = pa.array([s.key[position] for s in self.series
                                      for _ in range(len(s.starts))], pa.string())
        columns["contacts"] = np.round(np.concatenate([s.contacts for s in self.series]), 3)
        columns["aht_s"] = np.round(np.concatenate([s.aht_s for s in self.series]), 1)
        return pa.table(columns)

    def backtest_records(self) -> list[dict[str, Any]]:
        """One row per series with a back-test: its keys, ``weeks``, ``intervals``, the
        forecast's and seasonal naive's ``mape``, ``wape`` and ``aht_wape``, and
        ``beats_naive`` (a lower WAPE)."""
        rows = []
        for s in self.series:
            test = s.backtest
            if test is None:
                continue
            rows.append({**dict(zip(self.by, s.key, strict=True)), "weeks": test.weeks,
                         "intervals": test.intervals, "mape": test.mape, "wape": test.wape,
                         "naive_mape": test.naive_mape, "naive_wape": test.naive_wape,
                         "aht_wape": test.aht_wape, "naive_aht_wape": test.naive_aht_wape,
                         "beats_naive": test.wape < test.naive_wape})
        return rows

    def write(self, path: str | os.PathLike, fmt: str = "csv") -> None:
        """Write the forecast file (csv, json or parquet) atomically."""
        table = self.to_arrow()
        if fmt == "parquet":
            write_parquet(table, path)
        else:
            write_text(self.render(fmt), path)

    def render(self, fmt: str = "csv") -> str:
        """The forecast as CSV or JSON text (``interval_start`` as ISO time)."""
        if fmt == "csv":
            return csv_text(self.to_arrow())
        if fmt == "json":
            records = self.to_arrow().to_pylist()
            for record in records:
                record["interval_start"] = record["interval_start"].isoformat(
                    timespec="seconds")
            return json_text(records)
        raise KpiforgeError(f"unknown format {fmt!r}; use {', '.join(FORMATS)}")


def forecast_history(history: Any, horizon: str | int = "13w", interval: str = "30min", *,
                     by: Sequence[str] = ("channel",), country: str | None = None,
                     calendar: str | os.PathLike | None = None, backtest: int = 2
                     ) -> ContactForecast:
    """Forecast ``horizon`` (``13w``, ``91d``) of contacts and AHT per ``interval`` from
    ``history``: a contacts export (file or run directory), ``kpiforge compute`` output
    with ``interval_start, channel[, queue], offered, aht``, or a frame of either.

    ``by``: ``("channel",)`` or ``("channel", "queue")``; ``country``: an ISO code whose
    public holidays (the ``holidays`` package) are special days; ``calendar``: a scenario
    (file or built-in name) whose ``[[events]]`` dates are special days of their channels;
    ``backtest``: weeks held out to measure the error against seasonal naive (0: none).
    Raises :class:`KpiforgeError` naming what it cannot use.
    """
    by = tuple(by)
    if by not in (BY[:1], BY):
        raise KpiforgeError(f"--by: forecast per channel or per channel,queue, not "
                            f"{','.join(by)}")
    days_ahead = parse_horizon(horizon)
    if backtest < 0:
        raise KpiforgeError(f"--backtest: weeks held out must be >= 0, got {backtest}")
    grid = read_forecast(history, interval, other_kind="call")
    slots = DAY_S // grid.interval_s
    special = _SpecialDays(country, calendar)
    series = []
    for key, counts, aht, days in _series(grid, by, slots):
        label = "/".join(key)
        calendar_days = special.for_channel(key[0], days[0], days[-1] + days_ahead + 1)
        if len(days) < MIN_DAYS + 7 * backtest:
            raise KpiforgeError(
                f"{label}: {len(days)} days of history; a forecast needs at least "
                f"{MIN_DAYS}" + (f" plus the {backtest} weeks --backtest holds out"
                                 if backtest else ""))
        model = _fit(counts, aht, days, calendar_days, days_ahead, slots)
        test = _backtest(counts, aht, days, calendar_days, 7 * backtest, slots) \
            if backtest else None
        future = days[-1] + 1 + np.arange(days_ahead)
        starts = (future.astype("datetime64[s]")[:, None]
                  + (np.arange(slots) * grid.interval_s).astype("timedelta64[s]")).ravel()
        series.append(Series(key, days, counts.sum(axis=1), starts, model[0].ravel(),
                             model[1].ravel(), future, model[0].sum(axis=1), test))
    return ContactForecast(by, grid.interval_s, tuple(series))


def _series(grid: Any, by: tuple[str, ...], slots: int
            ) -> list[tuple[tuple[str, ...], np.ndarray, np.ndarray, np.ndarray]]:
    """Each series' contacts and AHT as (days x slots) arrays over whole calendar days,
    and the days (``datetime64[D]``)."""
    first = grid.start.min().astype("datetime64[D]")
    days = np.arange(first, grid.start.max().astype("datetime64[D]") + 1)
    offset = ((grid.start - first.astype("datetime64[s]")).astype(np.int64)
              // grid.interval_s)
    keys = list(zip(grid.channel.tolist(), grid.queue.tolist(), strict=True)) \
        if by == BY else [(c,) for c in grid.channel.tolist()]
    out = []
    for key in dict.fromkeys(keys):
        mine = np.array([k == key for k in keys])
        counts = np.bincount(offset[mine], weights=grid.contacts[mine],
                             minlength=len(days) * slots)
        aht = np.nan_to_num(grid.aht_s[mine])
        work = np.bincount(offset[mine], weights=grid.contacts[mine] * aht,
                           minlength=len(days) * slots)
        with np.errstate(invalid="ignore", divide="ignore"):
            mean = work / counts
        out.append((tuple(key), counts.reshape(len(days), slots),
                    mean.reshape(len(days), slots), days))
    return out


class _SpecialDays:
    """Holidays by date: a country's public holidays and a scenario's events."""

    def __init__(self, country: str | None, calendar: str | os.PathLike | None) -> None:
        self.country = country
        self.events = [] if calendar is None else list(load_scenario(Path(calendar)).events)

    def for_channel(self, channel: str, first: np.datetime64, end: np.datetime64
                    ) -> dict[dt.date, str]:
        """Special days of ``channel`` from ``first`` up to ``end`` (exclusive)."""
        start, stop = first.astype(dt.date), end.astype(dt.date)
        days: dict[dt.date, str] = {}
        if self.country is not None:
            days.update(_country_holidays(self.country, range(start.year, stop.year + 1)))
        for event in self.events:
            if channel in event.channels:
                for n in range(event.days):
                    days.setdefault(event.start + dt.timedelta(days=n), event.name)
        return {day: name for day, name in days.items() if start <= day < stop}


def _country_holidays(country: str, years: range) -> dict[dt.date, str]:
    try:
        import holidays
    except ImportError:
        raise KpiforgeError(f"--country needs the holidays package: {INSTALL_HINT}") from None
    try:
        return dict(holidays.country_holidays(country.upper(), years=list(years)))
    except NotImplementedError:
        raise KpiforgeError(f"--country {country}: the holidays package has no such country; "
                            "use an ISO 3166 code such as US, GB, DE or JP") from None


def _fit(counts: np.ndarray, aht: np.ndarray, days: np.ndarray,
         special: Mapping[dt.date, str], ahead: int, slots: int
         ) -> tuple[np.ndarray, np.ndarray]:
    """Contacts and AHT for ``ahead`` days after ``days``, as (days x slots) arrays."""
    future = days[-1] + 1 + np.arange(ahead)
    holiday = _names(days, special)
    coming = _names(future, special)
    daily = counts.sum(axis=1)
    volume = np.expm1(_daily_model(np.log1p(daily), days, holiday, coming, ahead))
    volume = np.maximum(volume, 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        day_aht = (np.nansum(aht * counts, axis=1) / daily)
    day_aht = _filled(day_aht)
    level_aht = np.exp(_daily_model(np.log(day_aht), days, [None] * len(days),
                                    [None] * ahead, ahead))
    shares, ratios = _profiles(counts, aht, days, holiday)
    weekday = _weekday(future)
    shape = shares[weekday]
    seen = _holiday_shapes(counts, holiday)
    for d, name in enumerate(coming):
        if name in seen:
            shape[d] = seen[name]
    return volume[:, None] * shape, level_aht[:, None] * ratios[weekday]


def _weekday(days: np.ndarray) -> np.ndarray:
    """Monday 0 ... Sunday 6 (1970-01-01 was a Thursday)."""
    return (days.astype("datetime64[D]").view("int64") + 3) % 7


def _names(days: np.ndarray, special: Mapping[dt.date, str]) -> list[str | None]:
    return [special.get(day) for day in days.astype(dt.date).tolist()]


def _holiday_shapes(counts: np.ndarray, holiday: Sequence[str | None]
                    ) -> dict[str | None, np.ndarray]:
    """The intraday shape of each holiday's last occurrence with contacts."""
    shapes: dict[str | None, np.ndarray] = {}
    for d, name in enumerate(holiday):
        total = counts[d].sum()
        if name is not None and total > 0:
            shapes[name] = counts[d] / total
    return shapes


def _filled(values: np.ndarray) -> np.ndarray:
    """Days without a value take the same weekday's nearest earlier (else later) value,
    else the mean."""
    known = ~np.isnan(values)
    if not known.any():
        raise KpiforgeError("the history has no answered contacts, so no handling time to "
                            "forecast")
    out = values.copy()
    for d in np.flatnonzero(~known):
        same = [e for e in range(d % 7, len(values), 7) if known[e]]
        earlier = [e for e in same if e < d]
        out[d] = values[earlier[-1]] if earlier else values[same[0]] if same else \
            np.nanmean(values)
    return out


def _profiles(counts: np.ndarray, aht: np.ndarray, days: np.ndarray,
              holiday: Sequence[str | None]) -> tuple[np.ndarray, np.ndarray]:
    """Per weekday (Monday first) over the last :data:`PROFILE_WEEKS` weeks without
    holidays: each interval's share of the day's contacts, and its AHT's ratio to the
    day's mean AHT (1 where nothing was answered)."""
    weekday = _weekday(days)
    recent = np.arange(len(days)) >= len(days) - 7 * PROFILE_WEEKS
    normal = np.array([name is None for name in holiday]) & recent
    shares = np.full((7, counts.shape[1]), 1.0 / counts.shape[1])
    ratios = np.ones((7, counts.shape[1]))
    work = np.nan_to_num(aht) * counts
    for w in range(7):
        rows = normal & (weekday == w)
        volume = counts[rows].sum(axis=0)
        if volume.sum() > 0:
            shares[w] = volume / volume.sum()
            with np.errstate(invalid="ignore", divide="ignore"):
                ratio = (work[rows].sum(axis=0) / volume) / (work[rows].sum() / volume.sum())
            ratios[w] = np.where(np.isfinite(ratio) & (ratio > 0), ratio, 1.0)
    return shares, ratios


def _daily_model(values: np.ndarray, days: np.ndarray, holiday: Sequence[str | None],
                 coming: Sequence[str | None], ahead: int) -> np.ndarray:
    """MSTL + damped-trend ETS forecast of a daily series (already on a log scale) for
    ``ahead`` days, with holiday effects added back."""
    try:
        from statsmodels.tsa.exponential_smoothing.ets import ETSModel
        from statsmodels.tsa.seasonal import MSTL
    except ImportError:
        raise KpiforgeError(f"forecasting needs statsmodels: {INSTALL_HINT}") from None
    is_holiday = np.array([name is not None for name in holiday])
    clean = values.copy()
    for d in np.flatnonzero(is_holiday):  # the same weekday a week earlier (or later)
        same = [e for e in range(d % 7, len(values), 7) if not is_holiday[e]]
        earlier = [e for e in same if e < d]
        clean[d] = clean[earlier[-1]] if earlier else values[same[0]] if same else \
            values[~is_holiday].mean()
    periods = (7, 365) if len(values) >= YEARLY_DAYS else (7,)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # optimiser chatter; the back-test measures the fit
        decomposition = MSTL(clean, periods=periods).fit()
        seasonal = np.asarray(decomposition.seasonal).reshape(len(values), -1)
        adjusted = clean - seasonal.sum(axis=1)
        smooth = ETSModel(adjusted, error="add", trend="add", damped_trend=True).fit(
            disp=False)
        level = np.asarray(smooth.forecast(ahead))
    steps = np.arange(ahead)
    for j, period in enumerate(periods):
        level = level + seasonal[len(values) - period + steps % period, j]
    fitted = np.asarray(decomposition.trend) + seasonal.sum(axis=1)
    effects: dict[str, list[float]] = {}
    for day in np.flatnonzero(is_holiday).tolist():
        effects.setdefault(str(holiday[day]), []).append(values[day] - fitted[day])
    means = {name: float(np.mean(v)) for name, v in effects.items()}
    fallback = float(np.mean(list(means.values()))) if means else 0.0
    bump = np.array([0.0 if name is None else means.get(name, fallback) for name in coming])
    return level + bump


def _backtest(counts: np.ndarray, aht: np.ndarray, days: np.ndarray,
              special: Mapping[dt.date, str], held: int, slots: int) -> BackTest:
    """Fit on all but the last ``held`` days, forecast them, and score the forecast and
    seasonal naive against what happened, interval by interval."""
    cut = len(days) - held
    predicted, predicted_aht = _fit(counts[:cut], aht[:cut], days[:cut], special, held, slots)
    naive = np.tile(counts[cut - 7:cut], (held // 7 + 1, 1))[:held]
    week = counts[cut - 7:cut]
    week_aht = np.nansum(aht[cut - 7:cut] * week) / week.sum() if week.sum() else np.nan
    naive_aht = np.tile(np.where(np.isnan(aht[cut - 7:cut]), week_aht, aht[cut - 7:cut]),
                        (held // 7 + 1, 1))[:held]
    actual, actual_aht = counts[cut:], aht[cut:]
    scores = [_errors(f, fa, actual, actual_aht) for f, fa in
              ((predicted, predicted_aht), (naive, naive_aht))]
    return BackTest(days[cut:], actual.sum(axis=1), predicted.sum(axis=1), naive.sum(axis=1),
                    intervals=int(actual.size), mape=scores[0][0], wape=scores[0][1],
                    naive_mape=scores[1][0], naive_wape=scores[1][1],
                    aht_wape=scores[0][2], naive_aht_wape=scores[1][2])


def _errors(forecast: np.ndarray, forecast_aht: np.ndarray, actual: np.ndarray,
            actual_aht: np.ndarray) -> tuple[float, float, float]:
    """MAPE (intervals with contacts), WAPE, and the AHT's workload-weighted error."""
    busy = actual > 0
    mape = float(np.mean(np.abs(forecast[busy] - actual[busy]) / actual[busy])) \
        if busy.any() else math.nan
    wape = float(np.abs(forecast - actual).sum() / actual.sum()) if actual.sum() else math.nan
    answered = busy & ~np.isnan(actual_aht)
    guess = np.nan_to_num(forecast_aht[answered])
    weight = actual[answered]
    aht_wape = float((weight * np.abs(guess - actual_aht[answered])).sum()
                     / (weight * actual_aht[answered]).sum()) if answered.any() else math.nan
    return mape, wape, aht_wape
