"""``kpiforge plugins``: what is installed and what each plugin registers."""

from __future__ import annotations

import json

import click

from kpiforge.cli.render import grid
from kpiforge.plugin_manager import default_plugin_manager

_WHAT = {
    "kpiforge_register_measures": "measures",
    "kpiforge_register_kpis": "KPIs",
    "kpiforge_register_kgis": "KGIs",
    "kpiforge_register_dimensions": "dimensions",
    "kpiforge_register_commands": "commands",
}


@click.command("plugins")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table",
              show_default=True)
def plugins_command(fmt: str) -> None:
    """Every plugin: name, distribution, version, and what it registers."""
    manager = default_plugin_manager()
    rows = []
    for name, info in manager.info.items():
        plugin = manager.get_plugin(name)
        registers = {}
        for impl in manager.get_hookcallers(plugin) or []:
            items = impl.get_hookimpls()
            for hookimpl in items:
                if hookimpl.plugin is plugin:
                    registers[_WHAT[impl.name]] = [
                        getattr(item, "name", None) for item in hookimpl.function()
                    ]
        rows.append({"name": name, "distribution": info.distribution,
                     "version": info.version, "registers": registers})
    if fmt == "json":
        click.echo(json.dumps(rows, indent=1))
        return
    click.echo(grid(
        ["plugin", "distribution", "version", "registers"],
        [[r["name"], r["distribution"], r["version"],
          ", ".join(f"{len(v)} {k}" for k, v in r["registers"].items())] for r in rows],
        right=set(),
    ))
