"""From KPIs to goals: the KPI tree, targets with their status, and lint.

The seeds' rules for setting KPIs, as code: every KPI links to the goal (KGI) it serves
(:class:`KpiTree`), targets are set from a measured baseline with a deadline
(:class:`Targets`, :func:`load_targets`, :func:`track`), and :func:`lint` checks a KPI set
against those rules, which are plugins (:class:`LintRule`).

Names are imported on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from kpiforge.lazy import lazy_exports

if TYPE_CHECKING:
    from kpiforge.goals.linting import LintContext, LintReport, lint
    from kpiforge.goals.rules import Finding, LintRule
    from kpiforge.goals.targets import (
        Baseline,
        Status,
        Target,
        Targets,
        Tracked,
        load_targets,
        track,
    )
    from kpiforge.goals.tree import Edge, KpiTree, inferred_effect, kpi_tree

#: Public name -> the module that defines it.
_PUBLIC = {
    "Edge": "kpiforge.goals.tree",
    "KpiTree": "kpiforge.goals.tree",
    "kpi_tree": "kpiforge.goals.tree",
    "inferred_effect": "kpiforge.goals.tree",
    "Baseline": "kpiforge.goals.targets",
    "Status": "kpiforge.goals.targets",
    "Target": "kpiforge.goals.targets",
    "Targets": "kpiforge.goals.targets",
    "Tracked": "kpiforge.goals.targets",
    "load_targets": "kpiforge.goals.targets",
    "track": "kpiforge.goals.targets",
    "Finding": "kpiforge.goals.rules",
    "LintRule": "kpiforge.goals.rules",
    "LintContext": "kpiforge.goals.linting",
    "LintReport": "kpiforge.goals.linting",
    "lint": "kpiforge.goals.linting",
}

__all__ = [
    "Baseline",
    "Edge",
    "Finding",
    "KpiTree",
    "LintContext",
    "LintReport",
    "LintRule",
    "Status",
    "Target",
    "Targets",
    "Tracked",
    "inferred_effect",
    "kpi_tree",
    "lint",
    "load_targets",
    "track",
]

__getattr__, __dir__ = lazy_exports(__name__, _PUBLIC)
