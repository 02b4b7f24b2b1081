"""Reading an export through a mapping (the ``call-log`` preset: date + time, Y/N flags,
speed of answer, hh:mm:ss talk time) against the same rows in the schema's columns, and a
bad-row policy on clean rows against none. Compare within the group ``mapping-<size>``."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pytest
from conftest import size_label

import kpiforge

KPIS = ["offered", "answered", "asa", "aht", "resolution_rate", "csat"]


@pytest.fixture(scope="session")
def call_files(rows, contacts_table, tmp_path_factory):
    """The benchmark contacts as a schema CSV and as a call-log export CSV."""
    folder = tmp_path_factory.mktemp("mapping")
    table = contacts_table
    answered = pc.is_valid(table["answered_s"]).to_numpy(zero_copy_only=False) & \
        ~np.isnan(table["answered_s"].to_numpy())
    arrived = np.floor(table["arrived_s"].to_numpy())
    speed = np.where(answered, np.round(table["answered_s"].to_numpy() - arrived), np.nan)
    talk = np.where(answered, np.round(table["handle_s"].to_numpy()), np.nan)
    resolved = ~np.isnan(table["resolved_s"].to_numpy()) & answered
    stamps = pa.array((arrived * 1e6).astype(np.int64), pa.timestamp("us"))
    clock = [f"{int(t) // 3600:02d}:{int(t) // 60 % 60:02d}:{int(t) % 60:02d}"
             if t == t else "" for t in talk]
    export = pa.table({
        "Call Id": pa.array(np.arange(len(arrived))),
        "Date": pc.strftime(stamps, "%Y-%m-%d"), "Time": pc.strftime(stamps, "%H:%M:%S"),
        "Agent": table["channel"].cast(pa.string()), "Topic": table["queue"].cast(pa.string()),
        "Answered (Y/N)": np.where(answered, "Y", "N"),
        "Resolved (Y/N)": np.where(resolved, "Y", "N"),
        "Speed of answer in seconds": speed, "AvgTalkDuration": clock,
        "Satisfaction rating": table["csat"],
    })
    schema = pa.table({
        "arrived_s": arrived, "answered_s": arrived + speed,
        "abandoned_s": np.where(answered, np.nan, arrived), "resolved_s":
        np.where(resolved, arrived, np.nan), "handle_s": talk,
        "acw_s": np.where(answered, 0.0, np.nan), "csat": table["csat"],
        "queue": table["queue"].cast(pa.string()),
    })
    paths = {"export": folder / "calls.csv", "schema": folder / "contacts.csv"}
    pacsv.write_csv(export, paths["export"])
    pacsv.write_csv(schema, paths["schema"])
    return paths


def test_schema_csv(benchmark, rows, call_files):
    benchmark.group = f"mapping-{size_label(rows)}"
    result = benchmark(kpiforge.compute, call_files["schema"], KPIS, by=["queue"])
    assert result["offered"].sum() == rows


def test_export_through_the_call_log_preset(benchmark, rows, call_files):
    benchmark.group = f"mapping-{size_label(rows)}"
    result = benchmark(kpiforge.compute, call_files["export"], KPIS, by=["queue"],
                       mapping="call-log")
    assert result["offered"].sum() == rows


def test_schema_csv_with_a_bad_row_policy(benchmark, rows, call_files):
    benchmark.group = f"mapping-{size_label(rows)}"
    result = benchmark(kpiforge.compute, call_files["schema"], KPIS, by=["queue"],
                       on_bad_rows="skip")
    assert result["offered"].sum() == rows
