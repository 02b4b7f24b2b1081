"""Shift plans: the fewest paid hours (or lowest cost) of allowed shifts covering a
staffing requirement, as an integer program solved by HiGHS through scipy's ``milp``.

A planner allows shift *patterns*: a length, start times on a step within a window, breaks
that may sit anywhere inside their own windows, the weekdays a pattern may work (or a cycle
of days on and days off), a cost per paid hour, and a minimum or maximum count per day.
Every way to work a pattern (start time x break placement x days worked) is a column of
the program; its coefficients say how much of each interval it covers (breaks and part
intervals are fractions). The program chooses a whole count per column so that every
interval's scheduled head count is covered (for agents restricted to some channels: every
set of channels is covered by the agents who have one of its skills), at the fewest paid
hours or lowest cost. Its answer is printed with the bound HiGHS proved and the LP
relaxation's, so the gap to the best possible plan is known.

Patterns are a TOML file::

    [plan]
    step = "30min"              # start times (and break starts) on this grid
    max_agents = 80             # at most this many agents at work on any day
    time_limit_s = 30           # stop the solver here (the gap is reported)

    [[patterns]]
    name = "day"
    start = ["07:00", "10:00"]  # earliest and latest start (or one time)
    hours = 8.5                 # paid length, breaks included
    breaks = [{ minutes = 30, window = ["3h", "5h30min"] }]   # from the shift's start
    days = ["mon", "tue", "wed", "thu", "fri"]               # default: every day
    days_on = 5                 # optional cycle: 5 days on, then days_off off
    days_off = 2
    cost = 24.0                 # per paid hour (default 1: the objective is paid hours)
    min_count = 2               # at least this many on every day it may work
    max_count = 40              # at most this many on any day
    skills = ["call", "email"]  # channels the agents work (default: every channel)
    concurrency = 2             # chats held at once (default: the chat channel's)
"""

from __future__ import annotations

import datetime as dt
import itertools
import math
import tomllib
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import attrs
import numpy as np
import tomli_w
from scipy import optimize, sparse

from kpiforge.errors import KpiforgeError, did_you_mean
from kpiforge.simulations.forecast import parse_seconds
from kpiforge.simulations.scenario import DAY_S, WEEKDAYS

if TYPE_CHECKING:
    from kpiforge.simulations.staffing import Requirements

_PLAN_KEYS = ("step", "max_agents", "time_limit_s")
_PATTERN_KEYS = ("name", "start", "hours", "breaks", "days", "days_on", "days_off", "cost",
                 "min_count", "max_count", "skills", "concurrency")
#: Most channels whose subsets get their own coverage rows (2^n - 1 rows per interval).
_MAX_CHANNELS = 8


@attrs.frozen
class Break:
    """A break of ``minutes`` placed anywhere between ``earliest_s`` and ``latest_end_s``
    (seconds from the shift's start)."""

    minutes: float
    earliest_s: float
    latest_end_s: float


@attrs.frozen
class Pattern:
    """An allowed shift: starts between ``first_start_s`` and ``last_start_s`` (seconds
    from midnight), lasts ``length_s``, with breaks, on ``weekdays`` (0 = Monday), in a
    cycle of ``days_on``/``days_off`` if given."""

    name: str
    first_start_s: float
    last_start_s: float
    length_s: float
    breaks: tuple[Break, ...]
    weekdays: tuple[int, ...]
    days_on: int | None
    days_off: int
    cost: float
    min_count: int
    max_count: int | None
    skills: tuple[str, ...] | None
    concurrency: int | None


@attrs.frozen
class Patterns:
    """The allowed patterns and the plan's options."""

    patterns: tuple[Pattern, ...]
    step_s: float
    max_agents: int | None
    time_limit_s: float
    source: str = "<patterns>"


@attrs.frozen
class Column:
    """One way to work a pattern: start, break starts (seconds from the shift's start) and
    the horizon days worked."""

    pattern: Pattern
    start_s: float
    break_starts: tuple[float, ...]
    days: tuple[int, ...]

    @property
    def paid_hours(self) -> float:
        return self.pattern.length_s / 3600 * len(self.days)


@attrs.frozen(eq=False)
class ShiftPlan:
    """A solved plan: ``counts`` per column, the intervals' requirement and coverage.

    ``objective`` is the plan's paid hours, or its cost with per-pattern costs;
    ``lp_bound`` is the LP relaxation's objective and ``bound`` the best bound HiGHS proved
    (no plan does better than either); ``gap`` is the proven relative gap, ``lp_gap`` the
    gap to the LP relaxation (which integer plans may not reach); ``optimal`` says whether
    HiGHS proved the plan optimal (within a gap of 0.01 %).
    """

    columns: tuple[Column, ...]
    counts: np.ndarray
    origin: np.datetime64
    interval_s: int
    days: int
    required: np.ndarray
    covered: np.ndarray
    objective: float
    bound: float
    lp_bound: float
    optimal: bool
    patterns: Patterns

    @property
    def paid_hours(self) -> float:
        return float(sum(c.paid_hours * n for c, n in zip(self.columns, self.counts,
                                                          strict=True)))

    @property
    def gap(self) -> float:
        return max(self.objective - self.bound, 0.0) / self.objective if self.objective \
            else 0.0

    @property
    def lp_gap(self) -> float:
        return max(self.objective - self.lp_bound, 0.0) / self.objective if self.objective \
            else 0.0

    def interval_starts(self) -> np.ndarray:
        return self.origin + (np.arange(len(self.required)) * self.interval_s
                              ).astype("timedelta64[s]")

    def shift_rows(self) -> list[dict[str, Any]]:
        """The shifts: pattern, date, start, end, breaks and count, one row per column
        used and day."""
        rows = []
        for column, count in zip(self.columns, self.counts.tolist(), strict=True):
            if not count:
                continue
            for day in column.days:
                date = (self.origin + np.timedelta64(day, "D")).astype(dt.date)
                rows.append({"pattern": column.pattern.name, "date": date.isoformat(),
                             "weekday": WEEKDAYS[date.weekday()],
                             "start": _clock(column.start_s),
                             "end": _clock(column.start_s + column.pattern.length_s),
                             "breaks": _break_text(column), "count": count})
        rows.sort(key=lambda r: (r["date"], r["start"], r["pattern"]))
        return rows

    def coverage_rows(self) -> list[dict[str, Any]]:
        """Per interval: scheduled requirement, agents the plan puts there (not on break),
        and the over- and under-staffing."""
        starts = np.datetime_as_string(self.interval_starts(), unit="s").tolist()
        return [{"interval_start": s, "required": float(r), "planned": float(c),
                 "over": float(max(c - r, 0.0)), "under": float(max(r - c, 0.0))}
                for s, r, c in zip(starts, self.required, self.covered, strict=True)]

    def staffing_shifts(self, concurrency: int = 1) -> list[dict[str, Any]]:
        """``[[staffing.shifts]]`` entries the scenario loader accepts: one per pattern,
        start and break placement, with the head count per weekday (Monday first)."""
        merged: dict[tuple, list[int]] = {}
        for column, count in zip(self.columns, self.counts.tolist(), strict=True):
            if not count:
                continue
            agents = merged.setdefault((column.pattern, column.start_s, column.break_starts),
                                       [0] * 7)
            for day in column.days:
                weekday = int((self.origin + np.timedelta64(day, "D")).astype(dt.date)
                              .weekday())
                agents[weekday] += count
        shifts = []
        for (pattern, start, breaks), agents in merged.items():
            name = f"{pattern.name} {_clock(start)}"
            if len(pattern.breaks) and sum(1 for k in merged if k[0] == pattern
                                           and k[1] == start) > 1:
                name += " break " + " ".join(_clock(start + b) for b in breaks)
            entry: dict[str, Any] = {
                "name": name, "start": _clock(start),
                "end": _clock(start + pattern.length_s), "agents": agents}
            if pattern.skills is not None:
                entry["skills"] = list(pattern.skills)
            entry["concurrency"] = pattern.concurrency or concurrency
            entry["breaks"] = [{"start": _clock(start + b), "minutes": k.minutes}
                               for b, k in zip(breaks, pattern.breaks, strict=True)]
            shifts.append(entry)
        return shifts

    def staffing_toml(self, shrinkage: float, concurrency: int = 1) -> str:
        """The plan as a scenario ``[staffing]`` section."""
        return tomli_w.dumps({"staffing": {"shrinkage": shrinkage,
                                           "shifts": self.staffing_shifts(concurrency)}})


def _clock(seconds: float) -> str:
    seconds = round(seconds) % DAY_S
    return f"{seconds // 3600:02d}:{seconds % 3600 // 60:02d}"


def _break_text(column: Column) -> str:
    return ", ".join(f"{_clock(column.start_s + b)}-{_clock(column.start_s + b + k.minutes * 60)}"
                     for b, k in zip(column.break_starts, column.pattern.breaks, strict=True))


# --- reading patterns ---------------------------------------------------------------------


def load_patterns(source: str | Path | Mapping[str, Any]) -> Patterns:
    """Patterns from a TOML file (or its parsed data); every key is checked and an error
    names the file, the pattern and the key."""
    if isinstance(source, Mapping):
        raw, label = dict(source), "<patterns>"
    else:
        path, label = Path(source), str(source)
        try:
            raw = tomllib.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise KpiforgeError(f"{label}: no such patterns file") from None
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise KpiforgeError(f"{label}: not valid TOML: {exc}") from None
    _known(raw, ("plan", "patterns"), label, "top level")
    plan = raw.get("plan", {})
    _known(plan, _PLAN_KEYS, label, "plan")
    step = _duration(plan.get("step", "30min"), label, "plan.step")
    if step <= 0:
        raise KpiforgeError(f"{label}: plan.step must be > 0")
    max_agents = _whole(plan.get("max_agents"), label, "plan.max_agents", None)
    time_limit = _number(plan.get("time_limit_s", 30.0), label, "plan.time_limit_s", 0.0)
    items = raw.get("patterns")
    if not isinstance(items, list) or not items:
        raise KpiforgeError(f"{label}: patterns: give at least one [[patterns]] table")
    patterns = tuple(_pattern(item, label, f"patterns[{i}]") for i, item in enumerate(items))
    names = [p.name for p in patterns]
    for name in names:
        if names.count(name) > 1:
            raise KpiforgeError(f"{label}: patterns: the name {name!r} is used twice")
    return Patterns(patterns, step, max_agents, time_limit, label)


def _known(table: Any, keys: Sequence[str], label: str, where: str) -> None:
    if not isinstance(table, Mapping):
        raise KpiforgeError(f"{label}: {where}: must be a table")
    for key in table:
        if key not in keys:
            raise KpiforgeError(f"{label}: {where}: unknown key {key!r}"
                                f"{did_you_mean(key, keys)}; known keys: {', '.join(keys)}")


def _duration(value: Any, label: str, key: str) -> float:
    try:
        return parse_seconds(value, key)
    except KpiforgeError as exc:
        raise KpiforgeError(f"{label}: {exc}") from None


def _clock_s(value: Any, label: str, key: str) -> float:
    try:
        hours, minutes = (int(part) for part in str(value).split(":"))
    except ValueError:
        raise KpiforgeError(f"{label}: {key}: expected a time like \"07:30\", got "
                            f"{value!r}") from None
    if not (0 <= hours < 24 and 0 <= minutes < 60):
        raise KpiforgeError(f"{label}: {key}: {value!r} is not a time of day")
    return float(hours * 3600 + minutes * 60)


def _number(value: Any, label: str, key: str, low: float) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or value < low:
        raise KpiforgeError(f"{label}: {key}: must be a number >= {low:g}, got {value!r}")
    return float(value)


def _whole(value: Any, label: str, key: str, default: int | None) -> int | None:
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise KpiforgeError(f"{label}: {key}: must be a whole number >= 0, got {value!r}")
    return value


def _pattern(item: Any, label: str, where: str) -> Pattern:
    _known(item, _PATTERN_KEYS, label, where)
    for key in ("name", "start", "hours"):
        if key not in item:
            raise KpiforgeError(f"{label}: {where}.{key}: is required")
    name = str(item["name"])
    where = f"patterns.{name}"
    starts = item["start"] if isinstance(item["start"], list) else [item["start"]]
    if len(starts) not in (1, 2):
        raise KpiforgeError(f"{label}: {where}.start: one time or [earliest, latest]")
    first = _clock_s(starts[0], label, f"{where}.start")
    last = _clock_s(starts[-1], label, f"{where}.start")
    if last < first:
        raise KpiforgeError(f"{label}: {where}.start: the latest start is before the earliest")
    length = _number(item["hours"], label, f"{where}.hours", 0.0) * 3600
    if not 0 < length < DAY_S:
        raise KpiforgeError(f"{label}: {where}.hours: must be above 0 and below 24")
    breaks = tuple(_break(b, label, f"{where}.breaks[{i}]", length)
                   for i, b in enumerate(item.get("breaks", [])))
    days = item.get("days", list(WEEKDAYS))
    if not isinstance(days, list) or any(d not in WEEKDAYS for d in days) or not days:
        raise KpiforgeError(f"{label}: {where}.days: a list of {', '.join(WEEKDAYS)}, got "
                            f"{days!r}")
    days_on = _whole(item.get("days_on"), label, f"{where}.days_on", None)
    days_off = _whole(item.get("days_off"), label, f"{where}.days_off", 0) or 0
    if (days_on is None) != ("days_off" not in item) or days_on == 0:
        raise KpiforgeError(f"{label}: {where}: give days_on (>= 1) and days_off together")
    skills = item.get("skills")
    if skills is not None and (not isinstance(skills, list) or not skills):
        raise KpiforgeError(f"{label}: {where}.skills: a list of channel names")
    concurrency = _whole(item.get("concurrency"), label, f"{where}.concurrency", None)
    return Pattern(
        name=name, first_start_s=first, last_start_s=last, length_s=length, breaks=breaks,
        weekdays=tuple(WEEKDAYS.index(d) for d in days), days_on=days_on, days_off=days_off,
        cost=_number(item.get("cost", 1.0), label, f"{where}.cost", 0.0),
        min_count=_whole(item.get("min_count"), label, f"{where}.min_count", 0) or 0,
        max_count=_whole(item.get("max_count"), label, f"{where}.max_count", None),
        skills=None if skills is None else tuple(str(s) for s in skills),
        concurrency=concurrency)


def _break(item: Any, label: str, where: str, length: float) -> Break:
    _known(item, ("minutes", "window"), label, where)
    if "minutes" not in item or "window" not in item:
        raise KpiforgeError(f"{label}: {where}: give minutes and window = [earliest start, "
                            "latest end] from the shift's start, e.g. [\"3h\", \"5h\"]")
    minutes = _number(item["minutes"], label, f"{where}.minutes", 0.0)
    window = item["window"]
    if not isinstance(window, list) or len(window) != 2:
        raise KpiforgeError(f"{label}: {where}.window: [earliest start, latest end]")
    earliest = _duration(window[0], label, f"{where}.window")
    latest = _duration(window[1], label, f"{where}.window")
    if minutes <= 0 or earliest + minutes * 60 > latest or latest > length:
        raise KpiforgeError(f"{label}: {where}: a {minutes:g}-minute break does not fit in "
                            f"its window or inside the shift")
    return Break(minutes, earliest, latest)


# --- the integer program ------------------------------------------------------------------


def plan_shifts(requirement: Requirements, patterns: Patterns | str | Path) -> ShiftPlan:
    """The cheapest plan of ``patterns`` covering ``requirement``'s ``scheduled`` head
    count in every interval (see the module's description).

    Raises :class:`KpiforgeError` naming the interval no pattern can cover, the channel no
    pattern has the skill for, or the key (``plan.max_agents``, ``min_count``...) that makes
    the requirement impossible to cover.
    """
    if not isinstance(patterns, Patterns):
        patterns = load_patterns(patterns)
    interval = requirement.interval_s
    origin = requirement["interval_start"].min().astype("datetime64[D]").astype(
        "datetime64[s]")
    slot = ((requirement["interval_start"] - origin).astype(np.int64) // interval)
    per_day = DAY_S // interval
    days = int(slot.max() // per_day + 1)
    if days > 7:
        raise KpiforgeError(f"{requirement.forecast.source}: the forecast spans {days} days; "
                            "plan shifts for at most a week at a time")
    channels = list(dict.fromkeys(requirement["channel"].tolist()))
    needs = np.zeros((len(channels), days * per_day))
    np.add.at(needs, (np.array([channels.index(c) for c in requirement["channel"].tolist()]),
                      slot), requirement["scheduled"])
    _check_skills(patterns, channels, requirement.forecast.source)
    columns = _columns(patterns, origin, days)
    cover = _coverage(columns, interval, days * per_day)
    rows, bounds = _covering_rows(columns, cover, needs, channels)
    _check_coverable(rows, bounds, cover, needs, origin, interval)
    extra, low, high = _count_rows(columns, patterns, days, origin)
    matrix = sparse.vstack([rows, extra]).tocsr() if extra.shape[0] else rows
    constraint = optimize.LinearConstraint(matrix, np.r_[bounds, low], np.r_[
        np.full(len(bounds), np.inf), high])
    cost = np.array([c.paid_hours * c.pattern.cost for c in columns])
    options = {"time_limit": patterns.time_limit_s, "mip_rel_gap": 1e-4}
    solved = optimize.milp(cost, constraints=constraint, integrality=np.ones(len(cost)),
                           bounds=optimize.Bounds(0, np.inf), options=options)
    if solved.x is None:
        raise KpiforgeError(_infeasible_message(patterns, solved.status))
    relaxed = optimize.milp(cost, constraints=constraint, bounds=optimize.Bounds(0, np.inf),
                            options={"time_limit": patterns.time_limit_s})
    counts = np.round(solved.x).astype(np.int64)
    return ShiftPlan(columns=tuple(columns), counts=counts, origin=origin,
                     interval_s=interval, days=days, required=needs.sum(axis=0),
                     covered=np.asarray(cover @ counts).ravel(), objective=float(cost @ counts),
                     bound=float(getattr(solved, "mip_dual_bound", math.nan)),
                     lp_bound=float(relaxed.fun) if relaxed.x is not None else math.nan,
                     optimal=solved.status == 0, patterns=patterns)


def _check_skills(patterns: Patterns, channels: list[str], source: str) -> None:
    for pattern in patterns.patterns:
        for skill in pattern.skills or ():
            if skill not in channels:
                raise KpiforgeError(f"{patterns.source}: patterns.{pattern.name}.skills: no "
                                    f"channel {skill!r} in {source}"
                                    f"{did_you_mean(skill, channels)}")
    if len(channels) > _MAX_CHANNELS and any(p.skills for p in patterns.patterns):
        raise KpiforgeError(f"{patterns.source}: skills are planned for at most "
                            f"{_MAX_CHANNELS} channels")


def _columns(patterns: Patterns, origin: np.datetime64, days: int) -> list[Column]:
    """Every start x break placement x days worked of every pattern."""
    first_weekday = origin.astype(dt.date).weekday()
    weekday = [(first_weekday + d) % 7 for d in range(days)]
    columns: list[Column] = []
    for pattern in patterns.patterns:
        starts = np.arange(pattern.first_start_s, pattern.last_start_s + 1, patterns.step_s)
        placements = [tuple(np.arange(b.earliest_s, b.latest_end_s - b.minutes * 60 + 1,
                                      patterns.step_s)) for b in pattern.breaks]
        allowed = [d for d in range(days) if weekday[d] in pattern.weekdays]
        day_sets: list[tuple[int, ...]]
        if pattern.days_on is None:
            day_sets = [(d,) for d in allowed]
        else:
            cycle = pattern.days_on + pattern.days_off
            day_sets = list(dict.fromkeys(
                tuple(d for d in allowed if (d - offset) % cycle < pattern.days_on)
                for offset in range(cycle)))
            day_sets = [s for s in day_sets if s]
        for combo in itertools.product(*placements):
            if any(combo[i] + pattern.breaks[i].minutes * 60 > combo[i + 1]
                   for i in range(len(combo) - 1)):
                continue  # breaks in order, without overlap
            for start in starts.tolist():
                columns.extend(Column(pattern, float(start), tuple(float(b) for b in combo),
                                      s) for s in day_sets)
    return columns


def _coverage(columns: list[Column], interval: int, slots: int) -> sparse.csr_matrix:
    """Share of each interval each column's agent is at work and not on a break."""
    data, row_index, col_index = [], [], []
    cache: dict[tuple, tuple[int, np.ndarray]] = {}
    for j, column in enumerate(columns):
        key = (column.pattern, column.start_s, column.break_starts)
        if key not in cache:
            cache[key] = _day_cover(column, interval)
        first, shares = cache[key]
        for day in column.days:
            index = day * (DAY_S // interval) + first + np.arange(len(shares))
            keep = (index < slots) & (shares > 0)
            row_index.append(index[keep])
            data.append(shares[keep])
            col_index.append(np.full(keep.sum(), j))
    return sparse.csr_matrix((np.concatenate(data), (np.concatenate(row_index),
                                                     np.concatenate(col_index))),
                             shape=(slots, len(columns)))


def _day_cover(column: Column, interval: int) -> tuple[int, np.ndarray]:
    """The first interval a shift starting on day 0 touches, and its share of each."""
    start, end = column.start_s, column.start_s + column.pattern.length_s
    first, last = int(start // interval), math.ceil(end / interval)
    low = np.arange(first, last) * float(interval)
    shares = np.clip(np.minimum(end, low + interval) - np.maximum(start, low), 0, None)
    for offset, b in zip(column.break_starts, column.pattern.breaks, strict=True):
        b_start, b_end = start + offset, start + offset + b.minutes * 60
        shares -= np.clip(np.minimum(b_end, low + interval) - np.maximum(b_start, low), 0,
                          None)
    return first, shares / interval


def _covering_rows(columns: list[Column], cover: sparse.csr_matrix, needs: np.ndarray,
                   channels: list[str]) -> tuple[sparse.csr_matrix, np.ndarray]:
    """Coverage rows: every interval's total; with restricted skills, also every set of
    channels against the agents holding one of its skills (Hall's condition)."""
    if all(c.pattern.skills is None for c in columns):
        return cover, needs.sum(axis=0)
    skills = [set(c.pattern.skills or channels) for c in columns]
    blocks, bounds = [], []
    for size in range(1, len(channels) + 1):
        for subset in itertools.combinations(range(len(channels)), size):
            names = {channels[i] for i in subset}
            mask = np.array([bool(s & names) for s in skills], dtype=np.float64)
            blocks.append(cover @ sparse.diags(mask))
            bounds.append(needs[list(subset)].sum(axis=0))
    return sparse.vstack(blocks).tocsr(), np.concatenate(bounds)


def _check_coverable(rows: sparse.csr_matrix, bounds: np.ndarray, cover: sparse.csr_matrix,
                     needs: np.ndarray, origin: np.datetime64, interval: int) -> None:
    reach = np.asarray(rows.max(axis=1).todense()).ravel()
    stuck = np.flatnonzero((bounds > 0) & (reach <= 0))
    if stuck.size:
        slot = int(stuck[0] % cover.shape[0])
        when = np.datetime_as_string(origin + np.timedelta64(slot * interval, "s"), unit="m")
        raise KpiforgeError(f"interval {when} needs {bounds[stuck[0]]:g} agents but no "
                            "pattern works then (with the skills it needs); add a pattern or "
                            "widen a start window")


def _count_rows(columns: list[Column], patterns: Patterns, days: int, origin: np.datetime64
                ) -> tuple[sparse.csr_matrix, np.ndarray, np.ndarray]:
    """Per day: agents at work (<= plan.max_agents) and per pattern (min_count, max_count)."""
    first_weekday = origin.astype(dt.date).weekday()
    rows: list[np.ndarray] = []
    low: list[float] = []
    high: list[float] = []
    works = np.zeros((days, len(columns)))
    for j, column in enumerate(columns):
        works[list(column.days), j] = 1
    for day in range(days):
        if patterns.max_agents is not None:
            rows.append(works[day])
            low.append(0)
            high.append(patterns.max_agents)
        for pattern in patterns.patterns:
            if (first_weekday + day) % 7 not in pattern.weekdays:
                continue
            if not pattern.min_count and pattern.max_count is None:
                continue
            mine = np.array([c.pattern == pattern for c in columns], dtype=np.float64)
            rows.append(works[day] * mine)
            low.append(pattern.min_count)
            high.append(np.inf if pattern.max_count is None else pattern.max_count)
    matrix = sparse.csr_matrix(np.array(rows)) if rows else sparse.csr_matrix(
        (0, len(columns)))
    return matrix, np.array(low, dtype=np.float64), np.array(high, dtype=np.float64)


def _infeasible_message(patterns: Patterns, status: int) -> str:
    if status == 1:
        return (f"{patterns.source}: the solver found no plan within plan.time_limit_s = "
                f"{patterns.time_limit_s:g} s; raise it or allow fewer start times")
    keys = ["plan.max_agents"] if patterns.max_agents is not None else []
    keys += [f"patterns.{p.name}.{k}" for p in patterns.patterns
             for k, v in (("min_count", p.min_count), ("max_count", p.max_count)) if v]
    limits = ", ".join(keys) or "the patterns' days and hours"
    return (f"{patterns.source}: the patterns cannot cover the requirement within "
            f"{limits}; relax them or add patterns")
