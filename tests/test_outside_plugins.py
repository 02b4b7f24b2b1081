"""Third-party plugins installed as distributions with a ``kpiforge`` entry point.

Each test writes a package and its ``.dist-info`` (what pip writes when it installs a wheel)
into a temporary site directory and runs the real ``kpiforge`` command with that directory on
``PYTHONPATH``, so discovery goes through :mod:`importlib.metadata` exactly as in production.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from handmade import CONTACT_COLUMNS, CONTACT_ROWS, write_csv

# The plugin from the foundation issue, verbatim (one line is longer than ours).
CALLBACK_PLUGIN = '''
from kpiforge import hookimpl, KPI, Measure

@hookimpl
def kpiforge_register_measures():
    return [Measure("callbacks", table="contacts", agg="count", where="callback == 1")]

@hookimpl
def kpiforge_register_kpis():
    return [KPI("callback_share", formula="callbacks / offered", unit="%", direction="lower", kgis=["csat"])]
'''  # noqa: E501


def install(site: Path, distribution: str, version: str, module: str, source: str,
            entry_point: str | None = None) -> None:
    """Install ``module`` (with ``source``) as ``distribution`` into the ``site`` folder."""
    package = site / module
    package.mkdir(parents=True)
    (package / "__init__.py").write_text(textwrap.dedent(source))
    info = site / f"{distribution.replace('-', '_')}-{version}.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(
        f"Metadata-Version: 2.1\nName: {distribution}\nVersion: {version}\n")
    (info / "entry_points.txt").write_text(f"[kpiforge]\n{entry_point or module} = {module}\n")
    (info / "RECORD").write_text("")


def installed(site: Path) -> list[str]:
    """The entry-point names the tests installed into ``site``."""
    return [line.split(" = ")[0] for path in site.glob("*.dist-info/entry_points.txt")
            for line in path.read_text().splitlines()[1:]]


def kpiforge(site: Path, *args: str, **env: str) -> subprocess.CompletedProcess:
    """Run the CLI with the plugins installed into ``site`` (and only those, so that other
    plugins installed where the tests run change nothing)."""
    environment = dict(os.environ, KPIFORGE_PLUGINS=",".join(installed(site)))
    environment.update(PYTHONPATH=str(site), **env)
    return subprocess.run([sys.executable, "-m", "kpiforge", *map(str, args)],
                          capture_output=True, text=True, env=environment, check=False)


@pytest.fixture
def site(tmp_path) -> Path:
    directory = tmp_path / "site"
    directory.mkdir()
    return directory


@pytest.fixture
def contacts_with_callbacks(tmp_path) -> Path:
    callbacks = [1, 0, 0, 1, 0, 0, 1, 0]
    rows = [(*row, flag) for row, flag in zip(CONTACT_ROWS, callbacks, strict=True)]
    return write_csv(tmp_path / "contacts.csv", rows, (*CONTACT_COLUMNS, "callback"))


def test_outside_plugin_is_listed_and_computes(site, contacts_with_callbacks):
    install(site, "kpiforge-callbacks", "1.2.0", "kpiforge_callbacks", CALLBACK_PLUGIN,
            entry_point="callbacks")
    listed = kpiforge(site, "plugins", "--format", "json")
    assert listed.returncode == 0, listed.stderr
    plugin = next(p for p in json.loads(listed.stdout) if p["name"] == "callbacks")
    assert plugin["distribution"] == "kpiforge-callbacks"
    assert plugin["version"] == "1.2.0"
    assert plugin["registers"] == {"measures": ["callbacks"], "KPIs": ["callback_share"]}

    computed = kpiforge(site, "compute", contacts_with_callbacks, "--by", "channel",
                        "--kpi", "callback_share", "--format", "json")
    assert computed.returncode == 0, computed.stderr
    # callbacks: call rows 1 and 4 of 4 contacts, chat row 7 of 4.
    assert json.loads(computed.stdout) == [{"channel": "call", "callback_share": 2 / 4},
                                           {"channel": "chat", "callback_share": 1 / 4}]
    shown = kpiforge(site, "kpis", "show", "callback_share")
    assert "plugin:      callbacks" in shown.stdout
    assert "where callback == 1" in shown.stdout


def test_outside_plugin_with_its_column_missing(site, tmp_path):
    install(site, "kpiforge-callbacks", "1.2.0", "kpiforge_callbacks", CALLBACK_PLUGIN,
            entry_point="callbacks")
    plain = write_csv(tmp_path / "plain.csv", CONTACT_ROWS, CONTACT_COLUMNS)
    explicit = kpiforge(site, "compute", plain, "--kpi", "callback_share")
    assert explicit.returncode == 1
    assert "column 'callback' is missing; KPI 'callback_share' (plugin 'callbacks') needs " \
        "it" in explicit.stderr
    assert "Traceback" not in explicit.stderr
    # Without --kpi, the plugin's KPI is left out and the built-ins still compute.
    default = kpiforge(site, "compute", plain, "--format", "json")
    assert default.returncode == 0, default.stderr
    assert "callback_share" not in json.loads(default.stdout)[0]


def warnings_of(result: subprocess.CompletedProcess) -> list[str]:
    """The CLI's warning lines; every line of stderr must be one (no traceback)."""
    lines = result.stderr.splitlines()
    assert all(line.startswith("Warning: ") for line in lines), result.stderr
    return lines


def test_plugin_that_fails_to_import_is_left_out_with_a_warning(site, contacts_with_callbacks):
    install(site, "kpiforge-broken", "0.3.1", "kpiforge_broken", "import no_such_module\n",
            entry_point="broken")
    result = kpiforge(site, "compute", contacts_with_callbacks, "--kpi", "offered")
    assert result.returncode == 0, result.stderr
    assert warnings_of(result) == [
        "Warning: plugin 'broken' (kpiforge_broken) from distribution kpiforge-broken 0.3.1 is "
        "left out: it failed to import: ModuleNotFoundError: No module named "
        "'no_such_module'; fix or uninstall kpiforge-broken, or set KPIFORGE_PLUGINS to the "
        "plugins to load"]
    # Loading only named plugins skips the broken one, silently.
    only = kpiforge(site, "compute", contacts_with_callbacks, "--kpi", "offered",
                    KPIFORGE_PLUGINS="")
    assert only.returncode == 0, only.stderr
    assert only.stderr == ""


#: Plugins broken in each way the hardening issue lists, and the problem each is left out for.
BROKEN_PLUGINS = {
    "signature": ('''
        from kpiforge import KPI, hookimpl

        @hookimpl
        def kpiforge_register_kpis(config):
            return [KPI("signature_kpi", "offered * 2")]
    ''', "it cannot be registered: Plugin 'signature' for hook 'kpiforge_register_kpis'; "
         "hookimpl definition: kpiforge_register_kpis(config); Argument(s) {'config'} are "
         "declared in the hookimpl but can not be found in the hookspec"),
    "unknown_hook": ('''
        from kpiforge import hookimpl

        @hookimpl
        def kpiforge_register_kpi():
            return []
    ''', "it implements 'kpiforge_register_kpi', which is no kpiforge hook; the hooks are "
         "kpiforge_register_measures, kpiforge_register_kpis, kpiforge_register_kgis, "
         "kpiforge_register_dimensions, kpiforge_register_commands, "
         "kpiforge_register_lint_rules, kpiforge_register_presets"),
    "strings": ('''
        from kpiforge import hookimpl

        @hookimpl
        def kpiforge_register_commands():
            return ["x"]
    ''', "kpiforge_register_commands must return Command objects, got 'x'"),
    "exits": ('''
        import sys
        sys.exit(3)
    ''', "it failed to import: SystemExit: 3"),
    "raising": ('''
        from kpiforge import Measure, hookimpl

        @hookimpl
        def kpiforge_register_measures():
            return [Measure("raising_count", "contacts", "count")]

        @hookimpl
        def kpiforge_register_kpis():
            raise RuntimeError("database unreachable")
    ''', "kpiforge_register_kpis raised RuntimeError: database unreachable"),
    "dupe": ('''
        from kpiforge import KPI, hookimpl

        @hookimpl
        def kpiforge_register_kpis():
            return [KPI("aht", "offered * 2", kgis=["csat"])]
    ''', "KPI 'aht' is defined twice: by plugin 'kpiforge.plugins.support' (KPI) and by "
         "plugin 'dupe'; rename one of them, or load only one of the plugins "
         "(KPIFORGE_PLUGINS=name,...)"),
    "deep": ('''
        from kpiforge import KPI, hookimpl

        @hookimpl
        def kpiforge_register_kpis():
            return [KPI("deep_kpi", "-" * 5000 + "offered")]
    ''', f"KPI 'deep_kpi', formula: '{'-' * 40} ... {'-' * 33}offered' nests more than "
         "1,000 levels deep (each "
         "operator of a chain such as a | b | c is a level); write long alternatives with "
         "'or', or as x in (\"a\", \"b\", ...)"),
    "typo": ('''
        from kpiforge import KPI, hookimpl

        @hookimpl
        def kpiforge_register_kpis():
            return [KPI("callback_rate", "xyzzy / offered", kgis=["csat"])]
    ''', "KPI 'callback_rate' (plugin 'typo') reads unknown input 'xyzzy'; inputs must be "
         "measures, KPIs or parameters registered by some plugin"),
}


def install_broken(site: Path, name: str) -> None:
    install(site, f"kpiforge-{name}", "1.0", f"kpiforge_{name}", BROKEN_PLUGINS[name][0],
            entry_point=name)


def left_out_warning(name: str) -> str:
    return (f"Warning: plugin {name!r} (kpiforge_{name}) from distribution kpiforge-{name} 1.0 "
            f"is left out: {BROKEN_PLUGINS[name][1]}; fix or uninstall kpiforge-{name}, or "
            "set KPIFORGE_PLUGINS to the plugins to load")


@pytest.mark.parametrize("name", sorted(BROKEN_PLUGINS))
def test_a_broken_plugin_is_left_out_and_the_others_still_compute(site, name,
                                                                  contacts_with_callbacks):
    install_broken(site, name)
    install(site, "kpiforge-callbacks", "1.2.0", "kpiforge_callbacks", CALLBACK_PLUGIN,
            entry_point="callbacks")
    result = kpiforge(site, "compute", contacts_with_callbacks, "--kpi",
                      "offered,callback_share", "--format", "json")
    assert result.returncode == 0, result.stderr
    assert warnings_of(result) == [left_out_warning(name)]
    assert json.loads(result.stdout) == [{"offered": 8, "callback_share": 3 / 8}]


def test_asking_for_a_left_out_plugins_kpi_names_the_plugin_and_its_problem(
        site, contacts_with_callbacks):
    install_broken(site, "typo")
    result = kpiforge(site, "compute", contacts_with_callbacks, "--kpi", "callback_rate")
    assert result.returncode == 1
    assert result.stderr.splitlines() == [
        left_out_warning("typo"),
        "Error: KPI 'callback_rate' is unavailable: plugin 'typo', which defines it, is left "
        f"out: {BROKEN_PLUGINS['typo'][1]}"]
    assert result.stdout == ""


def test_asking_for_a_kpi_a_left_out_plugin_never_registered_names_that_plugin(
        site, contacts_with_callbacks):
    install_broken(site, "raising")  # its KPIs hook raised: their names are unknown
    result = kpiforge(site, "compute", contacts_with_callbacks, "--kpi", "raising_share")
    assert result.returncode == 1
    assert result.stderr.splitlines() == [
        left_out_warning("raising"),
        "Error: unknown KPI 'raising_share'; `kpiforge kpis list` shows them all; left-out "
        "plugins might define it: 'raising' (`kpiforge plugins` says why)"]


def test_a_callable_formula_returning_text_is_a_one_line_error(site, contacts_with_callbacks):
    install(site, "kpiforge-texty", "1.0", "kpiforge_texty", '''
        from kpiforge import KPI, hookimpl

        def label(inputs):
            return inputs["offered"].astype(str)

        @hookimpl
        def kpiforge_register_kpis():
            return [KPI("texty", label, inputs=["offered"])]
    ''', entry_point="texty")
    result = kpiforge(site, "compute", contacts_with_callbacks, "--kpi", "texty")
    assert result.returncode == 1
    assert result.stderr == ("Error: KPI 'texty': its formula label(offered) returned <U32 "
                             "values of shape (1,); it must return numbers, one per group "
                             "(shape (1,))\n")
    assert result.stdout == ""


def test_plugins_load_in_name_order_and_the_later_duplicate_is_left_out(site):
    for name in ("zeta", "alpha"):
        install(site, f"kpiforge-{name}", "1.0", f"kpiforge_{name}", '''
            from kpiforge import KPI, hookimpl

            @hookimpl
            def kpiforge_register_kpis():
                return [KPI("twice_offered", "offered * 2")]
        ''', entry_point=name)
    listed = kpiforge(site, "plugins", "--format", "json")
    assert listed.returncode == 0, listed.stderr
    assert warnings_of(listed) == [
        "Warning: plugin 'zeta' (kpiforge_zeta) from distribution kpiforge-zeta 1.0 is left "
        "out: KPI 'twice_offered' is defined twice: by plugin 'alpha' (KPI) and by plugin "
        "'zeta'; rename one of them, or load only one of the plugins "
        "(KPIFORGE_PLUGINS=name,...); fix or uninstall kpiforge-zeta, or set "
        "KPIFORGE_PLUGINS to the plugins to load"]
    names = [row["name"] for row in json.loads(listed.stdout)]
    assert names[-2:] == ["alpha", "zeta"]


def test_plugins_lists_a_left_out_plugin_with_its_problem(site):
    for name in ("raising", "exits"):
        install_broken(site, name)
    listed = kpiforge(site, "plugins", "--format", "json")
    assert listed.returncode == 0, listed.stderr
    assert warnings_of(listed) == [left_out_warning("exits"), left_out_warning("raising")]
    rows = {row["name"]: row for row in json.loads(listed.stdout)}
    assert rows["raising"] == {"name": "raising", "distribution": "kpiforge-raising",
                               "version": "1.0", "registers": {},
                               "problem": BROKEN_PLUGINS["raising"][1]}
    assert rows["exits"]["problem"] == "it failed to import: SystemExit: 3"
    assert rows["kpiforge.plugins.support"]["problem"] is None
    table = kpiforge(site, "plugins")
    assert table.returncode == 0, table.stderr
    line = next(line for line in table.stdout.splitlines() if line.startswith("raising "))
    assert line.split() == ["raising", "kpiforge-raising", "1.0", "left", "out:",
                            *BROKEN_PLUGINS["raising"][1].split()]


SHADOW_PLUGIN = '''
    import click
    from kpiforge import hookimpl

    @click.command("compute")
    def compute():
        click.echo("not the real compute")

    @click.command("shadow-report")
    def report():
        click.echo("{who} report")

    @hookimpl
    def kpiforge_register_commands():
        return [compute, report]
'''


def test_a_plugin_command_whose_name_is_taken_is_left_out_with_a_warning(
        site, contacts_with_callbacks):
    for name in ("shadow", "umbra"):
        install(site, f"kpiforge-{name}", "1.0", f"kpiforge_{name}",
                SHADOW_PLUGIN.replace("{who}", name), entry_point=name)
    expected = [*(f"Warning: plugin {name!r} registers a command 'compute', which is a "
                  "built-in command; the plugin's command is left out: rename it"
                  for name in ("shadow", "umbra")),
                "Warning: plugin 'umbra' registers a command 'shadow-report', which is plugin "
                "'shadow''s command; the plugin's command is left out: rename it"]
    listed = kpiforge(site, "--help")
    assert listed.returncode == 0, listed.stderr
    assert warnings_of(listed) == expected
    assert "shadow-report" in listed.stdout
    report = kpiforge(site, "shadow-report")
    assert (report.returncode, report.stdout, warnings_of(report)) == (0, "shadow report\n",
                                                                       expected)
    computed = kpiforge(site, "compute", contacts_with_callbacks, "--kpi", "offered",
                        "--format", "json")
    assert computed.returncode == 0, computed.stderr
    assert json.loads(computed.stdout) == [{"offered": 8}]


def test_unknown_name_in_kpiforge_plugins_is_warned_about(site):
    install(site, "kpiforge-callbacks", "1.2.0", "kpiforge_callbacks", CALLBACK_PLUGIN,
            entry_point="callbacks")
    result = kpiforge(site, "plugins", "--format", "json", KPIFORGE_PLUGINS="nosuch")
    assert result.returncode == 0, result.stderr
    assert result.stderr.startswith("Warning: KPIFORGE_PLUGINS names 'nosuch', which no "
                                    "installed package provides; installed plugins: ")
    assert "callbacks" in result.stderr.splitlines()[0]
    assert "callbacks" not in [p["name"] for p in json.loads(result.stdout)]


def test_kpis_show_invents_no_seed_for_an_outside_kpi(site):
    install(site, "kpiforge-callbacks", "1.2.0", "kpiforge_callbacks", CALLBACK_PLUGIN,
            entry_point="callbacks")
    shown = kpiforge(site, "kpis", "show", "callback_share")
    assert shown.returncode == 0, shown.stderr
    assert "seeds" not in shown.stdout
    assert "seeds:       000, 003" in kpiforge(site, "kpis", "show", "csat").stdout


ORPHAN_PLUGIN = """
from kpiforge import KPI, hookimpl

@hookimpl
def kpiforge_register_kpis():
    return [KPI("callback_volume", "offered * 2", direction="neutral")]
"""


def test_lint_flags_an_outside_kpi_linked_to_no_kgi(site):
    install(site, "kpiforge-orphans", "2.0", "kpiforge_orphans", ORPHAN_PLUGIN,
            entry_point="orphans")
    result = kpiforge(site, "lint")
    assert result.returncode == 1, result.stdout
    assert result.stdout.splitlines() == [
        "error [orphan-kpi] callback_volume: KPI 'callback_volume' (plugin 'orphans') serves "
        "no KGI, so nothing says which goal it is a signpost to; link it to the goal it "
        "serves with kgis=[...] in its definition (KGIs: csat, nps, churn_rate, "
        "retention_rate, ltv, operating_profit)",
        "1 error, 0 warnings from 9 rules over 59 KPIs and KGIs"]
    assert result.stderr == ""


HOUSE_RULES = '''
    from kpiforge import hookimpl
    from kpiforge.goals import Finding, LintRule

    def short_names(context):
        for name in context.kpi_set:
            if len(name) > 30:
                yield Finding(name, f"{name} is longer than 30 characters",
                              "give it a shorter id")

    @hookimpl
    def kpiforge_register_lint_rules():
        return [LintRule("short-names", short_names, severity="warning")]
'''


def test_an_outside_plugins_lint_rule_runs(site):
    install(site, "kpiforge-house-rules", "0.1", "kpiforge_house_rules", HOUSE_RULES,
            entry_point="house")
    result = kpiforge(site, "lint", "--format", "json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    long_names = ["first_response_time_median_business", "first_response_time_p90_business",
                  "service_level_excl_short_abandons", "time_to_resolution_median_business",
                  "time_to_resolution_p90_business"]
    assert sorted(report["findings"], key=lambda f: f["kpi"]) == [{
        "rule": "short-names", "severity": "warning", "kpi": name,
        "problem": f"{name} is longer than 30 characters",
        "advice": "give it a shorter id"} for name in long_names]
    assert {"name": "short-names", "severity": "warning", "description": "",
            "plugin": "house"} in report["rules"]


def test_tree_shows_an_outside_kpi_under_its_goal(site):
    install(site, "kpiforge-callbacks", "1.2.0", "kpiforge_callbacks", CALLBACK_PLUGIN,
            entry_point="callbacks")
    install(site, "kpiforge-orphans", "2.0", "kpiforge_orphans", ORPHAN_PLUGIN,
            entry_point="orphans")
    result = kpiforge(site, "tree", "--format", "json")
    assert result.returncode == 0, result.stderr
    tree = json.loads(result.stdout)
    csat = next(n for n in tree["goals"][0]["served_by"] if n["id"] == "csat")
    callback = next(n for n in csat["served_by"] if n["id"] == "callback_share")
    assert (callback["plugin"], callback["effect"], callback["area"]) == ("callbacks", -1,
                                                                          None)
    assert [n["id"] for n in tree["unlinked"]] == ["callback_volume"]


PRIORITY_PLUGIN = '''
from kpiforge import Dimension, hookimpl

@hookimpl
def kpiforge_register_dimensions():
    return [Dimension("priority", {"contacts": "priority"}, "how urgent",
                      labels={1: "urgent", 2: "high", 3: "normal"}, order=[3])]
'''


def test_an_outside_dimension_labels_tables_and_reports_and_keeps_keys_in_csv(site, tmp_path):
    install(site, "kpiforge-priorities", "0.1.0", "kpiforge_priorities", PRIORITY_PLUGIN,
            entry_point="priorities")
    path = tmp_path / "contacts.csv"
    # Priority 1: two contacts, 2: one, 3: one; all answered after 10 s.
    path.write_text("arrived_s,answered_s,priority\n0,10,1\n60,70,2\n120,130,1\n"
                    "180,190,3\n")
    table = kpiforge(site, "compute", path, "--by", "priority", "--kpi", "offered")
    assert table.returncode == 0, table.stderr
    assert table.stdout.splitlines()[0].split() == ["KPI", "normal", "urgent", "high"]
    assert table.stdout.splitlines()[2].split() == ["offered", "1", "2", "1"]
    csv = kpiforge(site, "compute", path, "--by", "priority", "--kpi", "offered", "--format",
                   "csv")
    assert csv.stdout.splitlines() == ['"priority","offered"', "3,1", "1,2", "2,1"]
    out = tmp_path / "report.html"
    report = kpiforge(site, "report", path, "--by", "priority", "--kpi", "offered", "--out",
                      out)
    assert report.returncode == 0, report.stderr
    page = out.read_text()
    assert page.index(">normal<") < page.index(">urgent<") < page.index(">high<")
