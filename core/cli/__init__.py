"""The ``kpiforge`` command line: one click group; plugins may add commands.

Subcommands are imported when they run (click's lazy-group pattern), and plugins are loaded
only for a command that is not built in or for the command list, so ``kpiforge erlang`` and
``kpiforge compute --help`` start without the engine, SimPy or plugins.

A plugin's command named like a built-in command, or like another plugin's command, is left
out with a warning naming both: built-in commands always mean the same thing.
"""

from __future__ import annotations

import contextlib
import functools
import importlib
import os
import sys
import warnings
from typing import Any, NoReturn

import click

from kpiforge.errors import KpiforgeError, KpiforgeWarning

#: Built-in command name -> "module:attribute" of its click command.
BUILTIN_COMMANDS = {
    "compute": "kpiforge.cli.compute:compute_command",
    "demo": "kpiforge.cli.demo:demo_command",
    "erlang": "kpiforge.cli.erlang:erlang_command",
    "forecast": "kpiforge.cli.forecast:forecast_command",
    "import": "kpiforge.cli.importing:import_command",
    "kpis": "kpiforge.cli.kpis:kpis_group",
    "lint": "kpiforge.cli.lint:lint_command",
    "plugins": "kpiforge.cli.plugins:plugins_command",
    "report": "kpiforge.cli.report:report_command",
    "simulate": "kpiforge.cli.simulate:simulate_command",
    "staff": "kpiforge.cli.staff:staff_command",
    "tree": "kpiforge.cli.tree:tree_command",
    "sweep": "kpiforge.cli.sweep:sweep_command",
    "whatif": "kpiforge.cli.whatif:whatif_command",
}


class KpiforgeGroup(click.Group):
    """Loads commands on demand and turns :class:`KpiforgeError` into a one-line message
    and exit status 1."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *BUILTIN_COMMANDS, *plugin_commands()})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in BUILTIN_COMMANDS:
            module_name, attribute = BUILTIN_COMMANDS[cmd_name].split(":")
            command: click.Command = getattr(importlib.import_module(module_name), attribute)
            return command
        return super().get_command(ctx, cmd_name) or plugin_commands().get(cmd_name)

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except KpiforgeError as exc:
            raise click.ClickException(str(exc)) from None


@functools.cache
def plugin_commands() -> dict[str, click.Command]:
    """The commands of the plugins that are not left out, by name; a name already taken
    is warned about and left out."""
    # Loading every plugin, so only when needed.
    from kpiforge.plugin_manager import default_plugin_manager
    from kpiforge.registry import default_registry

    default_registry()  # resolving definitions may leave more plugins out
    commands: dict[str, click.Command] = {}
    owners: dict[str, str] = {}
    for registration in default_plugin_manager().registrations()["kpiforge_register_commands"]:
        for command in registration.items:
            name = command.name or ""
            taken = "a built-in command" if name in BUILTIN_COMMANDS else \
                f"plugin {owners[name]!r}'s command" if name in owners else None
            if taken is not None:
                warnings.warn(f"plugin {registration.plugin!r} registers a command {name!r}, "
                              f"which is {taken}; the plugin's command is left out: rename it",
                              KpiforgeWarning, stacklevel=2)
                continue
            commands[name] = command
            owners[name] = registration.plugin
    return commands


@click.group(cls=KpiforgeGroup)
@click.version_option(package_name="kpiforge")
def cli() -> None:
    """Customer-support and customer-success KPIs, computed from contact records."""


def _one_line_warning(message: Warning | str, category: type[Warning], filename: str,
                      lineno: int, file: Any = None, line: str | None = None) -> None:
    click.echo(f"Warning: {message}", err=True)


def main() -> None:
    """Entry point: warnings as one line each; a plugin that cannot load is an error, and
    so is output that cannot be written (standard output closed or its device full; files
    say so themselves), each one line and exit status 1. (click ends a closed pipe
    quietly.)"""
    warnings.showwarning = _one_line_warning
    try:
        cli()
    except KpiforgeError as exc:  # raised while listing or finding commands
        _fail(str(exc))
    except OSError as exc:
        if exc.filename is not None:
            _fail(f"{exc.filename}: {exc.strerror or exc}")
        _discard_stdout()
        _fail(f"cannot write the output: {exc.strerror or exc}")


def _fail(message: str) -> NoReturn:
    with contextlib.suppress(OSError):
        click.echo(f"Error: {message}", err=True)
    sys.exit(1)


def _discard_stdout() -> None:
    """Send what standard output still buffers to the null device, so that Python's flush
    at exit does not fail again (the advice of Python's ``signal`` documentation)."""
    with contextlib.suppress(OSError, ValueError):
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
