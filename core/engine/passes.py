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
import pyarrow as pa

from kpiforge.definitions import Measure, ParamValue, PerLabel
from kpiforge.engine.accumulators import BY_AGGREGATION, Accumulator
from kpiforge.engine.cases import CASE_ID, CaseState, case_state, merge_cases
from kpiforge.engine.fusion import fused_groups, fused_states
from kpiforge.engine.grains import (
    CALENDAR_KEYS,
    calendar_keys,
    interval_bounds,
    interval_numbers,
)
from kpiforge.engine.grouping import Groups, Keys, combine, factorize, factorize_keys, take
from kpiforge.engine.ids import IdSet
from kpiforge.engine.quantiles import QuantileMode, quantile_accumulator
from kpiforge.errors import KpiforgeError
from kpiforge.expressions import SharedValues
from kpiforge.io.calendars import Calendar
from kpiforge.io.categorical import Categorical
from kpiforge.io.schemas import SCHEMAS
from kpiforge.io.sources import TableOrigin
from kpiforge.io.tables import Column, Table, check_rules
from kpiforge.results import INTERVAL_START

#: The column a spread pass adds: each piece's share of its row's span (its overlap with
#: the piece's interval / the row's length).
SHARE = "overlap_share"


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
    #: The column of how long each row lasts, when its rows are spread over the grain's
    #: intervals (:func:`spread_rows`; its sums then read :data:`SHARE`), else None.
    span: str | None = None
    #: Measures over cases (``per="case"``): the pass keeps a :class:`CaseState` for them.
    case_measures: tuple[Measure, ...] = ()
    #: The column of row ids whose repeats the pass counts (``contact_id``), or None.
    ids_column: str | None = None
    #: The business-hours calendar ``business_s`` reads (None: none given).
    calendar: Calendar | None = None

    @property
    def key_names(self) -> tuple[str, ...]:
        names = tuple(name for name, _ in self.dimensions)
        return (*names, INTERVAL_START) if self.grain else names

    @property
    def columns(self) -> set[str]:
        """The columns to read: measures' inputs, dimension keys, the id columns and the
        time column (which every table has, and which gives the row count)."""
        return self.table_columns | self.arrow_columns

    @property
    def table_columns(self) -> set[str]:
        """The columns the pass reads from the converted table."""
        wanted: set[str] = set().union(*(m.columns for m in self.measures))
        wanted |= {column for _, column in self.dimensions}
        wanted |= set(self.label_columns.values())
        wanted |= set().union(*(m.columns for m in self.case_measures)) - {CASE_ID}
        wanted.add(SCHEMAS[self.table].time_column)
        if self.span is not None:
            wanted = (wanted - {SHARE}) | {self.span}
        return wanted

    @property
    def placed(self) -> bool:
        """Whether a measure's time changes its rows' groups (a grain or a calendar key),
        not only which rows it counts."""
        return self.grain is not None or any(name in CALENDAR_KEYS
                                             for name, _ in self.dimensions)

    @property
    def placements(self) -> dict[str | None, tuple[Measure, ...]]:
        """The measures by the time that places them: None (the table's time column)
        first, always there, then each measure's own ``time``."""
        time_column = SCHEMAS[self.table].time_column
        placements: dict[str | None, tuple[Measure, ...]] = {None: ()}
        for measure in self.measures:
            key = measure.placement(time_column)
            placements[key] = (*placements.get(key, ()), measure)
        return placements

    @property
    def arrow_columns(self) -> set[str]:
        """The id columns the pass reads as Arrow gives them: row ids (repeats) and case
        ids."""
        return ({self.ids_column} if self.ids_column else set()) | \
            ({CASE_ID} if self.case_measures else set())

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
    #: The cases of the rows, when the pass has measures over cases.
    cases: CaseState | None = None
    #: The row ids seen, when the pass counts repeated ids.
    ids: IdSet | None = None


def accumulator_for(measure: Measure, quantiles: QuantileMode = QuantileMode.EXACT
                    ) -> Accumulator:
    """The accumulator that computes ``measure``, quantiles as ``quantiles`` says."""
    if measure.agg == "quantile":
        assert measure.q is not None
        return quantile_accumulator(measure.q, quantiles)
    return BY_AGGREGATION[measure.agg]()


def piece_partial(origin: TableOrigin, spec: PassSpec, piece: pa.Table, first_row: int
                  ) -> Partial:
    """One pass over ``piece``, rows of a source from ``first_row``. The id columns (row
    ids counted for repeats, case ids) are used as Arrow read them and left out of the
    table unless something else reads them, so they never become text labels."""
    arrow = {name: piece[name] for name in spec.arrow_columns if name in piece.column_names}
    converted = piece.drop_columns([name for name in arrow if name not in spec.table_columns])
    partial = table_partial(origin.table(converted, first_row), spec, arrow.get(CASE_ID))
    if spec.ids_column in arrow:
        return attrs.evolve(partial, ids=IdSet.of(spec.ids_column, arrow[spec.ids_column]))
    return partial


def table_partial(table: Table, spec: PassSpec, case_ids: pa.ChunkedArray | None = None
                  ) -> Partial:
    """One pass over ``table``: per placement (the table's time column, and each time the
    measures place their rows by), group codes, then every measure of that placement (those
    that fuse in one compiled loop, the others one by one); the placements' groups are put
    on one key space, the union of theirs. Its cases (their ids from ``case_ids``, else the
    table's column) are in the groups of the table's own placement."""
    check_rules(table, {name: value for name, value in spec.params.items()
                        if not isinstance(value, PerLabel)})
    time_range = _time_range(table.time)
    table, own_time = spread_rows(table, spec)
    parts: list[tuple[tuple[Measure, ...], Groups, dict[str, Any]]] = []
    for time_text, measures in spec.placements.items():
        # Without a grain the time changes only which rows count: the filter says so.
        groups = group_rows(table, spec, placed_times(table, measures, own_time)) \
            if time_text is None or spec.placed else parts[0][1]
        parts.append((measures, groups, _states(table, spec, measures, groups)))
    states: dict[str, Any] = {}
    own_groups = parts[0][1]
    cases = case_state(table, own_groups, case_ids) if spec.case_measures else None
    if all(groups is own_groups for _, groups, _ in parts):
        keys, count = own_groups.keys, own_groups.count
        for _, _, part_states in parts:
            states.update(part_states)
    else:
        keys, count, indexes = align([Partial(table.name, g.keys, g.count, {}, (0, 0),
                                              table.epoch) for _, g, _ in parts],
                                     spec.key_names)
        for (measures, _, part_states), index in zip(parts, indexes, strict=True):
            for measure in measures:
                states[measure.name] = spec.accumulator(measure).merge(
                    [(part_states[measure.name], index)], count)
        if cases is not None:
            cases = attrs.evolve(cases, group=indexes[0][cases.group])
    return Partial(table=table.name, keys=keys, count=count, states=states,
                   time_range=time_range, epoch=table.epoch, tz=table.tz, cases=cases)


def _states(table: Table, spec: PassSpec, measures: Sequence[Measure], groups: Groups
            ) -> dict[str, Any]:
    """The states of ``measures`` over ``table``'s rows in ``groups``."""
    accumulators = {measure.name: spec.accumulator(measure) for measure in measures}
    params = row_params(table, spec)
    states = fused_states(measures, accumulators, table, params, groups)
    rest = [measure for measure in measures if measure.name not in states]
    shared = shared_values(rest)
    functions = row_functions(table, spec)
    for measure in rest:
        states[measure.name] = accumulators[measure.name].accumulate(
            groups, *measure_inputs(measure, table, params, shared, functions))
    return states


def spread_rows(table: Table, spec: PassSpec) -> tuple[Table, np.ndarray]:
    """The rows of ``table`` as pieces, one per interval of the grain each row's span
    (``[time, time + span)``) overlaps, with the :data:`SHARE` column (overlap / span; 1 for
    a row without a span), and each piece's time (where its overlap starts: in its
    interval). Without a span to spread, the rows and their time as they are."""
    if spec.span is None or spec.grain is None:
        return table, table.time
    start = table.time
    length = table.numbers(spec.span)
    end = start + np.where(length > 0, length, 0.0)
    first = interval_numbers(start, spec.grain, table.epoch, table.tz)
    last = interval_numbers(end, spec.grain, table.epoch, table.tz)
    last_start, _ = interval_bounds(last, spec.grain, table.epoch, table.tz)
    last -= (last > first) & (last_start >= end)  # the span ends where that interval starts
    pieces = (last - first + 1).astype(np.intp)
    if (pieces == 1).all():
        columns = {**table.columns, SHARE: np.ones(len(table))}
        return attrs.evolve(table, columns=columns), start
    rows = np.repeat(np.arange(len(table)), pieces)
    offsets = np.cumsum(pieces) - pieces
    intervals = first[rows] + (np.arange(len(rows)) - offsets[rows])
    bounds, lengths = interval_bounds(intervals, spec.grain, table.epoch, table.tz)
    begins = np.maximum(start[rows], bounds)
    overlap = np.minimum(end[rows], bounds + lengths) - begins
    with np.errstate(invalid="ignore", divide="ignore"):
        share = np.where(length[rows] > 0, overlap / length[rows], 1.0)
    columns = {name: take(column, rows) for name, column in table.columns.items()}
    columns[SHARE] = share
    return attrs.evolve(table, columns=columns), begins


def placed_times(table: Table, measures: Sequence[Measure], own: np.ndarray) -> np.ndarray:
    """The time placing each row of ``table`` for ``measures`` (which share a placement):
    the table's own (``own``: its time column, or a spread row's piece time), or their
    ``time``. A row without that time is counted by none of them (their filter says so) and
    takes its own, so that it falls in a group the table's own placement has anyway: no row
    is copied, no group is added."""
    placement = measures[0].placement(table.schema.time_column) if measures else None
    if placement is None:
        return own
    expression = measures[0].time_expression
    assert expression is not None
    time = _as_values(expression.evaluate(table.columns.__getitem__), len(table))
    missing = np.isnan(time)
    return np.where(missing, own, time) if missing.any() else time


def _time_range(time: np.ndarray) -> tuple[float, float]:
    """First and last time; for no rows (inf, -inf), which merges as nothing."""
    if not len(time):
        return np.inf, -np.inf
    return float(np.min(time)), float(np.max(time))


def group_rows(table: Table, spec: PassSpec, time: np.ndarray | None = None) -> Groups:
    """Which group each row of ``table`` is in, under ``spec``'s dimensions and grain, the
    rows placed by ``time`` (by default the table's time column)."""
    time = table.time if time is None else time
    columns = [key_values(table, name, column, time) for name, column in spec.dimensions]
    fused = fused_groups(table, columns, spec.grain, spec.key_names, time)
    if fused is not None:
        return fused
    factors = [factorize(column) for column in columns]
    if spec.grain:
        factors.append(factorize(interval_numbers(time, spec.grain, table.epoch, table.tz)))
    return combine(factors, spec.key_names, rows=len(table))


def key_values(table: Table, name: str, column: str, time: np.ndarray) -> Column:
    """The keys of dimension ``name`` per row of ``table``: its column's values or, for a
    calendar key (hour of the day, day of the week), computed from the rows' ``time``."""
    if name in CALENDAR_KEYS and column == SCHEMAS[table.name].time_column:
        return calendar_keys(time, name, table.epoch, table.tz)
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
                   epoch=partials[0].epoch, tz=partials[0].tz,
                   cases=merged_cases(partials, indexes),
                   ids=merged_ids(partials))


def merged_ids(partials: Sequence[Partial]) -> IdSet | None:
    """The row ids of all of ``partials`` (None when they count none)."""
    sets = [p.ids for p in partials if p.ids is not None]
    return IdSet.merged(sets) if sets else None


def merged_cases(partials: Sequence[Partial], indexes: Sequence[np.ndarray]
                 ) -> CaseState | None:
    """The cases of ``partials`` (None where they keep none), their groups mapped by
    ``indexes`` onto one key space."""
    parts = [(p.cases, index) for p, index in zip(partials, indexes, strict=True)
             if p.cases is not None]
    if len(parts) == 1:
        state, index = parts[0]
        return attrs.evolve(state, group=index[state.group])
    return merge_cases(parts) if parts else None


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
