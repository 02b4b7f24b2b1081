"""Scenarios: what a planner states about demand and staffing, loaded from TOML.

A scenario describes a contact centre over a number of days: for each channel (call, chat,
email) the daily volume and how it spreads over the day, the week, the year and dated events;
how long contacts take and how long callers wait before hanging up; which queues exist; and
who works when (shifts, breaks, skills, chat concurrency, shrinkage, a second tier). Every
key is checked on load: an unknown key, a negative rate, a profile of the wrong length or an
impossible shift is an error naming the file and the key.
"""

from __future__ import annotations

import datetime as dt
import tomllib
from collections.abc import Callable, Iterable, Mapping
from importlib.resources import as_file, files
from pathlib import Path
from typing import Any

import attrs
import numpy as np
import tomli_w

from kpiforge.errors import KpiforgeError, did_you_mean
from kpiforge.simulations.distributions import Distribution

DAY_S = 86_400
#: Scenarios shipped with kpiforge (``simulations/scenarios/NAME.toml``).
BUILTIN_SCENARIOS = ("demo", "flat")
KINDS = ("call", "chat", "email")
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
TIER2 = "tier2"
PROFILE_LENGTHS = (24, 48, 96)

#: Named intraday shapes, hourly from midnight (relative; normalised to the day's volume).
INTRADAY = {
    "flat": (1.0,) * 24,
    "office": (0, 0, 0, 0, 0, 0, 0.1, 0.4, 1.2, 2.0, 2.2, 2.0, 1.4, 1.7, 2.0, 1.8, 1.5, 1.1,
               0.5, 0.1, 0, 0, 0, 0),
    "extended": (0.05, 0.02, 0.01, 0.01, 0.02, 0.05, 0.2, 0.6, 1.3, 1.8, 1.9, 1.8, 1.5, 1.6,
                 1.7, 1.6, 1.4, 1.2, 1.0, 0.9, 0.7, 0.5, 0.3, 0.1),
    "evening": (0.1, 0.05, 0.02, 0.02, 0.02, 0.05, 0.1, 0.3, 0.6, 0.8, 0.9, 1.0, 1.1, 1.0,
                1.0, 1.1, 1.2, 1.4, 1.7, 2.0, 2.1, 1.8, 1.2, 0.5),
}


class ScenarioError(KpiforgeError):
    """A scenario that cannot be run, with the file and key at fault."""


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

    def queue_keys(self) -> list[str]:
        return [f"{self.name}/{q}" for q in self.queues]


@attrs.frozen
class Shift:
    """A group of agents working the same hours and skills.

    ``start_s``/``end_s`` are seconds from midnight (``end_s`` past 86,400 for a shift over
    midnight); ``agents`` is the head count per weekday (Monday first); ``breaks`` are
    (offset from shift start, length) in seconds.
    """

    name: str
    start_s: float
    end_s: float
    agents: tuple[int, ...]
    skills: tuple[str, ...]
    concurrency: int
    tier: int
    breaks: tuple[tuple[float, float], ...]


@attrs.frozen
class Staffing:
    shifts: tuple[Shift, ...]
    shrinkage: float
    hourly_cost: float


@attrs.frozen
class Event:
    """A dated multiplier on volume: a campaign, a holiday peak, an outage."""

    name: str
    start: dt.date
    days: int
    multiplier: float
    channels: tuple[str, ...]


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
    """A complete, validated scenario. Build one with :func:`load_scenario`."""

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
    source: str = attrs.field(default="<scenario>", eq=False)

    @property
    def horizon_s(self) -> float:
        return float(self.days * DAY_S)

    @property
    def epoch(self) -> dt.datetime:
        return dt.datetime.combine(self.start, dt.time())

    def channel(self, name: str) -> Channel:
        return next(c for c in self.channels if c.name == name)

    def to_dict(self) -> dict[str, Any]:
        """The resolved scenario (defaults filled in) as TOML-ready data."""
        return {
            "scenario": {"name": self.name, "days": self.days, "seed": self.seed,
                         "start": self.start, "interval_min": self.interval_s // 60,
                         "customers": self.customers},
            "channels": {c.name: _channel_dict(c) for c in self.channels},
            "staffing": {
                "shrinkage": self.staffing.shrinkage,
                "hourly_cost": self.staffing.hourly_cost,
                "shifts": [_shift_dict(s) for s in self.staffing.shifts],
            },
            "events": [{"name": e.name, "start": e.start, "days": e.days,
                        "multiplier": e.multiplier, "channels": list(e.channels)}
                       for e in self.events],
            "satisfaction": attrs.asdict(self.satisfaction),
        }

    def to_toml(self) -> str:
        return tomli_w.dumps(self.to_dict())


def _clock(seconds: float) -> str:
    seconds = round(seconds) % DAY_S
    return f"{seconds // 3600:02d}:{seconds % 3600 // 60:02d}"


def _channel_dict(c: Channel) -> dict[str, Any]:
    out: dict[str, Any] = {
        "kind": c.kind, "volume_per_day": c.volume_per_day, "intraday": list(c.intraday),
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


def _shift_dict(s: Shift) -> dict[str, Any]:
    return {"name": s.name, "start": _clock(s.start_s), "end": _clock(s.end_s),
            "agents": list(s.agents), "skills": list(s.skills), "concurrency": s.concurrency,
            "tier": s.tier,
            "breaks": [{"start": _clock(s.start_s + o), "minutes": d / 60} for o, d in s.breaks]}


# --- loading ------------------------------------------------------------------------------

_REQUIRED = object()


class _Section:
    """A TOML table being read: every key taken is checked, leftovers are unknown keys."""

    def __init__(self, data: Any, path: str, source: str) -> None:
        self.path, self.source = path, source
        if not isinstance(data, Mapping):
            self.fail(f"must be a table, got {data!r}")
        self.data = dict(data)
        self.known: list[str] = []

    def where(self, key: str | None = None) -> str:
        return ".".join(p for p in (self.path, key) if p)

    def fail(self, message: str, key: str | None = None) -> None:
        raise ScenarioError(f"{self.source}: {self.where(key) or 'top level'}: {message}")

    def take(self, key: str, convert: Callable[[Any], Any], default: Any = _REQUIRED) -> Any:
        self.known.append(key)
        if key not in self.data:
            if default is _REQUIRED:
                typo = did_you_mean(key, self.data).replace("did you mean", "found")
                self.fail(f"is required{typo}", key)
            return default
        try:
            return convert(self.data.pop(key))
        except ScenarioError:
            raise
        except (ValueError, TypeError) as exc:
            self.fail(str(exc), key)

    def section(self, key: str, default: Any = _REQUIRED) -> _Section:
        return _Section(self.take(key, lambda v: v, default), self.where(key), self.source)

    def done(self) -> None:
        for key in self.data:
            self.fail(f"unknown key {key!r}{did_you_mean(key, self.known)}; known keys: "
                      f"{', '.join(self.known)}")


def _number(low: float | None = None, high: float | None = None, integer: bool = False,
            above: bool = False) -> Callable[[Any], float]:
    def convert(value: Any) -> float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ValueError(f"must be a number, got {value!r}")
        if integer and value != int(value):
            raise ValueError(f"must be a whole number, got {value!r}")
        if low is not None and (value <= low if above else value < low):
            raise ValueError(f"must be {'>' if above else '>='} {low:g}, got {value!r}")
        if high is not None and value > high:
            raise ValueError(f"must be <= {high:g}, got {value!r}")
        return int(value) if integer else float(value)

    return convert


def _text(value: Any) -> str:
    if not isinstance(value, str) or not value:
        raise ValueError(f"must be a non-empty string, got {value!r}")
    return value


def _date(value: Any) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError:
        raise ValueError(f"must be a date like 2026-11-16, got {value!r}") from None


def _clock_seconds(value: Any) -> float:
    try:
        hours, minutes = str(value).split(":")
        h, m = int(hours), int(minutes)
    except ValueError:
        raise ValueError(f"must be a time like \"08:30\", got {value!r}") from None
    if not (0 <= h <= 24 and 0 <= m < 60) or (h == 24 and m):
        raise ValueError(f"{value!r} is not a time of day (00:00 to 24:00)")
    return float(h * 3600 + m * 60)


def _profile(length: int | tuple[int, ...], normalise: str) -> Callable[[Any], tuple]:
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
        numbers = [_number(0)(v) for v in value]
        if not sum(numbers) > 0:
            raise ValueError("must have at least one multiplier > 0")
        total = sum(numbers) if normalise == "shape" else sum(numbers) / len(numbers)
        return tuple(v / total for v in numbers)

    return convert


def _distribution(value: Any) -> Distribution:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return Distribution.fixed(float(value))
    if not isinstance(value, Mapping):
        raise ValueError(f"must be seconds or a table like {{ dist = \"exponential\", "
                         f"mean = 180 }}, got {value!r}")
    unknown = set(value) - {"dist", "mean", "cv", "values"}
    if unknown:
        raise ValueError(f"unknown key {sorted(unknown)[0]!r}; a distribution takes dist, "
                         "mean, cv, values")
    return Distribution(**value)


def _names(choices: Iterable[str]) -> Callable[[Any], tuple[str, ...]]:
    allowed = tuple(choices)

    def convert(value: Any) -> tuple[str, ...]:
        if not isinstance(value, list):
            raise ValueError(f"must be a list, got {value!r}")
        for name in value:
            if name not in allowed:
                raise ValueError(f"unknown name {name!r}{did_you_mean(str(name), allowed)}; "
                                 f"use {', '.join(allowed)}")
        return tuple(value)

    return convert


def parse_scenario(raw: Mapping[str, Any], source: str = "<scenario>") -> Scenario:
    """Validate raw TOML data into a :class:`Scenario`; errors name ``source`` and the key."""
    top = _Section(raw, "", source)
    head = top.section("scenario")
    name = head.take("name", _text, "scenario")
    days = head.take("days", _number(1, integer=True))
    seed = head.take("seed", _number(0, integer=True))
    start = head.take("start", _date, dt.date(2026, 1, 5))
    interval_min = head.take("interval_min", _number(1, 60, integer=True), 15)
    if 60 % interval_min:
        head.fail(f"must divide an hour (5, 10, 15, 30, 60), got {interval_min}",
                  "interval_min")
    customers = head.take("customers", _number(1, integer=True), 10_000)
    head.done()

    channels_section = top.section("channels")
    channels = tuple(_channel(channels_section.section(channel_name), channel_name)
                     for channel_name in list(channels_section.data))
    if not channels:
        channels_section.fail("needs at least one channel, e.g. [channels.call]")
    staffing = _staffing(top.section("staffing"), channels)
    events = tuple(_event(_Section(e, f"events[{i}]", source), channels)
                   for i, e in enumerate(top.take("events", list, [])))
    satisfaction = _satisfaction(top.section("satisfaction", {}))
    top.done()
    return Scenario(name=name, days=days, seed=seed, start=start, interval_s=interval_min * 60,
                    customers=customers, channels=channels, staffing=staffing, events=events,
                    satisfaction=satisfaction, source=source)


def _channel(s: _Section, name: str) -> Channel:
    kind = s.take("kind", _kind_of, name if name in KINDS else _REQUIRED)
    email = kind == "email"
    aht = s.take("aht_s", _distribution)
    queues = s.take("queues", _queues, {name: 1.0})
    reply_sla = s.take("reply_sla_s", _number(0, above=True), 86_400.0 if email else 20.0)
    channel = Channel(
        name=name, kind=kind,
        volume_per_day=s.take("volume_per_day", _number(0)),
        intraday=s.take("intraday", _profile(PROFILE_LENGTHS, "shape"), INTRADAY["flat"]),
        weekday=s.take("weekday", _profile(7, "mean"), (1.0,) * 7),
        monthly=s.take("monthly", _profile(12, "mean"), (1.0,) * 12),
        queues=queues, aht_s=aht,
        acw_s=s.take("acw_s", _distribution, Distribution.fixed(0)),
        patience_s=None if email else s.take("patience_s", _distribution, None),
        concurrency_stretch=s.take("concurrency_stretch", _number(0), 0.25),
        reply_sla_s=reply_sla,
        wait_tolerance_s=s.take("wait_tolerance_s", _number(0), reply_sla if email else 0.0),
        resolve=s.take("resolve", _number(0, 1), 1.0),
        repeat=s.take("repeat", _number(0, 1), 0.0),
        repeat_delay_s=s.take("repeat_delay_s", _distribution,
                              Distribution("exponential", mean=86_400.0)),
        escalate=s.take("escalate", _number(0, 1), 0.0),
        tier2_aht_s=s.take("tier2_aht_s", _distribution, aht),
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
    shares = {str(k): _number(0, above=True)(v) for k, v in value.items()}
    total = sum(shares.values())
    return {k: v / total for k, v in shares.items()}


def _staffing(s: _Section, channels: tuple[Channel, ...]) -> Staffing:
    queue_keys = [k for c in channels for k in c.queue_keys()]
    skills = (*(c.name for c in channels), *queue_keys, TIER2)
    shrinkage = s.take("shrinkage", _number(0, 0.95), 0.0)
    hourly_cost = s.take("hourly_cost", _number(0), 20.0)
    flat = s.take("agents", _number(0, integer=True), None)
    shift_list = s.take("shifts", list, None)
    if (flat is None) == (shift_list is None):
        s.fail("give either agents = N (the same agents all day, every day) or "
               "[[staffing.shifts]], not both" if flat is not None else
               "needs agents = N or [[staffing.shifts]]")
    if flat is not None:
        tier2 = s.take("tier2_agents", _number(0, integer=True), 0)
        concurrency = s.take("concurrency", _number(1, integer=True), 1)
        shifts = [Shift("all day", 0.0, float(DAY_S), (flat,) * 7,
                        tuple(c.name for c in channels), concurrency, 1, ())]
        if tier2:
            shifts.append(Shift("tier 2", 0.0, float(DAY_S), (tier2,) * 7, (TIER2,), 1, 2, ()))
    else:
        shifts = [_shift(_Section(item, f"{s.where('shifts')}[{i}]", s.source), skills,
                         channels) for i, item in enumerate(shift_list)]
    s.done()
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
    return Staffing(shifts=tuple(shifts), shrinkage=shrinkage, hourly_cost=hourly_cost)


def _shift(s: _Section, skills: tuple[str, ...], channels: tuple[Channel, ...]) -> Shift:
    name = s.take("name", _text)
    start = s.take("start", _clock_seconds)
    end = s.take("end", _clock_seconds)
    if end == start:
        s.fail(f"starts and ends at {_clock(start)}: a shift needs some length", "end")
    if end < start:
        end += DAY_S  # over midnight
    agents = s.take("agents", _agents_per_day)
    days = s.take("days", _names(WEEKDAYS), WEEKDAYS)
    agents = tuple(n if WEEKDAYS[d] in days else 0 for d, n in enumerate(agents))
    tier = s.take("tier", _number(1, 2, integer=True), 1)
    default_skills = (TIER2,) if tier == 2 else tuple(c.name for c in channels)
    shift_skills = s.take("skills", _names(skills), default_skills)
    if tier == 2 and shift_skills != (TIER2,):
        s.fail(f"tier-2 shifts work escalations only; use skills = [\"{TIER2}\"] or leave it "
               "out", "skills")
    if tier == 1 and TIER2 in shift_skills:
        s.fail(f"{TIER2!r} is the skill of tier-2 shifts; set tier = 2", "skills")
    concurrency = s.take("concurrency", _number(1, 10, integer=True), 1)
    breaks = []
    for i, item in enumerate(s.take("breaks", list, [])):
        b = _Section(item, f"{s.where('breaks')}[{i}]", s.source)
        at = b.take("start", _clock_seconds)
        minutes = b.take("minutes", _number(0, above=True))
        b.done()
        offset = (at - start) % DAY_S
        if offset + minutes * 60 > end - start:
            b.fail(f"{_clock(at)} for {minutes:g} min is outside the shift "
                   f"{_clock(start)}-{_clock(end)}")
        breaks.append((offset, minutes * 60.0))
    s.done()
    return Shift(name, start, end, agents, shift_skills, concurrency, tier, tuple(breaks))


def _agents_per_day(value: Any) -> tuple[int, ...]:
    if isinstance(value, list):
        if len(value) != 7:
            raise ValueError(f"must be one number or 7 (Monday first), got {len(value)}")
        return tuple(int(_number(0, integer=True)(v)) for v in value)
    return (int(_number(0, integer=True)(value)),) * 7


def _event(s: _Section, channels: tuple[Channel, ...]) -> Event:
    event = Event(
        name=s.take("name", _text),
        start=s.take("start", _date),
        days=s.take("days", _number(1, integer=True), 1),
        multiplier=s.take("multiplier", _number(0)),
        channels=s.take("channels", _names(c.name for c in channels),
                        tuple(c.name for c in channels)),
    )
    s.done()
    return event


def _satisfaction(s: _Section) -> Satisfaction:
    defaults = Satisfaction()
    values = {
        "response_rate": s.take("response_rate", _number(0, 1), defaults.response_rate),
        "base": s.take("base", _number(1, 5), defaults.base),
    }
    for key in ("wait_penalty_per_min", "unresolved_penalty", "escalation_penalty", "noise"):
        values[key] = s.take(key, _number(0), getattr(defaults, key))
    s.done()
    return Satisfaction(**values)


def apply_overrides(raw: dict[str, Any], overrides: Mapping[str, str], source: str) -> None:
    """Set dotted keys (``staffing.agents=12``) in raw scenario data; values are TOML values
    (bare words are strings)."""
    for key, text in overrides.items():
        try:
            value = tomllib.loads(f"value = {text}")["value"]
        except tomllib.TOMLDecodeError:
            value = text
        node = raw
        parts = key.split(".")
        for part in parts[:-1]:
            child = node.setdefault(part, {})
            if not isinstance(child, dict):
                raise ScenarioError(f"{source}: --set {key}: {part!r} is not a table")
            node = child
        node[parts[-1]] = value


def load_scenario(path: str | Path, overrides: Mapping[str, str] | None = None) -> Scenario:
    """Read, override (``--set``) and validate a scenario file."""
    path = Path(path)
    source = str(path)
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ScenarioError(f"{source}: no such scenario file") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ScenarioError(f"{source}: not valid TOML: {exc}") from None
    apply_overrides(raw, overrides or {}, source)
    return parse_scenario(raw, source)


def builtin_scenario(name: str, overrides: Mapping[str, str] | None = None) -> Scenario:
    """A scenario shipped with kpiforge: ``demo`` (a realistic week) or ``flat`` (one call
    queue, flat arrivals and staffing: the Erlang A validation case)."""
    if name not in BUILTIN_SCENARIOS:
        raise ScenarioError(f"unknown built-in scenario {name!r}"
                            f"{did_you_mean(name, BUILTIN_SCENARIOS)}; use "
                            f"{', '.join(BUILTIN_SCENARIOS)}")
    with as_file(files("kpiforge.simulations") / "scenarios" / f"{name}.toml") as path:
        return load_scenario(path, overrides)


def volume_multipliers(scenario: Scenario, channel: Channel) -> np.ndarray:
    """Per day of the run: weekday x month x events, for ``channel``."""
    dates = [scenario.start + dt.timedelta(days=d) for d in range(scenario.days)]
    multipliers = np.array([channel.weekday[d.weekday()] * channel.monthly[d.month - 1]
                            for d in dates])
    for event in scenario.events:
        if channel.name not in event.channels:
            continue
        for d, date in enumerate(dates):
            if event.start <= date < event.start + dt.timedelta(days=event.days):
                multipliers[d] *= event.multiplier
    return multipliers
