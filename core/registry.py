"""All definitions from all plugins, resolved into one checked dependency graph.

A problem one plugin causes (a duplicate name, an unknown input, a cycle, a bad link) leaves
that plugin out, with a warning, and the graph is resolved again without it: the others keep
working. Asking for a definition of a left-out plugin names the plugin and its problem.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import attrs

from kpiforge.definitions import KGI, KPI, Dimension, Measure, ParamValue, PerLabel, param_text
from kpiforge.errors import KpiforgeError, did_you_mean
from kpiforge.goals.rules import LintRule
from kpiforge.plugin_manager import (
    DEFAULT_PLUGINS,
    HOOKS,
    ONLY_PLUGINS_ENV,
    PluginError,
    PluginManager,
    default_plugin_manager,
)

#: Names the engine supplies to every formula.
ENGINE_INPUTS = {"grain_s": "length of each group's time interval in seconds (without a "
                 "grain: first to last contact arrival)",
                 "snapshot_s": "the instant of each group's snapshot measures, in seconds "
                 "from the epoch: its interval's end (without a grain: the latest since or "
                 "until of the snapshots, over every row)"}

#: The hooks whose definitions make up a registry.
DEFINITION_HOOKS = {hook: kind for hook, kind in HOOKS.items()
                    if kind in (Measure, KPI, KGI, Dimension, LintRule)}


@attrs.frozen
class Registry:
    """Measures, KPIs (KGIs included), dimensions, parameter defaults and lint rules, by
    name.

    ``kpis`` is in declaration order; ``evaluation_order`` puts every KPI after the KPIs it
    reads. ``origin`` maps each definition's name to the plugin that registered it (a
    dimension's as ``dimension:NAME``, a lint rule's as ``rule:NAME``);
    ``broken`` each left-out plugin to its problem, and ``unavailable`` the names known to be
    defined by one of them to that plugin.
    """

    measures: Mapping[str, Measure]
    kpis: Mapping[str, KPI]
    dimensions: Mapping[str, Dimension]
    params: Mapping[str, ParamValue]
    origin: Mapping[str, str]
    evaluation_order: tuple[str, ...]
    broken: Mapping[str, str] = attrs.field(factory=dict)
    unavailable: Mapping[str, str] = attrs.field(factory=dict)
    lint_rules: Mapping[str, LintRule] = attrs.field(factory=dict)

    @classmethod
    def from_plugin_manager(cls, manager: PluginManager) -> Registry:
        """Collect every plugin's definitions and check them.

        A plugin whose definitions cannot be resolved (duplicates, unknown inputs, cycles,
        bad KGI links, conflicting parameter defaults, a KPI reading no measure, a lint
        rule named like another plugin's) is left out
        with a warning (:meth:`PluginManager.leave_out`), as are plugins whose hooks fail.
        """
        while True:
            registrations = manager.registrations()
            found: dict[type, list[tuple[str, Any]]] = {k: [] for k in DEFINITION_HOOKS.values()}
            for hook_name, kind in DEFINITION_HOOKS.items():
                for registration in registrations[hook_name]:
                    found[kind].extend((registration.plugin, item)
                                       for item in registration.items)
            try:
                registry = cls.build(measures=found[Measure], kpis=found[KPI] + found[KGI],
                                     dimensions=found[Dimension],
                                     order=[name for name, _ in manager.list_name_plugin()],
                                     lint_rules=found[LintRule])
            except PluginError as exc:
                if exc.plugin in manager.broken or exc.plugin in DEFAULT_PLUGINS:
                    raise
                manager.leave_out(exc.plugin, str(exc))
                continue
            unavailable = {item.name: plugin for plugin in manager.broken
                           for item in manager.items_of(plugin)
                           if isinstance(item, Measure | KPI | Dimension)}
            return attrs.evolve(registry, broken=dict(manager.broken), unavailable=unavailable)

    @classmethod
    def build(cls, measures: Iterable[tuple[str, Measure]], kpis: Iterable[tuple[str, KPI]],
              dimensions: Iterable[tuple[str, Dimension]], order: Sequence[str] = (),
              lint_rules: Iterable[tuple[str, LintRule]] = ()) -> Registry:
        """Check and index ``(plugin name, definition)`` pairs; ``order`` lists the plugins
        in the order they were registered. Raises :class:`PluginError` naming the
        definition, and blaming the plugin registered last, for the problems listed in
        :meth:`from_plugin_manager`."""
        origin: dict[str, str] = {}
        by_name: dict[str, Measure | KPI] = {}
        position = {plugin: i for i, plugin in enumerate(order)}
        definitions: list[tuple[str, Measure | KPI]] = sorted(
            [*measures, *kpis], key=lambda pair: position.get(pair[0], len(position)))
        for plugin, item in definitions:
            if item.name in origin:
                raise PluginError(
                    plugin,
                    f"{_kind(item)} {item.name!r} is defined twice: by plugin "
                    f"{origin[item.name]!r} ({_kind(by_name[item.name])}) and by plugin "
                    f"{plugin!r}; rename one of them, or load only one of the plugins "
                    f"({ONLY_PLUGINS_ENV}=name,...)"
                )
            if item.name in ENGINE_INPUTS:
                raise PluginError(plugin, f"plugin {plugin!r}: {item.name!r} is reserved for "
                                  "the engine; choose another name")
            origin[item.name] = plugin
            by_name[item.name] = item
        dims: dict[str, Dimension] = {}
        for plugin, dimension in dimensions:
            if dimension.name in dims:
                raise PluginError(
                    plugin,
                    f"dimension {dimension.name!r} is defined twice: by plugin "
                    f"{origin['dimension:' + dimension.name]!r} and by plugin {plugin!r}; "
                    f"load only one of the plugins ({ONLY_PLUGINS_ENV}=name,...)"
                )
            dims[dimension.name] = dimension
            origin["dimension:" + dimension.name] = plugin
        rules = _collect_rules(lint_rules, origin, position)
        params = _collect_params(by_name.values(), origin, dims)
        kpi_map = {n: d for n, d in by_name.items() if isinstance(d, KPI)}
        _check_links(kpi_map, origin)
        rank = {plugin: i for i, (plugin, _) in reversed(list(enumerate(definitions)))}
        ordered = _dependency_order(kpi_map, by_name, params, origin, rank)
        _check_reads_data(kpi_map, by_name, ordered, origin)
        return cls(
            measures={n: d for n, d in by_name.items() if isinstance(d, Measure)},
            kpis=kpi_map,
            dimensions=dims,
            params=params,
            origin=origin,
            evaluation_order=tuple(ordered),
            lint_rules=rules,
        )

    @property
    def kgis(self) -> dict[str, KPI]:
        return {n: k for n, k in self.kpis.items() if k.is_goal}

    def kpi(self, name: str) -> KPI:
        """The KPI or KGI called ``name``; raises :class:`KpiforgeError` with suggestions,
        or naming the left-out plugin that defines it."""
        if name not in self.kpis:
            raise KpiforgeError(self._missing("KPI", name, self.kpis,
                                              "`kpiforge kpis list` shows them all"))
        return self.kpis[name]

    def dimension(self, name: str) -> Dimension:
        """The dimension called ``name``; raises :class:`KpiforgeError` with suggestions,
        or naming the left-out plugin that defines it."""
        if name not in self.dimensions:
            raise KpiforgeError(self._missing("dimension", name, self.dimensions,
                                              f"known: {', '.join(sorted(self.dimensions))}"))
        return self.dimensions[name]

    def _missing(self, kind: str, name: str, known: Iterable[str], advice: str) -> str:
        """Why there is no ``kind`` called ``name``."""
        plugin = self.unavailable.get(name)
        if plugin is not None:
            return (f"{kind} {name!r} is unavailable: plugin {plugin!r}, which defines it, is "
                    f"left out: {self.broken[plugin]}")
        message = f"unknown {kind} {name!r}{did_you_mean(name, known)}; {advice}"
        if self.broken:
            message += (f"; left-out plugins might define it: "
                        f"{', '.join(map(repr, self.broken))} (`kpiforge plugins` says why)")
        return message

    def closure(self, kpi_names: Iterable[str]) -> tuple[list[KPI], list[Measure]]:
        """The KPIs (dependency order) and measures that computing ``kpi_names`` needs."""
        needed: set[str] = set()
        stack = list(kpi_names)
        while stack:
            name = stack.pop()
            if name in needed:
                continue
            needed.add(name)
            if name in self.kpis:
                stack.extend(n for n in self.kpis[name].inputs if n not in needed)
        kpis = [self.kpis[n] for n in self.evaluation_order if n in needed]
        measures = [m for n, m in self.measures.items() if n in needed]
        return kpis, measures

    def tables_of(self, kpi: KPI) -> set[str]:
        """The tables a KPI's measures read."""
        return {m.table for m in self.closure([kpi.name])[1]}


def _kind(item: Measure | KPI) -> str:
    return "measure" if isinstance(item, Measure) else item.kind


def _collect_rules(found: Iterable[tuple[str, LintRule]], origin: dict[str, str],
                   position: Mapping[str, int]) -> dict[str, LintRule]:
    """Lint rules by name, in plugin order; a name taken twice blames the later plugin."""
    rules: dict[str, LintRule] = {}
    for plugin, rule in sorted(found, key=lambda pair: position.get(pair[0], len(position))):
        key = "rule:" + rule.name
        if key in origin:
            raise PluginError(
                plugin,
                f"lint rule {rule.name!r} is defined twice: by plugin {origin[key]!r} and by "
                f"plugin {plugin!r}; rename one of them, or load only one of the plugins "
                f"({ONLY_PLUGINS_ENV}=name,...)")
        origin[key] = plugin
        rules[rule.name] = rule
    return rules


def _collect_params(items: Iterable[Measure | KPI], origin: Mapping[str, str],
                    dimensions: Mapping[str, Dimension]) -> dict[str, ParamValue]:
    params: dict[str, ParamValue] = {}
    declared_by: dict[str, str] = {}
    for item in items:
        for name, default in item.params.items():
            if name in params and params[name] != default:
                raise PluginError(
                    origin[item.name],
                    f"parameter {name!r} has default {param_text(params[name])} in "
                    f"{declared_by[name]} but {param_text(default)} in {_kind(item)} "
                    f"{item.name!r} (plugin {origin[item.name]!r}); use one default"
                )
            if isinstance(default, PerLabel) and default.dimension not in dimensions:
                raise PluginError(
                    origin[item.name],
                    f"parameter {name!r} of {_kind(item)} {item.name!r} is keyed by dimension "
                    f"{default.dimension!r}, which no plugin defines; known: "
                    f"{', '.join(sorted(dimensions)) or 'none'}")
            params[name] = default
            declared_by[name] = f"{_kind(item)} {item.name!r} (plugin {origin[item.name]!r})"
    return params


def _check_links(kpis: Mapping[str, KPI], origin: Mapping[str, str]) -> None:
    for kpi in kpis.values():
        for goal in kpi.kgis:
            target = kpis.get(goal)
            if target is None or not target.is_goal:
                goals = [n for n, k in kpis.items() if k.is_goal]
                what = "is a KPI, not a KGI" if target is not None else "is not a known KGI"
                raise PluginError(
                    origin[kpi.name],
                    f"{kpi.kind} {kpi.name!r} (plugin {origin[kpi.name]!r}) links to "
                    f"{goal!r}, which {what}{did_you_mean(goal, goals)}; "
                    f"KGIs: {', '.join(sorted(goals))}"
                )


def _dependency_order(kpis: Mapping[str, KPI], known: Mapping[str, Measure | KPI],
                      params: Mapping[str, ParamValue], origin: Mapping[str, str],
                      rank: Mapping[str, int]) -> list[str]:
    """KPI names, each after the KPIs it reads (a depth-first walk with an explicit stack,
    so long chains of KPIs need no recursion); ``rank`` orders plugins by registration, to
    blame the last one for a cycle."""
    order: list[str] = []
    state: dict[str, str] = {}
    for start in sorted(kpis):
        stack = [(start, iter(kpis[start].inputs))] if start not in state else []
        state.setdefault(start, "active")
        while stack:
            name, inputs = stack[-1]
            input_name = next(inputs, None)
            if input_name is None:
                stack.pop()
                state[name] = "done"
                order.append(name)
            elif input_name in kpis:
                if state.get(input_name) == "active":
                    path = [n for n, _ in stack]
                    cycle = (*path[path.index(input_name):], input_name)
                    plugins = sorted({origin[n] for n in cycle}, key=rank.__getitem__)
                    raise PluginError(
                        plugins[-1], f"KPI cycle: {' -> '.join(cycle)} (plugins: "
                        f"{', '.join(sorted(plugins))}); a KPI cannot depend on itself")
                if input_name not in state:
                    state[input_name] = "active"
                    stack.append((input_name, iter(kpis[input_name].inputs)))
            elif isinstance(params.get(input_name), PerLabel):
                raise PluginError(
                    origin[name],
                    f"{kpis[name].kind} {name!r} (plugin {origin[name]!r}) reads parameter "
                    f"{input_name!r}, which takes a value per row (PerLabel): only measures "
                    "may read it")
            elif input_name not in known and input_name not in params \
                    and input_name not in ENGINE_INPUTS:
                everything = [*known, *params, *ENGINE_INPUTS]
                raise PluginError(
                    origin[name],
                    f"{kpis[name].kind} {name!r} (plugin {origin[name]!r}) reads unknown input "
                    f"{input_name!r}{did_you_mean(input_name, everything)}; inputs must be "
                    "measures, KPIs or parameters registered by some plugin"
                )
    return order


def _check_reads_data(kpis: Mapping[str, KPI], known: Mapping[str, Measure | KPI],
                      order: Iterable[str], origin: Mapping[str, str]) -> None:
    """Every KPI reads some measure, directly or through other KPIs: one reading only
    parameters would have no rows to be computed over."""
    reads_data: dict[str, bool] = {}
    for name in order:
        reads_data[name] = any(isinstance(known.get(i), Measure) or reads_data.get(i, False)
                               for i in kpis[name].inputs)
        if not reads_data[name]:
            raise PluginError(
                origin[name],
                f"{kpis[name].kind} {name!r} (plugin {origin[name]!r}) reads no measure, "
                f"only {', '.join(kpis[name].inputs)}; a KPI is computed from data, so its "
                "formula must read a measure or a KPI that does")


@functools.cache
def default_registry() -> Registry:
    """The registry of every installed plugin, built once per process."""
    return Registry.from_plugin_manager(default_plugin_manager())
