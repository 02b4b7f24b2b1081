"""Property tests of plugin loading: whatever a set of plugins does in its hooks, each is
either taken whole or left out with one warning naming it, the built-ins keep working, and
nothing but a warning escapes."""

from __future__ import annotations

import types
import warnings
from typing import Any

import numpy as np
from hypothesis import given
from hypothesis import strategies as st
from strategies import Raise, plugin_specs

import kpiforge
from kpiforge import KGI, KPI, Dimension, Measure, Registry, hookimpl
from kpiforge.errors import KpiforgeWarning
from kpiforge.plugin_manager import get_plugin_manager

BUILTIN = Registry.from_plugin_manager(get_plugin_manager(load_entry_points=False))
_MAKE = {"KPI": KPI, "KGI": KGI, "Measure": Measure, "Dimension": Dimension}


def _definition(spec: tuple[Any, ...]) -> Any:
    kind, name, *rest = spec
    if kind in ("KPI", "KGI"):
        formula, kgis = rest
        return _MAKE[kind](name, formula, kgis=kgis)
    if kind == "Measure":
        agg, value, where, params = rest
        return Measure(name, "contacts", agg, value=value, where=where, params=params)
    return Dimension(name, rest[0])


def make_plugin(specs: dict[str, Any]) -> types.ModuleType:
    """A plugin object whose hooks build, return or raise what ``specs`` says."""
    def hook(name: str, result: Any):
        def implementation():
            if isinstance(result, Raise):
                raise result.error
            if isinstance(result, list) and all(isinstance(r, tuple) for r in result):
                return [_definition(spec) for spec in result]
            return result
        implementation.__name__ = name
        return hookimpl(implementation)

    module = types.ModuleType("fuzz_plugin")
    for name, result in specs.items():
        setattr(module, name, hook(name, result))
    return module


@given(specs=st.lists(plugin_specs(), min_size=1, max_size=3))
def test_each_plugin_is_taken_whole_or_left_out_with_one_warning(specs):
    manager = get_plugin_manager(load_entry_points=False)
    names = [f"fuzz-{i}" for i in range(len(specs))]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for name, spec in zip(names, specs, strict=True):
            manager.register_outside(make_plugin(spec), name)
        registry = Registry.from_plugin_manager(manager)
    assert all(w.category is KpiforgeWarning for w in caught)
    assert sorted(str(w.message).split("'")[1] for w in caught) == sorted(registry.broken)
    assert set(registry.broken) <= set(names)
    for name in BUILTIN.kpis:  # the built-ins are all there, as they were
        assert registry.origin[name] == BUILTIN.origin[name]
    for name in names:
        definitions = [n for n, plugin in registry.origin.items() if plugin == name]
        if name in registry.broken:
            assert definitions == []
        else:  # taken whole: everything its hooks returned is registered
            returned = [item.name for item in manager.items_of(name)]
            assert sorted(n.removeprefix("dimension:") for n in definitions) == sorted(returned)
    result = kpiforge.compute({"contacts": {"arrived_s": np.arange(3.0)}}, kpis=["offered"],
                              registry=registry)
    assert result["offered"][0] == 3
