"""What-ifs: a baseline scenario against variants, every KPI with its confidence interval and
the difference with its own, from paired replications.

Replication ``i`` of the baseline and of each variant runs with the same seed, so the two
share their random numbers (common random numbers): the same customers arrive at the same
moments with the same needs, and what differs is the change. The difference of a KPI is
taken replication by replication (variant - baseline) and its Student-t interval comes from
those paired differences, which carry far less noise than either run's own spread. A
difference whose interval holds 0 is one the replications cannot tell from noise.

>>> from kpiforge.simulations import builtin_scenario
>>> base = builtin_scenario("flat", {"scenario.days": "1"})
>>> more = builtin_scenario("flat", {"scenario.days": "1", "staffing.agents": "+1"})
>>> result = compare(base, {"+1 agent": more}, 3, kpis=["service_level"], workers=1)
>>> [row["significant"] for row in result.to_records()]
[True]
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import attrs
import numpy as np
import pyarrow as pa

from kpiforge.errors import KpiforgeError
from kpiforge.simulations.replications import (
    INTERVAL_START,
    Replications,
    key_columns,
    mean_ci,
    run_scenarios,
    with_goals,
)
from kpiforge.simulations.scenario import Scenario, apply_overrides, parse_scenario, read_raw

#: The columns of a comparison, after the variant's name and the group keys.
COLUMNS = ("kpi", "baseline", "variant", "baseline_ci_low", "baseline_ci_high",
           "variant_ci_low", "variant_ci_high", "difference", "difference_ci_low",
           "difference_ci_high", "significant")


@attrs.frozen(eq=False)
class WhatIf:
    """A baseline's and its variants' replications, on the same groups, and how each
    variant differs from the baseline.

    ``variants`` maps each variant's name to its replications (in the order given);
    ``confidence`` is the level of every interval.
    """

    baseline: Replications
    variants: Mapping[str, Replications]
    confidence: float = 0.95

    @property
    def kpis(self) -> list[str]:
        return list(self.baseline.values)

    @property
    def units(self) -> Mapping[str, str]:
        return self.baseline.units

    def columns(self) -> dict[str, Any]:
        """The comparison as named columns, one row per variant, group and KPI (the
        order of :meth:`to_arrow`): ``variant_name`` (with several variants), the group
        keys, then :data:`COLUMNS`."""
        base = self.baseline.summary(self.confidence)
        kpis = self.kpis
        groups = len(next(iter(base.mean.values()))) if kpis else 0
        group = np.repeat(np.arange(groups), len(kpis))
        kpi = np.tile(np.arange(len(kpis)), groups)
        keys = key_columns(self.baseline.dimensions, self.baseline.keys, self.baseline.epoch)
        pieces: list[dict[str, Any]] = []
        for name, runs in self.variants.items():
            other = runs.summary(self.confidence)
            diff = {k: mean_ci(runs.values[k] - self.baseline.values[k], self.confidence)
                    for k in kpis}
            low = _cells({k: d[0] - d[1] for k, d in diff.items()}, kpis)
            high = _cells({k: d[0] + d[1] for k, d in diff.items()}, kpis)
            piece: dict[str, Any] = {
                "variant_name": [name] * len(group),
                **{d: keys[d].take(pa.array(group)) for d in keys},
                "kpi": [kpis[k] for k in kpi],
                "baseline": _cells(base.mean, kpis), "variant": _cells(other.mean, kpis),
                "baseline_ci_low": _cells(base.low, kpis),
                "baseline_ci_high": _cells(base.high, kpis),
                "variant_ci_low": _cells(other.low, kpis),
                "variant_ci_high": _cells(other.high, kpis),
                "difference": _cells({k: d[0] for k, d in diff.items()}, kpis),
                "difference_ci_low": low, "difference_ci_high": high,
                "significant": np.where(np.isnan(low) | np.isnan(high), np.nan,
                                        (low > 0) | (high < 0)),
            }
            pieces.append(piece)
        columns = {name: _concat([p[name] for p in pieces]) for name in pieces[0]}
        if len(self.variants) == 1:
            del columns["variant_name"]
        return columns

    def to_arrow(self) -> pa.Table:
        """The comparison: ``variant_name`` (with several variants), the group keys
        (``interval_start`` as a timestamp), ``kpi``, the means and intervals of baseline,
        variant and difference, ``significant`` (null where undefined)."""
        columns = {}
        for name, values in self.columns().items():
            if isinstance(values, np.ndarray) and values.dtype.kind == "f":
                mask = np.isnan(values)
                values = pa.array(values.astype(bool) if name == "significant" else values,
                                  mask=mask)
            columns[name] = values
        return pa.table(columns)

    def to_records(self) -> list[dict[str, Any]]:
        """JSON-ready rows of :meth:`to_arrow` (``interval_start`` as ISO time)."""
        records = self.to_arrow().to_pylist()
        if INTERVAL_START in self.baseline.dimensions:
            for record in records:
                record[INTERVAL_START] = record[INTERVAL_START].isoformat(timespec="seconds")
        return records


def _cells(values: Mapping[str, np.ndarray], kpis: Sequence[str]) -> np.ndarray:
    """Per-group arrays by KPI as one column, group by group, KPIs in order."""
    return np.stack([np.asarray(values[k], dtype=float) for k in kpis], axis=1).ravel()


def _concat(parts: list[Any]) -> Any:
    if isinstance(parts[0], pa.Array | pa.ChunkedArray):
        return pa.concat_arrays([p.combine_chunks() if isinstance(p, pa.ChunkedArray) else p
                                 for p in parts])
    if isinstance(parts[0], np.ndarray):
        return np.concatenate(parts)
    return [value for part in parts for value in part]


def compare(baseline: Scenario, variants: Mapping[str, Scenario], replications: int, *,
            kpis: Iterable[str] | None = None, by: Sequence[str] = (),
            grain: str | None = None, params: Mapping[str, Any] | None = None,
            workers: int | None = None, client: Any = None, confidence: float = 0.95,
            progress: Callable[[int, int], None] | None = None) -> WhatIf:
    """Run ``replications`` paired replications of ``baseline`` and of each variant (by
    name) and compare them (``kpis``, ``by``, ``grain``, ``params`` as for
    :func:`kpiforge.compute`; ``workers`` processes, or a Dask ``client``). Where the
    baseline has a customer base, the goals (KGIs: churn, LTV...) and ``staffed_hours``
    come after the KPIs asked for, as more rows (:func:`~.replications.with_goals`)."""
    if replications < 2:
        raise KpiforgeError(f"a what-if needs at least 2 replications for its intervals, "
                            f"got {replications}")
    if not variants:
        raise KpiforgeError("a what-if needs at least one variant to compare")
    runs = run_scenarios([baseline, *variants.values()], replications,
                         kpis=with_goals(baseline, kpis, by, grain), by=by,
                         grain=grain, params=params, workers=workers, client=client,
                         progress=progress)
    return WhatIf(runs[0], dict(zip(variants, runs[1:], strict=True)), confidence)


def whatif_scenarios(scenario: str | Path, settings: Mapping[str, str] | None = None,
                     variants: Sequence[Mapping[str, str]] = ()
                     ) -> tuple[Scenario, dict[str, Scenario]]:
    """The baseline and variants of ``kpiforge whatif``: the baseline is ``scenario`` (a
    file or built-in name) with ``settings`` (``--set``, as for ``kpiforge simulate``), and
    each variant is the baseline with its own changes (``--vs``), relative forms counting
    from the baseline. Variants are named by their changes (``staffing.agents=+1``)."""
    if not variants:
        raise KpiforgeError("nothing to compare: give each variant as --vs KEY=VALUE (--set "
                            "changes the baseline and every variant alike)")
    raw, source = read_raw(scenario)
    apply_overrides(raw, dict(settings or {}), source)
    baseline = parse_scenario(copy.deepcopy(raw), source)
    named: dict[str, Scenario] = {}
    for changes in variants:
        name = _name(changes)
        if name in named:
            raise KpiforgeError(f"--vs {name} is given twice")
        named[name] = _variant(raw, changes, source)
    return baseline, named


def _variant(raw: dict[str, Any], changes: Mapping[str, str], source: str) -> Scenario:
    if not changes:
        raise KpiforgeError("--vs: a variant needs at least one KEY=VALUE change")
    data = copy.deepcopy(raw)
    apply_overrides(data, changes, source, "--vs")
    return parse_scenario(data, source)


def _name(changes: Mapping[str, str]) -> str:
    return "; ".join(f"{key}={value}" for key, value in changes.items())
