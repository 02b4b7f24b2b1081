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
from kpiforge.engine.cases import case_table
from kpiforge.engine.grains import interval_bounds
from kpiforge.engine.grouping import Groups, Keys, decode, sort_order, take
from kpiforge.engine.passes import (
    Partial,
    accumulator_for,
    align,
    measure_inputs,
    merged_cases,
    row_functions,
    shared_values,
)
from kpiforge.engine.plan import Plan, latest_name
from kpiforge.engine.snapshots import every_interval, running
from kpiforge.errors import KpiforgeError
from kpiforge.results import INTERVAL_START, Result


def finish(plan: Plan, partials: Sequence[Partial]) -> Result:
    """Merge partial results (any number per table: chunks, workers) on one key space and
    evaluate the KPIs, one row per group in key order (a dimension's declared order
    first)."""
    epoch = _common_epoch(partials)
    tz = partials[0].tz
    keys, count, indexes = align(partials, plan.key_names)
    starts = None
    if plan.grain and plan.snapshots:
        keys, count, indexes, starts = every_interval(keys, count, indexes)
    values: dict[str, Any] = {name: value for name, value in plan.params.items()
                              if not isinstance(value, PerLabel)}
    values.update(_measure_values(plan, partials, indexes, count, starts is not None))
    values.update(_case_values(plan, partials, indexes, count, epoch, tz))
    values.update({name: np.full(count, np.nan) for name in plan.absent})
    values["grain_s"] = _interval_lengths(plan, partials, keys, epoch, tz)
    values["snapshot_s"] = _snapshot_values(plan, values, keys, starts)
    present = _present(partials, indexes, count)
    for kpi in plan.needed:
        values[kpi.name] = _per_group(kpi.evaluate(values), count, values)
        tables = plan.registry.tables_of(kpi)
        if len(tables) > 1:  # a group missing from a table it reads: undefined, not 0
            values[kpi.name][~np.logical_and.reduce([present[t] for t in tables])] = np.nan
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


def _present(partials: Sequence[Partial], indexes: Sequence[np.ndarray], count: int
             ) -> dict[str, np.ndarray]:
    """Per table, whether each group has rows of it."""
    present: dict[str, np.ndarray] = {}
    for partial, index in zip(partials, indexes, strict=True):
        present.setdefault(partial.table, np.zeros(count, dtype=bool))[index] = True
    return present


def _common_epoch(partials: Sequence[Partial]) -> dt.datetime:
    epochs = {(p.epoch, p.tz) for p in partials}
    if len(epochs) > 1:
        raise KpiforgeError("the tables count time from different epochs or zones "
                            f"{sorted(epochs, key=str)}; read them with one epoch and zone")
    return partials[0].epoch


def _measure_values(plan: Plan, partials: Sequence[Partial], indexes: Sequence[np.ndarray],
                    count: int, remapped: bool) -> dict[str, np.ndarray]:
    """Each measure's value per group, from the states of every partial (``remapped``:
    the groups are not the partials', even for one partial)."""
    parts: defaultdict[str, list[Part]] = defaultdict(list)
    for partial, index in zip(partials, indexes, strict=True):
        for name, state in partial.states.items():
            parts[name].append((state, index))
    values = {}
    for spec in plan.specs.values():
        for measure in spec.measures:
            accumulator = accumulator_for(measure, spec.quantiles.finished)
            # One partial is already on the key space: its states need no merging.
            state = partials[0].states[measure.name] if len(partials) == 1 and \
                not remapped else \
                accumulator.merge(parts[measure.name], count)
            values[measure.name] = accumulator.finalize(state, count)
    return values


def _case_values(plan: Plan, partials: Sequence[Partial], indexes: Sequence[np.ndarray],
                 count: int, epoch: dt.datetime, tz: str | None) -> dict[str, np.ndarray]:
    """Each measure over cases per group: over the merged cases, each in the group of its
    first contact, exactly (the cases are all at hand)."""
    state = merged_cases(partials, indexes)
    if state is None:
        return {}
    table = case_table(state, "contacts", epoch, tz)
    groups = Groups(codes=state.group, count=count, keys={}, rows=len(state))
    params = {name: value for name, value in plan.params.items()
              if not isinstance(value, PerLabel)}
    spec = plan.specs["contacts"]
    shared = shared_values(spec.case_measures)
    functions = row_functions(table, spec)
    values = {}
    for measure in spec.case_measures:
        accumulator = accumulator_for(measure)
        values[measure.name] = accumulator.finalize(accumulator.accumulate(
            groups, *measure_inputs(measure, table, params, shared, functions)), count)
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


def _snapshot_values(plan: Plan, values: dict[str, Any], keys: dict[str, Keys],
                     starts: np.ndarray | None) -> Any:
    """Each snapshot measure's value from its parts (see ``Measure.parts``), and
    ``snapshot_s``, the instant of each group's snapshot in seconds from the epoch: with a
    grain, its interval's end; without, the latest time the snapshots' rows record (NaN
    without snapshots)."""
    for measure in plan.snapshots:
        if measure.name in plan.absent:
            continue
        if starts is None:
            values[measure.name] = values[f"{measure.name}__open"]
        else:
            net = values[f"{measure.name}__opened"] - values.get(f"{measure.name}__closed", 0.0)
            values[measure.name] = running(net, starts)
    if plan.grain:
        return keys[INTERVAL_START] + values["grain_s"]
    latest = [values[latest_name(table)] for table in
              dict.fromkeys(m.table for m in plan.snapshots if m.name not in plan.absent)]
    found = np.concatenate(latest) if latest else np.zeros(0)
    return float(np.fmax.reduce(found)) if len(found) else np.nan
