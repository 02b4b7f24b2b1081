"""Where a report's numbers come from: the files and their rows and time range, the time
zone, the plugins (with versions) that define its KPIs, the targets, the parameters, and
the KPIs left out with the reason."""

from __future__ import annotations

import datetime as dt
import platform
from collections.abc import Mapping
from typing import Any

import attrs
import numpy as np

import kpiforge
from kpiforge.definitions import ParamValue, param_text
from kpiforge.errors import KpiforgeError
from kpiforge.io.schemas import SCHEMAS
from kpiforge.io.sources import TableSource, load_sources
from kpiforge.plugin_manager import default_plugin_manager
from kpiforge.registry import Registry
from kpiforge.report.page import esc, table


@attrs.frozen
class TableInfo:
    """One table read: where from (``location``), how many ``rows``, the first and last
    time on its time axis (``column``), as calendar times."""

    name: str
    location: str
    rows: int | None
    column: str
    first: dt.datetime | None
    last: dt.datetime | None


@attrs.frozen
class PluginRow:
    """A plugin that defines KPIs of the report."""

    name: str
    distribution: str
    version: str
    kpis: tuple[str, ...]


def _calendar(seconds: float, epoch: dt.datetime) -> dt.datetime:
    return epoch + dt.timedelta(seconds=float(seconds))


def table_info(source: TableSource) -> TableInfo:
    """Rows and time range of ``source``, reading only its time column (a stream, which
    can be read once only, is not counted). Raises :class:`~kpiforge.KpiforgeError` for a
    table without rows."""
    column = SCHEMAS[source.name].time_column
    if not source.rereadable:
        return TableInfo(source.name, source.label, None, column, None, None)
    times = source.read([column]).time
    if not len(times):  # valid data for compute, but a report of nothing tells nothing
        raise KpiforgeError(f"{source.label}: the {source.name} table has no rows")
    return TableInfo(source.name, source.label, len(times), column,
                     _calendar(np.min(times), source.epoch),
                     _calendar(np.max(times), source.epoch))


def inventory(data: Any) -> tuple[TableInfo, ...]:
    """What :func:`kpiforge.compute` would read from ``data``: each table's location, row
    count and time range."""
    return tuple(table_info(source) for source in load_sources(data).values())


def plugin_rows(registry: Registry, kpis: list[str]) -> tuple[PluginRow, ...]:
    """The plugins that define ``kpis`` (in registry order), with distribution and
    version where the installed plugin manager knows them."""
    info = default_plugin_manager().info
    by_plugin: dict[str, list[str]] = {}
    for kpi in kpis:
        by_plugin.setdefault(registry.origin.get(kpi, "-"), []).append(kpi)
    return tuple(PluginRow(name, info[name].distribution if name in info else "-",
                           info[name].version if name in info else "-", tuple(names))
                 for name, names in by_plugin.items())


@attrs.frozen
class Provenance:
    """Everything a reader needs to trust or reproduce the report: ``left_out`` the KPIs
    the data cannot give, with the reason; ``not_shown`` those computed but not shown."""

    tables: tuple[TableInfo, ...]
    epoch: dt.datetime
    plugins: tuple[PluginRow, ...]
    left_out: Mapping[str, str]
    not_shown: tuple[str, ...]
    targets: str
    params: Mapping[str, ParamValue]
    grain: str | None
    dimensions: tuple[str, ...]
    generated: dt.datetime = attrs.field(factory=lambda: dt.datetime.now().replace(
        microsecond=0))
    extra: tuple[tuple[str, str], ...] = ()

    def time_zone(self) -> str:
        """The time zone the data's times are in, as far as the data says."""
        if self.epoch.tzinfo is not None:
            return str(self.epoch.tzinfo)
        return ("none recorded: times are shown as the data gives them (local time of the "
                f"data), counted from {self.epoch:%Y-%m-%d %H:%M}")


def _when(value: dt.datetime | None) -> str:
    return "-" if value is None else f"{value:%Y-%m-%d %H:%M:%S}"


@attrs.frozen
class ProvenanceSection:
    """The provenance as tables: data, plugins, KPIs left out, settings."""

    provenance: Provenance
    anchor: str = "provenance"
    title: str = "Provenance"

    def render(self) -> str:
        p = self.provenance
        data = table(
            ["table", "read from", "rows", "time column", "first", "last"],
            [[esc(t.name), "in memory" if t.location.startswith("<") else
              f"<code>{esc(t.location)}</code>",
              "-" if t.rows is None else f"{t.rows:,}", f"<code>{esc(t.column)}</code>",
              esc(_when(t.first)), esc(_when(t.last))] for t in p.tables],
            caption="Data", numeric=(2,))
        plugins = table(
            ["plugin", "distribution", "version", "KPIs in this report"],
            [[esc(r.name), esc(r.distribution), esc(r.version), esc(", ".join(r.kpis))]
             for r in p.plugins], caption="Plugins")
        left_out = table(["KPI", "why the data cannot give it"],
                         [[esc(k), esc(v)] for k, v in p.left_out.items()],
                         caption="KPIs left out") if p.left_out else \
            '<p class="note">No KPI was left out for want of data.</p>'
        if p.not_shown:
            left_out += ('<p class="note">Computed but not shown (name them with '
                         f"<code>--kpi</code>): {esc(', '.join(p.not_shown))}.</p>")
        settings = [
            ("Time zone", esc(p.time_zone())),
            ("Grouped by", esc(", ".join(p.dimensions) or "nothing (all data)")),
            ("Period (grain)", esc(p.grain or "the whole data")),
            ("Targets", esc(p.targets)),
            ("Parameters", esc(", ".join(f"{k} = {param_text(v)}" for k, v in p.params.items())
                               or "defaults")),
            *p.extra,
            ("Made by", esc(f"kpiforge {kpiforge.__version__}, Python "
                            f"{platform.python_version()}, on {p.generated:%Y-%m-%d %H:%M}")),
        ]
        figures = "".join(f"<dt>{name}</dt><dd>{value}</dd>" for name, value in settings)
        return (f'<div class="panel">{data}</div><dl class="figures">{figures}</dl>'
                f'<div class="panel">{plugins}</div><div class="panel">{left_out}</div>')
