"""``kpiforge demo``: simulate the built-in week and print its KPIs against their targets."""

from __future__ import annotations

from pathlib import Path

import click

from kpiforge.cli.render import render_table
from kpiforge.engine import compute
from kpiforge.report import build_report
from kpiforge.simulations import builtin_scenario, simulate

#: The by-channel view keeps to the KPIs a support lead reads first.
CHANNEL_KPIS = ("offered", "answer_rate", "service_level", "asa", "abandonment_rate",
                "wait_p90", "aht", "resolution_rate", "fcr_rate", "csat", "nps")


@click.command("demo")
@click.option("--report", "report_path", type=click.Path(dir_okay=False, path_type=Path),
              metavar="FILE", help="Also write the week's HTML report (by channel, per day) "
                                   "to FILE. Needs kpiforge[plot].")
def demo_command(report_path: Path | None) -> None:
    """Simulate a week of calls, chats and emails (the built-in demo scenario) and print
    every KPI against its target, overall and by channel."""
    scenario = builtin_scenario("demo")
    run = simulate(scenario)
    tables = run.tables()
    overall = compute(tables)
    by_channel = compute(tables, kpis=CHANNEL_KPIS, by=["channel"])
    click.echo(f"kpiforge demo: {scenario.name}, {scenario.start} + {scenario.days} days, "
               f"{run.contacts.num_rows:,} contacts simulated in {run.seconds:.1f} s "
               f"(scenario: simulations/scenarios/demo.toml)\n")
    click.echo(render_table(overall))
    click.echo("\nBy channel\n")
    click.echo(render_table(by_channel))
    if report_path is not None:
        build_report(tables, by=["channel"], grain="1d", kpis=CHANNEL_KPIS,
                     scenario=scenario).write(report_path)
        click.echo(f"\nwrote the report to {report_path}")
    click.echo("\nNext: `kpiforge simulate --out run/` writes these tables; "
               "`kpiforge compute run/ --by channel --grain 1h` reads them back.")
