"""Staffing requirements: the agents every interval of a forecast needs, per channel.

A planner asks "how many agents does each half-hour of next week need?". Per interval,
channel and queue this answers with the fewest agents on the phones (``agents``) meeting
the channel's target, and the head count to schedule once shrinkage takes its share
(``scheduled``), with the service level, ASA, abandonment and occupancy they give:

- **calls**: Erlang A when the callers' patience is known, else Erlang C;
- **chat**: an agent holds ``concurrency`` chats, each slowed by the others (handling
  stretched by ``1 + stretch x (concurrency - 1)`` when the agent is full, the simulator's
  model). The analytic answer treats the agents as ``agents x concurrency`` servers with
  that stretched handling time: exact when agents are full, pessimistic when they are not,
  so it errs on the side of meeting the target (see the planner's guide for how it compares
  with the simulator);
- **email** and other deferred work: a workload model. Each interval's work (contacts x
  AHT) is spread evenly over the reply target's window, so every email is answered within
  it, and the backlog of work not yet done is carried from interval to interval (first in,
  first out); the reply times and the share within the target come from that fluid queue.

Targets default to 80 % within 20 s for calls, 60 s for chat and 24 h for email (a
scenario's own email ``reply_sla_s`` replaces the 24 h). ``max_occupancy`` adds agents until
occupancy is at most that share. ``method="simulate"`` starts from the analytic answer and
moves each interval's head count until the simulator meets the target at the stated
confidence (:mod:`kpiforge.simulations.verification`).
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Mapping
from typing import Any

import attrs
import numpy as np
import pyarrow as pa

from kpiforge.errors import KpiforgeError
from kpiforge.io.output import csv_text, json_text, write_parquet, write_text
from kpiforge.simulations.erlang import fewest_agents, queue_metrics
from kpiforge.simulations.forecast import Forecast, parse_seconds, read_forecast
from kpiforge.simulations.verification import simulate_requirements

#: Default targets per channel kind: service level, answered within (seconds).
DEFAULT_TARGETS = {"call": (0.8, 20.0), "chat": (0.8, 60.0), "email": (0.8, 86_400.0)}
METHODS = ("erlang", "simulate")
FORMATS = ("table", "csv", "json", "parquet")
#: The output columns, in order (``method="simulate"`` adds the service level's interval).
COLUMNS = ("interval_start", "channel", "queue", "contacts", "aht_s", "agents", "scheduled",
           "service_level", "asa_s", "abandonment", "occupancy")
SIMULATED_COLUMNS = ("service_level_low", "service_level_high")


@attrs.frozen
class Target:
    """A channel's service-level target: ``service_level`` of contacts answered (emails
    replied to) within ``within_s`` seconds."""

    service_level: float
    within_s: float


@attrs.frozen(eq=False)
class Requirements:
    """Agents per interval, channel and queue: :data:`COLUMNS` as arrays, one row each.

    ``interval_start`` is ``datetime64[s]`` (local time); undefined values (the service
    level of an interval without contacts) are NaN. ``targets`` holds each channel's target,
    ``forecast`` the input it was computed from.
    """

    columns: Mapping[str, np.ndarray]
    forecast: Forecast
    targets: Mapping[str, Target]
    shrinkage: float
    max_occupancy: float | None
    method: str
    confidence: float | None = None

    def __len__(self) -> int:
        return len(self.columns["agents"])

    def __getitem__(self, column: str) -> np.ndarray:
        return self.columns[column]

    @property
    def interval_s(self) -> int:
        return self.forecast.interval_s

    def to_arrow(self) -> pa.Table:
        """An Arrow table; NaN becomes null."""
        out = {}
        for name, values in self.columns.items():
            if values.dtype.kind == "f":
                out[name] = pa.array(values, mask=np.isnan(values))
            elif values.dtype.kind == "O":
                out[name] = pa.array(values.tolist(), pa.string())
            else:
                out[name] = pa.array(values)
        return pa.table(out)

    def to_pandas(self) -> Any:
        """A pandas DataFrame (needs pandas)."""
        return self.to_arrow().to_pandas()

    def to_records(self) -> list[dict[str, Any]]:
        """JSON-ready rows: ``interval_start`` as ISO time, None where undefined."""
        columns: dict[str, list[Any]] = {}
        for name, values in self.columns.items():
            if values.dtype.kind == "M":
                columns[name] = np.datetime_as_string(values, unit="s").tolist()
            elif values.dtype.kind == "f":
                columns[name] = [None if math.isnan(v) else v for v in values.tolist()]
            else:
                columns[name] = values.tolist()
        return [dict(zip(columns, row, strict=True))
                for row in zip(*columns.values(), strict=True)]

    def render(self, fmt: str) -> str:
        """The table as ``csv`` or ``json`` text."""
        if fmt == "json":
            return json_text(self.to_records())
        if fmt == "csv":
            return csv_text(self.to_arrow())
        raise KpiforgeError(f"cannot render format {fmt!r} as text; use csv or json")

    def write(self, path: str | os.PathLike, fmt: str) -> None:
        """Write as ``csv``, ``json`` or ``parquet``, atomically."""
        if fmt == "parquet":
            write_parquet(self.to_arrow(), path)
        else:
            write_text(self.render(fmt), path)

    def scheduled_by_interval(self) -> tuple[np.ndarray, np.ndarray]:
        """Interval starts and the head count scheduled in each, summed over channels."""
        starts, index = np.unique(self.columns["interval_start"], return_inverse=True)
        return starts, np.bincount(index, weights=self.columns["scheduled"],
                                   minlength=len(starts))


def requirements(forecast: Any, service_level: float | Mapping[str, float] | None = None,
                 within: float | str | Mapping[str, float | str] | None = None, *,
                 interval: str | float = "30min", shrinkage: float = 0.0,
                 max_occupancy: float | None = None, method: str = "erlang",
                 aht_s: float | None = None, patience_s: float | None = None,
                 kinds: Mapping[str, str] | None = None, concurrency: int | None = None,
                 stretch: float | None = None, replications: int = 10,
                 confidence: float = 0.95, seed: int = 1,
                 progress: Callable[[int, int], None] | None = None) -> Requirements:
    """Agents per interval, channel and queue for ``forecast``.

    Parameters
    ----------
    forecast
        A forecast file or frame (``interval_start, channel[, queue], contacts[, aht_s,
        patience_s]``), a scenario (path or object), history (``kpiforge compute`` output,
        a contacts file or export directory) or a :class:`Forecast`.
    service_level, within
        The target: a share (0.8) of contacts answered within seconds (20, or text such as
        ``"24h"``). One value for every channel, or a mapping of channel name or kind to
        its value (``"*"``: every channel not named); channels left out keep their kind's
        default (80 % in 20 s for calls, 60 s for chat, 24 h for email).
    interval
        The planning interval (``"30min"``); forecast rows are summed into it.
    shrinkage
        Share of scheduled time not on the phones (absence, training, coaching):
        ``scheduled = ceil(agents / (1 - shrinkage))``.
    max_occupancy
        At most this share of the agents' available time handling contacts.
    method
        ``"erlang"`` (analytic) or ``"simulate"``: from the analytic answer, replications of
        the simulator per interval move the head count until the simulated service level's
        confidence interval (at ``confidence``) lies at or above the target.
    aht_s, patience_s, kinds, concurrency, stretch
        Fill what the forecast does not say (see :func:`read_forecast`).
    replications, confidence, seed, progress
        For ``method="simulate"``: replications per head count tried, the confidence level,
        the seed of every run, and a callback ``progress(done, total)``.

    Raises :class:`KpiforgeError` for a target no staffing can reach (a service level of 1,
    or an unknown channel) and for bad forecasts, naming the interval, row or key.
    """
    if method not in METHODS:
        raise KpiforgeError(f"method: unknown method {method!r}; use erlang or simulate")
    if not 0 <= shrinkage < 1:
        raise KpiforgeError(f"shrinkage must be >= 0 and < 1, got {shrinkage:g}")
    if max_occupancy is not None and not 0 < max_occupancy <= 1:
        raise KpiforgeError(f"max_occupancy must be > 0 and <= 1, got {max_occupancy:g}")
    data = read_forecast(forecast, interval, aht_s=aht_s, patience_s=patience_s,
                         kinds=kinds, concurrency=concurrency, stretch=stretch)
    targets = channel_targets(data, service_level, within)
    columns = _analytic(data, targets, max_occupancy)
    columns["scheduled"] = scheduled_agents(columns["agents"], shrinkage)
    result = Requirements(columns=columns, forecast=data, targets=targets,
                          shrinkage=shrinkage, max_occupancy=max_occupancy, method=method)
    if method == "simulate":
        result = simulate_requirements(result, replications, confidence, seed, progress)
        result = attrs.evolve(result, columns={
            **result.columns, "scheduled": scheduled_agents(result["agents"], shrinkage)})
    return result


def scheduled_agents(agents: np.ndarray, shrinkage: float) -> np.ndarray:
    """Head count to schedule so that ``agents`` remain after ``shrinkage``:
    ``ceil(agents / (1 - shrinkage))``, exact where the division lands on a whole number."""
    needed = np.asarray(agents, dtype=np.float64) / (1 - shrinkage)
    return np.ceil(needed - 1e-9 * np.maximum(needed, 1)).astype(np.int64)


def channel_targets(forecast: Forecast, service_level: float | Mapping[str, float] | None,
                    within: float | str | Mapping[str, float | str] | None
                    ) -> dict[str, Target]:
    """Each channel's target: given for it (by name, then kind), for all, or its default."""
    targets = {}
    for name, model in forecast.channels.items():
        default_level, default_within = DEFAULT_TARGETS[model.kind]
        if model.reply_sla_s is not None:
            default_within = model.reply_sla_s
        level = float(_pick(service_level, name, model.kind, default_level))
        seconds = parse_seconds(_pick(within, name, model.kind, default_within),
                                f"within ({name})")
        if not 0 < level < 1:
            raise KpiforgeError(
                f"service_level for channel {name!r} must be above 0 and below 1, got "
                f"{level:g}: no staffing answers every contact within {seconds:g} s")
        if seconds < 0:
            raise KpiforgeError(f"within for channel {name!r} must be >= 0 s, got {seconds:g}")
        targets[name] = Target(level, seconds)
    return targets


def _pick(value: Any, name: str, kind: str, default: Any) -> Any:
    if value is None:
        return default
    if not isinstance(value, Mapping):
        return value
    return value.get(name, value.get(kind, value.get("*", default)))


def _analytic(forecast: Forecast, targets: Mapping[str, Target],
              max_occupancy: float | None) -> dict[str, np.ndarray]:
    """The analytic answer for every row, each channel kind by its own model."""
    n = len(forecast)
    columns: dict[str, np.ndarray] = {
        "interval_start": forecast.start, "channel": forecast.channel,
        "queue": forecast.queue, "contacts": forecast.contacts, "aht_s": forecast.aht_s,
        "agents": np.zeros(n, dtype=np.int64), "scheduled": np.zeros(n, dtype=np.int64),
        **{k: np.full(n, np.nan) for k in ("service_level", "asa_s", "abandonment",
                                            "occupancy")}}
    for name, model in forecast.channels.items():
        rows = np.flatnonzero(forecast.channel == name)
        target = targets[name]
        if model.kind == "email":
            answer = _deferred(forecast, rows, target, max_occupancy)
        else:
            answer = _live(forecast, rows, target, max_occupancy, model.concurrency,
                           model.stretch)
        for key, values in answer.items():
            columns[key][rows] = values
    return columns


def _live(forecast: Forecast, rows: np.ndarray, target: Target,
          max_occupancy: float | None, concurrency: int, stretch: float
          ) -> dict[str, np.ndarray]:
    """Calls and chats: the fewest agents meeting the target (and the occupancy cap) by
    Erlang A where patience is known, else Erlang C; a chat agent is ``concurrency``
    servers with stretched handling."""
    calls = forecast.contacts[rows]
    aht = forecast.aht_s[rows] * (1 + stretch * (concurrency - 1))
    patience = forecast.patience_s[rows]
    interval = float(forecast.interval_s)
    agents = np.zeros(len(rows), dtype=np.int64)
    out = {k: np.full(len(rows), np.nan) for k in ("service_level", "asa_s", "abandonment",
                                                    "occupancy")}
    busy = calls > 0
    for with_patience in (False, True):
        part = np.flatnonzero(busy & (np.isnan(patience) != with_patience))
        if not part.size:
            continue
        c, h = calls[part], aht[part]
        p = patience[part] if with_patience else None

        def metrics(n: np.ndarray, which: np.ndarray, c: np.ndarray = c, h: np.ndarray = h,
                    p: np.ndarray | None = p) -> Any:
            return queue_metrics(c[which], interval, h[which], n * concurrency,
                                 target.within_s, None if p is None else p[which])

        def meets(n: np.ndarray, which: np.ndarray, metrics: Any = metrics) -> np.ndarray:
            m = metrics(n, which)
            ok = np.asarray(m.service_level) >= target.service_level
            if max_occupancy is not None:
                ok &= np.asarray(m.occupancy) <= max_occupancy
            return ok

        found = fewest_agents(meets, c * h / interval / concurrency)
        if (found < 0).any():
            row = rows[part[int(np.flatnonzero(found < 0)[0])]]
            raise KpiforgeError(
                f"interval {_when(forecast, row)}, channel {forecast.channel[row]!r}: no "
                f"staffing reaches {target.service_level:.0%} within {target.within_s:g} s; "
                "check the forecast or lower the target")
        agents[part] = found
        m = metrics(found, np.arange(part.size))
        out["service_level"][part] = m.service_level
        out["asa_s"][part] = m.asa
        out["abandonment"][part] = m.abandon_rate
        out["occupancy"][part] = m.occupancy
    return {"agents": agents, **out}


def _deferred(forecast: Forecast, rows: np.ndarray, target: Target,
              max_occupancy: float | None) -> dict[str, np.ndarray]:
    """Email: each interval's work spread evenly over the reply window, worked first in,
    first out, with the backlog carried from interval to interval."""
    interval = float(forecast.interval_s)
    queues = forecast.queue[rows]
    agents = np.zeros(len(rows), dtype=np.int64)
    out = {k: np.full(len(rows), np.nan) for k in ("service_level", "asa_s", "abandonment",
                                                    "occupancy")}
    cap = 1.0 if max_occupancy is None else max_occupancy
    window = max(1, int(target.within_s // interval))
    for queue in dict.fromkeys(queues.tolist()):
        part = np.flatnonzero(queues == queue)  # rows are in time order
        work = forecast.contacts[rows[part]] * np.nan_to_num(forecast.aht_s[rows[part]])
        spread = np.convolve(work, np.ones(window) / window)[:part.size]
        needed = np.ceil(spread / (interval * cap) - 1e-9).astype(np.int64)
        fluid = fluid_queue(work, needed * interval * cap, interval, target.within_s)
        agents[part] = needed
        out["service_level"][part] = fluid["service_level"]
        out["asa_s"][part] = fluid["reply_s"]
        out["abandonment"][part] = np.where(work > 0, 0.0, np.nan)
        with np.errstate(invalid="ignore", divide="ignore"):
            out["occupancy"][part] = np.where(needed > 0, fluid["done"] / (needed * interval),
                                              np.nan)
    return {"agents": agents, **out}


#: Points per interval at which the fluid queue's reply times are read.
_FLUID_POINTS = 16


def fluid_queue(work: np.ndarray, capacity: np.ndarray, interval_s: float, within_s: float
                ) -> dict[str, np.ndarray]:
    """Work (seconds) arriving evenly within each interval, served first in, first out at
    ``capacity`` seconds of work per interval: work done per interval, and for the work
    arriving in each interval its mean reply time and the share replied within
    ``within_s``. Work still open at the end is finished at the last interval's capacity."""
    arrived = np.concatenate([[0.0], np.cumsum(work)])
    done = np.zeros_like(arrived)
    for i in range(len(work)):  # a running minimum: the backlog is carried forward
        done[i + 1] = min(arrived[i + 1], done[i] + capacity[i])
    times = np.arange(len(arrived)) * interval_s
    left = arrived[-1] - done[-1]
    if left > 0:  # the last interval's staffing carries on until the backlog clears
        rate = capacity[-1] / interval_s if len(capacity) else 0.0
        done = np.append(done, arrived[-1])
        times = np.append(times, times[-1] + (left / rate if rate > 0 else np.inf))
    fraction = (np.arange(_FLUID_POINTS) + 0.5) / _FLUID_POINTS
    level = arrived[:-1, None] + work[:, None] * fraction[None, :]
    at = (np.arange(len(work))[:, None] + fraction[None, :]) * interval_s
    rising = np.concatenate([[True], np.diff(done) > 0])  # first time each level is reached
    finished = np.interp(level, done[rising], times[rising])
    reply = np.maximum(finished - at, 0.0)
    with np.errstate(invalid="ignore"):
        in_time = (reply <= within_s + 1e-9).mean(axis=1)
        mean_reply = reply.mean(axis=1)
    has_work = work > 0
    return {"done": np.diff(done[:len(work) + 1]),
            "service_level": np.where(has_work, in_time, np.nan),
            "reply_s": np.where(has_work, mean_reply, np.nan)}


def _when(forecast: Forecast, row: int) -> str:
    return str(np.datetime_as_string(forecast.start[row], unit="m"))
