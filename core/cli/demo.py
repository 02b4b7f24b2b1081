"""``kpiforge demo``: simulate the built-in week and print its KPIs against their targets."""

from __future__ import annotations

from pathlib import Path

import attrs
import click

from kpiforge.cli.render import render_table
from kpiforge.engine import compute
from kpiforge.report import build_report
from kpiforge.simulations import builtin_scenario, simulate

#: The headline, by channel, keeps to the KPIs a support lead reads first.
CHANNEL_KPIS = ("offered", "answer_rate", "service_level", "asa", "abandonment_rate",
                "wait_p90", "aht", "resolution_rate", "fcr_rate", "csat", "nps")
#: Waits mean something only within a channel (seconds for a call, hours for an email):
#: the all-channels table leaves them out.
WAIT_KPIS = ("first_response_time", "asa", "avg_wait", "wait_p90")


@click.command("demo")
@click.option("--report", "report_path", type=click.Path(dir_okay=False, path_type=Path),
              metavar="FILE", help="Also write the week's HTML report (by channel, per day) "
                                   "to FILE. Needs kpiforge[plot].")
def demo_command(report_path: Path | None) -> None:
    """Simulate a week of calls, chats and emails (the built-in demo scenario) and print
    the headline KPIs by channel against their targets, then every other KPI over all
    channels."""
    scenario = builtin_scenario("demo")
    run = simulate(scenario)
    tables = run.tables()
    by_channel = compute(tables, kpis=CHANNEL_KPIS, by=["channel"])
    everything = compute(tables)
    kept = [name for name in everything.kpis if name not in WAIT_KPIS]
    overall = attrs.evolve(everything, values={n: everything.values[n] for n in kept},
                           kpis={n: everything.kpis[n] for n in kept})
    click.echo(f"kpiforge demo: {scenario.name}, {scenario.start} + {scenario.days} days, "
               f"{run.contacts.num_rows:,} contacts simulated in {run.seconds:.1f} s "
               f"(scenario: simulations/scenarios/demo.toml)\n")
    click.echo("By channel: each channel's service level against its own threshold, "
               f"sl_threshold_s = {by_channel.params['sl_threshold_s']}\n")
    click.echo(render_table(by_channel))
    click.echo("\nAll channels (waits, which mean something only per channel, left out)\n")
    click.echo(render_table(overall))
    if report_path is not None:
        build_report(tables, by=["channel"], grain="1d", kpis=CHANNEL_KPIS,
                     scenario=scenario).write(report_path)
        click.echo(f"\nwrote the report to {report_path}")
    click.echo("\nNext: `kpiforge simulate --out run/` writes these tables; "
               "`kpiforge compute run/ --by channel --grain 1h` reads them back.")
