"""Finishing: partial results of every table merged onto one key space, the measures
finalised, and the KPI formulas evaluated over the group arrays."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Sequence
from typing import Any

import numpy as np

from kpiforge.definitions import PerLabel
from kpiforge.engine.accumulators import Part
from kpiforge.engine.grains import interval_bounds
from kpiforge.engine.grouping import Keys, decode, sort_order, take
from kpiforge.engine.passes import Partial, accumulator_for, align
from kpiforge.engine.plan import Plan
from kpiforge.errors import KpiforgeError
from kpiforge.results import INTERVAL_START, Result


def finish(plan: Plan, partials: Sequence[Partial]) -> Result:
    """Merge partial results (any number per table: chunks, workers) on one key space and
    evaluate the KPIs, one row per group in key order (a dimension's declared order
    first)."""
    epoch = _common_epoch(partials)
    tz = partials[0].tz
    keys, count, indexes = align(partials, plan.key_names)
    values: dict[str, Any] = {name: value for name, value in plan.params.items()
                              if not isinstance(value, PerLabel)}
    values.update(_measure_values(plan, partials, indexes, count))
    values.update({name: np.full(count, np.nan) for name in plan.absent})
    values["grain_s"] = _interval_lengths(plan, partials, keys, epoch, tz)
    for kpi in plan.needed:
        values[kpi.name] = _per_group(kpi.evaluate(values), count, values)
    order = sort_order(keys, {d.name: d.order for d in plan.dimensions}) if keys else None
    return Result(
        dimensions=plan.key_names,
        keys={n: decode(k if order is None else take(k, order)) for n, k in keys.items()},
        values={k.name: values[k.name] if order is None else values[k.name][order]
                for k in plan.outputs},
        kpis={k.name: k for k in plan.outputs},
        grain=plan.grain,
        epoch=epoch,
        tz=tz,
        params=plan.params,
        skipped=plan.skipped,
        declared={d.name: d for d in plan.dimensions if d.labels},
    )


def _per_group(evaluated: Any, count: int, inputs: dict[str, Any]) -> np.ndarray:
    """A formula's result as a float array of one value per group, new unless the formula
    made it (every new group-sized array costs page faults on a VM)."""
    result = np.asarray(evaluated, dtype=np.float64)
    if result.shape == (count,) and not any(result is value for value in inputs.values()):
        return result
    return np.array(np.broadcast_to(result, (count,)))


def _common_epoch(partials: Sequence[Partial]) -> dt.datetime:
    epochs = {(p.epoch, p.tz) for p in partials}
    if len(epochs) > 1:
        raise KpiforgeError("the tables count time from different epochs or zones "
                            f"{sorted(epochs, key=str)}; read them with one epoch and zone")
    return partials[0].epoch


def _measure_values(plan: Plan, partials: Sequence[Partial], indexes: Sequence[np.ndarray],
                    count: int) -> dict[str, np.ndarray]:
    """Each measure's value per group, from the states of every partial."""
    parts: defaultdict[str, list[Part]] = defaultdict(list)
    for partial, index in zip(partials, indexes, strict=True):
        for name, state in partial.states.items():
            parts[name].append((state, index))
    values = {}
    for spec in plan.specs.values():
        for measure in spec.measures:
            accumulator = accumulator_for(measure, spec.quantiles.finished)
            # One partial is already on the key space: its states need no merging.
            state = partials[0].states[measure.name] if len(partials) == 1 else \
                accumulator.merge(parts[measure.name], count)
            values[measure.name] = accumulator.finalize(state, count)
    return values


def _interval_lengths(plan: Plan, partials: Sequence[Partial], keys: dict[str, Keys],
                      epoch: dt.datetime, tz: str | None) -> Any:
    """``grain_s`` for formulas: each group's interval length (and the interval keys become
    their start in seconds); without a grain, the contacts' first-to-last arrival span."""
    if plan.grain:
        numbers = keys[INTERVAL_START]
        assert isinstance(numbers, np.ndarray), "interval keys are numbers"
        keys[INTERVAL_START], lengths = interval_bounds(numbers, plan.grain, epoch, tz)
        return lengths
    ranges = [p.time_range for p in partials if p.table == "contacts"]
    span = max(r[1] for r in ranges) - min(r[0] for r in ranges) if ranges else np.nan
    return span if np.isfinite(span) else np.nan  # no contacts: no span
