"""Snapshot measures: backlog, untouched and open email age at the end of each interval.

The day-by-day case is worked out by hand below; a brute force over random contacts (each
interval's end checked against every row, the definition read literally) checks the running
sums and the intervals filled in between."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import kpiforge

NAN = np.nan
D = 86_400.0
#: #1 email: arrives day 0.0, resolved day 2.5 (never answered).
#: #2 email: arrives day 0.5, answered day 1.5, never resolved.
#: #3 call:  arrives day 1.2, answered day 1.3 (a live contact: ended when answered).
#: #4 email: arrives day 3.5, still waiting.
CONTACTS = {
    "channel": np.array(["email", "email", "call", "email"], dtype=object),
    "arrived_s": np.array([0.0, 0.5 * D, 1.2 * D, 3.5 * D]),
    "answered_s": np.array([NAN, 1.5 * D, 1.3 * D, NAN]),
    "abandoned_s": np.full(4, NAN),
    "resolved_s": np.array([2.5 * D, NAN, NAN, NAN]),
}
KPIS = ["offered", "backlog", "untouched", "open_email_age", "answer_rate"]
DAILY = [  # (day, offered, backlog, untouched, open email age, answer rate)
    # end of day 0: #1 and #2 open, neither answered yet; ages 1.0 and 0.5 days. The answer
    # rate follows arrivals: #2, answered on day 1, counts on day 0.
    ("1970-01-01T00:00:00", 2, 2, 2, (1.0 + 0.5) / 2 * D, 1 / 2),
    # end of day 1: #1 (resolved only at 2.5) and #2 (answered at 1.5, an email: open);
    # #3 ended on day 1. Untouched: #1. Ages 2.0 and 1.5 days.
    ("1970-01-02T00:00:00", 1, 2, 1, (2.0 + 1.5) / 2 * D, 1.0),
    # end of day 2: #1 resolved at 2.5, not open; #2 open, age 2.5 days. Nothing arrived:
    # the row exists all the same, offered 0 and the answer rate undefined.
    ("1970-01-03T00:00:00", 0, 1, 0, 2.5 * D, None),
    # end of day 3: #2 (age 3.5) and #4 (age 0.5), #4 untouched
    ("1970-01-04T00:00:00", 1, 2, 1, (3.5 + 0.5) / 2 * D, 0.0),
]


def daily(result):
    return [tuple(r[k] for k in ["interval_start", *KPIS]) for r in result.to_records()]


def test_a_day_by_day_snapshot_worked_by_hand():
    result = kpiforge.compute({"contacts": CONTACTS}, kpis=KPIS, grain="1d")
    assert daily(result) == DAILY


@pytest.mark.parametrize("options", [
    {"chunk_rows": 1}, {"chunk_rows": 3}, {"chunk_rows": 2, "workers": 2}])
def test_every_way_of_running_gives_the_same_snapshots(options):
    result = kpiforge.compute({"contacts": CONTACTS}, kpis=KPIS, grain="1d", **options)
    assert daily(result) == DAILY


def test_without_a_grain_the_snapshot_is_at_the_end_of_the_data():
    # The latest time the rows record is #4's arrival, day 3.5; #1 resolved at 2.5 and #3
    # answered at 1.3 have ended. Open: #2 (age 3.0 days) and #4 (age 0).
    result = kpiforge.compute({"contacts": CONTACTS}, kpis=KPIS)
    assert result.to_records()[0] == pytest.approx(
        {"offered": 4, "backlog": 2, "untouched": 1, "open_email_age": (3.0 + 0.0) / 2 * D,
         "answer_rate": 2 / 4})


def test_each_combination_gets_every_interval_from_its_first_to_its_last():
    result = kpiforge.compute({"contacts": CONTACTS}, kpis=["offered", "backlog"],
                              by=["channel"], grain="1d")
    assert [(r["channel"], r["interval_start"][:10], r["offered"], r["backlog"])
            for r in result.to_records()] == [
        ("call", "1970-01-02", 1, 0),  # the call's only day: it ended when answered
        ("email", "1970-01-01", 2, 2),
        ("email", "1970-01-02", 0, 2),  # no email arrived on day 1: still a row
        ("email", "1970-01-03", 0, 1),
        ("email", "1970-01-04", 1, 2),
    ]


def test_totals_of_snapshots_are_snapshots_of_every_row():
    result = kpiforge.compute({"contacts": CONTACTS}, kpis=["backlog"], by=["channel"],
                              grain="1d", totals=True)
    totals = [r["backlog"] for r in result.to_records() if r["grouping_id"] == 1]
    assert totals == [2, 2, 1, 2]


def brute_force(frame: pd.DataFrame, ends: np.ndarray) -> pd.DataFrame:
    """Per channel and day from its first to its last: rows with ``arrived < end`` and not
    ended (``ended >= end`` or none), the definition read row by row."""
    rows = []
    for channel, part in frame.groupby("channel"):
        days = np.floor(np.concatenate([part.arrived_s, part.ended.dropna()]) / D)
        for day in range(int(days.min()), int(days.max()) + 1):
            end = (day + 1) * D
            open_ = (part.arrived_s < end) & ~(part.ended < end)
            rows.append((channel, day * D, float(open_.sum())))
    return pd.DataFrame(rows, columns=["channel", "start", "backlog"])


def test_backlog_against_a_brute_force_over_random_contacts():
    rng = np.random.default_rng(11)
    n = 3_000
    channel = rng.choice(["call", "chat", "email"], n)
    arrived = rng.uniform(0, 20 * D, n)
    answered = np.where(rng.random(n) < 0.7, arrived + rng.exponential(D / 2, n), NAN)
    abandoned = np.where(np.isnan(answered) & (rng.random(n) < 0.3),
                         arrived + rng.exponential(600, n), NAN)
    resolved = np.where(rng.random(n) < 0.6, np.fmax(arrived, np.nan_to_num(answered))
                        + rng.exponential(2 * D, n), NAN)
    live = np.isin(channel, ["call", "chat"])
    ended = np.where(~np.isnan(resolved), resolved,
                     np.where(~np.isnan(abandoned), abandoned,
                              np.where(live, answered, NAN)))
    frame = pd.DataFrame({"channel": channel, "arrived_s": arrived, "ended": ended})
    expected = brute_force(frame, np.arange(21) * D)
    data = {"contacts": {"channel": channel, "arrived_s": arrived, "answered_s": answered,
                         "abandoned_s": abandoned, "resolved_s": resolved}}
    for options in ({}, {"chunk_rows": 700}):
        result = kpiforge.compute(data, kpis=["backlog"], by=["channel"], grain="1d",
                                  **options)
        assert result.keys["channel"].tolist() == expected.channel.tolist()
        np.testing.assert_array_equal(result.keys["interval_start"], expected.start)
        np.testing.assert_array_equal(result["backlog"], expected.backlog)


def test_no_contacts_no_snapshot_rows():
    empty = {name: np.zeros(0) for name in ("arrived_s", "answered_s", "abandoned_s",
                                            "resolved_s")}
    empty["channel"] = np.array([], dtype=object)
    assert kpiforge.compute({"contacts": empty}, kpis=["backlog"], grain="1d").to_records() \
        == []
    assert kpiforge.compute({"contacts": empty}, kpis=["backlog"])["backlog"].tolist() == [0]


def test_a_snapshot_measure_needs_since():
    with pytest.raises(kpiforge.KpiforgeError, match="since is required for, and since and "
                                                     "until only for, agg 'snapshot'"):
        kpiforge.Measure("open", "contacts", "snapshot", until="resolved_s")
    with pytest.raises(kpiforge.KpiforgeError, match="since is required"):
        kpiforge.Measure("open", "contacts", "count", since="arrived_s")


def test_a_ticket_export_closes_tickets_and_lacks_abandonment():
    """Three emails, no abandoned_s column. t1 arrives 03-04 09:00, answered 10:00, resolved
    03-06 12:00; t2 arrives 03-04 11:00, answered 03-05 09:00, closed unresolved 03-05 09:30;
    t3 arrives 03-05 08:00 and is never answered. End of 03-04: t1 and t2 open (ages 15 h and
    13 h), t2 untouched; end of 03-05: t1 and t3 (39 h, 16 h), t3 untouched; end of 03-06:
    t3 (40 h). Without a grain, at the last time any column records (03-06 12:00): t3, 28 h
    old, whichever KPIs are asked for."""
    contacts = pd.DataFrame({
        "arrived_s": ["2024-03-04T09:00", "2024-03-04T11:00", "2024-03-05T08:00"],
        "channel": ["email"] * 3,
        "answered_s": ["2024-03-04T10:00", "2024-03-05T09:00", None],
        "resolved_s": ["2024-03-06T12:00", None, None],
        "closed_s": [None, "2024-03-05T09:30", None]})
    kpis = ["backlog", "untouched", "open_email_age"]
    rows = kpiforge.compute({"contacts": contacts}, kpis, grain="1d").to_records()
    hour = 3600.0
    assert [(r["backlog"], r["untouched"], r["open_email_age"]) for r in rows] == [
        (2, 1, (15 + 13) / 2 * hour), (2, 1, (39 + 16) / 2 * hour), (1, 1, 40 * hour)]
    for asked in (kpis, ["open_email_age"]):
        row = kpiforge.compute({"contacts": contacts}, asked).to_records()[0]
        assert row["open_email_age"] == 28 * hour
