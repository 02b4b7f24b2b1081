"""Replications: KPIs per replication aligned by group, Student-t summaries, paired seeds,
and ``kpiforge simulate --replications``."""

from __future__ import annotations

import json
import math

import numpy as np
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner
from scipy import stats

import kpiforge
from kpiforge.cli import cli
from kpiforge.simulations import (
    builtin_scenario,
    mean_ci,
    run_replications,
    simulate,
)
from kpiforge.simulations.streams import replication_seeds

KPIS = ["service_level", "offered", "asa"]


def flat(**settings):
    return builtin_scenario("flat", {"scenario.days": "2", **settings})


def test_each_replication_is_a_seeded_run_and_groups_align():
    scenario = flat()
    runs = run_replications(scenario, 3, kpis=KPIS, grain="1d", workers=1)
    assert runs.dimensions == ("interval_start",)
    assert runs.keys["interval_start"].tolist() == [0, 86400]
    assert runs.values["offered"].shape == (3, 2)
    for r, seed in enumerate(replication_seeds(scenario.seed, 3)):
        alone = kpiforge.compute(simulate(scenario, seed).tables(), kpis=KPIS, grain="1d")
        for kpi in KPIS:
            assert runs.values[kpi][r].tolist() == alone[kpi].tolist()


def test_summary_is_the_student_t_interval_of_the_replications():
    runs = run_replications(flat(), 4, kpis=KPIS, by=["queue"], workers=1)
    summary = runs.summary(confidence=0.9)
    for kpi in KPIS:
        values = runs.values[kpi][:, 0]
        low, high = stats.t.interval(0.9, len(values) - 1, loc=values.mean(),
                                     scale=stats.sem(values))
        assert summary.mean[kpi][0] == pytest.approx(values.mean(), rel=1e-12)
        assert summary.low[kpi][0] == pytest.approx(low, rel=1e-9)
        assert summary.high[kpi][0] == pytest.approx(high, rel=1e-9)
        assert summary.std[kpi][0] == pytest.approx(values.std(ddof=1), rel=1e-9)
        assert summary.count[kpi][0] == 4
    table = summary.to_arrow()
    assert table.column_names == ["queue", "kpi", "mean", "ci_low", "ci_high", "half_width",
                                  "std", "replications"]
    assert table["kpi"].to_pylist() == KPIS


def test_mean_ci_ignores_undefined_values():
    values = np.array([[1.0, np.nan], [3.0, 5.0], [np.nan, np.nan]])
    mean, half, std, n = mean_ci(values)
    assert mean[0] == 2 and n.tolist() == [2, 1]
    assert half[0] == pytest.approx(stats.t.ppf(0.975, 1) * math.sqrt(2) / math.sqrt(2))
    assert mean[1] == 5 and np.isnan(half[1]) and np.isnan(std[1])


def test_groups_missing_from_a_replication_are_undefined_there():
    # Tiny volumes: some hours have no contacts in some replications.
    runs = run_replications(flat(**{"channels.call.volume_per_day": "6"}), 3,
                            kpis=["offered"], grain="1h", workers=1)
    offered = runs.values["offered"]
    assert np.isnan(offered).any()
    hours = runs.keys["interval_start"]
    assert (np.diff(hours) > 0).all()  # the union of groups, sorted
    for r in range(3):
        assert np.nansum(offered[r]) == simulate(runs.scenario, replication_seeds(
            runs.scenario.seed, 3)[r]).contacts.num_rows


def run(*args):
    return CliRunner().invoke(cli, [str(a) for a in args])


def test_simulate_replications_writes_kpis_summary_and_tables(tmp_path):
    out = tmp_path / "reps"
    result = run("simulate", "--days", "1", "--replications", "3", "--workers", "1",
                 "--by", "channel", "--kpi", "service_level,offered", "--param",
                 "sl_threshold_s=30", "--format", "csv", "--out", out)
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in out.iterdir()) == [
        "kpis.csv", "replications", "scenario.toml", "summary.csv"]
    assert sorted(p.name for p in (out / "replications").iterdir()) == ["001", "002", "003"]
    assert sorted(p.name for p in (out / "replications" / "002").iterdir()) == [
        "agent_intervals.csv", "contacts.csv", "customers.csv", "scenario.toml"]
    kpis = pacsv.read_csv(out / "kpis.csv").to_pandas()
    summary = pacsv.read_csv(out / "summary.csv").to_pandas()
    assert len(kpis) == 9 and len(summary) == 6
    # Each replication's file computes to its row; the summary is their t interval.
    computed = json.loads(run("compute", out / "replications" / "002", "--by", "channel",
                              "--kpi", "service_level", "--param", "sl_threshold_s=30",
                              "--format", "json").output)
    second = kpis[kpis["replication"] == 2].set_index("channel")
    for row in computed:
        assert row["service_level"] == pytest.approx(second.loc[row["channel"],
                                                                "service_level"])
    call = kpis[kpis["channel"] == "call"]["service_level"]
    low, high = stats.t.interval(0.95, 2, loc=call.mean(), scale=stats.sem(call))
    line = summary[(summary["channel"] == "call") & (summary["kpi"] == "service_level")]
    assert line["ci_low"].item() == pytest.approx(low) and \
        line["ci_high"].item() == pytest.approx(high)
    assert "call" in result.stdout and "95% interval" in result.stdout


def test_simulate_replications_kpis_only_in_parquet(tmp_path):
    out = tmp_path / "reps"
    result = run("simulate", "--days", "1", "--replications", "2", "--workers", "1",
                 "--kpis-only", "--grain", "1d", "--kpi", "offered", "--out", out)
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in out.iterdir()) == [
        "kpis.parquet", "scenario.toml", "summary.parquet"]
    summary = pq.read_table(out / "summary.parquet")
    assert summary["interval_start"].type.unit == "us"
    assert summary["replications"].to_pylist() == [2]


@pytest.mark.parametrize(("args", "message"), [
    (["--by", "channel"], "--by goes with --replications N"),
    (["--workers", "2"], "--workers goes with --replications N"),
    (["--replications", "2", "--kpi", "nonsense"], "nonsense"),
])
def test_simulate_replication_options_need_replications(tmp_path, args, message):
    out = tmp_path / "out"
    result = run("simulate", "--days", "1", *args, "--workers" if "--replications" in args
                 else "--days", "1", "--out", out)
    assert result.exit_code == 1
    assert message in result.output and "Traceback" not in result.output
    assert not out.exists()
    assert [p.name for p in tmp_path.iterdir()] == []
