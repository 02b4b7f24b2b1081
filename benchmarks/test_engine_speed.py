"""``kpiforge.compute`` against the same KPIs in pandas, in one run, on the same data.

The contact KPIs of the foundation table by channel x queue x 15 minutes. The answers are
checked equal before anything is timed, so the comparison is of equal work.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import kpiforge

KPIS = ["offered", "answered", "abandoned", "answer_rate", "abandonment_rate",
        "service_level", "asa", "first_response_time", "aht", "avg_wait", "wait_p90",
        "resolution_rate", "time_to_resolution", "fcr_rate", "escalation_rate",
        "replies_per_resolution", "csat", "nps", "backlog"]
BY = ["channel", "queue"]


def pandas_kpis(frame: pd.DataFrame) -> pd.DataFrame:
    """The same KPIs, written as a pandas user would: integer-coded keys, one groupby."""
    answered = frame["answered_s"].notna()
    resolved = frame["resolved_s"].notna()
    wait_answer = frame["answered_s"] - frame["arrived_s"]
    parts = pd.DataFrame({
        "channel": frame["channel"], "queue": frame["queue"],
        "interval": (frame["arrived_s"] // 900).astype("int64"),
        "answered": answered,
        "abandoned": frame["abandoned_s"].notna(),
        "in_sl": wait_answer <= 20,
        "wait_answer": wait_answer,
        "handle": (frame["handle_s"] + frame["acw_s"]).where(answered),
        "wait": frame["answered_s"].fillna(frame["abandoned_s"]) - frame["arrived_s"],
        "resolved": resolved,
        "resolution_time": frame["resolved_s"] - frame["arrived_s"],
        "first_touch": resolved & (frame["touches"] == 1),
        "escalated": frame["escalated"] > 0,
        "replies": frame["replies"].where(resolved),
        "csat_answer": frame["csat"].notna(),
        "satisfied": frame["csat"] >= 4,
        "nps_answer": frame["nps"].notna(),
        "promoter": frame["nps"] >= 9,
        "detractor": frame["nps"] <= 6,
        "open": frame["resolved_s"].isna() & frame["abandoned_s"].isna(),
    })
    groups = parts.groupby(["channel", "queue", "interval"], sort=True)
    s = groups.agg(
        offered=("answered", "size"), answered=("answered", "sum"),
        abandoned=("abandoned", "sum"), in_sl=("in_sl", "sum"),
        wait_answer=("wait_answer", "sum"), handle=("handle", "sum"),
        handle_n=("handle", "count"), wait=("wait", "sum"), wait_n=("wait", "count"),
        resolved=("resolved", "sum"), resolution_time=("resolution_time", "sum"),
        first_touch=("first_touch", "sum"), escalated=("escalated", "sum"),
        replies=("replies", "sum"), csat_answer=("csat_answer", "sum"),
        satisfied=("satisfied", "sum"), nps_answer=("nps_answer", "sum"),
        promoter=("promoter", "sum"), detractor=("detractor", "sum"), open=("open", "sum"),
    ).astype("float64")
    p90 = groups["wait"].quantile(0.9)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = pd.DataFrame({
            "offered": s.offered, "answered": s.answered, "abandoned": s.abandoned,
            "answer_rate": s.answered / s.offered, "abandonment_rate": s.abandoned / s.offered,
            "service_level": s.in_sl / s.offered, "asa": s.wait_answer / s.answered,
            "first_response_time": s.wait_answer / s.answered, "aht": s.handle / s.handle_n,
            "avg_wait": s.wait / s.wait_n, "wait_p90": p90,
            "resolution_rate": s.resolved / s.offered,
            "time_to_resolution": s.resolution_time / s.resolved,
            "fcr_rate": s.first_touch / s.resolved, "escalation_rate": s.escalated / s.answered,
            "replies_per_resolution": s.replies / s.resolved,
            "csat": s.satisfied / s.csat_answer,
            "nps": 100 * (s.promoter - s.detractor) / s.nps_answer, "backlog": s.open,
        })
    return out.replace([np.inf, -np.inf], np.nan)


def kpiforge_kpis(table):
    return kpiforge.compute({"contacts": table}, kpis=KPIS, by=BY, grain="15min")


@pytest.fixture(scope="module")
def frames(contacts_table):
    """pandas input with integer-coded keys; the answers of both tools checked equal."""
    frame = contacts_table.to_pandas()
    frame["channel"] = frame["channel"].cat.codes.astype("int8")
    frame["queue"] = frame["queue"].cat.codes.astype("int8")
    expected = pandas_kpis(frame)
    result = kpiforge_kpis(contacts_table)
    assert len(result) == len(expected)
    for kpi in KPIS:
        np.testing.assert_allclose(result[kpi], expected[kpi].to_numpy(), rtol=1e-9,
                                   equal_nan=True, err_msg=kpi)
    return frame


@pytest.mark.benchmark(group="compute-contacts")
def test_kpiforge_compute(benchmark, contacts_table, frames):
    result = benchmark(kpiforge_kpis, contacts_table)
    assert result["offered"].sum() == contacts_table.num_rows


@pytest.mark.benchmark(group="compute-contacts")
def test_pandas_baseline(benchmark, frames):
    result = benchmark(pandas_kpis, frames)
    assert result["offered"].sum() == len(frames)
