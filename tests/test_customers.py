"""The customer base of a scenario: the ``[customers]`` section, the ``customers`` table it
writes, the KGIs on it against pandas, and the service effect measured across replications."""

from __future__ import annotations

import itertools
import json
import tomllib

import numpy as np
import pandas as pd
import pytest
from bs4 import BeautifulSoup
from click.testing import CliRunner

import kpiforge
from kpiforge.cli import cli
from kpiforge.engine import compute
from kpiforge.simulations import ScenarioError, compare, parse_scenario, simulate
from kpiforge.simulations.replications import GOALS
from kpiforge.simulations.scenario import apply_overrides
from kpiforge.simulations.sweeps import prepare_sweep, run_sweep

# The minimal form from the KGI issue, verbatim: a public contract.
MINIMAL_CUSTOMERS = """
[customers]
count = 20000
monthly_churn = 0.03
revenue_per_month = 50
margin = 0.7
"""

CENTRE = """
[scenario]
name = "customers"
days = 1
seed = 15

[channels.call]
kind = "call"
volume_per_day = 1500
intraday = "office"
aht_s = { dist = "lognormal", mean = 300, cv = 0.7 }
patience_s = { dist = "exponential", mean = 150 }
resolve = 0.85
repeat = 0.5
escalate = 0.05

[staffing]
agents = 12
tier2_agents = 1
"""

TIERS = """
[customers]
count = 3000
monthly_churn = 0.03
margin = 0.6
upsell = 0.05
cross_sell = 0.04
downgrade = 0.01
new_per_month = 100
months = 6
plans = [
  { name = "basic", share = 3, revenue_per_month = 20 },
  { name = "pro", share = 1, revenue_per_month = 80 },
]
[customers.service]
lag_months = 1
per_abandoned = 2
"""


def scenario(customers: str = MINIMAL_CUSTOMERS):
    return parse_scenario(tomllib.loads(CENTRE + customers), "test.toml")


def test_minimal_section_is_read():
    base = scenario().customer_base
    assert (base.count, base.monthly_churn, base.margin) == (20000, 0.03, 0.7)
    assert [p.revenue_per_month for p in base.plans] == [50]
    assert scenario().customers == 20000


def test_scenario_customers_still_accepted_and_the_count_given_once():
    raw = tomllib.loads(CENTRE)
    raw["scenario"]["customers"] = 500
    assert parse_scenario(raw).customers == 500
    assert parse_scenario(raw).customer_base is None
    raw.update(tomllib.loads(MINIMAL_CUSTOMERS))
    with pytest.raises(ScenarioError, match=r"customers\.count: give the customer count once"):
        parse_scenario(raw)


@pytest.mark.parametrize(("key", "value", "message"), [
    ("monthly_churn", 1.5, r"customers\.monthly_churn: must be <= 1"),
    ("margin", "high", r"customers\.margin: must be a number"),
    ("churn", 0.1, r"customers: unknown key 'churn'"),
    ("count", 0, r"customers\.count: must be >= 1"),
    ("plans", [{"name": "a", "share": 1, "revenue_per_month": 5}],
     r"customers\.revenue_per_month: give revenue_per_month .* not both"),
    ("service", {"effect": "no"}, r"customers\.service\.effect: must be true or false"),
    ("service", {"per_wait": 1}, r"customers\.service: unknown key 'per_wait'"),
    ("months", 100000, r"customers\.months: must be <= 120"),
])
def test_errors_name_the_key(key, value, message):
    raw = tomllib.loads(CENTRE + MINIMAL_CUSTOMERS)
    raw["customers"][key] = value
    with pytest.raises(ScenarioError, match=message):
        parse_scenario(raw, "test.toml")


def test_a_plan_error_names_the_plan():
    bad = TIERS.replace("share = 1,", "share = -1,")
    with pytest.raises(ScenarioError, match=r"customers\.plans\[1\]\.share: must be > 0"):
        scenario(bad)


def test_resolved_scenario_round_trips():
    original = scenario(TIERS)
    again = parse_scenario(tomllib.loads(original.to_toml()))
    assert again.customer_base == original.customer_base
    assert again.customers == original.customers


def test_customers_leave_contact_arrivals_as_they_were():
    raw = tomllib.loads(CENTRE)
    raw["scenario"]["customers"] = 20000
    without = simulate(parse_scenario(raw))
    with_base = simulate(scenario())
    assert without.customers is None
    pd.testing.assert_frame_equal(with_base.contacts.to_pandas(), without.contacts.to_pandas())
    pd.testing.assert_frame_equal(with_base.agent_intervals.to_pandas(),
                                  without.agent_intervals.to_pandas())


def test_customers_table_follows_the_schema_and_the_model():
    run = simulate(scenario(TIERS))
    frame = run.customers.to_pandas()
    assert {"customer_id", "period", "active_start", "active_end", "new", "churned",
            "downgraded", "upsold", "cross_sold", "revenue", "margin", "health"} \
        <= set(frame.columns)
    months = sorted(frame["period"].unique())
    assert len(months) == 6
    # Every customer there at a month's end is there at the next month's start.
    for now, after in itertools.pairwise(months):
        ended = set(frame.customer_id[(frame.period == now) & (frame.active_end == 1)])
        started = set(frame.customer_id[(frame.period == after) & (frame.active_start == 1)])
        assert ended == started
    assert (frame.new.groupby(frame.period).sum().iloc[1:] == 100).all()
    assert frame.margin.to_numpy() == pytest.approx(0.6 * frame.revenue.to_numpy())
    assert set(frame.revenue) <= {20, 80, 20 + 4, 80 + 4}  # cross-sell: 20 % of 20


def test_kgis_on_the_simulated_table_match_pandas():
    run = simulate(scenario(TIERS))
    f = run.customers.to_pandas()
    kpis = ["churn_rate", "retention_rate", "retention_rate_excl_new", "upsell_rate",
            "cross_sell_rate", "ltv", "operating_profit", "health_score"]
    got = {k: v[0] for k, v in compute(run.tables(), kpis=kpis).values.items()}
    start = f.active_start.sum()
    churn = (f.churned.sum() + f.downgraded.sum()) / start
    active = ((f.active_start > 0) | (f.new > 0)).sum()
    assert got["churn_rate"] == pytest.approx(churn)
    assert got["retention_rate"] == pytest.approx(f.active_end.sum() / start)
    assert got["retention_rate_excl_new"] == pytest.approx(
        (f.active_end.sum() - f.new.sum()) / start)
    assert got["upsell_rate"] == pytest.approx(f.upsold.sum() / start)
    assert got["cross_sell_rate"] == pytest.approx(f.cross_sold.sum() / start)
    # LTV divides by logo churn: a downgraded customer still pays.
    assert got["ltv"] == pytest.approx(f.margin.sum() / active / (f.churned.sum() / start))
    assert got["operating_profit"] == pytest.approx(f.margin.sum())
    assert got["health_score"] == pytest.approx(f.health.mean())


def test_health_is_one_hundred_over_one_plus_the_strain():
    """The strain by hand from the contacts table: weights x experiences, scaled to a
    month from the run's one day."""
    base = scenario(TIERS)
    run = simulate(base)
    c = run.contacts.to_pandas()
    abandoned = c.groupby("customer_id").abandoned_s.count()
    answered = c.answered_s.notna()
    late = ((c.answered_s - c.arrived_s).clip(lower=0) / 60).where(answered, 0)
    unresolved = (answered & c.resolved_s.isna()).astype(float)
    repeat = c.duplicated("case_id").astype(float)
    per = (0.02 * late + 0.5 * unresolved + 0.25 * repeat + 0.25 * c.escalated.fillna(0)
           ).groupby(c.customer_id).sum()
    strain = pd.Series(0.0, index=range(1, 3001))
    strain = strain.add(per, fill_value=0).add(2 * abandoned, fill_value=0) * 30.4375
    f = run.customers.to_pandas()
    first = f[(f.period == 0) & (f.new == 0)].set_index("customer_id").health
    assert first.to_numpy() == pytest.approx(100 / (1 + strain.loc[first.index].to_numpy()))


def test_lag_delays_the_effect():
    """Before lag_months the service moves nothing: the months match a run without it."""
    lagged = TIERS.replace("lag_months = 1", "lag_months = 3")
    on = simulate(scenario(lagged)).customers.to_pandas()
    off = simulate(scenario(lagged + "effect = false\n")).customers.to_pandas()
    first = sorted(on.period.unique())[3]
    early_on, early_off = on[on.period < first], off[off.period < first]
    assert early_on.churned.sum() == early_off.churned.sum()
    assert early_on.churned.to_numpy() == pytest.approx(early_off.churned.to_numpy())
    assert on.churned.sum() > off.churned.sum()


SHORT_STAFFED = {"staffing.agents": "8"}


def _fewer(customers: str) -> dict:
    fewer = tomllib.loads(CENTRE + customers)
    apply_overrides(fewer, SHORT_STAFFED, "test.toml")
    return fewer


def _whatif(customers: str):
    raw = tomllib.loads(CENTRE + customers)
    return compare(parse_scenario(raw), {"fewer": parse_scenario(_fewer(customers))}, 4,
                   kpis=["churn_rate", "ltv", "abandonment_rate"], workers=1)


def test_worse_service_raises_churn_and_lowers_ltv_beyond_noise():
    rows = {r["kpi"]: r for r in _whatif(TIERS).to_records()}
    assert rows["abandonment_rate"]["difference_ci_low"] > 0
    assert rows["churn_rate"]["difference_ci_low"] > 0
    assert rows["ltv"]["difference_ci_high"] < 0
    assert rows["churn_rate"]["significant"] and rows["ltv"]["significant"]


def test_without_the_service_effect_there_is_no_difference():
    rows = {r["kpi"]: r for r in
            _whatif(TIERS.replace("lag_months = 1", "effect = false")).to_records()}
    assert rows["abandonment_rate"]["difference_ci_low"] > 0
    for kpi in ("churn_rate", "ltv"):
        assert rows[kpi]["difference"] == 0
        assert not rows[kpi]["significant"]
    assert np.isfinite(rows["ltv"]["baseline"])


def test_whatif_rows_add_the_goals_in_the_same_shape():
    result = compare(scenario(TIERS), {"fewer": parse_scenario(_fewer(TIERS))}, 2,
                     kpis=["service_level"], workers=1)
    rows = result.to_records()
    assert [r["kpi"] for r in rows] == ["service_level", *GOALS]
    assert all(r.keys() == rows[0].keys() for r in rows)
    assert {"kpi", "baseline", "variant", "difference", "significant"} <= rows[0].keys()


def test_goals_only_where_the_customers_table_can_answer():
    fewer = {"fewer": parse_scenario(_fewer(TIERS))}
    by_channel = compare(scenario(TIERS), fewer, 2, kpis=["service_level"], by=["channel"],
                         workers=1)
    assert {r["kpi"] for r in by_channel.to_records()} == {"service_level"}
    raw = tomllib.loads(CENTRE)
    plain = compare(parse_scenario(raw), {"fewer": parse_scenario(_fewer(""))}, 2,
                    kpis=["service_level"], workers=1)
    assert {r["kpi"] for r in plain.to_records()} == {"service_level"}


def test_sweep_rows_key_the_goals_like_the_kpis(tmp_path):
    path = tmp_path / "customers.toml"
    path.write_text(CENTRE + TIERS)
    sweep = prepare_sweep(path, ["staffing.agents=8,12"])
    rows = [p.row for p in run_sweep(sweep, 2, kpis=["service_level"], workers=1)]
    for goal in ("service_level", *GOALS):
        assert all({goal, f"{goal}_ci_low", f"{goal}_ci_high"} <= row.keys() for row in rows)
    assert rows[0]["churn_rate"] > rows[1]["churn_rate"]  # 8 agents serve worse than 12
    # agents = N all day, with one tier-2 agent: (N + 1) x 24 hours.
    assert [row["staffed_hours"] for row in rows] == pytest.approx([9 * 24, 13 * 24])


def test_a_monthly_grain_gives_one_row_per_reported_month():
    run = simulate(scenario(TIERS))
    result = compute(run.tables(), kpis=["churn_rate", "operating_profit"], grain="1mo")
    frame = run.customers.to_pandas()
    assert len(result["churn_rate"]) == 6
    assert result["operating_profit"] == pytest.approx(
        frame.groupby("period").margin.sum().to_numpy())


def table_rows(soup: BeautifulSoup, section: str) -> list[list[str]]:
    """The cells' text of each body row of the report section's table."""
    return [[cell.get_text() for cell in tr.find_all(["th", "td"])]
            for tr in soup.select(f"#{section} tbody tr")]


def test_whatif_report_shows_kpis_and_goals(tmp_path):
    path = tmp_path / "customers.toml"
    path.write_text(CENTRE + TIERS)
    out, page = tmp_path / "whatif.json", tmp_path / "whatif.html"
    result = CliRunner().invoke(cli, [
        "whatif", str(path), "--vs", "staffing.agents=8", "--replications", "2",
        "--kpi", "service_level", "--workers", "1", "--format", "json", "--out", str(out),
        "--report", str(page)])
    assert result.exit_code == 0, result.output
    records = json.loads(out.read_text())
    soup = BeautifulSoup(page.read_text(), "html.parser")
    rows = table_rows(soup, "whatif")
    assert [r[0] for r in rows] == [r["kpi"] for r in records] == ["service_level", *GOALS]
    for row, record in zip(rows, records, strict=True):
        assert row[1] == ("goal" if record["kpi"] in GOALS else "KPI")
        assert row[-1] == {True: "differs", False: "noise"}[record["significant"]]
    assert soup.select_one("#scenario dd").get_text() == "customers"


def test_sweep_report_shows_each_points_kpis_and_goals(tmp_path):
    path = tmp_path / "customers.toml"
    path.write_text(CENTRE + TIERS)
    out, page = tmp_path / "sweep.json", tmp_path / "sweep.html"
    result = CliRunner().invoke(cli, [
        "sweep", str(path), "--grid", "staffing.agents=8,12", "--replications", "2",
        "--kpi", "service_level", "--workers", "1", "--format", "json", "--out", str(out),
        "--report", str(page)])
    assert result.exit_code == 0, result.output
    points = json.loads(out.read_text())
    soup = BeautifulSoup(page.read_text(), "html.parser")
    rows = table_rows(soup, "sweep")
    kpis = ["service_level", *GOALS]
    assert [(r[0], r[2]) for r in rows] == [(str(p["staffing.agents"]), k)
                                            for p in points for k in kpis]
    churn = [r for r in rows if r[2] == "churn_rate"]
    assert [r[3] for r in churn] == ["goal", "goal"]
    assert churn[0][4].startswith(f"{points[0]['churn_rate'] * 100:.1f} %")


def test_active_customers_counts_each_customer_once_across_periods():
    """Customer 1 is active in January and February, 2 only in February (new), 3 in January
    only (churned at its end): three customers over the two months, not four
    customer-months; per month 2 and 2. Revenue per customer stays per customer-month."""
    customers = {
        "customer_id": np.array(["1", "3", "1", "2"], dtype=object),
        "period": np.array(["2024-01-01", "2024-01-01", "2024-02-01", "2024-02-01"],
                           dtype=object),
        "active_start": np.array([1.0, 1.0, 1.0, 0.0]),
        "new": np.array([0.0, 0.0, 0.0, 1.0]),
        "churned": np.array([0.0, 1.0, 0.0, 0.0]),
        "revenue": np.array([10.0, 20.0, 10.0, 40.0]),
    }
    kpis = ["active_customers", "revenue_per_customer"]
    total = kpiforge.compute({"customers": customers}, kpis).to_records()[0]
    assert (total["active_customers"], total["revenue_per_customer"]) == (3, 80 / 4)
    monthly = kpiforge.compute({"customers": customers}, kpis, grain="1mo").to_records()
    assert [(r["active_customers"], r["revenue_per_customer"]) for r in monthly] == [
        (2, 15.0), (2, 25.0)]
