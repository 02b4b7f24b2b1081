"""Business hours: first reply and resolution times counting only a calendar's open hours,
against hand-worked cases (weekends, public holidays, DST changes, in Berlin and Tokyo) and
a minute-by-minute count with zoneinfo, the same on every way of running."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

import kpiforge
from kpiforge import KPI, KpiforgeError, Measure, hookimpl
from kpiforge.cli import cli
from kpiforge.io.calendars import PRESETS, Calendar, calendar_from_dict, load_calendar
from kpiforge.plugin_manager import get_plugin_manager

DOCS = Path(__file__).resolve().parent.parent / "docs"
BERLIN = "Europe/Berlin"
HOUR = 3600.0
BUSINESS = ["first_response_time_business", "first_response_time_median_business",
            "first_response_time_p90_business", "time_to_resolution_business",
            "time_to_resolution_median_business", "time_to_resolution_p90_business"]


@pytest.fixture(scope="module")
def doc_calendar(tmp_path_factory) -> Path:
    """The calendar file of docs/business-hours.md, as the docs show it."""
    text = (DOCS / "business-hours.md").read_text()
    source = re.search(r"`helpdesk-berlin.toml`:\n\n```toml\n(.*?)```", text, re.S).group(1)
    path = tmp_path_factory.mktemp("calendar") / "helpdesk-berlin.toml"
    path.write_text(source)
    return path


def unix(text: str, zone: str = BERLIN) -> float:
    """Wall-clock time ``text`` in ``zone`` as Unix seconds (zoneinfo, not the code under
    test)."""
    return dt.datetime.fromisoformat(text).replace(tzinfo=ZoneInfo(zone)).timestamp()


# Hand-worked against the documented calendar: Berlin, weekdays 09:00-17:00, Fridays
# 09:00-12:00 and 13:00-17:00, DE + Berlin holidays, 24 and 31 December closed.
BERLIN_CASES = [
    # Friday 16:30 -> Monday 09:30: half an hour each side of the weekend.
    ("2024-03-22T16:30", "2024-03-25T09:30", 1 * HOUR),
    # Created on Saturday (closed): counting starts Monday 09:00.
    ("2024-03-23T10:00", "2024-03-25T10:15", 1.25 * HOUR),
    # Friday's lunch break is closed: 11:30-12:00 and 13:00-13:30.
    ("2024-03-22T11:30", "2024-03-22T13:30", 1 * HOUR),
    # Thursday 16:00 -> Tuesday 10:00 over Good Friday, the weekend of the spring DST
    # change (31 March) and Easter Monday: Thursday's last hour and Tuesday's first.
    ("2024-03-28T16:00", "2024-04-02T10:00", 2 * HOUR),
    # Women's Day (8 March, a Friday) is a Berlin holiday.
    ("2024-03-07T16:00", "2024-03-11T09:00", 1 * HOUR),
    # Within one morning.
    ("2024-03-26T10:00", "2024-03-26T10:20", 20 * 60.0),
    # Created and answered over the weekend: no business time.
    ("2024-03-23T10:00", "2024-03-24T18:00", 0.0),
    # 24 December (a listed date), Christmas Day and Boxing Day closed.
    ("2024-12-23T16:00", "2024-12-27T10:00", 2 * HOUR),
    # Friday 16:00 -> Monday 09:30 over the autumn change (27 October): 1 h + 0.5 h.
    ("2024-10-25T16:00", "2024-10-28T09:30", 1.5 * HOUR),
    # Created Monday 07:00 before opening, answered 17:30 after closing: the whole day.
    ("2024-03-25T07:00", "2024-03-25T17:30", 8 * HOUR),
]


def test_the_documented_calendar_loads(doc_calendar):
    calendar = load_calendar(doc_calendar)
    assert calendar.timezone == BERLIN
    assert calendar.hours[4] == ((9 * 3600, 12 * 3600), (13 * 3600, 17 * 3600))
    assert calendar.hours[5] == calendar.hours[6] == ()
    assert calendar.dates == (dt.date(2024, 12, 24), dt.date(2024, 12, 31))


@pytest.mark.parametrize(("created", "replied", "expected"), BERLIN_CASES)
def test_hand_worked_cases_in_berlin(doc_calendar, created, replied, expected):
    calendar = load_calendar(doc_calendar)
    seconds = calendar.open_seconds(np.array([unix(created)]), np.array([unix(replied)]),
                                    dt.datetime(1970, 1, 1))
    assert seconds.tolist() == [expected]


def tickets(cases, zone=BERLIN, resolved=True):
    """A ticket export of ``cases``: created and first reply as naive local ISO text."""
    created = [c for c, _, _ in cases]
    replied = [r for _, r, _ in cases]
    columns = {"arrived_s": np.array(created, dtype=object),
               "answered_s": np.array(replied, dtype=object),
               "channel": np.array(["email"] * len(cases), dtype=object)}
    if resolved:
        columns["resolved_s"] = columns["answered_s"]
    return columns


def test_first_reply_and_resolution_kpis_from_hand_worked_cases(doc_calendar):
    hand = np.array([e for _, _, e in BERLIN_CASES])
    data = tickets(BERLIN_CASES)
    data["answered_s"] = np.array([*data["answered_s"][:-1], ""], dtype=object)  # no reply
    result = kpiforge.compute({"contacts": data}, kpis=BUSINESS, tz=BERLIN,
                              calendar=doc_calendar)
    replied = hand[:-1]
    assert result["first_response_time_business"][0] == pytest.approx(replied.mean())
    assert result["first_response_time_median_business"][0] == np.median(replied)
    assert result["first_response_time_p90_business"][0] == pytest.approx(
        np.quantile(replied, 0.9))
    assert result["time_to_resolution_business"][0] == pytest.approx(hand.mean())
    assert result["time_to_resolution_median_business"][0] == np.median(hand)


def test_tokyo_golden_week_with_japanese_holidays():
    """Weekdays 09:00-18:00 in Tokyo with JP holidays: Thursday 2 May 17:00 -> Tuesday
    7 May 09:30 skips Constitution Day (Fri 3), the weekend and the substitute holiday
    (Mon 6): 1 h + 0.5 h. The calendar names no zone, so it runs in the run's."""
    calendar = calendar_from_dict({
        "hours": {day: "09:00-18:00"
                  for day in ("monday", "tuesday", "wednesday", "thursday", "friday")},
        "holidays": {"country": "JP"}})
    cases = [("2024-05-02T17:00", "2024-05-07T09:30", 1.5 * HOUR),
             ("2024-04-26T17:30", "2024-04-30T09:15", 0.75 * HOUR)]  # Showa Day, Mon 29
    result = kpiforge.compute({"contacts": tickets(cases, resolved=False)},
                              kpis=["first_response_time_business", "first_response_time"],
                              tz="Asia/Tokyo", calendar=calendar)
    assert result["first_response_time_business"][0] == pytest.approx(1.125 * HOUR)
    calendar_time = np.mean([unix(r, "Asia/Tokyo") - unix(c, "Asia/Tokyo")
                             for c, r, _ in cases])
    assert result["first_response_time"][0] == pytest.approx(calendar_time)


def test_24x7_is_calendar_time_across_dst():
    cases = [("2024-03-30T22:00", "2024-03-31T04:00", 5 * HOUR),  # spring: 02:00 skipped
             ("2024-10-26T22:00", "2024-10-27T04:00", 7 * HOUR)]  # autumn: 02:00 twice
    result = kpiforge.compute({"contacts": tickets(cases)}, tz=BERLIN, calendar="24x7",
                              kpis=["first_response_time_business", "first_response_time"])
    assert result["first_response_time_business"][0] == 6 * HOUR
    assert result["first_response_time"][0] == 6 * HOUR


def test_a_reply_before_creation_is_a_bad_row_as_in_calendar_time(doc_calendar):
    cases = [*BERLIN_CASES[:2], ("2024-03-26T10:00", "2024-03-26T09:00", 0.0)]
    with pytest.raises(KpiforgeError, match="answered_s"):
        kpiforge.compute({"contacts": tickets(cases)}, tz=BERLIN, calendar=doc_calendar,
                         kpis=["first_response_time_business"])
    numbers = {"arrived_s": np.array([unix(c) for c, _, _ in cases]),
               "answered_s": np.array([unix(r) for _, r, _ in cases])}
    result = kpiforge.compute({"contacts": numbers}, calendar=doc_calendar,
                              kpis=["first_response_time_business"], on_bad_rows="skip")
    assert result["first_response_time_business"][0] == pytest.approx(1.125 * HOUR)


def test_without_a_calendar_they_are_left_out_and_asking_is_an_error():
    data = {"contacts": tickets(BERLIN_CASES)}
    result = kpiforge.compute(data, tz=BERLIN)
    for kpi in BUSINESS:
        assert result.skipped[kpi] == "needs a business-hours calendar (--calendar)"
    assert "first_response_time" in result.values
    with pytest.raises(KpiforgeError, match=r"calendar=.*--calendar"):
        kpiforge.compute(data, kpis=["first_response_time_business"])


def test_presets_and_the_python_forms_agree(doc_calendar):
    data = {"contacts": tickets(BERLIN_CASES[:3])}
    by_name = kpiforge.compute(data, kpis=BUSINESS[:1], tz=BERLIN, calendar="weekdays-9-17")
    by_value = kpiforge.compute(data, kpis=BUSINESS[:1], tz=BERLIN, calendar=kpiforge.Calendar(
        (((9 * 3600, 17 * 3600),),) * 5 + ((), ())))
    assert kpiforge.Calendar((((9 * 3600, 17 * 3600),),) * 5 + ((), ())) == \
        PRESETS["weekdays-9-17"]
    # weekdays-9-17 has no lunch break: Friday 11:30-13:30 is 2 h.
    assert by_name["first_response_time_business"][0] == pytest.approx(
        (1 * HOUR + 1.25 * HOUR + 2 * HOUR) / 3)
    assert by_value["first_response_time_business"][0] == \
        by_name["first_response_time_business"][0]
    as_dict = kpiforge.compute(data, kpis=BUSINESS[:1], tz=BERLIN, calendar={
        "timezone": BERLIN, "hours": {"friday": ["09:00-12:00", "13:00-17:00"],
                                      **{d: "09:00-17:00" for d in ("monday", "tuesday")}}})
    assert as_dict["first_response_time_business"][0] == pytest.approx(
        (1 * HOUR + 1.25 * HOUR + 1 * HOUR) / 3)


# A calendar that exercises the edges: several spans a day, spans across the DST hours on
# Sundays, a whole day, a holiday by country and one by date.
ODD = {"timezone": BERLIN,
       "hours": {"monday": ["08:00-12:00", "13:00-18:30"], "tuesday": "00:00-24:00",
                 "thursday": ["06:15-06:45", "23:00-24:00"], "friday": "09:00-17:00",
                 "saturday": "10:00-14:00", "sunday": ["01:00-04:00", "22:00-23:00"]},
       "holidays": {"country": "DE", "dates": ["2024-04-04", "2024-10-29"]}}
MINUTE = 60


def _open_minutes(first: str, days: int, spec) -> tuple[float, np.ndarray]:
    """Minute by minute from ``first`` (local midnight) for ``days`` days: whether the
    calendar is open in each minute, read with zoneinfo's local time of the minute."""
    import holidays

    zone = ZoneInfo(spec["timezone"])
    start = unix(first)
    closed = set(holidays.country_holidays("DE", years=[2024])) | {
        dt.date.fromisoformat(d) for d in spec["holidays"]["dates"]}
    names = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]
    hours = {}
    for number, name in enumerate(names):
        value = spec["hours"].get(name, [])
        hours[number] = [tuple(int(p[:2]) * 60 + int(p[3:]) for p in span.split("-"))
                         for span in ([value] if isinstance(value, str) else value)]
    flags = []
    for minute in range(int(days * 86400 / MINUTE)):
        local = dt.datetime.fromtimestamp(start + minute * MINUTE, zone)
        of_day = local.hour * 60 + local.minute
        flags.append(local.date() not in closed and
                     any(a <= of_day < b for a, b in hours[local.weekday()]))
    return start, np.array(flags)


@pytest.fixture(scope="module", params=["2024-03-25", "2024-10-21"])
def minutes(request):
    """Two weeks over a DST change and holidays (Easter; the autumn change)."""
    return _open_minutes(request.param, 15, ODD)


@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_against_a_minute_by_minute_count(minutes, data):
    start, flags = minutes
    calendar = calendar_from_dict(ODD)
    pairs = data.draw(st.lists(st.tuples(st.integers(0, len(flags)),
                                         st.integers(0, len(flags))), min_size=1,
                               max_size=20))
    a = np.array([p[0] for p in pairs])
    b = np.array([p[1] for p in pairs])
    counted = np.cumsum(np.concatenate([[0], flags]))
    expected = (counted[b] - counted[a]) * MINUTE  # negative when b is earlier
    epoch = dt.datetime(2024, 1, 1)  # seconds from another epoch than Unix time's
    offset = (epoch - dt.datetime(1970, 1, 1)).total_seconds()
    got = calendar.open_seconds(start + a * MINUTE - offset, start + b * MINUTE - offset,
                                epoch)
    np.testing.assert_array_equal(got, expected)


def random_tickets(rows: int, seed: int) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    arrived = unix("2024-03-01T00:00") + rng.uniform(0, 80 * 86400, rows)
    answered = arrived + rng.exponential(30 * 3600, rows)
    resolved = answered + rng.exponential(72 * 3600, rows)
    answered[rng.random(rows) < 0.1] = np.nan
    resolved[rng.random(rows) < 0.3] = np.nan
    resolved = np.where(np.isnan(answered), np.nan, resolved)
    return {"arrived_s": arrived, "answered_s": answered, "resolved_s": resolved,
            "channel": rng.choice(["email", "chat", "web"], rows).astype(object)}


MEANS = ["first_response_time_business", "time_to_resolution_business"]


@pytest.fixture(scope="module")
def ticket_file(tmp_path_factory) -> Path:
    import pyarrow as pa
    import pyarrow.parquet as pq

    path = tmp_path_factory.mktemp("tickets") / "contacts.parquet"
    pq.write_table(pa.table(random_tickets(3000, 7)), path)
    return path


@pytest.fixture(scope="module")
def whole(ticket_file):
    return kpiforge.compute(ticket_file, kpis=BUSINESS, by=["channel"], grain="1w",
                            tz=BERLIN, calendar=calendar_from_dict(ODD))


def assert_agree(result, whole, exact_quantiles: bool):
    assert result.keys["channel"].tolist() == whole.keys["channel"].tolist()
    for kpi in BUSINESS:
        if kpi in MEANS or exact_quantiles:
            np.testing.assert_allclose(result[kpi], whole[kpi], rtol=1e-12, err_msg=kpi)
        else:  # the one-pass sketch: within 0.5 %
            np.testing.assert_allclose(result[kpi], whole[kpi], rtol=0.006, err_msg=kpi)


@pytest.mark.parametrize(("options", "exact"), [({"chunk_rows": 250}, True),
                                                ({"workers": 2, "chunk_rows": 700}, False)])
def test_chunks_and_workers_agree(ticket_file, whole, options, exact):
    result = kpiforge.compute(ticket_file, kpis=BUSINESS, by=["channel"], grain="1w",
                              tz=BERLIN, calendar=calendar_from_dict(ODD), **options)
    assert_agree(result, whole, exact)


def test_totals_with_a_calendar_equal_the_run_without_groups(ticket_file):
    calendar = calendar_from_dict(ODD)
    grouped = kpiforge.compute(ticket_file, kpis=BUSINESS, by=["channel"], tz=BERLIN,
                               calendar=calendar, totals=True)
    overall = kpiforge.compute(ticket_file, kpis=BUSINESS, tz=BERLIN, calendar=calendar)
    total = grouped.totalled("channel")
    assert total.sum() == 1
    for kpi in BUSINESS:
        assert grouped[kpi][total].tolist() == overall[kpi].tolist(), kpi


def test_dask_agrees(ticket_file, whole):
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster, \
            distributed.Client(cluster) as client:
        result = kpiforge.compute(ticket_file, kpis=BUSINESS, by=["channel"], grain="1w",
                                  tz=BERLIN, calendar=calendar_from_dict(ODD),
                                  scheduler=client)
    assert_agree(result, whole, False)


def test_business_s_in_a_plugin_measure():
    class Plugin:
        @hookimpl
        def kpiforge_register_measures(self):
            return [Measure("business_answered_sum", "contacts", "sum",
                            value="business_s(arrived_s, answered_s)")]

        @hookimpl
        def kpiforge_register_kpis(self):
            return [KPI("open_hours_waited", "business_answered_sum / 3600", unit="h",
                        direction="lower")]

    manager = get_plugin_manager()
    manager.register(Plugin(), name="waits")
    registry = kpiforge.Registry.from_plugin_manager(manager)
    data = {"contacts": tickets(BERLIN_CASES[:2])}
    result = kpiforge.compute(data, kpis=["open_hours_waited"], tz=BERLIN,
                              calendar="weekdays-9-17", registry=registry)
    assert result["open_hours_waited"][0] == pytest.approx(2.25)
    assert kpiforge.compute(data, tz=BERLIN, registry=registry).skipped[
        "open_hours_waited"] == "needs a business-hours calendar (--calendar)"
    with pytest.raises(KpiforgeError, match="reads rows; call it in a measure"):
        KPI("bad", "business_s(offered, answered)")


def write(tmp_path, text: str) -> Path:
    path = tmp_path / "hours.toml"
    path.write_text(text)
    return path


@pytest.mark.parametrize(("text", "message"), [
    ('[hours]\nfunday = "09:00-17:00"\n',
     r"hours.toml, key hours.funday: not a weekday .*; use monday"),
    ('[hours]\nmonday = "17:00-09:00"\n', r"key hours.monday: '17:00-09:00' ends before it"),
    ('[hours]\nmonday = "9-17"\n', r"key hours.monday: '9-17' is not a span"),
    ('[hours]\nmonday = ["13:00-17:00", "09:00-12:00"]\n', r"key hours.monday: .*in order"),
    ('timezone = "Mars/Olympus"\n[hours]\nmonday = "09:00-17:00"\n',
     r"key timezone: unknown time zone 'Mars/Olympus'"),
    ('[hours]\nmonday = "09:00-17:00"\n[holidays]\ncountry = "XX"\n',
     r"key holidays.country: the holidays package does not know country 'XX'"),
    ('[hours]\nmonday = "09:00-17:00"\n[holidays]\ncountry = "DE"\nsubdivision = "ZZ"\n',
     r"key holidays.subdivision: .*subdivision 'ZZ' of 'DE'"),
    ('[hours]\nmonday = "09:00-17:00"\n[holidays]\ndates = ["24 Dec"]\n',
     r"key holidays.dates: '24 Dec' is not a date"),
    ('zone = "UTC"\n[hours]\nmonday = "09:00-17:00"\n', r"key zone: not a calendar key"),
    ('[hours]\n', r"\[hours\] must give"),
    ('[hours]\nsunday = []\n', r"opens on no day"),
    ('[hours\n', r"not a valid TOML calendar file"),
])
def test_calendar_file_errors_name_the_file_and_key(tmp_path, text, message):
    path = write(tmp_path, text)
    with pytest.raises(KpiforgeError, match=message):
        load_calendar(path)
    out = CliRunner().invoke(cli, ["compute", str(write_contacts(tmp_path)), "--calendar",
                                   str(path)])
    assert out.exit_code == 1
    assert out.output.startswith("Error: ") and out.output.count("\n") == 1, out.output
    assert "Traceback" not in out.output


def write_contacts(tmp_path) -> Path:
    path = tmp_path / "tickets.csv"
    path.write_text("arrived_s,answered_s,resolved_s\n"
                    "2024-03-22T16:30:00,2024-03-25T09:30:00,2024-03-26T09:00:00\n"
                    "2024-03-23T10:00:00,2024-03-25T10:15:00,\n")
    return path


def test_cli_calendar_file_and_preset(tmp_path, doc_calendar):
    csv = write_contacts(tmp_path)
    runner = CliRunner()
    out = runner.invoke(cli, ["compute", str(csv), "--tz", BERLIN, "--calendar",
                              str(doc_calendar), "--kpi",
                              "first_response_time_business,time_to_resolution_business",
                              "--format", "csv"])
    assert out.exit_code == 0, out.output
    # (1 h + 1.25 h) / 2; resolution Friday 16:30 -> Tuesday 09:00: 0.5 h + 8 h + 0 h
    assert out.output.splitlines()[1] == "4050,30600"
    out = runner.invoke(cli, ["compute", str(csv), "--calendar", "weekdays-9-18"])
    assert out.exit_code == 1
    assert "neither a file nor a preset" in out.output and "weekdays-9-17" in out.output
    out = runner.invoke(cli, ["compute", str(csv), "--kpi", "first_response_time_business"])
    assert out.exit_code == 1 and "--calendar" in out.output


def test_calendar_values_are_checked():
    with pytest.raises(KpiforgeError, match="spans must lie"):
        Calendar(((( 9 * 3600, 8 * 3600),),) + ((),) * 6)
    with pytest.raises(KpiforgeError, match="neither a file nor a preset"):
        kpiforge.compute({"contacts": tickets(BERLIN_CASES)}, calendar="no-such")


def test_report_takes_a_calendar(tmp_path, report_data):
    contacts, _ = report_data
    out = tmp_path / "report.html"
    runner = CliRunner()
    result = runner.invoke(cli, ["report", str(contacts), "--kpi",
                                 "first_response_time_business", "--out", str(out)])
    assert result.exit_code == 1 and "--calendar" in result.output
    result = runner.invoke(cli, ["report", str(contacts), "--kpi",
                                 "first_response_time_business", "--calendar", "24x7",
                                 "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "first_response_time_business" in out.read_text()
