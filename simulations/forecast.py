"""Forecasts: the contacts a planner expects per interval, channel and queue.

Staffing starts from a forecast: for every planning interval (30 minutes unless told
otherwise), channel and queue, the contacts expected, their mean handling time (talk or
work plus after-contact work) and, for live channels, the mean patience of the people
waiting. It comes from

- a forecast file (CSV, Parquet or JSON records) or frame with exactly the columns
  ``interval_start, channel[, queue], contacts[, aht_s, patience_s]``, ``interval_start`` in
  ISO 8601 local time (``2026-11-16T09:00``);
- a scenario: its expected volume per interval (the simulator's demand: daily volume x
  intraday x weekday x month x events within opening hours, or the scenario's own forecast
  file; split over queues, with the repeat contacts it will bring back);
- history: ``kpiforge compute`` output (``interval_start, channel[, queue], offered, aht``)
  or a contacts export, whose observed volume and AHT per interval become the forecast.

Rows are summed into the planning interval; intervals the forecast leaves out have no
contacts. The result is one dense grid: every interval from the first to the last, for
every channel and queue.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import attrs
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.json as pajson
import pyarrow.parquet as pq

from kpiforge.engine import compute
from kpiforge.errors import KpiforgeError, did_you_mean
from kpiforge.io.csvfiles import CSV_SUFFIXES, csv_header, describe_csv_error
from kpiforge.io.tables import describe_row, to_arrow
from kpiforge.simulations.demand import Demand
from kpiforge.simulations.scenario import DAY_S, KINDS, Scenario, load_scenario
from kpiforge.simulations.schedules import interval_sums

#: The columns of a forecast, in order; the others are optional.
FORECAST_COLUMNS = ("interval_start", "channel", "queue", "contacts", "aht_s", "patience_s")
REQUIRED_COLUMNS = ("interval_start", "channel", "contacts")
#: ``kpiforge compute`` output columns read as history, and what they become.
HISTORY_COLUMNS = {"offered": "contacts", "aht": "aht_s"}
_UNITS = {"s": 1, "sec": 1, "min": 60, "m": 60, "h": 3600, "d": DAY_S}


def parse_seconds(text: str | float, what: str) -> float:
    """``20``, ``90s``, ``30min``, ``1h``, ``5h30min``, ``24h`` or ``1d`` as seconds (a bare
    number is seconds)."""
    if isinstance(text, int | float) and not isinstance(text, bool):
        return float(text)
    parts = re.findall(r"(\d+(?:\.\d*)?|\.\d+)\s*([a-z]*)\s*", str(text).lower())
    rebuilt = re.sub(r"\s+", "", "".join(n + u for n, u in parts))
    valid = parts and rebuilt == re.sub(r"\s+", "", str(text).lower()) and all(
        u in _UNITS or (u == "" and len(parts) == 1) for _, u in parts)
    if not valid:
        raise KpiforgeError(f"{what}: expected a duration such as 20, 90s, 30min, 1h or "
                            f"24h, got {text!r}")
    return float(sum(float(n) * _UNITS.get(u, 1) for n, u in parts))


@attrs.frozen
class ChannelModel:
    """How a channel's contacts are worked.

    ``kind`` is call, chat or email; a chat agent holds ``concurrency`` chats at once, each
    taking ``1 + stretch x (concurrency - 1)`` times its handling time when the agent is
    full (the simulator's model); ``reply_sla_s`` is an email channel's own reply target
    (from a scenario), used when no target is given.
    """

    kind: str
    concurrency: int = 1
    stretch: float = 0.25
    reply_sla_s: float | None = None


@attrs.frozen(eq=False)
class Forecast:
    """Contacts per interval, channel and queue on a dense grid of ``interval_s`` intervals.

    Arrays have one entry per row: ``start`` (``datetime64[s]``, local time), ``channel``
    and ``queue`` (text), ``contacts``, ``aht_s`` and ``patience_s`` (NaN: infinite
    patience). ``channels`` says how each channel is worked; ``scenario`` is the scenario the
    forecast came from, if any.
    """

    interval_s: int
    start: np.ndarray
    channel: np.ndarray
    queue: np.ndarray
    contacts: np.ndarray
    aht_s: np.ndarray
    patience_s: np.ndarray
    channels: Mapping[str, ChannelModel]
    source: str
    scenario: Scenario | None = None

    def __len__(self) -> int:
        return len(self.contacts)

    @property
    def kind(self) -> np.ndarray:
        """Each row's channel kind (call, chat, email)."""
        return np.array([self.channels[c].kind for c in self.channel.tolist()], dtype=object)


def read_forecast(data: Any, interval: str | float = "30min", *,
                  aht_s: float | None = None, patience_s: float | None = None,
                  kinds: Mapping[str, str] | None = None, concurrency: int | None = None,
                  stretch: float | None = None, other_kind: str | None = None) -> Forecast:
    """A :class:`Forecast` from a forecast file or frame, a scenario (file or object), or
    history (``kpiforge compute`` output, a contacts file or a directory of exports).

    ``aht_s`` and ``patience_s`` fill values the input leaves empty; ``kinds`` names the
    kind of channels not called call, chat or email (``other_kind``: of every such channel
    not named); ``concurrency`` and ``stretch`` set how
    chats are worked (a scenario states its own). Raises :class:`KpiforgeError` naming the
    file, line or row, and column, of anything it cannot use.
    """
    if isinstance(data, Forecast):
        return data
    interval_s = _interval(interval)
    options = _Options(aht_s, patience_s, dict(kinds or {}), concurrency, stretch, other_kind)
    if isinstance(data, Scenario):
        return _from_scenario(data, interval_s, options)
    if isinstance(data, str | Path):
        path = Path(data)
        if path.suffix.lower() == ".toml":
            return _from_scenario(load_scenario(path), interval_s, options)
        if path.is_dir():
            return _from_contacts(path, str(path), interval_s, options)
        if not path.exists():
            raise KpiforgeError(f"{path}: no such forecast, scenario or history file")
        table, header_lines = _read_file(path)
        return _from_table(table, str(path), header_lines, interval_s, options, path)
    return _from_table(to_arrow(data, "forecast"), "forecast", None, interval_s, options, data)


@attrs.frozen
class _Options:
    aht_s: float | None
    patience_s: float | None
    kinds: dict[str, str]
    concurrency: int | None
    stretch: float | None
    other_kind: str | None


def _interval(interval: str | float) -> int:
    seconds = parse_seconds(interval, "interval")
    if seconds < 60 or seconds != int(seconds) or DAY_S % seconds:
        raise KpiforgeError(f"interval: {interval!r} must be whole minutes that divide a day "
                            "(15min, 30min, 1h...)")
    return int(seconds)


def _read_file(path: Path) -> tuple[pa.Table, int | None]:
    """The file as an Arrow table (text cells as strings) and its header lines, if text."""
    name = path.name.lower()
    try:
        if name.endswith(CSV_SUFFIXES):
            header = csv_header(path, str(path))
            return pacsv.read_csv(path, convert_options=pacsv.ConvertOptions(
                column_types=dict.fromkeys(header, pa.string()),
                strings_can_be_null=True)), 1
        if name.endswith(".parquet"):
            return pq.read_table(path), None
        if name.endswith((".json", ".jsonl", ".ndjson")):
            return _read_json(path), None
    except pa.ArrowInvalid as exc:
        if name.endswith(CSV_SUFFIXES):
            raise KpiforgeError(describe_csv_error(path, str(path), exc)) from None
        raise KpiforgeError(f"{path}: cannot read the file: {exc}") from None
    raise KpiforgeError(f"{path}: expected a forecast or history file (.csv, .parquet, "
                        ".json), a contacts export directory or a scenario (.toml)")


def _read_json(path: Path) -> pa.Table:
    """A JSON array of records (what ``--format json`` writes) or JSON lines."""
    text = path.read_text(encoding="utf-8")
    if text.lstrip().startswith("["):
        try:
            records = json.loads(text)
        except json.JSONDecodeError as exc:
            raise KpiforgeError(f"{path}: not valid JSON: {exc}") from None
        return pa.Table.from_pylist(records)
    return pajson.read_json(path)


def _from_table(table: pa.Table, source: str, header_lines: int | None, interval_s: int,
                options: _Options, origin: Any) -> Forecast:
    names = table.column_names
    if "contacts" in names:
        unknown = [n for n in names if n not in FORECAST_COLUMNS]
        if unknown:
            raise KpiforgeError(
                f"{source}: unknown column {unknown[0]!r}"
                f"{did_you_mean(unknown[0], FORECAST_COLUMNS)}; a forecast has the columns "
                f"{', '.join(FORECAST_COLUMNS)} (queue, aht_s and patience_s optional)")
        return _from_rows(table, source, header_lines, interval_s, options, history=False)
    if "offered" in names:
        kept = [n for n in (*REQUIRED_COLUMNS, "queue", *HISTORY_COLUMNS) if n in names]
        history = table.select(kept).rename_columns(
            [HISTORY_COLUMNS.get(n, n) for n in kept])
        return _from_rows(history, source, header_lines, interval_s, options, history=True)
    if "arrived_s" in names:
        return _from_contacts(origin, source, interval_s, options)
    raise KpiforgeError(
        f"{source}: not a forecast (columns {', '.join(FORECAST_COLUMNS)}), `kpiforge "
        f"compute` output (interval_start, channel, offered, aht) or contacts export "
        f"(arrived_s...); found columns {', '.join(names) or 'none'}")


def _from_contacts(data: Any, source: str, interval_s: int, options: _Options) -> Forecast:
    """Observed volume and AHT per interval, channel and queue, computed by the engine."""
    grain = {900: "15min", 1800: "30min", 3600: "1h"}.get(interval_s)
    if grain is None:
        raise KpiforgeError(f"{source}: history is grouped by 15min, 30min or 1h; use one "
                            "of them as the interval")
    table = compute(data, kpis=["offered", "aht"], by=["channel", "queue"],
                    grain=grain).to_arrow()
    table = table.rename_columns([HISTORY_COLUMNS.get(n, n) for n in table.column_names])
    return _from_rows(table, source, None, interval_s, options, history=True)


def _text(table: pa.Table, name: str) -> np.ndarray:
    column = table.column(name)
    if pa.types.is_dictionary(column.type):
        column = column.cast(column.type.value_type)
    values = pc.cast(column, pa.string()).to_pylist()
    return np.array([v.strip() if isinstance(v, str) else v for v in values], dtype=object)


def _numbers(table: pa.Table, name: str, where: Any) -> np.ndarray:
    """A numeric column (NaN where empty); a cell that is not a number is an error."""
    if name not in table.column_names:
        return np.full(table.num_rows, np.nan)
    column = table.column(name)
    if pa.types.is_integer(column.type) or pa.types.is_floating(column.type):
        return pc.cast(column, pa.float64()).to_numpy(zero_copy_only=False)
    if pa.types.is_null(column.type):
        return np.full(table.num_rows, np.nan)
    values = _text(table, name)
    out = np.full(len(values), np.nan)
    for row, value in enumerate(values.tolist()):
        if value is None or value == "":
            continue
        try:
            out[row] = float(value)
        except ValueError:
            raise KpiforgeError(f"{where(row)}, column {name!r}: {value!r} is not a "
                                "number") from None
    return out


def _starts(table: pa.Table, where: Any) -> np.ndarray:
    """``interval_start`` as ``datetime64[s]`` local time."""
    column = table.column("interval_start")
    if pa.types.is_timestamp(column.type):
        if column.type.tz is not None:
            raise KpiforgeError(f"{where(0)}, column 'interval_start': give local times "
                                "without a time zone")
        return column.to_numpy().astype("datetime64[s]")
    parsed: dict[Any, np.datetime64] = {}
    out = np.empty(table.num_rows, dtype="datetime64[s]")
    for row, value in enumerate(_text(table, "interval_start").tolist()):
        if value not in parsed:
            try:
                moment = dt.datetime.fromisoformat(value)
            except (TypeError, ValueError):
                raise KpiforgeError(f"{where(row)}, column 'interval_start': {value!r} is not "
                                    "an ISO 8601 time such as 2026-11-16T09:00") from None
            if moment.tzinfo is not None:
                raise KpiforgeError(f"{where(row)}, column 'interval_start': {value!r} has a "
                                    "time zone; give local times without one")
            parsed[value] = np.datetime64(moment, "s")
        out[row] = parsed[value]
    return out


def _from_rows(table: pa.Table, source: str, header_lines: int | None, interval_s: int,
               options: _Options, history: bool) -> Forecast:
    """Check the rows of a forecast-shaped table and put them on the planning grid;
    ``history`` fills the AHT of intervals where nothing was answered."""
    def where(row: int) -> str:
        return describe_row(source, row, header_lines)

    for name in REQUIRED_COLUMNS:
        if name not in table.column_names:
            raise KpiforgeError(f"{source}: required column {name!r} is missing (found: "
                                f"{', '.join(table.column_names)})")
    if table.num_rows == 0:
        raise KpiforgeError(f"{source}: the forecast has no rows")
    start = _starts(table, where)
    channel = _text(table, "channel")
    queue = _text(table, "queue") if "queue" in table.column_names else channel.copy()
    for name, values in (("channel", channel), ("queue", queue)):
        empty = np.flatnonzero([not v for v in values.tolist()])
        if empty.size:
            raise KpiforgeError(f"{where(int(empty[0]))}, column {name!r}: the value is "
                                "missing")
    contacts = _numbers(table, "contacts", where)
    aht = _numbers(table, "aht_s", where)
    patience = _numbers(table, "patience_s", where)
    _check_values(contacts, aht, patience, where)
    channels = _channel_models(channel, where, options)
    if options.aht_s is not None:
        aht = np.where(np.isnan(aht), options.aht_s, aht)
    live = np.array([channels[c].kind != "email" for c in channel.tolist()])
    if options.patience_s is not None:
        patience = np.where(np.isnan(patience) & live, options.patience_s, patience)
    patience = np.where(live, patience, np.nan)
    aht = _fill_aht(aht, contacts, channel, source, where, history)
    return _on_grid(start, channel, queue, contacts, aht, patience, interval_s, channels,
                    source, where)


def _check_values(contacts: np.ndarray, aht: np.ndarray, patience: np.ndarray,
                  where: Any) -> None:
    checks = (("contacts", contacts, ~(contacts >= 0), "a number >= 0 on every row"),
              ("aht_s", aht, aht <= 0, "> 0 seconds (or empty)"),
              ("patience_s", patience, patience <= 0,
               "> 0 seconds (or empty for infinite patience)"))
    with np.errstate(invalid="ignore"):
        for name, values, bad, rule in checks:
            rows = np.flatnonzero(bad)
            if rows.size:
                raise KpiforgeError(f"{where(int(rows[0]))}, column {name!r}: "
                                    f"{values[rows[0]]:g} must be {rule}")


def _channel_models(channel: np.ndarray, where: Any, options: _Options
                    ) -> dict[str, ChannelModel]:
    models = {}
    for name in dict.fromkeys(channel.tolist()):
        kind = options.kinds.get(name, name if name in KINDS else options.other_kind)
        if kind not in KINDS:
            row = int(np.flatnonzero(channel == name)[0])
            raise KpiforgeError(f"{where(row)}, column 'channel': {name!r} is not call, chat "
                                f"or email; name its kind (--kind {name}=call)")
        concurrency = options.concurrency or 1 if kind == "chat" else 1
        stretch = 0.25 if options.stretch is None else options.stretch
        models[name] = ChannelModel(kind, concurrency, stretch if kind == "chat" else 0.0)
    return models


def _fill_aht(aht: np.ndarray, contacts: np.ndarray, channel: np.ndarray, source: str,
              where: Any, history: bool) -> np.ndarray:
    """Rows with contacts but no AHT: an error, except in history where other rows of the
    channel have one (nothing was answered in that interval): their volume-weighted mean."""
    missing = np.isnan(aht) & (contacts > 0)
    if not missing.any():
        return aht
    filled = aht.copy()
    for name in dict.fromkeys(channel[missing].tolist()):
        known = (channel == name) & ~np.isnan(aht)
        if not known.any() or not history:
            row = int(np.flatnonzero(missing & (channel == name))[0])
            raise KpiforgeError(f"{where(row)}, column 'aht_s': no handling time for "
                                f"channel {name!r}; give aht_s in {source} or --aht-s")
        weights = np.maximum(contacts[known], 1e-12)
        filled[missing & (channel == name)] = np.average(aht[known], weights=weights)
    return filled


def _on_grid(start: np.ndarray, channel: np.ndarray, queue: np.ndarray,
             contacts: np.ndarray, aht: np.ndarray, patience: np.ndarray, interval_s: int,
             channels: dict[str, ChannelModel], source: str, where: Any,
             scenario: Scenario | None = None) -> Forecast:
    """Sum rows into planning intervals and fill the grid: every interval from the first
    to the last, for every channel and queue."""
    origin = start.min().astype("datetime64[D]").astype("datetime64[s]")
    offset = (start - origin).astype(np.int64)
    slot = offset // interval_s
    keys = np.array([f"{c}\x1f{q}" for c, q in zip(channel.tolist(), queue.tolist(),
                                                    strict=True)], dtype=object)
    pairs, pair = np.unique(keys, return_inverse=True)
    _check_spacing(offset, pair, interval_s, where)
    cell = pair * (slot.max() + 1) + slot
    _check_duplicates(offset, pair, where)
    n_slots = int(slot.max() - slot.min() + 1)
    first = int(slot.min())
    grid = (np.arange(len(pairs))[:, None] * (slot.max() + 1)
            + first + np.arange(n_slots)[None, :]).ravel()
    index = np.searchsorted(grid, cell)
    total = np.bincount(index, weights=contacts, minlength=grid.size)
    out_aht = _weighted(index, aht, contacts, grid.size)
    out_patience = _weighted(index, patience, contacts, grid.size)
    pair_of = np.repeat(np.arange(len(pairs)), n_slots)
    names = [p.split("\x1f") for p in pairs.tolist()]
    starts = origin + ((first + np.tile(np.arange(n_slots), len(pairs))) * interval_s
                       ).astype("timedelta64[s]")
    order = np.lexsort((pair_of, starts))
    return Forecast(
        interval_s=interval_s, start=starts[order],
        channel=np.array([names[p][0] for p in pair_of], dtype=object)[order],
        queue=np.array([names[p][1] for p in pair_of], dtype=object)[order],
        contacts=total[order], aht_s=out_aht[order], patience_s=out_patience[order],
        channels=channels, source=source, scenario=scenario)


def _weighted(index: np.ndarray, values: np.ndarray, weights: np.ndarray, size: int
              ) -> np.ndarray:
    """Per cell, the mean of ``values`` weighted by ``weights`` (unweighted where the
    weights sum to 0); NaN where no value is known."""
    known = ~np.isnan(values)
    count = np.bincount(index[known], minlength=size)
    weight = np.bincount(index[known], weights=weights[known], minlength=size)
    weighted = np.bincount(index[known], weights=(values * weights)[known], minlength=size)
    plain = np.bincount(index[known], weights=values[known], minlength=size)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(weight > 0, weighted / weight,
                        np.where(count > 0, plain / count, np.nan))


def _check_spacing(offset: np.ndarray, pair: np.ndarray, interval_s: int, where: Any) -> None:
    """Rows may be finer than the planning interval (they are summed into it) but not
    coarser, and rows at the planning interval must start on its grid."""
    order = np.lexsort((offset, pair))
    gaps = np.diff(offset[order])
    same = pair[order][1:] == pair[order][:-1]
    steps = gaps[same & (gaps > 0)]
    if steps.size == 0:
        return
    step = int(steps.min())
    if step > interval_s:
        raise KpiforgeError(f"{where(int(order[1:][same & (gaps == step)][0]))}: rows are "
                            f"{step // 60} min apart but the interval is {interval_s // 60} "
                            f"min; use --interval {step // 60}min")
    misplaced = np.flatnonzero(offset % step)
    if step >= interval_s and misplaced.size:
        raise KpiforgeError(f"{where(int(misplaced[0]))}, column 'interval_start': does "
                            f"not start on the {interval_s // 60}-minute grid")


def _check_duplicates(offset: np.ndarray, pair: np.ndarray, where: Any) -> None:
    order = np.lexsort((offset, pair))
    same = (np.diff(offset[order]) == 0) & (np.diff(pair[order]) == 0)
    if same.any():
        row = int(order[1:][same][0])
        raise KpiforgeError(f"{where(row)}: a second row for the same interval_start, "
                            "channel and queue; give each once")


def _from_scenario(scenario: Scenario, interval_s: int, options: _Options) -> Forecast:
    """The scenario's expected contacts per interval: the simulator's demand (daily volume
    x shapes x events within opening hours, or its forecast file) per queue, times
    ``1 / (1 - (1 - resolve) x repeat)`` for the repeat contacts; mean handling (with
    after-contact work) and patience weighted by the contacts expected."""
    demand = Demand(scenario)
    slots = scenario.days * DAY_S // interval_s
    starts = np.datetime64(scenario.epoch, "s") + (
        np.arange(slots) * interval_s).astype("timedelta64[s]")
    rows: dict[str, list[Any]] = {k: [] for k in ("start", "channel", "queue", "contacts",
                                                  "aht", "patience")}
    channels = {}
    for index, channel in enumerate(scenario.channels):
        pieces = [demand.day(index, day) for day in range(scenario.days)]
        start, end, expected, queue, handle, patience = (
            np.concatenate([getattr(p, name) for p in pieces]) for name in (
                "start", "end", "expected", "queue", "handle_factor", "patience_factor"))
        end = np.minimum(end, scenario.horizon_s)
        keep = end > start
        start, end, queue = start[keep], end[keep], queue[keep]
        density = expected[keep] / (end - start)
        aht = channel.aht_s.expected * handle[keep] + channel.acw_s.expected
        wait = (channel.patience_s.expected if channel.patience_s else 1.0) * patience[keep]
        repeats = 1 / (1 - (1 - channel.resolve) * channel.repeat)
        for q, (name, share) in enumerate(channel.queues.items()):
            weight = density * np.where(queue < 0, share, queue == q)
            contacts = _per_slot(start, end, weight, interval_s, slots)
            finite = np.isfinite(wait)
            with np.errstate(invalid="ignore", divide="ignore"):
                mean_aht = _per_slot(start, end, weight * aht, interval_s, slots) / contacts
                mean_wait = _per_slot(start[finite], end[finite], (weight * wait)[finite],
                                      interval_s, slots) / _per_slot(
                    start[finite], end[finite], weight[finite], interval_s, slots)
            rows["start"].append(starts)
            rows["channel"].append(np.full(slots, channel.name, dtype=object))
            rows["queue"].append(np.full(slots, name, dtype=object))
            rows["contacts"].append(contacts * repeats)
            rows["aht"].append(np.where(contacts > 0, mean_aht, aht.mean() if aht.size
                                        else channel.aht_s.expected))
            rows["patience"].append(mean_wait)
        channels[channel.name] = _scenario_channel(scenario, channel.name, options)
    columns = {k: np.concatenate(v) for k, v in rows.items()}
    return _on_grid(columns["start"], columns["channel"], columns["queue"],
                    columns["contacts"], columns["aht"], columns["patience"], interval_s,
                    channels, scenario.source, lambda row: scenario.source, scenario)


def _per_slot(start: np.ndarray, end: np.ndarray, density: np.ndarray, interval_s: int,
              slots: int) -> np.ndarray:
    """Per planning slot from the epoch, the integral of piecewise-constant ``density``."""
    return interval_sums(np.zeros(len(start), dtype=np.int64), start, end, density,
                         float(interval_s), slots, 1)[0]


def _scenario_channel(scenario: Scenario, name: str, options: _Options) -> ChannelModel:
    channel = scenario.channel(name)
    if channel.kind != "chat":
        return ChannelModel(channel.kind,
                            reply_sla_s=channel.reply_sla_s if channel.kind == "email"
                            else None)
    keys = {name, *channel.queue_keys()}
    concurrency = max((s.concurrency for s in scenario.staffing.shifts
                       if s.tier == 1 and keys & set(s.skills)), default=1)
    return ChannelModel("chat", options.concurrency or concurrency,
                        channel.concurrency_stretch if options.stretch is None
                        else options.stretch)
