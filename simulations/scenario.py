"""Scenarios: what a planner states about demand and staffing, loaded from TOML.

A scenario describes a contact centre over a number of days: for each channel (call, chat,
email) the daily volume and how it spreads over the day, the week, the year and dated events
(or a forecast file of contacts per interval), opening hours; how long contacts take and how
long callers wait before hanging up; which queues exist; and who works when (shifts, breaks
with windows, skills, chat concurrency, shrinkage, a second tier, dated overrides). Every key
is checked on load: an unknown key, a negative rate, a profile of the wrong length or an
impossible shift is an error naming the file and the key.
"""

from __future__ import annotations

import copy
import datetime as dt
import math
import tomllib
from collections.abc import Callable, Mapping
from importlib.resources import as_file, files
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import attrs
import tomli_w

from kpiforge.errors import did_you_mean
from kpiforge.simulations.customers import CustomerBase, month_starts, parse_customers
from kpiforge.simulations.distributions import Distribution
from kpiforge.simulations.overrides import Change, OverrideError
from kpiforge.simulations.scenario_forecast import (
    Forecast,
    ForecastRow,
    build_forecast,
    check_channels,
    read_rows,
)
from kpiforge.simulations.sections import (
    ALL_DAY,
    DAY_S,
    MAX_CONCURRENCY,
    MAX_CUSTOMERS,
    MAX_DAYS,
    MAX_DURATION_S,
    MAX_POINTS,
    MAX_SEED,
    MAX_STRETCH,
    WEEKDAYS,
    Hours,
    ScenarioError,
    Section,
    agents_per_day,
    by_weekday,
    clock,
    clock_seconds,
    date,
    distribution,
    hours,
    hours_text,
    names,
    normalised,
    number,
    profile,
    required,
    shape,
    text,
    weekday_hours,
    zone_name,
)

__all__ = ["BUILTIN_SCENARIOS", "DAY_S", "KINDS", "TIER2", "WEEKDAYS", "Break", "Channel",
           "Event", "Satisfaction", "Scenario", "ScenarioError", "Shift", "Staffing",
           "StaffingOverride", "builtin_scenario", "load_scenario", "parse_scenario",
           "read_raw"]

#: Scenarios shipped with kpiforge (``simulations/scenarios/NAME.toml``).
BUILTIN_SCENARIOS = ("demo", "flat", "december", "launch", "summer")
KINDS = ("call", "chat", "email")
TIER2 = "tier2"


@attrs.frozen
class Channel:
    """One channel's demand and contact behaviour."""

    name: str
    kind: str
    volume_per_day: float
    intraday: tuple[float, ...]
    weekday: tuple[float, ...]
    monthly: tuple[float, ...]
    queues: Mapping[str, float]
    aht_s: Distribution
    acw_s: Distribution
    patience_s: Distribution | None
    concurrency_stretch: float
    reply_sla_s: float
    wait_tolerance_s: float
    resolve: float
    repeat: float
    repeat_delay_s: Distribution
    escalate: float
    tier2_aht_s: Distribution
    #: Intraday shapes of particular weekdays (``"sat"``), instead of ``intraday``.
    intraday_by_weekday: Mapping[str, tuple[float, ...]] = attrs.field(factory=dict)
    #: Opening hours per weekday, Monday first: no contacts arrive outside them.
    hours: tuple[Hours, ...] = (ALL_DAY,) * 7

    def queue_keys(self) -> list[str]:
        return [f"{self.name}/{q}" for q in self.queues]

    def shape_on(self, weekday: int) -> tuple[float, ...]:
        """The intraday shape of ``weekday`` (0 = Monday)."""
        return self.intraday_by_weekday.get(WEEKDAYS[weekday], self.intraday)


@attrs.frozen
class Break:
    """A break taken once per shift, placed within a window.

    Offsets count from the shift's start: the break starts between ``earliest_s`` and
    ``latest_s`` (the same for a break at a fixed time) and lasts ``length_s``. The agents
    on the shift that day are staggered evenly across the window (:meth:`offset`).
    """

    earliest_s: float
    latest_s: float
    length_s: float

    def offset(self, position: int, heads: int) -> float:
        """When agent ``position`` of ``heads`` on the shift starts this break, to the
        minute: the starts spread evenly from the earliest to the latest (a window ``heads``
        breaks long is taken in relay, one agent after another), the middle for one agent."""
        spread = self.latest_s - self.earliest_s
        share = position / (heads - 1) if heads > 1 else 0.5
        return self.earliest_s + round(spread * share / 60) * 60.0


@attrs.frozen
class Shift:
    """A group of agents working the same hours and skills.

    ``start_s``/``end_s`` are seconds from midnight (``end_s`` past 86,400 for a shift over
    midnight); ``agents`` is the head count per weekday (Monday first).
    """

    name: str
    start_s: float
    end_s: float
    agents: tuple[int, ...]
    skills: tuple[str, ...]
    concurrency: int
    tier: int
    breaks: tuple[Break, ...]

    @property
    def agent_prefix(self) -> str:
        """What its agents' ids start with: ``late shift`` has ``late_shift-01``..."""
        return self.name.replace(" ", "_")


@attrs.frozen
class StaffingOverride:
    """Staffing on a range of dates (``first`` to ``last``, inclusive) that differs from the
    weekly pattern: a head count (``agents``, per weekday), a ``scale`` on head counts, a
    hiring ``ramp`` (head count rising linearly from the first date to the last), for one
    ``shift`` or all; or ``shifts`` of its own that replace the pattern on those dates."""

    name: str
    first: dt.date
    last: dt.date
    shift: str | None = None
    agents: tuple[int, ...] | None = None
    scale: float | None = None
    ramp: tuple[int, int] | None = None
    shifts: tuple[Shift, ...] | None = None

    def covers(self, day: dt.date) -> bool:
        return self.first <= day <= self.last

    def apply(self, day: dt.date, plan: list[tuple[Shift, int]]) -> list[tuple[Shift, int]]:
        """The plan of ``day`` (shift, head count) after this override."""
        if self.shifts is not None:
            return [(shift, shift.agents[day.weekday()]) for shift in self.shifts]
        return [(shift, self._heads(day, heads) if self.shift in (None, shift.name) else heads)
                for shift, heads in plan]

    def _heads(self, day: dt.date, heads: int) -> int:
        if self.agents is not None:
            return self.agents[day.weekday()]
        if self.scale is not None:
            return round(heads * self.scale)
        assert self.ramp is not None, "an override sets agents, scale, ramp or shifts"
        span = (self.last - self.first).days
        progress = (day - self.first).days / span if span else 1.0
        low, high = self.ramp
        return round(low + (high - low) * progress)


@attrs.frozen
class Staffing:
    shifts: tuple[Shift, ...]
    shrinkage: float
    hourly_cost: float
    overrides: tuple[StaffingOverride, ...] = ()

    def on(self, day: dt.date) -> list[tuple[Shift, int]]:
        """Who works on ``day``: each shift and its head count, overrides applied in order."""
        plan = [(shift, shift.agents[day.weekday()]) for shift in self.shifts]
        for override in self.overrides:
            if override.covers(day):
                plan = override.apply(day, plan)
        return plan


@attrs.frozen
class Event:
    """A dated change to demand: a campaign, a holiday peak, an outage, a closure. It
    multiplies volume and may set the day's intraday shape and opening hours."""

    name: str
    start: dt.date
    days: int
    multiplier: float
    channels: tuple[str, ...]
    intraday: tuple[float, ...] | None = None
    hours: Hours | None = None

    def covers(self, day: dt.date, channel: str) -> bool:
        return channel in self.channels and \
            self.start <= day < self.start + dt.timedelta(days=self.days)


@attrs.frozen
class Satisfaction:
    """The survey model: a latent score drawn per answered contact (see the planner's guide).

    ``score = base - wait_penalty_per_min x minutes waited beyond the channel's tolerance -
    unresolved_penalty (if unresolved) - escalation_penalty (if escalated) + Normal(0, noise)``;
    CSAT is the score rounded into 1-5, NPS ``2.5 x (score - 1)`` plus Normal(0, noise)
    rounded into 0-10; a share ``response_rate`` of answered contacts respond.
    """

    response_rate: float = 0.3
    base: float = 4.4
    wait_penalty_per_min: float = 0.15
    unresolved_penalty: float = 1.5
    escalation_penalty: float = 0.4
    noise: float = 0.7


@attrs.frozen
class Scenario:
    """A complete, validated scenario. Build one with :func:`load_scenario`.

    Times count in seconds from the midnight that starts ``start`` (the epoch), in
    ``timezone`` when given (an IANA zone: the run records it, and ``compute`` computes its
    grains and labels there), else UTC. The run
    simulates ``warmup`` days before it (not reported) and ``warmdown`` days after the last
    reported day, in which no new contacts arrive and open work finishes.
    """

    name: str
    days: int
    seed: int
    start: dt.date
    interval_s: int
    customers: int
    channels: tuple[Channel, ...]
    staffing: Staffing
    events: tuple[Event, ...]
    satisfaction: Satisfaction
    warmup: float = 0.0
    warmdown: float = 0.0
    forecast: Forecast | None = None
    #: The ``[customers]`` section: the customer base the run writes a ``customers`` table
    #: for (None: contacts only, from ``customers`` anonymous customers).
    customer_base: CustomerBase | None = None
    timezone: str | None = None
    source: str = attrs.field(default="<scenario>", eq=False)

    @property
    def horizon_s(self) -> float:
        """The end of the reported days."""
        return float(self.days * DAY_S)

    @property
    def begin_s(self) -> float:
        """Where the run starts: before the epoch by the warm-up."""
        return -self.warmup * DAY_S

    @property
    def end_s(self) -> float:
        """Where the run ends: after the horizon by the warm-down."""
        return self.horizon_s + self.warmdown * DAY_S

    @property
    def first_day(self) -> int:
        """The first simulated day, counted from ``start`` (negative in the warm-up): the
        day holding :attr:`begin_s`."""
        return math.floor(self.begin_s / DAY_S)

    @property
    def last_day(self) -> int:
        """One past the last simulated day (the warm-down included): the day that ends at
        or after :attr:`end_s`."""
        return math.ceil(self.end_s / DAY_S)

    @property
    def epoch(self) -> dt.datetime:
        return dt.datetime.combine(self.start, dt.time())

    @property
    def recorded_epoch(self) -> dt.datetime:
        """The epoch as the run's tables record it: with the zone's offset when the
        scenario has a time zone (an instant), else naive."""
        if self.timezone is None:
            return self.epoch
        return self.epoch.replace(tzinfo=ZoneInfo(self.timezone))

    def date(self, day: int) -> dt.date:
        """The calendar date of day ``day`` (0 = ``start``)."""
        return self.start + dt.timedelta(days=day)

    def channel(self, name: str) -> Channel:
        return next(c for c in self.channels if c.name == name)

    def to_dict(self) -> dict[str, Any]:
        """The resolved scenario (defaults filled in) as TOML-ready data."""
        out: dict[str, Any] = {
            "scenario": {"name": self.name, "days": self.days, "seed": self.seed,
                         "start": self.start, "interval_min": self.interval_s // 60,
                         "customers": self.customers, "warmup": self.warmup,
                         "warmdown": self.warmdown,
                         **({"timezone": self.timezone} if self.timezone else {})},
            "channels": {c.name: _channel_dict(c) for c in self.channels},
            "staffing": {
                "shrinkage": self.staffing.shrinkage,
                "hourly_cost": self.staffing.hourly_cost,
                "shifts": [_shift_dict(s) for s in self.staffing.shifts],
                "overrides": [_override_dict(o) for o in self.staffing.overrides],
            },
            "events": [_event_dict(e) for e in self.events],
            "satisfaction": attrs.asdict(self.satisfaction),
        }
        if self.customer_base is not None:
            del out["scenario"]["customers"]
            out["customers"] = self.customer_base.to_dict()
        if self.forecast is not None:
            out["forecast"] = {"file": self.forecast.file,
                               "interval_min": round(self.forecast.interval_s / 60)}
        return out

    def to_toml(self) -> str:
        return tomli_w.dumps(self.to_dict())


def _hours_dict(week: tuple[Hours, ...]) -> str | dict[str, str]:
    if len(set(week)) == 1:
        return hours_text(week[0])
    return {day: hours_text(h) for day, h in zip(WEEKDAYS, week, strict=True)}


def _channel_dict(c: Channel) -> dict[str, Any]:
    out: dict[str, Any] = {
        "kind": c.kind, "volume_per_day": c.volume_per_day, "intraday": list(c.intraday),
        "intraday_by_weekday": {day: list(s) for day, s in c.intraday_by_weekday.items()},
        "hours": _hours_dict(c.hours),
        "weekday": list(c.weekday), "monthly": list(c.monthly), "queues": dict(c.queues),
        "aht_s": c.aht_s.to_toml(), "acw_s": c.acw_s.to_toml(),
        "concurrency_stretch": c.concurrency_stretch, "reply_sla_s": c.reply_sla_s,
        "wait_tolerance_s": c.wait_tolerance_s, "resolve": c.resolve, "repeat": c.repeat,
        "repeat_delay_s": c.repeat_delay_s.to_toml(), "escalate": c.escalate,
        "tier2_aht_s": c.tier2_aht_s.to_toml(),
    }
    if c.patience_s is not None:
        out["patience_s"] = c.patience_s.to_toml()
    return out


def _break_dict(start_s: float, b: Break) -> dict[str, Any]:
    out: dict[str, Any] = {"start": clock(start_s + b.earliest_s), "minutes": b.length_s / 60}
    if b.latest_s != b.earliest_s:
        out["end"] = clock(start_s + b.latest_s + b.length_s)
    return out


def _shift_dict(s: Shift) -> dict[str, Any]:
    end = s.end_s - DAY_S if s.end_s > DAY_S else s.end_s  # over midnight, or 24:00
    return {"name": s.name, "start": clock(s.start_s), "end": clock(end),
            "agents": list(s.agents), "skills": list(s.skills), "concurrency": s.concurrency,
            "tier": s.tier, "breaks": [_break_dict(s.start_s, b) for b in s.breaks]}


def _override_dict(o: StaffingOverride) -> dict[str, Any]:
    out: dict[str, Any] = {"name": o.name, "start": o.first, "end": o.last}
    if o.shift is not None:
        out["shift"] = o.shift
    if o.agents is not None:
        out["agents"] = list(o.agents)
    if o.scale is not None:
        out["scale"] = o.scale
    if o.ramp is not None:
        out["ramp"] = list(o.ramp)
    if o.shifts is not None:
        out["shifts"] = [_shift_dict(s) for s in o.shifts]
    return out


def _event_dict(e: Event) -> dict[str, Any]:
    out: dict[str, Any] = {"name": e.name, "start": e.start, "days": e.days,
                           "multiplier": e.multiplier, "channels": list(e.channels)}
    if e.intraday is not None:
        out["intraday"] = list(e.intraday)
    if e.hours is not None:
        out["hours"] = hours_text(e.hours)
    return out


# --- loading ------------------------------------------------------------------------------


def parse_scenario(raw: Mapping[str, Any], source: str = "<scenario>") -> Scenario:
    """Validate raw TOML data into a :class:`Scenario`; errors name ``source`` and the key."""
    top = Section(raw, "", source)
    head_section = top.section("scenario")
    _forecast_shorthand(head_section, top)
    count_in_head = "customers" in head_section.data
    head = _head(head_section)
    customer_base = None
    if "customers" in top.data:
        customers = top.section("customers")
        if count_in_head:
            customers.fail("give the customer count once, as [customers] count (remove "
                           "scenario.customers)", "count")
        customer_base = parse_customers(customers)
        head["customers"] = customer_base.count
        try:
            month_starts(head["start"], customer_base.months)
        except (ValueError, OverflowError):
            customers.fail(f"{customer_base.months} months from {head['start']} leave the "
                           f"calendar (it ends {dt.date.max})", "months")
    else:
        top.known.append("customers")
    forecast_file = _forecast_file(top, source)
    rows = read_rows(forecast_file[0]) if forecast_file else []
    channels_section = top.section("channels")
    if forecast_file:
        check_channels(rows, list(channels_section.data), str(forecast_file[0]))
    in_forecast = {row.channel for row in rows}
    for channel_name in channels_section.data:
        if not isinstance(channel_name, str) or not channel_name:
            channels_section.fail(f"a channel's name is text, got {channel_name!r}")
    channels = tuple(_channel(channels_section.section(channel_name), channel_name,
                              channel_name in in_forecast)
                     for channel_name in list(channels_section.data))
    if not channels:
        channels_section.fail("needs at least one channel, e.g. [channels.call]")
    staffing = _staffing(top.section("staffing"), channels)
    events = tuple(_event(e, channels) for e in top.items("events"))
    satisfaction = _satisfaction(top.section("satisfaction", {}))
    top.done()
    forecast = _forecast(forecast_file, rows, head["start"], channels)
    return Scenario(**head, channels=channels, staffing=staffing, events=events,
                    satisfaction=satisfaction, forecast=forecast,
                    customer_base=customer_base, source=source)


def _head(head: Section) -> dict[str, Any]:
    out = {
        "name": head.take("name", text, "scenario"),
        "days": head.take("days", number(1, MAX_DAYS, integer=True)),
        "seed": head.take("seed", number(0, MAX_SEED, integer=True)),
        "start": head.take("start", date, dt.date(2026, 1, 5)),
        "interval_s": head.take("interval_min", number(1, 60, integer=True), 15) * 60,
        "customers": head.take("customers", number(1, MAX_CUSTOMERS, integer=True), 10_000),
        "warmup": head.take("warmup", number(0, MAX_DAYS), 0.0),
        "warmdown": head.take("warmdown", number(0, MAX_DAYS), 0.0),
        "timezone": head.take("timezone", zone_name, None),
    }
    if 3600 % out["interval_s"]:
        head.fail(f"must divide an hour (5, 10, 15, 30, 60), got {out['interval_s'] // 60}",
                  "interval_min")
    # The run reaches from the day before the warm-up (a night shift) past the warm-down.
    first = out["start"].toordinal() - math.ceil(out["warmup"]) - 1
    last = out["start"].toordinal() + out["days"] + math.ceil(out["warmdown"])
    if first < dt.date.min.toordinal() or last > dt.date.max.toordinal():
        head.fail(f"a run of {out['days']} day(s) from {out['start']} (with its warm-up and "
                  f"warm-down) leaves the calendar ({dt.date.min} to {dt.date.max})",
                  "start")
    head.done()
    return out


def _forecast_shorthand(head: Section, top: Section) -> None:
    """``scenario.forecast = "file.csv"``: the ``[forecast]`` table with the file alone."""
    head.known.append("forecast")
    if "forecast" in head.data:
        if "forecast" in top.data:
            head.fail("give the forecast here or as a [forecast] table, not both", "forecast")
        top.data["forecast"] = {"file": head.data.pop("forecast")}


def _forecast_file(top: Section, source: str) -> tuple[Path, int | None] | None:
    """The forecast file (relative to the scenario's folder) and its interval length."""
    if "forecast" not in top.data:
        top.known.append("forecast")
        return None
    section = top.section("forecast")
    name = section.take("file", text)
    interval_min = section.take("interval_min", number(0, integer=True, above=True), None)
    section.done()
    path = Path(name)
    if not path.is_absolute() and Path(source).is_file():
        path = Path(source).parent / path
    if not path.is_file():
        section.fail(f"no such forecast file {str(path)!r}", "file")
    return path, interval_min


def _forecast(file: tuple[Path, int | None] | None, rows: list[ForecastRow], start: dt.date,
              channels: tuple[Channel, ...]) -> Forecast | None:
    if file is None:
        return None
    return build_forecast(file[0], rows, file[1], dt.datetime.combine(start, dt.time()),
                          {c.name: list(c.queues) for c in channels},
                          {c.name: c.acw_s.expected for c in channels})


def _channel(s: Section, name: str, in_forecast: bool) -> Channel:
    kind = required(s, "kind", _kind_of, name not in KINDS, name)
    email = kind == "email"
    aht = s.take("aht_s", distribution)
    reply_sla = s.take("reply_sla_s", number(0, MAX_DURATION_S, above=True),
                       86_400.0 if email else 20.0)
    channel = Channel(
        name=name, kind=kind,
        volume_per_day=required(s, "volume_per_day", number(0), not in_forecast, 0.0),
        intraday=s.take("intraday", shape, shape("flat")),
        intraday_by_weekday=s.take("intraday_by_weekday", by_weekday(shape), {}),
        hours=s.take("hours", weekday_hours, (ALL_DAY,) * 7),
        weekday=s.take("weekday", profile(7, "mean"), (1.0,) * 7),
        monthly=s.take("monthly", profile(12, "mean"), (1.0,) * 12),
        queues=s.take("queues", _queues, {name: 1.0}), aht_s=aht,
        acw_s=s.take("acw_s", distribution, Distribution.fixed(0)),
        patience_s=None if email else s.take("patience_s", distribution, None),
        concurrency_stretch=s.take("concurrency_stretch", number(0, MAX_STRETCH), 0.25),
        reply_sla_s=reply_sla,
        wait_tolerance_s=s.take("wait_tolerance_s", number(0, MAX_DURATION_S),
                                reply_sla if email else 0.0),
        resolve=s.take("resolve", number(0, 1), 1.0),
        repeat=s.take("repeat", number(0, 1), 0.0),
        repeat_delay_s=s.take("repeat_delay_s", distribution,
                              Distribution("exponential", mean=86_400.0)),
        escalate=s.take("escalate", number(0, 1), 0.0),
        tier2_aht_s=s.take("tier2_aht_s", distribution, aht),
    )
    if email and "patience_s" in s.data:
        s.fail("emails do not abandon; remove patience_s", "patience_s")
    s.done()
    return channel


def _kind_of(value: Any) -> str:
    if value not in KINDS:
        raise ValueError(f"must be one of {', '.join(KINDS)}, got {value!r}")
    return value


def _queues(value: Any) -> dict[str, float]:
    if not isinstance(value, Mapping) or not value:
        raise ValueError(f"must be a table of queue = share, got {value!r}")
    shares = {}
    for name, share in value.items():
        try:
            shares[str(name)] = number(0, above=True)(share)
        except ValueError as exc:
            raise ValueError(f"{name}: {exc}") from None
    return dict(zip(shares, normalised(list(shares.values())), strict=True))


# --- staffing -----------------------------------------------------------------------------


def _staffing(s: Section, channels: tuple[Channel, ...]) -> Staffing:
    skills = _skills(channels)
    shrinkage = s.take("shrinkage", number(0, 0.95), 0.0)
    hourly_cost = s.take("hourly_cost", number(0), 20.0)
    flat = s.take("agents", number(0, integer=True), None)
    listed = s.items("shifts") if "shifts" in s.data else None
    if (flat is None) == (listed is None):
        s.fail("give either agents = N (the same agents all day, every day) or "
               "[[staffing.shifts]], not both" if flat is not None else
               "needs agents = N or [[staffing.shifts]]")
    shifts = _flat_shifts(s, flat, channels) if flat is not None else \
        [_shift(item, skills, channels) for item in listed or []]
    prefixes: dict[str, str] = {}
    if listed is not None:
        _check_names(listed, shifts, prefixes)
    known = {sh.name: sh for sh in shifts}
    overrides = tuple(_override(item, skills, channels, known, prefixes)
                      for item in s.items("overrides"))
    s.done()
    _check_served(s, shifts, channels)
    return Staffing(shifts=tuple(shifts), shrinkage=shrinkage, hourly_cost=hourly_cost,
                    overrides=overrides)


def _check_names(items: list[Section], shifts: list[Shift], prefixes: dict[str, str]
                 ) -> None:
    """A list of shifts names each once, since a name is a group of agents; and two names
    never share agent ids (``late shift`` and ``late_shift`` would both have
    ``late_shift-01``). ``prefixes`` holds the agent-id prefixes of the shifts so far."""
    seen: set[str] = set()
    for item, shift in zip(items, shifts, strict=True):
        if shift.name in seen:
            item.fail(f"a second shift named {shift.name!r}: its agents would be the first's; "
                      "give each shift its own name", "name")
        seen.add(shift.name)
        other = prefixes.setdefault(shift.agent_prefix, shift.name)
        if other != shift.name:
            item.fail(f"shift {shift.name!r} would share agent ids ({shift.agent_prefix}-01...) "
                      f"with shift {other!r}; rename one", "name")


def _skills(channels: tuple[Channel, ...]) -> tuple[str, ...]:
    """What a shift may list as skills: channels, their queues, and the second tier."""
    return (*(c.name for c in channels), *(k for c in channels for k in c.queue_keys()), TIER2)


def _flat_shifts(s: Section, agents: int, channels: tuple[Channel, ...]) -> list[Shift]:
    """``agents = N``: the same agents all day, every day, every skill."""
    tier2 = s.take("tier2_agents", number(0, integer=True), 0)
    concurrency = s.take("concurrency", number(1, MAX_CONCURRENCY, integer=True), 1)
    shifts = [Shift("all day", 0.0, float(DAY_S), (agents,) * 7,
                    tuple(c.name for c in channels), concurrency, 1, ())]
    if tier2:
        shifts.append(Shift("tier 2", 0.0, float(DAY_S), (tier2,) * 7, (TIER2,), 1, 2, ()))
    return shifts


def _check_served(s: Section, shifts: list[Shift], channels: tuple[Channel, ...]) -> None:
    """Every channel with demand has tier-1 agents, and escalation has a second tier."""
    tier1 = [sh for sh in shifts if sh.tier == 1]
    for channel in channels:
        served = any(channel.name in sh.skills or set(channel.queue_keys()) & set(sh.skills)
                     for sh in tier1)
        if channel.volume_per_day > 0 and not served:
            s.fail(f"no tier-1 agents have a skill for channel {channel.name!r}; add it to "
                   "a shift's skills")
        if channel.escalate > 0 and not any(sh.tier == 2 for sh in shifts):
            s.fail(f"channels.{channel.name}.escalate > 0 needs tier-2 agents "
                   "(tier2_agents = N, or a shift with tier = 2)")


def _shift(s: Section, skills: tuple[str, ...], channels: tuple[Channel, ...]) -> Shift:
    name = s.take("name", text)
    start = s.take("start", clock_seconds)
    end = s.take("end", clock_seconds)
    if end == start:
        s.fail(f"starts and ends at {clock(start)}: a shift needs some length", "end")
    if end < start:
        end += DAY_S  # over midnight
    agents = s.take("agents", agents_per_day)
    days = s.take("days", names(WEEKDAYS), WEEKDAYS)
    agents = tuple(n if WEEKDAYS[d] in days else 0 for d, n in enumerate(agents))
    tier = s.take("tier", number(1, 2, integer=True), 1)
    default_skills = (TIER2,) if tier == 2 else tuple(c.name for c in channels)
    shift_skills = s.take("skills", names(skills), default_skills)
    if tier == 2 and shift_skills != (TIER2,):
        s.fail(f"tier-2 shifts work escalations only; use skills = [\"{TIER2}\"] or leave it "
               "out", "skills")
    if tier == 1 and TIER2 in shift_skills:
        s.fail(f"{TIER2!r} is the skill of tier-2 shifts; set tier = 2", "skills")
    concurrency = s.take("concurrency", number(1, MAX_CONCURRENCY, integer=True), 1)
    breaks = _breaks(s.items("breaks"), start, end)
    s.done()
    return Shift(name, start, end, agents, shift_skills, concurrency, tier, breaks)


def _breaks(items: list[Section], start: float, end: float) -> tuple[Break, ...]:
    """Breaks at a time (``start``) or within a window (``start`` to ``end``), inside the
    shift and not overlapping one another."""
    breaks: list[Break] = []
    for b in items:
        at = b.take("start", clock_seconds)
        until = b.take("end", clock_seconds, None)
        minutes = b.take("minutes", number(0, above=True))
        b.done()
        length = minutes * 60.0
        earliest = (at - start) % DAY_S
        latest = earliest if until is None else ((until - start) % DAY_S or DAY_S) - length
        shown = f"{clock(at)}-{clock(until)}" if until is not None else clock(at)
        if latest < earliest:
            b.fail(f"the window {shown} is shorter than the break's {minutes:g} min", "end")
        if latest + length > end - start:
            b.fail(f"{shown} for {minutes:g} min is outside the shift "
                   f"{clock(start)}-{clock(end % DAY_S)}")
        if breaks and earliest < breaks[-1].latest_s + breaks[-1].length_s:
            b.fail("overlaps the break before it; list breaks in order, windows apart")
        breaks.append(Break(earliest, latest, length))
    return tuple(breaks)


def _override(s: Section, skills: tuple[str, ...], channels: tuple[Channel, ...],
              known: dict[str, Shift], prefixes: dict[str, str]) -> StaffingOverride:
    """A dated override; ``known`` holds the shifts so far by name (the weekly ones first),
    since a name is a group of agents: reused, it must keep its skills and tier."""
    first = s.take("start", date)
    last = s.take("end", date, first)
    if last < first:
        s.fail(f"{last} is before start {first}", "end")
    shift = s.take("shift", _one_of(list(known)), None)
    shifts = None
    if "shifts" in s.data:
        items = s.items("shifts")
        shifts = [_known_shift(item, skills, channels, known) for item in items]
        _check_names(items, shifts, prefixes)
    changes = {
        "agents": s.take("agents", agents_per_day, None),
        "scale": s.take("scale", number(0), None),
        "ramp": s.take("ramp", _ramp, None),
        "shifts": None if shifts is None else tuple(shifts),
    }
    given = [key for key, value in changes.items() if value is not None]
    if len(given) != 1:
        s.fail("give one of agents, scale, ramp or [[...shifts]] (shifts of its own for "
               f"these dates){'; got ' + ', '.join(given) if given else ''}")
    if shift is not None and changes["shifts"] is not None:
        s.fail("shifts replace every shift on these dates; leave out shift", "shift")
    name = s.take("name", text, f"{first}..{last}")
    s.done()
    return StaffingOverride(name, first, last, shift, **changes)


def _known_shift(s: Section, skills: tuple[str, ...], channels: tuple[Channel, ...],
                 known: dict[str, Shift]) -> Shift:
    shift = _shift(s, skills, channels)
    same = known.setdefault(shift.name, shift)
    if (same.skills, same.concurrency, same.tier) != (shift.skills, shift.concurrency,
                                                      shift.tier):
        s.fail(f"shift {shift.name!r} exists with other skills, concurrency or tier; its "
               "agents keep theirs: give this shift another name", "name")
    return shift


def _one_of(choices: list[str]) -> Callable[[Any], str]:
    def convert(value: Any) -> str:
        if value not in choices:
            raise ValueError(f"unknown shift {value!r}{did_you_mean(str(value), choices)}; "
                             f"the shifts are {', '.join(choices)}")
        return value

    return convert


def _ramp(value: Any) -> tuple[int, int]:
    if not isinstance(value, list) or len(value) != 2:
        raise ValueError(f"must be [first day's head count, last day's], got {value!r}")
    low, high = (int(number(0, integer=True)(v)) for v in value)
    return low, high


def _event(s: Section, channels: tuple[Channel, ...]) -> Event:
    event = Event(
        name=s.take("name", text),
        start=s.take("start", date),
        days=s.take("days", number(1, MAX_DAYS, integer=True), 1),
        multiplier=s.take("multiplier", number(0), 1.0),
        channels=s.take("channels", names(c.name for c in channels),
                        tuple(c.name for c in channels)),
        intraday=s.take("intraday", shape, None),
        hours=s.take("hours", hours, None),
    )
    if event.start.toordinal() + event.days > dt.date.max.toordinal():
        s.fail(f"{event.start} with {event.days} days ends past {dt.date.max}", "days")
    s.done()
    return event


def _satisfaction(s: Section) -> Satisfaction:
    defaults = Satisfaction()
    values = {
        "response_rate": s.take("response_rate", number(0, 1), defaults.response_rate),
        "base": s.take("base", number(1, 5), defaults.base),
    }
    for key in ("wait_penalty_per_min", "unresolved_penalty", "escalation_penalty", "noise"):
        values[key] = s.take(key, number(0, MAX_POINTS), getattr(defaults, key))
    s.done()
    return Satisfaction(**values)


def apply_overrides(raw: dict[str, Any], overrides: Mapping[str, str], source: str,
                    option: str = "--set") -> None:
    """Change dotted keys in raw scenario data, in order: ``staffing.agents=12``, relative
    ``staffing.agents=+5`` or ``channels.call.volume_per_day=*1.2``, every item
    ``staffing.shifts.*.agents=*1.4`` (see :mod:`~kpiforge.simulations.overrides`). Errors
    name ``source``, ``option`` and the key."""
    def resolved() -> dict[str, Any]:
        return parse_scenario(copy.deepcopy(raw), source).to_dict()

    for key, value_text in overrides.items():
        try:
            Change.parse(key, value_text).apply(raw, resolved)
        except OverrideError as exc:
            raise ScenarioError(f"{source}: {option} {key}={value_text}: {exc}") from None


def read_raw(scenario: str | Path) -> tuple[dict[str, Any], str]:
    """The TOML data of a scenario file, or of a built-in scenario by name (where no file
    of that name exists), and the source to name in errors."""
    if not Path(scenario).is_file() and str(scenario) in BUILTIN_SCENARIOS:
        with as_file(_builtin_file(str(scenario))) as path:
            return _toml(path), str(path)
    return _toml(Path(scenario)), str(scenario)


def _builtin_file(name: str) -> Traversable:
    return files("kpiforge.simulations") / "scenarios" / f"{name}.toml"


def _toml(path: Path) -> dict[str, Any]:
    source = str(path)
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        hint = "" if path.suffix else f" or built-in scenario (one of " \
            f"{', '.join(BUILTIN_SCENARIOS)}{did_you_mean(source, BUILTIN_SCENARIOS)})"
        raise ScenarioError(f"{source}: no such scenario file{hint}") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError, IsADirectoryError) as exc:
        raise ScenarioError(f"{source}: not valid TOML: {exc}") from None


def load_scenario(scenario: str | Path, overrides: Mapping[str, str] | None = None,
                  option: str = "--set") -> Scenario:
    """Read, override (``--set``) and validate a scenario: a file, or a built-in scenario
    by name (:data:`BUILTIN_SCENARIOS`)."""
    raw, source = read_raw(scenario)
    apply_overrides(raw, overrides or {}, source, option)
    return parse_scenario(raw, source)


def builtin_scenario(name: str, overrides: Mapping[str, str] | None = None) -> Scenario:
    """A scenario shipped with kpiforge (:data:`BUILTIN_SCENARIOS`): ``demo`` (a realistic
    week), ``flat`` (one call queue, flat arrivals and staffing: the Erlang A validation
    case), ``december`` (a retail December peak), ``launch`` (a product-launch spike),
    ``summer`` (a summer trough)."""
    if name not in BUILTIN_SCENARIOS:
        raise ScenarioError(f"unknown built-in scenario {name!r}"
                            f"{did_you_mean(name, BUILTIN_SCENARIOS)}; use "
                            f"{', '.join(BUILTIN_SCENARIOS)}")
    with as_file(_builtin_file(name)) as path:
        return load_scenario(path, overrides)
