"""``compute``: KPIs over contact, agent and customer tables, grouped, in one pass per table.

The engine plans once (which KPIs, which measures per table, which columns to read), makes
one vectorised pass per table (group codes, then every measure of that table accumulated
over the shared codes), merges the per-table partial results onto one key space, and
evaluates the KPI formulas over the group arrays. Partial results are mergeable, so the same
pass can run per chunk or per worker and be combined exactly.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import attrs
import numpy as np

from kpiforge.accumulators import accumulator_for
from kpiforge.categorical import Categorical
from kpiforge.definitions import KPI, Dimension, Measure
from kpiforge.errors import KpiforgeError, did_you_mean
from kpiforge.grains import check_grain, interval_bounds, interval_numbers
from kpiforge.grouping import Groups, combine, factorize, factorize_keys, sort_order
from kpiforge.readers import TableSource, load_sources
from kpiforge.registry import Registry, default_registry
from kpiforge.results import INTERVAL_START, Result
from kpiforge.tables import SCHEMAS, Table


def compute(data: Any, kpis: Iterable[str] | None = None, by: Sequence[str] = (),
            grain: str | None = None, *, params: Mapping[str, float] | None = None,
            registry: Registry | None = None, chunk_rows: int | None = None,
            workers: int | None = None, scheduler: Any = None) -> Result:
    """Compute KPIs over ``data``, one row per group.

    Parameters
    ----------
    data
        A path (a contacts CSV/Parquet file or directory of part files, or a directory with
        ``contacts``, ``agent_intervals`` and ``customers`` files), a mapping of table name
        -> columns (dict of numpy arrays, pandas, polars or Dask DataFrame, pyarrow Table)
        or path, one frame of contacts, or an iterable of contact frames (streamed).
    kpis
        KPI and KGI ids; None computes every KPI the data supports.
    by
        Dimension names to group by (``kpiforge kpis list`` shows them).
    grain
        ``15min``, ``30min``, ``1h``, ``1d``, ``1w`` or ``1mo``: adds an ``interval_start``
        dimension from each table's time column (``arrived_s`` for contacts).
    params
        Overrides of parameter defaults, such as ``{"sl_threshold_s": 30}``.
    registry
        The definitions to use; by default every installed plugin's.
    chunk_rows
        Stream the data in chunks of this many rows: memory stays bounded however large
        the input. Quantiles stay exact when the data can be read twice (files, in-memory
        tables: a second pass reads only the rows near each group's quantile); from an
        iterator they come from a sketch (relative error <= 0.5 %).
    workers
        Process chunks in this many worker processes (implies chunks; default chunk size
        1,000,000 rows).
    scheduler
        A ``dask.distributed.Client``: run the same passes as Dask tasks (needs
        ``kpiforge[dask]``).

    In memory, each table is split into pieces processed by a thread per core; every way
    of running gives the same answers (quantiles from the sketch within its error, in
    worker processes, on Dask and from iterators).

    Raises
    ------
    KpiforgeError
        For unknown KPIs, dimensions or parameters, missing columns and bad data.
    """
    from kpiforge import execution

    registry = registry or default_registry()
    sources = load_sources(data)
    if workers is not None or scheduler is not None:
        quantiles = "sketch"
    elif chunk_rows is not None:
        rereadable = all(s.stream is None and s.frame is None for s in sources.values())
        quantiles = "resolved" if rereadable else "sketch"
    else:
        quantiles = "exact"
    plan = Plan.make(registry, sources, kpis, by, grain, params, quantiles)
    if scheduler is not None:
        from kpiforge.distributed import dask_partials

        partials = dask_partials(plan, sources, scheduler, chunk_rows)
    elif workers is not None:
        partials = execution.process_partials(plan, sources, chunk_rows, workers)
    elif chunk_rows is not None:
        partials = execution.streamed_partials(plan, sources, chunk_rows)
    else:
        partials = execution.in_memory_partials(plan, sources)
    return plan.finish(partials)


@attrs.frozen(eq=False)
class Partial:
    """Mergeable result of a pass over some rows of one table: group keys, measure states."""

    table: str
    keys: dict[str, np.ndarray]
    count: int
    states: dict[str, Any]
    time_range: tuple[float, float]
    epoch: dt.datetime


@attrs.frozen
class PassSpec:
    """Everything one pass over rows of one table needs; small and picklable, so it travels
    to worker processes and Dask workers."""

    table: str
    measures: tuple[Measure, ...]
    dimensions: tuple[tuple[str, str], ...]
    grain: str | None
    params: Mapping[str, float]
    quantiles: str

    @property
    def key_names(self) -> tuple[str, ...]:
        names = tuple(name for name, _ in self.dimensions)
        return (*names, INTERVAL_START) if self.grain else names

    @property
    def columns(self) -> set[str]:
        """The columns to read: measures' inputs, dimension keys and the time column (which
        every table has, and which gives the row count)."""
        wanted = set().union(*(m.columns for m in self.measures))
        wanted |= {column for _, column in self.dimensions}
        wanted.add(SCHEMAS[self.table].time_column)
        return wanted


@attrs.frozen(eq=False)
class Plan:
    """What to compute and what to read, decided once before any data is read."""

    registry: Registry
    outputs: tuple[KPI, ...]
    needed: tuple[KPI, ...]
    specs: dict[str, PassSpec]
    dimensions: tuple[Dimension, ...]
    grain: str | None
    params: dict[str, float]
    skipped: dict[str, str]

    @property
    def key_names(self) -> tuple[str, ...]:
        names = tuple(d.name for d in self.dimensions)
        return (*names, INTERVAL_START) if self.grain else names

    @classmethod
    def make(cls, registry: Registry, sources: Mapping[str, TableSource],
             kpis: Iterable[str] | None, by: Sequence[str], grain: str | None,
             params: Mapping[str, float] | None, quantiles: str = "exact") -> Plan:
        """Choose KPIs and columns; raise :class:`KpiforgeError` for what cannot work."""
        if isinstance(by, str):
            by = (by,)
        dimensions = tuple(registry.dimension(name) for name in by)
        if grain is not None:
            check_grain(grain)
        explicit = kpis is not None
        requested = [registry.kpi(n) for n in kpis] if explicit else list(registry.kpis.values())
        outputs, skipped = [], {}
        for kpi in requested:
            reason = _unsupported(registry, kpi, sources, dimensions, explicit)
            if reason is None:
                outputs.append(kpi)
            elif explicit:
                raise KpiforgeError(reason)
            else:
                skipped[kpi.name] = reason
        if not outputs:
            raise KpiforgeError("none of the KPIs can be computed from this data: "
                                + "; ".join(sorted(set(skipped.values()))[:3]))
        needed, measures = registry.closure(k.name for k in outputs)
        resolved = _resolve_params(registry, params)
        specs = {}
        for table in SCHEMAS:
            table_measures = tuple(m for m in measures if m.table == table)
            if table_measures:
                specs[table] = PassSpec(
                    table=table, measures=table_measures,
                    dimensions=tuple((d.name, d.columns[table]) for d in dimensions),
                    grain=grain, params=resolved, quantiles=quantiles)
        return cls(registry=registry, outputs=tuple(outputs), needed=tuple(needed),
                   specs=specs, dimensions=dimensions, grain=grain, params=resolved,
                   skipped=skipped)

    def finish(self, partials: Sequence[Partial]) -> Result:
        """Merge partial results (any number per table: chunks, workers) on one key space
        and evaluate the KPIs."""
        epochs = {p.epoch for p in partials}
        if len(epochs) > 1:
            raise KpiforgeError(f"the tables count time from different epochs {sorted(epochs)}; "
                                "read them with one epoch")
        epoch = partials[0].epoch
        keys, count, indexes = align(partials, self.key_names)
        parts = defaultdict(list)
        for partial, index in zip(partials, indexes, strict=True):
            for name, state in partial.states.items():
                parts[name].append((state, index))
        values: dict[str, Any] = dict(self.params)
        for spec in self.specs.values():
            for measure in spec.measures:
                accumulator = accumulator_for(measure, spec.quantiles)
                values[measure.name] = accumulator.finalize(
                    accumulator.merge(parts[measure.name], count), count)
        if self.grain:
            keys[INTERVAL_START], values["grain_s"] = interval_bounds(
                keys[INTERVAL_START], self.grain, epoch)
        else:
            ranges = [p.time_range for p in partials if p.table == "contacts"]
            values["grain_s"] = (max(r[1] for r in ranges) - min(r[0] for r in ranges)
                                 if ranges else np.nan)
        for kpi in self.needed:
            result = np.empty(count)
            result[...] = kpi.evaluate(values)
            values[kpi.name] = result
        order = sort_order(keys) if keys else np.arange(count)
        return Result(
            dimensions=self.key_names,
            keys={n: k[order] for n, k in keys.items()},
            values={k.name: values[k.name][order] for k in self.outputs},
            kpis={k.name: k for k in self.outputs},
            grain=self.grain,
            epoch=epoch,
            params=self.params,
            skipped=self.skipped,
        )



def table_partial(table: Table, spec: PassSpec) -> Partial:
    """One vectorised pass over ``table``: group codes, then every measure of the table."""
    groups = group_rows(table, spec)
    memo: dict[str, Any] = {}
    states = {measure.name: accumulator_for(measure, spec.quantiles).accumulate(
                  groups, *measure_inputs(measure, table, spec, memo))
              for measure in spec.measures}
    time = table.columns[table.schema.time_column]
    return Partial(table=table.name, keys=groups.keys, count=groups.count, states=states,
                   time_range=(float(np.min(time)), float(np.max(time))), epoch=table.epoch)


def group_rows(table: Table, spec: PassSpec) -> Groups:
    """Which group each row of ``table`` is in, under ``spec``'s dimensions and grain."""
    factors = [factorize(table.columns[column]) for _, column in spec.dimensions]
    if spec.grain:
        time = table.columns[table.schema.time_column]
        factors.append(factorize(interval_numbers(time, spec.grain, table.epoch)))
    return combine(factors, spec.key_names, rows=len(table))


def measure_inputs(measure: Measure, table: Table, spec: PassSpec, memo: dict[str, Any]
                   ) -> tuple[np.ndarray | None, np.ndarray | None]:
    """A measure's values and filter mask over ``table`` (None where it has none);
    ``memo`` shares sub-expressions between the measures of one pass."""

    def lookup(name: str) -> Any:
        return spec.params[name] if name in spec.params else table.columns[name]

    values = mask = None
    if measure.value_expression is not None:
        values = _as_values(measure, measure.value_expression.evaluate(lookup, memo), table)
    if measure.where_expression is not None:
        mask = _as_mask(measure.where_expression.evaluate(lookup, memo), len(table))
    return values, mask


def merge_partials(partials: Sequence[Partial], spec: PassSpec) -> Partial:
    """One partial equal to the pass over all of ``partials``' rows (same table)."""
    if len(partials) == 1:
        return partials[0]
    keys, count, indexes = align(partials, spec.key_names)
    states = {}
    for measure in spec.measures:
        accumulator = accumulator_for(measure, spec.quantiles)
        states[measure.name] = accumulator.merge(
            [(p.states[measure.name], index) for p, index in zip(partials, indexes,
                                                                  strict=True)], count)
    return Partial(table=spec.table, keys=keys, count=count, states=states,
                   time_range=(min(p.time_range[0] for p in partials),
                               max(p.time_range[1] for p in partials)),
                   epoch=partials[0].epoch)


def align(partials: Sequence[Partial], names: Sequence[str]
          ) -> tuple[dict[str, np.ndarray], int, list[np.ndarray]]:
    """One key space for several partials: keys, group count, and per partial the index
    mapping its groups into it."""
    if not names:
        return {}, 1, [np.zeros(1, dtype=np.intp) for _ in partials]
    if len(partials) == 1:
        return dict(partials[0].keys), partials[0].count, [np.arange(partials[0].count)]
    factors = [factorize_keys(np.concatenate([p.keys[name] for p in partials]))
               for name in names]
    groups = combine(factors, names, rows=len(factors[0].codes))
    bounds = np.cumsum([0, *(p.count for p in partials)])
    indexes = [groups.codes[bounds[i]:bounds[i + 1]] for i in range(len(partials))]
    return groups.keys, groups.count, indexes


def _as_values(measure: Measure, values: Any, table: Table) -> np.ndarray:
    if isinstance(values, Categorical):
        raise KpiforgeError(f"measure {measure.name!r}: its value reads a text column of "
                            f"{table.source}; aggregate numbers, or filter with where=")
    values = np.asarray(values)
    if values.ndim == 0:
        return np.full(len(table), float(values))
    return values.astype(np.float64) if values.dtype.kind == "b" else values


def _as_mask(mask: Any, rows: int) -> np.ndarray:
    mask = np.asarray(mask)
    if mask.dtype.kind != "b":
        with np.errstate(invalid="ignore"):
            mask = (mask != 0) & ~np.isnan(mask.astype(np.float64))
    return np.broadcast_to(mask, (rows,)) if mask.ndim == 0 else mask


def _unsupported(registry: Registry, kpi: KPI, sources: Mapping[str, TableSource],
                 dimensions: Sequence[Dimension], explicit: bool) -> str | None:
    """Why ``kpi`` cannot be computed here (None if it can); raise for broken input data."""
    _, measures = registry.closure([kpi.name])
    for measure in measures:
        source = sources.get(measure.table)
        if source is None:
            option = {"agent_intervals": "--agents PATH",
                      "customers": "--customers PATH"}.get(measure.table, "PATH")
            return (f"{kpi.kind} {kpi.name!r} needs the {measure.table} table; pass it "
                    f"({option}, or a {measure.table!r} key in data)")
        for dimension in dimensions:
            column = dimension.columns.get(measure.table)
            if column is None:
                return (f"{kpi.kind} {kpi.name!r} reads the {measure.table} table, which "
                        f"cannot be grouped by {dimension.name!r}")
            if column not in source.column_names:
                raise KpiforgeError(
                    f"{source.label}: column {column!r} is missing; grouping by "
                    f"{dimension.name!r} needs it"
                )
        for column in sorted(measure.columns - set(source.column_names)):
            message = (f"{source.label}: column {column!r} is missing; {kpi.kind} {kpi.name!r} "
                       f"(plugin {registry.origin[kpi.name]!r}) needs it"
                       f"{did_you_mean(column, source.column_names)}")
            if explicit or column in SCHEMAS[measure.table].columns:
                raise KpiforgeError(message + "; add the column, or choose KPIs that do not "
                                    "need it (--kpi ID / kpis=[...])")
            return message
    return None


def _resolve_params(registry: Registry, overrides: Mapping[str, float] | None
                    ) -> dict[str, float]:
    params = dict(registry.params)
    for name, value in (overrides or {}).items():
        if name not in params:
            raise KpiforgeError(
                f"unknown parameter {name!r}{did_you_mean(name, params)}; known: "
                f"{', '.join(sorted(params)) or 'none'}"
            )
        try:
            params[name] = float(value)
        except (TypeError, ValueError):
            raise KpiforgeError(f"parameter {name!r} must be a number, got {value!r}") from None
    return params
