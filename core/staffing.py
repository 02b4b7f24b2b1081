"""Staffing plans: agents per interval for a whole forecast, the shifts that cover them,
and a simulation that checks the plan.

>>> from kpiforge import staffing
>>> table = staffing.requirements("forecast.csv", service_level=0.8, within=20,
...                               shrinkage=0.3)                      # doctest: +SKIP
>>> table.to_pandas()                                                  # doctest: +SKIP
>>> plan = staffing.plan_shifts(table, "patterns.toml")                # doctest: +SKIP
>>> staffing.verify_plan(table, plan).records("days")                  # doctest: +SKIP

The implementation lives in :mod:`kpiforge.simulations` (``forecast``, ``staffing``,
``shifts``, ``verification``, ``plots``); this module is its public face.
"""

from __future__ import annotations

from kpiforge.simulations.forecast import ChannelModel, Forecast, read_forecast
from kpiforge.simulations.plots import plot_staffing
from kpiforge.simulations.shifts import Patterns, ShiftPlan, load_patterns, plan_shifts
from kpiforge.simulations.staffing import (
    COLUMNS,
    DEFAULT_TARGETS,
    Requirements,
    Target,
    requirements,
)
from kpiforge.simulations.verification import Verification, verify_plan

__all__ = [
    "COLUMNS",
    "DEFAULT_TARGETS",
    "ChannelModel",
    "Forecast",
    "Patterns",
    "Requirements",
    "ShiftPlan",
    "Target",
    "Verification",
    "load_patterns",
    "plan_shifts",
    "plot_staffing",
    "read_forecast",
    "requirements",
    "verify_plan",
]
