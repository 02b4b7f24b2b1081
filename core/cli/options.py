"""Option parsing shared by commands."""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Iterator

import click

from kpiforge.errors import KpiforgeError
from kpiforge.io.output import NotEmptyError

#: ``--force`` of the commands that write a directory.
force_option = click.option(
    "--force", is_flag=True,
    help="Replace --out DIR whole if it holds files (a directory holds one run).")

#: How ``--param`` reads: a plain parameter, or one label of a per-label parameter.
PARAM_HELP = ("Override a parameter, e.g. sl_threshold_s=30 (every channel) or "
              "sl_threshold_s.email=86400 (one label of a per-label parameter).")

param_option = click.option("--param", "params", multiple=True, metavar="NAME=VALUE",
                            help=PARAM_HELP)

#: ``--calendar`` of the commands that compute KPIs (the ``*_business`` KPIs read it).
calendar_option = click.option(
    "--calendar", metavar="FILE.toml|PRESET",
    help="Business hours for the *_business KPIs (first response and resolution times in "
         "open hours): a calendar file (weekly hours, holidays, time zone) or a preset: "
         "24x7, weekdays-9-17. Without it those KPIs are left out.")


def split_names(values: Iterable[str]) -> list[str]:
    """``--kpi a --kpi b,c`` -> ``['a', 'b', 'c']``."""
    return [name.strip() for value in values for name in value.split(",") if name.strip()]


def parse_assignments(values: Iterable[str], option: str) -> dict[str, str]:
    """``NAME=VALUE`` pairs from a repeated option."""
    pairs = {}
    for value in values:
        name, sep, text = value.partition("=")
        if not sep or not name.strip():
            raise click.BadParameter(f"expected NAME=VALUE, got {value!r}", param_hint=option)
        pairs[name.strip()] = text.strip()
    return pairs


def parse_params(values: Iterable[str]) -> dict[str, str | dict[str, str]]:
    """``--param`` values: ``NAME=VALUE`` for every label, ``NAME.LABEL=VALUE`` for one
    label of a per-label parameter (``sl_threshold_s.email=86400``)."""
    params: dict[str, str | dict[str, str]] = {}
    for name, value in parse_assignments(values, "--param").items():
        base, dot, label = name.partition(".")
        if not dot:
            params[name] = value
            continue
        if not base or not label:
            raise click.BadParameter(f"expected NAME.LABEL=VALUE, got {name}={value}",
                                     param_hint="--param")
        labels = params.setdefault(base, {})
        if not isinstance(labels, dict):
            raise click.BadParameter(f"{base} is given both for every label and for label "
                                     f"{label!r}; give one or the other", param_hint="--param")
        labels[label] = value
    return params


@contextlib.contextmanager
def directory_advice() -> Iterator[None]:
    """A run directory that is not empty, in command-line terms."""
    try:
        yield
    except NotEmptyError as exc:
        raise KpiforgeError(f"{exc.path}: is not empty ({exc.shown}); a directory holds one "
                            "run: give a new --out DIR, or --force to replace it whole"
                            ) from None
