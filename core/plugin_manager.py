"""Loading plugins: the built-ins and the ``kpiforge`` entry-point group, the same way."""

from __future__ import annotations

import functools
import importlib
import importlib.metadata
import os

import attrs
import pluggy

from kpiforge import hookspecs
from kpiforge.errors import KpiforgeError

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


class PluginManager(pluggy.PluginManager):
    """A pluggy manager that remembers each plugin's distribution and version."""

    def __init__(self) -> None:
        super().__init__(ENTRY_POINT_GROUP)
        self.add_hookspecs(hookspecs)
        self.info: dict[str, PluginInfo] = {}

    def register_builtin(self, module_name: str) -> None:
        from kpiforge import __version__

        self.register(importlib.import_module(module_name), name=module_name)
        self.info[module_name] = PluginInfo(module_name, "kpiforge", __version__)

    def load_entry_points(self, only: set[str] | None = None) -> None:
        """Import and register every ``kpiforge`` entry point (those in ``only``, if given).

        Raises :class:`KpiforgeError` naming the entry point and its distribution when one
        fails to import.
        """
        for entry_point in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP):
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


def get_plugin_manager(load_entry_points: bool = True) -> PluginManager:
    """A manager with the hook specs, the built-in plugins and the installed plugins.

    ``KPIFORGE_PLUGINS`` restricts which entry points load (a comma-separated list).
    """
    manager = PluginManager()
    for module_name in DEFAULT_PLUGINS:
        manager.register_builtin(module_name)
    if load_entry_points:
        only = os.environ.get(ONLY_PLUGINS_ENV)
        manager.load_entry_points(
            None if only is None else {n.strip() for n in only.split(",") if n.strip()}
        )
    manager.check_pending()
    return manager


@functools.cache
def default_plugin_manager() -> PluginManager:
    """The process-wide manager of every installed plugin, built on first use."""
    return get_plugin_manager()
