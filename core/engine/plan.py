"""Planning: which KPIs to compute, which measures each table's pass accumulates, and which
columns to read, decided once from the registry and the sources' column names before any
row is read."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

import attrs

from kpiforge.definitions import KPI, Dimension, Measure
from kpiforge.engine.grains import CALENDAR_KEYS, check_grain
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
    params: dict[str, float]
    skipped: dict[str, str]

    @property
    def key_names(self) -> tuple[str, ...]:
        names = tuple(d.name for d in self.dimensions)
        return (*names, INTERVAL_START) if self.grain else names

    def rolled(self, kept: int) -> Plan:
        """The same KPIs grouped by the first ``kept`` dimensions only (and the grain): the
        plan of a subtotal (the total with 0)."""
        dimensions = self.dimensions[:kept]
        measures = [m for spec in self.specs.values() for m in spec.measures]
        quantiles = next(iter(self.specs.values())).quantiles
        return attrs.evolve(self, dimensions=dimensions, specs=_pass_specs(
            measures, dimensions, self.grain, self.params, quantiles))

    @classmethod
    def make(cls, registry: Registry, sources: Mapping[str, TableSource],
             kpis: Iterable[str] | None, by: Sequence[str] | str, grain: str | None,
             params: Mapping[str, float] | None,
             quantiles: QuantileMode = QuantileMode.EXACT) -> Plan:
        """Choose KPIs and columns; raise :class:`KpiforgeError` for what cannot work."""
        dimensions = tuple(resolve_dimension(registry, sources, name) for name in
                           ((by,) if isinstance(by, str) else by))
        if grain is not None:
            check_grain(grain)
        outputs, skipped = _choose_kpis(registry, sources, kpis, dimensions)
        needed, measures = registry.closure(k.name for k in outputs)
        resolved = resolve_params(registry, params)
        return cls(registry=registry, outputs=tuple(outputs), needed=tuple(needed),
                   specs=_pass_specs(measures, dimensions, grain, resolved, quantiles),
                   dimensions=dimensions, grain=grain, params=resolved, skipped=skipped)


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


def _pass_specs(measures: Sequence[Measure], dimensions: Sequence[Dimension],
                grain: str | None, params: Mapping[str, float], quantiles: QuantileMode
                ) -> dict[str, PassSpec]:
    """One pass per table that has measures to accumulate."""
    specs = {}
    for table in SCHEMAS:
        table_measures = tuple(m for m in measures if m.table == table)
        if table_measures:
            specs[table] = PassSpec(
                table=table, measures=table_measures,
                dimensions=tuple((d.name, d.columns[table]) for d in dimensions),
                grain=grain, params=params, quantiles=quantiles)
    return specs


def _unsupported(registry: Registry, kpi: KPI, sources: Mapping[str, TableSource],
                 dimensions: Sequence[Dimension], explicit: bool) -> str | None:
    """Why ``kpi`` cannot be computed here (None if it can). Raises for what the user must
    fix: a KPI they asked for, or data missing a standard column."""
    _, measures = registry.closure([kpi.name])
    for measure in measures:
        source = sources.get(measure.table)
        if source is None:
            missing = MissingTableError(f"{kpi.kind} {kpi.name!r}", measure.table)
            if explicit:
                raise missing
            return str(missing)
        reason = _ungroupable(kpi, measure, source, dimensions) or \
            _missing_column(registry, kpi, measure, source, explicit)
        if reason is not None:
            if explicit:
                raise KpiforgeError(reason)
            return reason
    return None


def _ungroupable(kpi: KPI, measure: Measure, source: TableSource,
                 dimensions: Sequence[Dimension]) -> str | None:
    """Why ``measure``'s table cannot be grouped as asked (None if it can); a dimension's
    column missing from the data is an error."""
    for dimension in dimensions:
        column = dimension.columns.get(measure.table)
        if column is None:
            return (f"{kpi.kind} {kpi.name!r} reads the {measure.table} table, which "
                    f"cannot be grouped by {dimension.name!r}: that dimension is a column "
                    f"of the {' and '.join(dimension.columns)} table(s) only")
        if column not in source.column_names:
            raise KpiforgeError(f"{source.label}: column {column!r} is missing; grouping by "
                                f"{dimension.name!r} needs it")
    return None


def _missing_column(registry: Registry, kpi: KPI, measure: Measure, source: TableSource,
                    explicit: bool) -> str | None:
    """Why ``measure`` cannot be read from ``source`` (None if it can). A missing standard
    column is an error: the file does not follow the schema."""
    for column in sorted(measure.columns - set(source.column_names)):
        message = (f"{source.label}: column {column!r} is missing; {kpi.kind} {kpi.name!r} "
                   f"(plugin {registry.origin[kpi.name]!r}) needs it"
                   f"{did_you_mean(column, source.column_names)}")
        if explicit or column in SCHEMAS[measure.table].columns:
            raise MissingColumnError(message + "; add the column, or choose KPIs that do "
                                     "not need it")
        return message
    return None


def resolve_params(registry: Registry, overrides: Mapping[str, float] | None
                   ) -> dict[str, float]:
    """Parameter defaults with ``overrides`` applied; unknown names and non-numbers are
    errors."""
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
