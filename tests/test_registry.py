"""Resolving plugins' definitions: every broken definition names its KPI and plugin."""

from __future__ import annotations

import re

import pytest

from kpiforge import KGI, KPI, Dimension, KpiforgeError, Measure, Registry, hookimpl
from kpiforge.plugin_manager import DEFAULT_PLUGINS, default_plugin_manager, get_plugin_manager


def registry_with(*plugins) -> Registry:
    manager = get_plugin_manager(load_entry_points=False)
    for i, plugin in enumerate(plugins):
        manager.register(plugin, name=f"test-plugin-{i}")
    return Registry.from_plugin_manager(manager)


class KpiPlugin:
    def __init__(self, *kpis, measures=(), kgis=()):
        self.kpis, self.measures, self.kgis = list(kpis), list(measures), list(kgis)

    @hookimpl
    def kpiforge_register_kpis(self):
        return self.kpis

    @hookimpl
    def kpiforge_register_measures(self):
        return self.measures

    @hookimpl
    def kpiforge_register_kgis(self):
        return self.kgis


def test_builtins_resolve_in_dependency_order():
    registry = registry_with()
    order = registry.evaluation_order
    assert order.index("answered") < order.index("answer_rate")
    assert order.index("churn_rate") < order.index("ltv")
    assert set(registry.kgis) == {"ltv", "csat", "nps", "churn_rate", "retention_rate",
                                  "operating_profit"}
    assert all(kpi.kgis for kpi in registry.kpis.values() if not kpi.is_goal)


def test_duplicate_names_name_both_plugins():
    with pytest.raises(KpiforgeError, match=r"'offered' is defined twice: by plugin "
                       r"'kpiforge.plugins.support' \(KPI\) and by plugin 'test-plugin-0'"):
        registry_with(KpiPlugin(KPI("offered", "1")))


def test_measure_and_kpi_share_one_namespace():
    with pytest.raises(KpiforgeError, match="'contacts_offered' is defined twice"):
        registry_with(KpiPlugin(KPI("contacts_offered", "1")))


def test_unknown_input_names_kpi_plugin_and_suggests():
    with pytest.raises(KpiforgeError, match=r"KPI 'mine' \(plugin 'test-plugin-0'\) reads "
                       r"unknown input 'ofered' \(did you mean: offered"):
        registry_with(KpiPlugin(KPI("mine", "ofered * 2")))


def test_cycle_names_the_path_and_plugins():
    with pytest.raises(KpiforgeError, match=r"KPI cycle: .*a_kpi -> b_kpi -> a_kpi.*"
                       "test-plugin-0"):
        registry_with(KpiPlugin(KPI("a_kpi", "b_kpi + 1"), KPI("b_kpi", "a_kpi * 2")))


def test_formula_that_does_not_parse_names_the_kpi():
    with pytest.raises(KpiforgeError, match=r"KPI 'bad', formula: 'offered \+' does not parse"):
        KPI("bad", "offered +")


def test_forbidden_syntax_names_the_kpi_and_position():
    with pytest.raises(KpiforgeError, match=r"KPI 'bad', formula: .*attribute access at column 8"):
        KPI("bad", "offered.__class__")


def test_link_to_unknown_kgi():
    with pytest.raises(KpiforgeError, match=r"KPI 'mine' \(plugin 'test-plugin-0'\) links to "
                       r"'cast', which is not a known KGI \(did you mean: csat"):
        registry_with(KpiPlugin(KPI("mine", "offered", kgis=["cast"])))


def test_link_to_a_kpi_that_is_not_a_goal():
    with pytest.raises(KpiforgeError, match="'aht', which is a KPI, not a KGI"):
        registry_with(KpiPlugin(KPI("mine", "offered", kgis=["aht"])))


def test_plugin_kgi_can_be_linked_to():
    registry = registry_with(KpiPlugin(KPI("mine", "offered", kgis=["renewals"]),
                                       kgis=[KGI("renewals", "offered")]))
    assert registry.kpis["renewals"].is_goal
    assert registry.kpis["mine"].kgis == ("renewals",)


def test_hook_returning_the_wrong_type_names_the_plugin():
    class Wrong:
        @hookimpl
        def kpiforge_register_kpis(self):
            return [Measure("m", "contacts", "count")]

    with pytest.raises(KpiforgeError, match="plugin 'test-plugin-0': kpiforge_register_kpis "
                       "must return KPI objects"):
        registry_with(Wrong())


def test_hook_that_raises_names_the_plugin():
    class Broken:
        @hookimpl
        def kpiforge_register_measures(self):
            raise RuntimeError("database down")

    with pytest.raises(KpiforgeError, match="plugin 'test-plugin-0': kpiforge_register_measures "
                       "raised RuntimeError: database down"):
        registry_with(Broken())


def test_conflicting_parameter_defaults():
    plugin = KpiPlugin(measures=[Measure("fast", "contacts", "count",
                                         where="answered_s - arrived_s <= sl_threshold_s",
                                         params={"sl_threshold_s": 30})])
    with pytest.raises(KpiforgeError, match="parameter 'sl_threshold_s' has default 20"):
        registry_with(plugin)


@pytest.mark.parametrize(("make", "message"), [
    (lambda: KPI("bad name", "1"), "KPI name must be a Python identifier"),
    (lambda: KPI("k", "1", direction="up"), "direction must be one of higher, lower, neutral"),
    (lambda: KPI("k", lambda m: m["a"]), "a callable formula needs inputs"),
    (lambda: KPI("k", 42), "formula must be a string or a callable"),
    (lambda: Measure("m", "calls", "count"), "table must be one of contacts"),
    (lambda: Measure("m", "contacts", "avg", value="x"), "agg must be one of count"),
    (lambda: Measure("m", "contacts", "sum"), "agg 'sum' needs a value"),
    (lambda: Measure("m", "contacts", "quantile", value="x"), "q is required"),
    (lambda: Measure("m", "contacts", "quantile", value="x", q=2), "q must be within 0..1"),
    (lambda: Measure("m", "contacts", "count", where="x.y"), r"Measure 'm', where: .*attribute"),
    (lambda: Dimension("d", {"calls": "x"}), "columns must map table names"),
])
def test_bad_definitions_fail_where_declared(make, message):
    with pytest.raises(KpiforgeError, match=message):
        make()


def test_callable_formula(contacts):
    import kpiforge

    def answered_share(m):
        return m["answered"] / m["offered"]

    registry = registry_with(KpiPlugin(KPI("share", answered_share,
                                           inputs=["answered", "offered"], kgis="csat")))
    result = kpiforge.compute({"contacts": contacts}, kpis=["share"], registry=registry)
    assert result["share"][0] == pytest.approx(5 / 8)


def test_the_suite_loads_only_the_builtin_plugins():
    assert set(default_plugin_manager().info) == set(DEFAULT_PLUGINS)


@pytest.mark.parametrize(("make", "message"), [
    (lambda: Dimension("region", "region"),
     "Dimension 'region': columns must map table names to column names, got 'region'"),
    (lambda: KPI("x_rate", "offered", target="high"),
     "KPI 'x_rate': target must be a number, got 'high'"),
    (lambda: Measure("m", "contacts", "count", params={"p": "x"}),
     "Measure 'm': params must map parameter names to numbers, got {'p': 'x'}"),
    (lambda: KPI("y_rate", "offered", kgis=[3]), "KPI 'y_rate': names must be strings, got 3"),
    (lambda: KPI("z_rate", "offered", kgi=["csat"]),
     "KPI 'z_rate': KPI.__init__() got an unexpected keyword argument 'kgi'"),
])
def test_definition_errors_name_the_definition(make, message):
    with pytest.raises(KpiforgeError, match=re.escape(message)):
        make()
