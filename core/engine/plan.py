"""Planning: which KPIs to compute, which measures each table's pass accumulates, and which
columns to read, decided once from the registry and the sources' column names before any
row is read."""

from __future__ import annotations

import ast
from collections.abc import Iterable, Mapping, Sequence

import attrs

from kpiforge.definitions import KPI, Dimension, Measure, ParamValue, PerLabel
from kpiforge.engine.grains import CALENDAR_KEYS, check_grain
from kpiforge.engine.passes import SHARE, PassSpec
from kpiforge.engine.quantiles import QuantileMode
from kpiforge.errors import (
    KpiforgeError,
    MissingColumnError,
    MissingTableError,
    did_you_mean,
)
from kpiforge.io.calendars import Calendar
from kpiforge.io.schemas import MAPPING_ADVICE, SCHEMAS, meaning
from kpiforge.io.sources import TableSource
from kpiforge.registry import Registry
from kpiforge.results import INTERVAL_START

#: Per table, the column naming each row, whose repeats a pass counts.
ID_COLUMNS = {"contacts": "contact_id"}


@attrs.frozen(eq=False)
class Plan:
    """What to compute and what to read, decided once before any data is read."""

    registry: Registry
    outputs: tuple[KPI, ...]
    needed: tuple[KPI, ...]
    specs: dict[str, PassSpec]
    dimensions: tuple[Dimension, ...]
    grain: str | None
    params: dict[str, ParamValue]
    skipped: dict[str, str]
    #: Optional measures whose columns the data lacks: NaN in every group.
    absent: tuple[str, ...] = ()
    #: Snapshot measures: the passes accumulate their parts, finishing makes them.
    snapshots: tuple[Measure, ...] = ()

    @property
    def key_names(self) -> tuple[str, ...]:
        names = tuple(d.name for d in self.dimensions)
        return (*names, INTERVAL_START) if self.grain else names

    def rolled(self, kept: int) -> Plan:
        """The same KPIs grouped by the first ``kept`` dimensions only (and the grain): the
        plan of a subtotal (the total with 0)."""
        specs = {table: attrs.evolve(spec, dimensions=spec.dimensions[:kept], ids_column=None)
                 for table, spec in self.specs.items()}
        return attrs.evolve(self, dimensions=self.dimensions[:kept], specs=specs)

    @classmethod
    def make(cls, registry: Registry, sources: Mapping[str, TableSource],
             kpis: Iterable[str] | None, by: Sequence[str] | str, grain: str | None,
             params: Mapping[str, float | Mapping[str, float]] | None,
             quantiles: QuantileMode = QuantileMode.EXACT,
             calendar: Calendar | None = None) -> Plan:
        """Choose KPIs and columns; raise :class:`KpiforgeError` for what cannot work.
        ``calendar``: the business hours ``business_s`` reads (without one, the KPIs whose
        measures call it are left out)."""
        dimensions = tuple(resolve_dimension(registry, sources, name) for name in
                           ((by,) if isinstance(by, str) else by))
        if grain is not None:
            check_grain(grain)
        outputs, skipped = _choose_kpis(registry, sources, kpis, dimensions,
                                        calendar is not None)
        needed, measures = registry.closure(k.name for k in outputs)
        absent = tuple(m.name for m in measures if _lacks_columns(m, sources))
        resolved = resolve_params(registry, params)
        present = [m for m in measures if m.name not in absent]
        snapshots = [m for m in present if m.agg == "snapshot"]
        accumulated = [part for m in present for part in
                       (_ending(m, sources[m.table]).parts(grain is not None)
                        if m.agg == "snapshot" else (m,))]
        if grain is None:
            accumulated += _latest_measures(snapshots, sources)
        return cls(registry=registry, outputs=tuple(outputs), needed=tuple(needed),
                   specs=_pass_specs(registry, sources, accumulated, dimensions, grain,
                                     resolved, quantiles, calendar),
                   dimensions=dimensions, grain=grain, params=resolved, skipped=skipped,
                   absent=absent, snapshots=tuple(snapshots))


def latest_name(table: str) -> str:
    """The name of the measure holding the latest ``since`` or ``until`` of ``table``'s
    snapshots (without a grain: their instant)."""
    return f"{table}__snapshot_latest"


def _latest_measures(snapshots: Sequence[Measure], sources: Mapping[str, TableSource]
                     ) -> list[Measure]:
    """Per table with snapshots, one measure: the latest time any row records in any of the
    table's time columns the data has (the end of the data: the snapshots' instant, the
    same whichever KPIs are asked for)."""
    measures = []
    for table in dict.fromkeys(m.table for m in snapshots):
        times = [c for c in SCHEMAS[table].times if c in sources[table].column_names]
        measures.append(Measure(latest_name(table), table, "max",
                                value=times[0] if len(times) == 1 else
                                f"max({', '.join(times)})"))
    return measures


def _unending(measure: Measure) -> frozenset[str]:
    """The optional ends (:attr:`TableSchema.optional_ends`) only a snapshot's ``until``
    reads: the data may lack them, a missing one being an end that never happens (a ticket
    export has no ``abandoned_s``)."""
    if measure.until is None:
        return frozenset()
    until = measure.span_expressions[-1]
    others = set().union(*(e.names for e in measure.expressions if e is not until))
    return frozenset(until.names & set(SCHEMAS[measure.table].optional_ends)) - others


def _ending(measure: Measure, source: TableSource) -> Measure:
    """``measure`` with the end columns (:func:`unending`) the data lacks read as never
    set."""
    missing = _unending(measure) - set(source.column_names)
    if not missing:
        return measure
    tree = ast.parse(measure.until or "", mode="eval")

    class Never(ast.NodeTransformer):
        def visit_Name(self, node: ast.Name) -> ast.AST:
            if node.id in missing:
                return ast.BinOp(ast.Constant(0), ast.Div(), ast.Constant(0))
            return node

    return attrs.evolve(measure, until=ast.unparse(Never().visit(tree)))


def _lacks_columns(measure: Measure, sources: Mapping[str, TableSource]) -> bool:
    """Whether ``measure`` is optional and its table lacks a column it reads."""
    source = sources.get(measure.table)
    return measure.optional and source is not None and \
        not measure.columns <= set(source.column_names)


def resolve_dimension(registry: Registry, sources: Mapping[str, TableSource], name: str
                      ) -> Dimension:
    """The declared dimension ``name``, a calendar key (``hour_of_day``, ``weekday``) or, ad
    hoc, the column of that name in each table that has one: any text or integer column
    groups."""
    if name in registry.dimensions:
        return registry.dimensions[name]
    if name in CALENDAR_KEYS:
        return Dimension(name, {table: SCHEMAS[table].time_column for table in SCHEMAS},
                         "from each table's time column, pooled across days")
    tables = {table: name for table, source in sources.items() if name in source.column_names}
    if not tables:
        columns = sorted({c for source in sources.values() for c in source.column_names})
        known = [*registry.dimensions, *CALENDAR_KEYS, *columns]
        raise KpiforgeError(
            f"unknown dimension {name!r}{did_you_mean(name, known)}"
            f": it is neither a declared dimension ({', '.join(sorted(registry.dimensions))}),"
            f" a calendar key ({', '.join(CALENDAR_KEYS)})"
            f" nor a column of the {', '.join(sources)} table(s)")
    if not name.isidentifier():
        raise KpiforgeError(f"cannot group by column {name!r}: a dimension's name must be an "
                            "identifier such as 'contract_type'; rename the column")
    return Dimension(name, tables, "a column of the data, grouped ad hoc")


def _choose_kpis(registry: Registry, sources: Mapping[str, TableSource],
                 kpis: Iterable[str] | None, dimensions: Sequence[Dimension],
                 calendar: bool) -> tuple[list[KPI], dict[str, str]]:
    """The KPIs to compute, and those left out with the reason. Asked-for KPIs that cannot
    be computed are errors; by default every KPI the data supports is computed."""
    explicit = kpis is not None
    requested = [registry.kpi(n) for n in kpis] if kpis is not None \
        else list(registry.kpis.values())
    outputs, skipped = [], {}
    for kpi in requested:
        reason = _unsupported(registry, kpi, sources, dimensions, explicit) or \
            _uncalendared(registry, kpi, calendar, explicit)
        if reason is None:
            outputs.append(kpi)
        else:
            skipped[kpi.name] = reason
    if not outputs:
        raise KpiforgeError("none of the KPIs can be computed from this data: "
                            + "; ".join(sorted(set(skipped.values()))[:3]))
    return outputs, skipped


def _pass_specs(registry: Registry, sources: Mapping[str, TableSource],
                measures: Sequence[Measure], dimensions: Sequence[Dimension],
                grain: str | None, params: Mapping[str, ParamValue], quantiles: QuantileMode,
                calendar: Calendar | None) -> dict[str, PassSpec]:
    """One pass per table that has measures to accumulate. With a grain, a table whose rows
    last a while (agent intervals) is spread over the intervals each row overlaps, and its
    sums take each piece's share."""
    specs = {}
    for table in SCHEMAS:
        table_measures = tuple(m for m in measures if m.table == table and m.per == "row")
        case_measures = tuple(m for m in measures if m.table == table and m.per == "case")
        if table_measures or case_measures:
            span = SCHEMAS[table].span_column
            if grain is None or span not in sources[table].column_names:
                span = None
            specs[table] = PassSpec(
                table=table, measures=tuple(
                    attrs.evolve(m, value=f"({m.value}) * {SHARE}")
                    if span is not None and m.agg == "sum" else m for m in table_measures),
                case_measures=case_measures,
                ids_column=ID_COLUMNS.get(table) if ID_COLUMNS.get(table) in
                sources[table].column_names else None,
                dimensions=tuple((d.name, d.columns[table]) for d in dimensions),
                grain=grain, params=params, quantiles=quantiles,
                label_columns=_label_columns(registry, sources[table], table_measures,
                                             params), span=span,
                calendar=calendar if any(m.functions for m in (*table_measures, *case_measures))
                else None)
    return specs


def _label_columns(registry: Registry, source: TableSource, measures: Sequence[Measure],
                   params: Mapping[str, ParamValue]) -> dict[str, str]:
    """For each per-label parameter the measures read, the column of the source holding its
    dimension's labels; a parameter whose column the data lacks is left out (every row
    takes its default)."""
    columns = {}
    for measure in measures:
        for name in sorted(measure.params):
            value = params[name]
            if isinstance(value, PerLabel):
                column = registry.dimension(value.dimension).columns.get(measure.table)
                if column is None:
                    raise KpiforgeError(
                        f"Measure {measure.name!r} reads parameter {name!r}, which is keyed "
                        f"by dimension {value.dimension!r}; the {measure.table} table has "
                        "no column for it")
                if column in source.column_names:
                    columns[name] = column
    return columns


def _unsupported(registry: Registry, kpi: KPI, sources: Mapping[str, TableSource],
                 dimensions: Sequence[Dimension], explicit: bool) -> str | None:
    """Why ``kpi`` cannot be computed here, in words that hold for every KPI it applies to
    ("needs the agent_intervals table"), or None if it can. An asked-for KPI that cannot be
    computed raises, naming what is missing."""
    _, measures = registry.closure([kpi.name])
    for measure in measures:
        source = sources.get(measure.table)
        if source is None:
            if explicit:
                raise MissingTableError(f"{kpi.kind} {kpi.name!r}", measure.table)
            return f"needs the {measure.table} table"
        reason = _ungroupable(kpi, measure, source, dimensions, explicit) or \
            _missing_column(registry, kpi, measure, source, explicit) or \
            _untimed(kpi, measure, source)
        if reason is not None:
            if explicit:  # a flag without its time: the other reasons raised already
                raise KpiforgeError(reason)
            return reason
    return None


#: Why a KPI whose measures call ``business_s`` is left out without a calendar.
NEEDS_CALENDAR = "needs a business-hours calendar (--calendar)"


def _uncalendared(registry: Registry, kpi: KPI, calendar: bool, explicit: bool
                  ) -> str | None:
    """Why ``kpi`` cannot be computed without a business-hours calendar (None if it can):
    a measure it reads calls ``business_s``. One asked for is an error."""
    if calendar or not any(m.functions for m in registry.closure([kpi.name])[1]):
        return None
    if explicit:
        raise KpiforgeError(f"{kpi.kind} {kpi.name!r} counts business hours and needs a "
                            "business-hours calendar: pass calendar= (a calendar file, a "
                            "preset such as 'weekdays-9-17', or a Calendar), --calendar "
                            "FILE.toml|PRESET on the command line")
    return NEEDS_CALENDAR


def _ungroupable(kpi: KPI, measure: Measure, source: TableSource,
                 dimensions: Sequence[Dimension], explicit: bool) -> str | None:
    """Why ``measure``'s table cannot be grouped as asked (None if it can); a dimension's
    column missing from the data is an error."""
    for dimension in dimensions:
        column = dimension.columns.get(measure.table)
        if column is None:
            where = (f"reads the {measure.table} table, which cannot be grouped by "
                     f"{dimension.name!r}: that dimension is a column of the "
                     f"{' and '.join(dimension.columns)} table(s) only")
            if explicit:
                raise KpiforgeError(f"{kpi.kind} {kpi.name!r} {where}")
            return where
        if column not in source.column_names:
            raise KpiforgeError(f"{source.label}: column {column!r} is missing; grouping by "
                                f"{dimension.name!r} needs it")
    return None


def _missing_column(registry: Registry, kpi: KPI, measure: Measure, source: TableSource,
                    explicit: bool) -> str | None:
    """Why ``measure`` cannot be read from ``source`` (None if it can): a column it reads is
    missing (an optional measure's column may be). By default the KPI is left out; one asked
    for is an error naming the column. A mapped export has the columns its mapping gives,
    and the reason says why one is absent."""
    if measure.optional:
        return None
    for column in sorted(measure.columns - _unending(measure) - set(source.column_names)):
        if source.mapped:
            why = dict(source.absent).get(column, f"{source.label}: the mapping gives no "
                                                  f"column {column!r}")
            message = reason = f"{why}; {kpi.kind} {kpi.name!r} needs {column!r}"
        else:
            message = (f"{source.label}: column {column!r} is missing; {kpi.kind} "
                       f"{kpi.name!r} (plugin {registry.origin[kpi.name]!r}) needs it"
                       f"{did_you_mean(column, source.column_names)}")
            reason = f"needs column {column!r} of {source.label}"
        if explicit:
            raise MissingColumnError(
                f"{message}; add the column {meaning(column)}, or choose KPIs that do not "
                f"need it; {MAPPING_ADVICE}")
        return reason
    return None


#: Functions that read only whether a value is present, not the value.
_PRESENCE = ("isnan", "notnan")


def _untimed(kpi: KPI, measure: Measure, source: TableSource) -> str | None:
    """Why ``measure`` cannot use an event known only by a yes/no flag (None if it can):
    it reads the event's time, not only whether it happened."""
    if not source.untimed:
        return None
    for text in (measure.value, measure.where, measure.time, measure.since, measure.until):
        if text is None:
            continue
        tree = ast.parse(text, mode="eval")
        presence = {id(call.args[0]) for call in ast.walk(tree)
                    if isinstance(call, ast.Call) and isinstance(call.func, ast.Name)
                    and call.func.id in _PRESENCE and call.args}
        for node in ast.walk(tree):
            if isinstance(node, ast.Name) and node.id in source.untimed and \
                    id(node) not in presence:
                return (f"{source.label}: {kpi.kind} {kpi.name!r} needs the time of "
                        f"{node.id!r}, which the data gives only as a yes/no flag; map a "
                        "time for it (start + plus, or a timestamp column) to compute it")
    return None


def resolve_params(registry: Registry,
                   overrides: Mapping[str, float | Mapping[str, float]] | None
                   ) -> dict[str, ParamValue]:
    """Parameter defaults with ``overrides`` applied; unknown names and non-numbers are
    errors. A per-label parameter takes a number (every label) or a mapping of label ->
    number (those labels); a plain one takes a number."""
    params = dict(registry.params)
    for name, value in (overrides or {}).items():
        if name not in params:
            raise KpiforgeError(
                f"unknown parameter {name!r}{did_you_mean(name, params)}; known: "
                f"{', '.join(sorted(params)) or 'none'}"
            )
        default = params[name]
        try:
            if isinstance(default, PerLabel):
                params[name] = default.overridden(value)
            elif isinstance(value, Mapping):
                raise KpiforgeError(f"parameter {name!r} takes one number, not a value per "
                                    f"label; got {dict(value)!r}")
            else:
                params[name] = float(value)
        except (TypeError, ValueError) as exc:
            detail = f" or a mapping of label -> number ({exc})" \
                if isinstance(default, PerLabel) else ""
            raise KpiforgeError(f"parameter {name!r} must be a number{detail}, got "
                                f"{value!r}") from None
    return params
