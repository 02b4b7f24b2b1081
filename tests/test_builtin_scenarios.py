"""The example scenarios run from a fresh clone with one command, and their what-ifs show
what the planner's guide says."""

from __future__ import annotations

import json

import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

from kpiforge.cli import cli
from kpiforge.simulations import builtin_scenario


def run(*args):
    return CliRunner().invoke(cli, [str(a) for a in args])


@pytest.mark.parametrize(("name", "start"), [
    ("december", "2026-12-18"), ("launch", "2026-03-16"), ("summer", "2026-08-03")])
def test_each_example_runs_with_one_command(tmp_path, name, start):
    out = tmp_path / name
    result = run("simulate", name, "--days", 1, "--out", out)
    assert result.exit_code == 0, result.output
    assert pq.read_table(out / "contacts.parquet").num_rows > 500
    assert str(builtin_scenario(name).start) == start


def test_december_needs_more_agents_on_its_peak_day():
    # The last shipping day (the first day): 20 % more agents on every shift lift the
    # service level of calls and chats.
    result = run("whatif", "december", "--set", "scenario.days=1", "--vs",
                 "staffing.shifts.*.agents=*1.2", "--replications", 3, "--by", "channel",
                 "--kpi", "service_level", "--format", "json", "--workers", 2)
    assert result.exit_code == 0, result.output
    rows = {r["channel"]: r for r in json.loads(result.stdout)}
    assert rows["call"]["baseline"] < 0.8 and rows["call"]["difference_ci_low"] > 0
    assert rows["chat"]["difference"] > 0


def test_launch_day_triples_the_calls():
    launch = builtin_scenario("launch")
    day = next(e for e in launch.events if e.name == "launch day")
    assert (day.multiplier, str(day.start)) == (3.0, "2026-03-17")
    louder = builtin_scenario("launch", {"events.launch day.multiplier": "*1.4"})
    assert louder.events[0].multiplier == pytest.approx(4.2)
    chat = builtin_scenario("launch", {"staffing.shifts.chat.concurrency": "3"})
    assert [s.concurrency for s in chat.staffing.shifts] == [1, 1, 3, 2]


def test_summer_cannot_close_its_late_shift():
    result = run("whatif", "summer", "--set", "scenario.days=1", "--vs",
                 "staffing.shifts.late.agents=0", "--replications", 4, "--kpi",
                 "service_level", "--format", "json", "--workers", 2)
    assert result.exit_code == 0, result.output
    [row] = json.loads(result.stdout)
    assert row["variant"] < 0.8 and row["difference_ci_high"] < 0
