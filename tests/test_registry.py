"""Resolving plugins' definitions: every broken definition names its KPI and plugin."""

from __future__ import annotations

import re

import pytest

from kpiforge import KGI, KPI, Dimension, KpiforgeError, Measure, PerLabel, Registry, hookimpl
from kpiforge.errors import KpiforgeWarning
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


def left_out(plugin, message: str, *others) -> Registry:
    """The registry with ``plugin`` (and ``others``), checking that ``plugin``, registered
    last, is left out with one warning matching ``message`` and that the rest still
    resolves."""
    with pytest.warns(KpiforgeWarning, match=message) as warned:
        registry = registry_with(*others, plugin)
    name = f"test-plugin-{len(others)}"
    assert [str(w.message) for w in warned] == [f"plugin {name!r} is left out: "
                                                f"{registry.broken[name]}"]
    assert name not in registry.origin.values()
    assert "aht" in registry.kpis
    return registry


def test_duplicate_names_name_both_plugins():
    left_out(KpiPlugin(KPI("offered", "answered * 2")), r"'offered' is defined twice: by "
             r"plugin 'kpiforge.plugins.support' \(KPI\) and by plugin 'test-plugin-0'")


def test_measure_and_kpi_share_one_namespace():
    left_out(KpiPlugin(KPI("contacts_offered", "offered")), "'contacts_offered' is defined "
             "twice")


def test_the_plugin_registered_last_is_left_out_whatever_the_kind():
    """A plugin's measure named like a built-in KPI: the plugin is blamed, although
    measures are checked before KPIs."""
    left_out(KpiPlugin(measures=[Measure("aht", "contacts", "count")]), "'aht' is defined "
             "twice: by plugin 'kpiforge.plugins.support' \\(KPI\\) and by plugin "
             "'test-plugin-0'")


def test_unknown_input_names_kpi_plugin_and_suggests():
    left_out(KpiPlugin(KPI("mine", "ofered * 2")), r"KPI 'mine' \(plugin 'test-plugin-0'\) "
             r"reads unknown input 'ofered' \(did you mean: offered")


def test_cycle_names_the_path_and_plugins():
    left_out(KpiPlugin(KPI("a_kpi", "b_kpi + 1"), KPI("b_kpi", "a_kpi * 2")),
             r"KPI cycle: .*a_kpi -> b_kpi -> a_kpi.*test-plugin-0")


def test_a_cycle_across_plugins_leaves_out_the_later_plugin_then_what_needed_it():
    with pytest.warns(KpiforgeWarning) as warned:
        registry = registry_with(KpiPlugin(KPI("a_kpi", "b_kpi + offered")),
                                 KpiPlugin(KPI("b_kpi", "a_kpi * 2")))
    assert [str(w.message) for w in warned] == [
        "plugin 'test-plugin-1' is left out: KPI cycle: a_kpi -> b_kpi -> a_kpi (plugins: "
        "test-plugin-0, test-plugin-1); a KPI cannot depend on itself",
        "plugin 'test-plugin-0' is left out: KPI 'a_kpi' (plugin 'test-plugin-0') reads "
        "unknown input 'b_kpi' (did you mean: a_kpi?); inputs must be measures, KPIs or "
        "parameters registered by some plugin"]
    assert set(registry.broken) == {"test-plugin-0", "test-plugin-1"}
    assert "offered" in registry.kpis


def test_a_long_chain_of_kpis_resolves_without_recursion():
    chain = [KPI("k0", "offered")] + [KPI(f"k{i}", f"k{i - 1} + 1") for i in range(1, 3000)]
    registry = registry_with(KpiPlugin(*chain))
    assert registry.evaluation_order.index("k2999") > registry.evaluation_order.index("k0")


def test_a_kpi_reading_no_measure_is_left_out():
    left_out(KpiPlugin(KPI("threshold", "limit_s / 60", params={"limit_s": 5})),
             r"KPI 'threshold' \(plugin 'test-plugin-0'\) reads no measure, only limit_s")


def test_a_kpi_reading_a_per_label_parameter_is_left_out():
    left_out(KpiPlugin(KPI("threshold", "offered + sl_threshold_s")),
             r"KPI 'threshold' \(plugin 'test-plugin-0'\) reads parameter 'sl_threshold_s', "
             r"which takes a value per row \(PerLabel\): only measures may read it")


def test_a_per_label_parameter_of_an_unknown_dimension_is_left_out():
    plugin = KpiPlugin(measures=[Measure("quick", "contacts", "count",
                                         where="answered_s - arrived_s <= quick_s",
                                         params={"quick_s": PerLabel("tier", {"a": 1}, 2)})])
    left_out(plugin, "parameter 'quick_s' of measure 'quick' is keyed by dimension 'tier', "
             "which no plugin defines")


def test_asking_for_a_left_out_plugins_kpi_names_the_plugin_and_its_problem():
    registry = left_out(KpiPlugin(KPI("mine", "ofered * 2")), "unknown input 'ofered'")
    with pytest.raises(KpiforgeError, match=r"KPI 'mine' is unavailable: plugin "
                       r"'test-plugin-0', which defines it, is left out: KPI 'mine' \(plugin "
                       r"'test-plugin-0'\) reads unknown input 'ofered'"):
        registry.kpi("mine")
    with pytest.raises(KpiforgeError, match=r"unknown KPI 'theirs'; `kpiforge kpis list` shows "
                       r"them all; left-out plugins might define it: 'test-plugin-0' "
                       r"\(`kpiforge plugins` says why\)$"):
        registry.kpi("theirs")


def test_formula_that_does_not_parse_names_the_kpi():
    with pytest.raises(KpiforgeError, match=r"KPI 'bad', formula: 'offered \+' does not parse"):
        KPI("bad", "offered +")


def test_forbidden_syntax_names_the_kpi_and_position():
    with pytest.raises(KpiforgeError, match=r"KPI 'bad', formula: .*attribute access at column 8"):
        KPI("bad", "offered.__class__")


def test_link_to_unknown_kgi():
    left_out(KpiPlugin(KPI("mine", "offered", kgis=["cast"])), r"KPI 'mine' \(plugin "
             r"'test-plugin-0'\) links to 'cast', which is not a known KGI \(did you mean: csat")


def test_link_to_a_kpi_that_is_not_a_goal():
    left_out(KpiPlugin(KPI("mine", "offered", kgis=["aht"])), "'aht', which is a KPI, not a "
             "KGI")


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

    left_out(Wrong(), "kpiforge_register_kpis must return KPI objects")


def test_hook_that_raises_names_the_plugin():
    class Broken:
        @hookimpl
        def kpiforge_register_measures(self):
            raise RuntimeError("database down")

    left_out(Broken(), "kpiforge_register_measures raised RuntimeError: database down")


def test_a_plugin_failing_in_one_hook_is_left_out_of_every_hook():
    class HalfBroken:
        @hookimpl
        def kpiforge_register_measures(self):
            return [Measure("callbacks", "contacts", "count")]

        @hookimpl
        def kpiforge_register_kpis(self):
            raise SystemExit(3)

    registry = left_out(HalfBroken(), "kpiforge_register_kpis raised SystemExit: 3")
    assert "callbacks" not in registry.measures
    assert registry.unavailable == {"callbacks": "test-plugin-0"}


def test_warnings_as_errors_make_a_broken_plugin_fail_its_tests(pytester):
    """How a plugin's own tests load it strictly (the plugin guide)."""
    pytester.makepyfile('''
        from kpiforge import KPI, Registry, get_plugin_manager, hookimpl

        class Typo:
            @hookimpl
            def kpiforge_register_kpis(self):
                return [KPI("mine", "ofered * 2")]

        def test_my_plugin_loads():
            manager = get_plugin_manager(load_entry_points=False)
            manager.register(Typo(), name="mine")
            Registry.from_plugin_manager(manager)
    ''')
    assert pytester.runpytest("-p", "no:cacheprovider").ret == 0
    strict = pytester.runpytest("-p", "no:cacheprovider", "-W",
                                "error::kpiforge.errors.KpiforgeWarning")
    strict.assert_outcomes(failed=1)
    strict.stdout.fnmatch_lines(["*KpiforgeWarning: plugin 'mine' is left out: KPI 'mine' "
                                 "(plugin 'mine') reads unknown input 'ofered'*"])


def test_conflicting_parameter_defaults():
    plugin = KpiPlugin(measures=[Measure("fast", "contacts", "count",
                                         where="answered_s - arrived_s <= sl_threshold_s",
                                         params={"sl_threshold_s": 30})])
    left_out(plugin, r"parameter 'sl_threshold_s' has default call 20, chat 60, email 86400, "
             r"other 20 \(by channel\) in measure .* but 30 in measure 'fast'")


@pytest.mark.parametrize(("make", "message"), [
    (lambda: KPI("bad name", "offered"), "KPI name must be a Python identifier"),
    (lambda: KPI("k", "offered", direction="up"), "direction must be one of higher, lower, "
     "neutral"),
    (lambda: KPI("k", "42"), "formula '42' is a constant; a formula reads measures or KPIs"),
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
     "Measure 'm': params must map parameter names to finite numbers or PerLabel values, "
     "got {'p': 'x'}"),
    (lambda: Measure("m", "contacts", "count", params={"p": float("inf")}),
     "Measure 'm': params must map parameter names to finite numbers or PerLabel values, "
     "got {'p': inf}"),
    (lambda: KPI("y_rate", "offered", kgis=[3]), "KPI 'y_rate': names must be strings, got 3"),
    (lambda: KPI("z_rate", "offered", kgi=["csat"]),
     "KPI 'z_rate': KPI.__init__() got an unexpected keyword argument 'kgi'"),
])
def test_definition_errors_name_the_definition(make, message):
    with pytest.raises(KpiforgeError, match=re.escape(message)):
        make()
