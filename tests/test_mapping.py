"""Column mappings: real exports (small generated files in the shape of public ones) run
with one command, and their figures match pandas computing them from the raw file."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from click.testing import CliRunner

import kpiforge
from kpiforge.cli import cli
from kpiforge.errors import KpiforgeError


def run(*args: object):
    return CliRunner().invoke(cli, [str(a) for a in args])


def ok_json(*args: object) -> list[dict]:
    result = run(*args, "--format", "json")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def call_log(rows: int = 300, seed: int = 7) -> pd.DataFrame:
    """A call-centre log as such exports come: Date and Time apart, Y/N flags, speed of
    answer in seconds (empty for unanswered calls), talk time as hh:mm:ss, a 1-5 rating."""
    rng = np.random.default_rng(seed)
    start = pd.Timestamp("2021-01-01 08:00:00")
    arrived = start + pd.to_timedelta(np.sort(rng.integers(0, 30 * 86400, rows)), unit="s")
    answered = rng.random(rows) < 0.8
    speed = np.where(answered, rng.integers(1, 125, rows), -1)
    talk = rng.integers(30, 420, rows)
    return pd.DataFrame({
        "Call Id": [f"ID{i:04d}" for i in range(rows)],
        "Agent": rng.choice(["Diane", "Becky", "Stewart", "Greg"], rows),
        "Date": arrived.strftime("%Y-%m-%d"),
        "Time": arrived.strftime("%H:%M:%S"),
        "Topic": rng.choice(["Contract related", "Technical Support", "Payment related"], rows),
        "Answered (Y/N)": np.where(answered, "Y", "N"),
        "Resolved (Y/N)": np.where(answered & (rng.random(rows) < 0.7), "Y", "N"),
        "Speed of answer in seconds": pd.Series(speed).astype("Int64").where(answered),
        "AvgTalkDuration": np.where(
            answered, [f"{t // 3600:02d}:{t // 60 % 60:02d}:{t % 60:02d}" for t in talk], ""),
        "Satisfaction rating": pd.Series(rng.integers(1, 6, rows)).astype("Int64")
        .where(answered),
    })


@pytest.fixture
def calls_csv(tmp_path) -> Path:
    path = tmp_path / "calls.csv"
    call_log().to_csv(path, index=False)
    return path


def test_call_log_runs_with_the_shipped_mapping_and_matches_pandas(calls_csv):
    raw = pd.read_csv(calls_csv, keep_default_na=False, na_values=[""])
    answered = raw["Answered (Y/N)"] == "Y"
    talk = pd.to_timedelta(raw.loc[answered, "AvgTalkDuration"]).dt.total_seconds()
    ratings = raw.loc[answered, "Satisfaction rating"]
    [row] = ok_json("compute", calls_csv, "--map", "call-log",
                    "--kpi", "offered,answered,abandoned,answer_rate,asa,aht,resolution_rate,"
                    "csat")
    assert row["offered"] == len(raw)
    assert row["answered"] == answered.sum()
    assert row["abandoned"] == (~answered).sum()
    assert row["answer_rate"] == pytest.approx(answered.mean())
    assert row["asa"] == pytest.approx(raw.loc[answered, "Speed of answer in seconds"].mean())
    assert row["aht"] == pytest.approx(talk.mean())
    assert row["resolution_rate"] == pytest.approx((raw["Resolved (Y/N)"] == "Y").mean())
    assert row["csat"] == pytest.approx((ratings >= 4).mean())


def test_every_way_of_reading_maps_the_same(calls_csv):
    mapping = "call-log"
    kpis = ["offered", "asa", "aht", "resolution_rate", "csat"]
    whole = kpiforge.compute(calls_csv, kpis, by=["agent"], mapping=mapping).to_records()
    frame = pd.read_csv(calls_csv, dtype=str)
    for other in (kpiforge.compute(calls_csv, kpis, by=["agent"], mapping=mapping,
                                   chunk_rows=37),
                  kpiforge.compute(calls_csv, kpis, by=["agent"], mapping=mapping,
                                   workers=2, chunk_rows=50),
                  kpiforge.compute(frame, kpis, by=["agent"], mapping=mapping),
                  kpiforge.compute(iter([frame[:100], frame[100:]]), kpis, by=["agent"],
                                   mapping=mapping, chunk_rows=64)):
        records = other.to_records()
        assert [r["agent"] for r in records] == [r["agent"] for r in whole]
        for got, want in zip(records, whole, strict=True):
            assert {k: got[k] for k in kpis} == pytest.approx({k: want[k] for k in kpis})


def test_a_flag_without_a_time_leaves_out_the_kpis_that_need_the_time(calls_csv):
    result = kpiforge.compute(calls_csv, mapping="call-log")
    assert "resolution_rate" in result.kpis
    assert "yes/no flag" in result.skipped["time_to_resolution"]
    with pytest.raises(KpiforgeError, match="needs the time of 'resolved_s', which the data "
                                            "gives only as a yes/no flag"):
        kpiforge.compute(calls_csv, ["time_to_resolution"],
                         mapping="call-log")


def test_ticket_export_with_timestamps_matches_pandas(tmp_path):
    rng = np.random.default_rng(3)
    rows = 200
    created = pd.Timestamp("2024-03-01") + pd.to_timedelta(
        rng.integers(0, 20 * 86400, rows), unit="s")
    reply = created + pd.to_timedelta(rng.integers(60, 86400, rows), unit="s")
    solved = reply + pd.to_timedelta(rng.integers(0, 5 * 86400, rows), unit="s")
    is_solved = rng.random(rows) < 0.75
    raw = pd.DataFrame({
        "Ticket ID": np.arange(1, rows + 1),
        "Assignee": rng.choice(["Ann", "Bo"], rows),
        "Created": created.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "First reply": reply.strftime("%Y-%m-%d %H:%M:%S"),
        "Solved": np.where(is_solved, solved.strftime("%Y-%m-%d %H:%M:%S"), ""),
        "Status": np.where(is_solved, "solved", "open"),
        "Priority": rng.choice(["low", "normal", "urgent"], rows),
        "Channel": rng.choice(["Email", "Web form", "Chat", "Phone"], rows),
        "Satisfaction": rng.choice(["good", "bad", "offered", "unoffered"], rows),
    })
    path = tmp_path / "tickets.csv"
    raw.to_csv(path, index=False)
    rows_out = ok_json("compute", path, "--map", "tickets", "--by", "channel",
                       "--kpi", "offered,first_response_time,time_to_resolution,"
                       "resolution_rate,csat")
    channels = raw["Channel"].map({"Email": "email", "Web form": "email", "Chat": "chat",
                                   "Phone": "call"})
    for row in rows_out:
        part = raw[channels == row["channel"]]
        first = pd.to_datetime(part["Created"].str.rstrip("Z"))
        reply_s = (pd.to_datetime(part["First reply"]) - first).dt.total_seconds()
        done = part["Solved"] != ""
        resolve_s = (pd.to_datetime(part.loc[done, "Solved"]) - first[done]).dt.total_seconds()
        rated = part["Satisfaction"].isin(["good", "bad"])
        assert row["offered"] == len(part)
        assert row["first_response_time"] == pytest.approx(reply_s.mean())
        assert row["time_to_resolution"] == pytest.approx(resolve_s.mean())
        assert row["resolution_rate"] == pytest.approx(done.mean())
        assert row["csat"] == pytest.approx((part.loc[rated, "Satisfaction"] == "good").mean())


def test_customer_snapshot_churn_matches_pandas(tmp_path):
    """Churn over the whole snapshot (no grouping: churn *by* contract type needs grouping
    by any column, another part of issue 12)."""
    rng = np.random.default_rng(11)
    rows = 250
    raw = pd.DataFrame({
        "customerID": [f"{i:04d}-ABCDE" for i in range(rows)],
        "Contract": rng.choice(["Month-to-month", "One year", "Two year"], rows),
        "MonthlyCharges": rng.uniform(18, 120, rows).round(2),
        "Churn": rng.choice(["Yes", "No"], rows, p=[0.27, 0.73]),
    })
    path = tmp_path / "churn.csv"
    raw.to_csv(path, index=False)
    [row] = ok_json("compute", path, "--map", "customer-snapshot",
                    "--kpi", "logo_churn_rate")
    assert row["logo_churn_rate"] == pytest.approx((raw["Churn"] == "Yes").mean())


MINIMAL = {"contacts": {"arrived_s": "When", "answered_s": "When", "acw_s": {"value": 0},
                        "handle_s": {"column": "Talk", "unit": "min"}}}


@pytest.mark.parametrize(("mapping", "message"), [
    ({"contacts": {"handle_s": {"column": "Talk", "unit": "hours"}}},
     "mapping key contacts.handle_s: unit 'hours' is not one of ms, s, min, h, hh:mm:ss"),
    ({"contacts": {"handle_s": {"column": "Talk", "value": 1}}},
     "mapping key contacts.handle_s needs exactly one of column, date, value, start, flag"),
    ({"contacts": {"answered_s": {"start": "arrived_s", "plus": "Wait"}}},
     "mapping key contacts.answered_s: start 'arrived_s', mapped above it"),
    ({"contact": {"arrived_s": "When"}}, "unknown table 'contact'"),
    ({"contacts": {"arrived_s": {"colum": "When"}}},
     "mapping key contacts.arrived_s has unknown key 'colum'"),
])
def test_mapping_errors_name_the_key(mapping, message):
    with pytest.raises(KpiforgeError, match=message.replace("(", r"\(").replace(")", r"\)")):
        kpiforge.compute({"When": ["2024-01-01 10:00:00"], "Talk": ["2"]}, ["aht"],
                         mapping=mapping)


@pytest.mark.parametrize(("data", "message"), [
    ({"When": ["2024-01-01 10:00:00", "2024-01-01 10:05:00"], "Talk": ["2", "two"]},
     r"<contacts>: row 2, column 'Talk' \(mapping key contacts.handle_s\): 'two' is not a "
     r"number in min"),
    ({"When": ["2024-01-01 10:00:00", "yesterday"], "Talk": ["2", "3"]},
     r"row 2, column 'When' \(mapping key contacts.arrived_s\): 'yesterday' is not an ISO "
     "8601 timestamp"),
    ({"Start": ["2024-01-01 10:00:00"], "Talk": ["2"]},
     "mapping key contacts.arrived_s reads column 'When', which the export does not have "
     r"\(found: Start, Talk\)"),
])
def test_data_errors_name_the_key_the_column_and_the_row(data, message):
    with pytest.raises(KpiforgeError, match=message):
        kpiforge.compute(data, ["aht"], mapping=MINIMAL)


def test_durations_clock_values_and_constants(tmp_path):
    path = tmp_path / "export.csv"
    path.write_text("When,Talk,Wrap,Kind\n"
                    "03/01/2024 10:00,1:02:03,1.5,Chatbot\n"
                    "03/01/2024 11:30,0:00:30,0.5,Phone\n")
    mapping = tmp_path / "m.toml"
    mapping.write_text('[contacts]\n'
                       'arrived_s = { column = "When", format = "%m/%d/%Y %H:%M" }\n'
                       'answered_s = { start = "arrived_s", plus = "Wrap", unit = "min" }\n'
                       'handle_s = { column = "Talk", unit = "hh:mm:ss" }\n'
                       'acw_s = { column = "Wrap", unit = "min" }\n'
                       'channel = { column = "Kind", values = { Chatbot = "chat", '
                       'Phone = "call" } }\n'
                       'queue = { value = "support" }\n')
    rows = kpiforge.compute(path, ["offered", "aht", "asa"], by=["channel", "queue"],
                            mapping=mapping, grain="1d").to_records()
    assert rows == [
        {"channel": "call", "queue": "support", "interval_start": "2024-03-01T00:00:00",
         "offered": 1, "aht": 30 + 30, "asa": 30},
        {"channel": "chat", "queue": "support", "interval_start": "2024-03-01T00:00:00",
         "offered": 1, "aht": 3723 + 90, "asa": 90},
    ]


@pytest.mark.parametrize(("data", "kpis", "message"), [
    ({"Call Id": ["a"], "Date": ["2021-01-01"]}, None,
     "required column 'arrived_s' of table contacts is missing (found: Call Id, Date); "
     "'arrived_s' (when the contact arrived: seconds since the epoch (1970-01-01), or "
     "timestamps in a Parquet, Arrow or pandas column) is needed in every row; to read an "
     "export as it is, map its columns with a mapping file or a preset (--map "
     "FILE.toml|PRESET, `kpiforge import --list`; mapping= in Python)"),
    ({"arrived_s": [1.0], "answered_s": [1.0], "acw_s": [0.0], "handle_s": ["Y"]}, ["aht"],
     "row 1, column 'handle_s': 'Y' is not a number (expected a number such as 300 or 4.5 "
     "(durations in seconds, not hh:mm:ss)); 'handle_s' (talk or handling time, in "
     "seconds) holds numbers; yes/no values, text labels and timestamp text map to numbers "
     "with flag, values or format in a mapping; to read an export"),
    (pa.table({"arrived_s": [1.0], "answered_s": [1.0], "acw_s": [0.0],
               "handle_s": pa.array([dt.timedelta(seconds=3)], pa.duration("us"))}), ["aht"],
     "column 'handle_s' has unsupported type duration[us] (expected a number such as 300 "
     "or 4.5 (durations in seconds, not hh:mm:ss)); columns hold numbers, text, "
     "booleans, timestamps or dates; a duration or time of day maps to seconds with a "
     'mapping (handle_s = { column = "handle_s", unit = "s" }, or unit = "hh:mm:ss" for a '
     "time of day); to read an export"),
    (pa.table({"arrived_s": [1.0], "answered_s": [1.0], "acw_s": [0.0],
               "handle_s": pa.array([dt.time(0, 2)], pa.time32("s"))}), ["aht"],
     "column 'handle_s' has unsupported type time32[s] (expected a number such as 300 "
     "or 4.5 (durations in seconds, not hh:mm:ss)); columns hold numbers"),
    ({"arrived_s": [1.0], "answered_s": [1.0], "acw_s": [3.0]}, ["aht"],
     "column 'handle_s' is missing; KPI 'aht' (plugin 'kpiforge.plugins.support') needs it; "
     "add the column 'handle_s' (talk or handling time, in seconds), or choose KPIs that do "
     "not need it; to read an export as it is"),
])
def test_errors_teach_the_schema_and_point_to_mappings(data, kpis, message):
    with pytest.raises(KpiforgeError) as caught:
        kpiforge.compute({"contacts": data}, kpis)
    assert message in str(caught.value)


def test_the_advised_mappings_read_durations_and_clock_times():
    """What the unsupported-type error advises works: durations and times of day."""
    data = pa.table({"arrived_s": [1.0, 2.0], "answered_s": [1.0, 2.0], "acw_s": [0.0, 0.0],
                     "talk": pa.array([dt.timedelta(seconds=3), dt.timedelta(minutes=2)],
                                      pa.duration("ms")),
                     "clock": pa.array([dt.time(0, 0, 3), dt.time(0, 2)], pa.time32("s"))})
    common = {"arrived_s": {"column": "arrived_s", "unit": "s"},
              "answered_s": {"column": "answered_s", "unit": "s"}, "acw_s": "acw_s"}
    for spec in ({"column": "talk", "unit": "s"}, {"column": "clock", "unit": "hh:mm:ss"}):
        result = kpiforge.compute(data, ["aht"],
                                  mapping={"contacts": {**common, "handle_s": spec}})
        assert result.to_records() == [{"aht": (3 + 120) / 2}]
