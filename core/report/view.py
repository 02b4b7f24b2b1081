"""What every section of a report reads: KPI values per group and period, with targets.

A :class:`KpiView` is a :class:`~kpiforge.Result` computed with a time grain, reshaped
into one (groups x periods) matrix per KPI, with each KPI's target. Sections never see
rows of data, only these matrices: a report's size follows groups x periods x KPIs,
whatever the number of contacts.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

import attrs
import numpy as np

from kpiforge.definitions import KPI
from kpiforge.goals.targets import Status, Target
from kpiforge.results import INTERVAL_START, Result

#: A trend shows at most this many periods (the latest ones): a year of days.
MAX_PERIODS = 366
#: Where a report's target came from when no targets file names the KPI.
FROM_DEFINITION = "KPI definition"
_WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov",
           "Dec")


def _group_labels(result: Result) -> np.ndarray:
    """Each row's group as text (``call``, ``call / billing``; ``all`` without
    dimensions)."""
    dims = [d for d in result.dimensions if d != INTERVAL_START]
    if not dims:
        return np.full(len(result), "all", dtype=object)
    parts = [["-" if v is None else str(v) for v in result.shown_keys(d)] for d in dims]
    return np.array([" / ".join(p) for p in zip(*parts, strict=True)], dtype=object)


@attrs.frozen(eq=False)
class KpiView:
    """KPI values as (groups x periods) matrices (one period without a grain), NaN where
    a group has no value in a period; ``targets`` by KPI with ``target_source`` (the
    targets file, or :data:`FROM_DEFINITION`); ``low``/``high`` optional interval bounds
    in the same shape (replication means carry their confidence intervals)."""

    kpis: Mapping[str, KPI]
    groups: tuple[str, ...]
    dimensions: tuple[str, ...]
    periods: np.ndarray
    epoch: dt.datetime
    grain: str | None
    values: Mapping[str, np.ndarray]
    targets: Mapping[str, Target] = attrs.field(factory=dict)
    target_source: Mapping[str, str] = attrs.field(factory=dict)
    low: Mapping[str, np.ndarray] = attrs.field(factory=dict)
    high: Mapping[str, np.ndarray] = attrs.field(factory=dict)
    #: Periods left out at the start (beyond :data:`MAX_PERIODS`).
    dropped_periods: int = 0

    @classmethod
    def of(cls, result: Result, kpis: list[str], targets: Mapping[str, Target],
           target_source: Mapping[str, str],
           bounds: Mapping[str, tuple[np.ndarray, np.ndarray]] | None = None) -> KpiView:
        """The view of ``kpis`` in ``result``; ``bounds`` gives per-row (low, high)
        arrays for some KPIs. Without an ``interval_start`` dimension the whole data is
        one period."""
        labels = _group_labels(result).tolist()
        groups = list(dict.fromkeys(labels))  # the result's order: its keys are sorted
        position = {group: i for i, group in enumerate(groups)}
        group_index = np.array([position[label] for label in labels], dtype=np.int64)
        bounds = bounds or {}
        if INTERVAL_START in result.dimensions:
            periods, period_index = np.unique(result.keys[INTERVAL_START],
                                              return_inverse=True)
        else:
            periods, period_index = np.zeros(1), np.zeros(len(result), dtype=np.int64)
        dropped = max(0, len(periods) - MAX_PERIODS)

        def matrix(column: np.ndarray) -> np.ndarray:
            out = np.full((len(groups), len(periods)), np.nan)
            out[group_index, period_index] = column
            return out[:, dropped:]

        return cls(
            kpis={k: result.kpis[k] for k in kpis},
            groups=tuple(groups),
            dimensions=tuple(d for d in result.dimensions if d != INTERVAL_START),
            periods=periods[dropped:], epoch=result.epoch, grain=result.grain,
            values={k: matrix(result.values[k]) for k in kpis},
            targets={k: t for k, t in targets.items() if k in kpis},
            target_source={k: s for k, s in target_source.items() if k in kpis},
            low={k: matrix(lo) for k, (lo, _) in bounds.items() if k in kpis},
            high={k: matrix(hi) for k, (_, hi) in bounds.items() if k in kpis},
            dropped_periods=dropped)

    def judge(self, kpi: str, values: np.ndarray) -> np.ndarray:
        """The status of each value of ``kpi`` (None without a target or value)."""
        values = np.asarray(values, dtype=np.float64)
        target = self.targets.get(kpi)
        if target is None:
            return np.full(values.shape, None, dtype=object)
        return target.judge(values, self.kpis[kpi].direction)

    def latest(self, kpi: str) -> tuple[np.ndarray, np.ndarray]:
        """Per group, the value in the latest period and in the one before (NaN where
        there is none)."""
        values = self.values[kpi]
        previous = values[:, -2] if values.shape[1] > 1 else np.full(len(self.groups), np.nan)
        return values[:, -1], previous

    def latest_statuses(self, kpi: str) -> list[Status | None]:
        """Per group, the status of the latest period's value."""
        return list(self.judge(kpi, self.latest(kpi)[0]))

    def times(self) -> np.ndarray:
        """The periods' starts as ``datetime64[s]``."""
        return np.datetime64(self.epoch, "s") + self.periods.astype("timedelta64[s]")

    def period_label(self, index: int) -> str:
        """A period as a person names it: ``Sun 22 Nov 2026``, ``week of Mon 16 Nov
        2026``, ``Nov 2026``, ``Sun 22 Nov 2026 14:00`` (``the whole data`` without a
        grain)."""
        if self.grain is None:
            return "the whole data"
        start = self.times()[index].astype(dt.datetime)
        day = f"{_WEEKDAYS[start.weekday()]} {start.day} {_MONTHS[start.month - 1]} {start.year}"
        if self.grain == "1mo":
            return f"{_MONTHS[start.month - 1]} {start.year}"
        if self.grain == "1w":
            return f"week of {day}"
        if self.grain == "1d":
            return day
        return f"{day} {start:%H:%M}"
