"""Time zones: grains, labels, weekdays and months in a zone, DST included, the same on
every way of running, from Python, the command line and a simulated run's scenario."""

from __future__ import annotations

import datetime as dt
import json
from zoneinfo import ZoneInfo

import numpy as np
import pytest
from click.testing import CliRunner

import kpiforge
from kpiforge import KpiforgeError
from kpiforge.cli import cli
from kpiforge.engine.grains import interval_bounds, interval_numbers

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
