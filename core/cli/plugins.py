"""``kpiforge plugins``: what is installed, what each plugin registers, and why a left-out
plugin is left out."""

from __future__ import annotations

import json
from typing import Any

import click

from kpiforge.cli import plugin_commands
from kpiforge.cli.render import grid
from kpiforge.plugin_manager import default_plugin_manager
from kpiforge.registry import default_registry

#: What each hook registers, as the listing names it.
_WHAT = {
    "kpiforge_register_measures": "measures",
    "kpiforge_register_kpis": "KPIs",
    "kpiforge_register_kgis": "KGIs",
    "kpiforge_register_dimensions": "dimensions",
    "kpiforge_register_commands": "commands",
    "kpiforge_register_lint_rules": "lint rules",
}


@click.command("plugins")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table",
              show_default=True)
def plugins_command(fmt: str) -> None:
    """Every plugin: name, distribution, version, what it registers, and the problem of one
    that is left out."""
    broken = default_registry().broken
    plugin_commands()  # warns about commands whose names are taken
    manager = default_plugin_manager()
    registers: dict[str, dict[str, list[str]]] = {name: {} for name in manager.info}
    for hook_name, registrations in manager.registrations().items():
        for registration in registrations:
            registers.setdefault(registration.plugin, {})[_WHAT[hook_name]] = [
                item.name for item in registration.items]
    rows: list[dict[str, Any]] = [
        {"name": name, "distribution": info.distribution, "version": info.version,
         "registers": registers[name], "problem": broken.get(name)}
        for name, info in manager.info.items()]
    if fmt == "json":
        click.echo(json.dumps(rows, indent=1))
        return
    click.echo(grid(
        ["plugin", "distribution", "version", "registers"],
        [[r["name"], r["distribution"], r["version"],
          f"left out: {r['problem']}" if r["problem"] else
          ", ".join(f"{len(v)} {k}" for k, v in r["registers"].items())] for r in rows],
        right=set(),
    ))
