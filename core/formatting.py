"""Numbers as people read them: values with their units, targets with their direction.

Shared by the terminal tables (``kpiforge.cli.render``) and the HTML report.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from kpiforge.definitions import KPI
    from kpiforge.goals.targets import Target

#: Units whose values are counts, shown without decimals.
COUNT_UNITS = {"contacts", "customers", "answers", "agents"}


def format_value(value: float | None, unit: str) -> str:
    """A value with its unit as a person reads it: rates as percentages, counts whole."""
    if value is None or math.isnan(value):
        return "-"
    if unit == "%":
        return f"{value * 100:.1f} %"
    if unit in COUNT_UNITS:
        return f"{value:,.0f}"
    if unit == "s":
        return f"{value:,.1f} s"
    if unit == "currency":
        return f"{value:,.2f}"
    return f"{value:,.2f} {unit}".rstrip()


def format_difference(value: float, unit: str) -> str:
    """A difference with its sign; rates in percentage points."""
    if math.isnan(value):
        return "-"
    if unit == "%":
        return f"{value * 100:+.1f} pp"
    text = format_value(abs(value), unit)
    return ("-" if value < 0 else "+") + text


def format_interval(mean: float | None, low: float | None, high: float | None, unit: str,
                    signed: bool = False) -> str:
    """A mean with its interval, ``12.5 s (11.0 s .. 14.0 s)``; ``signed``: a difference
    (:func:`format_difference`). ``-`` where the mean is undefined."""
    if mean is None:
        return "-"
    show = format_difference if signed else format_value
    around = "" if low is None or high is None else f" ({show(low, unit)} .. {show(high, unit)})"
    return f"{show(mean, unit)}{around}"


def format_target(kpi: KPI) -> str:
    if kpi.target is None:
        return ""
    return f"{_sign(kpi)} {format_value(kpi.target, kpi.unit)}"


def _sign(kpi: KPI) -> str:
    return ">=" if kpi.direction == "higher" else "<=" if kpi.direction == "lower" else "~"


def format_plan_target(target: Target, kpi: KPI) -> str:
    """A targets file's target with the KPI's unit: ``>= 80.0 % per 1w by 2026-12-31``."""
    if target.band is not None:
        text = " - ".join(format_value(edge, kpi.unit) for edge in target.band)
    else:
        text = f"{_sign(kpi)} {format_value(target.value, kpi.unit)}"
    if target.period:
        text += f" per {target.period}"
    if target.deadline:
        text += f" by {target.deadline.isoformat()}"
    return text
