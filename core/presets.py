"""Presets by name: the shipped ones and those plugins register, and turning what
``compute(mapping=...)`` and ``--map`` accept into a mapping."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

from kpiforge.errors import KpiforgeError, KpiforgeWarning, did_you_mean
from kpiforge.io.mapping import ExportMapping, load_mapping
from kpiforge.io.presets import Preset, shipped_presets
from kpiforge.plugin_manager import PluginManager, default_plugin_manager


def presets(manager: PluginManager | None = None) -> dict[str, Preset]:
    """Every preset by name: the shipped ones, then the plugins'. A plugin's preset named
    like one already known is left out with a warning."""
    found = {preset.name: preset for preset in shipped_presets()}
    manager = manager or default_plugin_manager()
    for registration in manager.collect("kpiforge_register_presets", Preset):
        for preset in registration.items:
            if preset.name in found:
                warnings.warn(f"plugin {registration.plugin!r} registers a preset "
                              f"{preset.name!r}, which is already a preset; the plugin's is "
                              "left out: rename it", KpiforgeWarning, stacklevel=2)
                continue
            found[preset.name] = preset
    return found


def resolve_mapping(mapping: Any, manager: PluginManager | None = None) -> ExportMapping:
    """A mapping from a mapping file's path, a preset's name, a dict or an
    :class:`ExportMapping`."""
    if isinstance(mapping, str) and not mapping.endswith(".toml") and \
            not Path(mapping).exists():
        known = presets(manager)
        if mapping not in known:
            raise KpiforgeError(
                f"no mapping file or preset {mapping!r}{did_you_mean(mapping, known)}; "
                f"presets: {', '.join(sorted(known))} (`kpiforge import --list`)")
        return load_mapping(known[mapping].path)
    return load_mapping(mapping)
