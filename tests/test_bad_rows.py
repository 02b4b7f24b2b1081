"""Bad rows: one stops the run by default; ``--on-bad-rows skip|null`` goes on, counts them
per reason and writes them, with their lines, to a side file."""

from __future__ import annotations

import csv
import io
import json

import pandas as pd
import pytest
from click.testing import CliRunner
from test_mapping import call_log

import kpiforge
from kpiforge.cli import cli
from kpiforge.errors import KpiforgeError
from kpiforge.io.badrows import BadRowLog

HEADER = "arrived_s,answered_s,abandoned_s,handle_s,acw_s,csat"
ROWS = [
    "0,5,,100,0,5",
    "10,8,,100,0,4",      # answered before arrival
    "20,25,,abc,0,3",     # handle_s is text
    ",40,,100,0,2",       # no arrival time
    "40,45,,100,0,9",     # csat off the 1-5 scale
    "50,,60,,,",          # abandoned: fine
    "60,70,,200,10,1",
]
#: The same rows, cleaned by hand: skip drops rows 2-5; null empties the bad cells and
#: drops the row without a time.
SKIPPED = [ROWS[0], ROWS[5], ROWS[6]]
NULLED = [ROWS[0], "10,,,100,0,4", "20,25,,,0,3", "40,45,,100,0,", ROWS[5], ROWS[6]]
KPIS = ["offered", "answered", "asa", "aht", "csat", "wait_p90"]
REASONS = {"answered_s is before arrived_s": 1, "handle_s is not a number": 1,
           "arrived_s is missing (every row needs it)": 1,
           "csat is outside the 1-5 scale (parameters csat_scale_min, csat_scale_max)": 1}


@pytest.fixture
def bad_csv(tmp_path):
    path = tmp_path / "contacts.csv"
    path.write_text("\n".join([HEADER, *ROWS]) + "\n")
    return path


def _clean(tmp_path, rows):
    path = tmp_path / "clean.csv"
    path.write_text("\n".join([HEADER, *rows]) + "\n")
    return kpiforge.compute(path, KPIS).to_records()


def test_by_default_one_bad_row_stops_the_run(bad_csv):
    with pytest.raises(KpiforgeError, match=r"row 3 \(line 4\), column 'handle_s': 'abc'"):
        kpiforge.compute(bad_csv, KPIS)


@pytest.mark.parametrize(("policy", "clean"), [("skip", SKIPPED), ("null", NULLED)])
@pytest.mark.parametrize("how", [{}, {"chunk_rows": 2}, {"chunk_rows": 3, "workers": 2}])
def test_policies_equal_the_data_cleaned_by_hand(bad_csv, tmp_path, policy, clean, how):
    log = BadRowLog(policy)
    records = kpiforge.compute(bad_csv, KPIS, on_bad_rows=log, **how).to_records()
    expected = _clean(tmp_path, clean)
    if "workers" in how:  # quantiles from the sketch
        assert records[0].pop("wait_p90") == pytest.approx(expected[0].pop("wait_p90"),
                                                           rel=0.005)
    assert records == expected
    assert log.counts() == REASONS  # once each, though exact quantiles read the rows twice
    assert [(r.row, r.line, r.column) for r in log.rows] == [
        (2, 3, "answered_s"), (3, 4, "handle_s"), (4, 5, "arrived_s"), (5, 6, "csat")]


def test_cli_reports_counts_and_writes_the_side_file(bad_csv, tmp_path):
    side = tmp_path / "bad.csv"
    result = CliRunner().invoke(cli, ["compute", str(bad_csv), "--kpi", "offered,asa,aht,csat",
                                      "--on-bad-rows", "skip", "--bad-rows", str(side),
                                      "--format", "json"])
    assert result.exit_code == 0, result.output
    assert '"offered": 3' in result.stdout
    assert ("4 bad rows dropped: 1 answered_s is before arrived_s, 1 handle_s is not a "
            "number, 1 arrived_s is missing (every row needs it), 1 csat is outside the 1-5 "
            "scale") in result.stderr
    rows = list(csv.DictReader(io.StringIO(side.read_text())))
    assert [(r["row"], r["line"], r["column"], r["value"], r["problem"]) for r in rows] == [
        ("2", "3", "answered_s", "8", "is before arrived_s"),
        ("3", "4", "handle_s", "abc", "is not a number"),
        ("4", "5", "arrived_s", "nan", "is missing (every row needs it)"),
        ("5", "6", "csat", "9",
         "is outside the 1-5 scale (parameters csat_scale_min, csat_scale_max)")]


def test_bad_rows_file_needs_a_policy(bad_csv, tmp_path):
    result = CliRunner().invoke(cli, ["compute", str(bad_csv), "--bad-rows",
                                      str(tmp_path / "bad.csv")])
    assert result.exit_code == 1
    assert "give --on-bad-rows skip|null too" in result.output


def test_an_unknown_policy_is_an_error(bad_csv):
    with pytest.raises(KpiforgeError, match="on_bad_rows must be one of skip, null"):
        kpiforge.compute(bad_csv, KPIS, on_bad_rows="drop")


def test_rows_are_judged_on_the_columns_read(bad_csv):
    """As the checks are: a KPI reading only arrival times meets only the missing time."""
    log = BadRowLog("skip")
    assert kpiforge.compute(bad_csv, ["offered"], on_bad_rows=log).to_records() == [
        {"offered": len(ROWS) - 1}]
    assert log.counts() == {"arrived_s is missing (every row needs it)": 1}


def test_values_a_mapping_cannot_parse_are_bad_rows_of_the_export(tmp_path):
    """Row and line numbers are the export's; skip drops the rows, null empties the cells,
    and the KPIs equal pandas over the rows kept."""
    export = tmp_path / "calls.csv"
    frame = call_log(rows=60)
    frame.loc[[4, 17], "AvgTalkDuration"] = ["2 min", "soon"]
    frame.loc[[9], "Speed of answer in seconds"] = pd.NA
    frame["Speed of answer in seconds"] = frame["Speed of answer in seconds"].astype(object)
    frame.loc[[9], "Speed of answer in seconds"] = "12s"
    frame.loc[[9, 4], "Answered (Y/N)"] = "Y"
    frame.to_csv(export, index=False)
    raw = pd.read_csv(export, dtype=str, keep_default_na=False)
    bad = raw.index.isin([4, 9, 17])
    for policy, how in (("skip", {}), ("null", {"chunk_rows": 7})):
        log = BadRowLog(policy)
        [row] = kpiforge.compute(export, ["offered", "answered", "aht"], mapping="call-log",
                                 on_bad_rows=log, **how).to_records()
        assert [(r.row, r.line, r.column) for r in log.rows] == [
            (5, 6, "AvgTalkDuration"), (10, 11, "Speed of answer in seconds"),
            (18, 19, "AvgTalkDuration")]
        assert log.rows[0].problem == ("is not a duration as hh:mm:ss (00:02:23) "
                                       "(mapping key contacts.handle_s)")
        kept = raw[~bad] if policy == "skip" else raw
        answered = (kept["Answered (Y/N)"] == "Y") & \
            (kept["Speed of answer in seconds"] != "12s")
        clock = kept.loc[answered, "AvgTalkDuration"]
        talk = pd.to_timedelta(clock.where(clock.str.fullmatch(r"\d+:\d\d:\d\d")))
        assert row["offered"] == len(kept)
        assert row["answered"] == answered.sum()
        assert row["aht"] == pytest.approx(talk.dt.total_seconds().mean())


ISO_ROWS = [  # arrived, answered: times as text, naive (UTC) or with an offset
    ("2024-03-22 16:30:00", "2024-03-22 16:31:00"),   # waits 60 s
    ("2024-03-22T16:40:00+01:00", "2024-03-22 15:42:00"),  # 15:40 UTC: waits 120 s
    ("soon", "2024-03-22 16:50:00"),                   # not a time: bad
    ("2024-03-22 17:00:00", "2024-03-22 16:59:00"),    # answered before arrival: bad
    ("2024-03-22", ""),                                # midnight, not answered
]


@pytest.mark.parametrize("policy, offered, asa", [
    ("skip", 3, (60 + 120) / 2),
    ("null", 4, (60 + 120) / 2),  # the bad arrival loses its row; the early answer its time
])
def test_text_times_are_judged_as_times_not_numbers(policy, offered, asa):
    """ISO text in time columns (in memory, and from a CSV whose mixed offsets keep them
    text) is read as times cell by cell: only the cells that are no time are bad."""
    frame = pd.DataFrame(ISO_ROWS, columns=["arrived_s", "answered_s"])
    log = BadRowLog(policy)
    row = kpiforge.compute({"contacts": frame}, ["offered", "asa"],
                           on_bad_rows=log).to_records()[0]
    assert (row["offered"], row["asa"]) == (offered, pytest.approx(asa))
    assert [(r.row, r.column, r.value) for r in log.rows] == [
        (3, "arrived_s", "soon"), (4, "answered_s", "2024-03-22 16:59:00")]


def test_text_times_in_a_csv_with_bad_rows_skipped(tmp_path):
    path = tmp_path / "contacts.csv"
    pd.DataFrame(ISO_ROWS, columns=["arrived_s", "answered_s"]).to_csv(path, index=False)
    result = CliRunner().invoke(cli, ["compute", str(path), "--kpi", "offered", "--kpi",
                                      "asa", "--on-bad-rows", "skip", "--format", "json"])
    assert result.exit_code == 0, result.output
    assert "2 bad rows dropped" in result.stderr
    row = json.loads(result.stdout)[0]
    assert (row["offered"], row["asa"]) == (3, 90)


@pytest.mark.parametrize("policy", ["skip", "null"])
def test_times_out_of_range_or_infinite_are_bad_rows(tmp_path, policy):
    """Without --on-bad-rows they stop the run; with it, they are bad rows like any other
    (an arrival without a time loses its row under either policy)."""
    path = tmp_path / "contacts.csv"
    path.write_text("arrived_s,answered_s\n2024-03-04T09:00:00,2024-03-04T09:00:20\n"
                    "2300-03-04T09:10:00,\ninf,\n2024-03-04T09:20:00,2024-03-04T09:21:00\n"
                    "2024-03-04T09:30:00,1e300\n")
    log = BadRowLog(policy)
    row = kpiforge.compute(path, ["offered", "asa"], on_bad_rows=log).to_records()[0]
    # skip drops rows 2, 3 and 5; null drops 2 and 3 and empties row 5's answer.
    assert (row["offered"], row["asa"]) == ((2, 40.0) if policy == "skip" else (3, 40.0))
    assert [(r.row, r.column) for r in log.rows] == [
        (2, "arrived_s"), (3, "arrived_s"), (5, "answered_s")]
    with pytest.raises(KpiforgeError, match=r"row 3 .*'inf' is not a time"):
        kpiforge.compute(path, ["offered"])
