"""The engine: inputs of every kind agree, grains, mergeable partials, results, planning."""

from __future__ import annotations

import datetime as dt
import json

import numpy as np
import pandas as pd
import polars as pl
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

import kpiforge
from kpiforge import KpiforgeError
from kpiforge.engine.evaluate import finish
from kpiforge.engine.passes import table_partial
from kpiforge.engine.plan import Plan
from kpiforge.io.sources import data_source, load_sources
from kpiforge.io.tables import table_from_arrow
from kpiforge.registry import default_registry

KPIS = ["offered", "answer_rate", "asa", "wait_p90", "csat", "backlog"]


def records(result):
    return json.loads(json.dumps(result.to_records()))


def test_every_input_kind_gives_the_same_answer(contacts, contacts_csv, tmp_path):
    expected = records(kpiforge.compute({"contacts": contacts}, kpis=KPIS, by=["channel"]))
    frame = pd.DataFrame(contacts)
    parquet = tmp_path / "contacts.parquet"
    pq.write_table(pa.Table.from_pandas(frame), parquet)
    for data in (frame, pl.from_pandas(frame), pa.Table.from_pandas(frame), contacts_csv,
                 str(contacts_csv), parquet, {"contacts": frame}, {"contacts": contacts_csv}):
        assert records(kpiforge.compute(data, kpis=KPIS, by=["channel"])) == expected, data


def test_directory_of_tables(data_dir, all_tables):
    assert records(kpiforge.compute(data_dir)) == records(kpiforge.compute(all_tables))


def test_partials_from_chunks_merge_to_the_whole(contacts):
    """Chunks processed separately (own dictionaries, own groups) merge exactly."""
    registry = default_registry()
    sources = load_sources({"contacts": contacts})
    plan = Plan.make(registry, sources, KPIS, ["channel", "agent"], "1h", None)
    spec = plan.specs["contacts"]
    whole = finish(plan, [table_partial(sources["contacts"].read(spec.columns), spec)])
    partials = []
    for rows in (slice(0, 3), slice(3, 4), slice(4, 8)):
        chunk = {name: values[rows] for name, values in contacts.items()}
        partials.append(table_partial(data_source(chunk, "contacts").read(spec.columns),
                                      spec))
    assert records(finish(plan, partials)) == records(whole)


@pytest.mark.parametrize(("grain", "starts"), [
    ("15min", ["2026-11-16T08:00:00", "2026-11-16T08:15:00", "2026-11-16T09:45:00",
               "2026-11-18T23:45:00", "2026-12-01T00:00:00"]),
    ("1h", ["2026-11-16T08:00:00", "2026-11-16T09:00:00", "2026-11-18T23:00:00",
            "2026-12-01T00:00:00"]),
    ("1d", ["2026-11-16T00:00:00", "2026-11-18T00:00:00", "2026-12-01T00:00:00"]),
    ("1w", ["2026-11-16T00:00:00", "2026-11-30T00:00:00"]),  # weeks start on Monday
    ("1mo", ["2026-11-01T00:00:00", "2026-12-01T00:00:00"]),
])
def test_grains_follow_the_calendar(grain, starts):
    epoch = dt.datetime(1970, 1, 1)
    times = [dt.datetime(2026, 11, 16, 8, 0), dt.datetime(2026, 11, 16, 8, 14, 59),
             dt.datetime(2026, 11, 16, 8, 15), dt.datetime(2026, 11, 16, 9, 59),
             dt.datetime(2026, 11, 18, 23, 59), dt.datetime(2026, 12, 1, 0, 0)]
    seconds = np.array([(t - epoch).total_seconds() for t in times])
    result = kpiforge.compute({"contacts": {"arrived_s": seconds}}, kpis=["offered"],
                              grain=grain)
    assert [r["interval_start"] for r in result.to_records()] == starts
    assert sum(r["offered"] for r in result.to_records()) == 6


def test_grain_s_is_the_interval_length():
    day = 86400.0
    seconds = np.array([0.0, 3599.0, 40 * day])  # January 1970, then February
    result = kpiforge.compute({"contacts": {"arrived_s": seconds,
                                            "answered_s": seconds + 1}},
                              kpis=["responses_per_hour"], grain="1mo")
    np.testing.assert_allclose(result["responses_per_hour"], [2 / (31 * 24), 1 / (28 * 24)])


def test_result_conversions(contacts):
    result = kpiforge.compute({"contacts": contacts}, kpis=["offered", "csat"],
                              by=["channel", "queue"], grain="1h")
    frame = result.to_pandas()
    assert list(frame.columns) == ["channel", "queue", "interval_start", "offered", "csat"]
    assert frame["interval_start"].dtype.kind == "M"
    table = result.to_arrow()
    assert table.column("csat").null_count == 2  # no survey answers: call/b, chat/b at 00:00
    assert pa.types.is_timestamp(table.schema.field("interval_start").type)
    record = result.to_records()[0]
    assert record == {"channel": "call", "queue": "a", "interval_start": "1970-01-01T00:00:00",
                      "offered": 2.0, "csat": 0.5}


def test_numeric_ids_become_text_labels_so_tables_join(contacts):
    numeric = dict(contacts, queue=np.where(contacts["queue"] == "a", 1, 2))
    result = kpiforge.compute({"contacts": numeric}, kpis=["offered"], by=["queue"])
    assert [(r["queue"], r["offered"]) for r in result.to_records()] == [("1", 4), ("2", 4)]


@pytest.mark.parametrize("ids", [
    pa.array(np.arange(1000) % 37 * 3),                          # a small span: a table of it
    pa.array((np.arange(1000) % 17 - 8).astype(np.int8)),         # negative, narrow type
    pa.array(np.arange(1000) * 10**9),                            # a wide span: hashed
    pa.array([None if i % 9 == 0 else i % 5 for i in range(1000)], pa.int64()),  # missing
    pa.array(np.arange(1000) % 7 + 0.5),                          # not integers
])
def test_numeric_ids_get_the_labels_and_codes_of_their_text(ids):
    def queue(column):
        table = pa.table({"arrived_s": np.arange(1000.0), "queue": column})
        return table_from_arrow("contacts", table, "ids").columns["queue"]

    as_numbers = queue(ids)
    as_text = queue(pc.cast(ids, pa.string()))
    assert as_numbers.labels.tolist() == as_text.labels.tolist()
    assert as_numbers.labels.tolist() == sorted(as_text.labels.tolist())
    np.testing.assert_array_equal(as_numbers.codes, as_text.codes)


def test_default_set_skips_what_the_data_cannot_support(contacts):
    result = kpiforge.compute({"contacts": contacts})
    assert "occupancy" in result.skipped and "agent_intervals" in result.skipped["occupancy"]
    assert "cx_rating" in result.skipped
    assert "asa" in result.values


def test_grouping_skips_kpis_of_tables_without_that_dimension(all_tables):
    result = kpiforge.compute(all_tables, by=["channel"])
    assert "occupancy" in result.skipped and "cannot be grouped by 'channel'" in \
        result.skipped["occupancy"]
    with pytest.raises(KpiforgeError, match="reads the agent_intervals table, which cannot be "
                       "grouped by 'channel'"):
        kpiforge.compute(all_tables, by=["channel"], kpis=["occupancy"])


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"kpis": ["servce_level"]}, r"unknown KPI 'servce_level' \(did you mean: service_level"),
    ({"by": ["chanel"]}, r"unknown dimension 'chanel' \(did you mean: channel"),
    ({"grain": "2h"}, "unknown grain '2h'"),
    ({"params": {"sl_threshold": 3}}, r"unknown parameter 'sl_threshold' \(did you mean"),
    ({"params": {"sl_threshold_s": "soon"}}, "must be a number"),
    ({"kpis": ["occupancy"]},
     r"needs the agent_intervals table; pass it as the 'agent_intervals' entry of data"),
])
def test_planning_errors(contacts, kwargs, message):
    with pytest.raises(KpiforgeError, match=message):
        kpiforge.compute({"contacts": contacts}, **kwargs)


def test_a_requested_kpi_missing_a_column_is_an_error_naming_it(contacts):
    del contacts["nps"]
    with pytest.raises(KpiforgeError, match=r"<contacts>: column 'nps' is missing; KGI 'nps'"):
        kpiforge.compute({"contacts": contacts}, kpis=["nps", "asa"])
    assert kpiforge.compute({"contacts": contacts}, kpis=["asa"])["asa"][0] == 19


def test_the_default_set_leaves_out_kpis_missing_a_standard_column(contacts):
    for column in ("csat", "escalated", "nps", "resolved_s"):
        del contacts[column]
    result = kpiforge.compute({"contacts": contacts})
    # Exactly the KPIs reading those columns (directly or through other KPIs) are left out.
    assert {name: reason for name, reason in result.skipped.items()
            if "contacts" in reason} == {
        "csat": "needs column 'csat' of <contacts>",
        "csat_responses": "needs column 'csat' of <contacts>",
        "csat_score": "needs column 'csat' of <contacts>",
        "escalations": "needs column 'escalated' of <contacts>",
        "escalation_rate": "needs column 'escalated' of <contacts>",
        "nps": "needs column 'nps' of <contacts>",
        "resolution_rate": "needs column 'resolved_s' of <contacts>",
        "resolutions": "needs column 'resolved_s' of <contacts>",
        "time_to_resolution": "needs column 'resolved_s' of <contacts>",
        "time_to_resolution_median": "needs column 'resolved_s' of <contacts>",
        "time_to_resolution_p90": "needs column 'resolved_s' of <contacts>",
        "time_to_resolution_business": "needs column 'resolved_s' of <contacts>",
        "time_to_resolution_median_business": "needs column 'resolved_s' of <contacts>",
        "time_to_resolution_p90_business": "needs column 'resolved_s' of <contacts>",
        "fcr_rate": "needs column 'resolved_s' of <contacts>",
        "replies_per_resolution": "needs column 'resolved_s' of <contacts>",
        "backlog": "needs column 'resolved_s' of <contacts>",
        "untouched": "needs column 'resolved_s' of <contacts>",
        "open_email_age": "needs column 'resolved_s' of <contacts>",
        "average_response_time": "needs column 'reply_wait_s' of <contacts>",
        "cx_rating": "needs column 'cx_score' of <contacts>",
        "customers_served": "needs column 'customer_id' of <contacts>",  # not in the data
    }
    assert result["asa"][0] == 19 and result["offered"][0] == 8


def test_only_arrival_times_are_required(contacts):
    result = kpiforge.compute({"contacts": {"arrived_s": contacts["arrived_s"]}})
    assert list(result.values) == ["offered"] and result["offered"][0] == 8


def test_missing_dimension_column(contacts):
    del contacts["queue"]
    with pytest.raises(KpiforgeError, match="column 'queue' is missing; grouping by 'queue'"):
        kpiforge.compute({"contacts": contacts}, by=["queue"])


def test_data_must_name_tables(contacts):
    with pytest.raises(KpiforgeError, match="data must map table names"):
        kpiforge.compute(contacts)


def test_impossible_times_name_row_and_column(contacts):
    contacts["answered_s"][4] = -5.0
    with pytest.raises(KpiforgeError, match=r"<contacts>: row 5, column 'answered_s': -5 is "
                       "before arrived_s"):
        kpiforge.compute({"contacts": contacts})


def test_answered_and_abandoned_both_set(contacts):
    contacts["abandoned_s"][0] = 50
    with pytest.raises(KpiforgeError, match=r"row 1, column 'abandoned_s'.*answered or "
                       r"abandoned, not both"):
        kpiforge.compute({"contacts": contacts}, kpis=["answer_rate", "abandonment_rate"])


def test_a_dimension_of_text_in_one_table_and_numbers_in_another_is_an_error():
    registry = kpiforge.Registry.build(
        measures=[("test", kpiforge.Measure("contact_rows", "contacts", "count")),
                  ("test", kpiforge.Measure("agent_rows", "agent_intervals", "count"))],
        kpis=[("test", kpiforge.KPI("per_agent_row", "contact_rows / agent_rows"))],
        dimensions=[("test", kpiforge.Dimension(
            "region", {"contacts": "region", "agent_intervals": "region"}))])
    data = {"contacts": {"arrived_s": np.array([1.0, 2.0]), "region": np.array(["n", "s"])},
            "agent_intervals": {"agent": np.array(["a"]), "interval_start_s": np.array([0.0]),
                                "region": np.array([1])}}
    with pytest.raises(KpiforgeError, match="dimension 'region' is text in one table or "
                                            "chunk and numbers in another; give its "
                                            "columns one type"):
        kpiforge.compute(data, registry=registry, by=["region"])
