"""``kpiforge sweep``: grids, agreement with Erlang A, streamed output, resuming, failing
points, and Dask."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner
from test_erlang import birth_death

import kpiforge.simulations.replications as replications
from kpiforge.cli import cli
from kpiforge.errors import KpiforgeError
from kpiforge.simulations.sweeps import Axis, grid_points, prepare_sweep, run_sweep

ONE_DAY = ["--set", "scenario.days=1"]


def run(*args):
    return CliRunner().invoke(cli, [str(a) for a in args])


@pytest.mark.parametrize(("spec", "texts"), [
    ("staffing.agents=40:60:5", ("40", "45", "50", "55", "60")),
    ("staffing.agents=3:5", ("3", "4", "5")),
    ("staffing.shrinkage=0.1:0.3:0.1", ("0.1", "0.2", "0.3")),
    ("staffing.agents=10:4:-3", ("10", "7", "4")),
    ("staffing.shrinkage=0.1, 0.25", ("0.1", "0.25")),
    ("staffing.shifts.*.agents=*0.9,*1.1", ("*0.9", "*1.1")),
    ('channels.call.hours="08:00-12:00, 13:00-17:00",closed', (
        '"08:00-12:00, 13:00-17:00"', "closed")),
    ("staffing.shifts.0.agents=[1,2,3,4,5,6,7],3", ("[1,2,3,4,5,6,7]", "3")),
    ("channels.call.hours=08:00-18:00", ("08:00-18:00",)),
    ("channels.call.hours=08:00-18:00,closed", ("08:00-18:00", "closed")),
])
def test_grid_values(spec, texts):
    assert Axis.parse(spec).texts == texts


def test_the_cross_product_varies_the_first_key_slowest():
    points = grid_points([Axis.parse("a=1:2"), Axis.parse("b=x,y")])
    assert [dict(p.values) for p in points] == [
        {"a": 1, "b": "x"}, {"a": 1, "b": "y"}, {"a": 2, "b": "x"}, {"a": 2, "b": "y"}]


@pytest.mark.parametrize(("grid", "message"), [
    ("staffing.agents", "--grid staffing.agents: expected KEY=START:STOP[:STEP]"),
    ("staffing.agents=1:x", "--grid staffing.agents=1:x: a range is START:STOP"),
    ("staffing.agents=5:1", "the step 1 does not lead from 5 to 1"),
    ("staffing.agents=1,,2", "an empty value"),
    ("staffing.agents=-1,2", "--grid point staffing.agents=-1: "),
    ("staffing.agnts=1,2", "staffing: unknown key 'agnts' (did you mean: agents?)"),
    ("staffing.shrinkage=0.9:1:0.05", "--grid point staffing.shrinkage=1: "),
])
def test_bad_grids_name_the_key_and_nothing_runs(tmp_path, grid, message):
    out = tmp_path / "sweep.csv"
    result = run("sweep", "flat", "--grid", grid, "--replications", 2, "--out", out)
    assert result.exit_code == 1 and message in result.output
    assert "Traceback" not in result.output and not out.exists()


def test_service_level_rises_with_agents_and_agrees_with_erlang_a():
    # The flat scenario: 200 calls an hour, exponential handling (mean 180 s) and patience
    # (mean 120 s); Erlang A's service level from the birth-death chain of test_erlang.
    sweep = prepare_sweep("flat", ["staffing.agents=9:13:2"], {"scenario.days": "2"})
    rows = [done.row for done in run_sweep(sweep, 5, kpis=["service_level"], workers=2)]
    rows.sort(key=lambda row: row["staffing.agents"])
    levels = [row["service_level"] for row in rows]
    assert levels == sorted(levels) and levels[0] < 0.6 and levels[-1] > 0.85
    for row in rows:
        analytic = birth_death(200 / 3600, 1 / 180, 1 / 120, row["staffing.agents"], 20,
                               depth=80)[0]
        assert row["service_level_ci_low"] <= analytic <= row["service_level_ci_high"], row


def test_json_contract_and_streamed_file(tmp_path):
    out = tmp_path / "sweep.json"
    result = run("sweep", "flat", *ONE_DAY, "--grid", "staffing.agents=11:12", "--grid",
                 "staffing.shrinkage=0,0.1", "--replications", 2, "--kpi",
                 "service_level,asa", "--workers", 2, "--format", "json", "--out", out)
    assert result.exit_code == 0, result.output
    rows = json.loads(out.read_text())
    assert [list(r) for r in rows] == [[
        "staffing.agents", "staffing.shrinkage", "replications", "service_level",
        "service_level_ci_low", "service_level_ci_high", "asa", "asa_ci_low",
        "asa_ci_high"]] * 4
    assert [(r["staffing.agents"], r["staffing.shrinkage"]) for r in rows] == [
        (11, 0), (11, 0.1), (12, 0), (12, 0.1)]
    assert all(r["replications"] == 2 for r in rows)
    assert rows[0]["service_level"] > rows[1]["service_level"]  # shrinkage costs service


def _counting(monkeypatch, fail_at=None, interrupt_at=None):
    """Count simulated runs (in this process: workers=1); fail or interrupt at a head
    count."""
    calls = []
    simulate = replications.simulate

    def counted(scenario, seed=None, **options):
        agents = scenario.staffing.shifts[0].agents[0]
        calls.append(agents)
        if agents == fail_at:
            raise KpiforgeError("the simulated centre caught fire")
        if agents == interrupt_at:
            raise KeyboardInterrupt
        return simulate(scenario, seed, **options)

    monkeypatch.setattr(replications, "simulate", counted)
    return calls


def test_resume_skips_finished_points(tmp_path, monkeypatch):
    out = tmp_path / "sweep.csv"
    args = ["sweep", "flat", *ONE_DAY, "--replications", 2, "--kpi", "service_level",
            "--workers", 1, "--out", out]
    calls = _counting(monkeypatch)
    assert run(*args, "--grid", "staffing.agents=10:11").exit_code == 0
    first = out.read_text().splitlines()
    calls.clear()
    result = run(*args, "--grid", "staffing.agents=10:13", "--resume")
    assert result.exit_code == 0, result.output
    assert "resuming: 2 of 4 points done" in result.output
    assert sorted(calls) == [12, 12, 13, 13]
    lines = out.read_text().splitlines()
    assert lines[:3] == first and len(lines) == 5
    calls.clear()  # all done: nothing runs, the file stays
    assert run(*args, "--grid", "staffing.agents=10:13", "--resume").exit_code == 0
    assert calls == [] and out.read_text().splitlines() == lines
    calls.clear()  # points run with other replications are run again
    assert run(*args[:4], "--replications", 3, *args[6:], "--grid", "staffing.agents=10:11",
               "--resume").exit_code == 0
    assert sorted(calls) == [10, 10, 10, 11, 11, 11]


def test_a_failing_point_is_reported_and_the_others_are_kept(tmp_path, monkeypatch):
    out = tmp_path / "sweep.csv"
    _counting(monkeypatch, fail_at=12)
    result = run("sweep", "flat", *ONE_DAY, "--grid", "staffing.agents=10:13",
                 "--replications", 2, "--kpi", "service_level", "--workers", 1, "--out", out)
    assert result.exit_code == 1
    assert "point staffing.agents=12 failed: the simulated centre caught fire" in result.output
    assert "Error: 1 of 4 grid points failed: staffing.agents=12" in result.output
    assert "--resume" in result.output
    agents = [line.split(",")[0] for line in out.read_text().splitlines()[1:]]
    assert agents == ["10", "11", "13"]


def test_an_interrupted_sweep_keeps_the_finished_points(tmp_path, monkeypatch):
    out = tmp_path / "sweep.json"
    _counting(monkeypatch, interrupt_at=12)
    result = run("sweep", "flat", *ONE_DAY, "--grid", "staffing.agents=10:13",
                 "--replications", 2, "--kpi", "service_level", "--workers", 1, "--format",
                 "json", "--out", out)
    assert result.exit_code != 0
    assert [r["staffing.agents"] for r in json.loads(out.read_text())] == [10, 11]


def test_dask_gives_the_same_rows(tmp_path):
    distributed = pytest.importorskip("distributed")
    sweep = prepare_sweep("flat", ["staffing.agents=10:11"], {"scenario.days": "1"})
    here = {d.point.index: d.row for d in run_sweep(sweep, 2, kpis=["service_level"],
                                                    workers=1)}
    with distributed.LocalCluster(n_workers=1, threads_per_worker=2, processes=False,
                                  dashboard_address=None) as cluster, \
            distributed.Client(cluster) as client:
        there = {d.point.index: d.row for d in run_sweep(sweep, 2, kpis=["service_level"],
                                                         client=client)}
        out = tmp_path / "sweep.json"
        result = run("sweep", "flat", *ONE_DAY, "--grid", "staffing.agents=10:11",
                     "--replications", 2, "--kpi", "service_level", "--dask",
                     cluster.scheduler_address, "--format", "json", "--out", out)
    assert there == here
    assert result.exit_code == 0, result.output
    assert json.loads(out.read_text()) == [here[0], here[1]]


def test_table_output_and_option_clashes(tmp_path):
    result = run("sweep", "flat", *ONE_DAY, "--grid", "staffing.agents=10:11",
                 "--replications", 2, "--kpi", "service_level", "--workers", 1)
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[0].split() == ["staffing.agents", "n", "service_level"]
    for args, message in ((["--resume"], "--resume continues the sweep in --out"),
                          (["--out", tmp_path / "s.txt", "--format", "table"],
                           "use --format csv or json"),
                          (["--dask", "local", "--workers", "2"], "do not go together")):
        bad = run("sweep", "flat", "--grid", "staffing.agents=10", *args)
        assert bad.exit_code == 1 and message in bad.output
