"""``kpiforge lint``: check the KPI set, its targets and baselines against the seeds'
rules (and those plugins add)."""

from __future__ import annotations

from pathlib import Path

import click

from kpiforge.goals.linting import lint
from kpiforge.goals.targets import FROM_DATA, load_targets

_EXISTING = click.Path(exists=True, path_type=Path)


@click.command("lint")
@click.option("--targets", "targets_path", type=_EXISTING, metavar="FILE",
              help="A targets file (TOML) to check with the KPIs.")
@click.option("--data", type=_EXISTING, metavar="PATH",
              help="Data to compute the targets' baselines from, as `kpiforge compute` "
                   "reads it (a contacts file or a directory of tables).")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text",
              show_default=True)
@click.pass_context
def lint_command(ctx: click.Context, targets_path: Path | None, data: Path | None,
                 fmt: str) -> None:
    """Check every installed plugin's KPIs and KGIs (and targets, with their baselines)
    against the lint rules: one line per finding with its severity, rule, KPI, problem and
    what to do. Exits 1 when there is an error."""
    targets = None if targets_path is None else load_targets(targets_path)
    report = lint(targets=targets, data=data)
    click.echo(report.to_json() if fmt == "json" else report.to_text(), nl=False)
    if fmt == "text" and targets is not None and data is None and any(
            target.baseline == FROM_DATA for target in targets):
        click.echo("(targets whose baseline is 'data' are checked against it with --data "
                   "PATH)", err=True)
    if not report.ok:
        ctx.exit(1)
