"""The size of a run, estimated before it starts and checked against limits.

A scenario's keys each have a range, but their product does not: 1e12 contacts a day, 100
million agents or ten years of 15-minute intervals for a large centre are each valid, and
each would hang or exhaust memory. So before it starts, a run estimates what it will hold:

- **contacts**: the demand model's expected arrivals of every simulated day (warm-up
  included) and channel, times the repeat contacts they bring back: ``1 + p + p^2 + ...``
  with ``p = (1 - resolve) x repeat``, one term per simulated day;
- **agent intervals**: each shift's head count on each simulated day times the intervals
  (``interval_min``) its hours span within the run: the rows of ``agent_intervals`` and the
  model's work per agent.

Either beyond its limit (:class:`Limits`) is a :class:`RunSizeError` naming the busiest
channel or shift, the estimate and the memory it needs, and nothing runs.
"""

from __future__ import annotations

import math

import attrs

from kpiforge.simulations.demand import Demand
from kpiforge.simulations.scenario import DAY_S, Scenario, ScenarioError, Shift

#: Memory a simulated contact takes while the run lasts, and an agent interval (measured on
#: the flat scenario: about 1 KB per contact, 120 bytes per agent interval).
BYTES_PER_CONTACT = 1_000
BYTES_PER_AGENT_INTERVAL = 150


@attrs.frozen
class Limits:
    """The largest run :func:`~kpiforge.simulations.simulate` starts: expected contacts
    and agent intervals (None: no limit). Ten million of each is about 10 GB and 1.5 GB."""

    contacts: int | None = 10_000_000
    agent_intervals: int | None = 10_000_000


DEFAULT_LIMITS = Limits()


@attrs.frozen
class RunSize:
    """What a run is expected to hold: ``contacts`` (``inf`` where the numbers overflow),
    ``agent_intervals``, and per channel and shift name their share."""

    contacts: float
    agent_intervals: float
    by_channel: dict[str, float]
    by_shift: dict[str, float]

    @property
    def bytes(self) -> float:
        """About the memory the run needs."""
        return self.contacts * BYTES_PER_CONTACT + \
            self.agent_intervals * BYTES_PER_AGENT_INTERVAL


class RunSizeError(ScenarioError):
    """A run larger than its limits; ``limit`` names the limit (``contacts`` or
    ``agent_intervals``) and ``problem`` says what is too large, without advice."""

    def __init__(self, problem: str, limit: str) -> None:
        super().__init__(f"{problem}: make the run smaller, or raise Limits.{limit}")
        self.problem = problem
        self.limit = limit


def estimate_size(scenario: Scenario, demand: Demand | None = None) -> RunSize:
    """The expected size of a run of ``scenario`` (``demand``: its demand model, whose
    per-day pieces the run then reuses)."""
    demand = demand or Demand(scenario)
    simulated = scenario.last_day - scenario.first_day
    by_channel = {}
    for index, channel in enumerate(scenario.channels):
        first = sum(float(demand.day(index, day).expected.sum())
                    for day in range(scenario.first_day, scenario.days))
        p = (1 - channel.resolve) * channel.repeat
        repeats = simulated + 1 if p >= 1 else (1 - p ** (simulated + 1)) / (1 - p)
        by_channel[channel.name] = _finite_or_inf(first * repeats)
    by_shift: dict[str, float] = {}
    for day in range(scenario.first_day - 1, scenario.last_day):
        try:
            plan: list[tuple[Shift, float]] = list(scenario.staffing.on(scenario.date(day)))
        except OverflowError:  # head counts scaled beyond a float
            plan = [(shift, math.inf) for shift in scenario.staffing.shifts]
        for shift, heads in plan:
            start = max(day * DAY_S + shift.start_s, scenario.begin_s)
            end = min(day * DAY_S + shift.end_s, scenario.end_s)
            intervals = max(math.ceil((end - start) / scenario.interval_s), 0)
            by_shift[shift.name] = by_shift.get(shift.name, 0.0) + \
                _finite_or_inf(float(heads) * intervals)
    return RunSize(sum(by_channel.values()), sum(by_shift.values()), by_channel, by_shift)


def check_size(scenario: Scenario, limits: Limits, demand: Demand | None = None) -> RunSize:
    """:func:`estimate_size`, raising :class:`RunSizeError` where it is beyond ``limits``."""
    size = estimate_size(scenario, demand)
    days = scenario.last_day - scenario.first_day
    if limits.contacts is not None and not size.contacts <= limits.contacts:
        name = max(size.by_channel, key=lambda c: size.by_channel[c])
        raise RunSizeError(
            f"{scenario.source}: channels.{name}: about {_count(size.contacts)} contacts "
            f"expected over {days} simulated day(s) (volume_per_day x profiles x events, "
            f"with repeats), about {_bytes(size.bytes)} of memory; the limit is "
            f"{_count(limits.contacts)} contacts", "contacts")
    if limits.agent_intervals is not None and \
            not size.agent_intervals <= limits.agent_intervals:
        name = max(size.by_shift, key=lambda s: size.by_shift[s])
        raise RunSizeError(
            f"{scenario.source}: staffing: about {_count(size.agent_intervals)} agent "
            f"intervals (head counts x {scenario.interval_s // 60}-minute intervals over "
            f"{days} simulated day(s); most in shift {name!r}), about {_bytes(size.bytes)} "
            f"of memory; the limit is "
            f"{_count(limits.agent_intervals)} agent intervals", "agent_intervals")
    return size


def _finite_or_inf(value: float) -> float:
    return value if math.isfinite(value) else math.inf


def _count(value: float) -> str:
    if math.isinf(value):
        return "more than 1e308"
    return f"{value:,.0f}" if value < 1e15 else f"{value:.1e}"


def _bytes(value: float) -> str:
    if math.isinf(value):
        return "more than any machine's"
    units = ("bytes", "KB", "MB", "GB", "TB", "PB", "EB")
    power = min(int(math.log10(max(value, 1.0)) // 3), len(units) - 1)
    return f"{value / 1000 ** power:,.0f} {units[power]}"
