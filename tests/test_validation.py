"""The simulator against queueing theory: on flat scenarios its service level, ASA and
abandonment agree with Erlang C (infinite patience) and Erlang A (exponential patience)
within 99% confidence intervals from independent replications, with shrinkage and breaks
taking their share of the agents, and chats held several at once bounded by Erlang A on
that many servers.

The analytic values come from the test helpers (``test_erlang``: factorial sums and a
brute-force birth-death chain), not from the code under test.
"""

from __future__ import annotations

import functools
import math
import tomllib
from pathlib import Path

import numpy as np
import pytest
from scipy import stats
from test_erlang import birth_death, erlang_c_by_sums

from kpiforge.simulations import parse_scenario, replicate, run_replications

FLAT = Path(__file__).resolve().parent.parent / "simulations" / "scenarios" / "flat.toml"
KPIS = ("service_level", "asa", "abandonment_rate", "occupancy")
REPLICATIONS, DAYS = 8, 3
CALLS, AHT, PATIENCE, TARGET = 200.0, 180.0, 120.0, 20.0


@functools.cache
def erlang_a_oracle(agents: int, aht: float = AHT) -> dict[str, float]:
    """Erlang A by the birth-death chain; occupancy = carried load / agents."""
    sl, abandon, asa, _ = birth_death(CALLS / 3600, 1 / aht, 1 / PATIENCE, agents,
                                      TARGET, depth=120)
    return {"service_level": sl, "asa": asa, "abandonment_rate": abandon,
            "occupancy": CALLS * aht / 3600 * (1 - abandon) / agents}


def erlang_c_oracle(agents: int) -> dict[str, float]:
    load, rate = CALLS * AHT / 3600, (agents - CALLS * AHT / 3600) / AHT
    wait = erlang_c_by_sums(load, agents)
    return {"service_level": 1 - wait * math.exp(-rate * TARGET), "asa": wait / rate,
            "occupancy": load / agents}


def flat_scenario(agents: int, patience: bool = True, **staffing):
    raw = tomllib.loads(FLAT.read_text())
    raw["scenario"]["days"] = DAYS
    raw["staffing"]["agents"] = agents
    raw["staffing"].update(staffing)
    if not patience:
        del raw["channels"]["call"]["patience_s"]
    return parse_scenario(raw, str(FLAT))


def interval(values) -> tuple[float, float]:
    values = np.asarray(values)
    half = stats.t.ppf(0.995, len(values) - 1) * values.std(ddof=1) / np.sqrt(len(values))
    return values.mean() - half, values.mean() + half


def check(runs: list[dict[str, float]], expected: dict[str, float]) -> None:
    for kpi, value in expected.items():
        low, high = interval([run[kpi] for run in runs])
        assert low <= value <= high, f"{kpi}: {value:.4f} outside [{low:.4f}, {high:.4f}]"


def test_erlang_a():
    check(replicate(flat_scenario(11), REPLICATIONS, KPIS, workers=1), erlang_a_oracle(11))


def test_erlang_c():
    runs = replicate(flat_scenario(12, patience=False), REPLICATIONS, KPIS, workers=1)
    check(runs, erlang_c_oracle(12))
    assert all(run["abandonment_rate"] == 0 for run in runs)


@pytest.mark.parametrize("agents", [10, 13])
def test_erlang_a_across_staffing_levels(agents):
    runs = replicate(flat_scenario(agents), REPLICATIONS, ("service_level",
                     "abandonment_rate"), workers=1)
    oracle = erlang_a_oracle(agents)
    check(runs, {k: oracle[k] for k in ("service_level", "abandonment_rate")})


def test_shrinkage_removes_its_share_of_the_agents():
    # 16 agents with 25 % shrinkage serve like Erlang A with 12.
    runs = replicate(flat_scenario(16, shrinkage=0.25), REPLICATIONS, KPIS, workers=1)
    check(runs, erlang_a_oracle(12))


BREAKS = """
[scenario]
days = 3
seed = 11

[channels.call]
volume_per_day = 4800
aht_s = { dist = "exponential", mean = 180 }
patience_s = { dist = "exponential", mean = 120 }

[staffing]
[[staffing.shifts]]
name = "all day"
start = "00:00"
end = "24:00"
agents = 12
breaks = [{ start = "00:00", end = "24:00", minutes = 120 }]
"""


def test_breaks_in_relay_remove_one_agent_of_twelve():
    # Twelve 2-hour breaks staggered over the day: always one agent away, so Erlang A on 11.
    runs = replicate(parse_scenario(tomllib.loads(BREAKS)), REPLICATIONS, KPIS, workers=1)
    check(runs, erlang_a_oracle(11))


def test_chat_concurrency_lies_between_erlang_a_with_and_without_the_stretch():
    # 7 agents holding 2 chats each, every chat 25 % slower while another is held: between
    # Erlang A on 14 servers at the plain handling time (no agent ever slowed), which lies
    # outside the interval, and at the fully stretched one (every agent always holding two),
    # which the simulation beats but stays near (agents hold two chats most of the time).
    scenario = flat_scenario(7, concurrency=2)
    raw = scenario.to_dict()
    raw["channels"]["call"].update(kind="chat", concurrency_stretch=0.25)
    runs = run_replications(parse_scenario(raw), REPLICATIONS, kpis=("service_level",
                            "abandonment_rate", "aht"), workers=1)
    fast, slow = erlang_a_oracle(14), erlang_a_oracle(14, aht=AHT * 1.25)
    level = runs.values["service_level"][:, 0]
    assert slow["service_level"] < level.mean() and interval(level)[1] < fast["service_level"]
    abandon = runs.values["abandonment_rate"][:, 0]
    assert fast["abandonment_rate"] < interval(abandon)[0]
    assert abandon.mean() < slow["abandonment_rate"]
    low, high = interval(runs.values["aht"][:, 0].tolist())
    assert AHT < low <= high < AHT * 1.25


def test_replications_are_the_same_in_parallel_and_in_series():
    scenario = flat_scenario(11)
    assert replicate(scenario, 3, KPIS, workers=2) == replicate(scenario, 3, KPIS, workers=1)
    first, second, _ = replicate(scenario, 3, KPIS, workers=1)
    assert first != second
