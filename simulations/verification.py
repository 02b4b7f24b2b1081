"""Staffing checked by simulation: replications of the simulator, and what they say about
service level with confidence intervals.

Two questions use it. ``requirements(..., method="simulate")`` asks, per interval, how many
agents the simulator needs: each distinct interval (channel, contacts, handling, patience)
becomes a flat scenario run for a day or more, replicated; from the analytic answer the head
count moves down while the simulated service level's confidence interval stays at or above
the target and up until it does. ``verify_plan`` asks whether a shift plan works: the
forecast's days are simulated with the plan's shifts, replicated, and the service level per
interval and per day is reported with its confidence interval.

Both use the same random numbers for every head count tried (common random numbers), so
comparisons between head counts are not blurred by different draws.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import attrs
import numpy as np

from kpiforge.engine import compute
from kpiforge.errors import KpiforgeError
from kpiforge.simulations.replications import mean_ci
from kpiforge.simulations.runner import simulate
from kpiforge.simulations.scenario import DAY_S, Scenario, parse_scenario

if TYPE_CHECKING:
    from kpiforge.simulations.shifts import ShiftPlan
    from kpiforge.simulations.staffing import Requirements

#: KPIs read from each replication, and the requirement columns they fill.
KPIS = {"service_level": "service_level", "asa": "asa_s", "abandonment_rate": "abandonment",
        "occupancy": "occupancy"}
#: A flat replication runs long enough for about this many contacts (1 to 7 days).
_CONTACTS_PER_RUN = 3000
#: Head counts tried above the analytic answer before giving up.
_MAX_STEPS = 25


@attrs.frozen
class Estimate:
    """Means over replications with the confidence interval of the service level's mean."""

    service_level: float
    low: float
    high: float
    asa_s: float
    abandonment: float
    occupancy: float


def confidence_interval(samples: np.ndarray, confidence: float
                        ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Mean and Student-t interval along axis 0 (replications), ignoring NaN
    (:func:`~kpiforge.simulations.replications.mean_ci`); the interval is clipped to 0-1,
    the range of a service level."""
    mean, half, _, _ = mean_ci(samples, confidence)
    return mean, np.clip(mean - half, 0, 1), np.clip(mean + half, 0, 1)


def seeds(seed: int, key: int, replications: int) -> list[np.random.SeedSequence]:
    """The replications' seeds for one configuration: the same for every head count."""
    return np.random.SeedSequence([seed, key]).spawn(replications)


def flat_scenario(kind: str, contacts: float, interval_s: float, aht_s: float,
                  patience_s: float, agents: int, concurrency: int, stretch: float,
                  days: int) -> Scenario:
    """One channel with the interval's arrival rate all day, exponential handling (and
    patience, when known) and ``agents`` agents: the interval in steady state."""
    # intraday is given although flat is the default: the loader normalises only a given
    # profile to the day's volume.
    channel: dict[str, Any] = {
        "kind": kind, "volume_per_day": contacts * DAY_S / interval_s, "intraday": "flat",
        "aht_s": {"dist": "exponential", "mean": aht_s}}
    if not math.isnan(patience_s):
        channel["patience_s"] = {"dist": "exponential", "mean": patience_s}
    if kind == "chat":
        channel["concurrency_stretch"] = stretch
    return parse_scenario({
        "scenario": {"name": f"{kind} interval", "days": days, "seed": 0},
        "channels": {kind: channel},
        "staffing": {"agents": agents, "concurrency": concurrency},
    }, source=f"<{kind} interval>")


def run_kpis(scenario: Scenario, seed: np.random.SeedSequence, within_s: float,
             by: Sequence[str] = (), grain: str | None = None) -> Any:
    """One replication's service level, ASA, abandonment and occupancy (the catalogue's
    KPIs, service level counted within ``within_s``)."""
    tables = simulate(scenario, seed).tables()
    return compute(tables, kpis=list(KPIS), by=list(by), grain=grain,
                   params={"sl_threshold_s": within_s})


def simulate_requirements(result: Requirements, replications: int, confidence: float,
                          seed: int, progress: Callable[[int, int], None] | None = None
                          ) -> Requirements:
    """Move each live interval's head count from the analytic answer to the fewest agents
    whose simulated service level is met at ``confidence`` (the lower end of its interval at
    or above the target) and whose mean occupancy is within the cap. Email keeps its
    workload answer: the fluid model already replies to every email within its target.
    ``scheduled`` is left for the caller to recompute from the new ``agents``."""
    if replications < 2:
        raise KpiforgeError("replications must be at least 2 for a confidence interval")
    if not 0 < confidence < 1:
        raise KpiforgeError(f"confidence must be between 0 and 1, got {confidence:g}")
    forecast = result.forecast
    columns = {k: np.array(v, copy=True) for k, v in result.columns.items()}
    columns["service_level_low"] = np.full(len(result), np.nan)
    columns["service_level_high"] = np.full(len(result), np.nan)
    kinds = forecast.kind
    live = np.flatnonzero((kinds != "email") & (forecast.contacts > 0))
    configs: dict[tuple, list[int]] = {}
    for row in live.tolist():
        key = (forecast.channel[row], forecast.contacts[row], forecast.aht_s[row],
               forecast.patience_s[row])
        configs.setdefault(key, []).append(row)
    for done, rows in enumerate(configs.values()):
        row = rows[0]
        model = forecast.channels[forecast.channel[row]]
        target = result.targets[forecast.channel[row]]
        days = int(min(7, max(1, math.ceil(_CONTACTS_PER_RUN * forecast.interval_s
                                           / DAY_S / forecast.contacts[row]))))

        def estimate(agents: int, row: int = row, model: Any = model, days: int = days,
                     key_index: int = done, within: float = target.within_s) -> Estimate:
            scenario = flat_scenario(model.kind, forecast.contacts[row], forecast.interval_s,
                                     forecast.aht_s[row], forecast.patience_s[row], agents,
                                     model.concurrency, model.stretch, days)
            runs = [run_kpis(scenario, s, within) for s in seeds(seed, key_index,
                                                                  replications)]
            values = {k: np.array([float(r[k][0]) for r in runs]) for k in KPIS}
            mean, low, high = confidence_interval(values["service_level"][:, None],
                                                  confidence)
            return Estimate(float(mean[0]), float(low[0]), float(high[0]),
                            float(np.nanmean(values["asa"])),
                            float(np.nanmean(values["abandonment_rate"])),
                            float(np.nanmean(values["occupancy"])))

        def met(e: Estimate, level: float = target.service_level) -> bool:
            cap = result.max_occupancy
            return e.low >= level and (cap is None or e.occupancy <= cap)

        agents, found = _search(int(result.columns["agents"][row]), estimate, met)
        if found is None:
            raise KpiforgeError(
                f"interval {np.datetime_as_string(forecast.start[row], unit='m')}, channel "
                f"{forecast.channel[row]!r}: the simulated service level stays below "
                f"{target.service_level:.0%} up to {agents} agents; check the forecast")
        for name, value in (("agents", agents), ("service_level", found.service_level),
                            ("service_level_low", found.low),
                            ("service_level_high", found.high), ("asa_s", found.asa_s),
                            ("abandonment", found.abandonment),
                            ("occupancy", found.occupancy)):
            columns[name][rows] = value
        if progress is not None:
            progress(done + 1, len(configs))
    return attrs.evolve(result, columns=columns, method="simulate", confidence=confidence)


def _search(start: int, estimate: Callable[[int], Estimate], met: Callable[[Estimate], bool]
            ) -> tuple[int, Estimate | None]:
    """The fewest head count that ``met`` accepts, moving one agent at a time from
    ``start`` (down while accepted, up until accepted)."""
    cache: dict[int, Estimate] = {}

    def at(n: int) -> Estimate:
        if n not in cache:
            cache[n] = estimate(n)
        return cache[n]

    n = max(start, 1)
    if met(at(n)):
        while n > 1 and met(at(n - 1)):
            n -= 1
        return n, at(n)
    for up in range(n + 1, n + _MAX_STEPS + 1):
        if met(at(up)):
            return up, at(up)
    return n + _MAX_STEPS, None


@attrs.frozen(eq=False)
class Verification:
    """A shift plan simulated: service level per interval and per day and channel, as the
    mean over replications with its confidence interval, beside the target.

    ``intervals`` and ``days`` are columns (``interval_start`` or ``date``, ``channel``,
    ``offered``, ``service_level``, ``low``, ``high``, ``target``, ``met``); ``met`` is 1
    where the target lies inside or below the confidence interval.
    """

    intervals: Mapping[str, np.ndarray]
    days: Mapping[str, np.ndarray]
    replications: int
    confidence: float

    def records(self, which: str) -> list[dict[str, Any]]:
        """``intervals`` or ``days`` as JSON-ready rows (None where undefined)."""
        columns = self.intervals if which == "intervals" else self.days
        out: dict[str, list[Any]] = {}
        for name, values in columns.items():
            if values.dtype.kind == "M":
                unit = "s" if which == "intervals" else "D"
                out[name] = [v.isoformat() for v in values.astype(f"datetime64[{unit}]").tolist()]
            elif values.dtype.kind == "f":
                out[name] = [None if math.isnan(v) else v for v in values.tolist()]
            else:
                out[name] = values.tolist()
        return [dict(zip(out, row, strict=True)) for row in zip(*out.values(), strict=True)]


_GRAINS = {900: "15min", 1800: "30min", 3600: "1h"}


def verify_plan(requirement: Requirements, plan: ShiftPlan, replications: int = 10,
                confidence: float = 0.95, seed: int = 1,
                progress: Callable[[int, int], None] | None = None) -> Verification:
    """Simulate every day of ``plan`` with its shifts, ``replications`` times, and report
    the service level per interval and per day with confidence intervals.

    Each day runs as its own one-day scenario (the forecast's volumes for that day, or the
    scenario's own day), staffed by the plan's shifts that work it and those of the day
    before that run past midnight; it starts empty, so work still open at midnight is not
    carried into the next day.
    """
    if replications < 2:
        raise KpiforgeError("replications must be at least 2 for a confidence interval")
    grain = _GRAINS.get(requirement.interval_s)
    if grain is None:
        raise KpiforgeError("verifying a plan needs an interval of 15min, 30min or 1h")
    forecast = requirement.forecast
    chat = [m.concurrency for m in forecast.channels.values() if m.kind == "chat"]
    shifts = plan.staffing_shifts(max(chat, default=1))
    thresholds: dict[float, list[str]] = {}
    for name, target in requirement.targets.items():
        thresholds.setdefault(target.within_s, []).append(name)
    samples: dict[tuple[int, str], list[tuple[float, float]]] = {}
    total = plan.days * replications
    for day in range(plan.days):
        scenario = _day_scenario(requirement, plan, shifts, day)
        for r, run_seed in enumerate(seeds(seed, day, replications)):
            tables = simulate(scenario, run_seed).tables()
            for within, names in thresholds.items():
                result = compute(tables, kpis=["offered", "service_level"], by=["channel"],
                                 grain=grain, params={"sl_threshold_s": within})
                slots = (result.keys["interval_start"] // requirement.interval_s).astype(int)
                for i, (channel, slot) in enumerate(zip(result.keys["channel"].tolist(),
                                                        slots.tolist(), strict=True)):
                    if channel in names:
                        key = (day * (DAY_S // requirement.interval_s) + slot, channel)
                        samples.setdefault(key, [(math.nan, 0.0)] * replications)[r] = (
                            float(result["service_level"][i]), float(result["offered"][i]))
            if progress is not None:
                progress(day * replications + r + 1, total)
    return _summarise(samples, requirement, plan, replications, confidence)


def _summarise(samples: Mapping[tuple[int, str], list[tuple[float, float]]],
               requirement: Requirements, plan: ShiftPlan, replications: int,
               confidence: float) -> Verification:
    keys = sorted(samples)
    values = np.array([[v for v, _ in samples[k]] for k in keys]).T.reshape(replications, -1)
    offered = np.array([[o for _, o in samples[k]] for k in keys]).T.reshape(replications, -1)
    mean, low, high = confidence_interval(values, confidence)
    channels = np.array([c for _, c in keys], dtype=object)
    slots = np.array([s for s, _ in keys], dtype=np.int64)
    target = np.array([requirement.targets[c].service_level for c in channels.tolist()])
    intervals = {
        "interval_start": plan.origin + (slots * requirement.interval_s).astype(
            "timedelta64[s]"),
        "channel": channels, "offered": offered.mean(axis=0), "service_level": mean,
        "low": low, "high": high, "target": target,
        "met": _met(mean, high, target)}
    day = slots // (DAY_S // requirement.interval_s)
    groups = sorted({(int(d), c) for d, c in zip(day.tolist(), channels.tolist(),
                                                 strict=True)})
    per_day = np.full((replications, len(groups)), np.nan)
    for g, (d, c) in enumerate(groups):
        mine = (day == d) & (channels == c)
        answered = np.nansum(values[:, mine] * offered[:, mine], axis=1)
        total = offered[:, mine].sum(axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            per_day[:, g] = np.where(total > 0, answered / total, np.nan)
    d_mean, d_low, d_high = confidence_interval(per_day, confidence)
    d_target = np.array([requirement.targets[c].service_level for _, c in groups])
    days = {
        "date": plan.origin.astype("datetime64[D]") + np.array([d for d, _ in groups],
                                                               dtype="timedelta64[D]"),
        "channel": np.array([c for _, c in groups], dtype=object),
        "offered": np.array([offered[:, (day == d) & (channels == c)].sum(axis=1).mean()
                             for d, c in groups]),
        "service_level": d_mean, "low": d_low, "high": d_high, "target": d_target,
        "met": _met(d_mean, d_high, d_target)}
    return Verification(intervals, days, replications, confidence)


def _met(mean: np.ndarray, high: np.ndarray, target: np.ndarray) -> np.ndarray:
    """1 where the target is inside or below the interval (its mean without one), 0 where
    above it, NaN where nothing was offered."""
    upper = np.where(np.isnan(high), mean, high)
    return np.where(np.isnan(mean), np.nan, (upper >= target - 1e-12).astype(np.float64))


def _day_scenario(requirement: Requirements, plan: ShiftPlan,
                  shifts: list[dict[str, Any]], day: int) -> Scenario:
    """Day ``day`` of the plan as a one-day scenario."""
    date = (plan.origin + np.timedelta64(day, "D")).astype("datetime64[D]").astype(object)
    staffing_shifts = _shifts_of_day(shifts, date, day)
    forecast = requirement.forecast
    if forecast.scenario is not None:
        raw = forecast.scenario.to_dict()
        raw["scenario"].update(days=1, start=date)
        tier2 = [s for s in raw["staffing"]["shifts"] if s.get("tier") == 2]
        raw["staffing"].update(shrinkage=requirement.shrinkage,
                               shifts=staffing_shifts + tier2)
        return parse_scenario(raw, source=f"{forecast.source} ({date})")
    return parse_scenario({
        "scenario": {"name": f"plan {date}", "days": 1, "seed": 0, "start": date},
        "channels": _day_channels(requirement, plan, day),
        "staffing": {"shrinkage": requirement.shrinkage, "shifts": staffing_shifts},
    }, source=f"{forecast.source} ({date})")


def _shifts_of_day(shifts: list[dict[str, Any]], date: Any, day: int) -> list[dict[str, Any]]:
    """The plan's shifts on ``date``'s weekday, and the previous day's overnight shifts from
    midnight to their end."""
    weekday = date.weekday()
    today = [dict(s, agents=s["agents"][weekday]) for s in shifts if s["agents"][weekday]]
    if day == 0:
        return today
    spill = []
    for s in shifts:
        start, end = (_seconds(s["start"]), _seconds(s["end"]))
        count = s["agents"][(weekday - 1) % 7]
        if end >= start or end == 0 or not count:
            continue
        breaks = [b for b in s["breaks"] if _seconds(b["start"]) < start
                  and _seconds(b["start"]) + b["minutes"] * 60 <= end]
        spill.append(dict(s, name=f"{s['name']} (from the day before)", start="00:00",
                          agents=count, breaks=breaks))
    return today + spill


def _seconds(clock: str) -> float:
    hours, minutes = clock.split(":")
    return int(hours) * 3600.0 + int(minutes) * 60.0


def _day_channels(requirement: Requirements, plan: ShiftPlan, day: int
                  ) -> dict[str, dict[str, Any]]:
    """Each channel's volume, intraday shape, queues, handling and patience on ``day``."""
    forecast = requirement.forecast
    per_day = DAY_S // forecast.interval_s
    slot = ((forecast.start - plan.origin).astype(np.int64) // forecast.interval_s
            ) - day * per_day
    channels = {}
    for name, model in forecast.channels.items():
        mine = (forecast.channel == name) & (slot >= 0) & (slot < per_day)
        shape = np.bincount(slot[mine], weights=forecast.contacts[mine], minlength=per_day)
        volume = float(shape.sum())
        queues = {q: float(forecast.contacts[mine & (forecast.queue == q)].sum())
                  for q in dict.fromkeys(forecast.queue[forecast.channel == name].tolist())}
        queues = {q: v for q, v in queues.items() if v > 0} or {name: 1.0}
        weights = np.where(forecast.contacts[mine] > 0, forecast.contacts[mine], 0.0)
        aht = _mean(forecast.aht_s[mine], weights)
        channel: dict[str, Any] = {
            "kind": model.kind, "volume_per_day": volume,
            "intraday": (shape / volume).tolist() if volume > 0 else "flat",  # always given
            "queues": queues,
            "aht_s": {"dist": "exponential", "mean": aht if aht > 0 else 1.0}}
        patience = _mean(forecast.patience_s[mine], weights)
        if model.kind != "email" and not math.isnan(patience):
            channel["patience_s"] = {"dist": "exponential", "mean": patience}
        if model.kind == "chat":
            channel["concurrency_stretch"] = model.stretch
        if model.kind == "email":
            channel["reply_sla_s"] = max(requirement.targets[name].within_s, 1.0)
        channels[name] = channel
    return channels


def _mean(values: np.ndarray, weights: np.ndarray) -> float:
    known = ~np.isnan(values)
    if not known.any():
        return math.nan
    if weights[known].sum() > 0:
        return float(np.average(values[known], weights=weights[known]))
    return float(values[known].mean())
