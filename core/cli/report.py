"""``kpiforge report``: one self-contained HTML page of KPIs against their targets."""

from __future__ import annotations

from pathlib import Path

import click

from kpiforge.cli.options import calendar_option, param_option, parse_params, split_names
from kpiforge.engine.grains import GRAINS
from kpiforge.report import build_report

_EXISTING = click.Path(exists=True, path_type=Path)


@click.command("report")
@click.argument("data_or_run", metavar="DATA_OR_RUN", type=_EXISTING)
@click.option("--targets", "targets_path", type=_EXISTING, metavar="FILE",
              help="A targets file (TOML); KPIs it does not name keep their definition's "
                   "target.")
@click.option("--by", "by", multiple=True, metavar="DIM",
              help="A headline and a trend line per group of this dimension (repeat, or "
                   "comma-separate): channel, queue...")
@click.option("--grain", type=click.Choice(GRAINS),
              help="The period of the headline and the trends [default: 1d; a replications "
                   "run's own].")
@click.option("--kpi", "kpis", multiple=True, metavar="ID",
              help="KPIs to show (repeat, or comma-separate); default: those with a target, "
                   "then the others, 12 at most.")
@param_option
@calendar_option
@click.option("--title", help="The report's title.")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path),
              default=Path("report.html"), show_default=True,
              help="The HTML file to write (atomically).")
def report_command(data_or_run: Path, targets_path: Path | None, by: tuple[str],
                   grain: str | None, kpis: tuple[str], params: tuple[str],
                   calendar: str | None, title: str | None, out: Path) -> None:
    """Write an HTML report of DATA_OR_RUN (a contacts file, a directory of tables, or a
    run directory of `kpiforge simulate`, with or without --replications): a headline per
    group, a trend chart per KPI, the KPI tree, the scenario and the replications'
    confidence intervals for a simulated run, and the data's provenance. Needs
    kpiforge[plot]."""
    report = build_report(data_or_run, targets=targets_path, by=split_names(by) or None,
                          grain=grain, kpis=split_names(kpis) or None,
                          params=parse_params(params), title=title, calendar=calendar)
    report.write(out)
    click.echo(f"wrote {out} ({out.stat().st_size / 1e6:.1f} MB)", err=True)
