"""Demand: shapes per weekday and event, opening hours, forecasts, and common random numbers
(a change to one channel or one day leaves the others' contacts as they were)."""

from __future__ import annotations

import io

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pytest
from scipy import stats

from kpiforge import staffing
from kpiforge.io.output import csv_text
from kpiforge.simulations import ScenarioError, load_scenario, simulate

DAY = 86400.0

SEPARATE_TEAMS = """
[scenario]
days = 3
seed = 4

[channels.call]
volume_per_day = 2000
intraday = "office"
aht_s = { dist = "exponential", mean = 240 }
patience_s = { dist = "exponential", mean = 120 }
resolve = 0.8
repeat = 0.5
repeat_delay_s = 3600

[channels.chat]
volume_per_day = 800
intraday = "office"
aht_s = { dist = "lognormal", mean = 400, cv = 0.5 }
patience_s = { dist = "exponential", mean = 200 }
resolve = 0.8
repeat = 0.5
repeat_delay_s = 3600

[channels.email]
volume_per_day = 300
aht_s = 300
resolve = 0.7
repeat = 0.6

[staffing]
shrinkage = 0.1

[[staffing.shifts]]
name = "phones"
start = "07:00"
end = "19:00"
agents = 14
skills = ["call"]
breaks = [{ start = "11:00", end = "14:00", minutes = 30 }]

[[staffing.shifts]]
name = "chat"
start = "07:00"
end = "19:00"
agents = 6
skills = ["chat"]
concurrency = 2
breaks = [{ start = "11:00", end = "14:00", minutes = 30 }]

[[staffing.shifts]]
name = "mail"
start = "08:00"
end = "16:00"
agents = 2
skills = ["email"]
"""


@pytest.fixture
def teams(tmp_path):
    path = tmp_path / "teams.toml"
    path.write_text(SEPARATE_TEAMS)
    return path


def channel_csv(run, channel: str) -> bytes:
    """The rows of one channel as CSV bytes."""
    rows = run.contacts.filter(pc.equal(run.contacts["channel"].cast("string"), channel))
    sink = io.BytesIO()
    pacsv.write_csv(rows, sink)
    return sink.getvalue()


def test_more_calls_leave_chat_and_email_contacts_byte_identical(teams):
    base = simulate(load_scenario(teams))
    busier = simulate(load_scenario(teams, {"channels.call.volume_per_day": "2600"}))
    assert len(channel_csv(busier, "call")) > 1.2 * len(channel_csv(base, "call"))
    for channel in ("chat", "email"):
        assert channel_csv(busier, channel) == channel_csv(base, channel), channel
    # The chat and email teams' agent intervals are the same too.
    others = []
    for run in (base, busier):
        cells = run.agent_intervals.to_pandas()
        others.append(cells[~cells["agent"].astype(str).str.startswith("phones")]
                      .reset_index(drop=True))
    assert others[0].equals(others[1])


def test_longer_calls_leave_call_arrivals_and_patience_as_they_were(teams):
    base = simulate(load_scenario(teams))
    slower = simulate(load_scenario(teams, {"channels.call.aht_s.mean": "300"}))
    first = []
    for run in (base, slower):
        calls = run.contacts.filter(pc.equal(run.contacts["channel"].cast("string"), "call"))
        first.append(calls.filter(pc.equal(calls["contact_id"], calls["case_id"])))
    # Repeats depend on outcomes; first contacts' arrivals and customers are drawn up front.
    for column in ("arrived_s", "customer_id"):
        assert first[0][column].equals(first[1][column]), column


def test_an_event_on_one_day_leaves_the_other_days_arrivals_identical(teams):
    base = simulate(load_scenario(teams))
    event = load_scenario(teams, {"events": '[{ name = "campaign", start = 2026-01-06, '
                                            'multiplier = 1.6 }]'})
    campaign = simulate(event)
    for channel in ("call", "chat", "email"):
        days = []
        for run in (base, campaign):
            rows = run.contacts.filter(
                pc.equal(run.contacts["channel"].cast("string"), channel)).to_pandas()
            first = rows[rows["contact_id"] == rows["case_id"]]
            days.append({d: first[(first["arrived_s"] // DAY) == d][
                ["arrived_s", "customer_id"]].reset_index(drop=True) for d in (0, 1, 2)})
        before, after = days
        assert len(after[1]) > 1.4 * len(before[1])
        for day in (0, 2):
            assert after[day].equals(before[day]), (channel, day)


HOURS = """
[scenario]
days = 7
seed = 8
start = 2026-11-16

[channels.call]
volume_per_day = 1400
intraday = "flat"
intraday_by_weekday = { sun = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 3, 0, 0, 0, 0, 0, 0, 0, 0,
                               0, 0, 0, 0] }
hours = { mon = "08:00-12:00, 13:00-18:00", sat = "closed" }
aht_s = 60

[staffing]
agents = 5

[[events]]
name = "short day"
start = 2026-11-19
hours = "10:00-12:00"
multiplier = 0.5
"""


def test_opening_hours_weekday_shapes_and_events_place_the_day_volume(tmp_path):
    path = tmp_path / "hours.toml"
    path.write_text(HOURS)
    arrived = simulate(load_scenario(path)).contacts["arrived_s"].to_numpy()
    day, hour = arrived // DAY, arrived % DAY / 3600
    counts = np.bincount(day.astype(int), minlength=7)
    # Monday: open 08-12 and 13-18, flat shape: all 1400 in those 9 hours.
    monday = hour[day == 0]
    assert ((monday >= 8) & (monday < 18) & ~((monday >= 12) & (monday < 13))).all()
    assert counts[5] == 0                                # Saturday closed
    sunday = hour[day == 6]
    assert ((sunday >= 10) & (sunday < 12)).all()        # its own shape: 10-12 only
    assert np.mean(sunday >= 11) == pytest.approx(0.75, abs=0.05)  # 1 : 3
    thursday = hour[day == 3]
    assert ((thursday >= 10) & (thursday < 12)).all()    # the event's hours
    # Day volumes: 1400 (half on the event day), each count within its Poisson range.
    expected = np.array([1400, 1400, 1400, 700, 1400, 0, 1400])
    for count, mean in zip(counts, expected, strict=True):
        low, high = stats.poisson.ppf([0.0005, 0.9995], mean) if mean else (0, 0)
        assert low <= count <= high


FORECAST = """interval_start,channel,contacts,aht_s,queue
2026-01-05T09:00,call,400,120,sales
2026-01-05T09:30,call,400,,support
2026-01-05T10:00,call,0,,
2026-01-06 14:00:00,call,300,600,
"""

FORECAST_SCENARIO = """
[scenario]
days = 2
seed = 2

[forecast]
file = "forecast.csv"

[channels.call]
aht_s = { dist = "exponential", mean = 300 }
queues = { sales = 1, support = 1 }

[staffing]
agents = 30
"""


def forecast_scenario(tmp_path, forecast=FORECAST, scenario=FORECAST_SCENARIO):
    (tmp_path / "forecast.csv").write_text(forecast)
    path = tmp_path / "scenario.toml"
    path.write_text(scenario)
    return load_scenario(path)


def test_a_forecast_file_drives_volumes_handling_and_queues(tmp_path):
    scenario = forecast_scenario(tmp_path)
    assert scenario.forecast.interval_s == 1800  # the smallest step between starts
    contacts = simulate(scenario).contacts.to_pandas()
    minutes = contacts["arrived_s"] / 60
    sales = (minutes >= 540) & (minutes < 570)
    support = (minutes >= 570) & (minutes < 600)
    later = (minutes >= 1440 + 840) & (minutes < 1440 + 870)
    assert (sales | support | later).all()
    for rows, mean in ((sales, 400), (support, 400), (later, 300)):
        low, high = stats.poisson.ppf([0.0005, 0.9995], mean)
        assert low <= rows.sum() <= high
    assert (contacts.loc[sales, "queue"] == "sales").all()
    assert (contacts.loc[support, "queue"] == "support").all()
    assert set(contacts.loc[later, "queue"]) == {"sales", "support"}  # the channel's shares
    # Handling rescaled to the interval's aht_s; exponential: mean within 5 standard errors.
    for rows, mean in ((sales, 120), (support, 300), (later, 600)):
        handle = contacts.loc[rows, "handle_s"].dropna()
        assert abs(handle.mean() - mean) < 5 * mean / np.sqrt(len(handle))
    resolved = {"file": str((tmp_path / "forecast.csv").resolve()), "interval_min": 30}
    assert scenario.to_dict()["forecast"] == resolved
    shorthand = FORECAST_SCENARIO.replace('\n[forecast]\nfile = "forecast.csv"', "").replace(
        "seed = 2", 'seed = 2\nforecast = "forecast.csv"')
    assert forecast_scenario(tmp_path, scenario=shorthand).to_dict()["forecast"] == resolved


@pytest.mark.parametrize(("forecast", "message"), [
    ("interval_start,channel,contacts\n2026-01-05T09:00,sms,4\n",
     "forecast.csv: line 2, column channel: unknown channel 'sms'; the scenario has call"),
    ("interval_start,channel,contacts\n2026-01-05T09:00,call,many\n",
     "forecast.csv: line 2, column contacts: 'many' is not a number"),
    ("interval_start,channel,contacts\n2026-01-05T09:00,call,-3\n",
     "forecast.csv: line 2, column contacts: must be a number >= 0, got -3"),
    ("interval_start,channel,contacts\n09:00,call,3\n",
     "forecast.csv: line 2, column interval_start: '09:00' is not an ISO 8601 time"),
    ("interval_start,channel,contacts\n2026-01-05T09:00+01:00,call,3\n",
     "has a UTC offset; give local time without one"),
    ("interval_start,channel,volume\n2026-01-05T09:00,call,3\n",
     "forecast.csv: missing column 'contacts'"),
    ("interval_start,channel,contacts,queue\n2026-01-05T09:00,call,3,vip\n",
     "forecast.csv: line 2, column queue: channel 'call' has no queue 'vip'"),
    ("interval_start,channel,contacts,aht_s\n2026-01-05T09:00,call,3,0\n",
     "forecast.csv: line 2, column aht_s: must be a number > 0, got 0"),
    ("interval_start,channel,contacts\n2026-01-05T09:00,call,3\n2026-01-05T09:00,call,4\n",
     "forecast.csv: line 3 repeats line 2"),
    ("interval_start,channel,contacts\n2026-01-05T09:00,call,3\n",
     "one interval start only; give forecast.interval_min"),
])
def test_bad_forecasts_name_the_file_line_and_column(tmp_path, forecast, message):
    with pytest.raises(ScenarioError) as error:
        forecast_scenario(tmp_path, forecast)
    assert message in str(error.value)


def test_channels_without_a_forecast_keep_their_profiles(tmp_path):
    scenario = FORECAST_SCENARIO.replace("[staffing]", """[channels.chat]
volume_per_day = 500
aht_s = 300

[staffing]""")
    run = simulate(forecast_scenario(tmp_path, scenario=scenario))
    chat = run.contacts.filter(pc.equal(run.contacts["channel"].cast("string"), "chat"))
    low, high = stats.poisson.ppf([0.0005, 0.9995], 1000)
    assert low <= chat.num_rows <= high
    with pytest.raises(ScenarioError, match=r"channels\.chat\.volume_per_day: is required"):
        forecast_scenario(tmp_path, scenario=scenario.replace("volume_per_day = 500\n", ""))


def test_forecast_rows_follow_events_and_hours_and_ignore_other_columns(tmp_path):
    forecast = ("interval_start,channel,contacts,agents\n"
                "2026-01-05T09:00,call,800,30\n2026-01-05T10:00,call,800,30\n")
    scenario = FORECAST_SCENARIO.replace('file = "forecast.csv"',
                                         'file = "forecast.csv"\ninterval_min = 60')
    scenario = scenario.replace("queues = { sales = 1, support = 1 }",
                                'hours = "09:30-24:00"')
    scenario += ('\n[[events]]\nname = "outage"\nstart = 2026-01-05\nmultiplier = 0.5\n')
    arrived = simulate(forecast_scenario(tmp_path, forecast, scenario)).contacts[
        "arrived_s"].to_numpy()
    # 09:00 row: half its hour open, times the event's 0.5: 200; 10:00 row: 400.
    first = (arrived >= 9.5 * 3600) & (arrived < 10 * 3600)
    second = (arrived >= 10 * 3600) & (arrived < 11 * 3600)
    assert (first | second).all()
    for rows, mean in ((first, 200), (second, 400)):
        low, high = stats.poisson.ppf([0.0005, 0.9995], mean)
        assert low <= rows.sum() <= high


def test_forecast_patience_makes_a_patient_channel_abandon(tmp_path):
    forecast = ("interval_start,channel,contacts,patience_s\n"
                "2026-01-05T09:00,call,600,60\n2026-01-05T09:30,call,600,\n")
    scenario = FORECAST_SCENARIO.replace("agents = 30", "agents = 1")
    contacts = simulate(forecast_scenario(tmp_path, forecast, scenario)).contacts.to_pandas()
    first = contacts["arrived_s"] < 9.5 * 3600
    waited = (contacts["abandoned_s"] - contacts["arrived_s"])[first].dropna()
    # One agent for 600 calls: nearly all leave, after exponential patience of mean 60 s
    # (those answered first are the few that waited least).
    assert len(waited) > 0.9 * first.sum()
    assert abs(waited.mean() - 60) < 5 * 60 / np.sqrt(len(waited))
    # The next row gives no patience: the channel's own, infinite; nobody leaves.
    assert contacts.loc[~first, "abandoned_s"].isna().all()


def test_staffing_output_reads_as_a_forecast(tmp_path):
    need = staffing.requirements(pa.table({
        "interval_start": ["2026-01-05T09:00", "2026-01-05T09:30"],
        "channel": ["call", "call"], "contacts": [300.0, 500.0], "aht_s": [330.0, 330.0]}))
    (tmp_path / "forecast.csv").write_text(csv_text(need.to_arrow()))
    scenario = FORECAST_SCENARIO.replace("queues = { sales = 1, support = 1 }", "acw_s = 30")
    path = tmp_path / "scenario.toml"
    path.write_text(scenario)
    contacts = simulate(load_scenario(path)).contacts.to_pandas()
    minutes = contacts["arrived_s"] / 60
    for low, high, mean in ((540, 570, 300), (570, 600, 500)):
        rows = (minutes >= low) & (minutes < high)
        assert stats.poisson.ppf(0.0005, mean) <= rows.sum() <= stats.poisson.ppf(0.9995, mean)
    # aht_s includes the after-contact work: handling 300 s and 30 s of wrap-up.
    handle = contacts["handle_s"].dropna()
    assert abs(handle.mean() - 300) < 5 * 300 / np.sqrt(len(handle))
    assert (contacts["acw_s"].dropna() == 30).all()
    with pytest.raises(ScenarioError, match=r"line 2, column aht_s: 20 s is handling plus "
                                            r"after-contact work, so it must exceed"):
        forecast_scenario(tmp_path, "interval_start,channel,contacts,aht_s\n"
                                    "2026-01-05T09:00,call,3,20\n2026-01-05T09:30,call,3,\n",
                          scenario)
