"""Presets: mapping files for common export shapes, shipped with kpiforge or registered by
plugins (``kpiforge_register_presets``). Light: listing presets reads no data."""

from __future__ import annotations

import tomllib
from pathlib import Path

import attrs

from kpiforge.errors import KpiforgeError

#: The shipped presets' mapping files, one per preset, named for it.
SHIPPED = Path(__file__).resolve().parent / "mappings"


@attrs.frozen
class Preset:
    """A named mapping file (``path``); its ``description`` line says what export it reads."""

    name: str
    path: Path = attrs.field(converter=Path)

    @property
    def description(self) -> str:
        """The mapping file's ``description``."""
        try:
            raw = tomllib.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise KpiforgeError(f"preset {self.name!r}: cannot read {self.path} ({exc})") \
                from None
        return str(raw.get("description", ""))


def shipped_presets() -> list[Preset]:
    """The presets kpiforge ships, in name order."""
    return [Preset(path.stem, path) for path in sorted(SHIPPED.glob("*.toml"))]
