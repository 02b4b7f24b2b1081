"""Column mappings: an export's columns turned into the schema's, without code.

A mapping (a TOML file, or the same as a dict) has one section per table; each key of a
section is a column of the mapped table and says where it comes from::

    [contacts]
    contact_id = "Call Id"                                  # rename
    channel = { value = "call" }                            # constant
    arrived_s = { date = "Date", time = "Time" }            # date + time, ISO or `format`
    answered_s = { start = "arrived_s", plus = "Speed of answer in seconds", unit = "s",
                   when = "Answered (Y/N)" }                # arrival + a duration, if Y
    resolved_s = { flag = "Resolved (Y/N)" }                # an event without a time
    handle_s = { column = "AvgTalkDuration", unit = "hh:mm:ss" }
    queue = { column = "Topic", values = { "Chatbot" = "chat" } }   # "" maps to missing

Every export column is read as text and parsed here, so a mapping gives the same values
however the rows are read (whole, in chunks, in worker processes). A flag on an event
column (``answered_s``, ``abandoned_s``, ``resolved_s``) says the event happened but not
when: the column holds the start time and is listed in :attr:`TableMapping.untimed`, so
that KPIs needing its time are left out with the reason. The module knows nothing of KPIs.
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import attrs
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from kpiforge.errors import KpiforgeError
from kpiforge.io.badrows import BadRowLog
from kpiforge.io.schemas import SCHEMAS
from kpiforge.io.tables import describe_row
from kpiforge.io.timestamps import DEFAULT_EPOCH, instant_seconds

#: Contacts columns that hold when an event happened: a flag gives them an untimed event.
EVENT_COLUMNS = ("answered_s", "abandoned_s", "resolved_s")
#: Text a yes/no column means yes by, unless a mapping key says ``yes = [...]``.
YES = ("y", "yes", "true", "1", "t")
#: The key of ``values`` that every value not listed maps to.
OTHERS = "*"
#: Seconds per unit of a duration column.
UNITS = {"ms": 0.001, "s": 1.0, "min": 60.0, "h": 3600.0}
CLOCK = "hh:mm:ss"
#: Arrow/Parquet schema metadata key listing a mapped table's untimed event columns
#: (comma-separated); its presence marks the table as mapped.
UNTIMED_METADATA = b"kpiforge.untimed"
_CLOCK_PATTERN = r"^\s*(?P<h>\d+):(?P<m>\d{1,2})(?::(?P<s>\d{1,2}(?:\.\d*)?))?\s*$"
#: The keys a column's table may hold, by what they do.
_SOURCES = ("column", "date", "value", "start", "flag")
_KEYS = {*_SOURCES, "time", "format", "unit", "values", "plus", "when", "yes"}


@attrs.frozen
class ColumnRule:
    """Where one mapped column comes from (``key``: ``table.column`` for messages)."""

    key: str
    target: str
    column: str | None = None
    date: str | None = None
    time: str | None = None
    value: Any = None
    start: str | None = None
    plus: str | None = None
    flag: str | None = None
    format: str | None = None
    unit: str | None = None
    values: tuple[tuple[str, Any], ...] = ()
    when: str | None = None
    yes: tuple[str, ...] = YES

    @property
    def reads(self) -> tuple[str, ...]:
        """The export's columns this rule reads."""
        names = (self.column, self.date, self.time, self.plus, self.flag, self.when)
        return tuple(n for n in names if n is not None)

    @property
    def untimed(self) -> bool:
        """Whether this is an event known only by a yes/no flag."""
        return self.flag is not None and self.target in EVENT_COLUMNS

    @property
    def after(self) -> str | None:
        """The mapped column this one is computed from (its start time), if any."""
        return SCHEMAS["contacts"].time_column if self.untimed else self.start


@attrs.frozen
class TableMapping:
    """One table's mapped columns, in the order they are computed."""

    table: str
    rules: tuple[ColumnRule, ...]

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(rule.target for rule in self.rules)

    @property
    def untimed(self) -> frozenset[str]:
        """Event columns known only by a flag: they hold their start time."""
        return frozenset(rule.target for rule in self.rules if rule.untimed)

    def needs(self, targets: Iterable[str] | None) -> set[str]:
        """The mapped columns computed for ``targets`` (all when None): they and the
        columns they are computed from."""
        rules = {rule.target: rule for rule in self.rules}
        needed: set[str] = set()
        pending = [t for t in (self.column_names if targets is None else targets)
                   if t in rules]
        while pending:
            target = pending.pop()
            if target not in needed:
                needed.add(target)
                after = rules[target].after
                pending.extend([after] if after is not None else [])
        return needed

    def reads(self, targets: Iterable[str] | None = None) -> list[str]:
        """The export's columns needed for ``targets`` (all mapped columns when None)."""
        needed = self.needs(targets)
        return list(dict.fromkeys(c for rule in self.rules if rule.target in needed
                                  for c in rule.reads))

    def for_export(self, found: Iterable[str], label: str
                   ) -> tuple[TableMapping, dict[str, str]]:
        """The rules an export with columns ``found`` can serve, and why each other mapped
        column is absent (naming the mapping key and the export column it lacks): exports
        of one tool differ by account, so a missing column leaves out only what needs it."""
        present = set(found)
        kept: list[ColumnRule] = []
        absent: dict[str, str] = {}
        for rule in self.rules:
            lacking = [c for c in rule.reads if c not in present]
            if lacking:
                absent[rule.target] = (
                    f"{label}: mapping key {rule.key} reads column {lacking[0]!r}, which the "
                    f"export does not have (found: {', '.join(sorted(present))})")
            elif rule.after in absent:
                absent[rule.target] = absent[rule.after]
            else:
                kept.append(rule)
        return TableMapping(self.table, tuple(kept)), absent

    def apply(self, data: pa.Table, targets: Iterable[str] | None, label: str,
              first_row: int = 0, header_lines: int | None = None,
              log: BadRowLog | None = None, tz: str | None = None) -> pa.Table:
        """The mapped columns ``targets`` (all when None) of ``data``, rows of the export
        from ``first_row``. A value that does not parse is an error, or with ``log`` a bad
        row (recorded, then cleaned as its policy says with the schema's checks). Naive
        timestamps are wall-clock times in ``tz`` (UTC when None), as in a schema file."""
        wanted = set(self.column_names if targets is None else targets)
        needed = self.needs(wanted)
        text = {name: _as_text(data.column(name)) for name in data.column_names}
        done: dict[str, pa.Array] = {}
        at = _Where(label, first_row, header_lines, self.table, log,
                    np.zeros(data.num_rows, dtype=bool), tz)
        for rule in self.rules:
            if rule.target in needed:
                done[rule.target] = _column(rule, text, done, data.num_rows, at)
        mapped = pa.table({t: done[t] for t in self.column_names if t in wanted})
        if log is None:
            return mapped
        return log.clean(self.table, mapped, first_row, header_lines, at.bad)


@attrs.frozen
class ExportMapping:
    """A whole mapping: a description and a :class:`TableMapping` per table it maps."""

    tables: dict[str, TableMapping]
    description: str = ""
    origin: str = "<mapping>"


@attrs.frozen
class _Where:
    """Names rows of the export in messages; with a bad-row ``log``, records values that
    do not parse instead (``bad``: the rows that had one)."""

    label: str
    first_row: int
    header_lines: int | None
    table: str
    log: BadRowLog | None
    bad: np.ndarray
    #: The zone naive timestamps are wall-clock times in (UTC when None).
    tz: str | None = None

    def row(self, index: int) -> str:
        return describe_row(self.label, self.first_row + index, self.header_lines)

    def fail(self, failed: pa.Array, column: str, text: pa.Array, message: str,
             problem: str) -> None:
        """Raise ``message`` about the first failed row (``{row}`` and ``{value}`` filled
        in), or record every failed row as ``problem``."""
        mask = failed.to_numpy(zero_copy_only=False)
        if self.log is None:
            row = int(np.flatnonzero(mask)[0])
            raise KpiforgeError(message.format(row=self.row(row), value=text[row].as_py()))
        self.log.record(self.table, mask, self.first_row, self.header_lines, column,
                        text, problem)
        np.logical_or(self.bad, mask, out=self.bad)


def untimed_from_metadata(metadata: Mapping[bytes, bytes] | None) -> frozenset[str] | None:
    """The untimed event columns recorded in schema metadata by ``kpiforge import``; None
    for a table that was not mapped."""
    if not metadata or UNTIMED_METADATA not in metadata:
        return None
    return frozenset(filter(None, metadata[UNTIMED_METADATA].decode().split(",")))


def load_mapping(mapping: str | Path | Mapping[str, Any] | ExportMapping) -> ExportMapping:
    """A mapping from a TOML file, a dict of the same shape, or an :class:`ExportMapping`."""
    if isinstance(mapping, ExportMapping):
        return mapping
    if isinstance(mapping, Mapping):
        return parse_mapping(mapping, "<mapping>")
    path = Path(mapping)
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise KpiforgeError(f"{path}: cannot read the mapping file ({exc.strerror or exc})") \
            from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise KpiforgeError(f"{path}: not a valid TOML mapping file ({exc})") from None
    return parse_mapping(raw, str(path))


def parse_mapping(raw: Mapping[str, Any], origin: str) -> ExportMapping:
    """Check a mapping's tables and keys, naming the key at fault."""
    description = raw.get("description", "")
    if not isinstance(description, str):
        raise KpiforgeError(f"{origin}: 'description' must be text")
    tables = {}
    for table, section in raw.items():
        if table == "description":
            continue
        if table not in SCHEMAS:
            raise KpiforgeError(f"{origin}: unknown table {table!r}; a mapping has sections "
                                f"{', '.join(f'[{t}]' for t in SCHEMAS)}")
        if not isinstance(section, Mapping) or not section:
            raise KpiforgeError(f"{origin}: [{table}] must map column names to their "
                                "sources")
        rules = tuple(_rule(f"{table}.{target}", target, spec, origin)
                      for target, spec in section.items())
        _check_starts(rules, origin)
        tables[table] = TableMapping(table, rules)
    if not tables:
        raise KpiforgeError(f"{origin}: the mapping maps no table; add a [contacts], "
                            "[agent_intervals] or [customers] section")
    return ExportMapping(tables=tables, description=description, origin=origin)


def _rule(key: str, target: str, spec: Any, origin: str) -> ColumnRule:
    """One column's rule from its TOML value."""
    if isinstance(spec, str):
        return ColumnRule(key, target, column=spec)
    if not isinstance(spec, Mapping):
        raise KpiforgeError(f"{origin}: mapping key {key} must be an export column's name or "
                            f"a table such as {{ column = \"...\" }}, got {spec!r}")
    unknown = sorted(set(spec) - _KEYS)
    if unknown:
        raise KpiforgeError(f"{origin}: mapping key {key} has unknown key {unknown[0]!r}; "
                            f"known: {', '.join(sorted(_KEYS))}")
    given = [k for k in _SOURCES if k in spec]
    if len(given) != 1:
        raise KpiforgeError(f"{origin}: mapping key {key} needs exactly one of "
                            f"{', '.join(_SOURCES)}; got {', '.join(given) or 'none'}")
    for name in ("column", "date", "time", "start", "plus", "flag", "when", "format"):
        if name in spec and not isinstance(spec[name], str):
            raise KpiforgeError(f"{origin}: mapping key {key}: {name} must be text, got "
                                f"{spec[name]!r}")
    _check_pairs(key, spec, origin)
    unit = spec.get("unit")
    if unit is not None and unit not in (*UNITS, CLOCK):
        raise KpiforgeError(f"{origin}: mapping key {key}: unit {unit!r} is not one of "
                            f"{', '.join((*UNITS, CLOCK))}")
    values = spec.get("values", {})
    if not isinstance(values, Mapping):
        raise KpiforgeError(f"{origin}: mapping key {key}: values must be a table such as "
                            "{ \"Chatbot\" = \"chat\" }")
    yes = spec.get("yes", YES)
    yes = (yes,) if isinstance(yes, str) else yes
    if not isinstance(yes, list | tuple) or not all(isinstance(y, str) for y in yes):
        raise KpiforgeError(f"{origin}: mapping key {key}: yes must be text or a list of text")
    return ColumnRule(key, target, column=spec.get("column"), date=spec.get("date"),
                      time=spec.get("time"), value=spec.get("value"), start=spec.get("start"),
                      plus=spec.get("plus"), flag=spec.get("flag"), format=spec.get("format"),
                      unit=unit, values=tuple(values.items()), when=spec.get("when"),
                      yes=tuple(y.strip().lower() for y in yes))


def _check_pairs(key: str, spec: Mapping[str, Any], origin: str) -> None:
    """Keys that go together: date with time, start with plus."""
    if ("time" in spec) != ("date" in spec):
        raise KpiforgeError(f"{origin}: mapping key {key}: date and time go together "
                            "(the two export columns to combine)")
    if ("plus" in spec) != ("start" in spec):
        raise KpiforgeError(f"{origin}: mapping key {key}: start and plus go together "
                            "(an event time is a start column plus a duration column)")
    if "value" in spec and not isinstance(spec["value"], str | int | float | bool):
        raise KpiforgeError(f"{origin}: mapping key {key}: value must be text or a number")


def _check_starts(rules: tuple[ColumnRule, ...], origin: str) -> None:
    """A ``start`` (or the arrival time of an event known by a flag) is a column mapped
    before it."""
    seen: set[str] = set()
    for rule in rules:
        if rule.after is not None and rule.after not in seen:
            what = "start" if rule.start is not None else "an event known by a flag needs"
            raise KpiforgeError(f"{origin}: mapping key {rule.key}: {what} {rule.after!r}, "
                                "mapped above it in the same table")
        seen.add(rule.target)


#: Units per second of Arrow durations.
_PER_SECOND = {"s": 1, "ms": 1_000, "us": 1_000_000, "ns": 1_000_000_000}


def _as_text(column: pa.ChunkedArray) -> pa.Array:
    """An export column as trimmed text, empty cells missing; durations in seconds."""
    values = column.combine_chunks()
    if pa.types.is_duration(values.type):
        values = pc.divide(pc.cast(values, pa.int64()).cast(pa.float64()),
                           float(_PER_SECOND[values.type.unit]))
    text = pc.utf8_trim_whitespace(pc.cast(values, pa.string()))
    return pc.if_else(pc.equal(text, ""), None, text)


def _column(rule: ColumnRule, text: Mapping[str, pa.Array], done: Mapping[str, pa.Array],
            rows: int, at: _Where) -> pa.Array:
    """Compute one mapped column."""
    if rule.value is not None:
        return pa.array([rule.value] * rows)
    if rule.flag is not None:
        yes = _is_yes(rule, text[rule.flag])
        if rule.untimed:
            assert rule.after is not None
            return pc.if_else(yes, done[rule.after], pa.scalar(None, pa.float64()))
        return pc.cast(yes, pa.float64())
    if rule.date is not None:
        assert rule.time is not None
        joined = pc.binary_join_element_wise(text[rule.date], text[rule.time], " ")
        values = _timestamps(rule, joined, rule.date, at)
    elif rule.start is not None:
        assert rule.plus is not None
        values = pc.add(done[rule.start], _numbers(rule, text[rule.plus], rule.plus, at))
    else:
        assert rule.column is not None
        values = _values(rule, text[rule.column], at)
    if rule.when is not None:
        values = pc.if_else(_is_yes(rule, text[rule.when]), values, pa.nulls(rows, values.type))
    return values


def _values(rule: ColumnRule, text: pa.Array, at: _Where) -> pa.Array:
    """A renamed column: mapped values, timestamps, durations or numbers as the schema
    and the rule ask; other columns as numbers when every value is one, else text."""
    assert rule.column is not None
    if rule.values:
        return _map_values(rule, text, at)
    if rule.format is not None or (rule.unit is None and _is_time_column(rule.target)):
        return _timestamps(rule, text, rule.column, at)
    if rule.unit is not None or _is_numeric(rule.target):
        return _numbers(rule, text, rule.column, at)
    if _is_text(rule.target):
        return text
    try:
        return pc.cast(text, pa.float64())
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return text


def _is_time_column(target: str) -> bool:
    """Schema columns holding points in time in seconds (their values may be timestamps)."""
    return target in (*EVENT_COLUMNS, "arrived_s", "interval_start_s")


def _is_numeric(target: str) -> bool:
    return any(target in s.numeric for s in SCHEMAS.values())


def _is_text(target: str) -> bool:
    return any(target in s.text for s in SCHEMAS.values())


def _map_values(rule: ColumnRule, text: pa.Array, at: _Where) -> pa.Array:
    """Values looked up in the rule's ``values``; a value not listed is an error."""
    keys = [k for k, _ in rule.values]
    index = pc.index_in(text, pa.array(keys))
    if OTHERS in keys:
        index = pc.if_else(pc.is_valid(text), pc.fill_null(index, keys.index(OTHERS)), index)
    unlisted = pc.and_(pc.is_null(index), pc.is_valid(text))
    if pc.any(unlisted).as_py():
        at.fail(unlisted, str(rule.column), text,
                f"{{row}}, column {rule.column!r}: {{value!r}} is not among the values of "
                f"mapping key {rule.key} ({', '.join(map(repr, keys))}); add it there",
                f"is not among the values of mapping key {rule.key}")
    mapped = [None if v == "" else v for _, v in rule.values]
    if all(isinstance(v, int | float) or v is None for v in mapped):
        return pa.array(mapped, pa.float64()).take(index)
    return pa.array([None if v is None else str(v) for v in mapped], pa.string()).take(index)


def _is_yes(rule: ColumnRule, text: pa.Array) -> pa.Array:
    return pc.fill_null(pc.is_in(pc.utf8_lower(text), pa.array(rule.yes)), False)


def _timestamps(rule: ColumnRule, text: pa.Array, column: str, at: _Where) -> pa.Array:
    """Seconds since 1970-01-01 UTC from text in ``rule.format`` (strptime codes) or ISO
    8601: a time with an offset is that instant, a naive one a wall-clock time in
    ``at.tz``, read as :func:`~kpiforge.io.timestamps.instant_seconds` reads every time."""
    if rule.format is not None:
        parsed = pc.strptime(text, format=rule.format, unit="us", error_is_null=True)
        wanted = f"a timestamp in the format {rule.format!r}"
    else:
        parsed = _iso(text, at.tz)
        wanted = "an ISO 8601 timestamp (2024-05-01 09:30:00), or give a format"
    _fail_on_nulls(rule, text, parsed, column, wanted, at)
    return pa.array(instant_seconds(parsed, DEFAULT_EPOCH, at.tz), from_pandas=True)


def _iso(text: pa.Array, tz: str | None) -> pa.Array:
    """ISO 8601 timestamps, dates alone and with an offset; what does not parse is null.
    A column mixing naive times and times with an offset is parsed value by value, into
    instants (the naive ones in ``tz``)."""
    for kind in (pa.timestamp("us"), pa.timestamp("us", tz="UTC")):
        try:
            return pc.cast(text, kind)
        except pa.ArrowInvalid:
            continue
    return pa.array([_one_iso(value, tz) for value in text.to_pylist()],
                    pa.timestamp("us", tz="UTC"))


def _one_iso(value: str | None, tz: str | None) -> Any:
    for kind in (pa.timestamp("us"), pa.timestamp("us", tz="UTC")):
        try:
            stamp = pc.cast(pa.array([value]), kind)
        except (pa.ArrowInvalid, TypeError):
            continue
        if kind.tz is None and tz is not None:
            stamp = pc.assume_timezone(stamp, tz, ambiguous="earliest", nonexistent="latest")
        return stamp[0].as_py()
    return None


def _numbers(rule: ColumnRule, text: pa.Array, column: str, at: _Where) -> pa.Array:
    """Numbers, scaled to seconds when the rule gives a unit; ``hh:mm:ss`` clock text."""
    if rule.unit == CLOCK:
        parts = pc.extract_regex(text, _CLOCK_PATTERN)
        _fail_on_nulls(rule, text, parts, column, "a duration as hh:mm:ss (00:02:23)", at)
        fields = {name: pc.cast(pc.struct_field(parts, name), pa.float64())
                  for name in ("h", "m")}
        seconds = pc.cast(pc.if_else(pc.equal(pc.struct_field(parts, "s"), ""), "0",
                                     pc.struct_field(parts, "s")), pa.float64())
        return pc.add(pc.add(pc.multiply(fields["h"], 3600.0),
                             pc.multiply(fields["m"], 60.0)), seconds)
    try:
        numbers = pc.cast(text, pa.float64())
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        numbers = pa.array([_number(v) for v in text.to_pylist()], pa.float64())
        unit = f" in {rule.unit}" if rule.unit else ""
        _fail_on_nulls(rule, text, numbers, column, f"a number{unit}", at)
    return pc.multiply(numbers, UNITS[rule.unit]) if rule.unit else numbers


def _number(value: str | None) -> float | None:
    try:
        return None if value is None else float(value)
    except ValueError:
        return None


def _fail_on_nulls(rule: ColumnRule, text: pa.Array, parsed: pa.Array, column: str,
                   wanted: str, at: _Where) -> None:
    """Raise naming the first row whose text did not parse (or record them)."""
    failed = pc.and_(pc.is_valid(text), pc.is_null(parsed))
    if pc.any(failed).as_py():
        at.fail(failed, column, text,
                f"{{row}}, column {column!r} (mapping key {rule.key}): {{value!r}} is not "
                f"{wanted}", f"is not {wanted} (mapping key {rule.key})")
