"""Time zones: grains, labels, weekdays and months in a zone, DST included, the same on
every way of running, from Python, the command line and a simulated run's scenario."""

from __future__ import annotations

import datetime as dt
import json
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

import kpiforge
from kpiforge import KpiforgeError
from kpiforge.cli import cli
from kpiforge.engine.grains import interval_bounds, interval_numbers
from kpiforge.io.sources import load_sources
from kpiforge.presets import resolve_mapping

UTC = dt.UTC
EPOCH = dt.datetime(1970, 1, 1)
MODES = [{}, {"chunk_rows": 3}, {"workers": 2, "chunk_rows": 3}]


def run_cli(*args):
    return CliRunner().invoke(cli, [str(a) for a in args])


def local(text: str, zone: str) -> dt.datetime:
    """An ISO time as a datetime in ``zone`` (naive text is wall-clock time there)."""
    stamp = dt.datetime.fromisoformat(text)
    return stamp.astimezone(ZoneInfo(zone)) if stamp.tzinfo else \
        stamp.replace(tzinfo=ZoneInfo(zone))


def counts(result):
    return dict(zip(result.keys["interval_start"].tolist(), result["offered"].tolist(),
                    strict=True))


def labelled(result):
    return {row["interval_start"]: row["offered"] for row in result.to_records()}


def test_an_early_morning_in_tokyo_is_in_its_local_month():
    # 08:30 on 1 April in Tokyo is 23:30 on 31 March in UTC.
    times = ["2024-04-01T08:30:00+09:00", "2024-03-31T23:30:00Z", "2024-03-31T12:00:00"]
    for mode in MODES:
        data = {"contacts": {"arrived_s": np.array(times, dtype=object)}}
        tokyo = kpiforge.compute(data, kpis=["offered"], grain="1mo", tz="Asia/Tokyo", **mode)
        # The naive time is read in Tokyo: 31 March.
        assert labelled(tokyo) == {"2024-03-01T00:00:00+09:00": 1.0,
                                   "2024-04-01T00:00:00+09:00": 2.0}, mode
        plain = kpiforge.compute(data, kpis=["offered"], grain="1mo", **mode)
        assert labelled(plain) == {"2024-03-01T00:00:00": 3.0}


def _hours(day: dt.date, zone: str) -> list[str]:
    """Every hour of a local day, as instants in UTC ISO text (the oracle: zoneinfo)."""
    start = dt.datetime.combine(day, dt.time(), ZoneInfo(zone)).astimezone(UTC)
    end = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(),
                              ZoneInfo(zone)).astimezone(UTC)
    return [(start + dt.timedelta(hours=h)).isoformat()
            for h in range(int((end - start).total_seconds() // 3600))]


@pytest.mark.parametrize(("day", "length"), [(dt.date(2024, 3, 31), 23),
                                             (dt.date(2024, 10, 27), 25),
                                             (dt.date(2024, 6, 1), 24)])
def test_days_around_dst_changes_have_their_hours(day, length):
    zone = "Europe/Berlin"
    hours = _hours(day, zone)
    assert len(hours) == length
    data = {"contacts": {"arrived_s": np.array(hours, dtype=object)}}
    for mode in MODES:
        by_day = kpiforge.compute(data, kpis=["offered"], grain="1d", tz=zone, **mode)
        offset = local(f"{day}T00:00:00", zone).strftime("%z")
        assert labelled(by_day) == {f"{day}T00:00:00{offset[:3]}:{offset[3:]}": length}
        by_hour = kpiforge.compute(data, kpis=["offered"], grain="1h", tz=zone, **mode)
        expected = {local(h, zone).isoformat(): 1.0 for h in hours}
        assert labelled(by_hour) == expected


def test_interval_lengths_follow_the_zone_calendar():
    zone = ZoneInfo("America/New_York")
    days = [dt.date(2024, 3, 10), dt.date(2024, 11, 3), dt.date(2024, 2, 29)]
    instants = np.array([dt.datetime.combine(d, dt.time(12), zone).timestamp() for d in days])
    for grain in ("1d", "1w", "1mo"):
        numbers = interval_numbers(instants, grain, EPOCH, "America/New_York")
        starts, lengths = interval_bounds(numbers, grain, EPOCH, "America/New_York")
        for day, start, length in zip(days, starts, lengths, strict=True):
            first = {"1d": day, "1w": day - dt.timedelta(days=day.weekday()),
                     "1mo": day.replace(day=1)}[grain]
            following = {"1d": first + dt.timedelta(days=1),
                         "1w": first + dt.timedelta(days=7),
                         "1mo": (first + dt.timedelta(days=32)).replace(day=1)}[grain]
            begin = dt.datetime.combine(first, dt.time(), zone).timestamp()
            end = dt.datetime.combine(following, dt.time(), zone).timestamp()
            assert (start, length) == (begin, end - begin), (grain, day)


def test_half_hour_zones_align_hours_to_local_time():
    zone = "Asia/Kolkata"  # UTC+05:30
    times = ["2024-05-01T09:10:00", "2024-05-01T09:50:00", "2024-05-01T10:05:00"]
    result = kpiforge.compute({"contacts": {"arrived_s": np.array(times, dtype=object)}},
                              kpis=["offered"], grain="1h", tz=zone)
    assert labelled(result) == {"2024-05-01T09:00:00+05:30": 2.0,
                                "2024-05-01T10:00:00+05:30": 1.0}


def test_weeks_start_on_local_monday():
    # Sunday 23:30 in Tokyo is Sunday 14:30 UTC; Monday 00:30 in Tokyo is Sunday 15:30 UTC.
    times = ["2024-06-09T23:30:00+09:00", "2024-06-10T00:30:00+09:00"]
    result = kpiforge.compute({"contacts": {"arrived_s": np.array(times, dtype=object)}},
                              kpis=["offered"], grain="1w", tz="Asia/Tokyo")
    assert labelled(result) == {"2024-06-03T00:00:00+09:00": 1.0,
                                "2024-06-10T00:00:00+09:00": 1.0}


def test_cli_tz_labels_csv_and_json(tmp_path):
    path = tmp_path / "contacts.csv"
    path.write_text("arrived_s\n2024-03-31T00:30:00\n2024-03-31T23:30:00\n")
    for fmt in ("csv", "json"):
        result = run_cli("compute", path, "--kpi", "offered", "--grain", "1d", "--tz",
                         "Asia/Tokyo", "--format", fmt)
        assert result.exit_code == 0, result.output
        if fmt == "json":
            assert [row["interval_start"] for row in json.loads(result.output)] == [
                "2024-03-31T00:00:00+09:00"]
        else:
            assert result.output.splitlines()[1] == '"2024-03-31T00:00:00+09:00",2'


def test_an_unknown_zone_is_one_line():
    result = run_cli("compute", "nowhere.csv", "--tz", "Mars/Olympus")
    assert result.exit_code != 0
    with pytest.raises(KpiforgeError, match="unknown time zone 'Mars/Olympus'"):
        kpiforge.compute({"contacts": {"arrived_s": np.zeros(1)}}, tz="Mars/Olympus")


@pytest.mark.parametrize("fmt", ["parquet", "csv"])
def test_a_simulated_run_records_its_zone(tmp_path, fmt):
    out = tmp_path / "run"
    result = run_cli("simulate", "flat", "--set", "scenario.days=1", "--set",
                     "scenario.timezone=Asia/Tokyo", "--set", "scenario.start=2024-04-01",
                     "--format", fmt, "--out", out)
    assert result.exit_code == 0, result.output
    tokyo = kpiforge.compute(out, kpis=["offered"], grain="1d")
    assert [r["interval_start"] for r in tokyo.to_records()] == ["2024-04-01T00:00:00+09:00"]
    # The same instants in UTC: the Tokyo day spans two UTC days (15:00 the day before).
    utc = kpiforge.compute(out, kpis=["offered"], grain="1h", tz="UTC")
    first = utc.to_records()[0]["interval_start"]
    assert first.startswith("2024-03-31T") and first.endswith("+00:00")
    assert sum(r["offered"] for r in utc.to_records()) == tokyo["offered"][0]


def test_a_scenario_with_an_unknown_zone_is_an_error(tmp_path):
    result = run_cli("simulate", "flat", "--set", "scenario.timezone=Nowhere/City",
                     "--set", "scenario.days=1", "--out", tmp_path / "run")
    assert result.exit_code == 1
    assert "scenario.timezone: must be an IANA time zone" in result.output
    assert not (tmp_path / "run").exists()


def test_hour_of_day_and_weekday_are_read_in_the_zone():
    # Sunday 23:30 UTC is Monday 08:30 in Tokyo.
    data = {"contacts": {"arrived_s": np.array(["2024-06-09T23:30:00Z"], dtype=object)}}
    tokyo = kpiforge.compute(data, kpis=["offered"], by=["hour_of_day", "weekday"],
                             tz="Asia/Tokyo")
    utc = kpiforge.compute(data, kpis=["offered"], by=["hour_of_day", "weekday"])
    assert (tokyo.keys["hour_of_day"].tolist(), tokyo.keys["weekday"].tolist()) == ([8], [0])
    assert (utc.keys["hour_of_day"].tolist(), utc.keys["weekday"].tolist()) == ([23], [6])


#: A call-log export in Tokyo time (UTC+9, no DST), dates and times apart, speed of answer.
TOKYO_EXPORT = ("Id,Date,Time,Answered,Speed\n"
                "1,2024-04-01,08:30,Y,20\n"    # 2024-03-31 23:30 UTC: April in Tokyo
                "2,2024-03-31,20:00,Y,40\n"    # 2024-03-31 11:00 UTC: March in Tokyo
                "3,2024-04-01,10:00,N,\n")     # 2024-04-01 01:00 UTC
TOKYO_MAPPING = {"contacts": {
    "contact_id": "Id", "arrived_s": {"date": "Date", "time": "Time"},
    "answered_s": {"start": "arrived_s", "plus": "Speed", "unit": "s", "when": "Answered"}}}
#: The instants of the three arrivals, worked out by hand from the offset (+09:00).
TOKYO_ARRIVALS = [dt.datetime(2024, 3, 31, 23, 30, tzinfo=UTC).timestamp(),
                  dt.datetime(2024, 3, 31, 11, 0, tzinfo=UTC).timestamp(),
                  dt.datetime(2024, 4, 1, 1, 0, tzinfo=UTC).timestamp()]


@pytest.mark.parametrize("mode", MODES)
def test_a_mapped_naive_timestamp_is_wall_clock_time_in_the_runs_zone(tmp_path, mode):
    path = tmp_path / "calls.csv"
    path.write_text(TOKYO_EXPORT)
    result = kpiforge.compute(str(path), ["offered", "asa"], grain="1mo", tz="Asia/Tokyo",
                              mapping=TOKYO_MAPPING, **mode)
    # March: #2 (answered after 40 s); April: #1 (08:30, after 20 s) and #3 (unanswered).
    assert [(r["interval_start"], r["offered"], r["asa"]) for r in result.to_records()] == [
        ("2024-03-01T00:00:00+09:00", 1, 40), ("2024-04-01T00:00:00+09:00", 2, 20)]
    hourly = kpiforge.compute(str(path), ["offered"], grain="1h", tz="Asia/Tokyo",
                              mapping=TOKYO_MAPPING, **mode)
    assert labelled(hourly) == {"2024-03-31T20:00:00+09:00": 1, "2024-04-01T08:00:00+09:00": 1,
                                "2024-04-01T10:00:00+09:00": 1}
    # Without a zone the same text is UTC: #1 and #3 on 1 April, #2 on 31 March.
    utc = kpiforge.compute(str(path), ["offered"], grain="1d", mapping=TOKYO_MAPPING, **mode)
    assert labelled(utc) == {"2024-03-31T00:00:00": 1, "2024-04-01T00:00:00": 2}


def test_a_mapped_format_and_a_mix_with_offsets_read_naive_times_in_the_zone(tmp_path):
    path = tmp_path / "calls.csv"
    path.write_text("Id,Created,Other\n1,01/04/2024 08:30,2024-03-31T20:00\n"
                    "2,31/03/2024 20:00,2024-03-31T15:30:00+00:00\n")
    mapping = {"contacts": {"contact_id": "Id",
                            "arrived_s": {"column": "Created", "format": "%d/%m/%Y %H:%M"},
                            "answered_s": "Other"}}
    result = kpiforge.compute(str(path), ["offered"], tz="Asia/Tokyo", mapping=mapping)
    table = load_sources(str(path), resolve_mapping(
        mapping), tz="Asia/Tokyo")["contacts"].arrow()
    assert table.column("arrived_s").to_pylist() == [TOKYO_ARRIVALS[0], TOKYO_ARRIVALS[1]]
    # The answer column mixes a naive time (Tokyo: 11:00 UTC) and an instant (15:30 UTC).
    assert table.column("answered_s").to_pylist() == [
        dt.datetime(2024, 3, 31, 11, 0, tzinfo=UTC).timestamp(),
        dt.datetime(2024, 3, 31, 15, 30, tzinfo=UTC).timestamp()]
    assert result["offered"].tolist() == [2]


def test_a_mapped_time_in_the_spring_gap_reads_as_a_schema_file_does(tmp_path):
    """Berlin skips 02:00-03:00 on 31 March 2024: 02:30 is read as 03:00 CEST (01:00 UTC)
    by the mapping as by a schema file."""
    mapped = tmp_path / "export.csv"
    mapped.write_text("When\n2024-03-31 02:30\n2024-03-31 01:30\n")
    plain = tmp_path / "contacts.csv"
    plain.write_text("arrived_s\n2024-03-31 02:30\n2024-03-31 01:30\n")
    expected = [dt.datetime(2024, 3, 31, 1, 0, tzinfo=UTC).timestamp(),
                dt.datetime(2024, 3, 31, 0, 30, tzinfo=UTC).timestamp()]
    table = load_sources(
        str(mapped), resolve_mapping({"contacts": {"arrived_s": "When"}}),
        tz="Europe/Berlin")["contacts"].arrow()
    assert table.column("arrived_s").to_pylist() == expected
    hourly = [kpiforge.compute(str(path), ["offered"], grain="1h", tz="Europe/Berlin",
                               **options).to_records()
              for path, options in ((mapped, {"mapping": {"contacts": {"arrived_s": "When"}}}),
                                    (plain, {}))]
    assert hourly[0] == hourly[1] == [
        {"interval_start": "2024-03-31T01:00:00+01:00", "offered": 1},
        {"interval_start": "2024-03-31T03:00:00+02:00", "offered": 1}]


def test_import_reads_naive_times_in_its_zone_and_writes_instants(tmp_path):
    import pyarrow.parquet as pq

    path = tmp_path / "calls.csv"
    path.write_text(TOKYO_EXPORT)
    mapping = tmp_path / "calls.toml"
    mapping.write_text('[contacts]\ncontact_id = "Id"\narrived_s = { date = "Date", '
                       'time = "Time" }\nanswered_s = { start = "arrived_s", plus = "Speed", '
                       'unit = "s", when = "Answered" }\n')
    out = tmp_path / "tables"
    result = run_cli("import", path, "--map", mapping, "--tz", "Asia/Tokyo", "--out", out)
    assert result.exit_code == 0, result.output
    assert pq.read_table(out / "contacts.parquet").column("arrived_s").to_pylist() == \
        TOKYO_ARRIVALS
    monthly = run_cli("compute", out, "--kpi", "offered", "--grain", "1mo", "--tz",
                      "Asia/Tokyo", "--format", "json")
    assert monthly.exit_code == 0, monthly.output
    assert {r["interval_start"]: r["offered"] for r in json.loads(monthly.output)} == {
        "2024-03-01T00:00:00+09:00": 1, "2024-04-01T00:00:00+09:00": 2}
    bad = run_cli("import", path, "--map", mapping, "--tz", "Mars/Olympus", "--out",
                  tmp_path / "nowhere")
    assert bad.exit_code == 1 and "unknown time zone 'Mars/Olympus'" in bad.output
    assert not (tmp_path / "nowhere").exists()


def test_dates_alone_in_a_pandas_text_column_are_midnight():
    """pandas hands text to Arrow as large_string; a date without a time is its midnight."""
    frame = pd.DataFrame({"arrived_s": ["2024-03-22", "2024-03-22 16:30:00"]})
    result = kpiforge.compute({"contacts": frame}, ["offered"], grain="1d")
    assert result.to_records() == [{"interval_start": "2024-03-22T00:00:00", "offered": 2.0}]
