"""Measures placed in intervals by their own time column (``Measure(..., time=...)``):
responses by when they were given, resolutions by when they were resolved. Expected values
are worked out by hand from the rows below; every way of running must give them."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import kpiforge
from kpiforge.engine import accelerator, modes

NAN = np.nan
#: Four contacts over three hours. Arrivals: hour 0 (#1 #2 #3), hour 1 (#4). First responses:
#: #1 at 100 (hour 0), #2 at 4000 (hour 1), #4 at 7300 (hour 2); #3 never answered.
#: Resolutions: #4 at 7400 and #2 at 7500, both in hour 2.
CONTACTS = {
    "channel": np.array(["email", "email", "chat", "email"], dtype=object),
    "arrived_s": np.array([0.0, 3000, 3500, 7000]),
    "answered_s": np.array([100.0, 4000, NAN, 7300]),
    "resolved_s": np.array([NAN, 7500, NAN, 7400]),
}
KPIS = ["offered", "answered", "responses_per_hour", "resolutions", "resolution_rate"]
HOURLY = [  # (interval start, offered, answered, responses/h, resolutions, resolution rate)
    # #2 arrived in hour 0, was answered in hour 1 and resolved in hour 2: resolution_rate
    # follows the arrivals (#2 of #1-#3 resolved), resolutions the time of resolving.
    ("1970-01-01T00:00:00", 3, 2, 1, 0, 1 / 3),
    ("1970-01-01T01:00:00", 1, 1, 1, 0, 1.0),
    # Nothing arrived in hour 2: a group of placed measures only; rates by arrival undefined.
    ("1970-01-01T02:00:00", 0, 0, 1, 2, None),
]


def hourly(result):
    return [(r["interval_start"], r["offered"], r["answered"], r["responses_per_hour"],
             r["resolutions"], r["resolution_rate"]) for r in result.to_records()]


def test_responses_and_resolutions_are_placed_by_their_own_time():
    result = kpiforge.compute({"contacts": CONTACTS}, kpis=KPIS, grain="1h")
    assert hourly(result) == HOURLY


@pytest.mark.parametrize("options", [
    {"chunk_rows": 1}, {"chunk_rows": 3}, {"chunk_rows": 2, "workers": 2}])
def test_every_way_of_running_places_them_alike(options):
    result = kpiforge.compute({"contacts": CONTACTS}, kpis=KPIS, grain="1h", **options)
    assert hourly(result) == HOURLY


def test_dask_places_them_alike():
    distributed = pytest.importorskip("distributed")
    frame = pytest.importorskip("dask.dataframe").from_pandas(pd.DataFrame(CONTACTS),
                                                              npartitions=2)
    with distributed.Client(processes=False, n_workers=1, threads_per_worker=1,
                            dashboard_address=None) as client:
        result = kpiforge.compute({"contacts": frame}, kpis=KPIS, grain="1h",
                                  scheduler=client)
    assert hourly(result) == HOURLY


def test_without_a_grain_a_time_only_chooses_the_rows():
    result = kpiforge.compute({"contacts": CONTACTS}, kpis=KPIS, by=["channel"])
    records = {r["channel"]: r for r in result.to_records()}
    assert records["email"]["resolutions"] == 2 and records["chat"]["resolutions"] == 0
    # Per hour of the data's period, first to last arrival (0 .. 7000 s), in every group:
    # the groups' rates add up to the total's.
    assert records["email"]["responses_per_hour"] == pytest.approx(3 / (7000 / 3600))
    assert records["chat"]["responses_per_hour"] == 0
    total = kpiforge.compute({"contacts": CONTACTS}, kpis=["responses_per_hour"])
    assert total["responses_per_hour"][0] == pytest.approx(3 / (7000 / 3600))


def test_calendar_keys_read_the_placed_time():
    result = kpiforge.compute({"contacts": CONTACTS}, kpis=["offered", "resolutions"],
                              by=["hour_of_day"])
    assert [(r["hour_of_day"], r["offered"], r["resolutions"]) for r in result.to_records()] \
        == [(0, 3, 0), (1, 1, 0), (2, 0, 2)]


def placed_registry():
    """A sum and an exact quantile placed by ``resolved_s``, beside arrival counts."""
    measures = [
        kpiforge.Measure("arrivals", "contacts", "count"),
        kpiforge.Measure("closed", "contacts", "count", time="resolved_s"),
        kpiforge.Measure("closed_age_sum", "contacts", "sum", value="resolved_s - arrived_s",
                         time="resolved_s"),
        kpiforge.Measure("closed_age_median", "contacts", "quantile",
                         value="resolved_s - arrived_s", q=0.5, time="resolved_s"),
    ]
    kpis = [kpiforge.KPI(m.name.replace("_", "") + "_kpi", m.name) for m in measures]
    return kpiforge.Registry.build(measures=[("test", m) for m in measures],
                                   kpis=[("test", k) for k in kpis], dimensions=[])


#: 2,000 contacts: pandas places the same rows by hour of resolution, the oracle.
RNG = np.random.default_rng(7)
ARRIVED = np.sort(RNG.uniform(0, 86_400, 2_000))
RESOLVED = np.where(RNG.random(2_000) < 0.3, NAN, ARRIVED + RNG.exponential(20_000, 2_000))


def oracle():
    frame = pd.DataFrame({"arrived_s": ARRIVED, "resolved_s": RESOLVED})
    arrivals = frame.groupby(frame["arrived_s"] // 3600).size()
    closed = frame.dropna().assign(age=lambda f: f.resolved_s - f.arrived_s)
    by_close = closed.groupby(closed["resolved_s"] // 3600)["age"]
    hours = sorted(set(arrivals.index) | set(by_close.groups))
    return {
        "arrivals_kpi": [float(arrivals.get(h, 0)) for h in hours],
        "closed_kpi": [float(by_close.size().get(h, 0)) for h in hours],
        "closedagesum_kpi": [float(by_close.sum().get(h, 0)) for h in hours],
        "closedagemedian_kpi": [by_close.median().get(h, NAN) for h in hours],
    }, [h * 3600.0 for h in hours]


@pytest.mark.parametrize("options", [{}, {"chunk_rows": 300}, {"chunk_rows": 700,
                                                                "workers": 2}])
def test_placed_sums_and_quantiles_against_pandas(options, monkeypatch):
    monkeypatch.setattr(modes, "MIN_PIECE_ROWS", 500)  # in memory: a piece per thread
    expected, starts = oracle()
    result = kpiforge.compute({"contacts": {"arrived_s": ARRIVED, "resolved_s": RESOLVED}},
                              registry=placed_registry(), grain="1h", **options)
    assert [r["interval_start"] for r in result.to_records()] == [
        pd.Timestamp(s, unit="s").isoformat() for s in starts]
    for name, values in expected.items():
        # workers sketch the quantile (relative error <= 0.5 %); the rest is exact
        rel = 0.006 if "median" in name and "workers" in options else 1e-12
        np.testing.assert_allclose(result[name], values, rtol=rel, err_msg=name)


def test_placed_measures_keep_the_bits_without_the_compiled_loops(monkeypatch):
    pytest.importorskip("numba")
    results = []
    for setting in ("1", "0"):
        monkeypatch.setenv(accelerator.ENV, setting)
        results.append(kpiforge.compute(
            {"contacts": {"arrived_s": ARRIVED, "resolved_s": RESOLVED}},
            registry=placed_registry(), grain="15min"))
    for name in results[0].kpis:
        np.testing.assert_array_equal(results[0][name].view(np.int64),
                                      results[1][name].view(np.int64), err_msg=name)
