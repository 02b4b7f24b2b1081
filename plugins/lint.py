"""The built-in lint rules: how the seeds say KPIs must be set (seeds 000, 001, 002, 004).

1. Decide the goal (KGI) first; every KPI is a signpost toward one, and a KPI pointing away
   from its goal defeats it: ``orphan-kpi``, ``unserved-kgi``, ``link-effect``,
   ``link-loop``.
2. Know the current state first; a target far from what is achievable demotivates:
   ``unachievable-target``.
3. SMART: a target has a deadline: ``untimed-target``.
4. Support and success share goals, not KPIs: ``support-success-mixed``.
5. Too fine a KPI constrains the work; lagging results show months later:
   ``lagging-grain``.
6. Efficiency and quality pull against each other; pair them: ``unpaired-efficiency``.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import TYPE_CHECKING

from kpiforge import hookimpl
from kpiforge.goals import Finding, LintRule, inferred_effect

if TYPE_CHECKING:
    from kpiforge.goals import LintContext

#: The shortest period a lagging KPI's target should be judged over.
LAGGING_PERIOD = "1mo"
SUPPORT_SIDE = ("support", "operations")


def orphan_kpis(context: LintContext) -> Iterator[Finding]:
    goals = ", ".join(context.tree.goals)
    for name in context.tree.unlinked:
        yield Finding(name, f"KPI {name!r} (plugin {context.plugin(name)!r}) serves no KGI, "
                      "so nothing says which goal it is a signpost to",
                      f"link it to the goal it serves with kgis=[...] in its definition "
                      f"(KGIs: {goals})")


def unserved_kgis(context: LintContext) -> Iterator[Finding]:
    for name in context.tree.unserved:
        yield Finding(name, f"KGI {name!r} (plugin {context.plugin(name)!r}) has no KPI "
                      "linked to it, so no signpost shows progress toward it",
                      f"link the KPIs that move it with kgis=[{name!r}], or drop the goal")


def link_effects(context: LintContext) -> Iterator[Finding]:
    for edge in context.tree.edges:
        kpi, goal = context.kpi(edge.kpi), context.kpi(edge.kgi)
        implied = inferred_effect(kpi, goal)
        if edge.effect is None:
            yield Finding(edge.kpi, f"its link to {edge.kgi!r} has no known effect: "
                          f"{edge.kpi} is {kpi.direction}, {edge.kgi} {goal.direction}",
                          f"say it: Link({edge.kgi!r}, effect=1) if raising {edge.kpi} "
                          f"raises {edge.kgi}, effect=-1 if it lowers it",
                          severity="warning")
        elif implied is not None and edge.effect != implied:
            better = "raises" if edge.effect > 0 else "lowers"
            yield Finding(edge.kpi, f"it points away from {edge.kgi!r}: raising it {better} "
                          f"{edge.kgi}, so improving {edge.kpi} ({kpi.direction} is better) "
                          f"makes {edge.kgi} worse ({goal.direction} is better)",
                          "link it to a goal it moves the right way, or correct its "
                          "direction or the link's effect")


def link_loops(context: LintContext) -> Iterator[Finding]:
    for loop in context.tree.loops():
        yield Finding(loop[0], f"KGI links go round in a loop: {' -> '.join(loop)}",
                      "a goal serves the goals above it, never back: remove one link")


def untimed_targets(context: LintContext) -> Iterator[Finding]:
    for target in context.targets or ():
        if not target.time_bound:
            yield Finding(target.kpi, f"the target for {target.kpi} ({target.describe()}) "
                          "has no period and no deadline, so it is not time-bound (SMART)",
                          f'give it period = "1mo" (what it is judged over) and deadline = '
                          f"YYYY-MM-DD (by when), in [{target.kpi}] or [defaults]")


def unachievable_targets(context: LintContext) -> Iterator[Finding]:
    for target in context.targets or ():
        baseline = context.baselines.get(target.kpi)
        if baseline is None:  # "data" with no data given
            continue
        if not baseline.known:
            yield Finding(target.kpi, f"no baseline for {target.kpi} from {baseline.source}: "
                          f"{baseline.note}", "give data that computes it, or baseline = "
                          "NUMBER (the current value)", severity="warning")
            continue
        direction = context.kpi(target.kpi).direction
        ratio = target.required_ratio(baseline.value, direction)
        if not math.isnan(ratio) and ratio > target.max_ratio:
            times = "infinitely" if math.isinf(ratio) else f"{ratio:.2f} times"
            yield Finding(target.kpi, f"the target {target.describe()} is {times} better "
                          f"than the baseline {baseline.value:.4g} (from {baseline.source}), "
                          f"beyond max_ratio {target.max_ratio:g}: far from what is "
                          "achievable, it demotivates",
                          "set an intermediate target within max_ratio of the baseline, "
                          "with its own deadline (or raise max_ratio if the plan justifies "
                          "it)")


def mixed_groups(context: LintContext) -> Iterator[Finding]:
    if context.targets is None:
        return
    for group, kpis in context.targets.groups().items():
        support = [k for k in kpis if context.kpi(k).area in SUPPORT_SIDE]
        success = [k for k in kpis if context.kpi(k).area == "success"]
        if support:
            for name in success:
                yield Finding(name, f"target group {group!r} holds success KPI {name} and "
                              f"support KPIs {', '.join(support)}: support and success share "
                              "goals (KGIs), not KPIs",
                              f"give {name} its own group (the success team's)")


def unpaired_efficiency(context: LintContext) -> Iterator[Finding]:
    for group, kpis in _kpi_groups(context).items():
        if any(context.kpi(k).role == "quality" for k in kpis):
            continue
        where = f" in target group {group!r}" if group else ""
        for name in kpis:
            if context.kpi(name).role == "efficiency":
                yield Finding(name, f"efficiency KPI {name} has no quality KPI beside it"
                              f"{where}: pushed alone, efficiency costs quality",
                              f"pair it with a quality KPI such as "
                              f"{', '.join(_quality_for(context, name))}")


def _kpi_groups(context: LintContext) -> dict[str | None, list[str]]:
    """The KPI set by target group (None: ungrouped targets, or no targets at all)."""
    if context.targets is None:
        return {None: context.kpi_set}
    groups: dict[str | None, list[str]] = {}
    for target in context.targets:
        groups.setdefault(target.group, []).append(target.kpi)
    return groups


def _quality_for(context: LintContext, name: str) -> list[str]:
    """Quality KPIs to pair ``name`` with: the quality goals (csat), else the quality KPIs
    of its area; at most three."""
    quality = [n for n, kpi in context.registry.kpis.items() if kpi.role == "quality"]
    goals = [n for n in quality if context.kpi(n).is_goal]
    same_area = [n for n in quality if context.kpi(n).area == context.kpi(name).area]
    return (goals or same_area or quality)[:3]


def lagging_grains(context: LintContext) -> Iterator[Finding]:
    for target in context.targets or ():
        if context.kpi(target.kpi).timing == "lagging" and \
                target.period_shorter_than(LAGGING_PERIOD):
            yield Finding(target.kpi, f"{target.kpi} is a lagging KPI judged per "
                          f"{target.period}: it shows months after the work that moves it, "
                          "and so fine a grain constrains the work",
                          f'judge it per {LAGGING_PERIOD} or longer, and watch a leading KPI '
                          "(health_score, csat) at finer grains")


@hookimpl
def kpiforge_register_lint_rules():
    return [
        LintRule("orphan-kpi", orphan_kpis,
                 description="Every KPI serves a KGI (seeds 000, 001)."),
        LintRule("unserved-kgi", unserved_kgis,
                 description="Every KGI has a KPI linked to it (seeds 000, 001)."),
        LintRule("link-effect", link_effects,
                 description="A link's effect moves its goal the right way; a neutral KPI "
                             "says which way (seed 000)."),
        LintRule("link-loop", link_loops, description="KGI links do not loop."),
        LintRule("untimed-target", untimed_targets,
                 description="A target has a period or a deadline (SMART, seed 001)."),
        LintRule("unachievable-target", unachievable_targets,
                 description="A target is at most max_ratio times better than its baseline "
                             "(seed 000)."),
        LintRule("support-success-mixed", mixed_groups,
                 description="A target group does not mix support and success KPIs "
                             "(seeds 000, 002)."),
        LintRule("unpaired-efficiency", unpaired_efficiency, severity="warning",
                 description="An efficiency KPI comes with a quality KPI (seed 004)."),
        LintRule("lagging-grain", lagging_grains, severity="warning",
                 description=f"A lagging KPI's target period is {LAGGING_PERIOD} or longer "
                             "(seeds 001, 004)."),
    ]
