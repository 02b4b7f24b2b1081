"""kpiforge: customer-support and customer-success KPIs as plugins, computed fast.

The public API: declare definitions with :class:`Measure`, :class:`KPI`, :class:`KGI` and
:class:`Dimension` (a KPI's :class:`Link` says how it moves a goal) in ``kpiforge_*`` hooks
marked with :data:`hookimpl`, and compute them with :func:`compute` (business hours from a
:class:`Calendar`). ``kpiforge.goals`` holds the KPI tree, targets and lint.

Names are imported on first use, so that a command which needs none of the engine (``kpiforge
erlang``, ``--help``) starts without loading it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from kpiforge.lazy import lazy_exports

if TYPE_CHECKING:
    from kpiforge.definitions import KGI, KPI, Dimension, Link, Measure, PerLabel
    from kpiforge.engine import compute
    from kpiforge.errors import KpiforgeError
    from kpiforge.hookspecs import hookimpl, hookspec
    from kpiforge.io.calendars import Calendar
    from kpiforge.io.presets import Preset
    from kpiforge.plugin_manager import get_plugin_manager
    from kpiforge.registry import Registry
    from kpiforge.results import Result

__version__ = "0.1.0"

#: Public name -> the module that defines it.
_PUBLIC = {
    "Calendar": "kpiforge.io.calendars",
    "KGI": "kpiforge.definitions",
    "KPI": "kpiforge.definitions",
    "Dimension": "kpiforge.definitions",
    "Link": "kpiforge.definitions",
    "Measure": "kpiforge.definitions",
    "PerLabel": "kpiforge.definitions",
    "compute": "kpiforge.engine",
    "KpiforgeError": "kpiforge.errors",
    "hookimpl": "kpiforge.hookspecs",
    "hookspec": "kpiforge.hookspecs",
    "get_plugin_manager": "kpiforge.plugin_manager",
    "Preset": "kpiforge.io.presets",
    "Registry": "kpiforge.registry",
    "Result": "kpiforge.results",
}

__all__ = [
    "KGI",
    "KPI",
    "Calendar",
    "Dimension",
    "KpiforgeError",
    "Link",
    "Measure",
    "PerLabel",
    "Preset",
    "Registry",
    "Result",
    "__version__",
    "compute",
    "get_plugin_manager",
    "hookimpl",
    "hookspec",
]


__getattr__, __dir__ = lazy_exports(__name__, _PUBLIC)
