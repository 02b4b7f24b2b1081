"""Trends: a small chart per KPI over the report's periods, a line per group and the
target, each with its text alternative (a description and the values as a table)."""

from __future__ import annotations

import attrs
import numpy as np

from kpiforge.formatting import format_plan_target, format_value
from kpiforge.report.figures import trend_svg
from kpiforge.report.page import esc, table
from kpiforge.report.view import MAX_PERIODS, KpiView

#: The data table under a chart lists at most this many periods (the latest).
TABLE_PERIODS = 60


def describe_trend(view: KpiView, kpi: str) -> str:
    """What a trend chart shows, in one sentence per group: first and latest value, lowest
    and highest, and the target."""
    unit = view.kpis[kpi].unit
    parts = [f"{kpi} per {view.grain} from {view.period_label(0)} to "
             f"{view.period_label(-1)}."]
    for g, group in enumerate(view.groups):
        values = view.values[kpi][g]
        defined = values[~np.isnan(values)]
        if not len(defined):
            parts.append(f"{group}: no values.")
            continue
        parts.append(f"{group}: {format_value(defined[0], unit)} first, "
                     f"{format_value(defined[-1], unit)} latest, lowest "
                     f"{format_value(defined.min(), unit)}, highest "
                     f"{format_value(defined.max(), unit)}.")
    target = view.targets.get(kpi)
    if target is not None:
        parts.append(f"Target {format_plan_target(target, view.kpis[kpi])}.")
    return " ".join(parts)


@attrs.frozen
class TrendSection:
    """One chart per KPI of the view, with the values as a table for screen readers."""

    view: KpiView
    anchor: str = "trends"
    title: str = "Trends"

    def render(self) -> str:
        view = self.view
        if len(view.periods) < 2:
            return ('<p class="note">One period only: nothing to draw over time. Give a finer '
                    "grain (<code>--grain</code>) for trends.</p>")
        intro = f"Per {esc(view.grain)}, {len(view.periods)} periods"
        if view.dropped_periods:
            intro = (f"Per {esc(view.grain)}, the latest {MAX_PERIODS} of "
                     f"{MAX_PERIODS + view.dropped_periods} periods (the "
                     f"{view.dropped_periods} earlier ones are left out of the charts)")
        intro += ". Dashed line: the target"
        if view.low:
            intro += "; shaded: the confidence interval of the mean over replications"
        figures = "".join(self._figure(kpi) for kpi in view.kpis)
        return f'<p class="intro">{intro}.</p><div class="charts">{figures}</div>'

    def _figure(self, kpi: str) -> str:
        view = self.view
        unit = view.kpis[kpi].unit
        description = describe_trend(view, kpi)
        shown = range(max(0, len(view.periods) - TABLE_PERIODS), len(view.periods))
        rows = [[esc(view.period_label(p)),
                 *(esc(format_value(view.values[kpi][g, p], unit))
                   for g in range(len(view.groups)))] for p in shown]
        caption = "" if len(shown) == len(view.periods) else \
            f"the latest {len(shown)} of {len(view.periods)} periods"
        data = table(["period", *map(esc, view.groups)], rows, caption=caption,
                     numeric=range(1, len(view.groups) + 1))
        unit_text = f" <span>({esc(unit)})</span>" if unit else ""
        return (f'<figure data-kpi="{esc(kpi)}"><figcaption>{esc(kpi)}{unit_text}'
                f"</figcaption>{trend_svg(view, kpi, description)}"
                f"<details><summary>Values</summary>{data}</details></figure>")
