"""``kpiforge whatif``: a scenario against its variants, every KPI with its 95 % interval
and the paired difference with its own, marking differences the replications cannot tell
from noise."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from kpiforge.cli.options import param_option, parse_assignments, parse_params, split_names
from kpiforge.cli.progress import progress_bar
from kpiforge.cli.render import grid
from kpiforge.engine.grains import GRAINS
from kpiforge.formatting import format_interval
from kpiforge.io.output import csv_text, json_text, write_text
from kpiforge.report.whatif import whatif_report
from kpiforge.simulations.plots import plot_format, plot_whatif
from kpiforge.simulations.whatif import compare, whatif_scenarios

if TYPE_CHECKING:
    from kpiforge.simulations.whatif import WhatIf

FORMATS = ("table", "csv", "json")


@click.command("whatif")
@click.argument("scenario", metavar="SCENARIO")
@click.option("--set", "settings", multiple=True, metavar="KEY=VALUE",
              help="Change a scenario key for the baseline and every variant (as simulate "
                   "--set: a TOML value, +N or *F relative, * for every shift or channel).")
@click.option("--vs", "variants", multiple=True, required=True,
              metavar="KEY=VALUE[;KEY=VALUE]",
              help="A variant: the baseline with these changes (repeat for several "
                   "variants; ';' joins the changes of one).")
@click.option("--replications", type=click.IntRange(min=2), default=10, show_default=True,
              help="Paired replications of each scenario.")
@click.option("--kpi", "kpis", multiple=True, metavar="ID",
              help="KPIs to compare (default: all the simulated data supports).")
@click.option("--by", "by", multiple=True, metavar="DIM",
              help="Group KPIs by a dimension (channel, queue...).")
@click.option("--grain", type=click.Choice(GRAINS), help="Time grain for interval_start.")
@param_option
@click.option("--workers", type=click.IntRange(min=1), metavar="N",
              help="Worker processes (default: every core).")
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="table",
              show_default=True)
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path),
              help="Write to this file (atomically) instead of standard output.")
@click.option("--plot", type=click.Path(dir_okay=False, path_type=Path),
              help="Draw baseline against variants per KPI into a .png or .svg file.")
@click.option("--report", "report_path", type=click.Path(dir_okay=False, path_type=Path),
              metavar="FILE", help="Also write the comparison as an HTML report to FILE.")
def whatif_command(scenario: str, settings: tuple[str, ...], variants: tuple[str, ...],
                   replications: int, kpis: tuple[str, ...], by: tuple[str, ...],
                   grain: str | None, params: tuple[str, ...], workers: int | None,
                   fmt: str, out: Path | None, plot: Path | None,
                   report_path: Path | None) -> None:
    """Compare SCENARIO (a TOML file or a built-in name: demo, flat, december, launch,
    summer) with its variants: every KPI's mean and 95 % interval for the baseline and
    each variant, and the difference (variant - baseline) with its interval from paired
    replications (common random numbers).

    The baseline is SCENARIO with the --set changes; each --vs is a variant: the baseline
    with its own changes, e.g. `whatif demo --vs staffing.shrinkage=0.25`."""
    if plot is not None:
        plot_format(plot)
    baseline, named = whatif_scenarios(
        scenario, parse_assignments(settings, "--set"),
        [parse_assignments([c for c in v.split(";") if c.strip()], "--vs") for v in variants])
    with progress_bar("simulating replications") as progress:
        result = compare(baseline, named, replications, kpis=split_names(kpis) or None,
                         by=split_names(by), grain=grain,
                         params=parse_params(params), workers=workers,
                         progress=progress)
    if fmt == "table":
        text = render_whatif(result) + "\n"
    elif fmt == "csv":
        text = csv_text(result.to_arrow())
    else:
        text = json_text(result.to_records())
    if out is not None:
        write_text(text, out)
        click.echo(f"wrote {out}", err=True)
    else:
        click.echo(text, nl=False)
    if plot is not None:
        plot_whatif(plot, result)
        click.echo(f"wrote {plot}", err=True)
    if report_path is not None:
        whatif_report(result, baseline).write(report_path)
        click.echo(f"wrote {report_path}", err=True)


def render_whatif(result: WhatIf) -> str:
    """The comparison as text: one row per variant, group and KPI; the difference marked
    ``noise`` where its interval holds 0."""
    dimensions = list(result.baseline.dimensions)
    several = len(result.variants) > 1
    header = [*(["variant"] if several else []), *dimensions, "KPI", "baseline", "variant",
              "difference (variant - baseline)", ""]
    rows = []
    for r in result.to_records():
        unit = result.units.get(r["kpi"], "")
        verdict = {True: "differs", False: "noise", None: "-"}[r["significant"]]
        rows.append([*([r["variant_name"]] if several else []),
                     *(str(r[d]) for d in dimensions), r["kpi"],
                     format_interval(r["baseline"], r["baseline_ci_low"], r["baseline_ci_high"],
                               unit),
                     format_interval(r["variant"], r["variant_ci_low"], r["variant_ci_high"], unit),
                     format_interval(r["difference"], r["difference_ci_low"],
                               r["difference_ci_high"], unit, signed=True), verdict])
    first = len(header) - 4
    title = (f"{result.baseline.replications} paired replications, "
             f"{result.confidence:.0%} intervals"
             + ("" if several else f"; variant: {next(iter(result.variants))}"))
    return title + "\n\n" + grid(header, rows, right={first, first + 1, first + 2})
