"""All definitions from all plugins, resolved into one checked dependency graph."""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping
from typing import Any

import attrs

from kpiforge.definitions import KGI, KPI, Dimension, Measure
from kpiforge.errors import KpiforgeError, did_you_mean
from kpiforge.plugin_manager import ONLY_PLUGINS_ENV, PluginManager, default_plugin_manager

#: Names the engine supplies to every formula.
ENGINE_INPUTS = {"grain_s": "length of each group's time interval in seconds (without a "
                 "grain: first to last contact arrival)"}

#: The hooks whose definitions make up a registry, and the type each returns.
HOOKS: dict[str, type] = {
    "kpiforge_register_measures": Measure,
    "kpiforge_register_kpis": KPI,
    "kpiforge_register_kgis": KGI,
    "kpiforge_register_dimensions": Dimension,
}


@attrs.frozen
class Registry:
    """Measures, KPIs (KGIs included), dimensions and parameter defaults, by name.

    ``kpis`` is in declaration order; ``evaluation_order`` puts every KPI after the KPIs it
    reads. ``origin`` maps each definition's name to the plugin that registered it.
    """

    measures: Mapping[str, Measure]
    kpis: Mapping[str, KPI]
    dimensions: Mapping[str, Dimension]
    params: Mapping[str, float]
    origin: Mapping[str, str]
    evaluation_order: tuple[str, ...]

    @classmethod
    def from_plugin_manager(cls, manager: PluginManager) -> Registry:
        """Collect every hook's definitions and check them.

        Raises :class:`KpiforgeError` naming the definition and plugin(s) for duplicates,
        unknown inputs, cycles, bad KGI links and hooks that raise or return the wrong
        thing.
        """
        found: dict[type, list[tuple[str, Any]]] = {kind: [] for kind in HOOKS.values()}
        for hook_name, kind in HOOKS.items():
            for registration in manager.collect(hook_name, kind):
                found[kind].extend((registration.plugin, item) for item in registration.items)
        return cls.build(
            measures=found[Measure], kpis=found[KPI] + found[KGI], dimensions=found[Dimension]
        )

    @classmethod
    def build(cls, measures: Iterable[tuple[str, Measure]], kpis: Iterable[tuple[str, KPI]],
              dimensions: Iterable[tuple[str, Dimension]]) -> Registry:
        """Check and index ``(plugin name, definition)`` pairs."""
        origin: dict[str, str] = {}
        by_name: dict[str, Measure | KPI] = {}
        definitions: list[tuple[str, Measure | KPI]] = [*measures, *kpis]
        for plugin, item in definitions:
            if item.name in origin:
                raise KpiforgeError(
                    f"{_kind(item)} {item.name!r} is defined twice: by plugin "
                    f"{origin[item.name]!r} ({_kind(by_name[item.name])}) and by plugin "
                    f"{plugin!r}; rename one of them, or load only one of the plugins "
                    f"({ONLY_PLUGINS_ENV}=name,...)"
                )
            if item.name in ENGINE_INPUTS:
                raise KpiforgeError(f"plugin {plugin!r}: {item.name!r} is reserved for the "
                                    "engine; choose another name")
            origin[item.name] = plugin
            by_name[item.name] = item
        dims: dict[str, Dimension] = {}
        for plugin, dimension in dimensions:
            if dimension.name in dims:
                raise KpiforgeError(
                    f"dimension {dimension.name!r} is defined twice: by plugin "
                    f"{origin['dimension:' + dimension.name]!r} and by plugin {plugin!r}; "
                    f"load only one of the plugins ({ONLY_PLUGINS_ENV}=name,...)"
                )
            dims[dimension.name] = dimension
            origin["dimension:" + dimension.name] = plugin
        params = _collect_params(by_name.values(), origin)
        kpi_map = {n: d for n, d in by_name.items() if isinstance(d, KPI)}
        _check_links(kpi_map, origin)
        ordered = _dependency_order(kpi_map, by_name, params, origin)
        return cls(
            measures={n: d for n, d in by_name.items() if isinstance(d, Measure)},
            kpis=kpi_map,
            dimensions=dims,
            params=params,
            origin=origin,
            evaluation_order=tuple(ordered),
        )

    @property
    def kgis(self) -> dict[str, KPI]:
        return {n: k for n, k in self.kpis.items() if k.is_goal}

    def kpi(self, name: str) -> KPI:
        """The KPI or KGI called ``name``; raises :class:`KpiforgeError` with suggestions."""
        try:
            return self.kpis[name]
        except KeyError:
            raise KpiforgeError(
                f"unknown KPI {name!r}{did_you_mean(name, self.kpis)}; "
                "`kpiforge kpis list` shows them all"
            ) from None

    def dimension(self, name: str) -> Dimension:
        """The dimension called ``name``; raises :class:`KpiforgeError` with suggestions."""
        try:
            return self.dimensions[name]
        except KeyError:
            raise KpiforgeError(
                f"unknown dimension {name!r}{did_you_mean(name, self.dimensions)}; "
                f"known: {', '.join(sorted(self.dimensions))}"
            ) from None

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


def _collect_params(items: Iterable[Measure | KPI], origin: Mapping[str, str]
                    ) -> dict[str, float]:
    params: dict[str, float] = {}
    declared_by: dict[str, str] = {}
    for item in items:
        for name, default in item.params.items():
            if name in params and params[name] != default:
                raise KpiforgeError(
                    f"parameter {name!r} has default {params[name]:g} in {declared_by[name]} "
                    f"but {default:g} in {_kind(item)} {item.name!r} (plugin "
                    f"{origin[item.name]!r}); use one default"
                )
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
                raise KpiforgeError(
                    f"{kpi.kind} {kpi.name!r} (plugin {origin[kpi.name]!r}) links to "
                    f"{goal!r}, which {what}{did_you_mean(goal, goals)}; "
                    f"KGIs: {', '.join(sorted(goals))}"
                )


def _dependency_order(kpis: Mapping[str, KPI], known: Mapping[str, Measure | KPI],
                      params: Mapping[str, float], origin: Mapping[str, str]) -> list[str]:
    order: list[str] = []
    state: dict[str, str] = {}

    def visit(name: str, path: tuple[str, ...]) -> None:
        if state.get(name) == "done":
            return
        if state.get(name) == "active":
            cycle = (*path[path.index(name):], name)
            plugins = sorted({origin[n] for n in cycle})
            raise KpiforgeError(
                f"KPI cycle: {' -> '.join(cycle)} (plugins: {', '.join(plugins)}); "
                "a KPI cannot depend on itself"
            )
        state[name] = "active"
        for input_name in kpis[name].inputs:
            if input_name in kpis:
                visit(input_name, (*path, name))
            elif input_name not in known and input_name not in params \
                    and input_name not in ENGINE_INPUTS:
                everything = [*known, *params, *ENGINE_INPUTS]
                raise KpiforgeError(
                    f"{kpis[name].kind} {name!r} (plugin {origin[name]!r}) reads unknown input "
                    f"{input_name!r}{did_you_mean(input_name, everything)}; inputs must be "
                    "measures, KPIs or parameters registered by some plugin"
                )
        state[name] = "done"
        order.append(name)

    for name in sorted(kpis):
        visit(name, ())
    return order


@functools.cache
def default_registry() -> Registry:
    """The registry of every installed plugin, built once per process."""
    return Registry.from_plugin_manager(default_plugin_manager())
