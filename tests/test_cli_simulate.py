"""``kpiforge simulate``, ``kpiforge erlang`` and the pytest plugin, as users meet them."""

from __future__ import annotations

import json
import re

import numpy as np
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner
from test_erlang import birth_death
from test_scenario import MINIMAL, SCENARIOS

from kpiforge.cli import cli
from kpiforge.simulations import BUILTIN_SCENARIOS


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


def one_line_error(result, message):
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    [line] = result.output.strip().splitlines()
    assert line.startswith("Error: ") and message in line, line


#: --set KEY=VALUE of each kind of number, and the key the error names.
NUMBERS = [
    ("channels.call.volume_per_day", "{}", "channels.call.volume_per_day"),
    ("channels.call.weekday", "[1, 1, 1, {}, 1, 1, 1]", "channels.call.weekday"),
    ("channels.call.intraday", "[{}" + ", 1" * 23 + "]", "channels.call.intraday"),
    ("channels.call.queues", "{{ a = 1, b = {} }}", "channels.call.queues"),
    ("channels.call.aht_s.mean", "{}", "channels.call.aht_s: mean"),
    ("channels.call.acw_s", "{}", "channels.call.acw_s"),
    ("channels.call.aht_s", "{{ dist = 'empirical', values = [1, {}] }}",
     "channels.call.aht_s: values"),
    ("channels.call.resolve", "{}", "channels.call.resolve"),
    ("staffing.shrinkage", "{}", "staffing.shrinkage"),
    ("staffing.agents", "{}", "staffing.agents"),
    ("staffing.hourly_cost", "{}", "staffing.hourly_cost"),
    ("scenario.days", "{}", "scenario.days"),
    ("scenario.seed", "{}", "scenario.seed"),
    ("scenario.warmup", "{}", "scenario.warmup"),
    ("satisfaction.base", "{}", "satisfaction.base"),
    ("events", "[{{ name = 'x', start = 2026-01-05, multiplier = {} }}]",
     "events[0].multiplier"),
]


@pytest.mark.parametrize("value", ["nan", "inf", "-inf"])
@pytest.mark.parametrize(("key", "template", "named"), NUMBERS)
def test_numbers_that_are_not_finite_are_errors_naming_the_key(tmp_path, flat, key,
                                                                template, named, value):
    result = run("simulate", flat, "--set", f"{key}={template.format(value)}", "--out",
                 tmp_path / "run")
    one_line_error(result, f"{flat}: {named}")
    assert f"must be a finite number, got {value}" in result.output
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize(("args", "message"), [
    (["--set", "channels.call.volume_per_day=1e12"],
     "channels.call: about 1,000,000,000,000 contacts expected over 1 simulated day(s) "
     "(volume_per_day x profiles x events, with repeats), about 1 PB of memory; the limit is "
     "10,000,000 contacts: make the run smaller, or raise the limit with --max-contacts N"),
    (["--set", "staffing.agents=100000000"],
     "staffing: about 9,600,000,000 agent intervals (head counts x 15-minute intervals over 1 "
     "simulated day(s); most in shift 'all day'), about 1 TB of memory; the limit is "
     "10,000,000 agent intervals: make the run smaller, or raise the limit with "
     "--max-agent-intervals N"),
    (["--set", "staffing.concurrency=1000000"],
     "staffing.concurrency: must be <= 10, got 1000000"),
    (["--set", "scenario.days=1e9"], "scenario.days: must be <= 3,660, got 1000000000.0"),
    (["--set", "scenario.start=9999-12-31"],
     "scenario.start: a run of 1 day(s) from 9999-12-31 (with its warm-up and warm-down) "
     "leaves the calendar (0001-01-01 to 9999-12-31)"),
    (["--set", "channels.call.volume_per_day=500", "--max-contacts", "400"],
     "the limit is 400 contacts"),
    (["--set", "channels.call.volume_per_day=1e12", "--replications", "2"],
     "--max-contacts N"),
])
def test_runs_too_large_are_refused_before_they_start(tmp_path, flat, args, message):
    days = [] if "scenario.days=1e9" in args else ["--days", "1"]
    result = run("simulate", flat, *days, *args, "--out", tmp_path / "run")
    one_line_error(result, message)
    assert not (tmp_path / "run").exists()


def test_a_raised_limit_lets_the_run_start(tmp_path, flat):
    result = run("simulate", flat, "--days", "1", "--set", "channels.call.volume_per_day=500",
                 "--max-contacts", "600", "--out", tmp_path / "run")
    assert result.exit_code == 0, result.output


def test_a_channel_with_no_volume_simulates(tmp_path, flat):
    result = run("simulate", flat, "--days", "1", "--set", "channels.call.volume_per_day=0",
                 "--out", tmp_path / "run")
    assert result.exit_code == 0, result.output
    assert pq.read_table(tmp_path / "run" / "contacts.parquet").num_rows == 0


STAFFING_FORMS = {
    "agents": "agents = 3",
    "agents, a second tier and chats": "agents = 3\ntier2_agents = 1\nconcurrency = 2",
    "no agents": "agents = 0",
    "shifts": """
[[staffing.shifts]]
name = "night shift"
start = "22:00"
end = "06:00"
agents = [2, 2, 2, 2, 2, 1, 1]
breaks = [{ start = "01:00", end = "03:00", minutes = 20 }]

[[staffing.shifts]]
name = "day"
start = "06:00"
end = "22:00"
agents = 3
days = ["mon", "tue", "wed", "thu", "fri"]
skills = ["chat", "call", "email"]
concurrency = 2

[[staffing.shifts]]
name = "evening"
start = "16:00"
end = "00:00"
agents = 1

[[staffing.shifts]]
name = "tier 2"
start = "08:00"
end = "16:00"
agents = 1
tier = 2

[[staffing.overrides]]
start = 2026-01-05
shift = "day"
scale = 1.5

[[staffing.overrides]]
start = 2026-01-06
end = 2026-01-07
ramp = [1, 3]

[[staffing.overrides]]
name = "holiday"
start = 2026-01-07
[[staffing.overrides.shifts]]
name = "day"
start = "10:00"
end = "14:00"
agents = 2
skills = ["chat", "call", "email"]
concurrency = 2
""",
}

THREE_CHANNELS = """
[scenario]
days = 3
seed = 4
warmup = 0.5

[channels.call]
volume_per_day = 150
aht_s = { dist = "lognormal", mean = 300, cv = 0.7 }
patience_s = 120
escalate = {escalate}

[channels.chat]
volume_per_day = 80
intraday = "evening"
aht_s = 400

[channels.email]
volume_per_day = 40
aht_s = 300

[staffing]
{staffing}
"""


def _runs_again(tmp_path, scenario_path, *args):
    """Simulate ``scenario_path``, then the scenario.toml written beside the run: the same
    scenario, the same tables."""
    first, second = tmp_path / "first", tmp_path / "second"
    assert run("simulate", scenario_path, *args, "--out", first).exit_code == 0
    result = run("simulate", first / "scenario.toml", "--out", second)
    assert result.exit_code == 0, result.output
    for table in ("contacts", "agent_intervals"):
        again, before = (pq.read_table(d / f"{table}.parquet") for d in (second, first))
        assert again.schema == before.schema
        for name in before.column_names:  # NaN where NaN
            np.testing.assert_array_equal(again[name].to_numpy(zero_copy_only=False),
                                          before[name].to_numpy(zero_copy_only=False), name)
    return first


@pytest.mark.parametrize("form", list(STAFFING_FORMS))
def test_the_resolved_scenario_runs_again_for_every_form_of_staffing(tmp_path, form):
    staffing = STAFFING_FORMS[form]
    second_tier = "tier" in staffing
    path = tmp_path / "scenario.toml"
    path.write_text(THREE_CHANNELS.replace("{escalate}", "0.1" if second_tier else "0")
                    .replace("{staffing}", staffing))
    first = _runs_again(tmp_path, path)
    agents = pq.read_table(first / "agent_intervals.parquet")["agent"].unique().to_pylist()
    assert len(agents) == len(set(agents))


@pytest.mark.parametrize("name", BUILTIN_SCENARIOS)
def test_the_resolved_scenario_of_every_builtin_runs_again(tmp_path, name):
    _runs_again(tmp_path, SCENARIOS / f"{name}.toml", "--days", "1")


def test_a_run_without_agents_simulates(tmp_path, flat):
    result = run("simulate", flat, "--days", "1", "--set", "staffing.agents=0", "--out",
                 tmp_path / "run")
    assert result.exit_code == 0, result.output
    assert pq.read_table(tmp_path / "run" / "agent_intervals.parquet").num_rows == 0
    contacts = pq.read_table(tmp_path / "run" / "contacts.parquet")
    assert contacts.num_rows > 0 and contacts["answered_s"].null_count + \
        sum(1 for v in contacts["answered_s"].to_pylist() if v != v) == contacts.num_rows


def test_compute_reads_a_run_without_agents_or_contacts(tmp_path, flat):
    for key, out in (("staffing.agents", "no-agents"), ("channels.call.volume_per_day",
                                                        "no-contacts")):
        assert run("simulate", flat, "--days", "1", "--set", f"{key}=0", "--out",
                   tmp_path / out).exit_code == 0
    rows = json.loads(run("compute", tmp_path / "no-agents", "--kpi", "occupancy,offered",
                          "--format", "json").output)
    assert rows[0]["occupancy"] is None and rows[0]["offered"] > 0
    rows = json.loads(run("compute", tmp_path / "no-contacts", "--kpi", "asa,occupancy",
                          "--format", "json").output)
    assert rows == [{"asa": None, "occupancy": 0.0}]


def test_the_planners_guide_shows_a_refused_run_as_it_is(tmp_path, monkeypatch):
    guide = (SCENARIOS.parent.parent / "docs" / "planner-guide.md").read_text()
    [block] = re.findall(r"```console\n\$ kpiforge (simulate flat\.toml .*?)\n(Error: .*?)```",
                         guide, re.S)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "flat.toml").write_text(MINIMAL)
    result = run(*block[0].split())
    assert result.exit_code == 1
    assert result.output.strip() == " ".join(block[1].split())
