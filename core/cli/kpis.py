"""``kpiforge kpis list`` and ``kpiforge kpis show ID``: what is defined, and how."""

from __future__ import annotations

import json
from typing import Any

import click

from kpiforge.cli.render import format_target, grid
from kpiforge.definitions import param_text
from kpiforge.goals.tree import KpiTree
from kpiforge.registry import ENGINE_INPUTS, default_registry


@click.group("kpis")
def kpis_group() -> None:
    """List and explain the KPIs and KGIs of every installed plugin."""


@kpis_group.command("list")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table",
              show_default=True)
def list_command(fmt: str) -> None:
    """Every KPI and KGI: id, kind, unit, direction, tables, the KGIs it serves, plugin."""
    registry = default_registry()
    rows: list[dict[str, Any]] = [
        {"id": name, "kind": kpi.kind, "unit": kpi.unit, "direction": kpi.direction,
         "tables": sorted(registry.tables_of(kpi)), "kgis": list(kpi.kgis),
         "area": kpi.area, "role": kpi.role, "timing": kpi.timing,
         "plugin": registry.origin[name]}
        for name, kpi in registry.kpis.items()
    ]
    if fmt == "json":
        click.echo(json.dumps(rows, indent=1))
        return
    click.echo(grid(["id", "kind", "unit", "direction", "tables", "serves", "plugin"],
                    [[r["id"], r["kind"], r["unit"], r["direction"], ",".join(r["tables"]),
                      ",".join(r["kgis"]), r["plugin"]] for r in rows], right=set()))
    dims = ", ".join(sorted(registry.dimensions))
    click.echo(f"\n{len(rows)} KPIs and KGIs. Dimensions for --by: {dims}.")


@kpis_group.command("show")
@click.argument("kpi_id")
def show_command(kpi_id: str) -> None:
    """Formula, inputs, unit, direction, KGI links (effect and lag), classification and
    seed articles of KPI_ID."""
    registry = default_registry()
    kpi = registry.kpi(kpi_id)
    tree = KpiTree.from_registry(registry)
    links = [f"{e.kgi} {e.label()}" for e in tree.edges if e.kpi == kpi.name]
    served_by = [e.kpi for e in tree.serving(kpi.name)]
    classes = [f"{field} {getattr(kpi, field)}" for field in ("area", "role", "timing")
               if getattr(kpi, field) is not None]
    lines = [
        f"{kpi.kind} {kpi.name}",
        f"  formula:     {kpi.formula_text}",
        f"  unit:        {kpi.unit or '-'}",
        f"  direction:   {kpi.direction} is better" if kpi.direction != "neutral"
        else "  direction:   neutral (read against a band)",
        f"  target:      {format_target(kpi) or '-'}",
        f"  serves KGIs: {', '.join(kpi.kgis) or '-'}",
    ]
    if links:
        lines.append(f"  effects:     {', '.join(links)} (+ raising it raises the KGI, - "
                     "lowers it; lag in months)")
    if kpi.is_goal:
        lines.append(f"  served by:   {', '.join(served_by) or '-'}")
    if classes:
        lines.append(f"  class:       {', '.join(classes)}")
    if kpi.seeds:
        lines.append(f"  seeds:       {', '.join(kpi.seeds)}")
    lines += [f"  plugin:      {registry.origin[kpi.name]}", "  inputs:"]
    for name in kpi.inputs:
        lines.append(f"    {name}: {_describe_input(registry, name)}")
    lines += ["", click.wrap_text(kpi.description, initial_indent="  ",
                                  subsequent_indent="  ")]
    click.echo("\n".join(lines))


def _describe_input(registry, name: str) -> str:
    if name in registry.measures:
        m = registry.measures[name]
        what = f"{m.agg}({m.value})" if m.value else m.agg
        if m.q is not None:
            what = f"quantile(q={m.q:g}) of {m.value}"
        if m.agg == "snapshot":
            what = (f"snapshot ({'sum of ' + m.value + ' over ' if m.value else ''}rows open "
                    f"at each interval's end: since {m.since}, until {m.until or 'never'})")
        where = f" where {m.where}" if m.where else ""
        placed = f", placed by {m.time} (rows without it not counted)" if m.time else ""
        over = f"cases of {m.table}" if m.per == "case" else m.table
        return f"measure {what} over {over}{where}{placed}"
    if name in registry.kpis:
        return f"{registry.kpis[name].kind} {registry.kpis[name].formula_text}"
    if name in registry.params:
        return (f"parameter, default {param_text(registry.params[name])} (override with "
                "--param)")
    return f"engine input: {ENGINE_INPUTS[name]}"
