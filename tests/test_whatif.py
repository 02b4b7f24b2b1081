"""``kpiforge whatif``: paired replications detect a small change, report an unchanged
variant as noise, and follow the output contract."""

from __future__ import annotations

import json

import numpy as np
import pyarrow.csv as pacsv
import pytest
from click.testing import CliRunner
from scipy import stats

from kpiforge.cli import cli
from kpiforge.simulations import builtin_scenario
from kpiforge.simulations.whatif import COLUMNS, compare, whatif_scenarios

#: 20 agents for 350 calls an hour (17.5 Erlangs, 180 s) over four open hours of one day.
AT_20 = ["--set", "scenario.days=1", "--set", "staffing.agents=20", "--set",
         "channels.call.volume_per_day=1400", "--set", "channels.call.hours=08:00-12:00"]


def run(*args):
    return CliRunner().invoke(cli, [str(a) for a in args])


@pytest.fixture(scope="module")
def plus_one():
    """The +1 agent what-if and an unchanged variant, 20 paired replications."""
    result = run("whatif", "flat", *AT_20, "--vs", "staffing.agents=+1", "--vs",
                 "staffing.agents=+0", "--replications", 20, "--kpi",
                 "service_level,asa,offered", "--format", "json", "--workers", 2)
    assert result.exit_code == 0, result.output
    return {(r["variant_name"], r["kpi"]): r for r in json.loads(result.stdout)}


def test_one_more_agent_at_20_is_detected(plus_one):
    row = plus_one[("staffing.agents=+1", "service_level")]
    assert row["significant"] is True
    assert row["difference_ci_low"] > 0 and row["difference"] > 0
    assert plus_one[("staffing.agents=+1", "asa")]["difference_ci_high"] < 0
    # The same customers arrive in both (common random numbers): offered is identical.
    offered = plus_one[("staffing.agents=+1", "offered")]
    assert offered["difference"] == 0 and offered["significant"] is False
    # Pairing cancels the noise both share: the difference's interval is narrower than
    # either run's own.
    width = row["difference_ci_high"] - row["difference_ci_low"]
    assert width < (row["baseline_ci_high"] - row["baseline_ci_low"]) / 2
    assert width < (row["variant_ci_high"] - row["variant_ci_low"]) / 2


def test_an_unchanged_variant_is_noise(plus_one):
    for kpi in ("service_level", "asa", "offered"):
        row = plus_one[("staffing.agents=+0", kpi)]
        assert row["difference"] == 0 and row["significant"] is False
        assert row["baseline"] == row["variant"]


def test_difference_is_the_paired_t_interval():
    base = builtin_scenario("flat", {"scenario.days": "1"})
    more = builtin_scenario("flat", {"scenario.days": "1", "staffing.agents": "12"})
    result = compare(base, {"12 agents": more}, 4, kpis=["service_level", "asa"], workers=1)
    [a, b] = (result.baseline.values["service_level"][:, 0],
              result.variants["12 agents"].values["service_level"][:, 0])
    low, high = stats.t.interval(0.95, 3, loc=np.mean(b - a), scale=stats.sem(b - a))
    row = result.to_records()[0]
    assert row["kpi"] == "service_level"
    assert row["difference"] == pytest.approx(np.mean(b) - np.mean(a), rel=1e-12)
    assert (row["difference_ci_low"], row["difference_ci_high"]) == pytest.approx((low, high))
    base_low, base_high = stats.t.interval(0.95, 3, loc=np.mean(a), scale=stats.sem(a))
    assert (row["baseline_ci_low"], row["baseline_ci_high"]) == pytest.approx(
        (base_low, base_high))
    assert row["significant"] == bool(low > 0 or high < 0)


def test_a_different_seed_is_not_significant():
    # Unpaired noise: another seed changes the draws, not the centre; the interval holds 0.
    base, named = whatif_scenarios("flat", {"scenario.days": "1"},
                                   [{"scenario.seed": "99"}])
    result = compare(base, named, 6, kpis=["service_level", "offered"], workers=1)
    assert [r["significant"] for r in result.to_records()] == [False, False]


def test_json_contract_and_groups(tmp_path):
    out = tmp_path / "whatif.json"
    result = run("whatif", "demo", "--set", "scenario.days=1", "--vs",
                 "staffing.shrinkage=0.25", "--replications", 2, "--by", "channel",
                 "--grain", "1d", "--kpi", "service_level", "--workers", 1, "--format", "json",
                 "--out", out)
    assert result.exit_code == 0, result.output
    rows = json.loads(out.read_text())
    assert [list(r) for r in rows] == [["channel", "interval_start", *COLUMNS]] * 3
    assert [r["channel"] for r in rows] == ["call", "chat", "email"]
    assert rows[0]["interval_start"] == "2026-11-16T00:00:00"
    assert rows[0]["difference"] < 0  # more shrinkage, fewer calls within 20 s


def test_csv_and_table_carry_the_columns(tmp_path):
    args = ["whatif", "flat", "--set", "scenario.days=1", "--vs", "staffing.agents=12",
            "--vs", "staffing.agents=13;staffing.shrinkage=0.05", "--replications", 2,
            "--kpi", "service_level", "--workers", 1]
    written = run(*args, "--format", "csv", "--out", tmp_path / "w.csv")
    assert written.exit_code == 0, written.output
    table = pacsv.read_csv(tmp_path / "w.csv")
    assert table.column_names == ["variant_name", *COLUMNS]
    assert table["variant_name"].to_pylist() == ["staffing.agents=12",
                                                 "staffing.agents=13; staffing.shrinkage=0.05"]
    text = run(*args).stdout
    assert "2 paired replications, 95% intervals" in text
    assert "staffing.agents=13; staffing.shrinkage=0.05  service_level" in text
    assert "pp" in text and ("differs" in text or "noise" in text)


@pytest.mark.parametrize(("args", "message"), [
    (["--vs", "staffing.agentz=+1"], "--vs staffing.agentz=+1: the scenario has no 'agentz'"),
    (["--set", "staffing.agents=-3", "--vs", "staffing.agents=+1"],
     "staffing.agents: must be >= 0, got -3"),
    (["--vs", "staffing.agents=1", "--vs", "staffing.agents=1"], "given twice"),
    (["--vs", "nonsense"], "expected NAME=VALUE"),
])
def test_bad_changes_are_errors_naming_the_key(tmp_path, args, message):
    out = tmp_path / "w.json"
    result = run("whatif", "flat", *args, "--replications", 2, "--out", out)
    assert result.exit_code in (1, 2) and message in result.output
    assert "Traceback" not in result.output and not out.exists()


def test_a_variant_is_required():
    result = run("whatif", "flat", "--set", "staffing.agents=12")
    assert result.exit_code == 2 and "--vs" in result.output
