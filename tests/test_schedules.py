"""Who works when: staggered breaks, shrinkage in rotation, dated staffing, warm-up and
warm-down, as the agent_intervals table shows them."""

from __future__ import annotations

import numpy as np
import pyarrow.compute as pc
import pytest

from kpiforge.simulations import load_scenario, simulate

IDLE_FLOOR = """
[scenario]
days = 2
seed = 5
interval_min = 5

[channels.call]
volume_per_day = {volume}
aht_s = 200

[staffing]
shrinkage = {shrinkage}

[[staffing.shifts]]
name = "day"
start = "08:00"
end = "16:00"
agents = {agents}
breaks = [{breaks}]
"""


def floor(tmp_path, volume=0, shrinkage=0.0, agents=8,
          breaks='{ start = "11:00", end = "13:00", minutes = 30 }', **overrides):
    path = tmp_path / "floor.toml"
    path.write_text(IDLE_FLOOR.format(volume=volume, shrinkage=shrinkage, agents=agents,
                                      breaks=breaks))
    return simulate(load_scenario(path, overrides))


def away(run) -> dict[str, np.ndarray]:
    """Each agent's shrinkage seconds per 5-minute interval of the first day."""
    cells = run.agent_intervals.to_pandas()
    out = {}
    for agent, rows in cells.groupby("agent", observed=True):
        series = np.zeros(288)
        first = rows[rows["interval_start_s"] < 86400]
        series[(first["interval_start_s"] // 300).astype(int)] = first["shrinkage_s"]
        out[str(agent)] = series
    return out


def test_breaks_are_staggered_across_the_window(tmp_path):
    lost = away(floor(tmp_path))
    # By hand: 8 agents, starts spread evenly over 11:00-12:30 (90 / 7 minutes apart), to
    # the minute: 11:00, 11:13, 11:26, 11:39, 11:51, 12:04, 12:17, 12:30.
    starts = [11 * 60 + m for m in (0, 13, 26, 39, 51, 64, 77, 90)]
    for k, minute in enumerate(starts):
        expected = np.zeros(288)
        for m in range(minute, minute + 30):
            expected[m // 5] += 60
        assert lost[f"day-{k + 1:02d}"] == pytest.approx(expected), k
    on_break = sum(lost.values()) / 300
    assert on_break.max() <= 3  # never more than 3 of 8 away at once


def test_a_break_at_a_fixed_time_takes_everyone_at_once(tmp_path):
    lost = away(floor(tmp_path, breaks='{ start = "11:00", minutes = 30 }'))
    expected = np.zeros(288)
    expected[132:138] = 300
    for series in lost.values():
        assert series == pytest.approx(expected)


def test_shrinkage_keeps_the_same_share_away_in_every_block(tmp_path):
    run = floor(tmp_path, shrinkage=0.25, breaks="")
    lost = sum(away(run).values())
    quarter_hours = lost.reshape(-1, 3).sum(axis=1)
    # 8 agents x 0.25: exactly 2 away in every 15 minutes of the shift, none outside it.
    assert quarter_hours[32:64] == pytest.approx(np.full(32, 2 * 900))
    assert quarter_hours[:32].sum() == quarter_hours[64:].sum() == 0
    cells = run.agent_intervals.to_pandas()
    per_agent = cells.groupby("agent", observed=True)["shrinkage_s"].sum() / (2 * 8 * 3600)
    assert per_agent.to_numpy() == pytest.approx(np.full(8, 0.25), abs=1 / 32)


def test_shrinkage_blocks_avoid_the_agents_breaks(tmp_path):
    run = floor(tmp_path, shrinkage=0.2, agents=10)
    cells = run.agent_intervals.to_pandas()
    # Shrinkage and breaks never overlap: an agent's lost time in a 5-minute interval is at
    # most the interval; the total is 20 % of the shifts plus the breaks.
    assert (cells["shrinkage_s"] <= 300 + 1e-9).all()
    total = cells["shrinkage_s"].sum()
    assert total == pytest.approx(10 * 2 * (0.2 * 8 * 3600 + 1800), rel=0.02)


def staffed_hours_by_day(run) -> list[float]:
    cells = run.agent_intervals.to_pandas()
    hours = cells.groupby(cells["interval_start_s"] // 86400)["staffed_s"].sum() / 3600
    return hours.reindex(range(run.scenario.days), fill_value=0).tolist()


def test_dated_overrides_change_head_counts_and_shifts(tmp_path):
    text = IDLE_FLOOR.format(volume=0, shrinkage=0, agents=4, breaks="").replace(
        "days = 2", "days = 6") + """
[[staffing.overrides]]
start = 2026-01-06
agents = 1

[[staffing.overrides]]
start = 2026-01-07
end = 2026-01-09
ramp = [2, 6]

[[staffing.overrides]]
start = 2026-01-10
[[staffing.overrides.shifts]]
name = "weekend"
start = "10:00"
end = "14:00"
agents = 3
"""
    path = tmp_path / "dated.toml"
    path.write_text(text)
    run = simulate(load_scenario(path))
    assert staffed_hours_by_day(run) == pytest.approx([32, 8, 16, 32, 48, 12])
    agents = set(run.agent_intervals["agent"].to_pylist())
    assert agents == {*(f"day-{k:02d}" for k in range(1, 7)), "weekend-01", "weekend-02",
                      "weekend-03"}


EMAILS = """
[scenario]
days = 2
seed = 6

[channels.email]
volume_per_day = 400
aht_s = 300

[staffing]
[[staffing.shifts]]
name = "desk"
start = "08:00"
end = "16:00"
agents = 2
"""


def email_run(tmp_path, **overrides):
    path = tmp_path / "emails.toml"
    path.write_text(EMAILS)
    return simulate(load_scenario(path, {k: str(v) for k, v in overrides.items()}))


def test_warmup_is_simulated_but_not_reported(tmp_path):
    cold = email_run(tmp_path)
    warm = email_run(tmp_path, **{"scenario.warmup": 1})
    # The same arrivals are reported (each date draws its own), none before the epoch...
    assert warm.contacts["arrived_s"].equals(cold.contacts["arrived_s"])
    assert pc.min(warm.agent_intervals["interval_start_s"]).as_py() >= 0
    # ...but the first morning starts with the warm-up day's backlog, so its emails wait
    # longer and the agents are as busy from 08:00 as later.
    first = pc.less(warm.contacts["arrived_s"], 8 * 3600)
    waits = [pc.mean(pc.subtract(run.contacts.filter(first)["answered_s"],
                                 run.contacts.filter(first)["arrived_s"])).as_py()
             for run in (cold, warm)]
    assert waits[1] > waits[0] + 3600
    assert warm.agent_intervals.num_rows == cold.agent_intervals.num_rows


def test_warmdown_finishes_open_work_without_new_arrivals(tmp_path):
    short = email_run(tmp_path)
    longer = email_run(tmp_path, **{"scenario.warmdown": 1})
    assert longer.contacts["arrived_s"].equals(short.contacts["arrived_s"])
    assert pc.max(longer.contacts["arrived_s"]).as_py() < 2 * 86400
    unanswered = [run.contacts["answered_s"].null_count +
                  int(pc.sum(pc.is_nan(run.contacts["answered_s"])).as_py())
                  for run in (short, longer)]
    # Capacity: 2 agents x 8 h = 192 replies a day for 400 emails: the backlog grows, and
    # the warm-down day answers another 192 of it.
    assert unanswered[0] - unanswered[1] == pytest.approx(192, abs=2)
    # agent_intervals still covers the reported days only.
    assert pc.max(longer.agent_intervals["interval_start_s"]).as_py() < 2 * 86400


def test_a_warmup_may_be_part_of_a_day(tmp_path):
    cold = email_run(tmp_path)
    evening = email_run(tmp_path, **{"scenario.warmup": 0.25})
    assert evening.scenario.begin_s == -6 * 3600
    assert evening.contacts["arrived_s"].equals(cold.contacts["arrived_s"])
    # The evening before leaves its emails waiting at 08:00.
    first = pc.less(cold.contacts["arrived_s"], 8 * 3600)
    answered = [pc.min(run.contacts.filter(first)["answered_s"]).as_py()
                for run in (cold, evening)]
    assert answered[1] > answered[0]
