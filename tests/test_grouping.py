"""Grouping by any column (ad hoc dimensions), checked against pandas."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

import kpiforge
from kpiforge import KpiforgeError


@pytest.fixture(scope="module")
def contacts() -> pd.DataFrame:
    """Contacts with two extra columns: a text priority (some missing) and an integer type."""
    rng = np.random.default_rng(12)
    n = 400
    arrived = np.sort(rng.uniform(0, 3 * 86_400, n))
    answered = np.where(rng.random(n) < 0.8, arrived + rng.exponential(40, n), np.nan)
    return pd.DataFrame({
        "arrived_s": arrived,
        "answered_s": answered,
        "abandoned_s": np.where(np.isnan(answered), arrived + 30, np.nan),
        "handle_s": np.where(np.isnan(answered), np.nan, rng.uniform(60, 600, n)),
        "acw_s": np.where(np.isnan(answered), np.nan, 30.0),
        "channel": rng.choice(["call", "chat"], n),
        "customer_id": rng.choice([f"c{i}" for i in range(30)], n),
        "agent": rng.choice(["ann", "bob", "cy"], n),
        "priority": pd.array(rng.choice(["high", "low", "urgent", None], n), dtype=object),
        "type": rng.integers(1, 4, n),
    })


def test_any_text_or_integer_column_groups_like_pandas(contacts):
    result = kpiforge.compute({"contacts": pa.Table.from_pandas(contacts)},
                              ["offered", "aht"], by=["priority", "type"])
    frame = contacts.assign(handle=contacts.handle_s + contacts.acw_s)
    expected = frame.groupby(["priority", "type"], dropna=False).agg(
        offered=("arrived_s", "size"), aht=("handle", "mean")).reset_index()
    expected["priority"] = expected["priority"].astype(object).where(
        expected["priority"].notna(), None)
    expected = expected.sort_values(["priority", "type"], na_position="first",
                                    key=lambda c: c.fillna("") if c.dtype == object else c)
    assert result.keys["priority"].tolist() == expected["priority"].tolist()
    assert result.keys["type"].tolist() == expected["type"].tolist()
    np.testing.assert_allclose(result["offered"], expected["offered"])
    np.testing.assert_allclose(result["aht"], expected["aht"])


def test_customers_group_by_any_of_their_columns():
    """Churn by contract type, without a plugin declaring the dimension."""
    customers = pd.DataFrame({
        "customer_id": [f"c{i}" for i in range(8)], "period": [0.0] * 8,
        "active_start": [1] * 8, "churned": [1, 0, 0, 1, 1, 0, 0, 0],
        "downgraded": [0, 0, 1, 0, 0, 0, 0, 0],
        "contract_type": ["Month-to-month"] * 4 + ["One year"] * 2 + ["Two year"] * 2})
    result = kpiforge.compute({"customers": customers}, ["churn_rate"], by=["contract_type"])
    assert result.keys["contract_type"].tolist() == ["Month-to-month", "One year", "Two year"]
    np.testing.assert_allclose(result["churn_rate"], [3 / 4, 1 / 2, 0 / 2])


def test_a_column_of_one_table_only_names_both_tables(contacts):
    agents = pd.DataFrame({"agent": ["ann"], "interval_start_s": [0.0], "interval_s": [900.0],
                           "staffed_s": [900.0], "cost": [10.0]})
    data = {"contacts": contacts, "agent_intervals": agents}
    with pytest.raises(KpiforgeError, match=r"agent_intervals table.*'priority'.*contacts"):
        kpiforge.compute(data, ["cost_per_contact"], by=["priority"])


@pytest.mark.parametrize(("by", "message"), [
    (["priorty"], r"unknown dimension 'priorty' \(did you mean: priority\?\)"),
    (["Contract Type"], r"cannot group by column 'Contract Type': .* identifier"),
])
def test_bad_ad_hoc_dimensions_are_errors(contacts, by, message):
    with pytest.raises(KpiforgeError, match=message):
        kpiforge.compute({"contacts": contacts.assign(**{"Contract Type": "x"})},
                         ["offered"], by=by)


def test_whole_numbers_read_as_floats_group_and_missing_is_null(contacts):
    frame = contacts.assign(level=np.where(contacts.index % 5 == 0, np.nan,
                                           contacts.index % 2).astype(float))
    result = kpiforge.compute({"contacts": frame}, ["offered"], by=["level"])
    assert result.to_records()[0]["level"] is None
    assert [r["offered"] for r in result.to_records()] == [
        int(frame.level.isna().sum()), int((frame.level == 0).sum()),
        int((frame.level == 1).sum())]
