"""``kpiforge simulate``, ``kpiforge erlang`` and the pytest plugin, as users meet them."""

from __future__ import annotations

import json

import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner
from test_erlang import birth_death
from test_scenario import MINIMAL

from kpiforge.cli import cli


def run(*args):
    return CliRunner().invoke(cli, [str(a) for a in args])


def test_simulate_writes_the_tables_and_the_resolved_scenario(tmp_path):
    scenario = tmp_path / "flat.toml"
    scenario.write_text(MINIMAL)
    out = tmp_path / "run"
    result = run("simulate", scenario, "--days", "2", "--seed", "5", "--set",
                 "staffing.agents=12", "--out", out)
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in out.iterdir()) == [
        "agent_intervals.parquet", "contacts.parquet", "scenario.toml"]
    resolved = (out / "scenario.toml").read_text()
    assert "days = 2" in resolved and "seed = 5" in resolved
    assert pq.read_table(out / "agent_intervals.parquet")["agent"].to_pylist().count(
        "all_day-12") > 0
    computed = json.loads(run("compute", out, "--kpi", "offered,occupancy",
                              "--format", "json").output)
    assert computed[0]["offered"] == pq.read_table(out / "contacts.parquet").num_rows


def test_simulate_csv_and_default_scenario(tmp_path):
    result = run("simulate", "--days", "1", "--format", "csv", "--out", tmp_path / "run")
    assert result.exit_code == 0, result.output
    assert (tmp_path / "run" / "contacts.csv").read_text().startswith("\"contact_id\"")
    rows = json.loads(run("compute", tmp_path / "run", "--kpi", "offered", "--by", "channel",
                          "--format", "json").output)
    assert [r["channel"] for r in rows] == ["call", "chat", "email"]


@pytest.mark.parametrize(("args", "message"), [
    (["--set", "staffing.agents=-3"], "staffing.agents: must be >= 0, got -3"),
    (["--set", "channels.call.volume=5"], "unknown key 'volume'"),
    (["--set", "nonsense"], "expected NAME=VALUE"),
])
def test_bad_scenario_writes_nothing(tmp_path, args, message):
    scenario = tmp_path / "flat.toml"
    scenario.write_text(MINIMAL)
    out = tmp_path / "run"
    result = run("simulate", scenario, *args, "--out", out)
    assert result.exit_code != 0
    assert message in result.output
    assert "Traceback" not in result.output
    assert not out.exists()
    assert [p.name for p in tmp_path.iterdir()] == ["flat.toml"]


def test_missing_scenario_file(tmp_path):
    result = run("simulate", tmp_path / "nope.toml", "--out", tmp_path / "run")
    assert result.exit_code == 1
    assert "no such scenario file" in result.output


def test_erlang_answers_both_questions():
    table = run("erlang", "--calls", "200", "--aht-s", "180", "--service-level", "0.8",
                "--patience-s", "120")
    assert table.exit_code == 0, table.output
    assert "fewest agents for a 80% service level: 12" in table.output
    data = json.loads(run("erlang", "--calls", "200", "--aht-s", "180", "--agents", "9-11",
                          "--format", "json").output)
    assert data["model"] == "erlang_c" and data["traffic"] == 10
    assert [r["agents"] for r in data["rows"]] == [9, 10, 11]
    assert data["rows"][0]["asa"] is None and data["rows"][0]["service_level"] == 0
    assert data["rows"][2]["wait_probability"] == pytest.approx(0.6821, abs=1e-4)
    assert "give --agents N" in run("erlang", "--calls", "1", "--aht-s", "1").output
    none = json.loads(run("erlang", "--calls", "10", "--aht-s", "100", "--agents", "0",
                          "--format", "json").output)
    assert none["rows"][0]["occupancy"] is None  # no agents: undefined, not 100 %


def test_erlang_batch_answers():
    data = json.loads(run("erlang", "--calls", "100,200,0", "--aht-s", "180",
                          "--service-level", "0.8", "--format", "json").output)
    # 5 Erlangs at 80/20: the birth-death chain says 7 agents miss it and 8 meet it;
    # 10 Erlangs need 14 (test_erlang's brute force); no calls need no agents.
    assert birth_death(100 / 3600, 1 / 180, 0.0, 7, 20, depth=200)[0] < 0.8
    assert birth_death(100 / 3600, 1 / 180, 0.0, 8, 20, depth=200)[0] >= 0.8
    assert [r["required_agents"] for r in data["rows"]] == [8, 14, 0]
    assert [r["model"] for r in data["rows"]] == ["erlang_c"] * 3


def test_erlang_batch_from_a_forecast(tmp_path):
    path = tmp_path / "f.csv"
    path.write_text("interval_start,channel,contacts,aht_s,patience_s\n"
                    "2026-11-16T09:00,voice,100,180,120\n2026-11-16T09:30,voice,100,180,\n")
    result = run("erlang", path, "--service-level", "0.8", "--format", "json")
    assert result.exit_code == 0, result.output
    rows = json.loads(result.output)["rows"]
    assert [(r["model"], r["agents"]) for r in rows] == [("erlang_a", 12), ("erlang_c", 14)]
    assert rows[0]["interval_start"] == "2026-11-16T09:00:00" and rows[0]["channel"] == "voice"


def test_pytest_plugin_gives_loads_and_benchmarks(pytester):
    pytester.makepyfile('''
        from kpiforge.simulations import builtin_scenario

        def test_load(contact_load):
            tables = contact_load("flat", days=1, seed=3, staffing__agents=12)
            tables["contacts"] = None  # a test changing its mapping...
            again = contact_load("flat", days=1, seed=3, staffing__agents=12)
            assert again["contacts"].num_rows > 4000  # ...does not change the next one's
            assert again["agent_intervals"] is tables["agent_intervals"]  # one run, cached
            same = builtin_scenario("flat", {"scenario.days": "1", "scenario.seed": "3",
                                             "staffing.agents": "12"})
            assert contact_load(same)["contacts"] is again["contacts"]  # cached by value
            other = contact_load("flat", days=1, seed=4, staffing__agents=12)
            assert other["contacts"] is not again["contacts"]

        def test_benchmark(contact_load, benchmark_kpis):
            result = benchmark_kpis(contact_load("demo", days=1), kpis=["asa"], by=["channel"])
            assert len(result) == 3
    ''')
    result = pytester.runpytest("-p", "no:cacheprovider", "--benchmark-disable")
    result.assert_outcomes(passed=2)


def test_new_scenario_keys_are_set_keys_too(tmp_path):
    scenario = tmp_path / "flat.toml"
    scenario.write_text(MINIMAL)
    out = tmp_path / "run"
    result = run("simulate", scenario, "--days", "1", "--set", "channels.call.hours=08:00-18:00",
                 "--set", "scenario.warmup=0.5", "--set", "scenario.warmdown=0.25", "--out", out)
    assert result.exit_code == 0, result.output
    resolved = (out / "scenario.toml").read_text()
    assert 'hours = "08:00-18:00"' in resolved
    assert "warmup = 0.5" in resolved and "warmdown = 0.25" in resolved
    arrived = pq.read_table(out / "contacts.parquet")["arrived_s"].to_numpy()
    assert (arrived >= 8 * 3600).all() and (arrived < 18 * 3600).all()
