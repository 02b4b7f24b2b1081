"""``kpiforge.compute`` against the same KPIs in pandas, polars and duckdb, in one run, on
the same data.

The contact KPIs of the foundation table by channel x queue x 15 minutes (172,800 groups
over 30 days), with channel and queue given to every tool as integer codes and as
dictionary-encoded text. The answers are checked equal before anything is timed, so the
comparison is of equal work. Each baseline is written as a user of that tool would write it.
``backlog`` is a snapshot (contacts open at the end of each interval, every interval of a
group filled in), which a one-groupby baseline does not compute: it is timed on its own,
as the cost of adding it to the same KPIs (``test_kpiforge_with_backlog``).
"""

from __future__ import annotations

import duckdb
import numpy as np
import pandas as pd
import polars as pl
import pyarrow as pa
import pyarrow.compute
import pytest
from conftest import CHANNELS, QUEUES, size_label

import kpiforge

KPIS = ["offered", "answered", "abandoned", "answer_rate", "abandonment_rate",
        "service_level", "asa", "first_response_time", "aht", "avg_wait", "wait_p90",
        "resolution_rate", "time_to_resolution", "fcr_rate", "escalation_rate",
        "replies_per_resolution", "csat", "nps"]
BY = ["channel", "queue"]
#: How channel and queue are given to every tool: integer codes, or dictionary-encoded text.
KEYS = ["int", "text"]


def pandas_kpis(frame: pd.DataFrame) -> pd.DataFrame:
    """The same KPIs, written as a pandas user would: one groupby."""
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
        promoter=("promoter", "sum"), detractor=("detractor", "sum"),
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
            "nps": 100 * (s.promoter - s.detractor) / s.nps_answer,
        })
    return out.replace([np.inf, -np.inf], np.nan)


def polars_kpis(frame: pl.DataFrame) -> pl.DataFrame:
    """The same KPIs in polars (lazy, default threads)."""
    answered = pl.col("answered_s").is_not_null()
    resolved = pl.col("resolved_s").is_not_null()
    wait_answer = pl.col("answered_s") - pl.col("arrived_s")
    wait = pl.coalesce("answered_s", "abandoned_s") - pl.col("arrived_s")
    handle = pl.when(answered).then(pl.col("handle_s") + pl.col("acw_s"))
    s = (frame.lazy()
         .with_columns(interval=(pl.col("arrived_s") // 900).cast(pl.Int64))
         .group_by("channel", "queue", "interval")
         .agg(offered=pl.len(), answered=answered.sum(),
              abandoned=pl.col("abandoned_s").is_not_null().sum(),
              in_sl=(wait_answer <= 20).sum(), wait_answer=wait_answer.sum(),
              handle=handle.sum(), handle_n=handle.count(), wait=wait.sum(),
              wait_n=wait.count(), wait_p90=wait.quantile(0.9, "linear"),
              resolved=resolved.sum(),
              resolution_time=(pl.col("resolved_s") - pl.col("arrived_s")).sum(),
              first_touch=(resolved & (pl.col("touches") == 1)).sum(),
              escalated=(pl.col("escalated") > 0).sum(),
              replies=pl.when(resolved).then(pl.col("replies")).sum(),
              csat_answer=pl.col("csat").is_not_null().sum(),
              satisfied=(pl.col("csat") >= 4).sum(),
              nps_answer=pl.col("nps").is_not_null().sum(),
              promoter=(pl.col("nps") >= 9).sum(), detractor=(pl.col("nps") <= 6).sum())
         .with_columns(pl.exclude("channel", "queue", "interval").cast(pl.Float64))
         .sort("channel", "queue", "interval"))
    c = pl.col
    return s.select(
        offered=c("offered"), answered=c("answered"), abandoned=c("abandoned"),
        answer_rate=c("answered") / c("offered"), abandonment_rate=c("abandoned") / c("offered"),
        service_level=c("in_sl") / c("offered"), asa=c("wait_answer") / c("answered"),
        first_response_time=c("wait_answer") / c("answered"), aht=c("handle") / c("handle_n"),
        avg_wait=c("wait") / c("wait_n"), wait_p90=c("wait_p90"),
        resolution_rate=c("resolved") / c("offered"),
        time_to_resolution=c("resolution_time") / c("resolved"),
        fcr_rate=c("first_touch") / c("resolved"), escalation_rate=c("escalated") / c("answered"),
        replies_per_resolution=c("replies") / c("resolved"),
        csat=c("satisfied") / c("csat_answer"),
        nps=100 * (c("promoter") - c("detractor")) / c("nps_answer"),
    ).collect()


DUCKDB_SQL = """
WITH g AS (
  SELECT channel, queue, floor(arrived_s / 900) AS interval,
    count(*) AS offered, count(answered_s) AS answered, count(abandoned_s) AS abandoned,
    count(*) FILTER (answered_s - arrived_s <= 20) AS in_sl,
    sum(answered_s - arrived_s) AS wait_answer,
    sum(handle_s + acw_s) FILTER (answered_s IS NOT NULL) AS handle,
    count(handle_s + acw_s) FILTER (answered_s IS NOT NULL) AS handle_n,
    sum(coalesce(answered_s, abandoned_s) - arrived_s) AS wait,
    count(coalesce(answered_s, abandoned_s)) AS wait_n,
    quantile_cont(coalesce(answered_s, abandoned_s) - arrived_s, 0.9) AS wait_p90,
    count(resolved_s) AS resolved, sum(resolved_s - arrived_s) AS resolution_time,
    count(*) FILTER (resolved_s IS NOT NULL AND touches = 1) AS first_touch,
    count(*) FILTER (escalated > 0) AS escalated,
    sum(replies) FILTER (resolved_s IS NOT NULL) AS replies,
    count(csat) AS csat_answer, count(*) FILTER (csat >= 4) AS satisfied,
    count(nps) AS nps_answer, count(*) FILTER (nps >= 9) AS promoter,
    count(*) FILTER (nps <= 6) AS detractor
  FROM contacts GROUP BY ALL
)
SELECT offered, answered, abandoned, answered / offered AS answer_rate,
  abandoned / offered AS abandonment_rate, in_sl / offered AS service_level,
  wait_answer / nullif(answered, 0) AS asa, wait_answer / nullif(answered, 0)
  AS first_response_time, handle / nullif(handle_n, 0) AS aht,
  wait / nullif(wait_n, 0) AS avg_wait, wait_p90, resolved / offered AS resolution_rate,
  resolution_time / nullif(resolved, 0) AS time_to_resolution,
  first_touch / nullif(resolved, 0) AS fcr_rate, escalated / nullif(answered, 0)
  AS escalation_rate, replies / nullif(resolved, 0) AS replies_per_resolution,
  satisfied / nullif(csat_answer, 0) AS csat,
  100 * (promoter - detractor) / nullif(nps_answer, 0) AS nps
FROM g ORDER BY channel, queue, interval
"""


def duckdb_kpis(connection, table):
    """The same KPIs in duckdb SQL (default threads) over the Arrow table."""
    connection.register("contacts", table)
    return connection.sql(DUCKDB_SQL).to_arrow_table()


def kpiforge_kpis(table, kpis=tuple(KPIS)):
    """kpiforge with one service-level threshold, 20 s, as the baselines are written."""
    return kpiforge.compute({"contacts": table}, kpis=list(kpis), by=BY, grain="15min",
                            params={"sl_threshold_s": 20})


@pytest.fixture(scope="session", params=KEYS)
def keys(request) -> str:
    return request.param


@pytest.fixture(scope="session")
def inputs(contacts_table, keys) -> tuple[pa.Table, pa.Table]:
    """The same contacts for kpiforge and for the baselines, channel and queue as integer
    codes (``int``) or dictionary-encoded text (``text``). The baselines get missing values
    as nulls (polars and duckdb count NaN as a value), kpiforge as NaN."""
    table = contacts_table
    if keys == "int":
        for name in ("channel", "queue"):
            table = table.set_column(table.column_names.index(name), name,
                                     table[name].combine_chunks().indices)
    baseline = table
    for i, name in enumerate(table.column_names):
        column = table[name]
        if pa.types.is_floating(column.type):
            baseline = baseline.set_column(
                i, name, pa.compute.if_else(pa.compute.is_nan(column), None, column))
    return table, baseline


def baseline_order(result, keys: str) -> np.ndarray:
    """kpiforge's groups in the baselines' order: by channel, queue (as numbers where the
    keys are integer codes, which kpiforge reads as text labels) and interval."""
    channel, queue = (np.asarray(result.keys[name]) for name in BY)
    if keys == "int":
        channel, queue = channel.astype(int), queue.astype(int)
    else:
        channel, queue = np.searchsorted(CHANNELS, channel), np.searchsorted(QUEUES, queue)
    return np.lexsort((result.keys["interval_start"], queue, channel))


def assert_same(result, order, columns, name) -> None:
    for kpi in KPIS:
        np.testing.assert_allclose(result[kpi][order], np.asarray(columns(kpi), dtype=np.float64),
                                   rtol=1e-9, equal_nan=True, err_msg=f"{name}: {kpi}")


@pytest.fixture(scope="session")
def checked(inputs, keys):
    """Every tool's answers, checked equal to kpiforge's before anything is timed."""
    table, baseline = inputs
    result = kpiforge_kpis(table)
    order = baseline_order(result, keys)
    frame = baseline.to_pandas()
    assert_same(result, order, pandas_kpis(frame).__getitem__, "pandas")
    polars_frame = pl.from_arrow(baseline)
    assert_same(result, order, polars_kpis(polars_frame).__getitem__, "polars")
    connection = duckdb.connect()
    assert_same(result, order, duckdb_kpis(connection, baseline).column, "duckdb")
    return {"kpiforge": table, "pandas": frame, "polars": polars_frame, "duckdb": connection,
            "arrow": baseline}


def group(rows: int, keys: str) -> str:
    return f"compute-{size_label(rows)}-{keys}"


def test_kpiforge_compute(benchmark, rows, keys, checked):
    benchmark.group = group(rows, keys)
    result = benchmark(kpiforge_kpis, checked["kpiforge"])
    assert result["offered"].sum() == rows


def test_kpiforge_numpy_only(benchmark, rows, keys, checked, monkeypatch):
    """The same without the compiled loops (``KPIFORGE_NUMBA=0``): what an install without
    ``kpiforge[fast]`` gets."""
    monkeypatch.setenv("KPIFORGE_NUMBA", "0")
    benchmark.group = group(rows, keys)
    result = benchmark(kpiforge_kpis, checked["kpiforge"])
    assert result["offered"].sum() == rows


def test_kpiforge_with_backlog(benchmark, rows, keys, checked):
    """The same KPIs and the backlog snapshot: its cost is the ratio to
    ``test_kpiforge_compute``."""
    benchmark.group = group(rows, keys)
    result = benchmark(kpiforge_kpis, checked["kpiforge"], (*KPIS, "backlog"))
    assert result["offered"].sum() == rows
    assert np.nanmax(result["backlog"]) > 0


def test_pandas_baseline(benchmark, rows, keys, checked):
    benchmark.group = group(rows, keys)
    result = benchmark(pandas_kpis, checked["pandas"])
    assert result["offered"].sum() == rows


def test_polars_baseline(benchmark, rows, keys, checked):
    benchmark.group = group(rows, keys)
    result = benchmark(polars_kpis, checked["polars"])
    assert result["offered"].sum() == rows


def test_duckdb_baseline(benchmark, rows, keys, checked):
    benchmark.group = group(rows, keys)
    result = benchmark(duckdb_kpis, checked["duckdb"], checked["arrow"])
    assert pa.compute.sum(result["offered"]).as_py() == rows


def test_kpiforge_peak_extra_memory(rows, contacts_table):
    """Memory kpiforge allocates beyond its input (traced numpy allocations) stays within
    the size of the input columns, plus up to 64 MiB of group-sized buffers that do not
    shrink with the rows (this grid has 172,800 groups)."""
    import tracemalloc

    tracemalloc.start()
    kpiforge_kpis(contacts_table)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak <= contacts_table.nbytes + (64 << 20), (peak, contacts_table.nbytes)
    print(f"\npeak extra memory {peak / 2**20:.0f} MiB for {contacts_table.nbytes / 2**20:.0f} "
          f"MiB of input columns")
