"""When each agent works: shifts, breaks and shrinkage, and the agent_intervals table.

A shift puts a head count on the floor for some hours of some weekdays. Within it, breaks are
fixed, and shrinkage (training, coaching, absence) takes a share of the shift in 15-minute
blocks placed at random, so that staffed time is what is paid and available time is what is
left for contacts.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pyarrow as pa

from kpiforge.io.timestamps import with_epoch
from kpiforge.simulations.scenario import DAY_S, Scenario, Shift

SHRINKAGE_BLOCK_S = 900.0


def agent_windows(scenario: Scenario, shift: Shift, head: int, rng: np.random.Generator
                  ) -> dict[str, list[tuple[float, float]]]:
    """Staffed, shrinkage and available windows of the ``head``-th agent of ``shift``."""
    staffed: list[tuple[float, float]] = []
    lost: list[tuple[float, float]] = []
    for day in range(scenario.days):
        weekday = (scenario.start.weekday() + day) % 7
        if head >= shift.agents[weekday]:
            continue
        start = day * DAY_S + shift.start_s
        end = min(day * DAY_S + shift.end_s, scenario.horizon_s)
        if start >= end:
            continue
        staffed.append((start, end))
        lost.extend((start + offset, min(start + offset + length, end))
                    for offset, length in shift.breaks)
        blocks = int((end - start) // SHRINKAGE_BLOCK_S)
        taken = round(scenario.staffing.shrinkage * blocks)
        if taken:
            chosen = np.sort(rng.choice(blocks, size=taken, replace=False))
            lost.extend((start + b * SHRINKAGE_BLOCK_S, start + (b + 1) * SHRINKAGE_BLOCK_S)
                        for b in chosen.tolist())
    lost = _merge(lost)
    return {"staffed": _merge(staffed), "shrinkage": lost,
            "available": _subtract(_merge(staffed), lost)}


def _merge(windows: list[tuple[float, float]]) -> list[tuple[float, float]]:
    """Union of windows, sorted, touching ones joined."""
    merged: list[tuple[float, float]] = []
    for start, end in sorted(windows):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def _subtract(windows: list[tuple[float, float]], holes: list[tuple[float, float]]
              ) -> list[tuple[float, float]]:
    out = []
    for start, end in windows:
        cursor = start
        for hole_start, hole_end in holes:
            if hole_end <= cursor or hole_start >= end:
                continue
            if hole_start > cursor:
                out.append((cursor, hole_start))
            cursor = max(cursor, hole_end)
        if cursor < end:
            out.append((cursor, end))
    return out


def interval_sums(agent: np.ndarray, start: np.ndarray, end: np.ndarray, weight: np.ndarray,
                  interval_s: float, n_intervals: int, n_agents: int) -> np.ndarray:
    """Seconds of each span (times ``weight``) falling in each agent x interval cell."""
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


def _windows_array(schedules: list[dict[str, Any]], key: str
                   ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rows = [(a, s, e) for a, schedule in enumerate(schedules) for s, e in schedule[key]]
    if not rows:
        return np.zeros(0, np.int64), np.zeros(0), np.zeros(0)
    agent, start, end = (np.array(column) for column in zip(*rows, strict=True))
    return agent.astype(np.int64), start.astype(float), end.astype(float)


def interval_table(scenario: Scenario, names: list[str], schedules: list[dict[str, Any]],
                   spans: tuple[list, list, list, list]) -> pa.Table:
    """agent_intervals: staffed, available, handling and shrinkage seconds and cost per
    agent and interval (rows where the agent was staffed or working)."""
    interval_s = float(scenario.interval_s)
    n_intervals = int(np.ceil(scenario.horizon_s / interval_s))
    shape = (len(names), n_intervals)
    cells = {}
    for key in ("staffed", "shrinkage"):
        agent, start, end = _windows_array(schedules, key)
        cells[key] = interval_sums(agent, start, end, np.ones(len(start)), interval_s,
                                   *reversed(shape))
    agent, start, end, share = (np.asarray(a) for a in spans)
    end = np.minimum(end, scenario.horizon_s)
    cells["handling"] = interval_sums(agent.astype(np.int64), start, end, share, interval_s,
                                      *reversed(shape))
    keep = (cells["staffed"] > 0) | (cells["handling"] > 0)
    rows, columns = np.nonzero(keep)
    staffed = cells["staffed"][keep]
    return with_epoch(pa.table({
        "agent": pa.DictionaryArray.from_arrays(rows.astype(np.int32), names),
        "interval_start_s": columns * interval_s,
        "interval_s": np.full(len(rows), interval_s),
        "staffed_s": staffed,
        "available_s": staffed - cells["shrinkage"][keep],
        "handling_s": cells["handling"][keep],
        "shrinkage_s": cells["shrinkage"][keep],
        "cost": staffed / 3600 * scenario.staffing.hourly_cost,
    }), scenario.epoch)
