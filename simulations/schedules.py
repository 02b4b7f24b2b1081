"""When each agent works: shifts, breaks and shrinkage, and the agent_intervals table.

A shift puts a head count on the floor for some hours of some weekdays (dated overrides
change the count, or the shifts, on their dates). Within a shift:

- each break is taken once, within its window, the agents on the shift that day staggered
  evenly across the window (a break at a fixed time is a window of no width);
- shrinkage (training, coaching, meetings, absence) takes a share of the shift in 15-minute
  blocks, planned as a planner schedules offline work: in every block about the same share
  of the shift's agents is away, in rotation, never during an agent's own break.

Breaks and blocks are *due* at the planned time; the model starts each when the agent has
put down the contact in hand and keeps it for its full length. Staffed time is what is paid
(shifts plus any overtime finishing a contact), shrinkage the blocks as taken, available
time the rest.
"""

from __future__ import annotations

import math

import attrs
import numpy as np
import pyarrow as pa

from kpiforge.io.timestamps import with_epoch
from kpiforge.simulations.model import Duty
from kpiforge.simulations.scenario import DAY_S, Scenario, Shift
from kpiforge.simulations.streams import stream
from kpiforge.simulations.wallclock import WallClock

SHRINKAGE_BLOCK_S = 900.0


@attrs.frozen
class Seat:
    """One agent: its name, the shift it belongs to, and its duties in time order."""

    name: str
    shift: Shift
    duties: tuple[Duty, ...]


def seats(scenario: Scenario, seed: np.random.SeedSequence) -> list[Seat]:
    """Every agent of the run with its duties: the ``k``-th agent of a shift works the days
    the shift has more than ``k`` heads."""
    shifts: dict[str, Shift] = {}
    duties: dict[tuple[str, int], list[Duty]] = {}
    clock = WallClock.of(scenario)
    # From the day before the first: a shift over midnight reaches into the run.
    for day in range(scenario.first_day - 1, scenario.last_day):
        for shift, heads in scenario.staffing.on(scenario.date(day)):
            shifts.setdefault(shift.name, shift)
            for k, duty in enumerate(_shift_duties(scenario, shift, heads, day, seed, clock)):
                if duty is not None:
                    duties.setdefault((shift.name, k), []).append(duty)
    out: list[Seat] = []
    for name, shift in shifts.items():
        heads = 1 + max((k for s, k in duties if s == name), default=-1)
        out.extend(Seat(f"{shift.agent_prefix}-{k + 1:02d}", shift,
                        tuple(_joined(duties.get((name, k), [])))) for k in range(heads))
    return out


def _shift_duties(scenario: Scenario, shift: Shift, heads: int, day: int,
                  seed: np.random.SeedSequence, clock: WallClock | None
                  ) -> list[Duty | None]:
    """The duty of each of the shift's ``heads`` agents on ``day`` (None outside the run):
    from the shift's local start to its local end (by the zone's ``clock``: a night shift
    over a DST change is an hour shorter or longer)."""
    if heads <= 0:
        return []
    start = day * DAY_S + shift.start_s
    length = shift.end_s - shift.start_s
    if clock is not None:
        start, end = clock.instant(start), clock.instant(start + length)
        length = end - start
    breaks = [[(b.offset(k, heads), b.length_s) for b in shift.breaks] for k in range(heads)]
    rng = stream(seed, "shrinkage", shift.name, scenario.date(day).isoformat())
    away = rotation(scenario.staffing.shrinkage, heads, length, breaks, rng)
    out: list[Duty | None] = []
    for k in range(heads):
        low, high = max(start, scenario.begin_s), min(start + length, scenario.end_s)
        blocks = sorted((start + offset, size) for offset, size in breaks[k] + away[k])
        out.append(Duty(low, high, tuple((due, size) for due, size in blocks
                                          if low <= due < high)) if high > low else None)
    return out


def rotation(share: float, heads: int, length_s: float,
             breaks: list[list[tuple[float, float]]], rng: np.random.Generator
             ) -> list[list[tuple[float, float]]]:
    """Shrinkage blocks (offset, length) for each of ``heads`` agents: in each 15-minute
    block of the shift, ``share x heads`` agents (rounded so the shift's total is right) are
    away, taken in turn from a random starting agent and skipping agents on a break."""
    away: list[list[tuple[float, float]]] = [[] for _ in range(heads)]
    blocks = int(length_s // SHRINKAGE_BLOCK_S)
    if share <= 0 or blocks == 0:
        return away
    target = share * heads
    turn = int(rng.integers(heads))
    for b in range(blocks):
        low, high = b * SHRINKAGE_BLOCK_S, (b + 1) * SHRINKAGE_BLOCK_S
        wanted = math.floor(target * (b + 1) + 0.5) - math.floor(target * b + 0.5)
        for _ in range(heads):
            if wanted == 0:
                break
            k = turn % heads
            turn += 1
            if any(start < high and start + size > low for start, size in breaks[k]):
                continue
            away[k].append((low, SHRINKAGE_BLOCK_S))
            wanted -= 1
    return away


def _joined(duties: list[Duty]) -> list[Duty]:
    """Duties in time order, one that starts as the previous ends joined to it (an all-day
    shift on consecutive days is one stretch of work)."""
    out: list[Duty] = []
    for duty in sorted(duties, key=lambda d: d.start):
        if out and duty.start <= out[-1].end:
            last = out[-1]
            out[-1] = Duty(last.start, max(last.end, duty.end),
                           tuple(sorted(last.blocks + duty.blocks)))
        else:
            out.append(duty)
    return out


def interval_sums(agent: np.ndarray, start: np.ndarray, end: np.ndarray, weight: np.ndarray,
                  interval_s: float, n_intervals: int, n_agents: int) -> np.ndarray:
    """Seconds of each span (times ``weight``) falling in each agent x interval cell; spans
    lie within ``[0, n_intervals x interval_s]``."""
    out = np.zeros(n_agents * n_intervals)
    if len(start) == 0:
        return out.reshape(n_agents, n_intervals)
    first = np.floor(start / interval_s).astype(np.int64)
    last = np.maximum(np.ceil(end / interval_s).astype(np.int64) - 1, first)
    last = np.minimum(last, n_intervals - 1)
    pieces = last - first + 1
    span = np.repeat(np.arange(len(start)), pieces)
    cell = first[span] + np.arange(pieces.sum()) - np.repeat(np.cumsum(pieces) - pieces, pieces)
    low = np.maximum(start[span], cell * interval_s)
    high = np.minimum(end[span], (cell + 1) * interval_s)
    seconds = np.maximum(high - low, 0) * weight[span]
    np.add.at(out, agent[span] * n_intervals + cell, seconds)
    return out.reshape(n_agents, n_intervals)


def _within(windows: tuple[list, ...], horizon_s: float, weighted: bool = False
            ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Windows (agent, start, end[, weight]) clipped to the reported ``[0, horizon_s)``."""
    agent = np.asarray(windows[0], dtype=np.int64)
    start = np.maximum(np.asarray(windows[1], dtype=float), 0.0)
    end = np.minimum(np.asarray(windows[2], dtype=float), horizon_s)
    weight = np.asarray(windows[3], dtype=float) if weighted else np.ones(len(agent))
    keep = end > start
    return agent[keep], start[keep], end[keep], weight[keep]


def interval_table(scenario: Scenario, names: list[str],
                   staffed: tuple[list, list, list], lost: tuple[list, list, list],
                   spans: tuple[list, list, list, list]) -> pa.Table:
    """agent_intervals over the reported days: staffed, available, handling and shrinkage
    seconds and cost per agent and interval (rows where the agent was staffed or working).
    """
    interval_s = float(scenario.interval_s)
    n_intervals = int(np.ceil(scenario.horizon_s / interval_s))
    shape = (n_intervals, len(names))
    cells = {
        "staffed": interval_sums(*_within(staffed, scenario.horizon_s), interval_s, *shape),
        "shrinkage": interval_sums(*_within(lost, scenario.horizon_s), interval_s, *shape),
        "handling": interval_sums(*_within(spans, scenario.horizon_s, weighted=True),
                                  interval_s, *shape),
    }
    keep = (cells["staffed"] > 0) | (cells["handling"] > 0)
    rows, columns = np.nonzero(keep)
    staffed_s = cells["staffed"][keep]
    return with_epoch(pa.table({
        "agent": pa.DictionaryArray.from_arrays(rows.astype(np.int32), names),
        "interval_start_s": columns * interval_s,
        "interval_s": np.full(len(rows), interval_s),
        "staffed_s": staffed_s,
        "available_s": staffed_s - cells["shrinkage"][keep],
        "handling_s": cells["handling"][keep],
        "shrinkage_s": cells["shrinkage"][keep],
        "cost": staffed_s / 3600 * scenario.staffing.hourly_cost,
    }), scenario.recorded_epoch)
