"""``kpiforge demo``: the KPIs of a small week of contact-centre data shipped in the package."""

from __future__ import annotations

from importlib.resources import as_file, files

import click

from kpiforge.cli.render import render_table
from kpiforge.engine import compute

#: The by-channel view keeps to the KPIs a support lead reads first.
CHANNEL_KPIS = ("offered", "answer_rate", "service_level", "asa", "wait_p90", "aht",
                "resolution_rate", "fcr_rate", "csat")


@click.command("demo")
def demo_command() -> None:
    """Compute every KPI of the built-in demo week and print them against their targets."""
    with as_file(files("kpiforge") / "data" / "demo") as directory:
        overall = compute(directory)
        by_channel = compute(directory, kpis=CHANNEL_KPIS, by=["channel"])
    click.echo("kpiforge demo: one week of calls, chats and emails (2026-11-16 to 22), "
               "with agent intervals and three months of customers\n")
    click.echo(render_table(overall))
    click.echo("\nBy channel\n")
    click.echo(render_table(by_channel))
    click.echo("\nNext: `kpiforge compute PATH --by channel --grain 1h`, "
               "`kpiforge kpis show service_level`.")
