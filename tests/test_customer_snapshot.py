"""The goals from a customer snapshot export (one row per customer: tenure, plan, monthly
charge, churned flag, as telco and SaaS exports have), mapped to the ``customers`` table the
way the planner's guide says, against pandas."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

import kpiforge
from kpiforge.cli import cli

GOALS = ["churn_rate", "retention_rate", "retention_rate_excl_new", "ltv",
         "operating_profit", "revenue_per_customer", "logo_churn_rate"]
MARGIN = 0.7


def export(seed: int, customers: int = 400) -> pd.DataFrame:
    """A telco-style export: customerID, tenure in months, Contract, MonthlyCharges, Churn."""
    rng = np.random.default_rng(seed)
    return pd.DataFrame({
        "customerID": [f"{seed}-{i:04d}" for i in range(customers)],
        "tenure": rng.integers(0, 72, customers),
        "Contract": rng.choice(["Month-to-month", "One year", "Two year"], customers),
        "MonthlyCharges": rng.uniform(18, 120, customers).round(2),
        "Churn": rng.choice(["Yes", "No"], customers, p=[0.25, 0.75]),
    })


def snapshot(frame: pd.DataFrame, period: str) -> pd.DataFrame:
    """The planner's guide's mapping: the export's month as one period; tenure 0 is a
    customer new in it; a churned one was there at its start and gone at its end."""
    churned = (frame.Churn == "Yes").astype(int)
    return pd.DataFrame({
        "customer_id": frame.customerID, "period": period,
        "active_start": (frame.tenure >= 1).astype(int), "new": (frame.tenure == 0).astype(int),
        "active_end": 1 - churned, "churned": churned, "downgraded": 0, "upsold": 0,
        "cross_sold": 0, "revenue": frame.MonthlyCharges,
        "margin": frame.MonthlyCharges * MARGIN,
        "tenure": frame.tenure, "plan": frame.Contract,
    })


def expected(f: pd.DataFrame) -> dict[str, float]:
    """The KGIs' documented formulas, in pandas."""
    start = f.active_start.sum()
    churn = (f.churned.sum() + f.downgraded.sum()) / start
    active = ((f.active_start > 0) | (f.new > 0)).sum()
    return {"churn_rate": churn, "retention_rate": f.active_end.sum() / start,
            "retention_rate_excl_new": (f.active_end.sum() - f.new.sum()) / start,
            "ltv": f.margin.sum() / active / churn, "operating_profit": f.margin.sum(),
            "revenue_per_customer": f.revenue.sum() / active,
            "logo_churn_rate": f.churned.sum() / start}


def test_goals_from_a_snapshot_frame_match_pandas():
    frame = snapshot(export(1), "2026-01-31")
    result = kpiforge.compute({"customers": frame.assign(period=0.0)}, kpis=GOALS)
    want = expected(frame)
    for kpi in GOALS:
        assert result[kpi][0] == pytest.approx(want[kpi]), kpi


def test_monthly_snapshot_files_give_the_goals_per_month(tmp_path):
    """Two monthly exports in one customers.csv, dates as the period, read by the CLI."""
    months = {"2026-01-31": export(1), "2026-02-28": export(2)}
    table = pd.concat([snapshot(f, date) for date, f in months.items()])
    table.to_csv(tmp_path / "customers.csv", index=False)
    result = CliRunner().invoke(cli, ["compute", str(tmp_path), "--grain", "1mo",
                                      "--kpi", ",".join(GOALS), "--format", "json"])
    assert result.exit_code == 0, result.output
    rows = json.loads(result.output)
    assert [r["interval_start"][:7] for r in rows] == ["2026-01", "2026-02"]
    for row, (date, frame) in zip(rows, months.items(), strict=True):
        want = expected(snapshot(frame, date))
        for kpi in GOALS:
            assert row[kpi] == pytest.approx(want[kpi]), (date, kpi)


def test_a_snapshot_without_a_needed_column_names_it(tmp_path):
    snapshot(export(1), "2026-01-31").drop(columns="downgraded").to_csv(
        tmp_path / "customers.csv", index=False)
    result = CliRunner().invoke(cli, ["compute", str(tmp_path), "--kpi", "churn_rate"])
    assert result.exit_code == 1
    assert "column 'downgraded' is missing" in result.output
