"""Staffing speed, in one run: required agents for 10,000 half-hour intervals, vectorised,
against a per-interval Python loop and against pyworkforce's ``ErlangC.required_positions``
(answers checked equal first), and a week's shift plan on scipy's ``milp``.

Loops are timed over the first ``LOOP`` intervals (the time is linear in the intervals);
each benchmark records ``seconds_per_10000`` in ``extra_info`` so that the rows compare.
pyworkforce (with OR-Tools) is too heavy for the dev extra: its benchmark is skipped unless
it is installed.
"""

from __future__ import annotations

import numpy as np
import pytest

from kpiforge import staffing
from kpiforge.simulations.erlang import required_agents

INTERVALS = 10_000
INTERVAL_S, AHT_S, WITHIN_S, PATIENCE_S, LEVEL = 1800.0, 240.0, 20.0, 120.0, 0.8
LOOP = {"c": 1_000, "a": 200}


def volumes() -> np.ndarray:
    """Contacts per half-hour: 5 to 600 (3 to 80 Erlangs at 240 s)."""
    return np.random.default_rng(13).uniform(5, 600, INTERVALS).round()


def record(benchmark, intervals: int) -> None:
    benchmark.extra_info["intervals"] = intervals
    benchmark.extra_info["seconds_per_10000"] = benchmark.stats.stats.min * INTERVALS / intervals


@pytest.mark.parametrize("model", ["c", "a"])
@pytest.mark.benchmark(group="staffing-required-agents")
def test_vectorised(benchmark, model):
    calls = volumes()
    patience = PATIENCE_S if model == "a" else None
    agents = benchmark.pedantic(required_agents, (calls, INTERVAL_S, AHT_S, LEVEL, WITHIN_S,
                                                  patience), rounds=3, iterations=1)
    sample = np.arange(0, INTERVALS, 997)
    assert agents[sample].tolist() == [required_agents(c, INTERVAL_S, AHT_S, LEVEL, WITHIN_S,
                                                       patience) for c in calls[sample]]
    record(benchmark, INTERVALS)


@pytest.mark.parametrize("model", ["c", "a"])
@pytest.mark.benchmark(group="staffing-required-agents")
def test_per_interval_loop(benchmark, model):
    calls = volumes()[:LOOP[model]]
    patience = PATIENCE_S if model == "a" else None

    def loop() -> list[int]:
        return [required_agents(c, INTERVAL_S, AHT_S, LEVEL, WITHIN_S, patience)
                for c in calls.tolist()]

    benchmark.pedantic(loop, rounds=1, iterations=1)
    record(benchmark, len(calls))


@pytest.mark.benchmark(group="staffing-required-agents")
def test_pyworkforce_erlang_c(benchmark):
    erlang = pytest.importorskip("pyworkforce.queuing").ErlangC
    calls = volumes()

    def loop() -> list[int]:
        return [erlang(transactions=c, aht=AHT_S, asa=WITHIN_S, interval=INTERVAL_S)
                .required_positions(service_level=LEVEL)["raw_positions"]
                for c in calls.tolist()]

    theirs = benchmark.pedantic(loop, rounds=1, iterations=1)
    ours = required_agents(calls, INTERVAL_S, AHT_S, LEVEL, WITHIN_S)
    assert ours.tolist() == theirs
    record(benchmark, INTERVALS)


@pytest.mark.benchmark(group="staffing-shift-plan")
def test_week_shift_plan(benchmark, tmp_path):
    """Seven days of 48 half-hours (calls 07:00-22:00 with a midday peak, fewer at the
    weekend), three patterns with start windows and breaks: 336 intervals."""
    rows = ["interval_start,channel,contacts,aht_s,patience_s"]
    shape = np.exp(-0.5 * ((np.arange(48) / 2 - 13) / 3.5) ** 2)
    for day in range(7):
        scale = 260 if day < 5 else 120
        for slot in range(48):
            hour = slot / 2
            contacts = round(scale * shape[slot]) if 7 <= hour < 22 else 0
            rows.append(f"2026-11-{16 + day}T{slot // 2:02d}:{30 * (slot % 2):02d},call,"
                        f"{contacts},{AHT_S},{PATIENCE_S}")
    forecast = tmp_path / "week.csv"
    forecast.write_text("\n".join(rows) + "\n")
    patterns = tmp_path / "patterns.toml"
    patterns.write_text("""
[[patterns]]
name = "early"
start = ["06:30", "10:00"]
hours = 8.5
breaks = [{ minutes = 30, window = ["3h", "5h30min"] }]

[[patterns]]
name = "late"
start = ["12:00", "14:00"]
hours = 8.5
breaks = [{ minutes = 30, window = ["3h", "5h30min"] }]

[[patterns]]
name = "part"
start = ["09:00", "18:00"]
hours = 4
days = ["mon", "tue", "wed", "thu", "fri"]
""")
    table = staffing.requirements(forecast, shrinkage=0.3)
    plan = benchmark.pedantic(staffing.plan_shifts, (table, patterns), rounds=1,
                              iterations=1)
    assert (plan.covered >= plan.required - 1e-9).all()
    benchmark.extra_info.update(intervals=len(plan.required), columns=len(plan.columns),
                                paid_hours=plan.paid_hours, gap=plan.gap,
                                lp_gap=plan.lp_gap, optimal=plan.optimal)
