"""Local wall-clock time in a zoned scenario (``[scenario] timezone``).

A run counts elapsed seconds from its epoch, the start's local midnight. Intraday profiles,
opening hours, forecast rows and shifts are local wall-clock times ("09:00"), which move
against elapsed time by the size of each DST change: after the spring change 09:00 local is
one hour less after the epoch. :class:`WallClock` maps wall-clock seconds (after the
start's local midnight, 86,400 per local day) to run seconds, so a 09:00 peak stays at
09:00 local on both sides of a change. Scenarios without a zone have no clock: wall-clock
and run seconds are one, and their runs are computed exactly as before.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import attrs
import numpy as np

from kpiforge.simulations.scenario import DAY_S, Scenario


@attrs.frozen(eq=False)
class WallClock:
    """The run's stretches of one UTC offset: ``edges`` are the run seconds where the
    offset changes, and ``shifts`` (one more) each stretch's offset less the epoch's, in
    seconds: an instant ``t`` of stretch ``i`` shows wall-clock time ``t + shifts[i]``."""

    edges: np.ndarray
    shifts: np.ndarray

    @classmethod
    def of(cls, scenario: Scenario) -> WallClock | None:
        """The clock of ``scenario``'s zone over its days (None without a zone). The offset
        is looked up once a day, and a change is found to the second by bisection."""
        if scenario.timezone is None:
            return None
        zone = ZoneInfo(scenario.timezone)
        local = scenario.epoch.replace(tzinfo=zone)
        epoch, base = local.astimezone(dt.UTC), local.utcoffset()

        def shift(t: int) -> float:
            offset = (epoch + dt.timedelta(seconds=t)).astimezone(zone).utcoffset()
            assert offset is not None and base is not None, "a zone has offsets"
            return (offset - base).total_seconds()

        days = range((scenario.first_day - 2) * DAY_S, (scenario.last_day + 2) * DAY_S, DAY_S)
        edges, shifts = [], [shift(days[0])]
        for start in days:
            if shift(start + DAY_S) != shifts[-1]:
                low, high = start, start + DAY_S  # shift(low) is the last, shift(high) not
                while high - low > 1:
                    middle = (low + high) // 2
                    low, high = (middle, high) if shift(middle) == shifts[-1] else (low, middle)
                edges.append(float(high))
                shifts.append(shift(high))
        return cls(np.array(edges), np.array(shifts))

    def spans(self, start: np.ndarray, end: np.ndarray
              ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Wall-clock stretches ``[start, end)`` as run seconds: for each part, the stretch
        it comes from, its start and end, and its share of the stretch (1.0 where it is
        whole). The hour a spring change skips has no part; the hour an autumn change
        repeats has two. Parts are in time order."""
        bounds = np.concatenate([[-np.inf], self.edges, [np.inf]])
        which, low, high, share = [], [], [], []
        for i, shift in enumerate(self.shifts):
            first, last = start - shift, end - shift
            a, b = np.maximum(first, bounds[i]), np.minimum(last, bounds[i + 1])
            keep = np.flatnonzero(b > a)
            clipped = (a > first) | (b < last)
            which.append(keep)
            low.append(a[keep])
            high.append(b[keep])
            share.append(np.where(clipped, (b - a) / (end - start), 1.0)[keep])
        index, low_, high_, share_ = (np.concatenate(p) for p in (which, low, high, share))
        order = np.argsort(low_, kind="stable")
        return index[order], low_[order], high_[order], share_[order]

    def instant(self, wall: float) -> float:
        """The run second showing wall-clock time ``wall``: the earlier of a repeated
        autumn time, and for a time the spring change skips the first instant after it
        (as ``compute`` reads naive times)."""
        bounds = [-np.inf, *self.edges, np.inf]
        for i, shift in enumerate(self.shifts):
            t = wall - shift
            if bounds[i] <= t < bounds[i + 1]:
                return float(t)
        return float(next(edge for i, edge in enumerate(self.edges)
                          if wall - self.shifts[i + 1] < edge <= wall - self.shifts[i]))
