"""Building a report from data, a simulated run, or a run with replications.

:func:`build_report` computes the KPIs (or reads a replications summary), judges them
against their targets, and assembles the sections; :meth:`Report.write` writes the page.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from kpiforge import engine
from kpiforge.engine.grains import check_grain
from kpiforge.errors import KpiforgeError
from kpiforge.goals.targets import Status, Target, Targets, load_targets
from kpiforge.goals.tree import KpiTree
from kpiforge.registry import Registry, default_registry
from kpiforge.report.document import Report, Section
from kpiforge.report.headline import HeadlineSection
from kpiforge.report.kpitree import TreeSection
from kpiforge.report.page import STATUS_WORDS, esc
from kpiforge.report.provenance import (
    Provenance,
    ProvenanceSection,
    TableInfo,
    inventory,
    plugin_rows,
)
from kpiforge.report.simulation import (
    ReplicationSection,
    ScenarioSection,
    read_replications,
    scenario_figures,
    scenario_source,
    summary_file,
)
from kpiforge.report.trends import TrendSection
from kpiforge.report.view import FROM_DEFINITION, KpiView
from kpiforge.results import INTERVAL_START, Result
from kpiforge.simulations.scenario import Scenario, load_scenario

DEFAULT_GRAIN = "1d"
#: Without ``kpis``, a report shows at most this many: targeted KPIs first.
DEFAULT_KPI_COUNT = 12
SCENARIO_FILE = "scenario.toml"


def report_targets(kpis: Mapping[str, Any], targets: Targets | None
                   ) -> tuple[dict[str, Target], dict[str, str]]:
    """Each KPI's target: the targets file's, else the KPI definition's own (judged with
    the default margin); with where each came from."""
    chosen: dict[str, Target] = {}
    source: dict[str, str] = {}
    for name, kpi in kpis.items():
        if targets is not None and name in targets:
            chosen[name], source[name] = targets[name], targets.source
        elif kpi.target is not None and kpi.direction != "neutral":
            chosen[name], source[name] = Target(name, target=kpi.target), FROM_DEFINITION
    return chosen, source


def default_kpis(result: Result, targeted: Iterable[str]) -> list[str]:
    """The KPIs a report shows when none are named: those with a target, then the rest,
    each in the result's order, at most :data:`DEFAULT_KPI_COUNT`."""
    wanted = set(targeted)
    first = [k for k in result.values if k in wanted]
    rest = [k for k in result.values if k not in wanted]
    return (first + rest)[:DEFAULT_KPI_COUNT]


def kpi_view(result: Result, kpis: Sequence[str] | None = None,
             targets: Targets | None = None, bounds: Mapping[str, Any] | None = None
             ) -> KpiView:
    """The view of ``result`` a report or a plot shows: ``kpis`` (default:
    :func:`default_kpis`) with their targets (``targets``, then the definitions')."""
    chosen, source = report_targets(result.kpis, targets)
    shown = list(kpis) if kpis else default_kpis(result, chosen)
    return KpiView.of(result, shown, chosen, source, bounds)


def _tally(view: KpiView) -> str:
    """How many values of the latest period have each status, in words."""
    counts = Counter(s for kpi in view.kpis for s in view.latest_statuses(kpi))
    parts = [f"{counts[s]} {STATUS_WORDS[s]}" for s in Status if counts[s]]
    if not parts:
        return ""
    return f"{esc(view.period_label(-1))}: " + ", ".join(parts)


def _load_targets(targets: Targets | str | os.PathLike | None, registry: Registry
                  ) -> Targets | None:
    if targets is None or isinstance(targets, Targets):
        return targets
    return load_targets(targets, registry)


def build_report(data: Any, *, targets: Targets | str | os.PathLike | None = None,
                 by: Sequence[str] | None = None, grain: str | None = None,
                 kpis: Sequence[str] | None = None, params: Mapping[str, Any] | None = None,
                 scenario: Scenario | None = None, registry: Registry | None = None,
                 title: str | None = None, calendar: Any = None) -> Report:
    """A report over ``data``: what :func:`kpiforge.compute` reads (a file, a directory
    of tables, a run directory of ``kpiforge simulate``, in-memory tables), or a run
    directory of ``kpiforge simulate --replications`` (its summary).

    ``by`` groups the headline and trends (default: no groups, or the run's);
    ``grain`` sets the periods (default ``1d``, or the run's); ``kpis`` the KPIs shown
    (default: :func:`default_kpis`); ``targets`` a targets file or :class:`Targets`
    (KPIs it does not name keep their definition's target); ``scenario`` the scenario
    that simulated in-memory ``data`` (a run directory names its own); ``calendar`` the
    business hours of the ``*_business`` KPIs, as :func:`kpiforge.compute` takes it.

    Raises
    ------
    KpiforgeError
        For a bad targets file, empty data, unknown KPIs, dimensions or grains.
    """
    registry = registry or default_registry()
    if grain is not None:
        check_grain(grain)
    plan = _load_targets(targets, registry)
    path = Path(data) if isinstance(data, str | os.PathLike) else None
    if path is not None and path.is_dir() and (path / SCENARIO_FILE).is_file():
        scenario = load_scenario(path / SCENARIO_FILE)
    if path is not None and summary_file(path) is not None:
        if scenario is None:
            raise KpiforgeError(f"{path}: a replications summary without {SCENARIO_FILE}; "
                                "report on the directory kpiforge simulate wrote")
        return _replications_report(path, scenario, plan, by, grain, kpis, registry, title)
    tables = inventory(data)
    result = engine.compute(data, kpis=kpis, by=list(by or ()),
                            grain=grain or DEFAULT_GRAIN, params=params, registry=registry,
                            calendar=calendar)
    view = kpi_view(result, kpis, plan)
    provenance = Provenance(
        tables=tables, epoch=result.epoch, plugins=plugin_rows(registry, list(view.kpis)),
        left_out=result.skipped, not_shown=_not_shown(result, view),
        targets=_targets_text(plan),
        params=result.params, grain=result.grain, dimensions=view.dimensions)
    name = title or (f"KPI report: {scenario.name}" if scenario is not None else
                     f"KPI report: {path.name if path is not None else 'data'}")
    return _assemble(name, view, provenance, registry, result.skipped, scenario, None)


def _not_shown(result: Result, view: KpiView) -> tuple[str, ...]:
    return tuple(k for k in result.values if k not in view.kpis)


def _targets_text(plan: Targets | None) -> str:
    defined = "the KPI definitions' own targets (default margin)"
    return defined if plan is None else f"{plan.source}, then {defined}"


def _replications_report(path: Path, scenario: Scenario, plan: Targets | None,
                         by: Sequence[str] | None, grain: str | None,
                         kpis: Sequence[str] | None, registry: Registry,
                         title: str | None) -> Report:
    run = read_replications(path, scenario, registry)
    result = run.result
    groups = [d for d in result.dimensions if d != INTERVAL_START]
    if by is not None and list(by) != groups:
        raise KpiforgeError(f"{path}: the replications are summarised by "
                            f"{', '.join(groups) or 'nothing'}, not {', '.join(by)}: leave "
                            "out --by, or run kpiforge simulate --replications with that --by")
    if grain is not None and grain != result.grain:
        raise KpiforgeError(f"{path}: the replications are summarised per "
                            f"{result.grain or 'whole run'}, not {grain}: leave out --grain, "
                            "or run kpiforge simulate --replications with that --grain")
    if kpis:
        unknown = [k for k in kpis if k not in result.values]
        if unknown:
            raise KpiforgeError(f"{path}: the replications summary has no {unknown[0]!r}; it "
                                f"has {', '.join(result.values)}")
    view = kpi_view(result, kpis, plan, run.bounds)
    provenance = Provenance(
        tables=tuple(TableInfo(name, str(file), rows, "-", None, None)
                     for name, file, rows in run.files),
        epoch=result.epoch, plugins=plugin_rows(registry, list(view.kpis)), left_out={},
        not_shown=_not_shown(result, view),
        targets=_targets_text(plan), params={}, grain=result.grain,
        dimensions=view.dimensions,
        extra=(("Replications", f"{run.replications}, means with 95 % intervals"),))
    name = title or f"KPI report: {scenario.name}, {run.replications} replications"
    return _assemble(name, view, provenance, registry, {}, scenario,
                     ReplicationSection(view, run.replications))


def _assemble(title: str, view: KpiView, provenance: Provenance, registry: Registry,
              skipped: Mapping[str, str], scenario: Scenario | None,
              replications: Section | None) -> Report:
    sections: list[Section] = [HeadlineSection(view), TrendSection(view),
                               TreeSection(view, KpiTree.from_registry(registry), skipped)]
    if scenario is not None:
        sections.append(ScenarioSection(scenario_figures(scenario), scenario_source(scenario)))
    if replications is not None:
        sections.append(replications)
    sections.append(ProvenanceSection(provenance))
    first, last = view.period_label(0), view.period_label(-1)
    span = first if first == last else f"{first} to {last}"
    grouped = f"by {', '.join(view.dimensions)}" if view.dimensions else "all data"
    subtitle = esc(f"{span} · {grouped} · per {view.grain or 'whole data'} · "
                   f"{len(view.kpis)} KPIs")
    footer = ("Made by kpiforge. Status: met (✓), at risk (!), missed (✗), judged by each "
              "KPI's direction or band; no target: not judged.")
    return Report(title, subtitle, tuple(sections), _tally(view), esc(footer))
