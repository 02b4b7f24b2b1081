"""Agent intervals spread over the grain's intervals they overlap, and KPIs over two tables
undefined where a group has rows in only one of them. Expected values are worked by hand."""

from __future__ import annotations

import numpy as np
import pytest

import kpiforge
from kpiforge.engine import accelerator

NAN = np.nan


def agents(start, length, staffed, cost, agent=None):
    table = {"agent": np.array(agent or ["x"] * len(start), dtype=object),
             "interval_start_s": np.array(start, dtype=float),
             "staffed_s": np.array(staffed, dtype=float), "cost": np.array(cost, dtype=float)}
    if length is not None:
        table["interval_s"] = np.array(length, dtype=float)
    return table


#: One answered contact in each quarter hour of the first half hour.
CONTACTS = {"arrived_s": np.array([100.0, 1000.0]), "answered_s": np.array([110.0, 1010.0])}


def rows(result, *kpis):
    return [(r["interval_start"][11:16], *(r[k] for k in kpis)) for r in result.to_records()]


def test_a_half_hour_interval_at_a_quarter_hour_grain_is_halved():
    # The case: 30 minutes costing 12 over two quarter hours, one contact in each.
    data = {"contacts": CONTACTS, "agent_intervals": agents([0], [1800], [1800], [12])}
    result = kpiforge.compute(data, kpis=["cost_per_contact", "staffed_hours"], grain="15min")
    assert rows(result, "cost_per_contact", "staffed_hours") == [
        ("00:00", 6.0, 0.25), ("00:15", 6.0, 0.25)]  # not 12.0 then 0.0


def test_an_unaligned_interval_is_spread_by_its_overlap():
    # 600 .. 2400 s over the quarter hours 0-900 (300 s of it), 900-1800 (900 s) and
    # 1800-2700 (600 s): shares 1/6, 1/2, 1/3 of staffed 1800 s and cost 18.
    data = {"contacts": CONTACTS,
            "agent_intervals": agents([600], [1800], [1800], [18])}
    result = kpiforge.compute(data, kpis=["staffed_hours", "cost_per_contact"],
                              grain="15min")
    got = rows(result, "staffed_hours", "cost_per_contact")
    assert [start for start, _, _ in got] == ["00:00", "00:15", "00:30"]
    assert [hours for _, hours, _ in got] == pytest.approx([300 / 3600, 900 / 3600,
                                                           600 / 3600])
    # one contact in each of the first two; none in the third: 6 / 0 is undefined
    assert [cost for _, _, cost in got] == [pytest.approx(18 / 6), pytest.approx(18 / 2),
                                            None]


def test_an_interval_ending_on_a_boundary_stays_in_its_own_interval():
    data = {"contacts": CONTACTS, "agent_intervals": agents([900], [900], [900], [5])}
    result = kpiforge.compute(data, kpis=["staffed_hours"], grain="15min")
    assert rows(result, "staffed_hours") == [("00:15", 0.25)]  # nothing in 00:30


def test_rows_without_a_length_stay_at_their_start():
    data = {"contacts": CONTACTS,
            "agent_intervals": agents([0, 0], [1800, NAN], [1800, 600], [12, 4])}
    result = kpiforge.compute(data, kpis=["staffed_hours"], grain="15min")
    assert rows(result, "staffed_hours") == [("00:00", (900 + 600) / 3600),
                                             ("00:15", 900 / 3600)]
    del data["agent_intervals"]["interval_s"]  # no column: every row at its start
    result = kpiforge.compute(data, kpis=["staffed_hours"], grain="15min")
    assert rows(result, "staffed_hours") == [("00:00", (1800 + 600) / 3600)]


@pytest.mark.parametrize("options", [{"chunk_rows": 1}, {"chunk_rows": 2, "workers": 2}])
def test_every_way_of_running_spreads_alike(options):
    data = {"contacts": CONTACTS,
            "agent_intervals": agents([0, 600, 1800], [1800, 1800, 900], [1800, 1800, 900],
                                      [12, 18, 3])}
    expected = kpiforge.compute(data, kpis=["staffed_hours", "cost_per_contact"],
                                grain="15min").to_records()
    # by hand: quarter 0: 900 + 300; quarter 1: 900 + 900; quarter 2: 600 + 900
    assert [r["staffed_hours"] for r in expected] == pytest.approx(
        [1200 / 3600, 1800 / 3600, 1500 / 3600])
    assert kpiforge.compute(data, kpis=["staffed_hours", "cost_per_contact"],
                            grain="15min", **options).to_records() == expected


def test_the_compiled_loops_spread_to_the_same_bits(monkeypatch):
    pytest.importorskip("numba")
    rng = np.random.default_rng(3)
    n = 2_000
    data = {"contacts": {"arrived_s": rng.uniform(0, 86_400, n),
                         "answered_s": rng.uniform(0, 86_400, n) + 90_000},
            "agent_intervals": agents(rng.uniform(0, 86_400, n), rng.uniform(0, 7_200, n),
                                      rng.uniform(0, 3_600, n), rng.uniform(0, 30, n))}
    results = []
    for setting in ("1", "0"):
        monkeypatch.setenv(accelerator.ENV, setting)
        results.append(kpiforge.compute(data, kpis=["staffed_hours", "cost_per_contact"],
                                        grain="15min"))
    for kpi in ("staffed_hours", "cost_per_contact"):
        np.testing.assert_array_equal(results[0][kpi].view(np.int64),
                                      results[1][kpi].view(np.int64))


def test_a_group_in_one_table_only_is_undefined_for_a_kpi_reading_both():
    contacts = {"arrived_s": np.array([100.0, 200, 300]),
                "answered_s": np.array([110.0, 210, 310]),
                "agent": np.array(["x", "x", "z"], dtype=object)}
    data = {"contacts": contacts,
            "agent_intervals": agents([0, 0], [1800, 1800], [1800, 900], [12, 10],
                                      agent=["x", "y"])}
    result = kpiforge.compute(data, kpis=["cost_per_contact", "staffed_hours", "answered"],
                              by=["agent"])
    assert [(r["agent"], r["cost_per_contact"], r["staffed_hours"], r["answered"])
            for r in result.to_records()] == [
        ("x", 12 / 2, 0.5, 2),
        ("y", None, 0.25, 0),  # no contacts: staffed hours stay, cost per contact undefined
        ("z", None, 0.0, 1),  # no agent intervals: 0 / 1 would read as free; undefined
    ]


def test_other_aggregates_count_a_row_in_each_interval_it_overlaps():
    measures = [kpiforge.Measure("agent_rows", "agent_intervals", "count"),
                kpiforge.Measure("agents_on", "agent_intervals", "distinct", value="agent")]
    registry = kpiforge.Registry.build(
        measures=[("test", m) for m in measures],
        kpis=[("test", kpiforge.KPI("rows_kpi", "agent_rows")),
              ("test", kpiforge.KPI("agents_kpi", "agents_on"))], dimensions=[])
    data = {"agent_intervals": agents([0, 900], [1800, 900], [1800, 900], [1, 1],
                                      agent=["x", "y"])}
    result = kpiforge.compute(data, registry=registry, grain="15min")
    assert rows(result, "rows_kpi", "agents_kpi") == [("00:00", 1, 1), ("00:15", 2, 2)]
