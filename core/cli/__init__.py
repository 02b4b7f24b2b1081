"""The ``kpiforge`` command line: one click group; plugins may add commands."""

from __future__ import annotations

import sys

import click

from kpiforge.cli.compute import compute_command
from kpiforge.cli.demo import demo_command
from kpiforge.cli.erlang import erlang_command
from kpiforge.cli.kpis import kpis_group
from kpiforge.cli.plugins import plugins_command
from kpiforge.cli.simulate import simulate_command
from kpiforge.errors import KpiforgeError
from kpiforge.plugin_manager import default_plugin_manager


class KpiforgeGroup(click.Group):
    """Turns :class:`KpiforgeError` into a one-line message and exit status 1."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except KpiforgeError as exc:
            raise click.ClickException(str(exc)) from None


@click.group(cls=KpiforgeGroup)
@click.version_option(package_name="kpiforge")
def cli() -> None:
    """Customer-support and customer-success KPIs, computed from contact records."""


cli.add_command(compute_command)
cli.add_command(demo_command)
cli.add_command(kpis_group)
cli.add_command(plugins_command)
cli.add_command(simulate_command)
cli.add_command(erlang_command)


def main() -> None:
    """Entry point: add the commands plugins register, then run."""
    try:
        for commands in default_plugin_manager().hook.kpiforge_register_commands():
            for command in commands:
                cli.add_command(command)
    except KpiforgeError as exc:
        click.echo(f"Error: {exc}", err=True)
        sys.exit(1)
    cli()
