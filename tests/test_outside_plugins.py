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


def test_plugin_that_fails_to_import_names_entry_point_and_distribution(
        site, contacts_with_callbacks):
    install(site, "kpiforge-broken", "0.3.1", "kpiforge_broken", "import no_such_module\n",
            entry_point="broken")
    result = kpiforge(site, "compute", contacts_with_callbacks)
    assert result.returncode == 1
    assert "plugin 'broken' (kpiforge_broken) from distribution kpiforge-broken 0.3.1 failed " \
        "to import: ModuleNotFoundError" in result.stderr
    assert "Traceback" not in result.stderr
    # Loading only named plugins skips the broken one.
    only = kpiforge(site, "compute", contacts_with_callbacks, "--kpi", "offered",
                    KPIFORGE_PLUGINS="")
    assert only.returncode == 0, only.stderr


def test_duplicate_kpi_from_a_plugin_names_both_plugins(site, contacts_with_callbacks):
    install(site, "kpiforge-dupe", "1.0", "kpiforge_dupe", '''
        from kpiforge import KPI, hookimpl

        @hookimpl
        def kpiforge_register_kpis():
            return [KPI("aht", "offered * 2", kgis=["csat"])]
    ''', entry_point="dupe")
    result = kpiforge(site, "compute", contacts_with_callbacks)
    assert result.returncode == 1
    assert "KPI 'aht' is defined twice: by plugin 'kpiforge.plugins.support' (KPI) and by " \
        "plugin 'dupe'" in result.stderr
    assert "KPIFORGE_PLUGINS=name,..." in result.stderr


def test_plugin_with_missing_input_names_kpi_and_plugin(site, contacts_with_callbacks):
    install(site, "kpiforge-typo", "1.0", "kpiforge_typo", '''
        from kpiforge import KPI, hookimpl

        @hookimpl
        def kpiforge_register_kpis():
            return [KPI("callback_rate", "callbaks / offered", kgis=["csat"])]
    ''', entry_point="typo")
    result = kpiforge(site, "kpis", "list")
    assert result.returncode == 1
    assert "KPI 'callback_rate' (plugin 'typo') reads unknown input 'callbaks'" in result.stderr


def test_plugin_can_add_a_command(site):
    install(site, "kpiforge-hello", "1.0", "kpiforge_hello", '''
        import click
        from kpiforge import hookimpl

        @click.command("hello")
        def hello():
            """Say hello."""
            click.echo("hello from a plugin")

        @hookimpl
        def kpiforge_register_commands():
            return [hello]
    ''', entry_point="hello")
    result = kpiforge(site, "hello")
    assert result.returncode == 0, result.stderr
    assert result.stdout == "hello from a plugin\n"


def test_plugins_reports_a_raising_hook_in_one_line(site):
    install(site, "kpiforge-raising", "2.0", "kpiforge_raising", '''
        from kpiforge import hookimpl

        @hookimpl
        def kpiforge_register_kpis():
            raise RuntimeError("database unreachable")
    ''', entry_point="raising")
    result = kpiforge(site, "plugins")
    assert result.returncode == 1
    assert result.stderr == ("Error: plugin 'raising': kpiforge_register_kpis raised "
                             "RuntimeError: database unreachable\n")
    assert result.stdout == ""


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
