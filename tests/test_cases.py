"""Case-level resolution: with a case_id column, time to resolution runs from a case's first
arrival to its last resolution and fcr_rate is the share of cases resolved at first contact
with no repeat within fcr_window_s; every way of running agrees; without case_id the
per-contact definitions stay."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

import kpiforge
from kpiforge.errors import KpiforgeError
from kpiforge.simulations import builtin_scenario, simulate

DAY = 86400.0
KPIS = ["time_to_resolution", "time_to_resolution_median", "time_to_resolution_p90",
        "fcr_rate"]

# Hand-worked cases (window 7 days = 604,800 s):
#   A call 0 (resolved 100), repeat by chat at 3,600 (resolved 5,000): within the window,
#     so not FCR; resolved, 5,000 s.
#   B call 1,000 (resolved 1,600), repeat 8 days later (resolved 1,000 + 8 d + 300): after
#     the window, so FCR; resolved, 8 d + 300 s = 691,500 s.
#   C chat 2,000, never resolved: not FCR, not resolved.
#   D chat 3,000 (resolved 3,300), one contact: FCR; 300 s.
#   E call 4,000 (resolved 4,500), repeat 10,000 never resolved: reopened, so not resolved
#     and (repeat within the window) not FCR.
#   -  chat 5,000 (resolved 5,600) without a case id: a case of its own, FCR; 600 s.
ROWS = [  # case, channel, arrived, resolved
    ("A", "call", 0.0, 100.0),
    ("A", "chat", 3600.0, 5000.0),
    ("B", "call", 1000.0, 1600.0),
    ("B", "call", 1000.0 + 8 * DAY, 1000.0 + 8 * DAY + 300),
    ("C", "chat", 2000.0, np.nan),
    ("D", "chat", 3000.0, 3300.0),
    ("E", "call", 4000.0, 4500.0),
    ("E", "call", 10000.0, np.nan),
    (None, "chat", 5000.0, 5600.0),
]
ALL = {"time_to_resolution": (5000 + 691500 + 300 + 600) / 4,
       "time_to_resolution_median": (600 + 5000) / 2,  # sorted 300 600 5000 691500
       "time_to_resolution_p90": 5000 + 0.7 * (691500 - 5000),  # rank 0.9 * 3 = 2.7
       "fcr_rate": 3 / 6}  # B, D and the contact without a case
BY_CHANNEL = {  # a case is in its first contact's channel: A, B, E call; C, D, - chat
    "call": {"time_to_resolution": (5000 + 691500) / 2, "fcr_rate": 1 / 3},
    "chat": {"time_to_resolution": (300 + 600) / 2, "fcr_rate": 2 / 3},
}


def contacts(order: np.ndarray | None = None, case_id: bool = True) -> pd.DataFrame:
    frame = pd.DataFrame(ROWS, columns=["case_id", "channel", "arrived_s", "resolved_s"])
    frame["touches"] = frame.groupby("case_id", dropna=False).cumcount() + 1.0
    frame = frame if order is None else frame.iloc[order].reset_index(drop=True)
    return frame if case_id else frame.drop(columns="case_id")


def records(result: kpiforge.Result) -> dict:
    rows = result.to_records()
    return {tuple(r[d] for d in result.dimensions): r for r in rows}


def test_hand_worked_cases_overall():
    row = kpiforge.compute({"contacts": contacts()}, KPIS).to_records()[0]
    for kpi, value in ALL.items():
        assert row[kpi] == pytest.approx(value, rel=1e-12), kpi


def test_a_case_counts_in_its_first_contacts_group():
    rows = records(kpiforge.compute({"contacts": contacts()}, KPIS, by=["channel"]))
    for channel, expected in BY_CHANNEL.items():
        for kpi, value in expected.items():
            assert rows[channel, ][kpi] == pytest.approx(value, rel=1e-12), (channel, kpi)


def test_a_case_counts_in_its_first_contacts_interval():
    """B's repeat arrives on day 8: the case stays in day 0, and day 8 has no case."""
    rows = kpiforge.compute({"contacts": contacts()}, KPIS, grain="1d").to_records()
    assert len(rows) == 2
    assert rows[0]["time_to_resolution"] == pytest.approx(ALL["time_to_resolution"])
    assert rows[0]["fcr_rate"] == pytest.approx(ALL["fcr_rate"])
    assert rows[1]["time_to_resolution"] is None and rows[1]["fcr_rate"] is None


def test_the_window_is_a_parameter():
    """With a window of 3,000 s, A's repeat (3,600 s after) and E's (6,000 s) come after it:
    A and E were resolved at first contact too (5 of 6)."""
    row = kpiforge.compute({"contacts": contacts()}, ["fcr_rate"],
                           params={"fcr_window_s": 3000}).to_records()[0]
    assert row["fcr_rate"] == pytest.approx(5 / 6)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_every_way_of_running_agrees_with_cases_across_chunks(seed, threaded_dask, tmp_path):
    """Shuffled rows in chunks of 2: every case with a repeat may span chunks."""
    frame = contacts(np.random.default_rng(seed).permutation(len(ROWS)))
    path = tmp_path / "contacts.parquet"
    frame.to_parquet(path, row_group_size=2)
    chunks = [frame.iloc[i:i + 2] for i in range(0, len(frame), 2)]
    runs = {
        "memory": kpiforge.compute({"contacts": frame}, KPIS, by=["channel"]),
        "chunks": kpiforge.compute({"contacts": frame}, KPIS, by=["channel"], chunk_rows=2),
        "file chunks": kpiforge.compute(path, KPIS, by=["channel"], chunk_rows=3),
        "workers": kpiforge.compute(path, KPIS, by=["channel"], chunk_rows=2, workers=2),
        "stream": kpiforge.compute(iter(chunks), KPIS, by=["channel"]),
        "dask": kpiforge.compute(path, KPIS, by=["channel"], scheduler=threaded_dask),
    }
    for name, result in runs.items():
        rows = records(result)
        for channel, expected in BY_CHANNEL.items():
            for kpi, value in expected.items():
                assert rows[channel, ][kpi] == pytest.approx(value, rel=1e-12), (name, kpi)
        # Quantiles over cases are exact in every way of running (the cases are all kept).
        assert rows["call", ]["time_to_resolution_median"] == pytest.approx(
            (5000 + 691500) / 2, rel=1e-12), name


def test_without_case_id_the_definitions_are_per_contact():
    row = kpiforge.compute({"contacts": contacts(case_id=False)}, KPIS).to_records()[0]
    resolved = contacts()["resolved_s"] - contacts()["arrived_s"]
    assert row["time_to_resolution"] == pytest.approx(resolved.mean())
    assert row["time_to_resolution_median"] == pytest.approx(resolved.median())
    # Resolved contacts with one touch (A's first, B's first, D, E's first, the one without
    # a case) among the 7 resolved.
    assert row["fcr_rate"] == pytest.approx(5 / 7)


def test_case_measures_read_case_columns_only():
    with pytest.raises(KpiforgeError, match="'answered_s' is not a column of a case"):
        kpiforge.Measure("bad", "contacts", "count", where="notnan(answered_s)", per="case")
    with pytest.raises(KpiforgeError, match="per='case' aggregates cases"):
        kpiforge.Measure("bad", "agent_intervals", "count", per="case")


def pandas_cases(frame: pd.DataFrame, window: float) -> pd.DataFrame:
    """The per-case KPIs by the first contact's channel, recomputed with pandas."""
    ordered = frame.sort_values(["case_id", "arrived_s"], kind="stable")
    cases = ordered.groupby("case_id")
    first = cases.nth(0).set_index("case_id")
    second = cases.nth(1).set_index("case_id")["arrived_s"].reindex(first.index)
    last_arrival = cases["arrived_s"].max()
    last_resolution = cases["resolved_s"].max()
    resolved = last_resolution.notna() & (last_resolution >= last_arrival)
    table = pd.DataFrame({
        "channel": first["channel"],
        "resolution": (last_resolution - first["arrived_s"]).where(resolved),
        "fcr": first["resolved_s"].notna()
        & (second.isna() | (second - first["arrived_s"] > window))})
    by = table.groupby("channel")
    return pd.DataFrame({"time_to_resolution": by["resolution"].mean(),
                         "time_to_resolution_median": by["resolution"].median(),
                         "time_to_resolution_p90": by["resolution"].quantile(0.9),
                         "fcr_rate": by["fcr"].mean()})


@pytest.fixture(scope="module")
def repeats():
    """Two simulated days where unresolved calls and chats come back within hours."""
    scenario = builtin_scenario("demo", {
        "scenario.days": "2", "channels.*.repeat": "0.8",
        "channels.*.repeat_delay_s": "7200"})
    return simulate(scenario).contacts


@pytest.mark.parametrize("options", [{}, {"chunk_rows": 997}])
def test_simulated_cases_match_pandas(repeats, options):
    frame = repeats.to_pandas()
    frame["case_id"] = frame["case_id"].astype(str)
    assert frame["case_id"].duplicated().sum() > 100  # many cases with repeats
    for window in (3600.0, 7 * DAY):
        expected = pandas_cases(frame, window)
        result = kpiforge.compute({"contacts": repeats}, KPIS, by=["channel"],
                                  params={"fcr_window_s": window}, **options)
        rows = records(result)
        for channel in expected.index:
            for kpi in KPIS:
                assert rows[channel, ][kpi] == pytest.approx(
                    expected.loc[channel, kpi], rel=1e-9), (channel, kpi, window)


def test_the_simulators_case_ids_are_numbers_read_as_text(repeats):
    """An integer case_id column and the same ids as text give the same cases."""
    text = repeats.set_column(repeats.schema.get_field_index("case_id"), "case_id",
                              repeats["case_id"].cast(pa.string()))
    as_numbers = kpiforge.compute({"contacts": repeats}, KPIS).to_records()
    as_text = kpiforge.compute({"contacts": text}, KPIS).to_records()
    assert as_numbers == as_text


def test_with_case_id_but_no_touches_fcr_rate_is_left_out():
    frame = contacts().drop(columns="touches")
    result = kpiforge.compute({"contacts": frame})
    assert "fcr_rate" not in result.kpis
    assert result.skipped["fcr_rate"] == "needs column 'touches' of <contacts>"
    assert result.to_records()[0]["time_to_resolution"] == pytest.approx(
        ALL["time_to_resolution"])


def test_the_window_on_the_command_line(tmp_path):
    from click.testing import CliRunner

    from kpiforge.cli import cli

    path = tmp_path / "contacts.csv"
    contacts().to_csv(path, index=False)
    out = CliRunner().invoke(cli, ["compute", str(path), "--kpi", "fcr_rate", "--format",
                                   "json", "--param", "fcr_window_s=3000"])
    assert out.exit_code == 0, out.output
    assert json.loads(out.output)[0]["fcr_rate"] == pytest.approx(5 / 6)
    shown = CliRunner().invoke(cli, ["kpis", "show", "fcr_rate"])
    assert "cases_first_contact_resolved: measure count over cases of contacts where " \
        "notnan(first_resolved_s)" in shown.output
    assert "With a case_id column, per case" in " ".join(shown.output.split())


def test_the_total_row_counts_every_case_once():
    """A's call and chat contacts are one case: the total is the run without --by."""
    result = kpiforge.compute({"contacts": contacts()}, KPIS, by=["channel"], totals=True)
    total = records(result)[None, 1]
    for kpi, value in ALL.items():
        assert total[kpi] == pytest.approx(value, rel=1e-12), kpi


def test_contacts_without_a_case_id_are_cases_of_their_own():
    """An all-empty case_id: 9 cases of one contact, 7 resolved, so FCR 7 / 9 and the
    resolution times are the contacts'."""
    frame = contacts().assign(case_id=None)
    row = kpiforge.compute({"contacts": frame}, KPIS, chunk_rows=4).to_records()[0]
    resolved = frame["resolved_s"] - frame["arrived_s"]
    assert row["fcr_rate"] == pytest.approx(7 / 9)
    assert row["time_to_resolution"] == pytest.approx(resolved.mean())
    assert row["time_to_resolution_p90"] == pytest.approx(resolved.quantile(0.9))


class ContactsPerCase:
    """A plugin reading the case columns the built-ins do not: contacts and repeat_s."""

    @kpiforge.hookimpl
    def kpiforge_register_measures(self):
        return [
            kpiforge.Measure("case_contacts", "contacts", "sum", value="contacts", per="case"),
            kpiforge.Measure("repeat_gap_max", "contacts", "max", value="repeat_s - arrived_s",
                             per="case"),
        ]

    @kpiforge.hookimpl
    def kpiforge_register_kpis(self):
        return [kpiforge.KPI("contacts_per_case", "case_contacts / cases", unit="contacts"),
                kpiforge.KPI("longest_repeat_gap", "repeat_gap_max", unit="s")]


def test_a_plugins_case_measures_read_every_case_column():
    from kpiforge.plugin_manager import get_plugin_manager

    manager = get_plugin_manager(load_entry_points=False)
    manager.register(ContactsPerCase(), name="per-case")
    registry = kpiforge.Registry.from_plugin_manager(manager)
    for options in ({}, {"chunk_rows": 2}):
        rows = records(kpiforge.compute({"contacts": contacts()}, ["contacts_per_case",
                                        "longest_repeat_gap"], by=["channel"],
                                        registry=registry, **options))
        # call: A (2 contacts), B (2), E (2); chat: C, D, the one without a case (1 each).
        assert rows["call", ]["contacts_per_case"] == 2
        assert rows["chat", ]["contacts_per_case"] == 1
        assert rows["call", ]["longest_repeat_gap"] == 8 * DAY  # B's repeat
        assert rows["chat", ]["longest_repeat_gap"] is None  # no chat case has a repeat



def test_cases_keep_their_group_beside_measures_placed_by_another_time():
    """``resolutions`` places rows by resolved_s, so the pass puts two placements on one key
    space: here the call resolved in hour 1 adds the group (call, hour 1), before (call,
    hour 2) and (chat, hour 0). The cases must stay with their first contact's group."""
    frame = pd.DataFrame({"case_id": ["Z", "X", "Y"], "channel": ["call", "call", "chat"],
                          "arrived_s": [0.0, 7200.0, 0.0],
                          "resolved_s": [5000.0, 7300.0, 100.0], "touches": [1.0, 1.0, 1.0]})
    rows = records(kpiforge.compute({"contacts": frame}, ["time_to_resolution", "resolutions"],
                                    by=["channel"], grain="1h"))
    hour = {"1970-01-01T00:00:00": 0, "1970-01-01T01:00:00": 1, "1970-01-01T02:00:00": 2}
    got = {(channel, hour[start]): (row["time_to_resolution"], row["resolutions"])
           for (channel, start), row in rows.items()}
    assert got == {("call", 0): (5000.0, 0.0), ("call", 1): (None, 1.0),
                   ("call", 2): (100.0, 1.0), ("chat", 0): (100.0, 1.0)}


def test_business_resolution_time_is_per_case_too():
    """Case K: first contact Friday 2024-03-22 16:30 Berlin (resolved 16:45), the customer
    comes back Monday 09:00 and is resolved 10:00. At weekdays 09:00-17:00 the case took
    0.5 h + 1 h of business time, from its first arrival to its last resolution; case L,
    one contact Monday 11:00 to 11:20, took 20 min. Per contact it would be 15, 60 and 20
    minutes."""
    def at(text):
        return pd.Timestamp(text, tz="Europe/Berlin").timestamp()

    frame = pd.DataFrame({
        "case_id": ["K", "K", "L"], "channel": ["email"] * 3,
        "arrived_s": [at("2024-03-22 16:30"), at("2024-03-25 09:00"), at("2024-03-25 11:00")],
        "resolved_s": [at("2024-03-22 16:45"), at("2024-03-25 10:00"),
                       at("2024-03-25 11:20")]})
    kpis = ["time_to_resolution_business", "time_to_resolution_median_business"]
    row = kpiforge.compute({"contacts": frame}, kpis, calendar="weekdays-9-17",
                           tz="Europe/Berlin").to_records()[0]
    assert row["time_to_resolution_business"] == pytest.approx((5400 + 1200) / 2)
    assert row["time_to_resolution_median_business"] == pytest.approx((5400 + 1200) / 2)
    per_contact = kpiforge.compute({"contacts": frame.drop(columns="case_id")}, kpis,
                                   calendar="weekdays-9-17", tz="Europe/Berlin")
    assert per_contact.to_records()[0]["time_to_resolution_business"] == \
        pytest.approx((900 + 3600 + 1200) / 3)
