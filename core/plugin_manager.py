"""Loading plugins: the built-ins and the ``kpiforge`` entry-point group, the same way, and
collecting what each registers.

A plugin that fails (it does not import, a hook has the wrong arguments or is unknown, a
hook raises or returns the wrong thing, its definitions clash with others') is *left out*:
unregistered whole, reported in one :class:`~kpiforge.errors.KpiforgeWarning` naming it and
its problem, and remembered in :attr:`PluginManager.broken`, so that everything else keeps
working and asking for what it defines names it. The built-ins are never left out: a
problem there is an error.
"""

from __future__ import annotations

import functools
import importlib
import importlib.metadata
import os
import warnings
from typing import Any

import attrs
import click
import pluggy

from kpiforge import __version__, hookspecs
from kpiforge.definitions import KGI, KPI, Dimension, Measure
from kpiforge.errors import KpiforgeError, KpiforgeWarning
from kpiforge.goals.rules import LintRule
from kpiforge.io.presets import Preset

ENTRY_POINT_GROUP = "kpiforge"

#: Built-in plugins, registered through the same public hooks as third-party ones.
DEFAULT_PLUGINS = (
    "kpiforge.plugins.dimensions",
    "kpiforge.plugins.support",
    "kpiforge.plugins.operations",
    "kpiforge.plugins.success",
    "kpiforge.plugins.goals",
    "kpiforge.plugins.lint",
)

#: Comma-separated entry-point names to load (unset: all; empty: none), for reproducible runs.
ONLY_PLUGINS_ENV = "KPIFORGE_PLUGINS"

#: Every hook, and the type of what it returns a list of.
HOOKS: dict[str, type] = {
    "kpiforge_register_measures": Measure,
    "kpiforge_register_kpis": KPI,
    "kpiforge_register_kgis": KGI,
    "kpiforge_register_dimensions": Dimension,
    "kpiforge_register_commands": click.Command,
    "kpiforge_register_lint_rules": LintRule,
    "kpiforge_register_presets": Preset,
}

#: What a plugin may raise while importing or in a hook (``sys.exit`` included).
_FAILURES = (Exception, SystemExit)


class PluginError(KpiforgeError):
    """A problem one plugin causes (``plugin``), which leaving that plugin out solves."""

    def __init__(self, plugin: str, message: str) -> None:
        super().__init__(message)
        self.plugin = plugin


@attrs.frozen
class PluginInfo:
    """Where a registered plugin came from (``source``: the entry point's module, or '')."""

    name: str
    distribution: str
    version: str
    source: str = ""


@attrs.frozen
class Registration:
    """What one plugin's implementation of one hook returned."""

    plugin: str
    hook: str
    items: tuple[Any, ...]


class PluginManager(pluggy.PluginManager):
    """A pluggy manager that remembers each plugin's distribution and version, and which
    plugins it left out and why (:attr:`broken`)."""

    def __init__(self) -> None:
        super().__init__(ENTRY_POINT_GROUP)
        self.add_hookspecs(hookspecs)
        self.info: dict[str, PluginInfo] = {}
        #: Plugin name -> why it was left out.
        self.broken: dict[str, str] = {}
        self._results: dict[tuple[str, str], tuple[Any, ...]] = {}

    def register_builtin(self, module_name: str) -> None:
        """Register a built-in plugin; its problems are kpiforge's and raise."""
        module = importlib.import_module(module_name)
        self.register(module, name=module_name)
        unknown = self._unknown_hooks(module)
        if unknown:
            raise KpiforgeError(f"built-in plugin {module_name!r} implements unknown hooks "
                                f"{', '.join(unknown)}")
        self.info[module_name] = PluginInfo(module_name, "kpiforge", __version__)

    def load_entry_points(self, only: set[str] | None = None) -> None:
        """Import and register every ``kpiforge`` entry point, in name order (those in
        ``only``, if given; a name in ``only`` that is not installed is warned about).

        One that fails to import or to register is left out (:meth:`leave_out`).
        """
        installed = importlib.metadata.entry_points(group=ENTRY_POINT_GROUP)
        if only:
            unknown = sorted(only - set(installed.names))
            if unknown:
                warnings.warn(
                    f"{ONLY_PLUGINS_ENV} names {', '.join(map(repr, unknown))}, which no "
                    f"installed package provides; installed plugins: "
                    f"{', '.join(sorted(installed.names)) or 'none'}",
                    KpiforgeWarning, stacklevel=2)
        for entry_point in sorted(installed, key=lambda e: e.name):
            if only is not None and entry_point.name not in only:
                continue
            if entry_point.name in self.info:
                continue
            dist = entry_point.dist
            self.info[entry_point.name] = PluginInfo(
                entry_point.name,
                dist.metadata["Name"] if dist is not None else "unknown distribution",
                dist.version if dist is not None else "?", entry_point.value)
            try:
                plugin = entry_point.load()
            except _FAILURES as exc:
                self.leave_out(entry_point.name,
                               f"it failed to import: {type(exc).__name__}: {exc}")
                continue
            self.register_outside(plugin, entry_point.name)

    def register_outside(self, plugin: object, name: str) -> None:
        """Register a plugin that is not built in, leaving it out (:meth:`leave_out`) if
        pluggy refuses it (a hook's arguments are not the hook's) or it implements a hook
        kpiforge does not have."""
        try:
            self.register(plugin, name=name)
        except (pluggy.PluginValidationError, ValueError) as exc:
            self.leave_out(name, f"it cannot be registered: {exc}")
            return
        unknown = self._unknown_hooks(plugin)
        if unknown:
            self.leave_out(name, f"it implements {', '.join(map(repr, unknown))}, which "
                           f"{'is no' if len(unknown) == 1 else 'are not'} kpiforge "
                           f"hook{'s' if len(unknown) > 1 else ''}; the hooks are "
                           f"{', '.join(HOOKS)}")

    def _unknown_hooks(self, plugin: object) -> list[str]:
        return sorted(caller.name for caller in self.get_hookcallers(plugin) or ()
                      if not caller.has_spec() and any(
                          impl.plugin is plugin and not impl.optionalhook
                          for impl in caller.get_hookimpls()))

    def leave_out(self, name: str, problem: str) -> None:
        """Unregister plugin ``name`` because of ``problem`` and warn about it once.

        Raises :class:`KpiforgeError` for a built-in plugin, whose problems are kpiforge's.
        """
        problem = "; ".join(line.strip() for line in problem.splitlines() if line.strip())
        if name in DEFAULT_PLUGINS:
            raise KpiforgeError(f"built-in plugin {name!r}: {problem}")
        if name in self.broken:
            return
        self.broken[name] = problem
        if self.get_plugin(name) is not None:
            self.unregister(name=name)
        info = self.info.get(name)
        origin = advice = ""
        if info is not None:
            origin = f" ({info.source}) from distribution {info.distribution} {info.version}"
            advice = (f"; fix or uninstall {info.distribution}, or set {ONLY_PLUGINS_ENV} to "
                      "the plugins to load")
        warnings.warn(f"plugin {name!r}{origin} is left out: {problem}{advice}",
                      KpiforgeWarning, stacklevel=2)

    def collect(self, hook_name: str, kind: type | tuple[type, ...]) -> list[Registration]:
        """Call ``hook_name`` for each plugin in turn (through pluggy, one plugin at a
        time, so that every result is known by its plugin) and check that each returns a
        list of ``kind``. Each plugin's hook is called once; one that raises or returns
        something else leaves its plugin out (:meth:`leave_out`).
        """
        found = []
        for impl in getattr(self.hook, hook_name).get_hookimpls():
            name = impl.plugin_name
            key = (hook_name, name)
            if key not in self._results:
                items = self._call(impl, hook_name, kind)
                if items is None:
                    continue
                self._results[key] = items
            if name not in self.broken:
                found.append(Registration(name, hook_name, self._results[key]))
        return found

    def _call(self, impl: pluggy.HookImpl, hook_name: str, kind: type | tuple[type, ...]
              ) -> tuple[Any, ...] | None:
        """What one plugin's ``hook_name`` returns, checked; None if it left the plugin
        out."""
        others = [p for p in self.get_plugins() if p is not impl.plugin]
        caller = self.subset_hook_caller(hook_name, remove_plugins=others)
        try:
            results = caller()
        except KpiforgeError as exc:  # a definition that fails its checks names itself
            self.leave_out(impl.plugin_name, str(exc))
            return None
        except _FAILURES as exc:
            self.leave_out(impl.plugin_name,
                           f"{hook_name} raised {type(exc).__name__}: {exc}")
            return None
        items = results[0] if results else None
        problem = _wrong_items(items, kind, hook_name)
        if problem is not None:
            self.leave_out(impl.plugin_name, problem)
            return None
        return tuple(items)  # type: ignore[arg-type]  # a list or tuple: checked above

    def registrations(self) -> dict[str, list[Registration]]:
        """What every plugin that is not left out registers, by hook. Every hook of every
        plugin is called, so a plugin is left out of all hooks or of none."""
        found = {hook: self.collect(hook, kind) for hook, kind in HOOKS.items()}
        return {hook: [r for r in registrations if r.plugin not in self.broken]
                for hook, registrations in found.items()}

    def items_of(self, plugin: str) -> list[Any]:
        """Everything ``plugin``'s hooks returned (before it was left out, if it was)."""
        return [item for (_, name), items in self._results.items() if name == plugin
                for item in items]


def _wrong_items(items: Any, kind: type | tuple[type, ...], hook_name: str) -> str | None:
    """What is wrong with a hook's result, or None."""
    if not isinstance(items, list | tuple):
        return f"{hook_name} must return a list, got {type(items).__name__}"
    for item in items:
        if not isinstance(item, kind):
            expected = kind.__name__ if isinstance(kind, type) else \
                " or ".join(k.__name__ for k in kind)
            return f"{hook_name} must return {expected} objects, got {item!r}"
    return None


def only_plugins(value: str | None) -> set[str] | None:
    """The entry-point names ``KPIFORGE_PLUGINS`` asks for (None when it is unset)."""
    if value is None:
        return None
    return {name.strip() for name in value.split(",") if name.strip()}


def get_plugin_manager(load_entry_points: bool = True) -> PluginManager:
    """A manager with the hook specs, the built-in plugins and the installed plugins.

    ``KPIFORGE_PLUGINS`` restricts which entry points load (a comma-separated list).
    """
    manager = PluginManager()
    for module_name in DEFAULT_PLUGINS:
        manager.register_builtin(module_name)
    if load_entry_points:
        manager.load_entry_points(only_plugins(os.environ.get(ONLY_PLUGINS_ENV)))
    return manager


@functools.cache
def default_plugin_manager() -> PluginManager:
    """The process-wide manager of every installed plugin, built on first use."""
    return get_plugin_manager()
