"""``kpiforge tree``: the goals (KGIs) and the KPIs that serve them."""

from __future__ import annotations

import click

from kpiforge.goals.tree import FORMATS, kpi_tree


@click.command("tree")
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="text",
              show_default=True,
              help="text (an indented tree), json (docs/cli.md) or mermaid (a flowchart).")
def tree_command(fmt: str) -> None:
    """The KPI tree of every installed plugin: each KGI with the KPIs linked to it, their
    direction, the link's expected effect (+ raising the KPI raises the goal, - lowers it)
    and its lag in months."""
    click.echo(kpi_tree().render(fmt), nl=False)
