"""Bad rows: by default one stops the run (the tables' checks raise); with a policy the run
goes on, dropping the rows (``skip``) or emptying the bad cells (``null``), and every bad
row is recorded with its row, line, column and problem.

Rows are cleaned as Arrow pieces are read (:class:`BadRowLog.clean`), before the checks
that would raise, in the process that reads them, so the record is whole however the rows
are processed afterwards. A row read twice (the second pass of exact streamed quantiles)
is recorded once.
"""

from __future__ import annotations

import threading
from collections import Counter

import attrs
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from kpiforge.errors import KpiforgeError
from kpiforge.io.schemas import RULES, SCHEMAS
from kpiforge.io.timestamps import (
    ACCEPTED_TIMES,
    DEFAULT_EPOCH,
    EARLIEST,
    LATEST,
    time_cells,
)

POLICIES = ("skip", "null")


@attrs.frozen
class BadRow:
    """One problem of one row: 1-based ``row`` of the table, the file's ``line`` (None for
    data without lines), the ``column``, its ``value`` as text and the ``problem``."""

    row: int
    line: int | None
    column: str
    value: str
    problem: str

    @property
    def reason(self) -> str:
        """The problem without the row's value, to count rows by."""
        return f"{self.column} {self.problem}"


class BadRowLog:
    """What a policy did to one run's rows: the policy, and each bad row (thread-safe)."""

    def __init__(self, policy: str) -> None:
        if policy not in POLICIES:
            raise KpiforgeError(f"on_bad_rows must be one of {', '.join(POLICIES)}, got "
                                f"{policy!r}")
        self.policy = policy
        #: The run's parameter values, for the rules that read them (a CSAT scale): set by
        #: the engine once it has resolved them, before any row is read.
        self.params: dict[str, float] = {}
        self._rows: dict[tuple[str, int, str], BadRow] = {}
        self._lock = threading.Lock()

    @property
    def rows(self) -> list[BadRow]:
        """The bad rows, in row order."""
        return [self._rows[key] for key in sorted(self._rows)]

    def counts(self) -> dict[str, int]:
        """Rows per reason, most frequent first."""
        return dict(Counter(row.reason for row in self.rows).most_common())

    def describe(self) -> str:
        """One line: how many rows were dropped or nulled, per reason."""
        done = "dropped" if self.policy == "skip" else "set to missing"
        rows = len({(key[0], key[1]) for key in self._rows})
        reasons = ", ".join(f"{count} {reason}" for reason, count in self.counts().items())
        return f"{rows} bad rows {done}" + (f": {reasons}" if reasons else "")

    def to_csv(self) -> str:
        """The bad rows as CSV: table, row, line, column, value, problem."""
        lines = ["table,row,line,column,value,problem"]
        for (table, _, _), row in sorted(self._rows.items()):
            fields = [table, str(row.row), "" if row.line is None else str(row.line),
                      row.column, row.value, row.problem]
            lines.append(",".join(_quoted(field) for field in fields))
        return "\n".join(lines) + "\n"

    def clean(self, table: str, piece: pa.Table, first_row: int, header_lines: int | None,
              bad: np.ndarray | None = None) -> pa.Table:
        """``piece`` (rows of ``table`` from ``first_row``) with its bad rows dropped or
        their bad cells emptied, each recorded; ``bad`` rows were found bad (and recorded)
        already, their bad cells empty."""
        schema = SCHEMAS[table]
        columns = {name: piece.column(name) for name in piece.column_names}
        drop = np.zeros(piece.num_rows, dtype=bool)
        if bad is not None and self.policy == "skip":
            drop |= bad
        values = dict(columns)  # what the rules read: numbers, and times as seconds
        for name in [c for c in piece.column_names if c in schema.numeric]:
            text = _is_text(columns[name].type)
            if name in schema.times and text:
                values[name], bad = time_cells(columns[name].combine_chunks())
                problem = f"is not a time ({ACCEPTED_TIMES})"
            else:
                values[name], bad = _numbers(columns[name])
                problem = "is not a number"
            self.record(table, bad, first_row, header_lines, name, piece.column(name),
                         problem)
            if name in schema.times:
                with np.errstate(invalid="ignore"):
                    odd = ~bad & ~np.isnan(values[name]) & ~(
                        (values[name] >= _EARLIEST) & (values[name] < _LATEST))
                self.record(table, odd, first_row, header_lines, name, piece.column(name),
                            "is not a finite time within the years 1900-2200")
                bad |= odd
            values[name] = np.where(bad, np.nan, values[name]) if bad.any() else values[name]
            columns[name] = pc.if_else(pa.array(bad), None, columns[name]) if text \
                else values[name]
            if self.policy == "skip":
                drop |= bad
        time = schema.time_column
        if time in columns:
            missing = np.isnan(values[time])
            self.record(table, missing & ~drop, first_row, header_lines, time, values[time],
                         "is missing (every row needs it)")
            drop |= missing
        for rule in RULES[table]:
            if not set(rule.reads) <= columns.keys() or not set(rule.params) <= self.params.keys():
                continue
            known = {name: self.params[name] for name in rule.params}
            with np.errstate(invalid="ignore"):
                broken = rule.breaks({**known, **{name: values[name] for name in rule.reads}}) \
                    & ~drop
            self.record(table, broken, first_row, header_lines, rule.column,
                         piece.column(rule.column), rule.meaning.format(**known))
            if self.policy == "null":
                values[rule.column] = np.where(broken, np.nan, values[rule.column])
                column = columns[rule.column]
                columns[rule.column] = values[rule.column] if isinstance(column, np.ndarray) \
                    else pc.if_else(pa.array(broken), None, column)
            else:
                drop |= broken
        cleaned = pa.table({name: pa.array(value) if isinstance(value, np.ndarray) else value
                            for name, value in columns.items()})
        return cleaned.filter(pa.array(~drop)) if drop.any() else cleaned

    def record(self, table: str, bad: np.ndarray, first_row: int, header_lines: int | None,
               column: str, values: pa.Array | pa.ChunkedArray | np.ndarray, problem: str
               ) -> None:
        """Record the rows where ``bad`` is set: ``values`` (the column's) says what was
        there."""
        for index in np.flatnonzero(bad):
            row = first_row + int(index)
            value = values[index]
            text = value.as_py() if isinstance(value, pa.Scalar) else value
            line = None if header_lines is None else row + 1 + header_lines
            with self._lock:
                self._rows.setdefault((table, row, column), BadRow(
                    row + 1, line, column, "" if text is None else f"{text:g}"
                    if isinstance(text, float) else str(text), problem))


#: Times outside these (seconds from the Unix epoch) are bad rows, as the tables reject them.
_EARLIEST = (EARLIEST - DEFAULT_EPOCH).total_seconds()
_LATEST = (LATEST - DEFAULT_EPOCH).total_seconds()


def _is_text(kind: pa.DataType) -> bool:
    return pa.types.is_string(kind) or pa.types.is_large_string(kind)


def _numbers(column: pa.ChunkedArray) -> tuple[np.ndarray, np.ndarray]:
    """A numeric column as floats (NaN where missing), and where its text is no number."""
    kind = column.type
    if pa.types.is_string(kind) or pa.types.is_large_string(kind):
        text = pc.utf8_trim_whitespace(column.combine_chunks())
        blank = pc.fill_null(pc.equal(text, ""), True)
        try:
            parsed = pc.cast(pc.if_else(blank, None, text), pa.float64())
            return parsed.to_numpy(zero_copy_only=False), np.zeros(len(text), dtype=bool)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            pass
        values = [_number(v) for v in text.to_pylist()]
        bad = np.array([v is _NOT_A_NUMBER for v in values], dtype=bool)
        return np.array([np.nan if v is None or v is _NOT_A_NUMBER else v for v in values],
                        dtype=np.float64), bad
    if pa.types.is_timestamp(kind) or pa.types.is_date(kind):
        micros = pc.cast(column.cast(pa.timestamp("us")), pa.int64())
        seconds = pc.divide(pc.cast(micros, pa.float64()), 1e6)
    elif pa.types.is_boolean(kind) or pa.types.is_null(kind) or pa.types.is_integer(kind) \
            or pa.types.is_floating(kind):
        seconds = pc.cast(column, pa.float64())
    else:
        raise KpiforgeError(f"a column of type {kind} cannot be checked for bad rows; map it "
                            "to numbers first (--map)")
    values = seconds.to_numpy() if isinstance(seconds, pa.Array) else \
        seconds.combine_chunks().to_numpy(zero_copy_only=False)
    return np.asarray(values, dtype=np.float64), np.zeros(len(values), dtype=bool)


_NOT_A_NUMBER = object()


def _number(value: str | None) -> object:
    if value is None or value == "":
        return None
    try:
        return float(value)
    except ValueError:
        return _NOT_A_NUMBER


def _quoted(field: str) -> str:
    return '"' + field.replace('"', '""') + '"' if any(c in field for c in ',"\n') else field
