"""Planning: which KPIs to compute, which measures each table's pass accumulates, and which
columns to read, decided once from the registry and the sources' column names before any
row is read."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

import attrs

from kpiforge.definitions import KPI, Dimension, Measure, ParamValue, PerLabel
from kpiforge.engine.grains import check_grain
from kpiforge.engine.passes import PassSpec
from kpiforge.engine.quantiles import QuantileMode
from kpiforge.errors import (
    KpiforgeError,
    MissingColumnError,
    MissingTableError,
    did_you_mean,
)
from kpiforge.io.schemas import SCHEMAS
from kpiforge.io.sources import TableSource
from kpiforge.registry import Registry
from kpiforge.results import INTERVAL_START


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

    @property
    def key_names(self) -> tuple[str, ...]:
        names = tuple(d.name for d in self.dimensions)
        return (*names, INTERVAL_START) if self.grain else names

    @classmethod
    def make(cls, registry: Registry, sources: Mapping[str, TableSource],
             kpis: Iterable[str] | None, by: Sequence[str] | str, grain: str | None,
             params: Mapping[str, float | Mapping[str, float]] | None,
             quantiles: QuantileMode = QuantileMode.EXACT) -> Plan:
        """Choose KPIs and columns; raise :class:`KpiforgeError` for what cannot work."""
        dimensions = tuple(registry.dimension(name) for name in
                           ((by,) if isinstance(by, str) else by))
        if grain is not None:
            check_grain(grain)
        outputs, skipped = _choose_kpis(registry, sources, kpis, dimensions)
        needed, measures = registry.closure(k.name for k in outputs)
        absent = tuple(m.name for m in measures if _lacks_columns(m, sources))
        resolved = resolve_params(registry, params)
        return cls(registry=registry, outputs=tuple(outputs), needed=tuple(needed),
                   specs=_pass_specs(registry, sources,
                                     [m for m in measures if m.name not in absent],
                                     dimensions, grain, resolved, quantiles),
                   dimensions=dimensions, grain=grain, params=resolved, skipped=skipped,
                   absent=absent)


def _lacks_columns(measure: Measure, sources: Mapping[str, TableSource]) -> bool:
    """Whether ``measure`` is optional and its table lacks a column it reads."""
    source = sources.get(measure.table)
    return measure.optional and source is not None and \
        not measure.columns <= set(source.column_names)


def _choose_kpis(registry: Registry, sources: Mapping[str, TableSource],
                 kpis: Iterable[str] | None, dimensions: Sequence[Dimension]
                 ) -> tuple[list[KPI], dict[str, str]]:
    """The KPIs to compute, and those left out with the reason. Asked-for KPIs that cannot
    be computed are errors; by default every KPI the data supports is computed."""
    explicit = kpis is not None
    requested = [registry.kpi(n) for n in kpis] if kpis is not None \
        else list(registry.kpis.values())
    outputs, skipped = [], {}
    for kpi in requested:
        reason = _unsupported(registry, kpi, sources, dimensions, explicit)
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
                grain: str | None, params: Mapping[str, ParamValue], quantiles: QuantileMode
                ) -> dict[str, PassSpec]:
    """One pass per table that has measures to accumulate."""
    specs = {}
    for table in SCHEMAS:
        table_measures = tuple(m for m in measures if m.table == table)
        if table_measures:
            specs[table] = PassSpec(
                table=table, measures=table_measures,
                dimensions=tuple((d.name, d.columns[table]) for d in dimensions),
                grain=grain, params=params, quantiles=quantiles,
                label_columns=_label_columns(registry, sources[table], table_measures,
                                             params))
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
            _missing_column(registry, kpi, measure, source, explicit)
        if reason is not None:
            return reason
    return None


def _ungroupable(kpi: KPI, measure: Measure, source: TableSource,
                 dimensions: Sequence[Dimension], explicit: bool) -> str | None:
    """Why ``measure``'s table cannot be grouped as asked (None if it can); a dimension's
    column missing from the data is an error."""
    for dimension in dimensions:
        column = dimension.columns.get(measure.table)
        if column is None:
            if explicit:
                raise KpiforgeError(f"{kpi.kind} {kpi.name!r} reads the {measure.table} "
                                    f"table, which cannot be grouped by {dimension.name!r}")
            return (f"reads the {measure.table} table, which cannot be grouped by "
                    f"{dimension.name!r}")
        if column not in source.column_names:
            raise KpiforgeError(f"{source.label}: column {column!r} is missing; grouping by "
                                f"{dimension.name!r} needs it")
    return None


def _missing_column(registry: Registry, kpi: KPI, measure: Measure, source: TableSource,
                    explicit: bool) -> str | None:
    """Why ``measure`` cannot be read from ``source`` (None if it can): a column it reads is
    missing. By default the KPI is left out; one asked for is an error naming the column."""
    if measure.optional:
        return None
    for column in sorted(measure.columns - set(source.column_names)):
        if explicit:
            raise MissingColumnError(
                f"{source.label}: column {column!r} is missing; {kpi.kind} {kpi.name!r} "
                f"(plugin {registry.origin[kpi.name]!r}) needs it"
                f"{did_you_mean(column, source.column_names)}; add the column, or choose "
                "KPIs that do not need it")
        return f"needs column {column!r} of {source.label}"
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
