"""Plain-text tables of results, with units, targets and status, for a terminal."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from kpiforge.definitions import KPI
    from kpiforge.results import Result

#: Units whose values are counts, shown without decimals.
COUNT_UNITS = {"contacts", "customers", "answers"}
#: At most this many groups are shown as columns (KPIs as rows); more become rows.
MAX_GROUP_COLUMNS = 6


def format_value(value: float | None, unit: str) -> str:
    """A value with its unit as a person reads it: rates as percentages, counts whole."""
    if value is None or math.isnan(value):
        return "-"
    if unit == "%":
        return f"{value * 100:.1f} %"
    if unit in COUNT_UNITS:
        return f"{value:,.0f}"
    if unit == "s":
        return f"{value:,.1f} s"
    if unit == "currency":
        return f"{value:,.2f}"
    return f"{value:,.2f} {unit}".rstrip()


def format_target(kpi: KPI) -> str:
    if kpi.target is None:
        return ""
    sign = ">=" if kpi.direction == "higher" else "<=" if kpi.direction == "lower" else "~"
    return f"{sign} {format_value(kpi.target, kpi.unit)}"


def grid(header: Sequence[str], rows: Sequence[Sequence[str]], right: set[int]) -> str:
    """Columns padded to their widest cell; ``right`` holds right-aligned column indexes."""
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]

    def line(cells: Sequence[str]) -> str:
        return "  ".join(str(c).rjust(w) if i in right else str(c).ljust(w)
                         for i, (c, w) in enumerate(zip(cells, widths, strict=True))).rstrip()

    rule = "  ".join("-" * w for w in widths)
    return "\n".join([line(header), rule, *(line(r) for r in rows)])


def render_table(result: Result) -> str:
    """The result as text: KPIs down the side when there are few groups, else groups."""
    if len(result) <= MAX_GROUP_COLUMNS:
        return _kpis_as_rows(result)
    return _groups_as_rows(result)


def _kpis_as_rows(result: Result) -> str:
    groups = [" / ".join(str(record[d]) for d in result.dimensions) or "all"
              for record in result.to_records()]
    with_targets = any(k.target is not None for k in result.kpis.values())
    header = ["KPI", *groups] + (["target"] if with_targets else [])
    rows = []
    for name, kpi in result.kpis.items():
        cells = [format_value(v, kpi.unit) for v in result.values[name]]
        if with_targets:
            cells.append(_target_cell(result, name))
        rows.append([name, *cells])
    return grid(header, rows, right=set(range(1, len(groups) + 1)))


def _target_cell(result: Result, name: str) -> str:
    kpi = result.kpis[name]
    met = result.target_met(name)
    if met is None:
        return ""
    verdicts = {"met" if m == 1 else "MISSED" for m in met if not math.isnan(m)}
    status = "/".join(sorted(verdicts)) if verdicts else "n/a"
    return f"{format_target(kpi)}  {status}"


def _groups_as_rows(result: Result) -> str:
    header = [*result.dimensions] + [
        f"{name} ({kpi.unit})" if kpi.unit else name for name, kpi in result.kpis.items()
    ]
    records = result.to_records()
    rows = []
    for i, record in enumerate(records):
        rows.append([str(record[d]) for d in result.dimensions] + [
            format_value(result.values[name][i], kpi.unit).removesuffix(" %").removesuffix(" s")
            for name, kpi in result.kpis.items()
        ])
    return grid(header, rows, right=set(range(len(result.dimensions), len(header))))
