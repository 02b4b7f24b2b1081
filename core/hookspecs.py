"""Every hook a kpiforge plugin can implement. Each returns a list."""

from __future__ import annotations

import pluggy

hookspec = pluggy.HookspecMarker("kpiforge")
hookimpl = pluggy.HookimplMarker("kpiforge")


@hookspec
def kpiforge_register_measures():
    """Return a list of :class:`kpiforge.Measure`: mergeable aggregates over one table."""


@hookspec
def kpiforge_register_kpis():
    """Return a list of :class:`kpiforge.KPI`: formulas over measures, KPIs and parameters."""


@hookspec
def kpiforge_register_kgis():
    """Return a list of :class:`kpiforge.KGI`: goals that KPIs link to (computable KPIs)."""


@hookspec
def kpiforge_register_dimensions():
    """Return a list of :class:`kpiforge.Dimension`: columns results can be grouped by."""


@hookspec
def kpiforge_register_commands():
    """Return a list of :class:`click.Command` to add to the ``kpiforge`` CLI."""
