"""Streaming, worker processes and Dask give the in-memory answers (quantiles within the
sketch's stated error), and the sketch holds its error bound."""

from __future__ import annotations

import json

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

import kpiforge
from kpiforge import KpiforgeError
from kpiforge.cli import cli
from kpiforge.engine.grouping import Groups
from kpiforge.engine.quantiles import RELATIVE_ACCURACY, ExactQuantile, QuantileSketch
from kpiforge.simulations import builtin_scenario, simulate

KPIS = ["offered", "answer_rate", "service_level", "asa", "aht", "avg_wait", "wait_p90",
        "fcr_rate", "csat", "nps", "backlog"]
BY = ["channel", "queue"]


@pytest.fixture(scope="module")
def run():
    return simulate(builtin_scenario("demo", {"scenario.days": "3"}))


@pytest.fixture(scope="module")
def expected(run):
    return kpiforge.compute(run.tables(), kpis=KPIS, by=BY, grain="1d")


def assert_same(result, expected, exact_quantiles: bool = False) -> None:
    """Same groups and values; quantiles exact, or within the sketch's relative error."""
    assert [r[:3] for r in _keys(result)] == [r[:3] for r in _keys(expected)]
    for kpi in KPIS:
        if kpi == "wait_p90" and exact_quantiles:
            np.testing.assert_array_equal(result[kpi], expected[kpi])
        elif kpi == "wait_p90":
            exact = expected[kpi]
            error = np.abs(result[kpi] - exact) / np.maximum(np.abs(exact), 1e-9)
            assert np.nanmax(error) <= RELATIVE_ACCURACY + 1e-12, kpi
            assert np.array_equal(np.isnan(result[kpi]), np.isnan(exact))
        else:
            np.testing.assert_allclose(result[kpi], expected[kpi], rtol=1e-9, atol=1e-9,
                                       equal_nan=True, err_msg=kpi)


def _keys(result):
    return list(zip(*(result.keys[d].tolist() for d in result.dimensions), strict=True))


@pytest.fixture(scope="module")
def runs(run, tmp_path_factory):
    """The run as directories: CSV files (with scenario.toml for the epoch), Parquet with
    small row groups, and contacts as a directory of Parquet part files."""
    root = tmp_path_factory.mktemp("scale")
    run.write(root / "csv", "csv")
    run.write(root / "parquet", "parquet")
    pq.write_table(run.contacts, root / "parquet" / "contacts.parquet", row_group_size=2_000)
    parts = root / "dataset" / "contacts"
    parts.mkdir(parents=True)
    for i, start in enumerate(range(0, run.contacts.num_rows, 5_000)):
        pq.write_table(run.contacts.slice(start, 5_000), parts / f"part-{i:03d}.parquet")
    pq.write_table(run.agent_intervals, root / "dataset" / "agent_intervals.parquet")
    return root


@pytest.mark.parametrize("layout", ["csv", "parquet", "dataset"])
def test_streaming_files_gives_the_same_answers(runs, expected, layout):
    result = kpiforge.compute(runs / layout, kpis=KPIS, by=BY, grain="1d", chunk_rows=1_500)
    assert_same(result, expected, exact_quantiles=True)


def test_streaming_two_tables_by_agent(runs, run):
    kpis = ["cost_per_contact", "occupancy", "answered"]
    expected = kpiforge.compute(run.tables(), kpis=kpis, by=["agent"])
    result = kpiforge.compute(runs / "csv", kpis=kpis, by=["agent"], chunk_rows=2_000)
    assert result.keys["agent"].tolist() == expected.keys["agent"].tolist()
    for kpi in kpis:
        np.testing.assert_allclose(result[kpi], expected[kpi], rtol=1e-9, equal_nan=True)


def test_in_memory_dataset_directory_matches(runs, expected):
    result = kpiforge.compute(runs / "dataset", kpis=KPIS, by=BY, grain="1d")
    for kpi in KPIS:
        np.testing.assert_allclose(result[kpi], expected[kpi], rtol=1e-9, equal_nan=True)


def test_streaming_an_iterator_of_frames(run, expected):
    chunks = (run.contacts.slice(start, 4_000).to_pandas()
              for start in range(0, run.contacts.num_rows, 4_000))
    result = kpiforge.compute({"contacts": chunks, "agent_intervals": run.agent_intervals},
                              kpis=KPIS, by=BY, grain="1d", chunk_rows=2_500)
    assert_same(result, expected)


def test_streaming_in_memory_tables_keeps_quantiles_exact(run, expected):
    result = kpiforge.compute(run.tables(), kpis=KPIS, by=BY, grain="1d", chunk_rows=2_000)
    assert_same(result, expected, exact_quantiles=True)


def test_a_bare_iterator_streams_as_contacts(run):
    chunks = iter([run.contacts.slice(0, 3_000), run.contacts.slice(3_000)])
    result = kpiforge.compute(chunks, kpis=["offered"], chunk_rows=1_000)
    assert result["offered"][0] == run.contacts.num_rows


def test_worker_processes_give_the_same_answers(runs, expected):
    result = kpiforge.compute(runs / "parquet", kpis=KPIS, by=BY, grain="1d", chunk_rows=3_000,
                              workers=2)
    assert_same(result, expected)


@pytest.fixture(scope="module")
def dask_client():
    distributed = pytest.importorskip("distributed")
    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                       dashboard_address=None)
    with distributed.Client(cluster) as client:
        yield client
    cluster.close()


@pytest.mark.parametrize("layout", ["parquet", "dataset", "csv"])
def test_dask_gives_the_same_answers(dask_client, runs, expected, layout):
    result = kpiforge.compute(runs / layout, kpis=KPIS, by=BY, grain="1d",
                              scheduler=dask_client)
    assert_same(result, expected)


def test_dask_dataframe_and_in_memory_tables(dask_client, run, expected):
    import dask.dataframe as dd

    frame = dd.from_pandas(run.contacts.to_pandas(), npartitions=4)
    result = kpiforge.compute({"contacts": frame, "agent_intervals": run.agent_intervals},
                              kpis=KPIS, by=BY, grain="1d", scheduler=dask_client)
    assert_same(result, expected)
    result = kpiforge.compute(run.tables(), kpis=KPIS, by=BY, grain="1d",
                              scheduler=dask_client, chunk_rows=4_000)
    assert_same(result, expected)


def test_scheduler_must_be_a_dask_client(run):
    with pytest.raises(KpiforgeError, match=r"kpiforge\[dask\]"):
        kpiforge.compute(run.tables(), kpis=["offered"], scheduler="tcp://nowhere:8786")


def test_cli_streaming_workers_and_dask(runs, expected):
    runner = CliRunner()
    for extra in (["--chunk-rows", "2000"], ["--workers", "2", "--chunk-rows", "5000"],
                  ["--dask", "local"]):
        out = runner.invoke(cli, ["compute", str(runs / "parquet"), "--by", "channel",
                                  "--by", "queue", "--grain", "1d", "--kpi", ",".join(KPIS),
                                  "--format", "json", *extra])
        assert out.exit_code == 0, out.output
        rows = json.loads(out.stdout)
        assert [(r["channel"], r["queue"], r["interval_start"]) for r in rows] == [
            (r["channel"], r["queue"], r["interval_start"]) for r in expected.to_records()]
        for kpi in KPIS:
            got = np.array([np.nan if r[kpi] is None else r[kpi] for r in rows])
            want = expected[kpi]
            if kpi == "wait_p90" and extra[0] != "--chunk-rows":  # a sketch: its error bound
                error = np.abs(got - want) / np.maximum(np.abs(want), 1e-9)
                assert np.nanmax(error) <= RELATIVE_ACCURACY + 1e-12, (extra, kpi)
                np.testing.assert_array_equal(np.isnan(got), np.isnan(want))
            else:  # exact (quantiles in two passes), up to the order of float sums
                np.testing.assert_allclose(got, want, rtol=1e-12, err_msg=f"{extra} {kpi}")


def test_a_bad_row_in_a_later_chunk_is_named(tmp_path, run):
    contacts = run.contacts.to_pandas()
    contacts.loc[7_123, "answered_s"] = contacts.loc[7_123, "arrived_s"] - 5
    path = tmp_path / "contacts.parquet"
    pq.write_table(pa.Table.from_pandas(contacts, preserve_index=False), path)
    with pytest.raises(KpiforgeError, match="row 7124, column 'answered_s'"):
        kpiforge.compute(path, kpis=["asa"], chunk_rows=1_000)


@pytest.mark.parametrize("dist", ["exponential", "lognormal", "ties", "far_from_zero",
                                  "negative", "mixed_sign"])
def test_sketch_quantiles_hold_their_relative_error(dist):
    rng = np.random.default_rng(7)
    n, groups = 200_000, 300
    codes = rng.integers(0, groups, n)
    values = {"exponential": rng.exponential(40, n),
              "lognormal": rng.lognormal(3, 2, n),
              "ties": rng.integers(0, 4, n).astype(float),
              "far_from_zero": rng.normal(1e6, 1e5, n),
              "negative": -rng.lognormal(3, 2, n),
              "mixed_sign": rng.normal(0, 50, n)}[dist]
    for q in (0.5, 0.9, 0.99):
        sketch = QuantileSketch(q)
        half = n // 2
        parts = [sketch.accumulate(Groups(codes[s], groups, {}, len(codes[s])), values[s], None)
                 for s in (slice(0, half), slice(half, n))]
        estimate = sketch.finalize(sketch.merge([(p, np.arange(groups)) for p in parts],
                                                groups), groups)
        # numpy's linear quantile interpolates two order statistics a, b; the sketch keeps
        # each value within RELATIVE_ACCURACY of itself, so its error is bounded by that
        # share of the interpolated magnitudes (|x| itself when a and b share a sign;
        # more near zero when they do not).
        exact, bound = np.empty(groups), np.empty(groups)
        for g in range(groups):
            ordered = np.sort(values[codes == g])
            h = q * (len(ordered) - 1)
            low, high = int(np.floor(h)), int(np.ceil(h))
            f = h - low
            exact[g] = np.quantile(ordered, q)
            bound[g] = RELATIVE_ACCURACY * ((1 - f) * abs(ordered[low]) + f * abs(ordered[high]))
        excess = np.abs(estimate - exact) - bound
        assert excess.max() <= 1e-9 * np.abs(exact).max(), (dist, q, excess.max())


def test_exact_quantile_kernel_matches_numpy_on_many_groups():
    rng = np.random.default_rng(11)
    n, groups = 600_000, 20_000
    codes = rng.integers(0, groups, n)
    values = np.where(rng.random(n) < 0.1, 0.0, rng.exponential(40, n))
    quantile = ExactQuantile(0.9)
    result = quantile.finalize(quantile.accumulate(Groups(codes, groups, {}, n), values, None),
                               groups)
    order = np.lexsort((values, codes))
    sorted_codes, sorted_values = codes[order], values[order]
    starts = np.searchsorted(sorted_codes, np.arange(groups))
    ends = np.searchsorted(sorted_codes, np.arange(groups), side="right")
    exact = [np.quantile(sorted_values[a:b], 0.9) if b > a else np.nan
             for a, b in zip(starts, ends, strict=True)]
    np.testing.assert_array_equal(result, exact)


@pytest.mark.parametrize("zeros", [0.0, 0.6, 0.95])
def test_two_pass_quantiles_are_exact_with_ties(zeros):
    rng = np.random.default_rng(5)
    n = 60_000
    arrived = np.sort(rng.uniform(0, 86_400 * 3, n))
    wait = np.where(rng.random(n) < zeros, 0.0, np.round(rng.exponential(30, n)))
    answered = np.where(rng.random(n) < 0.9, arrived + wait, np.nan)
    abandoned = np.where(np.isnan(answered), arrived + rng.exponential(60, n), np.nan)
    contacts = {"arrived_s": arrived, "answered_s": answered, "abandoned_s": abandoned,
                "channel": rng.choice(["call", "chat", "email"], n)}
    options = {"kpis": ["wait_p90", "offered"], "by": ["channel"], "grain": "1h"}
    exact = kpiforge.compute({"contacts": contacts}, **options)
    streamed = kpiforge.compute({"contacts": contacts}, chunk_rows=7_000, **options)
    np.testing.assert_array_equal(streamed["wait_p90"], exact["wait_p90"])
