"""Loading plugins: the built-ins and the ``kpiforge`` entry-point group, the same way, and
collecting what each registers."""

from __future__ import annotations

import functools
import importlib
import importlib.metadata
import os
import warnings
from typing import Any

import attrs
import pluggy

from kpiforge import __version__, hookspecs
from kpiforge.errors import KpiforgeError, KpiforgeWarning

ENTRY_POINT_GROUP = "kpiforge"

#: Built-in plugins, registered through the same public hooks as third-party ones.
DEFAULT_PLUGINS = (
    "kpiforge.plugins.dimensions",
    "kpiforge.plugins.support",
    "kpiforge.plugins.operations",
    "kpiforge.plugins.success",
    "kpiforge.plugins.goals",
)

#: Comma-separated entry-point names to load (unset: all; empty: none), for reproducible runs.
ONLY_PLUGINS_ENV = "KPIFORGE_PLUGINS"


@attrs.frozen
class PluginInfo:
    """Where a registered plugin came from."""

    name: str
    distribution: str
    version: str


@attrs.frozen
class Registration:
    """What one plugin's implementation of one hook returned."""

    plugin: str
    hook: str
    items: tuple[Any, ...]


class PluginManager(pluggy.PluginManager):
    """A pluggy manager that remembers each plugin's distribution and version."""

    def __init__(self) -> None:
        super().__init__(ENTRY_POINT_GROUP)
        self.add_hookspecs(hookspecs)
        self.info: dict[str, PluginInfo] = {}

    def register_builtin(self, module_name: str) -> None:
        self.register(importlib.import_module(module_name), name=module_name)
        self.info[module_name] = PluginInfo(module_name, "kpiforge", __version__)

    def load_entry_points(self, only: set[str] | None = None) -> None:
        """Import and register every ``kpiforge`` entry point (those in ``only``, if given;
        a name in ``only`` that is not installed is warned about).

        Raises :class:`KpiforgeError` naming the entry point and its distribution when one
        fails to import.
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
        for entry_point in installed:
            if only is not None and entry_point.name not in only:
                continue
            if self.get_plugin(entry_point.name) is not None:
                continue
            dist = entry_point.dist
            dist_name = dist.metadata["Name"] if dist is not None else "unknown distribution"
            version = dist.version if dist is not None else "?"
            try:
                plugin = entry_point.load()
            except Exception as exc:
                raise KpiforgeError(
                    f"plugin {entry_point.name!r} ({entry_point.value}) from distribution "
                    f"{dist_name} {version} failed to import: {type(exc).__name__}: {exc}; "
                    f"fix or uninstall {dist_name}, or set {ONLY_PLUGINS_ENV} to the plugins "
                    "to load"
                ) from exc
            self.register(plugin, name=entry_point.name)
            self.info[entry_point.name] = PluginInfo(entry_point.name, dist_name, version)

    def collect(self, hook_name: str, kind: type | tuple[type, ...]) -> list[Registration]:
        """Call ``hook_name`` for each plugin in turn (through pluggy, one plugin at a
        time, so that every result is known by its plugin) and check that each returns a
        list of ``kind``.

        Raises :class:`KpiforgeError` naming the plugin and hook when an implementation
        raises or returns something else.
        """
        found = []
        plugins = self.get_plugins()
        for impl in getattr(self.hook, hook_name).get_hookimpls():
            others = [p for p in plugins if p is not impl.plugin]
            caller = self.subset_hook_caller(hook_name, remove_plugins=others)
            try:
                results = caller()
            except KpiforgeError as exc:
                raise KpiforgeError(f"plugin {impl.plugin_name!r}: {exc}") from None
            except Exception as exc:
                raise KpiforgeError(
                    f"plugin {impl.plugin_name!r}: {hook_name} raised "
                    f"{type(exc).__name__}: {exc}"
                ) from exc
            items = results[0] if results else None
            found.append(Registration(impl.plugin_name, hook_name,
                                      _checked(items, kind, impl.plugin_name, hook_name)))
        return found


def _checked(items: Any, kind: type | tuple[type, ...], plugin: str, hook_name: str
             ) -> tuple[Any, ...]:
    if not isinstance(items, list | tuple):
        raise KpiforgeError(f"plugin {plugin!r}: {hook_name} must return a list, got "
                            f"{type(items).__name__}")
    for item in items:
        if not isinstance(item, kind):
            expected = kind.__name__ if isinstance(kind, type) else \
                " or ".join(k.__name__ for k in kind)
            raise KpiforgeError(f"plugin {plugin!r}: {hook_name} must return {expected} "
                                f"objects, got {item!r}")
    return tuple(items)


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
    manager.check_pending()
    return manager


@functools.cache
def default_plugin_manager() -> PluginManager:
    """The process-wide manager of every installed plugin, built on first use."""
    return get_plugin_manager()
