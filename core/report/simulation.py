"""Simulated data in a report: the scenario's key figures, and for a run with replications
(``kpiforge simulate --replications``) the KPI means with their confidence intervals.

A replications run directory holds ``scenario.toml``, ``summary.FMT`` (per group and KPI:
mean, ci_low, ci_high, half_width, std, replications) and ``kpis.FMT`` (every
replication's KPIs). The report reads the summary back into a
:class:`~kpiforge.Result` of means, with the interval bounds beside it, so its headline,
trends and tree read replication means like any other KPI values.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import attrs
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from kpiforge import simulations as simulations_package
from kpiforge.engine.grains import DAY_S
from kpiforge.errors import KpiforgeError
from kpiforge.formatting import format_value
from kpiforge.registry import Registry
from kpiforge.report.figures import intervals_svg
from kpiforge.report.page import esc, status_badge, table
from kpiforge.report.view import KpiView
from kpiforge.results import INTERVAL_START, Result
from kpiforge.simulations.scenario import Scenario

#: The statistics columns of a summary file; the other columns are the group keys.
SUMMARY_COLUMNS = ("kpi", "mean", "ci_low", "ci_high", "half_width", "std", "replications")
SUMMARY_FILES = ("summary.parquet", "summary.csv")
#: Fixed grains by their length in seconds; a month is 28 to 31 days.
_GRAIN_SECONDS = {900: "15min", 1800: "30min", 3600: "1h", DAY_S: "1d", 7 * DAY_S: "1w"}
_WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
#: Where the built-in scenarios live.
BUILTIN_FOLDER = Path(simulations_package.__file__).parent / "scenarios"


def summary_file(path: Path) -> Path | None:
    """The summary file of a replications run directory, or None."""
    if not path.is_dir():
        return None
    return next((path / name for name in SUMMARY_FILES if (path / name).is_file()), None)


def _read(path: Path) -> pa.Table:
    try:
        return pq.read_table(path) if path.suffix == ".parquet" else pacsv.read_csv(path)
    except (pa.ArrowInvalid, OSError) as exc:
        raise KpiforgeError(f"{path}: cannot read it: {exc}") from None


def _seconds(column: pa.ChunkedArray, epoch: dt.datetime) -> np.ndarray:
    """Timestamps (or ISO text) as seconds from ``epoch``."""
    if not pa.types.is_timestamp(column.type):
        column = pc.strptime(column, format="%Y-%m-%dT%H:%M:%S", unit="s")
    stamps = column.cast(pa.timestamp("s")).to_numpy(zero_copy_only=False)
    return (stamps - np.datetime64(epoch, "s")).astype(np.float64)


def _grain(starts: np.ndarray) -> str | None:
    """The grain whose periods start at ``starts`` (None with one period)."""
    steps = np.diff(np.unique(starts))
    if not len(steps):
        return None
    step = int(steps.min())
    if step in _GRAIN_SECONDS:
        return _GRAIN_SECONDS[step]
    return "1mo" if 28 * DAY_S <= step <= 31 * DAY_S else None


@attrs.frozen(eq=False)
class ReplicatedRun:
    """A replications run read back: ``result`` holds the means per group, ``bounds`` each
    KPI's (low, high) interval per group, ``replications`` how many runs."""

    result: Result
    bounds: dict[str, tuple[np.ndarray, np.ndarray]]
    replications: int
    files: tuple[tuple[str, Path, int], ...]


def read_replications(path: Path, scenario: Scenario, registry: Registry) -> ReplicatedRun:
    """The summary of the replications run in directory ``path`` (of ``scenario``) as a
    result of means with interval bounds."""
    file = summary_file(path)
    if file is None:
        raise KpiforgeError(f"{path}: no {' or '.join(SUMMARY_FILES)} in this directory")
    summary = _read(file)
    missing = [c for c in SUMMARY_COLUMNS if c not in summary.column_names]
    if missing:
        raise KpiforgeError(f"{file}: column {missing[0]!r} is missing; is it a summary "
                            "written by kpiforge simulate --replications?")
    if summary.num_rows == 0:
        raise KpiforgeError(f"{file}: the summary has no rows: nothing to report")
    dimensions = tuple(c for c in summary.column_names if c not in SUMMARY_COLUMNS)
    epoch = scenario.epoch
    keys_by_row = [summary.column(d).to_pylist() if d != INTERVAL_START else
                   _seconds(summary.column(d), epoch).tolist() for d in dimensions]
    rows = list(zip(*keys_by_row, strict=True)) if dimensions else [()] * summary.num_rows
    groups = sorted(set(rows), key=lambda key: tuple((v is None, v) for v in key))
    position = {key: g for g, key in enumerate(groups)}
    kpi_names = list(dict.fromkeys(summary.column("kpi").to_pylist()))
    stats = {name: np.asarray(summary.column(name).to_numpy(zero_copy_only=False),
                              dtype=np.float64) for name in ("mean", "ci_low", "ci_high")}
    shape = {name: np.full(len(groups), np.nan) for name in kpi_names}
    values = {k: v.copy() for k, v in shape.items()}
    low = {k: v.copy() for k, v in shape.items()}
    high = {k: v.copy() for k, v in shape.items()}
    for i, (key, kpi) in enumerate(zip(rows, summary.column("kpi").to_pylist(),
                                       strict=True)):
        g = position[key]
        values[kpi][g], low[kpi][g], high[kpi][g] = (stats["mean"][i], stats["ci_low"][i],
                                                    stats["ci_high"][i])
    keys = {d: np.array([key[i] for key in groups],
                        dtype=np.float64 if d == INTERVAL_START else object)
            for i, d in enumerate(dimensions)}
    grain = _grain(keys[INTERVAL_START]) if INTERVAL_START in keys else None
    result = Result(dimensions=dimensions, keys=keys, values=values,
                    kpis={k: registry.kpi(k) for k in kpi_names}, grain=grain, epoch=epoch,
                    params={}, skipped={})
    counts = summary.column("replications").to_numpy(zero_copy_only=False)
    files = [("summary", file, summary.num_rows)]
    for name in ("kpis.parquet", "kpis.csv"):
        if (path / name).is_file():
            files.append(("kpis", path / name, _read(path / name).num_rows))
    return ReplicatedRun(result, {k: (low[k], high[k]) for k in kpi_names},
                         int(np.max(counts)), tuple(files))


def scenario_source(scenario: Scenario) -> str:
    """Where the scenario came from: its file, or the built-in scenario's name."""
    path = Path(scenario.source)
    if path.parent == BUILTIN_FOLDER:
        return f"the built-in scenario {path.stem!r}"
    return scenario.source


def scenario_figures(scenario: Scenario) -> tuple[tuple[str, str], ...]:
    """The scenario's key figures, as (name, text) pairs."""
    last = scenario.start + dt.timedelta(days=scenario.days - 1)
    channels = []
    for channel in scenario.channels:
        text = f"{channel.name} ({channel.kind}): {channel.volume_per_day:,.0f} a day"
        if channel.aht_s.mean is not None:
            text += f", handling {format_value(channel.aht_s.mean, 's')} on average"
        channels.append(text)
    agents = np.zeros(7, dtype=np.int64)
    for shift in scenario.staffing.shifts:
        agents += np.asarray(shift.agents, dtype=np.int64)
    figures = [
        ("Scenario", scenario.name),
        ("Days", f"{scenario.start:%a %d %b %Y} to {last:%a %d %b %Y} ({scenario.days} "
                 f"day{'s' if scenario.days != 1 else ''}), seed {scenario.seed}"),
        ("Demand", "; ".join(channels) + (" (from a forecast file)"
                                          if scenario.forecast is not None else "")),
        ("Agents on shift", ", ".join(f"{d} {n}" for d, n in zip(_WEEKDAYS, agents.tolist(),
                                                                 strict=True))
         + f" ({len(scenario.staffing.shifts)} shifts)"),
        ("Shrinkage", format_value(scenario.staffing.shrinkage, "%")),
        ("Cost", f"{scenario.staffing.hourly_cost:,.2f} an agent hour"),
    ]
    if scenario.events:
        figures.append(("Events", "; ".join(
            f"{e.name} ({e.start:%d %b}, {e.days} days, x{e.multiplier:g})"
            for e in scenario.events)))
    return tuple(figures)


@attrs.frozen
class ScenarioSection:
    """The scenario a simulated run came from, as key figures."""

    figures: tuple[tuple[str, str], ...]
    source: str = ""
    anchor: str = "scenario"
    title: str = "Scenario"

    def render(self) -> str:
        items = "".join(f"<dt>{esc(name)}</dt><dd>{esc(text)}</dd>"
                        for name, text in self.figures)
        source = f'<p class="note">From {esc(self.source)}.</p>' if self.source else ""
        return f'<dl class="figures">{items}</dl>{source}'


def _interval_verdict(view: KpiView, kpi: str, low: float, high: float) -> str:
    """Whether the whole interval meets the target, misses it, or straddles it."""
    statuses = [s for s in view.judge(kpi, np.array([low, high])) if s is not None]
    if not statuses:
        return "-"
    if len(set(statuses)) == 1:
        return f"whole interval: {status_badge(statuses[0])}"
    return "the interval crosses the target"


@attrs.frozen
class ReplicationSection:
    """Means over replications with their confidence intervals, in the latest period:
    a table and a chart per KPI, each against its target."""

    view: KpiView
    replications: int
    confidence: float = 0.95
    anchor: str = "replications"
    title: str = "Replications"

    def render(self) -> str:
        view = self.view
        rows = []
        for name, kpi in view.kpis.items():
            if name not in view.low:
                continue
            means = view.latest(name)[0]
            statuses = view.latest_statuses(name)
            for g, group in enumerate(view.groups):
                low, high = view.low[name][g, -1], view.high[name][g, -1]
                interval = "-" if np.isnan(low) else \
                    f"{format_value(low, kpi.unit)} .. {format_value(high, kpi.unit)}"
                rows.append([esc(name), esc(group), esc(format_value(means[g], kpi.unit)),
                             esc(interval), status_badge(statuses[g]),
                             _interval_verdict(view, name, low, high)])
        level = f"{self.confidence:.0%}"
        body = table(["KPI", "group", "mean", f"{level} interval", "mean's status",
                      "interval against the target"], rows, numeric=(2, 3))
        charts = "".join(
            f'<figure data-kpi="{esc(k)}"><figcaption>{esc(k)}</figcaption>'
            f"{intervals_svg(view, k, self._describe(k))}</figure>"
            for k in view.kpis if k in view.low)
        intro = (f"{self.replications} replications (independent seeds); the mean of each "
                 f"KPI in {esc(view.period_label(-1))} with its {level} confidence interval "
                 "(Student's t). An interval that crosses the target means the replications "
                 "cannot tell whether it is met.")
        return (f'<p class="intro">{intro}</p><div class="panel">{body}</div>'
                f'<div class="charts">{charts}</div>')

    def _describe(self, kpi: str) -> str:
        unit = self.view.kpis[kpi].unit
        parts = [f"{kpi}: mean and {self.confidence:.0%} interval per group."]
        for g, group in enumerate(self.view.groups):
            mean = self.view.values[kpi][g, -1]
            parts.append(f"{group} {format_value(mean, unit)} "
                         f"({format_value(self.view.low[kpi][g, -1], unit)} to "
                         f"{format_value(self.view.high[kpi][g, -1], unit)}).")
        return " ".join(parts)

