"""Reading inputs: one way to read times on every path (in memory, chunks, workers), bad
times and numbers named by row and column, keys, CSV and Parquet edge cases."""

from __future__ import annotations

import datetime as dt
import json
import math

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

import kpiforge
from kpiforge import KpiforgeError
from kpiforge.cli import cli

UTC = dt.UTC
#: Every way of running compute over the same input.
MODES = [{}, {"chunk_rows": 2}, {"workers": 2, "chunk_rows": 2}]


def run_cli(*args):
    return CliRunner().invoke(cli, [str(a) for a in args])


def unix(text: str) -> float:
    """Seconds since 1970 UTC of an ISO time (naive: UTC), by the standard library."""
    stamp = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    return (stamp if stamp.tzinfo else stamp.replace(tzinfo=UTC)).timestamp()


def hours(result):
    return dict(zip(result.keys["interval_start"].tolist(), result["offered"].tolist(),
                    strict=True))


ISO = ["2024-03-10T01:30:00", "2024-03-10 02:30", "2024-03-10T02:45:00+09:00",
       "2024-03-10T03:10:00Z", "2024-03-10"]


def expected_hours(values):
    counts: dict[float, float] = {}
    for value in values:
        start = unix(value) // 3600 * 3600
        counts[start] = counts.get(start, 0) + 1
    return counts


@pytest.mark.parametrize("mode", MODES)
def test_iso_times_read_the_same_in_memory_streamed_and_in_workers(tmp_path, mode):
    path = tmp_path / "contacts.csv"
    path.write_text("arrived_s,channel\n" + "".join(f"{v},call\n" for v in ISO))
    expected = expected_hours(ISO)
    assert hours(kpiforge.compute(path, kpis=["offered"], grain="1h", **mode)) == expected
    frame = {"arrived_s": np.array(ISO, dtype=object), "channel": np.array(["call"] * 5)}
    assert hours(kpiforge.compute({"contacts": frame}, kpis=["offered"], grain="1h",
                                  **mode)) == expected


def test_arrow_timestamps_and_numbers_read_as_the_same_instants(tmp_path):
    instants = [unix(v) for v in ISO]
    aware = pa.array([dt.datetime.fromtimestamp(s, UTC) for s in instants],
                     pa.timestamp("ms", "Asia/Tokyo"))
    naive = pa.array([dt.datetime.fromtimestamp(s, UTC).replace(tzinfo=None)
                      for s in instants], pa.timestamp("us"))
    parquet = tmp_path / "contacts.parquet"
    pq.write_table(pa.table({"arrived_s": aware}), parquet)
    expected = expected_hours(ISO)
    for data in (parquet, pa.table({"arrived_s": naive}),
                 {"contacts": {"arrived_s": np.array(instants)}}):
        for mode in MODES:
            assert hours(kpiforge.compute(data, kpis=["offered"], grain="1h", **mode)) \
                == expected


def test_integers_above_2_53_read_as_one_type_on_every_path(tmp_path):
    big = 2**53 + 1
    path = tmp_path / "contacts.csv"
    path.write_text(f"arrived_s,handle_s,acw_s,answered_s\n0,{big},0,1\n1,1,0,2\n")
    expected = (float(big) + 1) / 2  # the float64 nearest 2**53 + 1, as every path reads it
    for data in (path, {"contacts": {"arrived_s": np.array([0, 1]),
                                     "handle_s": np.array([big, 1], dtype=np.int64),
                                     "acw_s": np.array([0, 0]),
                                     "answered_s": np.array([1, 2])}}):
        for mode in MODES:
            result = kpiforge.compute(data, kpis=["aht"], **mode)
            assert result["aht"][0] == expected, (data, mode)


@pytest.mark.parametrize("value", ["inf", "-inf", "Infinity", "1e400", "1e20", "-1e12",
                                   str(2**60)])
@pytest.mark.parametrize("mode", MODES)
def test_bad_times_are_an_error_naming_row_and_column(tmp_path, value, mode):
    path = tmp_path / "contacts.csv"
    path.write_text(f"arrived_s,answered_s\n0,1\n5,{value}\n")
    with pytest.raises(KpiforgeError, match=r"row 2 \(line 3\), column 'answered_s'"):
        kpiforge.compute(path, kpis=["offered", "asa"], **mode)


def test_a_time_in_no_accepted_format_lists_the_formats(tmp_path):
    path = tmp_path / "contacts.csv"
    path.write_text("arrived_s\n2024-03-10T01:30:00\n03/10/2024 09:30\n")
    for mode in MODES:
        with pytest.raises(KpiforgeError) as error:
            kpiforge.compute(path, kpis=["offered"], **mode)
        assert "row 2 (line 3), column 'arrived_s': '03/10/2024 09:30' is not a time" \
            in str(error.value)
        assert "ISO 8601" in str(error.value)


def test_bad_time_on_the_cli_is_one_line(tmp_path):
    path = tmp_path / "contacts.csv"
    path.write_text("arrived_s\n0\ninf\n")
    result = run_cli("compute", path, "--kpi", "offered", "--chunk-rows", "1")
    assert result.exit_code == 1
    assert result.output.count("\n") == 1
    assert "row 2 (line 3), column 'arrived_s'" in result.output


def test_a_nan_in_a_float_key_column_is_a_missing_key():
    data = {"arrived_s": np.array([0.0, 1, 2, 3]),
            "queue": np.array([1.5, np.nan, 1.5, np.nan])}
    for mode in MODES:
        result = kpiforge.compute({"contacts": data}, kpis=["offered"], by=["queue"], **mode)
        assert json.loads(json.dumps(result.to_records())) == [
            {"queue": None, "offered": 2.0}, {"queue": "1.5", "offered": 2.0}]


def test_header_names_with_spaces_and_a_byte_order_mark(tmp_path):
    path = tmp_path / "contacts.csv"
    path.write_bytes("\ufeffarrived_s , channel\n0, call\n1,chat\n".encode())
    for mode in MODES:
        result = kpiforge.compute(path, kpis=["offered"], by=["channel"], **mode)
        assert json.loads(json.dumps(result.to_records())) == [
            {"channel": " call", "offered": 1.0}, {"channel": "chat", "offered": 1.0}]


def test_a_column_named_twice_is_an_error_naming_it(tmp_path):
    path = tmp_path / "contacts.csv"
    path.write_text("arrived_s,channel,channel\n0,call,chat\n")
    with pytest.raises(KpiforgeError, match="column 'channel' is named twice"):
        kpiforge.compute(path, kpis=["offered"])


@pytest.mark.parametrize("mode", MODES)
def test_a_number_pyarrow_rejects_is_named_with_row_column_and_value(tmp_path, mode):
    path = tmp_path / "contacts.csv"
    path.write_text("arrived_s,answered_s,handle_s,acw_s\n0,1,100,0\n1,2,3_00,0\n")
    with pytest.raises(KpiforgeError,
                       match=r"row 2 \(line 3\), column 'handle_s': '3_00' is not a number"):
        kpiforge.compute(path, kpis=["aht"], **mode)


@pytest.mark.parametrize("value", ["inf", "-Infinity", "1e400"])
def test_a_non_finite_duration_is_an_error(tmp_path, value):
    path = tmp_path / "contacts.csv"
    path.write_text(f"arrived_s,answered_s,handle_s,acw_s\n0,1,100,0\n1,2,{value},0\n")
    for mode in MODES:
        with pytest.raises(KpiforgeError, match=r"row 2 \(line 3\), column 'handle_s'"):
            kpiforge.compute(path, kpis=["aht"], **mode)


def test_json_never_holds_nan_or_infinity(tmp_path):
    path = tmp_path / "contacts.parquet"
    pq.write_table(pa.table({"arrived_s": [0.0, 1.0], "answered_s": pa.nulls(2, pa.float64()),
                             "queue": pa.nulls(2)}), path)
    result = run_cli("compute", path, "--kpi", "offered,asa", "--by", "queue",
                     "--format", "json")
    assert result.exit_code == 0, result.output
    assert "NaN" not in result.output and "Infinity" not in result.output
    assert json.loads(result.output) == [{"queue": None, "offered": 2.0, "asa": None}]


def test_text_labels_na_and_null_are_labels_only_empty_cells_are_missing(tmp_path):
    path = tmp_path / "contacts.csv"
    path.write_text("arrived_s,queue\n0,NA\n1,null\n2,\n3,nan\n4,N/A\n")
    expected = [{"queue": None, "offered": 1.0}, {"queue": "N/A", "offered": 1.0},
                {"queue": "NA", "offered": 1.0}, {"queue": "nan", "offered": 1.0},
                {"queue": "null", "offered": 1.0}]
    for mode in MODES:
        result = kpiforge.compute(path, kpis=["offered"], by=["queue"], **mode)
        assert json.loads(json.dumps(result.to_records())) == expected


def test_missing_value_cells_in_number_and_time_columns(tmp_path):
    path = tmp_path / "contacts.csv"
    path.write_text("arrived_s,answered_s,abandoned_s\n0,NA,\n1,,NaN\n2,5,null\n")
    for mode in MODES:
        result = kpiforge.compute(path, kpis=["answered", "asa"], **mode)
        assert (result["answered"][0], result["asa"][0]) == (1.0, 3.0)


@pytest.mark.parametrize("column", ["arrived_s", "handle_s"])
def test_parquet_booleans_as_seconds_are_an_error_naming_the_column(tmp_path, column):
    path = tmp_path / "contacts.parquet"
    columns = {"arrived_s": [0.0, 1.0], "answered_s": [1.0, 2.0], "acw_s": [0.0, 0.0],
               "handle_s": [5.0, 6.0]}
    columns[column] = [True, False]
    pq.write_table(pa.table(columns), path)
    with pytest.raises(KpiforgeError, match=f"column '{column}'.*(bool|true)"):
        kpiforge.compute(path, kpis=["aht"])


def test_a_boolean_flag_is_read_as_0_and_1():
    data = {"arrived_s": np.array([0.0, 1.0]), "answered_s": np.array([0.0, 1.0]),
            "escalated": pa.array([True, False])}
    assert kpiforge.compute({"contacts": data}, kpis=["escalation_rate"]
                            )["escalation_rate"][0] == 0.5


def test_a_corrupt_parquet_body_is_one_line_naming_the_file(tmp_path):
    path = tmp_path / "contacts.parquet"
    pq.write_table(pa.table({"arrived_s": np.arange(1000.0)}), path)
    body = bytearray(path.read_bytes())
    body[8:400] = b"\xff" * 392  # the data pages; the footer (schema) stays readable
    path.write_bytes(bytes(body))
    for args in ((), ("--chunk-rows", "10")):
        result = run_cli("compute", path, "--kpi", "offered", *args)
        assert result.exit_code == 1
        assert result.output.count("\n") == 1, result.output
        assert result.output.startswith(f"Error: {path}: not a valid Parquet file")


def test_binary_input_is_rejected_from_its_first_block(tmp_path):
    path = tmp_path / "contacts.csv"
    with path.open("wb") as handle:  # sparse: 1 GiB of NUL bytes costs no disk
        handle.truncate(1 << 30)
    result = run_cli("compute", path, "--kpi", "offered")
    assert result.exit_code == 1
    assert f"{path}: not a readable CSV text file (binary data" in result.output


def test_a_streamed_quantile_of_a_group_without_values_is_undefined():
    data = {"arrived_s": np.arange(4.0), "answered_s": np.full(4, np.nan),
            "abandoned_s": np.full(4, np.nan), "channel": np.array(["a", "b", "a", "b"])}
    for chunks in (iter([data]), iter([data, data])):
        result = kpiforge.compute(chunks, kpis=["wait_p90"], by=["channel"], chunk_rows=2)
        assert np.isnan(result["wait_p90"]).all()


def test_chunked_sums_agree_with_an_exact_sum_within_the_documented_tolerance():
    rng = np.random.default_rng(7)
    handle = rng.lognormal(5, 2, 5000)
    data = {"arrived_s": np.arange(5000.0), "answered_s": np.arange(5000.0),
            "handle_s": handle, "acw_s": np.zeros(5000)}
    exact = math.fsum(handle) / 5000
    for mode in ({}, {"chunk_rows": 7}, {"chunk_rows": 1000}, {"workers": 2, "chunk_rows": 333}):
        aht = kpiforge.compute({"contacts": data}, kpis=["aht"], **mode)["aht"][0]
        assert aht == pytest.approx(exact, rel=1e-12, abs=0), mode


@pytest.mark.parametrize("mode", MODES)
def test_an_empty_table_is_valid_data_whose_kpis_are_undefined(tmp_path, mode):
    path = tmp_path / "contacts.csv"
    path.write_text("arrived_s,answered_s,abandoned_s,channel\n")
    empty = pa.table({name: pa.array([], pa.float64())
                      for name in ("arrived_s", "answered_s", "abandoned_s")})
    for data in (path, iter([empty])):
        result = kpiforge.compute(data, kpis=["offered", "asa", "wait_p90"], **mode)
        assert len(result) == 1 and result["offered"][0] == 0.0
        assert np.isnan(result["asa"][0]) and np.isnan(result["wait_p90"][0])
    grouped = kpiforge.compute(path, kpis=["offered"], by=["channel"], grain="1d",
                               tz="Asia/Tokyo", **mode)
    assert len(grouped) == 0


def test_semicolon_and_tab_exports_are_told_from_their_first_lines(tmp_path):
    expected = [{"channel": "call", "offered": 2.0, "aht": 150.0},
                {"channel": "chat", "offered": 1.0, "aht": 300.0}]
    for name, delimiter in (("semicolon.csv", ";"), ("tab.csv", "\t"), ("comma.csv", ",")):
        path = tmp_path / name
        rows = [["arrived_s", "answered_s", "handle_s", "acw_s", "channel"],
                ["0", "1", "100", "0", "call"], ["5", "6", "200", "0", "call"],
                ["9", "10", "300", "0", "chat"]]
        path.write_bytes(("\ufeff" + "\n".join(delimiter.join(r) for r in rows) + "\n")
                         .encode())
        for mode in MODES:
            result = kpiforge.compute(path, kpis=["offered", "aht"], by=["channel"], **mode)
            assert json.loads(json.dumps(result.to_records())) == expected, (name, mode)


def test_a_bad_cell_in_a_semicolon_file_is_named(tmp_path):
    path = tmp_path / "contacts.csv"
    path.write_text("arrived_s;handle_s;answered_s;acw_s\n0;1;1;0\n1;x;2;0\n")
    for mode in MODES:
        with pytest.raises(KpiforgeError, match=r"row 2 \(line 3\), column 'handle_s': 'x'"):
            kpiforge.compute(path, kpis=["aht"], **mode)


def test_excel_workbooks_read_like_csv(tmp_path):
    openpyxl = pytest.importorskip("openpyxl")
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(["arrived_s", "answered_s", "handle_s", "acw_s", "channel", "queue"])
    sheet.append([dt.datetime(2024, 3, 31, 23, 30), dt.datetime(2024, 3, 31, 23, 31), 100,
                  0, "call", "NA"])
    sheet.append([dt.datetime(2024, 4, 1, 0, 30), dt.datetime(2024, 4, 1, 0, 32), 200, 0,
                  "call", 7])
    path = tmp_path / "contacts.xlsx"
    workbook.save(path)
    result = kpiforge.compute(path, kpis=["offered", "asa"], by=["queue"], grain="1d",
                              tz="Asia/Tokyo")
    # Naive sheet times are read in Tokyo; the text label "NA" and the number 7 are labels.
    assert json.loads(json.dumps(result.to_records())) == [
        {"queue": "7", "interval_start": "2024-04-01T00:00:00+09:00", "offered": 1.0,
         "asa": 120.0},
        {"queue": "NA", "interval_start": "2024-03-31T00:00:00+09:00", "offered": 1.0,
         "asa": 60.0}]
    sheet.append([dt.datetime(2024, 4, 1, 1), "soon", 1, 0, "call", "x"])
    sheet.append([None] * 6)  # an empty row left below the data is not a record
    workbook.save(path)
    with pytest.raises(KpiforgeError, match=r"row 3 \(line 4\), column 'answered_s': 'soon'"):
        kpiforge.compute(path, kpis=["asa"], chunk_rows=1)


def test_an_hh_mm_ss_duration_fails_saying_what_is_accepted(tmp_path):
    path = tmp_path / "contacts.csv"
    path.write_text("arrived_s,answered_s,handle_s,acw_s\n0,1,00:05:00,0\n")
    for mode in MODES:
        # Read whole, pyarrow takes the column for clock times; streamed, for text.
        with pytest.raises(KpiforgeError, match=r"column 'handle_s'.*expected a number .*"
                           r"seconds, not hh:mm:ss"):
            kpiforge.compute(path, kpis=["aht"], **mode)
