"""Staffing as pictures: required against scheduled agents per interval, a shift plan's
coverage, and the service level its simulation reached, with confidence bands.

matplotlib is an optional extra (``pip install 'kpiforge[plot]'``); it is imported only
when a plot is drawn.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from kpiforge.errors import KpiforgeError
from kpiforge.io.output import atomic_output

if TYPE_CHECKING:
    from kpiforge.simulations.shifts import ShiftPlan
    from kpiforge.simulations.staffing import Requirements
    from kpiforge.simulations.verification import Verification

PLOT_FORMATS = ("png", "svg")


def plot_format(path: str | os.PathLike) -> str:
    """The image format named by ``path``'s suffix; checks that matplotlib is installed."""
    suffix = Path(path).suffix.lower().lstrip(".")
    if suffix not in PLOT_FORMATS:
        raise KpiforgeError(f"{path}: plots are written as .png or .svg, not {suffix!r}")
    _figure_class()
    return suffix


def _figure_class() -> Any:
    try:
        from matplotlib.figure import Figure
    except ImportError:
        raise KpiforgeError("plots need matplotlib: pip install 'kpiforge[plot]'") from None
    return Figure


def plot_staffing(path: str | os.PathLike, requirement: Requirements,
                  plan: ShiftPlan | None = None, verification: Verification | None = None
                  ) -> None:
    """Draw the requirement (and the plan's coverage and the verifying simulation's service
    level, when given) into a PNG or SVG file at ``path``, atomically."""
    fmt = plot_format(path)
    panels = 1 + (plan is not None) + (verification is not None)
    figure = _figure_class()(figsize=(12, 3.2 * panels), layout="constrained")
    axes = figure.subplots(panels, 1, sharex=True, squeeze=False)[:, 0]
    starts = requirement["interval_start"]
    width = np.timedelta64(requirement.interval_s, "s")
    times, index = np.unique(starts, return_inverse=True)
    edges = np.append(times, times[-1] + width)
    for column, label in (("agents", "required on the phones"),
                          ("scheduled", "scheduled (after shrinkage)")):
        totals = np.bincount(index, weights=requirement[column], minlength=len(times))
        axes[0].stairs(totals, edges, label=label)
    axes[0].set_ylabel("agents")
    axes[0].set_title("Agents per interval, all channels")
    axes[0].legend(loc="upper right")
    panel = 1
    if plan is not None:
        plan_edges = np.append(plan.interval_starts(), plan.interval_starts()[-1] + width)
        axes[panel].stairs(plan.required, plan_edges, label="scheduled requirement")
        axes[panel].stairs(plan.covered, plan_edges, label="planned shifts (not on break)")
        axes[panel].fill_between(plan.interval_starts(), plan.covered, plan.required,
                                 where=plan.covered < plan.required, step="post", alpha=0.3,
                                 color="red", label="under")
        axes[panel].set_ylabel("agents")
        axes[panel].set_title(f"Shift plan coverage: {plan.paid_hours:,.1f} paid hours")
        axes[panel].legend(loc="upper right")
        panel += 1
    if verification is not None:
        _service_level_panel(axes[panel], verification, width)
    with atomic_output(path) as temporary:
        figure.savefig(temporary, format=fmt)


def _service_level_panel(ax: Any, verification: Verification, width: np.timedelta64
                         ) -> None:
    rows = verification.intervals
    for channel in dict.fromkeys(rows["channel"].tolist()):
        mine = rows["channel"] == channel
        middle = rows["interval_start"][mine] + width / 2
        line = ax.plot(middle, rows["service_level"][mine], marker=".", label=channel)[0]
        ax.fill_between(middle, rows["low"][mine], rows["high"][mine], alpha=0.2,
                        color=line.get_color())
        ax.axhline(rows["target"][mine][0], linestyle="--", color=line.get_color(),
                   linewidth=0.8)
    ax.set_ylim(0, 1.05)
    ax.set_ylabel("service level")
    ax.set_title(f"Simulated service level per interval ({verification.replications} "
                 f"replications, {verification.confidence:.0%} intervals; dashed: target)")
    ax.legend(loc="lower right")
