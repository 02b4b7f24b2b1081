"""The simulator against queueing theory: on flat scenarios its service level, ASA and
abandonment agree with Erlang C (infinite patience) and Erlang A (exponential patience)
within 99% confidence intervals from independent replications."""

from __future__ import annotations

import tomllib
from pathlib import Path

import numpy as np
import pytest
from scipy import stats

from kpiforge.simulations import erlang_a, erlang_c, parse_scenario, replicate

FLAT = Path(__file__).resolve().parent.parent / "simulations" / "scenarios" / "flat.toml"
KPIS = ("service_level", "asa", "abandonment_rate", "occupancy")
REPLICATIONS, DAYS = 8, 3


def flat_scenario(agents: int, patience: bool):
    raw = tomllib.loads(FLAT.read_text())
    raw["scenario"]["days"] = DAYS
    raw["staffing"]["agents"] = agents
    if not patience:
        del raw["channels"]["call"]["patience_s"]
    return parse_scenario(raw, str(FLAT))


def interval(values: list[float]) -> tuple[float, float]:
    values = np.asarray(values)
    half = stats.t.ppf(0.995, len(values) - 1) * values.std(ddof=1) / np.sqrt(len(values))
    return values.mean() - half, values.mean() + half


def check(runs: list[dict[str, float]], expected: dict[str, float]) -> None:
    for kpi, value in expected.items():
        low, high = interval([run[kpi] for run in runs])
        assert low <= value <= high, f"{kpi}: {value:.4f} outside [{low:.4f}, {high:.4f}]"


def test_erlang_a():
    runs = replicate(flat_scenario(11, patience=True), REPLICATIONS, KPIS, workers=1)
    m = erlang_a(200, 3600, 180, 11, 20, 120)
    check(runs, {"service_level": m.service_level, "asa": m.asa,
                 "abandonment_rate": m.abandon_rate, "occupancy": m.occupancy})


def test_erlang_c():
    runs = replicate(flat_scenario(12, patience=False), REPLICATIONS, KPIS, workers=1)
    m = erlang_c(200, 3600, 180, 12, 20)
    check(runs, {"service_level": m.service_level, "asa": m.asa, "occupancy": m.occupancy})
    assert all(run["abandonment_rate"] == 0 for run in runs)


def test_replications_are_the_same_in_parallel_and_in_series():
    scenario = flat_scenario(11, patience=True)
    assert replicate(scenario, 3, KPIS, workers=2) == replicate(scenario, 3, KPIS, workers=1)
    first, second, _ = replicate(scenario, 3, KPIS, workers=1)
    assert first != second


@pytest.mark.parametrize("agents", [10, 13])
def test_erlang_a_across_staffing_levels(agents):
    runs = replicate(flat_scenario(agents, patience=True), REPLICATIONS, ("service_level",
                     "abandonment_rate"), workers=1)
    m = erlang_a(200, 3600, 180, agents, 20, 120)
    check(runs, {"service_level": m.service_level, "abandonment_rate": m.abandon_rate})
