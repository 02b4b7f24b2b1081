"""Grouping by any column (ad hoc dimensions), checked against pandas."""

from __future__ import annotations

import json
import re

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from click.testing import CliRunner

import kpiforge
from kpiforge import KPI, Dimension, KpiforgeError, Measure, hookimpl
from kpiforge.cli import cli
from kpiforge.cli.render import render_table
from kpiforge.plugin_manager import get_plugin_manager
from kpiforge.registry import Registry
from kpiforge.report.view import KpiView


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


KPIS = ["offered", "aht", "asa", "wait_p90"]


def _rows(result, grouping_id):
    chosen = result.keys["grouping_id"] == grouping_id
    return {kpi: result[kpi][chosen] for kpi in KPIS}, chosen


@pytest.mark.parametrize("options", [{}, {"chunk_rows": 97}, {"grain": "1d"}])
def test_totals_equal_a_run_without_grouping(contacts, options):
    data = {"contacts": contacts}
    result = kpiforge.compute(data, KPIS, by=["channel", "priority"], totals=True, **options)
    alone = kpiforge.compute(data, KPIS, **options)
    detail = kpiforge.compute(data, KPIS, by=["channel", "priority"], **options)
    assert set(result.keys["grouping_id"].tolist()) == {0, 3}
    total, chosen = _rows(result, 3)
    for kpi in KPIS:
        np.testing.assert_array_equal(total[kpi], alone[kpi])  # bit for bit, NaN where NaN
        np.testing.assert_array_equal(result[kpi][~chosen], detail[kpi])
    assert result.keys["channel"][chosen].tolist() == [None] * int(chosen.sum())
    if "grain" in options:
        assert result.keys["interval_start"][chosen].tolist() == \
            alone.keys["interval_start"].tolist()


def test_rollup_subtotals_come_from_the_rows_not_the_groups(contacts):
    result = kpiforge.compute({"contacts": contacts}, ["offered", "aht"],
                              by=["channel", "agent"], rollup=True)
    assert result.dimensions == ("channel", "agent", "grouping_id")
    records = result.to_records()
    assert [r["grouping_id"] for r in records] == [0] * 6 + [1, 1, 3]
    frame = contacts.assign(handle=contacts.handle_s + contacts.acw_s)
    by_channel = frame.groupby("channel").handle.mean()
    subtotals = [r for r in records if r["grouping_id"] == 1]
    assert [(r["channel"], r["agent"]) for r in subtotals] == [("call", None), ("chat", None)]
    np.testing.assert_allclose([r["aht"] for r in subtotals], by_channel.loc[["call", "chat"]])
    assert records[-1]["channel"] is None and records[-1]["offered"] == len(contacts)
    np.testing.assert_allclose(records[-1]["aht"], frame.handle.mean())


def test_totals_in_csv_are_empty_keys_with_a_grouping_id(contacts, tmp_path):
    result = kpiforge.compute({"contacts": contacts}, ["offered"], by=["type"], totals=True)
    lines = result.render("csv").splitlines()
    assert lines[0] == '"type","grouping_id","offered"'
    assert lines[-1] == f",1,{len(contacts)}"


def test_totals_need_data_that_can_be_read_again(contacts):
    with pytest.raises(KpiforgeError, match="totals and rollups read the data once more"):
        kpiforge.compute(iter([contacts[:200], contacts[200:]]), ["offered"],
                         by=["channel"], totals=True)


def test_the_command_line_groups_by_any_column_with_a_rollup(contacts, tmp_path):
    path = tmp_path / "contacts.csv"
    contacts.to_csv(path, index=False)
    out = CliRunner().invoke(cli, ["compute", str(path), "--by", "priority,type", "--rollup",
                                   "--kpi", "offered", "--format", "json"])
    assert out.exit_code == 0, out.output
    records = json.loads(out.output)
    counts = contacts.groupby("priority", dropna=False).size()
    subtotals = {r["priority"]: r["offered"] for r in records if r["grouping_id"] == 1}
    assert subtotals == {(None if pd.isna(k) else k): v for k, v in counts.items()}
    assert records[-1] == {"priority": None, "type": None, "grouping_id": 3,
                           "offered": len(contacts)}


CUSTOMERS_SERVED = Registry.build(
    measures=[("test", Measure("served", "contacts", "distinct", value="customer_id")),
              ("test", Measure("active_agents", "contacts", "distinct", value="agent",
                               where="notnan(answered_s)"))],
    kpis=[("test", KPI("customers_served", "served")),
          ("test", KPI("agents_active", "active_agents"))], dimensions=[])


def test_distinct_counts_are_exact_in_groups_totals_and_chunks(contacts):
    """Customers served and agents_active against pandas' nunique; chunks and the total
    must not count a customer twice."""
    for options in ({}, {"chunk_rows": 37}):
        result = kpiforge.compute({"contacts": contacts}, ["customers_served", "agents_active"],
                                  by=["channel"], totals=True, registry=CUSTOMERS_SERVED,
                                  **options)
        np.testing.assert_array_equal(result["customers_served"], [
            *contacts.groupby("channel").customer_id.nunique().loc[["call", "chat"]],
            contacts.customer_id.nunique()])
        answered = contacts[contacts.answered_s.notna()]
        np.testing.assert_array_equal(result["agents_active"], [
            *answered.groupby("channel").agent.nunique().loc[["call", "chat"]],
            answered.agent.nunique()])


def test_distinct_counts_numbers_and_skips_missing():
    data = {"contacts": {"arrived_s": np.arange(6.0), "ticket": [1.0, 1.0, 2.0, np.nan, 3.0, 3.0],
                         "channel": ["a", "a", "a", "b", "b", "b"]}}
    registry = Registry.build(
        measures=[("test", Measure("tickets", "contacts", "distinct", value="ticket"))],
        kpis=[("test", KPI("tickets_seen", "tickets"))], dimensions=[])
    result = kpiforge.compute(data, ["tickets_seen"], by=["channel"], registry=registry)
    assert result["tickets_seen"].tolist() == [2.0, 1.0]
    with pytest.raises(KpiforgeError, match="value must be a column name"):
        Measure("bad", "contacts", "distinct", value="ticket + 1")


def test_the_table_names_total_rows_all(contacts, tmp_path):
    path = tmp_path / "contacts.csv"
    contacts.to_csv(path, index=False)
    out = CliRunner().invoke(cli, ["compute", str(path), "--by", "channel", "--totals",
                                   "--kpi", "offered"])
    assert out.exit_code == 0, out.output
    assert "all / 1" in out.output and str(len(contacts)) in out.output


@pytest.mark.parametrize("options", [{}, {"chunk_rows": 53}])
def test_response_and_resolution_medians_and_p90_match_pandas(contacts, options):
    frame = contacts.assign(resolved_s=np.where(contacts.index % 3 == 0, np.nan,
                                                contacts.arrived_s + contacts.index * 7.5))
    kpis = ["first_response_time_median", "first_response_time_p90",
            "time_to_resolution_median", "time_to_resolution_p90"]
    result = kpiforge.compute({"contacts": frame}, kpis, by=["channel"], **options)
    groups = frame.assign(response=frame.answered_s - frame.arrived_s,
                          resolution=frame.resolved_s - frame.arrived_s).groupby("channel")
    expected = {
        "first_response_time_median": groups.response.median(),
        "first_response_time_p90": groups.response.quantile(0.9),
        "time_to_resolution_median": groups.resolution.median(),
        "time_to_resolution_p90": groups.resolution.quantile(0.9)}
    for kpi, values in expected.items():
        np.testing.assert_allclose(result[kpi], values.loc[["call", "chat"]], rtol=1e-12,
                                   err_msg=kpi)


def test_hour_of_day_and_weekday_pool_the_same_hour_across_days():
    """Against pandas' calendar of the same Unix times (UTC): 0 is Monday."""
    rng = np.random.default_rng(5)
    start = pd.Timestamp("2026-11-16").timestamp()  # a Monday
    arrived = np.sort(start + rng.uniform(0, 15 * 86_400, 3_000))
    frame = pd.DataFrame({"arrived_s": arrived,
                          "answered_s": arrived + rng.exponential(30, len(arrived))})
    result = kpiforge.compute({"contacts": frame}, ["offered", "asa"],
                              by=["weekday", "hour_of_day"], grain=None, totals=True)
    when = pd.to_datetime(frame.arrived_s, unit="s")
    expected = frame.assign(weekday=when.dt.day_of_week, hour=when.dt.hour,
                            wait=frame.answered_s - frame.arrived_s).groupby(
        ["weekday", "hour"]).agg(offered=("wait", "size"), asa=("wait", "mean"))
    detail = result.keys["grouping_id"] == 0
    assert list(zip(result.keys["weekday"][detail].tolist(),
                    result.keys["hour_of_day"][detail].tolist(), strict=True)) == \
        expected.index.tolist()
    np.testing.assert_array_equal(result["offered"][detail], expected.offered)
    np.testing.assert_allclose(result["asa"][detail], expected.asa, rtol=1e-12)
    assert result["offered"][~detail].tolist() == [len(frame)]


def test_calendar_keys_group_every_table_by_its_own_time_column():
    agents = pd.DataFrame({"agent": ["a", "a", "b"], "interval_start_s": [0.0, 3_600, 90_000],
                           "staffed_s": [1800.0, 1800, 1800]})
    result = kpiforge.compute({"agent_intervals": agents}, ["staffed_hours"],
                              by=["hour_of_day"])
    assert result.keys["hour_of_day"].tolist() == [0, 1]  # 90,000 s is 01:00 the next day
    assert result["staffed_hours"].tolist() == [0.5, 1.0]


class PriorityPlugin:
    """Declares ``priority`` (text keys in urgency order, one label) and ``type`` (integer
    keys with labels, 3 first) over the contacts table."""

    @hookimpl
    def kpiforge_register_dimensions(self):
        return [Dimension("priority", {"contacts": "priority"}, "how urgent",
                          labels={"urgent": "Urgent!"}, order=["urgent", "high"]),
                Dimension("type", {"contacts": "type"}, "the kind of request",
                          labels={1: "question", 2: "problem", 3: "incident"}, order=[3])]


def _declared() -> Registry:
    manager = get_plugin_manager(load_entry_points=False)
    manager.register(PriorityPlugin(), name="priority-plugin")
    return Registry.from_plugin_manager(manager)


DECLARED = _declared()
#: Eight contacts: priority low high urgent normal high (missing) urgent low; type 1 2 3 ...
SMALL = pd.DataFrame({
    "arrived_s": np.arange(8.0),
    "priority": ["low", "high", "urgent", "normal", "high", None, "urgent", "low"],
    "type": [1, 2, 3, 1, 2, 3, 1, 2]})


@pytest.mark.parametrize("options", [{}, {"chunk_rows": 3}, {"workers": 2, "chunk_rows": 3}])
def test_a_declared_order_puts_listed_keys_first_then_the_others_sorted(options):
    result = kpiforge.compute({"contacts": SMALL}, ["offered"], by=["priority"],
                              registry=DECLARED, totals=True, **options)
    # Missing first (as for every dimension), urgent, high (listed), then low, normal.
    assert result.keys["priority"].tolist() == [None, "urgent", "high", "low", "normal", None]
    assert result["offered"].tolist() == [1, 2, 2, 2, 1, 8]
    assert result.keys["grouping_id"].tolist() == [0, 0, 0, 0, 0, 1]


def test_integer_keys_take_their_labels_in_tables_and_keep_their_values_in_output():
    result = kpiforge.compute({"contacts": SMALL}, ["offered"], by=["type"],
                              registry=DECLARED)
    assert result.keys["type"].tolist() == [3, 1, 2]  # 3 listed, then 1, 2
    assert result["offered"].tolist() == [2, 3, 3]
    assert result.shown_keys("type") == ["incident", "question", "problem"]
    assert [r["type"] for r in result.to_records()] == [3, 1, 2]
    assert result.render("csv").splitlines()[1:] == ["3,2", "1,3", "2,3"]
    table = render_table(result).splitlines()
    assert table[0].split() == ["KPI", "incident", "question", "problem"]


def test_declared_labels_and_order_shape_the_report_groups(tmp_path):
    path = tmp_path / "contacts.csv"
    SMALL.assign(answered_s=SMALL.arrived_s + 5).to_csv(path, index=False)
    result = kpiforge.compute(str(path), ["offered"], by=["priority", "type"],
                              registry=DECLARED)
    view = KpiView.of(result, ["offered"], {}, {})
    # Urgent (types 3 and 1: type 3 first) before high (types 2, 2), then low, normal.
    assert view.groups == ("- / incident", "Urgent! / incident", "Urgent! / question",
                           "high / problem", "low / question", "low / problem",
                           "normal / question")
    np.testing.assert_array_equal(view.values["offered"][:, 0], [1, 1, 1, 2, 1, 1, 1])


def test_a_declared_dimension_missing_from_a_table_the_kpi_reads_names_both():
    agents = pd.DataFrame({"agent": ["ann"], "interval_start_s": [0.0], "interval_s": [900.0],
                           "staffed_s": [900.0], "cost": [10.0]})
    data = {"contacts": SMALL.assign(answered_s=SMALL.arrived_s), "agent_intervals": agents}
    with pytest.raises(KpiforgeError, match=r"KPI 'cost_per_contact' reads the "
                       r"agent_intervals table, which cannot be grouped by 'priority': that "
                       r"dimension is a column of the contacts table\(s\) only"):
        kpiforge.compute(data, ["cost_per_contact"], by=["priority"], registry=DECLARED)
    result = kpiforge.compute(data, by=["priority"], registry=DECLARED)
    assert "agent_intervals" in result.skipped["cost_per_contact"]


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"labels": ["urgent"]}, "labels must map keys"),
    ({"labels": {1.5: "x"}}, "keys must be text or integers, got 1.5"),
    ({"labels": {1: ""}}, "the label of key 1 must be non-empty text"),
    ({"labels": {1: "same", 2: "same"}}, "'same' labels several keys"),
    ({"order": "urgent"}, "order must be a list of keys"),
    ({"order": [1, "1"]}, "order lists key '1' more than once"),
    ({"order": [None]}, "keys must be text or integers, got None"),
])
def test_bad_labels_and_orders_name_the_dimension(kwargs, message):
    with pytest.raises(KpiforgeError, match=r"Dimension 'priority': .*" + re.escape(message)):
        Dimension("priority", {"contacts": "priority"}, **kwargs)


@pytest.mark.parametrize("groups", [3, 40_000])  # a table of pairs, and a sort
def test_distinct_merges_partials_with_different_label_lists_exactly(groups):
    """Distinct states of parts read apart (text labels each their own list) merged onto
    one key space count what Python sets of (group, value) count."""
    from kpiforge.engine.accumulators import Distinct
    from kpiforge.engine.grouping import Groups
    from kpiforge.io.categorical import Categorical

    rng = np.random.default_rng(8)
    distinct, parts, expected = Distinct(), [], {}
    for _ in range(3):
        labels = np.array(sorted({f"c{i}" for i in rng.integers(0, 500, 300)}), dtype=object)
        rows = 2_000
        codes = rng.integers(-1, len(labels), rows).astype(np.int32)
        group = rng.integers(0, min(groups, 50), rows)
        index = rng.permutation(groups)[:50] if groups > 50 else np.arange(groups)
        state = distinct.accumulate(Groups(codes=group, count=int(group.max()) + 1, keys={},
                                           rows=rows), Categorical(codes, labels), None)
        parts.append((state, index))
        for g, c in zip(group, codes, strict=True):
            if c >= 0:
                expected.setdefault(int(index[g]), set()).add(labels[c])
    counts = distinct.finalize(distinct.merge(parts, groups), groups)
    assert counts.tolist() == [len(expected.get(g, ())) for g in range(groups)]
