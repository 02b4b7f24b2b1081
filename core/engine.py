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
from kpiforge.grouping import combine, factorize, factorize_keys, sort_order
from kpiforge.readers import TableSource, load_sources
from kpiforge.registry import Registry, default_registry
from kpiforge.results import INTERVAL_START, Result
from kpiforge.tables import SCHEMAS, Table


def compute(data: Any, kpis: Iterable[str] | None = None, by: Sequence[str] = (),
            grain: str | None = None, *, params: Mapping[str, float] | None = None,
            registry: Registry | None = None) -> Result:
    """Compute KPIs over ``data``, one row per group.

    Parameters
    ----------
    data
        A path (a contacts CSV/Parquet file, or a directory with ``contacts``,
        ``agent_intervals`` and ``customers`` files), a mapping of table name -> columns
        (dict of numpy arrays, pandas or polars DataFrame, pyarrow Table) or path, or one
        frame of contacts.
    kpis
        KPI and KGI ids; None computes every KPI the data supports.
    by
        Dimension names to group by (``kpiforge`` lists them in ``kpiforge kpis list``).
    grain
        ``15min``, ``30min``, ``1h``, ``1d``, ``1w`` or ``1mo``: adds an ``interval_start``
        dimension from each table's time column (``arrived_s`` for contacts).
    params
        Overrides of parameter defaults, such as ``{"sl_threshold_s": 30}``.
    registry
        The definitions to use; by default every installed plugin's.

    Raises
    ------
    KpiforgeError
        For unknown KPIs, dimensions or parameters, missing columns and bad data.
    """
    registry = registry or default_registry()
    sources = load_sources(data)
    plan = Plan.make(registry, sources, kpis, by, grain, params)
    partials = [table_partial(sources[name].read(plan.columns[name]), plan)
                for name in plan.tables]
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


@attrs.frozen(eq=False)
class Plan:
    """What to compute and what to read, decided once before any data is read."""

    registry: Registry
    outputs: tuple[KPI, ...]
    needed: tuple[KPI, ...]
    measures: dict[str, tuple[Measure, ...]]
    columns: dict[str, set[str]]
    dimensions: tuple[Dimension, ...]
    grain: str | None
    params: dict[str, float]
    skipped: dict[str, str]

    @property
    def tables(self) -> list[str]:
        return list(self.measures)

    @property
    def key_names(self) -> tuple[str, ...]:
        names = tuple(d.name for d in self.dimensions)
        return (*names, INTERVAL_START) if self.grain else names

    @classmethod
    def make(cls, registry: Registry, sources: Mapping[str, TableSource],
             kpis: Iterable[str] | None, by: Sequence[str], grain: str | None,
             params: Mapping[str, float] | None) -> Plan:
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
        by_table: dict[str, tuple[Measure, ...]] = {
            t: tuple(m for m in measures if m.table == t) for t in SCHEMAS
        }
        by_table = {t: ms for t, ms in by_table.items() if ms}
        columns = {}
        for table, table_measures in by_table.items():
            wanted = set().union(*(m.columns for m in table_measures))
            wanted |= {d.columns[table] for d in dimensions}
            wanted.add(SCHEMAS[table].time_column)  # required, and it gives the row count
            columns[table] = wanted
        return cls(registry=registry, outputs=tuple(outputs), needed=tuple(needed),
                   measures=by_table, columns=columns, dimensions=dimensions, grain=grain,
                   params=_resolve_params(registry, params), skipped=skipped)

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
        for measure in (m for table in self.measures.values() for m in table):
            accumulator = accumulator_for(measure)
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



def table_partial(table: Table, plan: Plan) -> Partial:
    """One vectorised pass over ``table``: group codes, then every measure of the table."""
    codes, key_values = [], []
    for dimension in plan.dimensions:
        column_codes, keys = factorize(table.columns[dimension.columns[table.name]])
        codes.append(column_codes)
        key_values.append(keys)
    time = table.columns.get(table.schema.time_column)
    if plan.grain:
        column_codes, keys = factorize(interval_numbers(time, plan.grain, table.epoch))
        codes.append(column_codes)
        key_values.append(keys)
    groups = combine(codes, key_values, plan.key_names, rows=len(table))
    memo: dict[str, Any] = {}

    def lookup(name: str) -> Any:
        if name in plan.params:
            return plan.params[name]
        return table.columns[name]

    states = {}
    for measure in plan.measures[table.name]:
        values = mask = None
        if measure.value_expression is not None:
            values = _as_values(measure, measure.value_expression.evaluate(lookup, memo), table)
        if measure.where_expression is not None:
            mask = _as_mask(measure.where_expression.evaluate(lookup, memo), len(table))
        states[measure.name] = accumulator_for(measure).accumulate(groups, values, mask)
    time_range = (float(np.nanmin(time)), float(np.nanmax(time))) if time is not None \
        else (np.nan, np.nan)
    return Partial(table=table.name, keys=groups.keys, count=groups.count, states=states,
                   time_range=time_range, epoch=table.epoch)


def align(partials: Sequence[Partial], names: Sequence[str]
          ) -> tuple[dict[str, np.ndarray], int, list[np.ndarray]]:
    """One key space for several partials: keys, group count, and per partial the index
    mapping its groups into it."""
    if not names:
        return {}, 1, [np.zeros(1, dtype=np.intp) for _ in partials]
    codes, key_values = [], []
    for name in names:
        column_codes, keys = factorize_keys(np.concatenate([p.keys[name] for p in partials]))
        codes.append(column_codes)
        key_values.append(keys)
    groups = combine(codes, key_values, names, rows=len(codes[0]))
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
