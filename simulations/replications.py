"""Replications: one scenario run with independent seeds, its KPIs per replication, and
their means with confidence intervals.

A single simulated week is one draw of what could happen; a planner's question ("do we make
80/20 on Monday?") needs the spread too. Replication ``i`` runs with the ``i``-th seed
spawned from the scenario's seed (:func:`~kpiforge.simulations.streams.replication_seeds`),
so replication ``i`` of two scenarios with the same seed shares its random streams: compare
what-ifs replication by replication (paired), and the noise common to both cancels.

>>> from kpiforge.simulations import builtin_scenario
>>> runs = run_replications(builtin_scenario("flat", {"scenario.days": "1"}), 3,
...                         kpis=["service_level"], workers=1)
>>> runs.values["service_level"].shape        # replications x groups
(3, 1)
>>> summary = runs.summary()
>>> bool(summary.low["service_level"][0] < summary.mean["service_level"][0]
...      < summary.high["service_level"][0])
True
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import attrs
import numpy as np
import pyarrow as pa
from scipy import stats

from kpiforge.engine import compute
from kpiforge.io.timestamps import to_datetime64
from kpiforge.simulations.executors import executor
from kpiforge.simulations.runner import check_format, simulate
from kpiforge.simulations.scenario import Scenario
from kpiforge.simulations.size import DEFAULT_LIMITS, Limits, check_size
from kpiforge.simulations.streams import replication_seeds

INTERVAL_START = "interval_start"
#: What a what-if or sweep of a scenario with a customer base reports beside the KPIs asked
#: for: the staffing paid for (``staffed_hours`` x ``hourly_cost`` is its cost) and the
#: goals it moves.
GOALS = ("staffed_hours", "churn_rate", "retention_rate", "retention_rate_excl_new",
         "upsell_rate", "cross_sell_rate", "ltv", "operating_profit", "csat", "nps")


@attrs.frozen
class Job:
    """One replication to run: the scenario, its replication number and seed, and the KPIs
    to compute (as for :func:`kpiforge.compute`); ``tables``: a directory to write the
    run's tables into (``tables/NNN/``), or None."""

    scenario: Scenario
    index: int
    seed: np.random.SeedSequence
    kpis: tuple[str, ...] | None
    by: tuple[str, ...] = ()
    grain: str | None = None
    params: Mapping[str, Any] = attrs.field(factory=dict)
    tables: Path | None = None
    fmt: str = "parquet"


@attrs.frozen
class Outcome:
    """One replication's KPIs: the group keys and each KPI's values per group."""

    dimensions: tuple[str, ...]
    keys: dict[str, np.ndarray]
    values: dict[str, np.ndarray]
    units: dict[str, str]
    epoch: dt.datetime


def run_job(job: Job) -> Outcome:
    """One replication: simulate, write its tables if asked, compute its KPIs."""
    run = simulate(job.scenario, job.seed, limits=None)  # checked once, before the jobs
    if job.tables is not None:
        directory = job.tables / replication_name(job.index)
        directory.mkdir(parents=True, exist_ok=True)
        run.write_files(directory, job.fmt)
    result = compute(run.tables(), kpis=job.kpis, by=job.by, grain=job.grain,
                     params=job.params)
    return Outcome(result.dimensions, dict(result.keys), dict(result.values),
                   {name: kpi.unit for name, kpi in result.kpis.items()}, result.epoch)


def replication_jobs(scenario: Scenario, replications: int, *,
                     kpis: Iterable[str] | None = None, by: Sequence[str] = (),
                     grain: str | None = None, params: Mapping[str, Any] | None = None,
                     tables: str | os.PathLike | None = None, fmt: str = "parquet",
                     limits: Limits | None = DEFAULT_LIMITS) -> list[Job]:
    """The jobs of ``replications`` seeded replications of ``scenario``: replication ``i``
    has the ``i``-th seed spawned from the scenario's seed. The run's size is checked
    against ``limits`` here, once, so that no job starts when one would be too large."""
    if replications < 1:
        raise ValueError(f"replications must be >= 1, got {replications}")
    check_format(fmt)
    if limits is not None:
        check_size(scenario, limits)
    return [Job(scenario, i, seed, None if kpis is None else tuple(kpis), tuple(by), grain,
                dict(params or {}), None if tables is None else Path(tables), fmt)
            for i, seed in enumerate(replication_seeds(scenario.seed, replications))]


def with_goals(scenario: Scenario, kpis: Iterable[str] | None, by: Sequence[str] = (),
               grain: str | None = None) -> list[str] | None:
    """``kpis`` followed by the :data:`GOALS` not among them, where ``scenario`` has a
    customer base and the KPIs are neither grouped (``customers`` has no channel or queue)
    nor in time intervals (its rows are months); otherwise ``kpis`` as given (None: every
    KPI the tables support, the goals included)."""
    if kpis is None:
        return None
    asked = list(kpis)
    if scenario.customer_base is None or by or grain is not None:
        return asked
    return [*asked, *(goal for goal in GOALS if goal not in asked)]


def replication_name(index: int) -> str:
    """The folder of replication ``index`` (from 0): ``001``, ``002``..."""
    return f"{index + 1:03d}"


@attrs.frozen(eq=False)
class Replications:
    """KPI values of independent replications of one scenario, aligned by group.

    ``keys`` holds each dimension's value per group (``interval_start`` in seconds from
    ``epoch``), the union of the groups of every replication in sorted order; ``values``
    each KPI's values as a (replications x groups) array, NaN where the KPI is undefined in
    a replication or the group has no rows there; ``units`` each KPI's unit.
    """

    scenario: Scenario
    dimensions: tuple[str, ...]
    keys: Mapping[str, np.ndarray]
    values: Mapping[str, np.ndarray]
    units: Mapping[str, str]
    epoch: dt.datetime

    @property
    def replications(self) -> int:
        return len(next(iter(self.values.values()))) if self.values else 0

    def summary(self, confidence: float = 0.95) -> Summary:
        """Mean, standard deviation and Student-t confidence interval per KPI and group."""
        stats_by_kpi = {name: mean_ci(values, confidence) for name, values in
                        self.values.items()}
        return Summary(self.dimensions, self.keys, self.epoch, confidence,
                       mean={k: v[0] for k, v in stats_by_kpi.items()},
                       half_width={k: v[1] for k, v in stats_by_kpi.items()},
                       std={k: v[2] for k, v in stats_by_kpi.items()},
                       count={k: v[3] for k, v in stats_by_kpi.items()})

    def to_arrow(self) -> pa.Table:
        """Every replication's KPIs: ``replication`` (from 1), the group keys, one column
        per KPI (null where undefined)."""
        reps = self.replications
        groups = next(iter(self.values.values())).shape[1] if self.values else 0
        columns: dict[str, Any] = {"replication": np.repeat(np.arange(1, reps + 1), groups)}
        for name, keys in key_columns(self.dimensions, self.keys, self.epoch).items():
            columns[name] = pa.concat_arrays([keys] * reps) if reps else keys
        for name, values in self.values.items():
            flat = values.ravel()
            columns[name] = pa.array(flat, mask=np.isnan(flat))
        return pa.table(columns)


@attrs.frozen(eq=False)
class Summary:
    """Per KPI and group: the mean over replications, the half-width of its ``confidence``
    interval (Student's t with n - 1 degrees of freedom; NaN with fewer than 2 values), the
    standard deviation and the count of replications where the KPI is defined."""

    dimensions: tuple[str, ...]
    keys: Mapping[str, np.ndarray]
    epoch: dt.datetime
    confidence: float
    mean: Mapping[str, np.ndarray]
    half_width: Mapping[str, np.ndarray]
    std: Mapping[str, np.ndarray]
    count: Mapping[str, np.ndarray]

    @property
    def low(self) -> dict[str, np.ndarray]:
        return {k: self.mean[k] - self.half_width[k] for k in self.mean}

    @property
    def high(self) -> dict[str, np.ndarray]:
        return {k: self.mean[k] + self.half_width[k] for k in self.mean}

    def to_arrow(self) -> pa.Table:
        """One row per group and KPI: the group keys, ``kpi``, ``mean``, ``ci_low``,
        ``ci_high``, ``half_width``, ``std``, ``replications`` (null where undefined)."""
        kpis = list(self.mean)
        groups = len(next(iter(self.mean.values()))) if kpis else 0
        order = np.arange(groups * len(kpis))
        group, kpi = order // max(len(kpis), 1), order % max(len(kpis), 1)
        columns: dict[str, Any] = {
            name: keys.take(pa.array(group))
            for name, keys in key_columns(self.dimensions, self.keys, self.epoch).items()}
        columns["kpi"] = pa.array([kpis[k] for k in kpi], pa.string())

        def stacked(values: Mapping[str, np.ndarray]) -> pa.Array:
            flat = np.array([values[kpis[k]][g] for g, k in zip(group, kpi, strict=True)],
                            dtype=float)
            return pa.array(flat, mask=np.isnan(flat))

        columns["mean"] = stacked(self.mean)
        columns["ci_low"] = stacked(self.low)
        columns["ci_high"] = stacked(self.high)
        columns["half_width"] = stacked(self.half_width)
        columns["std"] = stacked(self.std)
        columns["replications"] = pa.array(
            [int(self.count[kpis[k]][g]) for g, k in zip(group, kpi, strict=True)], pa.int64())
        return pa.table(columns)

    def to_records(self) -> list[dict[str, Any]]:
        """JSON-ready rows of :meth:`to_arrow` (``interval_start`` as ISO time)."""
        records = self.to_arrow().to_pylist()
        if INTERVAL_START in self.dimensions:
            for record in records:
                record[INTERVAL_START] = record[INTERVAL_START].isoformat(timespec="seconds")
        return records


def key_columns(dimensions: Sequence[str], keys: Mapping[str, np.ndarray],
                 epoch: dt.datetime) -> dict[str, pa.Array]:
    out = {}
    for name in dimensions:
        values = keys[name]
        if name == INTERVAL_START:
            out[name] = pa.array(to_datetime64(values, epoch))
        else:
            out[name] = pa.array(values.tolist() if values.dtype == object else values)
    return out


def mean_ci(values: np.ndarray, confidence: float = 0.95
            ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Mean, confidence-interval half-width, standard deviation and count along the first
    axis of ``values`` (replications first), NaN ignored; Student's t with n - 1 degrees
    of freedom. Also for paired differences of two scenarios' replications.

    >>> mean, half, std, n = mean_ci(np.array([[1.0], [2.0], [3.0]]))
    >>> float(mean[0]), round(float(half[0]), 4), float(std[0]), int(n[0])
    (2.0, 2.4841, 1.0, 3)
    """
    values = np.asarray(values, dtype=float)
    defined = ~np.isnan(values)
    n = defined.sum(axis=0)
    total = np.where(defined, values, 0.0).sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = total / n
        squares = np.where(defined, (values - mean) ** 2, 0.0).sum(axis=0)
        std = np.sqrt(squares / (n - 1))
        t = stats.t.ppf(0.5 + confidence / 2, np.maximum(n - 1, 1))
        half = np.where(n >= 2, t * std / np.sqrt(n), np.nan)
    return mean, half, np.where(n >= 2, std, np.nan), n


def run_replications(scenario: Scenario, replications: int, *,
                     kpis: Iterable[str] | None = None, by: Sequence[str] = (),
                     grain: str | None = None, params: Mapping[str, Any] | None = None,
                     workers: int | None = None, tables: str | os.PathLike | None = None,
                     fmt: str = "parquet", client: Any = None,
                     limits: Limits | None = DEFAULT_LIMITS) -> Replications:
    """Run ``replications`` seeded replications of ``scenario`` and compute their KPIs.

    Parameters
    ----------
    kpis, by, grain, params
        As for :func:`kpiforge.compute`, applied to each replication's tables.
    workers
        Worker processes (default: every core; 1 runs here). Results do not depend on it.
    tables
        A directory to write each replication's tables into, as ``001/contacts.FMT``,
        ``001/agent_intervals.FMT`` and ``001/scenario.toml``, ``002/``... (``fmt``:
        parquet or csv); None keeps only the KPIs.
    client
        A ``dask.distributed`` client to run the replications on instead of local
        processes.
    limits
        The largest run each replication may be, as for :func:`simulate` (checked once,
        before any runs).
    """
    jobs = replication_jobs(scenario, replications, kpis=kpis, by=by, grain=grain,
                            params=params, tables=tables, fmt=fmt, limits=limits)
    return aligned([scenario], [run_jobs(jobs, workers, client)])[0]


def run_scenarios(scenarios: Sequence[Scenario], replications: int, *,
                  kpis: Iterable[str] | None = None, by: Sequence[str] = (),
                  grain: str | None = None, params: Mapping[str, Any] | None = None,
                  workers: int | None = None, client: Any = None,
                  progress: Callable[[int, int], None] | None = None) -> list[Replications]:
    """:func:`run_replications` of several scenarios at once (one pool for all), their
    results on the same groups: replication ``i`` of scenarios with the same seed shares
    its random streams, so their values compare replication by replication (paired).
    ``progress(done, total)`` is called as each replication finishes."""
    jobs = [replication_jobs(s, replications, kpis=kpis, by=by, grain=grain, params=params)
            for s in scenarios]
    flat = run_jobs([job for batch in jobs for job in batch], workers, client, progress)
    return aligned(scenarios, [flat[i * replications:(i + 1) * replications]
                               for i in range(len(scenarios))])


def run_jobs(jobs: Sequence[Job], workers: int | None = None, client: Any = None,
             progress: Callable[[int, int], None] | None = None) -> list[Outcome]:
    """Every job's outcome, in job order; the first failure is raised once all are done."""
    outcomes: list[Any] = [None] * len(jobs)
    errors: list[BaseException] = []
    for done, (index, outcome, error) in enumerate(
            executor(workers, client, len(jobs)).run(run_job, jobs), start=1):
        outcomes[index] = outcome
        if error is not None:
            errors.append(error)
        if progress is not None:
            progress(done, len(jobs))
    if errors:
        raise errors[0]
    return outcomes


def aligned(scenarios: Sequence[Scenario], outcomes: Sequence[Sequence[Outcome]]
            ) -> list[Replications]:
    """Each scenario's replications on the union of the groups of every outcome, in
    sorted order (NaN where a replication has no rows for a group)."""
    first = outcomes[0][0]
    dimensions = first.dimensions
    rows = [[list(zip(*(o.keys[d].tolist() for d in dimensions), strict=True))
             if dimensions else [()] * len(next(iter(o.values.values()), []))
             for o in batch] for batch in outcomes]
    groups = sorted({key for batch in rows for keys in batch for key in keys},
                    key=lambda key: tuple((v is None, v) for v in key))
    position = {key: g for g, key in enumerate(groups)}
    columns = {d: np.array([g[i] for g in groups],
                           dtype=first.keys[d].dtype if groups else float)
               for i, d in enumerate(dimensions)}
    names = list(dict.fromkeys(name for batch in outcomes for o in batch for name in o.values))
    units = {name: unit for batch in outcomes for o in batch for name, unit in o.units.items()}
    out = []
    for scenario, batch, batch_rows in zip(scenarios, outcomes, rows, strict=True):
        values = {name: np.full((len(batch), len(groups)), np.nan) for name in names}
        for r, (outcome, keys) in enumerate(zip(batch, batch_rows, strict=True)):
            where = np.array([position[key] for key in keys], dtype=np.int64)
            for name, column in outcome.values.items():
                values[name][r, where] = column
        out.append(Replications(scenario, dimensions, columns, values, units, first.epoch))
    return out


def replicate(scenario: Scenario, replications: int, kpis: tuple[str, ...] | None = None,
              workers: int | None = None) -> list[dict[str, float]]:
    """Overall KPIs of ``replications`` independent runs, one mapping per replication (in
    ``workers`` processes; default every core, 1 runs in this process)."""
    runs = run_replications(scenario, replications, kpis=kpis, workers=workers)
    return [{name: float(values[r, 0]) for name, values in runs.values.items()}
            for r in range(runs.replications)]

