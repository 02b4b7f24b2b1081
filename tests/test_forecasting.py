"""``kpiforge forecast``: on history with a known profile the forecast recovers it, beats
seasonal naive in the back-test, and writes a file that staffing and scenarios read."""

from __future__ import annotations

import datetime as dt
import json

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from kpiforge.cli import cli
from kpiforge.simulations import load_scenario, simulate
from kpiforge.simulations.forecasting import _errors, forecast_history, parse_horizon

pytest.importorskip("statsmodels")

WEEKDAY = [1.3, 1.1, 1.0, 1.0, 0.9, 0.5, 0.2]
HISTORY = f"""
[scenario]
name = "history"
days = 42
seed = 5
start = 2026-03-02

[channels.call]
volume_per_day = 800
intraday = "office"
weekday = {WEEKDAY}
aht_s = {{ dist = "exponential", mean = 240 }}
patience_s = {{ dist = "exponential", mean = 200 }}

[staffing]
agents = 30
"""


def run(*args):
    return CliRunner().invoke(cli, [str(a) for a in args])


@pytest.fixture(scope="module")
def history(tmp_path_factory):
    """Six weeks of simulated calls: 800 a day on average, shaped by WEEKDAY and the
    office intraday profile (the known profile)."""
    folder = tmp_path_factory.mktemp("history")
    (folder / "history.toml").write_text(HISTORY)
    simulate(load_scenario(folder / "history.toml")).write(folder / "run")
    return folder


@pytest.fixture(scope="module")
def forecast(history):
    out, report = history / "forecast.csv", history / "backtest.json"
    result = run("forecast", history / "run", "--horizon", "2w", "--backtest", 2, "--out",
                 out, "--report", report)
    assert result.exit_code == 0, result.output
    return out, json.loads(report.read_text()), result.output


def test_backtest_beats_seasonal_naive(forecast):
    _, [row], printed = forecast
    assert row["channel"] == "call" and row["weeks"] == 2 and row["intervals"] == 14 * 48
    assert row["wape"] < row["naive_wape"] and row["mape"] < row["naive_mape"]
    assert row["aht_wape"] < row["naive_aht_wape"] and row["beats_naive"] is True
    assert "Back-test" in printed and "beats naive" in printed


def test_forecast_recovers_the_known_profile(forecast):
    path, _, _ = forecast
    frame = pd.read_csv(path, parse_dates=["interval_start"])
    assert list(frame.columns) == ["interval_start", "channel", "contacts", "aht_s"]
    assert frame["interval_start"].iloc[0] == pd.Timestamp("2026-04-13")  # the next Monday
    assert len(frame) == 14 * 48
    daily = frame.groupby(frame["interval_start"].dt.date)["contacts"].sum().to_numpy()
    truth = 800 * np.array(WEEKDAY) / np.mean(WEEKDAY)
    # Each day within 15 % (a Sunday's 187 calls vary by 7 % from week to week), the two
    # weeks within 3 %.
    assert daily == pytest.approx(np.tile(truth, 2), rel=0.15)
    assert daily.sum() == pytest.approx(2 * truth.sum(), rel=0.03)
    # office hours: nothing before 06:00 or from 20:00
    hours = frame["interval_start"].dt.hour
    assert frame.loc[(hours < 6) | (hours >= 20), "contacts"].sum() == 0
    busy = frame["contacts"] > 1
    assert frame.loc[busy, "aht_s"].mean() == pytest.approx(240, rel=0.1)


def test_per_queue_forecasts_name_the_queue(history):
    result = run("forecast", history / "run", "--horizon", "1w", "--backtest", 0, "--by",
                 "channel,queue", "--format", "json")
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    assert list(rows[0]) == ["interval_start", "channel", "queue", "contacts", "aht_s"]
    assert {(r["channel"], r["queue"]) for r in rows} == {("call", "call")}
    assert rows[0]["interval_start"] == "2026-04-13T00:00:00" and len(rows) == 7 * 48


def test_staffing_and_scenarios_read_the_forecast(forecast, tmp_path):
    path, _, _ = forecast
    staffed = run("staff", path, "--format", "json")
    assert staffed.exit_code == 0, staffed.output
    assert max(r["agents"] for r in json.loads(staffed.stdout)) > 5
    scenario = tmp_path / "next.toml"
    scenario.write_text(f"""
[scenario]
days = 7
seed = 1
start = 2026-04-13
forecast = "{path}"

[channels.call]
aht_s = {{ dist = "exponential", mean = 240 }}

[staffing]
agents = 30
""")
    frame = pd.read_csv(path)
    offered = simulate(load_scenario(scenario)).contacts.num_rows
    assert offered == pytest.approx(frame["contacts"].iloc[:7 * 48].sum(), rel=0.05)


def synthetic(days: int, end: dt.date, special: dict[dt.date, float]) -> pd.DataFrame:
    """Hourly calls (compute output shape) from the known profile :func:`daily_truth`,
    09:00-17:00 flat; ``special`` days scaled."""
    rng = np.random.default_rng(3)
    dates = [end - dt.timedelta(days=days - 1 - d) for d in range(days)]
    rows = []
    for date in dates:
        expected = daily_truth(date) * special.get(date, 1.0)
        counts = rng.poisson(expected / 8, 8)
        rows += [(dt.datetime.combine(date, dt.time(9 + h)), "call", float(n), 300.0)
                 for h, n in enumerate(counts)]
    return pd.DataFrame(rows, columns=["interval_start", "channel", "offered", "aht"])


def daily_truth(date: dt.date) -> float:
    """The known profile: the weekday's share, rising through December to 1.62 times."""
    december = 1 + 0.02 * date.day if date.month == 12 else 1.0
    return 400 * WEEKDAY[date.weekday()] / np.mean(WEEKDAY) * december


def test_yearly_seasonality_and_holidays_forecast_december():
    end = dt.date(2025, 11, 30)
    holidays = {dt.date(2023, 12, 25): 0.1, dt.date(2024, 12, 25): 0.1,
                dt.date(2024, 11, 28): 0.1, dt.date(2025, 11, 27): 0.1,
                dt.date(2024, 7, 4): 0.1, dt.date(2025, 7, 4): 0.1}
    history = synthetic(3 * 365, end, holidays)
    result = forecast_history(history, "5w", "1h", country="US", backtest=0)
    [series] = result.series
    days = series.forecast_days.astype(dt.date).tolist()
    predicted = dict(zip(days, series.forecast_daily, strict=True))
    christmas = predicted.pop(dt.date(2025, 12, 25))
    truth = np.array([daily_truth(d) for d in predicted])
    forecast = np.array(list(predicted.values()))
    assert np.mean(np.abs(forecast - truth) / truth) < 0.08
    # Seasonal naive (the last week of November, repeated) misses the December wave.
    last_week = history.groupby(history["interval_start"].dt.date)["offered"].sum() \
        .to_numpy()[-7:]
    naive = np.array([last_week[((d - end).days - 1) % 7] for d in predicted])
    assert np.mean(np.abs(naive - truth) / truth) > 2 * np.mean(np.abs(forecast - truth)
                                                                / truth)
    assert christmas < 0.3 * daily_truth(dt.date(2025, 12, 25))


def test_a_scenarios_events_are_special_days(tmp_path):
    sales = [dt.date(2026, 1, 14) + dt.timedelta(days=14 * k) for k in range(5)]
    history = synthetic(63, dt.date(2026, 3, 8), dict.fromkeys(sales[:4], 2.0))
    calendar = tmp_path / "calendar.toml"
    calendar.write_text("[scenario]\ndays = 1\nseed = 1\n[channels.call]\naht_s = 300\n"
                        "volume_per_day = 1\n[staffing]\nagents = 1\n" + "".join(
                            f'[[events]]\nname = "sale"\nstart = {d}\n' for d in sales))
    with_calendar = forecast_history(history, "2w", "1h", calendar=calendar, backtest=0)
    without = forecast_history(history, "2w", "1h", backtest=0)
    sale, plain = sales[4], sales[4] + dt.timedelta(days=7)  # two Wednesdays

    def on(result, day):
        series = result.series[0]
        return float(series.forecast_daily[series.forecast_days == np.datetime64(day)][0])

    # With the calendar the sale doubles its day and leaves the next Wednesday alone;
    # without it, every other Wednesday's sale is smeared over all Wednesdays.
    assert on(with_calendar, sale) == pytest.approx(2 * daily_truth(sale), rel=0.15)
    assert on(with_calendar, plain) == pytest.approx(daily_truth(plain), rel=0.15)
    assert 1.2 * daily_truth(plain) < on(without, sale) < 1.8 * daily_truth(plain)
    assert 1.2 * daily_truth(plain) < on(without, plain) < 1.8 * daily_truth(plain)


def test_errors_by_hand():
    forecast = np.array([[12.0, 0.0, 5.0], [8.0, 2.0, 0.0]])
    actual = np.array([[10.0, 0.0, 4.0], [10.0, 0.0, 0.0]])
    aht_f = np.full((2, 3), 300.0)
    aht_a = np.array([[250.0, np.nan, 300.0], [330.0, np.nan, np.nan]])
    mape, wape, aht_wape = _errors(forecast, aht_f, actual, aht_a)
    assert mape == pytest.approx((0.2 + 0.25 + 0.2) / 3)  # intervals with contacts
    assert wape == pytest.approx((2 + 0 + 1 + 2 + 2 + 0) / 24)
    assert aht_wape == pytest.approx((10 * 50 + 4 * 0 + 10 * 30) / (10 * 250 + 4 * 300
                                                                   + 10 * 330))


@pytest.mark.parametrize(("args", "message"), [
    (["--horizon", "soon"], "--horizon: expected weeks or days such as 13w or 91d"),
    (["--backtest", 6], "call: 42 days of history; a forecast needs at least 21 plus the 6 "
                        "weeks --backtest holds out"),
    (["--country", "XX"], "--country XX: the holidays package has no such country"),
    (["--by", "agent"], "--by: forecast per channel or per channel,queue"),
    (["--report", "r.txt"], "the report is written as .csv or .json"),
])
def test_bad_options_are_one_line_errors(history, tmp_path, args, message):
    out = tmp_path / "f.csv"
    result = run("forecast", history / "run", *args, "--out", out)
    assert result.exit_code == 1 and message in result.output
    assert "Traceback" not in result.output and not out.exists()


def test_horizons():
    assert parse_horizon("13w") == 91 and parse_horizon("10d") == 10 and parse_horizon(3) == 3
