"""Sweep speed: a grid of points x replications of the flat scenario on 1 and 2 local
worker processes and on a Dask LocalCluster of 2 worker processes, and the parallel
efficiency ``t(1 worker) / (workers x t(workers))``.

The full size is 40 points (``staffing.agents=11:50``) x 10 replications of one week
(``--sim-days`` 7 or more). Below a week of ``--sim-days`` (the CI smoke's 1) it shrinks to
2 points x 2 replications of that many days; ``--sweep-points`` and
``--sweep-replications`` set other sizes. Each benchmark records ``workers``, the machine's
``cores`` and, after the 1-worker run in the same session, ``parallel_efficiency``.
"""

from __future__ import annotations

import os

import pytest

from kpiforge.simulations.sweeps import prepare_sweep, run_sweep

_SECONDS: dict[str, float] = {}


@pytest.fixture(scope="module")
def size(request, sim_days):
    days = min(sim_days, 7)
    full = days >= 7
    points = request.config.getoption("--sweep-points") or (40 if full else 2)
    replications = request.config.getoption("--sweep-replications") or (10 if full else 2)
    return points, replications, days


def sweep_rows(size, workers=None, client=None) -> int:
    points, replications, days = size
    sweep = prepare_sweep("flat", [f"staffing.agents=11:{10 + points}"],
                          {"scenario.days": str(days)})
    return sum(1 for done in run_sweep(sweep, replications, kpis=["service_level", "asa"],
                                       workers=workers, client=client) if done.row)


def record(benchmark, name: str, workers: int, size) -> None:
    seconds = benchmark.stats.stats.min
    _SECONDS[name] = seconds
    points, replications, days = size
    benchmark.extra_info.update(workers=workers, cores=os.cpu_count(), points=points,
                                replications=replications, days=days)
    if "1 worker" in _SECONDS and workers > 1:
        benchmark.extra_info["parallel_efficiency"] = _SECONDS["1 worker"] / (workers * seconds)


@pytest.mark.benchmark(group="sweep")
@pytest.mark.parametrize("workers", [1, 2])
def test_local_processes(benchmark, size, workers):
    rows = benchmark.pedantic(sweep_rows, args=(size, workers), rounds=1, iterations=1)
    assert rows == size[0]
    record(benchmark, f"{workers} worker{'s' if workers > 1 else ''}", workers, size)


@pytest.mark.benchmark(group="sweep")
def test_dask_local_cluster(benchmark, size):
    """Two single-threaded worker processes; the cluster starts before the timing."""
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster, \
            distributed.Client(cluster) as client:
        rows = benchmark.pedantic(sweep_rows, args=(size,), kwargs={"client": client},
                                  rounds=1, iterations=1)
    assert rows == size[0]
    record(benchmark, "dask", 2, size)
