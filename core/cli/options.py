"""Option parsing shared by commands."""

from __future__ import annotations

from collections.abc import Iterable

import click


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
