"""Pictures: staffing (required against scheduled agents per interval, a shift plan's
coverage, the service level its simulation reached, with confidence bands), what-ifs
(baseline against variants per KPI), sweeps (a KPI against the swept key, with bands) and
forecasts (against what happened in the back-test window).

matplotlib is an optional extra (``pip install 'kpiforge[plot]'``); it is imported only
when a plot is drawn.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from kpiforge.errors import KpiforgeError
from kpiforge.io.output import atomic_output

if TYPE_CHECKING:
    from kpiforge.simulations.forecasting import ContactForecast
    from kpiforge.simulations.shifts import ShiftPlan
    from kpiforge.simulations.staffing import Requirements
    from kpiforge.simulations.verification import Verification
    from kpiforge.simulations.whatif import WhatIf

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
    _save(figure, path, fmt)


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


def _panels(count: int, width: float = 4.2, height: float = 3.0) -> tuple[Any, list[Any]]:
    """A figure with ``count`` panels, up to three a row."""
    columns = min(count, 3)
    rows = -(-count // columns)
    figure = _figure_class()(figsize=(width * columns, height * rows), layout="constrained")
    axes = figure.subplots(rows, columns, squeeze=False).ravel()
    for ax in axes[count:]:
        ax.set_visible(False)
    return figure, list(axes[:count])


def _save(figure: Any, path: str | os.PathLike, fmt: str) -> None:
    with atomic_output(path) as temporary:
        figure.savefig(temporary, format=fmt)


def plot_whatif(path: str | os.PathLike, result: WhatIf) -> None:
    """Baseline against each variant, one panel per KPI: the means with their confidence
    intervals per group, into a PNG or SVG file at ``path``."""
    fmt = plot_format(path)
    records = result.to_records()
    dimensions = result.baseline.dimensions
    figure, axes = _panels(len(result.kpis))
    names = ["baseline", *result.variants]
    width = 0.8 / len(names)
    for ax, kpi in zip(axes, result.kpis, strict=True):
        mine = [r for r in records if r["kpi"] == kpi]
        first = [r for r in mine if r.get("variant_name", names[1]) == names[1]]
        labels = [" / ".join(str(r[d]) for d in dimensions) or "all" for r in first]
        where = np.arange(len(first))
        for k, name in enumerate(names):
            rows = first if k == 0 else [r for r in mine
                                        if r.get("variant_name", names[1]) == name]
            side = "baseline" if k == 0 else "variant"
            mean = np.array([np.nan if r[side] is None else r[side] for r in rows])
            low = np.array([np.nan if r[f"{side}_ci_low"] is None else r[f"{side}_ci_low"]
                            for r in rows])
            high = np.array([np.nan if r[f"{side}_ci_high"] is None
                             else r[f"{side}_ci_high"] for r in rows])
            ax.errorbar(where + (k - (len(names) - 1) / 2) * width, mean,
                        yerr=[mean - low, high - mean], fmt="o", capsize=3, label=name)
        ax.set_xticks(where, labels, rotation=30 if len(labels) > 4 else 0, fontsize=8)
        unit = result.units.get(kpi, "")
        ax.set_title(f"{kpi}{f' ({unit})' if unit else ''}", fontsize=10)
    axes[0].legend(fontsize=8)
    figure.suptitle(f"What-if: {result.baseline.replications} paired replications, "
                    f"{result.confidence:.0%} intervals")
    _save(figure, path, fmt)


def plot_sweep(path: str | os.PathLike, rows: Sequence[Mapping[str, Any]],
               keys: Sequence[str], kpis: Sequence[str] = ()) -> None:
    """Each KPI (default: service level) against the first grid key, with its confidence
    band; a line per value of the other keys."""
    fmt = plot_format(path)
    kpis = list(kpis) or ["service_level"]
    missing = [k for k in kpis if k not in rows[0]]
    if missing:
        raise KpiforgeError(f"cannot plot {missing[0]!r}: the sweep did not compute it; "
                            "name the KPIs to plot with --kpi")
    figure, axes = _panels(len(kpis), width=5.5, height=3.5)
    first, others = keys[0], keys[1:]
    xs = [r[first] for r in rows]
    numeric = all(isinstance(x, int | float) for x in xs)
    ticks = list(dict.fromkeys(xs))
    for ax, kpi in zip(axes, kpis, strict=True):
        lines: dict[str, list[Mapping[str, Any]]] = {}
        for row in rows:
            lines.setdefault(", ".join(f"{k}={row[k]}" for k in others), []).append(row)
        for label, mine in lines.items():
            x = np.array([r[first] if numeric else ticks.index(r[first]) for r in mine],
                         dtype=float)
            order = np.argsort(x)
            value, low, high = (np.array([np.nan if r[name] is None else r[name]
                                          for r in mine], dtype=float)[order]
                                for name in (kpi, f"{kpi}_ci_low", f"{kpi}_ci_high"))
            line = ax.plot(x[order], value, marker=".", label=label or kpi)[0]
            ax.fill_between(x[order], low, high, alpha=0.2, color=line.get_color())
        if not numeric:
            ax.set_xticks(range(len(ticks)), [str(t) for t in ticks])
        ax.set_xlabel(first)
        ax.set_ylabel(kpi)
        if others:
            ax.legend(fontsize=8)
    figure.suptitle(f"Sweep: {rows[0]['replications']} replications per point, "
                    "95 % bands")
    _save(figure, path, fmt)


def plot_forecast(path: str | os.PathLike, result: ContactForecast) -> None:
    """Per series, daily contacts: the history, the back-test forecast (and the seasonal
    naive one) against what happened in the held-out weeks, and the forecast ahead."""
    fmt = plot_format(path)
    figure, axes = _panels(len(result.series), width=6.0, height=3.2)
    for ax, series in zip(axes, result.series, strict=True):
        ax.plot(series.days, series.daily, color="black", linewidth=1, label="actual")
        test = series.backtest
        if test is not None:
            ax.axvspan(test.days[0], test.days[-1] + np.timedelta64(1, "D"), alpha=0.12,
                       color="grey", label="back-test window")
            ax.plot(test.days, test.daily_forecast, label="back-test forecast")
            ax.plot(test.days, test.daily_naive, linestyle=":", label="seasonal naive")
        ax.plot(series.forecast_days, series.forecast_daily, label="forecast")
        ax.set_title(" / ".join(series.key), fontsize=10)
        ax.set_ylabel("contacts per day")
        ax.tick_params(axis="x", labelrotation=30, labelsize=8)
    axes[0].legend(fontsize=8)
    _save(figure, path, fmt)
