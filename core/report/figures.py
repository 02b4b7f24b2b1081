"""Charts of KPIs over time, drawn by matplotlib: inline SVG for reports, PNG or SVG files
for ``kpiforge compute --plot``.

matplotlib is an optional extra (``pip install 'kpiforge[plot]'``), imported when a chart
is drawn. Figures are made without pyplot (no global state) and written with text kept as
text (searchable, read by screen readers) and a fixed id salt per chart, so the same data
gives the same bytes and two charts on one page never share an element id.

Each group has its own colour from the Okabe-Ito palette (told apart with colour vision
deficiencies) and its own marker, so lines read apart in black and white too; targets
are a dashed line (a shaded band for a target band).
"""

from __future__ import annotations

import datetime as dt
import io
import math
import os
import re
from collections.abc import Sequence
from typing import Any, Literal

import numpy as np

from kpiforge.errors import KpiforgeError
from kpiforge.io.output import atomic_output
from kpiforge.report.page import esc
from kpiforge.report.view import KpiView
from kpiforge.simulations.plots import plot_format

PALETTE = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000",
           "#F0E442")
MARKERS = ("o", "s", "^", "D", "v", "P", "X", "*")
TARGET_COLOUR = "#59636e"
#: Up to this many periods, each has its own label on the time axis.
_LABELLED_PERIODS = 8
#: Markers are drawn on about this many points of a long line.
_MARKED_POINTS = 14
_STYLE = {
    "svg.fonttype": "none",
    "font.family": "sans-serif",
    "font.sans-serif": ["DejaVu Sans"],
    "font.size": 9,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.edgecolor": "#8c959f",
    "axes.grid": True,
    "axes.grid.axis": "y",
    "grid.color": "#e4e8ec",
    "xtick.color": "#424a53",
    "ytick.color": "#424a53",
    "legend.frameon": False,
    "legend.fontsize": 8,
}
_PROLOGUE = re.compile(r"\A.*?(?=<svg)", re.S)
_METADATA = re.compile(r"<metadata>.*?</metadata>\s*", re.S)


def _matplotlib() -> Any:
    try:
        import matplotlib
    except ImportError:
        raise KpiforgeError("charts need matplotlib: pip install 'kpiforge[plot]'") from None
    return matplotlib


def _figure(width: float, height: float,
            layout: Literal["constrained"] | None = "constrained") -> Any:
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), layout=layout)


def _margins(figure: Any, left: float, bottom: float) -> None:
    """Fixed margins, in inches: a page's small charts skip the layout engine, which
    would draw each of them twice."""
    width, height = figure.get_size_inches()
    figure.subplots_adjust(left=left / width, right=1 - 0.15 / width,
                           bottom=bottom / height, top=1 - 0.12 / height)


def _tick_formatter(unit: str) -> Any:
    from matplotlib.ticker import FuncFormatter

    def label(value: float, _position: Any) -> str:
        if unit == "%":
            return f"{value * 100:.0f} %"
        if unit == "s":
            return f"{value:,.0f} s"
        return f"{value:,.4g}"

    return FuncFormatter(label)


def _tick_label(start: dt.datetime, grain: str | None) -> str:
    """A period's start on the time axis, as short as its grain allows."""
    if grain == "1mo":
        return f"{start:%b %Y}"
    if grain in ("1d", "1w"):
        return f"{start:%a %d}" if grain == "1d" else f"{start:%d %b}"
    return f"{start:%H:%M}"


def draw_trend(ax: Any, view: KpiView, kpi: str) -> None:
    """One KPI over the view's periods: a line per group, its interval as a shaded band
    where the view has one, and the target."""
    import matplotlib.dates as mdates

    times = view.times()
    values = view.values[kpi]
    marked = max(1, math.ceil(len(times) / _MARKED_POINTS))
    for g, group in enumerate(view.groups):
        colour = PALETTE[g % len(PALETTE)]
        ax.plot(times, values[g], color=colour, marker=MARKERS[g % len(MARKERS)],
                markersize=4, markevery=marked, linewidth=1.6, label=group)
        if kpi in view.low:
            ax.fill_between(times, view.low[kpi][g], view.high[kpi][g], color=colour,
                            alpha=0.15, linewidth=0)
    target = view.targets.get(kpi)
    if target is not None and target.band is not None:
        ax.axhspan(*target.band, color=TARGET_COLOUR, alpha=0.12, linewidth=0,
                   label="target band")
    elif target is not None:
        ax.axhline(target.value, color=TARGET_COLOUR, linestyle=(0, (5, 3)), linewidth=1.2,
                   label="target")
    unit = view.kpis[kpi].unit
    ax.yaxis.set_major_formatter(_tick_formatter(unit))
    if len(times) <= _LABELLED_PERIODS:
        ax.set_xticks(times, [_tick_label(t, view.grain) for t in times.tolist()])
    else:
        locator = mdates.AutoDateLocator(minticks=3, maxticks=7)
        ax.xaxis.set_major_locator(locator)
        ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))
    if unit == "%":
        ax.set_ylim(bottom=min(0.0, np.nanmin(values, initial=0.0)))
    ax.margins(x=0.02)


def _legend(figure: Any, ax: Any, columns: int, loc: str = "outside lower center") -> None:
    handles, labels = ax.get_legend_handles_labels()
    if len(labels) > 1:
        figure.legend(handles, labels, loc=loc, ncols=min(columns, 6))


def trend_svg(view: KpiView, kpi: str, description: str) -> str:
    """One KPI's trend as an inline ``<svg>`` element with ``description`` as its text
    alternative."""
    with _matplotlib().rc_context(_STYLE):
        figure = _figure(4.6, 2.5, layout=None)
        _margins(figure, left=0.62, bottom=0.62)
        ax = figure.subplots()
        draw_trend(ax, view, kpi)
        _legend(figure, ax, len(view.groups) + 1, loc="lower center")
        return _inline_svg(figure, f"trend-{kpi}", description)


def intervals_svg(view: KpiView, kpi: str, description: str) -> str:
    """The latest period's value of ``kpi`` per group with its interval (a point and a
    bar), and the target, as an inline ``<svg>`` element."""
    groups = list(view.groups)
    with _matplotlib().rc_context({**_STYLE, "axes.grid.axis": "x"}):
        figure = _figure(4.6, 0.9 + 0.32 * len(groups), layout=None)
        _margins(figure, left=max(0.62, 0.09 * max(map(len, groups))), bottom=0.32)
        ax = figure.subplots()
        where = np.arange(len(groups))[::-1]
        mean = view.values[kpi][:, -1]
        low, high = view.low[kpi][:, -1], view.high[kpi][:, -1]
        for g in range(len(groups)):
            ax.errorbar(mean[g], where[g], xerr=[[mean[g] - low[g]], [high[g] - mean[g]]],
                        fmt=MARKERS[g % len(MARKERS)], color=PALETTE[g % len(PALETTE)],
                        capsize=3, markersize=5)
        target = view.targets.get(kpi)
        if target is not None and target.band is not None:
            ax.axvspan(*target.band, color=TARGET_COLOUR, alpha=0.12, linewidth=0)
        elif target is not None:
            ax.axvline(target.value, color=TARGET_COLOUR, linestyle=(0, (5, 3)),
                       linewidth=1.2)
        ax.set_yticks(where, groups)
        ax.set_ylim(-0.6, len(groups) - 0.4)
        ax.xaxis.set_major_formatter(_tick_formatter(view.kpis[kpi].unit))
        return _inline_svg(figure, f"interval-{kpi}", description)


def _inline_svg(figure: Any, key: str, description: str) -> str:
    """``figure`` as an ``<svg>`` element for an HTML page: no XML prologue or metadata,
    ``role="img"`` and a ``<title>`` naming what it shows."""
    buffer = io.StringIO()
    with _matplotlib().rc_context({"svg.hashsalt": key}):
        figure.savefig(buffer, format="svg", metadata={"Date": None})
    text = _METADATA.sub("", _PROLOGUE.sub("", buffer.getvalue(), count=1), count=1)
    head, _, rest = text.partition(">")
    title_id = f"{key}-svg-title"
    return (f'{head} role="img" aria-labelledby="{esc(title_id)}">'
            f'<title id="{esc(title_id)}">{esc(description)}</title>{rest}')


def plot_kpis(path: str | os.PathLike, view: KpiView, title: str = "") -> None:
    """The view's KPIs over time, one small-multiple panel per KPI (three a row), into a
    PNG or SVG file at ``path``, atomically."""
    fmt = plot_format(path)
    kpis: Sequence[str] = list(view.kpis)
    columns = min(len(kpis), 3)
    rows = -(-len(kpis) // columns)
    with _matplotlib().rc_context(_STYLE):
        figure = _figure(4.4 * columns, 2.7 * rows + 0.6)
        axes = figure.subplots(rows, columns, squeeze=False).ravel()
        for ax, kpi in zip(axes, kpis, strict=False):
            draw_trend(ax, view, kpi)
            unit = view.kpis[kpi].unit
            ax.set_title(f"{kpi} ({unit})" if unit else kpi, loc="left", fontsize=10)
        for ax in axes[len(kpis):]:
            ax.set_visible(False)
        _legend(figure, axes[0], len(view.groups) + 1)
        if title:
            figure.suptitle(title, x=0.01, ha="left", fontsize=11)
        with atomic_output(path) as temporary:
            figure.savefig(temporary, format=fmt, dpi=110)
