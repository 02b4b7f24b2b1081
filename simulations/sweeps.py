"""Sweeps: a scenario run over a grid of key values, each point's KPIs with confidence
intervals from replications, in parallel locally or on a Dask cluster.

``--grid staffing.agents=40:60:5`` gives 40, 45, ... 60 (the stop is included);
``--grid staffing.shrinkage=0.1,0.2,0.3`` lists values (TOML values, or relative changes
such as ``*1.2``); several grids make their cross product, the first key varying slowest.
Every point's scenario is checked before anything runs, so a bad key or value is an error
naming it. The points' replications are independent jobs; a point's row is ready when its
last replication finishes, and a point whose replication fails is reported with its grid
values while the others go on.

>>> axes = [Axis.parse("staffing.agents=10:14:2"), Axis.parse("staffing.shrinkage=0,0.1")]
>>> [p.label for p in grid_points(axes)][:3]
['staffing.agents=10, staffing.shrinkage=0', 'staffing.agents=10, staffing.shrinkage=0.1', \
'staffing.agents=12, staffing.shrinkage=0']
"""

from __future__ import annotations

import copy
import itertools
import json
import math
import os
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import attrs
import pyarrow as pa
import pyarrow.csv as pacsv

from kpiforge.errors import KpiforgeError
from kpiforge.io.csvfiles import describe_csv_error
from kpiforge.io.output import csv_text, json_text, write_text
from kpiforge.simulations.executors import executor
from kpiforge.simulations.overrides import value_of
from kpiforge.simulations.replications import (
    Job,
    Outcome,
    aligned,
    replication_jobs,
    run_job,
    with_goals,
)
from kpiforge.simulations.scenario import (
    Scenario,
    ScenarioError,
    apply_overrides,
    parse_scenario,
    read_raw,
)

#: Formats a sweep streams to a file.
STREAM_FORMATS = ("csv", "json")
REPLICATIONS = "replications"


@attrs.frozen
class Axis:
    """One ``--grid`` key and its values (as ``--set`` texts)."""

    key: str
    texts: tuple[str, ...]

    @classmethod
    def parse(cls, spec: str) -> Axis:
        """``key=start:stop[:step]`` (numbers; the stop included) or ``key=v1,v2,...``
        (a single value with a colon that does not start with a number, such as
        ``08:00-18:00``, is a value)."""
        key, sep, values = spec.partition("=")
        key, values = key.strip(), values.strip()
        if not sep or not key or not values:
            raise KpiforgeError(f"--grid {spec}: expected KEY=START:STOP[:STEP] or "
                                "KEY=V1,V2,...")
        first = values.split(":")[0].strip()
        if ":" in values and "," not in values and isinstance(value_of(first), int | float):
            return cls(key, _range(key, values))
        texts = tuple(_split_values(values))
        if not all(texts):
            raise KpiforgeError(f"--grid {key}={values}: an empty value in the list")
        return cls(key, texts)

    def values(self) -> list[Any]:
        """The values as they are reported: numbers where every value is one, else text."""
        typed = [value_of(t) for t in self.texts]
        if all(isinstance(v, int | float) and not isinstance(v, bool) for v in typed):
            return typed
        return list(self.texts)


def _range(key: str, spec: str) -> tuple[str, ...]:
    parts = spec.split(":")
    numbers = [value_of(p.strip()) for p in parts]
    if len(parts) not in (2, 3) or not all(
            isinstance(n, int | float) and not isinstance(n, bool) for n in numbers):
        raise KpiforgeError(f"--grid {key}={spec}: a range is START:STOP or START:STOP:STEP "
                            "with numbers, e.g. 40:60:5")
    start, stop = numbers[0], numbers[1]
    step = numbers[2] if len(numbers) == 3 else 1
    if step == 0 or (stop - start) * step < 0:
        raise KpiforgeError(f"--grid {key}={spec}: the step {step} does not lead from "
                            f"{start} to {stop}")
    count = math.floor((stop - start) / step + 1e-9) + 1
    whole = all(isinstance(n, int) for n in (start, stop, step))
    return tuple(str(start + i * step) if whole else f"{start + i * step:.10g}"
                 for i in range(count))


def _split_values(text: str) -> list[str]:
    """Comma-separated values; commas inside brackets, braces or quotes stay."""
    values, depth, quote, current = [], 0, "", ""
    for char in text:
        if quote:
            quote = "" if char == quote else quote
        elif char in "\"'":
            quote = char
        elif char in "[{":
            depth += 1
        elif char in "]}":
            depth -= 1
        elif char == "," and depth == 0:
            values.append(current.strip())
            current = ""
            continue
        current += char
    return [*values, current.strip()]


@attrs.frozen
class Point:
    """One grid point: its position, its ``--set`` texts and reported values by key."""

    index: int
    settings: Mapping[str, str]
    values: Mapping[str, Any]

    @property
    def label(self) -> str:
        return ", ".join(f"{key}={text}" for key, text in self.settings.items())


def grid_points(axes: Sequence[Axis]) -> list[Point]:
    """The cross product of the axes' values, the first axis varying slowest."""
    keys = [axis.key for axis in axes]
    if len(set(keys)) != len(keys):
        raise KpiforgeError(f"--grid {next(k for k in keys if keys.count(k) > 1)} is given "
                            "twice; list its values in one --grid")
    reported = [axis.values() for axis in axes]
    positions = itertools.product(*(range(len(axis.texts)) for axis in axes))
    return [Point(index, {a.key: a.texts[i] for a, i in zip(axes, at, strict=True)},
                  {a.key: values[i] for a, values, i in zip(axes, reported, at, strict=True)})
            for index, at in enumerate(positions)]


@attrs.frozen(eq=False)
class Sweep:
    """A checked sweep: every grid point with its scenario."""

    keys: tuple[str, ...]
    points: tuple[Point, ...]
    scenarios: tuple[Scenario, ...]


def prepare_sweep(scenario: str | Path, grid: Sequence[str],
                  settings: Mapping[str, str] | None = None) -> Sweep:
    """The grid points of ``grid`` (``--grid`` specs) over ``scenario`` (a file or built-in
    name) with ``settings`` (``--set``), each point's scenario loaded and checked."""
    if not grid:
        raise KpiforgeError("a sweep needs at least one --grid KEY=VALUES")
    axes = [Axis.parse(spec) for spec in grid]
    raw, source = read_raw(scenario)
    apply_overrides(raw, settings or {}, source)
    points = grid_points(axes)
    scenarios = []
    for point in points:
        data = copy.deepcopy(raw)
        try:
            apply_overrides(data, point.settings, source, "--grid")
            scenarios.append(parse_scenario(data, source))
        except ScenarioError as exc:
            raise KpiforgeError(f"--grid point {point.label}: {exc}") from None
    return Sweep(tuple(a.key for a in axes), tuple(points), tuple(scenarios))


@attrs.frozen
class PointResult:
    """A finished point: its output row, or the error that stopped it."""

    point: Point
    row: dict[str, Any] | None
    error: str | None = None


def run_sweep(sweep: Sweep, replications: int, *, kpis: Sequence[str] | None = None,
              params: Mapping[str, Any] | None = None, workers: int | None = None,
              client: Any = None, skip: Sequence[int] = (),
              progress: Callable[[int, int], None] | None = None) -> Iterator[PointResult]:
    """Run ``replications`` replications of every point (but those at positions ``skip``)
    in ``workers`` processes or on a Dask ``client``; yield each point as its last
    replication finishes. ``progress(done, total)`` counts replications. Where a point's
    scenario has a customer base, its row also has the goals (KGIs: churn, LTV...) and
    ``staffed_hours`` beside the KPIs asked for (:func:`~.replications.with_goals`)."""
    skipped = set(skip)
    jobs: list[Job] = []
    owner: list[int] = []
    for point, scenario in zip(sweep.points, sweep.scenarios, strict=True):
        if point.index not in skipped:
            jobs += replication_jobs(scenario, replications,
                                     kpis=with_goals(scenario, kpis), params=params)
            owner += [point.index] * replications
    outcomes: dict[int, list[Outcome | None]] = {}
    reported: dict[int, int] = {}
    errors: dict[int, str] = {}
    for done, (index, outcome, error) in enumerate(
            executor(workers, client, len(jobs)).run(run_job, jobs), start=1):
        position = owner[index]
        outcomes.setdefault(position, [None] * replications)[jobs[index].index] = outcome
        reported[position] = reported.get(position, 0) + 1
        if error is not None and position not in errors:
            errors[position] = _describe(error)
        if progress is not None:
            progress(done, len(jobs))
        if reported[position] == replications:
            point = sweep.points[position]
            yield PointResult(point, None, errors[position]) if position in errors else \
                PointResult(point, point_row(point, sweep.scenarios[position],
                                             outcomes[position]))


def _describe(error: BaseException) -> str:
    return str(error) if isinstance(error, KpiforgeError) else \
        f"{type(error).__name__}: {error}"


def point_row(point: Point, scenario: Scenario, outcomes: Sequence[Outcome | None]
              ) -> dict[str, Any]:
    """A point's output row: its grid values, ``replications``, and per KPI its mean with
    ``<kpi>_ci_low`` and ``<kpi>_ci_high`` (None where undefined)."""
    runs = aligned([scenario], [[o for o in outcomes if o is not None]])[0]
    summary = runs.summary()
    row: dict[str, Any] = {**point.values, REPLICATIONS: runs.replications}
    for kpi in summary.mean:
        for name, values in ((kpi, summary.mean), (f"{kpi}_ci_low", summary.low),
                             (f"{kpi}_ci_high", summary.high)):
            value = float(values[kpi][0]) if len(values[kpi]) else math.nan
            row[name] = None if math.isnan(value) else value
    return row


class SweepFile:
    """A sweep's output file, rewritten whole (atomically) as each point finishes, rows in
    grid order: an interrupted sweep leaves a complete file of the points done so far.
    ``fmt`` is csv or json (a list of objects)."""

    def __init__(self, path: str | os.PathLike, fmt: str, sweep: Sweep) -> None:
        if fmt not in STREAM_FORMATS:
            raise KpiforgeError(f"a sweep streams its rows as {' or '.join(STREAM_FORMATS)}, "
                                f"not {fmt!r}")
        self.path, self.fmt, self.sweep = Path(path), fmt, sweep
        self.rows: dict[int, dict[str, Any]] = {}

    def resume(self, replications: int) -> list[int]:
        """Take the rows of the points already in the file (run with ``replications``);
        the positions of those points."""
        if not self.path.exists():
            return []
        by_values = {_identity(p.values, self.sweep.keys): p for p in self.sweep.points}
        for row in self._read():
            point = by_values.get(_identity(row, self.sweep.keys))
            if point is not None and row.get(REPLICATIONS) == replications:
                self.rows[point.index] = {**row, **point.values}
        return sorted(self.rows)

    def add(self, row: dict[str, Any], position: int) -> None:
        self.rows[position] = row
        self.write()

    def write(self) -> None:
        rows = [self.rows[i] for i in sorted(self.rows)]
        if self.fmt == "json":
            write_text(json_text(rows), self.path)
        else:
            write_text(csv_text(rows_table(rows, self.sweep.keys)) if rows else "", self.path)

    def _read(self) -> list[dict[str, Any]]:
        label = str(self.path)
        if self.fmt == "json":
            try:
                rows = json.loads(self.path.read_text(encoding="utf-8") or "[]")
            except (json.JSONDecodeError, UnicodeDecodeError) as exc:
                raise KpiforgeError(f"{label}: cannot resume from it, not a JSON list of "
                                    f"rows: {exc}") from None
            if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
                raise KpiforgeError(f"{label}: cannot resume from it, not a JSON list of rows")
            return rows
        if self.path.stat().st_size == 0:
            return []
        try:
            table = pacsv.read_csv(self.path, convert_options=pacsv.ConvertOptions(
                column_types=dict.fromkeys(self.sweep.keys, pa.string())))
        except pa.ArrowInvalid as exc:
            raise KpiforgeError(describe_csv_error(self.path, label, exc)) from None
        return table.to_pylist()


def _identity(values: Mapping[str, Any], keys: Sequence[str]) -> tuple[Any, ...]:
    """A point's grid values compared across formats (12, 12.0 and "12" are the same)."""
    def canonical(value: Any) -> Any:
        if isinstance(value, bool):
            return str(value).lower()
        try:
            return float(value)
        except (TypeError, ValueError):
            return str(value)

    return tuple(canonical(values.get(key)) for key in keys)


def rows_table(rows: Sequence[Mapping[str, Any]], keys: Sequence[str]) -> pa.Table:
    """Sweep rows as a table: the grid keys, ``replications``, then every KPI's three
    columns in the order they first appear (null where a row lacks one)."""
    names = list(dict.fromkeys([*keys, REPLICATIONS, *(n for r in rows for n in r)]))
    return pa.table({name: pa.array([r.get(name) for r in rows]) for name in names})
