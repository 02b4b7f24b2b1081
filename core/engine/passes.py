"""One pass over rows of one table, and the mergeable partial result it gives.

A pass computes group codes from the dimensions (and the time grain), then accumulates every
measure of the table over those shared codes. Its :class:`Partial` holds the groups' keys
and one state per measure; partials of other rows (chunks, workers) merge exactly onto one
key space, so the same pass serves every way of running. Over many rows, with the compiled
loops installed, the group codes and the measures that translate come from generated loops
(``fusion.py``) with the same results; the other measures are accumulated with numpy.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import attrs
import numpy as np

from kpiforge.definitions import Measure, ParamValue, PerLabel
from kpiforge.engine.accumulators import BY_AGGREGATION, Accumulator
from kpiforge.engine.fusion import fused_groups, fused_states
from kpiforge.engine.grains import CALENDAR_KEYS, calendar_keys, interval_numbers
from kpiforge.engine.grouping import Groups, Keys, combine, factorize, factorize_keys
from kpiforge.engine.quantiles import QuantileMode, quantile_accumulator
from kpiforge.errors import KpiforgeError
from kpiforge.expressions import SharedValues
from kpiforge.io.calendars import Calendar
from kpiforge.io.categorical import Categorical
from kpiforge.io.schemas import SCHEMAS
from kpiforge.io.tables import Column, Table, check_rules
from kpiforge.results import INTERVAL_START


@attrs.frozen
class PassSpec:
    """Everything one pass over rows of one table needs; small and picklable, so it travels
    to worker processes and Dask workers."""

    table: str
    measures: tuple[Measure, ...]
    dimensions: tuple[tuple[str, str], ...]
    grain: str | None
    params: Mapping[str, ParamValue]
    quantiles: QuantileMode
    #: Per-label parameter -> the column holding its dimension's labels in this table.
    label_columns: Mapping[str, str] = attrs.field(factory=dict)
    #: The business-hours calendar ``business_s`` reads (None: none given).
    calendar: Calendar | None = None

    @property
    def key_names(self) -> tuple[str, ...]:
        names = tuple(name for name, _ in self.dimensions)
        return (*names, INTERVAL_START) if self.grain else names

    @property
    def columns(self) -> set[str]:
        """The columns to read: measures' inputs, dimension keys and the time column (which
        every table has, and which gives the row count)."""
        wanted: set[str] = set().union(*(m.columns for m in self.measures))
        wanted |= {column for _, column in self.dimensions}
        wanted |= set(self.label_columns.values())
        wanted.add(SCHEMAS[self.table].time_column)
        return wanted

    def accumulator(self, measure: Measure) -> Accumulator:
        """The accumulator computing ``measure`` in this pass."""
        return accumulator_for(measure, self.quantiles)


@attrs.frozen(eq=False)
class Partial:
    """Mergeable result of a pass over some rows of one table: group keys, measure states."""

    table: str
    keys: dict[str, Keys]
    count: int
    states: dict[str, Any]
    time_range: tuple[float, float]
    epoch: dt.datetime
    #: The time zone of the grain's intervals (None: UTC).
    tz: str | None = None


def accumulator_for(measure: Measure, quantiles: QuantileMode = QuantileMode.EXACT
                    ) -> Accumulator:
    """The accumulator that computes ``measure``, quantiles as ``quantiles`` says."""
    if measure.agg == "quantile":
        assert measure.q is not None
        return quantile_accumulator(measure.q, quantiles)
    return BY_AGGREGATION[measure.agg]()


def table_partial(table: Table, spec: PassSpec) -> Partial:
    """One pass over ``table``: group codes, then every measure of the table (those that
    fuse in one compiled loop, the others one by one)."""
    check_rules(table, {name: value for name, value in spec.params.items()
                        if not isinstance(value, PerLabel)})
    groups = group_rows(table, spec)
    accumulators = {measure.name: spec.accumulator(measure) for measure in spec.measures}
    params = row_params(table, spec)
    states = fused_states(spec.measures, accumulators, table, params, groups)
    rest = [measure for measure in spec.measures if measure.name not in states]
    shared = shared_values(rest)
    functions = row_functions(table, spec)
    for measure in rest:
        states[measure.name] = accumulators[measure.name].accumulate(
            groups, *measure_inputs(measure, table, params, shared, functions))
    time = table.time
    return Partial(table=table.name, keys=groups.keys, count=groups.count, states=states,
                   time_range=_time_range(time), epoch=table.epoch,
                   tz=table.tz)


def _time_range(time: np.ndarray) -> tuple[float, float]:
    """First and last time; for no rows (inf, -inf), which merges as nothing."""
    if not len(time):
        return np.inf, -np.inf
    return float(np.min(time)), float(np.max(time))


def group_rows(table: Table, spec: PassSpec) -> Groups:
    """Which group each row of ``table`` is in, under ``spec``'s dimensions and grain."""
    columns = [key_values(table, name, column) for name, column in spec.dimensions]
    fused = fused_groups(table, columns, spec.grain, spec.key_names)
    if fused is not None:
        return fused
    factors = [factorize(column) for column in columns]
    if spec.grain:
        factors.append(factorize(interval_numbers(table.time, spec.grain, table.epoch,
                                                  table.tz)))
    return combine(factors, spec.key_names, rows=len(table))


def key_values(table: Table, name: str, column: str) -> Column:
    """The keys of dimension ``name`` per row of ``table``: its column's values or, for a
    calendar key (hour of the day, day of the week), computed from the time column."""
    if name in CALENDAR_KEYS and column == SCHEMAS[table.name].time_column:
        return calendar_keys(table.time, name, table.epoch, table.tz)
    return table.columns[column]


def shared_values(measures: Sequence[Measure]) -> SharedValues:
    """What the expressions of ``measures``, evaluated in one pass, can share."""
    return SharedValues(e for measure in measures for e in measure.expressions)


def row_params(table: Table, spec: PassSpec) -> dict[str, float | np.ndarray]:
    """The parameters as the rows of ``table`` read them: a number, or for a per-label
    parameter each row's value by its label."""
    params: dict[str, float | np.ndarray] = {}
    for name, value in spec.params.items():
        if isinstance(value, PerLabel):
            column = table.columns.get(spec.label_columns[name]) \
                if name in spec.label_columns else None
            if column is not None and not isinstance(column, Categorical):
                raise KpiforgeError(f"{table.source}: column {spec.label_columns[name]!r} "
                                    f"holds numbers; parameter {name!r} is looked up by "
                                    "its text labels")
            params[name] = value.per_row(column, len(table))
        else:
            params[name] = value
    return params


def row_functions(table: Table, spec: PassSpec) -> dict[str, Callable[..., np.ndarray]]:
    """The functions the run provides to the rows of ``table``: ``business_s(start, end)``,
    the open seconds of the calendar, when there is one."""
    calendar = spec.calendar
    if calendar is None:
        return {}

    def business_s(start: np.ndarray, end: np.ndarray) -> np.ndarray:
        return calendar.open_seconds(start, end, table.epoch, table.tz)

    return {"business_s": business_s}


def measure_inputs(measure: Measure, table: Table, params: Mapping[str, float | np.ndarray],
                   shared: SharedValues,
                   functions: Mapping[str, Callable[..., np.ndarray]] | None = None
                   ) -> tuple[np.ndarray | None, np.ndarray | None]:
    """A measure's values and filter mask over ``table`` (None where it has none), a
    constant repeated on every row; ``params`` as :func:`row_params` gives them;
    ``shared`` (from :func:`shared_values`) shares sub-expressions between the measures of
    one pass; ``functions`` as :func:`row_functions` gives them."""

    def lookup(name: str) -> Any:
        return params[name] if name in params else table.columns[name]

    values, mask = measure.evaluate(lookup, shared, functions)
    if measure.agg == "distinct":  # a column as it is: text stays codes into labels
        return values, None if mask is None else _as_mask(mask, len(table))
    return (None if values is None else _as_values(values, len(table)),
            None if mask is None else _as_mask(mask, len(table)))


def merge_partials(partials: Sequence[Partial], spec: PassSpec) -> Partial:
    """One partial equal to the pass over all of ``partials``' rows (same table)."""
    if len(partials) == 1:
        return partials[0]
    keys, count, indexes = align(partials, spec.key_names)
    states = {}
    for measure in spec.measures:
        accumulator = spec.accumulator(measure)
        states[measure.name] = accumulator.merge(
            [(p.states[measure.name], index) for p, index in zip(partials, indexes,
                                                                  strict=True)], count)
    return Partial(table=spec.table, keys=keys, count=count, states=states,
                   time_range=(min(p.time_range[0] for p in partials),
                               max(p.time_range[1] for p in partials)),
                   epoch=partials[0].epoch, tz=partials[0].tz)


def align(partials: Sequence[Partial], names: Sequence[str]
          ) -> tuple[dict[str, Keys], int, list[np.ndarray]]:
    """One key space for several partials: keys, group count, and per partial the index
    mapping its groups into it."""
    if not names:
        return {}, 1, [np.zeros(1, dtype=np.intp) for _ in partials]
    if len(partials) == 1:
        return dict(partials[0].keys), partials[0].count, [np.arange(partials[0].count)]
    factors = [factorize_keys([p.keys[name] for p in partials], name) for name in names]
    groups = combine(factors, names, rows=len(factors[0].codes))
    assert groups.codes is not None  # there are key columns
    bounds = np.cumsum([0, *(p.count for p in partials)])
    indexes = [groups.codes[bounds[i]:bounds[i + 1]] for i in range(len(partials))]
    return groups.keys, groups.count, indexes


def _as_values(values: Any, rows: int) -> np.ndarray:
    values = np.asarray(values)
    if values.ndim == 0:
        return np.full(rows, float(values))
    return values.astype(np.float64) if values.dtype.kind == "b" else values


def _as_mask(mask: Any, rows: int) -> np.ndarray:
    mask = np.asarray(mask)
    if mask.dtype.kind != "b":
        with np.errstate(invalid="ignore"):
            mask = (mask != 0) & ~np.isnan(mask.astype(np.float64))
    return np.broadcast_to(mask, (rows,)) if mask.ndim == 0 else mask
