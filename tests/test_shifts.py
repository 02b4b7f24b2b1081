"""Shift plans: hand-worked optima, coverage re-counted from the printed shifts, the LP
bound, the scenario section the simulator runs, verification, and errors that name the
interval, pattern or key."""

from __future__ import annotations

import json
import re
import tomllib
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from kpiforge import KpiforgeError, staffing
from kpiforge.cli import cli
from kpiforge.simulations import load_scenario, parse_scenario

HEADER = "interval_start,channel,contacts,aht_s,patience_s\n"


def run(*args):
    return CliRunner().invoke(cli, [str(a) for a in args])


def forecast_file(tmp_path, hours=range(9, 17), contacts=100, days=1, name="f.csv"):
    lines = [HEADER]
    for day in range(days):
        for h in hours:
            for m in (0, 30):
                lines.append(f"2026-11-{16 + day}T{h:02d}:{m:02d},call,{contacts},180,120\n")
    path = tmp_path / name
    path.write_text("".join(lines))
    return path


def patterns_file(tmp_path, text):
    path = tmp_path / "patterns.toml"
    path.write_text(text)
    return path


DAY_PATTERN = """
[[patterns]]
name = "day"
start = "09:00"
hours = 8
breaks = [{ minutes = 30, window = ["1h", "7h"] }]
"""


def test_hand_worked_optimum_with_breaks(tmp_path):
    # Every half-hour 09:00-17:00 needs 12 agents (100 calls of 180 s, patience 120 s).
    # N agents on 09:00-17:00 each take a 30-minute break in one of the 12 half-hours
    # 10:00-16:00; a half-hour with b breaks has N - b >= 12 agents, and the breaks add
    # up to N, so N <= 12 (N - 12): N >= 13.1, 14 agents (two on break in two half-hours,
    # one in the others), 112 paid hours.
    table = staffing.requirements(forecast_file(tmp_path))
    assert set(table["scheduled"].tolist()) == {12}
    plan = staffing.plan_shifts(table, patterns_file(tmp_path, DAY_PATTERN))
    assert plan.paid_hours == 112
    assert plan.optimal and plan.gap <= 1e-4
    # The LP relaxation lets N be fractional: N = 12 (N - 12) gives N = 144 / 11.
    assert plan.lp_bound == pytest.approx(8 * 144 / 11, rel=1e-6)


def covered_from_rows(rows, starts):
    """Agents at work and not on a break at the start of each half-hour, counted from the
    printed shift rows (start, end, 'HH:MM-HH:MM' breaks)."""
    def minutes(clock):
        h, m = clock.split(":")
        return int(h) * 60 + int(m)

    counts = np.zeros(len(starts))
    for row in rows:
        day = np.datetime64(row["date"])
        begin = day + np.timedelta64(minutes(row["start"]), "m")
        end = begin + np.timedelta64((minutes(row["end"]) - minutes(row["start"])) % 1440, "m")
        breaks = [tuple(minutes(t) for t in b.split("-")) for b in row["breaks"].split(", ")
                  if b]
        for i, t in enumerate(starts):
            if begin <= t < end:
                clock = (t - day).astype("timedelta64[m]").astype(int) % 1440
                if not any(b0 <= clock < b1 for b0, b1 in breaks):
                    counts[i] += row["count"]
    return counts


def test_plan_covers_every_interval_of_a_week_within_one_percent_of_the_bound(tmp_path):
    path = forecast_file(tmp_path, hours=range(7, 21), contacts=60, days=7)
    patterns = patterns_file(tmp_path, """
[plan]
step = "30min"

[[patterns]]
name = "early"
start = ["06:00", "12:30"]
hours = 8.5
breaks = [{ minutes = 30, window = ["3h", "5h30min"] }]

[[patterns]]
name = "part time"
start = ["10:00", "16:00"]
hours = 4
days = ["mon", "tue", "wed", "thu", "fri"]
""")
    table = staffing.requirements(path, shrinkage=0.25)
    plan = staffing.plan_shifts(table, patterns)
    starts, needed = table.scheduled_by_interval()
    counted = covered_from_rows(plan.shift_rows(), starts)
    assert (counted >= needed).all()
    assert plan.optimal or plan.objective <= 1.01 * plan.lp_bound
    assert plan.paid_hours == pytest.approx(sum(
        r["count"] * (8.5 if r["pattern"] == "early" else 4) for r in plan.shift_rows()))
    coverage = {r["interval_start"]: r for r in plan.coverage_rows()}
    for t, need in zip(np.datetime_as_string(starts, unit="s"), needed, strict=True):
        assert coverage[t]["required"] == need and coverage[t]["under"] == 0


def test_cost_per_pattern_and_counts(tmp_path):
    # Two ways to cover 09:00-17:00 with 12 agents: 8-hour shifts or pairs of 4-hour ones.
    # With 4-hour shifts at half the hourly cost, they win; min_count forces 2 long ones.
    table = staffing.requirements(forecast_file(tmp_path))
    plan = staffing.plan_shifts(table, patterns_file(tmp_path, """
[[patterns]]
name = "long"
start = "09:00"
hours = 8
cost = 2.0
min_count = 2

[[patterns]]
name = "half"
start = ["09:00", "13:00"]
hours = 4
cost = 1.0
"""))
    rows = plan.shift_rows()
    long = sum(r["count"] for r in rows if r["pattern"] == "long")
    half = sum(r["count"] for r in rows if r["pattern"] == "half")
    assert long == 2 and half == 20  # 2 x 8 x 2 + 20 x 4 x 1 = 112
    assert plan.objective == pytest.approx(112)


def test_days_on_and_off(tmp_path):
    # A week of equal days and a 5-on-2-off pattern: 7 rotations; each day needs 12, each
    # agent works 5 of 7 days, so at least 12 x 7 / 5 = 16.8 -> 17 agents (5 days each).
    table = staffing.requirements(forecast_file(tmp_path, days=7))
    plan = staffing.plan_shifts(table, patterns_file(tmp_path, """
[[patterns]]
name = "five"
start = "09:00"
hours = 8
days_on = 5
days_off = 2
"""))
    agents = sum(int(n) for n in plan.counts)
    assert agents == 17
    assert plan.paid_hours == 17 * 5 * 8
    assert all(len(c.days) == 5 for c, n in zip(plan.columns, plan.counts, strict=True) if n)


def test_the_staffing_section_runs_in_the_simulator(tmp_path):
    table = staffing.requirements(forecast_file(tmp_path), shrinkage=0.2)
    plan = staffing.plan_shifts(table, patterns_file(tmp_path, DAY_PATTERN))
    section = tomllib.loads(plan.staffing_toml(0.2))["staffing"]
    assert section["shrinkage"] == 0.2
    assert {"name", "start", "end", "agents", "concurrency", "breaks"} <= \
        section["shifts"][0].keys()
    assert all(len(s["agents"]) == 7 for s in section["shifts"])
    raw = {"scenario": {"days": 1, "seed": 1, "start": "2026-11-16"},
           "channels": {"call": {"volume_per_day": 1600, "aht_s": 180}},
           "staffing": section}
    scenario = parse_scenario(raw)
    monday = sum(s.agents[0] for s in scenario.staffing.shifts)
    assert monday == sum(r["count"] for r in plan.shift_rows())
    path = tmp_path / "week.toml"
    path.write_text("[scenario]\ndays = 1\nseed = 1\nstart = 2026-11-16\n\n"
                    "[channels.call]\nvolume_per_day = 1600\nintraday = \"office\"\n"
                    "aht_s = 180\n\n" + plan.staffing_toml(0.2))
    assert load_scenario(path).staffing.shrinkage == 0.2
    result = run("simulate", path, "--out", tmp_path / "run")
    assert result.exit_code == 0, result.output


def test_verify_meets_the_target_on_the_day(tmp_path):
    path = forecast_file(tmp_path)
    patterns = patterns_file(tmp_path, DAY_PATTERN)
    result = run("staff", path, "--shifts", patterns, "--verify", "--replications", "5",
                 "--format", "json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    days = data["verification"]["days"]
    assert [d["date"] for d in days] == ["2026-11-16"]
    day = days[0]
    assert day["met"] == 1 and day["high"] >= 0.8
    assert day["low"] <= day["service_level"] <= day["high"]
    intervals = data["verification"]["intervals"]
    assert len(intervals) == 16
    assert all(i["met"] == 1 for i in intervals)
    assert data["plan"]["paid_hours"] == 112
    assert data["plan"]["optimal"] and data["plan"]["gap"] <= 0.01


def test_plan_directory_and_table_output(tmp_path):
    path = forecast_file(tmp_path)
    patterns = patterns_file(tmp_path, DAY_PATTERN)
    out = tmp_path / "plan"
    result = run("staff", path, "--shifts", patterns, "--format", "csv", "--out", out)
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in out.iterdir()) == [
        "coverage.csv", "requirements.csv", "shifts.csv", "staffing.toml"]
    assert tomllib.loads((out / "staffing.toml").read_text())["staffing"]["shifts"]
    text = run("staff", path, "--shifts", patterns).output
    assert "Shift plan: 112.0 paid hours" in text
    assert "Scenario staffing section" in text


def test_plot_files(tmp_path):
    path = forecast_file(tmp_path)
    patterns = patterns_file(tmp_path, DAY_PATTERN)
    png, svg = tmp_path / "plan.png", tmp_path / "plan.svg"
    assert run("staff", path, "--shifts", patterns, "--plot", png).exit_code == 0
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert run("staff", path, "--plot", svg).exit_code == 0
    assert b"<svg" in svg.read_bytes()[:500]
    bad = run("staff", path, "--plot", tmp_path / "plan.pdf")
    assert bad.exit_code == 1 and "plots are written as .png or .svg" in bad.output


def test_missing_matplotlib_names_the_extra(tmp_path, monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "matplotlib.figure", None)
    result = run("staff", forecast_file(tmp_path), "--plot", tmp_path / "p.png")
    assert result.exit_code == 1
    assert result.output == "Error: plots need matplotlib: pip install 'kpiforge[plot]'\n"


@pytest.mark.parametrize(("text", "message"), [
    ('[[patterns]]\nname = "night"\nstart = "22:00"\nhours = 6\n',
     "interval 2026-11-16T09:00 needs 12 agents but no pattern works then"),
    ('[[patterns]]\nname = "day"\nstart = "09:00"\nhours = 8\nbreak = []\n',
     "patterns[0]: unknown key 'break' (did you mean: breaks?)"),
    ('[[patterns]]\nname = "day"\nstart = "9 am"\nhours = 8\n',
     "patterns.day.start: expected a time like \"07:30\""),
    ('[plan]\nmax_agents = 5\n[[patterns]]\nname = "day"\nstart = "09:00"\nhours = 8\n',
     "cannot cover the requirement within plan.max_agents"),
    ('[[patterns]]\nname = "day"\nstart = "09:00"\nhours = 8\n'
     'breaks = [{ minutes = 30, window = ["7h", "7h10min"] }]\n',
     "patterns.day.breaks[0]: a 30-minute break does not fit"),
    ('[[patterns]]\nname = "day"\nstart = "09:00"\nhours = 8\nskills = ["chat"]\n',
     "patterns.day.skills: no channel 'chat'"),
])
def test_patterns_that_cannot_cover_are_one_line_errors(tmp_path, text, message):
    result = run("staff", forecast_file(tmp_path), "--shifts", patterns_file(tmp_path, text))
    assert result.exit_code == 1
    assert message in result.output, result.output
    assert result.output.startswith("Error:") and result.output.count("\n") == 1


def test_skills_are_covered_per_channel(tmp_path):
    # Calls need 12 agents, chats (concurrency 1) need their own; agents who only chat
    # cannot help calls, so each channel is covered by agents with its skill.
    path = tmp_path / "f.csv"
    lines = ["interval_start,channel,contacts,aht_s,patience_s\n"]
    for h in range(9, 17):
        for m in (0, 30):
            lines += [f"2026-11-16T{h:02d}:{m:02d},call,100,180,120\n",
                      f"2026-11-16T{h:02d}:{m:02d},chat,30,300,200\n"]
    path.write_text("".join(lines))
    table = staffing.requirements(path)
    needs = {c: int(table["scheduled"][table["channel"] == c][0]) for c in ("call", "chat")}
    plan = staffing.plan_shifts(table, patterns_file(tmp_path, """
[[patterns]]
name = "phones"
start = "09:00"
hours = 8
skills = ["call"]

[[patterns]]
name = "chat"
start = "09:00"
hours = 8
skills = ["chat"]
cost = 0.5
"""))
    counts = {r["pattern"]: r["count"] for r in plan.shift_rows()}
    assert counts == {"phones": needs["call"], "chat": needs["chat"]}
    with pytest.raises(KpiforgeError, match="at most a week"):
        staffing.plan_shifts(staffing.requirements(forecast_file(tmp_path, days=8)),
                             patterns_file(tmp_path, DAY_PATTERN))
    assert re.search(r"chat \d\d:\d\d", plan.staffing_toml(0.0))


def test_the_planners_guide_patterns_load():
    guide = (Path(__file__).resolve().parent.parent / "docs" / "planner-guide.md").read_text()
    block = re.search(r"```\n(\[plan\].*?)```", guide, re.S).group(1)
    patterns = staffing.load_patterns(tomllib.loads(block))
    assert [p.name for p in patterns.patterns] == ["early", "weekly"]
    assert patterns.max_agents == 80 and patterns.step_s == 1800
    assert patterns.patterns[1].days_on == 5 and patterns.patterns[1].cost == 1.2
