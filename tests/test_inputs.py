"""Reading inputs: one way to read times on every path (in memory, chunks, workers), bad
times and numbers named by row and column, keys, CSV and Parquet edge cases."""

from __future__ import annotations

import datetime as dt
import json

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
