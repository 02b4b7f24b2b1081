"""Changing a scenario's keys from the command line (``--set``, ``--vs``, ``--grid``).

A key is a dotted path into the scenario's TOML: a table's key by name
(``staffing.shrinkage``), an item of an array of tables by position
(``staffing.shifts.0``) or by its ``name`` (``staffing.shifts.early``), and ``*`` for every
item of an array or every key of a table (``staffing.shifts.*.agents``,
``channels.*.volume_per_day``); a list's element by position (``channels.call.weekday.0``).

A value is a TOML value (a bare word is a string), or a change relative to the current
value: ``+5`` adds, ``*1.2`` multiplies (``+-2`` subtracts; ``-2`` is the number minus two,
as in TOML). A relative change applies to a number or to each number of a list (head counts
per weekday, where adding leaves a 0, a day off, as it is); a key the file leaves out
changes from its default. Head counts and the other
whole-number keys (:data:`WHOLE_NUMBER_KEYS`) round to the nearest whole number, as a
staffing override's ``scale`` does.

>>> raw = {"staffing": {"shifts": [{"name": "early", "agents": [10, 12, 12, 12, 10, 0, 0]},
...                                {"name": "late", "agents": 8}]}}
>>> change = Change.parse("staffing.shifts.*.agents", "*1.4")
>>> change.apply(raw, resolved=dict)
>>> raw["staffing"]["shifts"][0]["agents"], raw["staffing"]["shifts"][1]["agents"]
([14, 17, 17, 17, 14, 0, 0], 11)
"""

from __future__ import annotations

import functools
import re
import tomllib
from collections.abc import Callable, Mapping
from typing import Any

import attrs

from kpiforge.errors import did_you_mean

#: Keys whose values are whole numbers: relative changes to them are rounded.
WHOLE_NUMBER_KEYS = frozenset({"agents", "tier2_agents", "concurrency", "customers", "days",
                               "seed", "interval_min", "ramp", "tier", "count",
                               "new_per_month", "months", "lag_months"})
WILDCARD = "*"
_RELATIVE = re.compile(r"^([+*])\s*([+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)$")

#: A place a change lands: the table or list, and the key or position in it.
_Slot = tuple[Any, Any, tuple[Any, ...]]


class OverrideError(ValueError):
    """A change that cannot be made; the message says why (the caller names the key)."""


def value_of(text: str) -> Any:
    """``text`` as a TOML value, or the text itself where it is not one (a bare word)."""
    try:
        return tomllib.loads(f"value = {text}")["value"]
    except tomllib.TOMLDecodeError:
        return text


@attrs.frozen
class Change:
    """One ``key=value`` change: a new value, or ``operator`` (``+`` or ``*``) with
    ``operand`` applied to the current value."""

    key: str
    value: Any
    operator: str | None = None
    operand: float = 0.0

    @classmethod
    def parse(cls, key: str, text: str) -> Change:
        relative = _RELATIVE.match(text.strip())
        if relative:
            return cls(key, None, relative.group(1), float(relative.group(2)))
        return cls(key, value_of(text))

    @property
    def parts(self) -> list[str]:
        parts = self.key.split(".")
        if not all(parts):
            raise OverrideError("a key is names joined by dots, e.g. staffing.agents")
        return parts

    def apply(self, raw: dict[str, Any], resolved: Callable[[], Mapping[str, Any]]) -> None:
        """Make the change in ``raw`` (TOML data); ``resolved`` gives the scenario with
        its defaults filled in (:meth:`Scenario.to_dict`), for relative changes to keys
        the file leaves out. Raises :class:`OverrideError`."""
        resolved = functools.cache(resolved)  # resolved once, if at all, per change
        slots = _slots(raw, self.parts, (), create=True)
        if not slots:
            raise OverrideError(f"{WILDCARD} matches nothing here")
        changed = 0
        for container, position, path in slots:
            if self.operator is None:
                container[position] = self.value
                changed += 1
                continue
            current = _current(container, position, path, resolved)
            if current is None and WILDCARD in self.parts:
                continue  # e.g. channels.*.patience_s: emails have none
            if current is None:
                raise OverrideError(f"the scenario has no {position!r} here to change"
                                    f"{did_you_mean(str(position), container)}; a relative "
                                    "change needs a value or a default to start from")
            container[position] = self._relative(current, path)
            changed += 1
        if not changed:
            raise OverrideError(f"no {self.parts[-1]!r} to change under {WILDCARD}")

    def _relative(self, current: Any, path: tuple[Any, ...]) -> Any:
        whole = next(p for p in reversed(path) if isinstance(p, str)) in WHOLE_NUMBER_KEYS

        def one(number: Any) -> Any:
            if isinstance(number, bool) or not isinstance(number, int | float):
                raise OverrideError(f"{self.operator}{self.operand:g} changes a number or a "
                                    f"list of numbers; the value here is {current!r}")
            result = number + self.operand if self.operator == "+" else number * self.operand
            return round(result) if whole else result

        if isinstance(current, list):  # per weekday: a 0 is a day off and stays one
            return [v if v == 0 and self.operator == "+" else one(v) for v in current]
        return one(current)


def _current(container: Any, position: Any, path: tuple[Any, ...],
             resolved: Callable[[], Mapping[str, Any]]) -> Any:
    """The value at ``position``, or the default the scenario resolves it to."""
    if isinstance(container, list) or position in container:
        return container[position]
    node: Any = resolved()
    for part in path:
        try:
            node = node[part]
        except (KeyError, IndexError, TypeError):
            return None
    return node


def _slots(node: Any, parts: list[str], path: tuple[Any, ...], create: bool) -> list[_Slot]:
    """Where the key ``parts`` lands under ``node``: (container, key or index, full path).
    Tables on the way are created unless a wildcard came before (then only existing
    branches are followed)."""
    part, rest = parts[0], parts[1:]
    create = create and part != WILDCARD
    where = ".".join(str(p) for p in path) or "the top level"
    if isinstance(node, list):
        positions: list[Any] = _positions(node, part)
    elif isinstance(node, dict):
        positions = list(node) if part == WILDCARD else [part]
    else:
        raise OverrideError(f"{where} is {node!r}, not a table")
    if not rest:
        return [(node, p, (*path, p)) for p in positions]
    slots: list[_Slot] = []
    for position in positions:
        if isinstance(node, dict) and position not in node:
            if not create:
                continue
            if rest[0] == WILDCARD or rest[0].isdigit():
                raise OverrideError(f"the scenario has no list or table "
                                    f"{'.'.join(str(p) for p in (*path, position))}"
                                    f"{did_you_mean(position, node)}")
            node[position] = {}
        child = node[position]
        if not isinstance(child, dict | list):
            if not create:
                continue
            name = ".".join(str(p) for p in (*path, position))
            raise OverrideError(f"{name} is {child!r}, not a table")
        slots += _slots(child, rest, (*path, position), create)
    return slots


def _positions(items: list[Any], part: str) -> list[int]:
    """The positions ``part`` picks in a list: ``*``, a position, or items' ``name``."""
    if part == WILDCARD:
        return list(range(len(items)))
    if part.isdigit():
        if int(part) >= len(items):
            raise OverrideError(f"position {part} is past the end of a list of "
                                f"{len(items)}; positions count from 0")
        return [int(part)]
    named = [i for i, item in enumerate(items) if isinstance(item, dict)
             and item.get("name") == part]
    if not named:
        names = [str(item["name"]) for item in items if isinstance(item, dict) and "name"
                 in item]
        raise OverrideError(f"no item named {part!r}; give a position (from 0), *, or one "
                            f"of the names {', '.join(names) or '(none)'}")
    return named
