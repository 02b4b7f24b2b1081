"""Business-hours first reply and resolution times against the calendar-time KPIs, in memory
and streamed, on the same rows: the cost of ``business_s`` (a table of open spans and a
binary search per time) as a ratio to the calendar-time run."""

from __future__ import annotations

import pytest
from test_engine_speed import BY
from test_time_zone_speed import best_of

import kpiforge
from kpiforge.io.calendars import calendar_from_dict

CALENDAR = calendar_from_dict({
    "timezone": "Europe/Berlin",
    "hours": {"monday": "09:00-17:00", "tuesday": "09:00-17:00", "wednesday": "09:00-17:00",
              "thursday": "09:00-17:00", "friday": ["09:00-12:00", "13:00-17:00"]},
    "holidays": {"country": "DE", "subdivision": "BE"}})
KINDS = {"mean": ["first_response_time", "time_to_resolution"],
         "median": ["first_response_time_median", "time_to_resolution_median"]}


@pytest.mark.parametrize("kind", list(KINDS))
@pytest.mark.parametrize("chunk_rows", [None, 250_000])
def test_business_against_calendar_time(benchmark, contacts_table, kind, chunk_rows):
    def run(kpis, calendar):
        return lambda: kpiforge.compute({"contacts": contacts_table}, kpis=kpis, by=BY,
                                        grain="1d", calendar=calendar, chunk_rows=chunk_rows)

    calendar_time = best_of(2, run(KINDS[kind], None))
    business = benchmark.pedantic(
        best_of, args=(2, run([f"{k}_business" for k in KINDS[kind]], CALENDAR)), rounds=1,
        iterations=1)
    benchmark.extra_info.update(calendar_time_s=calendar_time, business_s=business,
                                ratio=business / calendar_time)
