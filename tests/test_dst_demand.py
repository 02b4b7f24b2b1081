"""A zoned scenario across DST changes: the intraday profile, opening hours and shifts keep
to local wall-clock hours (Europe/Berlin: 31 March 2024 skips 02:00-03:00, 27 October 2024
repeats it). The oracle is zoneinfo: each local hour's instants, worked out apart from the
simulator."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import numpy as np
import pyarrow.compute as pc
import pytest

from kpiforge.io.output import csv_text
from kpiforge.simulations import load_scenario, simulate
from kpiforge.simulations.demand import Demand

BERLIN = ZoneInfo("Europe/Berlin")
#: Multipliers per hour from midnight, no two alike, so a shift by an hour shows.
SHAPE = [0.5, 0.2, 3.0, 0.1, 0.1, 0.3, 0.8, 2.0, 4.0, 6.0, 5.0, 4.5, 3.5, 4.2, 4.8, 4.1,
         3.6, 3.1, 2.4, 1.9, 1.5, 1.2, 0.9, 0.7]
VOLUME = 4800


def _scenario(start: str, days: int):
    return load_scenario("flat", {
        "scenario.timezone": "Europe/Berlin", "scenario.start": start,
        "scenario.days": str(days), "channels.call.intraday": repr(SHAPE),
        "channels.call.volume_per_day": str(VOLUME)})


def _expected_in(pieces, epoch: dt.datetime, start: dt.datetime, end: dt.datetime) -> float:
    """The contacts ``pieces`` (run seconds from ``epoch``) expect between two instants."""
    low, high = (start - epoch).total_seconds(), (end - epoch).total_seconds()
    overlap = np.clip(np.minimum(pieces.end, high) - np.maximum(pieces.start, low), 0, None)
    return float(np.sum(pieces.expected * overlap / (pieces.end - pieces.start)))


def _local_hours(day: dt.date) -> list[tuple[int, dt.datetime]]:
    """Each hour the local day has, as (wall-clock hour, its first instant in UTC): 23 on
    the spring change, 25 on the autumn one (the repeated hour twice)."""
    first = dt.datetime.combine(day, dt.time(), BERLIN).astimezone(dt.UTC)
    last = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(), BERLIN).astimezone(dt.UTC)
    hours = int((last - first).total_seconds() // 3600)
    return [(int((first + dt.timedelta(hours=k)).astimezone(BERLIN).hour),
             first + dt.timedelta(hours=k)) for k in range(hours)]


@pytest.mark.parametrize(("start", "change"), [("2024-03-29", dt.date(2024, 3, 31)),
                                               ("2024-10-25", dt.date(2024, 10, 27))])
def test_each_local_hour_expects_its_share_of_the_profile_across_a_change(start, change):
    scenario = _scenario(start, 5)
    demand = Demand(scenario)
    epoch = dt.datetime.combine(scenario.start, dt.time(), BERLIN).astimezone(dt.UTC)
    for day in range(5):
        date = scenario.date(day)
        pieces = demand.day(0, day)
        got = [(hour, _expected_in(pieces, epoch, at, at + dt.timedelta(hours=1)))
               for hour, at in _local_hours(date)]
        want = [(hour, VOLUME * SHAPE[hour] / sum(SHAPE)) for hour, _ in _local_hours(date)]
        assert [h for h, _ in got] == [h for h, _ in want]
        np.testing.assert_allclose([v for _, v in got], [v for _, v in want], rtol=1e-12,
                                   err_msg=str(date))
        # The day expects the hours it has: less the skipped 02:00, plus the repeated one.
        extra = {dt.date(2024, 3, 31): -SHAPE[2], dt.date(2024, 10, 27): SHAPE[2]}
        assert sum(pieces.expected) == pytest.approx(
            VOLUME * (sum(SHAPE) + extra.get(date, 0)) / sum(SHAPE), rel=1e-12)
    assert change in {scenario.date(day) for day in range(5)}


def _local(run, seconds) -> list[dt.datetime]:
    """Run seconds as local Berlin times, by zoneinfo: elapsed seconds added in UTC."""
    epoch = dt.datetime.combine(run.scenario.start, dt.time(), BERLIN).astimezone(dt.UTC)
    return [(epoch + dt.timedelta(seconds=float(s))).astimezone(BERLIN) for s in seconds]


PEAK_SCENARIO = """
[scenario]
days = 5
seed = 3
start = 2024-03-29
timezone = "Europe/Berlin"

[channels.call]
volume_per_day = 300
intraday = [0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]
aht_s = { dist = "exponential", mean = 60 }
patience_s = { dist = "exponential", mean = 600 }

[staffing]
shrinkage = 0.0

[[staffing.shifts]]
name = "morning"
start = "09:00"
end = "10:00"
agents = [6, 6, 6, 6, 6, 6, 6]
skills = ["call"]
"""


def test_simulated_arrivals_and_shifts_keep_to_local_hours_across_the_spring_change(
        tmp_path):
    """Calls only 09:00-10:00 local and agents on a 09:00-10:00 shift: every call arrives,
    and every agent works, in that local hour on the days before, of and after the change
    (they were at 10:00 after it)."""
    path = tmp_path / "peak.toml"
    path.write_text(PEAK_SCENARIO)
    scenario = load_scenario(path)
    run = simulate(scenario)
    arrivals = _local(run, run.contacts.column("arrived_s").to_numpy())
    assert {t.hour for t in arrivals} == {9}
    assert sorted({t.date() for t in arrivals}) == [scenario.date(d) for d in range(5)]
    # The agents' whole quarter hours (900 s staffed; an agent finishing a call after
    # 10:00 adds a little staffed time after the shift).
    intervals = run.agent_intervals
    shift = intervals.filter(pc.equal(intervals.column("staffed_s"), 900.0))
    starts = _local(run, shift.column("interval_start_s").to_numpy())
    assert sorted({(t.date(), t.hour, t.minute) for t in starts}) == [
        (scenario.date(d), 9, m) for d in range(5) for m in (0, 15, 30, 45)]
    assert shift.num_rows == 6 * 4 * 5
    again = simulate(load_scenario(path))  # the same seed: the same run, to the bit
    assert csv_text(again.contacts) == csv_text(run.contacts)
    assert csv_text(again.agent_intervals) == csv_text(run.agent_intervals)


def test_forecast_rows_are_local_times_across_the_change(tmp_path):
    """A forecast's rows name local times: 09:00 on the days before and after the spring
    change is 08:00 UTC, then 07:00 UTC."""
    (tmp_path / "forecast.csv").write_text(
        "interval_start,channel,contacts\n2024-03-30T09:00,call,50\n"
        "2024-04-01T09:00,call,70\n")
    (tmp_path / "scenario.toml").write_text(
        '[scenario]\ndays = 3\nseed = 2\nstart = 2024-03-30\ntimezone = "Europe/Berlin"\n'
        '[forecast]\nfile = "forecast.csv"\ninterval_min = 30\n'
        '[channels.call]\naht_s = { dist = "exponential", mean = 300 }\n'
        '[staffing]\nagents = 5\n')
    scenario = load_scenario(tmp_path / "scenario.toml")
    demand = Demand(scenario)
    epoch = dt.datetime(2024, 3, 30, tzinfo=BERLIN).astimezone(dt.UTC)
    for day, (utc, contacts) in {0: (dt.datetime(2024, 3, 30, 8, tzinfo=dt.UTC), 50),
                                 1: (None, 0),
                                 2: (dt.datetime(2024, 4, 1, 7, tzinfo=dt.UTC), 70)}.items():
        pieces = demand.day(0, day)
        assert pieces.expected.sum() == contacts
        if utc is not None:
            assert pieces.start.tolist() == [(utc - epoch).total_seconds()]
            assert pieces.end.tolist() == [(utc - epoch).total_seconds() + 1800]


def test_a_night_shift_over_the_spring_change_runs_from_local_start_to_local_end(tmp_path):
    """22:00-06:00 on the night of 30-31 March is 21:00 UTC to 04:00 UTC: seven hours."""
    (tmp_path / "night.toml").write_text(
        '[scenario]\ndays = 2\nseed = 1\nstart = 2024-03-30\ntimezone = "Europe/Berlin"\n'
        '[channels.call]\nvolume_per_day = 0\naht_s = { dist = "exponential", mean = 60 }\n'
        '[staffing]\nshrinkage = 0.0\n[[staffing.shifts]]\nname = "night"\nstart = "22:00"\n'
        'end = "06:00"\nagents = [0, 0, 0, 0, 0, 1, 0]\nskills = ["call"]\n')
    run = simulate(load_scenario(tmp_path / "night.toml"))
    staffed = run.agent_intervals.filter(pc.greater(run.agent_intervals.column("staffed_s"),
                                                    0))
    epoch = dt.datetime(2024, 3, 30, tzinfo=BERLIN).astimezone(dt.UTC)
    starts = [epoch + dt.timedelta(seconds=float(s))
              for s in staffed.column("interval_start_s").to_numpy()]
    assert min(starts) == dt.datetime(2024, 3, 30, 21, tzinfo=dt.UTC)
    assert max(starts) == dt.datetime(2024, 3, 31, 3, 45, tzinfo=dt.UTC)
    assert sum(staffed.column("staffed_s").to_pylist()) == 7 * 3600
