"""Every hook a kpiforge plugin can implement. Each returns a list."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pluggy

if TYPE_CHECKING:
    import click

    from kpiforge.definitions import KGI, KPI, Dimension, Measure
    from kpiforge.goals.rules import LintRule
    from kpiforge.io.presets import Preset

hookspec = pluggy.HookspecMarker("kpiforge")
hookimpl = pluggy.HookimplMarker("kpiforge")


@hookspec
def kpiforge_register_measures() -> list[Measure]:
    """Return a list of :class:`kpiforge.Measure`: mergeable aggregates over one table."""


@hookspec
def kpiforge_register_kpis() -> list[KPI]:
    """Return a list of :class:`kpiforge.KPI`: formulas over measures, KPIs and parameters."""


@hookspec
def kpiforge_register_kgis() -> list[KGI]:
    """Return a list of :class:`kpiforge.KGI`: goals that KPIs link to (computable KPIs)."""


@hookspec
def kpiforge_register_dimensions() -> list[Dimension]:
    """Return a list of :class:`kpiforge.Dimension`: columns results can be grouped by."""


@hookspec
def kpiforge_register_commands() -> list[click.Command]:
    """Return a list of :class:`click.Command` to add to the ``kpiforge`` CLI."""


@hookspec
def kpiforge_register_lint_rules() -> list[LintRule]:
    """Return a list of :class:`kpiforge.goals.LintRule`: checks ``kpiforge lint`` runs over
    the KPI set, its targets and baselines."""


@hookspec
def kpiforge_register_presets() -> list[Preset]:
    """Return a list of :class:`kpiforge.Preset`: named mapping files for
    exports, listed by ``kpiforge import --list`` and used as ``--map NAME``."""
