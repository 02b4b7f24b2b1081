"""Plain-text tables of results, with units, targets and status, for a terminal."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING

from kpiforge.formatting import format_plan_target, format_target, format_value

if TYPE_CHECKING:
    from kpiforge.goals.targets import Tracked
    from kpiforge.results import Result

__all__ = ["format_plan_target", "format_target", "format_value", "grid", "render_table"]

#: At most this many groups are shown as columns (KPIs as rows); more become rows.
MAX_GROUP_COLUMNS = 6


def grid(header: Sequence[str], rows: Sequence[Sequence[str]], right: set[int]) -> str:
    """Columns padded to their widest cell; ``right`` holds right-aligned column indexes."""
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]

    def line(cells: Sequence[str]) -> str:
        return "  ".join(str(c).rjust(w) if i in right else str(c).ljust(w)
                         for i, (c, w) in enumerate(zip(cells, widths, strict=True))).rstrip()

    rule = "  ".join("-" * w for w in widths)
    return "\n".join([line(header), rule, *(line(r) for r in rows)])


def render_table(result: Result, tracked: Tracked | None = None) -> str:
    """The result as text: KPIs down the side when there are few groups, else groups;
    with ``tracked`` (the result with its targets), each targeted KPI's status."""
    if len(result) <= MAX_GROUP_COLUMNS:
        return _kpis_as_rows(result, tracked)
    return _groups_as_rows(result, tracked)


def _kpis_as_rows(result: Result, tracked: Tracked | None) -> str:
    groups = [" / ".join(keys) or "all" for keys in _key_texts(result)]
    statuses = tracked.statuses if tracked is not None else {}
    with_targets = bool(statuses) or any(k.target is not None for k in result.kpis.values())
    header = ["KPI", *groups] + (["target"] if with_targets else [])
    rows = []
    for name, kpi in result.kpis.items():
        cells = [format_value(v, kpi.unit) for v in result.values[name]]
        if name in statuses:
            cells = [cell if status is None else f"{cell}  {status}"
                     for cell, status in zip(cells, statuses[name], strict=True)]
        if with_targets:
            cells.append(_target_cell(result, name, tracked))
        rows.append([name, *cells])
    if tracked is not None:
        rows += [[f"group {group}", *("-" if s is None else str(s) for s in worst),
                  *([""] if with_targets else [])] for group, worst in tracked.groups.items()]
    return grid(header, rows, right=set(range(1, len(groups) + 1)))


def _key_texts(result: Result) -> list[list[str]]:
    """Each row's keys as text; ``all`` where a total row totals over the dimension."""
    records = result.to_records()
    columns = [["all" if total else str(shown) for total, shown in
                zip(result.totalled(d), _shown(result, d, records), strict=True)]
               for d in result.dimensions]
    return [list(row) for row in zip(*columns, strict=True)] if columns else \
        [[] for _ in range(len(result))]


def _shown(result: Result, name: str, records: list[dict]) -> list:
    """A dimension's keys as the table shows them: times as ISO text, declared labels."""
    return result.shown_keys(name) if name in result.declared else \
        [record[name] for record in records]


def _target_cell(result: Result, name: str, tracked: Tracked | None) -> str:
    kpi = result.kpis[name]
    if tracked is not None and name in tracked.statuses:
        return format_plan_target(tracked.targets[name], kpi)
    met = result.target_met(name)
    if met is None:
        return ""
    verdicts = {"met" if m == 1 else "MISSED" for m in met if not math.isnan(m)}
    status = "/".join(sorted(verdicts)) if verdicts else "n/a"
    return f"{format_target(kpi)}  {status}"


def _groups_as_rows(result: Result, tracked: Tracked | None) -> str:
    statuses = tracked.status_columns() if tracked is not None else {}
    header = [*result.dimensions] + [
        f"{name} ({kpi.unit})" if kpi.unit else name for name, kpi in result.kpis.items()
    ] + list(statuses)
    rows = []
    for i, keys in enumerate(_key_texts(result)):
        rows.append(keys + [
            format_value(result.values[name][i], kpi.unit).removesuffix(" %").removesuffix(" s")
            for name, kpi in result.kpis.items()
        ] + [values[i] or "-" for values in statuses.values()])
    numbers = range(len(result.dimensions), len(result.dimensions) + len(result.kpis))
    return grid(header, rows, right=set(numbers))
