"""The three tables the engine reads, as equal-length numpy columns.

A :class:`Table` is a named dict of columns: numeric columns are numpy arrays (NaN where a
value is missing), text columns are :class:`Categorical` (integer codes plus labels). pandas,
polars and pyarrow inputs are converted here, at the edge, and checked against
:data:`SCHEMAS` so the engine never sees a malformed row.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeAlias

import attrs
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from kpiforge.errors import KpiforgeError
from kpiforge.io.categorical import Categorical
from kpiforge.io.schemas import MAPPING_ADVICE, RULES, SCHEMAS, TableSchema, meaning
from kpiforge.io.timestamps import (
    ACCEPTED_NUMBERS,
    DEFAULT_EPOCH,
    MISSING_NUMBERS,
    first_unparsed,
    time_seconds,
)

Column: TypeAlias = np.ndarray | Categorical


@attrs.frozen(eq=False)
class Table:
    """One table's columns, where they came from, and the instant its times count from."""

    name: str
    columns: Mapping[str, Column]
    source: str
    epoch: dt.datetime = DEFAULT_EPOCH
    #: Number of lines before the first data row in ``source`` (1 for a CSV header), or None.
    header_lines: int | None = None
    #: Row of ``source`` this table starts at (a chunk of a larger file starts past 0).
    first_row: int = 0
    #: The time zone grains are computed in (None: UTC, aligned to the epoch's midnight).
    tz: str | None = None

    def __len__(self) -> int:
        return len(next(iter(self.columns.values()))) if self.columns else 0

    @property
    def schema(self) -> TableSchema:
        return SCHEMAS[self.name]

    def numbers(self, name: str) -> np.ndarray:
        """Column ``name``, which must hold numbers."""
        column = self.columns[name]
        if isinstance(column, Categorical):
            raise KpiforgeError(f"{self.source}: column {name!r} holds text; expected numbers")
        return column

    @property
    def time(self) -> np.ndarray:
        """The time column: when each row happened, in seconds from :attr:`epoch`."""
        return self.numbers(self.schema.time_column)

    def where(self, row: int) -> str:
        """Name a row for an error message: file, 1-based row and, for text files, the line."""
        return describe_row(self.source, self.first_row + row, self.header_lines)


def describe_row(source: str, row: int, header_lines: int | None) -> str:
    """``file: row N (line M)`` for a 0-based ``row`` of ``source``."""
    line = f" (line {row + 1 + header_lines})" if header_lines is not None else ""
    return f"{source}: row {row + 1}{line}"


def table_from_arrow(name: str, data: pa.Table, source: str,
                     epoch: dt.datetime = DEFAULT_EPOCH, header_lines: int | None = None,
                     first_row: int = 0, tz: str | None = None) -> Table:
    """Convert an Arrow table (``source``'s rows from ``first_row``) to a checked
    :class:`Table`, text dictionary-encoded in C++. Time columns are read by
    :func:`~kpiforge.io.timestamps.time_seconds` (naive ISO text in ``tz``), the other
    standard numeric columns as float64 (the same type whatever the reader gave)."""
    schema = SCHEMAS[name]
    def where(row: int) -> str:
        return describe_row(source, first_row + row, header_lines)

    columns = {column_name: _read_column(schema, column_name, column, epoch, tz, source,
                                         where)
               for column_name, column in zip(data.column_names, data.columns, strict=True)}
    table = Table(name=name, columns=columns, source=source, epoch=epoch,
                  header_lines=header_lines, first_row=first_row, tz=tz)
    time = table.time if schema.time_column in columns else None
    if time is not None and np.isnan(time).any():
        row = int(np.flatnonzero(np.isnan(time))[0])
        raise KpiforgeError(f"{table.where(row)}, column {schema.time_column!r}: the value is "
                            "missing; every row needs it")
    check_rules(table)
    return table


def _read_column(schema: TableSchema, name: str, column: pa.ChunkedArray,
                 epoch: dt.datetime, tz: str | None, source: str,
                 where: Callable[[int], str]) -> Column:
    """One column as the engine reads it: times, numbers (float64, finite) or text."""
    if name in schema.times:
        return time_seconds(column, name, epoch, tz, source, where)
    if name in schema.numeric:
        _check_number_type(column, name, name in schema.flags, source)
        return _finite_numbers(_convert_column(column, name, True, source, where), name,
                               where)
    if name in schema.text and pa.types.is_null(column.type):  # every label missing
        column = column.cast(pa.string())
    if name in schema.text and _is_number(column.type):
        # Numbers as IDs are text: encode the numbers, then format only distinct ones.
        ids = _small_integer_ids(column)
        if ids is not None:
            return ids
        if pa.types.is_floating(column.type):  # NaN is a missing key, not a 'nan' label
            column = pc.if_else(pc.is_nan(column), None, column)
        column = pc.dictionary_encode(column).cast(pa.dictionary(pa.int32(), pa.string()))
    return _convert_column(column, name, False, source, where)


def check_required(name: str, column_names: Sequence[str], source: str) -> None:
    """Raise :class:`KpiforgeError` when a column every row of ``name`` needs is absent."""
    missing = [c for c in SCHEMAS[name].required if c not in column_names]
    if missing:
        raise KpiforgeError(
            f"{source}: required column {missing[0]!r} of table {name} is missing "
            f"(found: {', '.join(column_names) or 'no columns'}); {meaning(missing[0])} is "
            f"needed in every row; {MAPPING_ADVICE}"
        )


def to_arrow(data: Any, source: str) -> pa.Table:
    """An Arrow table from the column containers users hold."""
    if isinstance(data, pa.Table):
        return data
    if isinstance(data, pa.RecordBatch):
        return pa.Table.from_batches([data])
    if isinstance(data, Mapping):
        lengths = {k: len(v) for k, v in data.items()}
        if len(set(lengths.values())) > 1:
            raise KpiforgeError(f"{source}: columns differ in length: {lengths}")
        try:
            return pa.table({k: _to_arrow_array(v) for k, v in data.items()})
        except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:
            raise KpiforgeError(f"{source}: cannot read the columns: {exc}") from None
    module = type(data).__module__.split(".")[0]
    if module == "pandas":
        return pa.Table.from_pandas(data, preserve_index=False)
    if module == "polars":
        return data.to_arrow()
    raise KpiforgeError(
        f"{source}: expected a dict of arrays, a pandas or polars DataFrame or a pyarrow "
        f"Table, got {type(data).__name__}"
    )


def _to_arrow_array(values: Any) -> pa.Array | pa.ChunkedArray:
    if isinstance(values, pa.Array | pa.ChunkedArray):
        return values
    if isinstance(values, Categorical):
        return pa.DictionaryArray.from_arrays(
            pa.array(values.codes, mask=values.codes < 0), pa.array(values.labels)
        )
    array = np.asarray(values)
    if array.dtype.kind in "fiub":
        return pa.array(array)
    return pa.array(array.tolist() if array.dtype.kind == "O" else array)


def _convert_column(column: pa.ChunkedArray, name: str, numeric: bool, source: str,
                    where: Callable[[int], str]) -> Column:
    kind = column.type
    if pa.types.is_dictionary(kind):
        combined = column.unify_dictionaries().combine_chunks() if column.num_chunks else column
        if numeric or not pa.types.is_string(kind.value_type):
            return _convert_column(pa.chunked_array([combined.cast(kind.value_type)]), name,
                                   numeric, source, where)
        return _categorical(combined.indices, combined.dictionary)
    if pa.types.is_string(kind) or pa.types.is_large_string(kind):
        if numeric:
            return _parse_numbers(column, name, where)
        text = column.combine_chunks()
        text = pc.if_else(pc.equal(text, ""), None, text)  # only an empty cell is missing
        encoded = pc.dictionary_encode(text)
        return _categorical(encoded.indices, encoded.dictionary)
    if pa.types.is_null(kind):
        return np.full(len(column), np.nan)
    if pa.types.is_boolean(kind):
        return column.to_numpy().astype(np.float64) if column.null_count else \
            column.to_numpy().astype(np.int8)
    if pa.types.is_timestamp(kind) or pa.types.is_date(kind):
        seconds = pc.cast(column.cast(pa.timestamp("us")), pa.int64()).to_numpy(
            zero_copy_only=False)
        return seconds / 1e6
    if _is_number(kind):
        return column.to_numpy()
    expected = f" (expected {ACCEPTED_NUMBERS})" if numeric else ""
    raise KpiforgeError(
        f"{source}: column {name!r} has unsupported type {kind}{expected}; columns hold "
        "numbers, text, booleans, timestamps or dates; a duration or time of day maps to "
        f"seconds with a mapping ({name} = {{ column = \"{name}\", unit = \"s\" }}, or unit = "
        "\"hh:mm:ss\" for a time of day); "
        f"{MAPPING_ADVICE}")


def _check_number_type(column: pa.ChunkedArray, name: str, flag: bool, source: str) -> None:
    """Booleans only where a column is a flag (``escalated``...): as seconds or money they
    are a type error, not 0 and 1."""
    kind = column.type.value_type if pa.types.is_dictionary(column.type) else column.type
    if pa.types.is_boolean(kind) and not flag:
        raise KpiforgeError(f"{source}: column {name!r} holds booleans (true/false); expected "
                            "numbers")


def _finite_numbers(values: Column, name: str, where: Callable[[int], str]) -> np.ndarray:
    """A standard numeric column as float64; an infinite value is an error naming its row
    (a missing value is NaN, an infinite one is broken data)."""
    numbers = np.asarray(values, dtype=np.float64)
    infinite = np.isinf(numbers)
    if infinite.any():
        row = int(np.flatnonzero(infinite)[0])
        raise KpiforgeError(f"{where(row)}, column {name!r}: {numbers[row]:g} is not a finite "
                            "number; fix the data or leave the cell empty")
    return numbers


def _is_number(kind: pa.DataType) -> bool:
    return pa.types.is_integer(kind) or pa.types.is_floating(kind)


#: Integer IDs spanning at most this many values per row (plus a fixed allowance) are
#: numbered through a table of their span instead of by hashing: a few passes of numpy.
_ID_SPAN_PER_ROW, _ID_SPAN_EXTRA = 4, 1024


def _small_integer_ids(column: pa.ChunkedArray) -> Categorical | None:
    """Integer IDs without missing values as text labels, numbered through a table of their
    span (the same labels and codes as hashing gives); None when they are not such IDs."""
    if not pa.types.is_integer(column.type) or column.null_count or not len(column):
        return None
    values = column.to_numpy()
    low, high = int(values.min()), int(values.max())
    if high - low > _ID_SPAN_PER_ROW * len(values) + _ID_SPAN_EXTRA or \
            high > np.iinfo(np.int64).max:
        return None
    offsets = np.subtract(values, low, dtype=np.intp)
    present = np.flatnonzero(np.bincount(offsets, minlength=high - low + 1))
    labels = pc.cast(pa.array(present + low), pa.string())
    order = pc.array_sort_indices(labels).to_numpy()
    code = np.empty(high - low + 1, dtype=np.int32)
    code[present[order]] = np.arange(len(order), dtype=np.int32)
    return Categorical(codes=code[offsets],
                       labels=np.array(labels.take(order).to_pylist(), dtype=object))


def _categorical(indices: pa.Array, dictionary: pa.Array) -> Categorical:
    """Codes and labels, the labels sorted (as results list groups, so that groups come out
    of a pass in order and need no sorting later)."""
    if indices.null_count:
        indices = pc.fill_null(indices, -1)
    codes = indices.to_numpy(zero_copy_only=False).astype(np.int32, copy=False)
    order = pc.array_sort_indices(dictionary).to_numpy()
    if (order[1:] < order[:-1]).any():
        rank = np.empty(len(order) + 1, dtype=np.int32)
        rank[order], rank[-1] = np.arange(len(order)), -1  # the last for missing (-1)
        codes, dictionary = rank[codes], dictionary.take(order)
    return Categorical(codes=codes, labels=np.array(dictionary.to_pylist(), dtype=object))


def _parse_numbers(column: pa.ChunkedArray, name: str, where: Callable[[int], str]
                   ) -> np.ndarray:
    """Numbers from a text column (the missing-value cells as NaN); the first value pyarrow
    does not read as a number is an error naming its row, column and value."""
    text = pc.utf8_trim_whitespace(column.combine_chunks())
    text = pc.if_else(pc.fill_null(pc.is_in(text, MISSING_NUMBERS), True), None, text)
    try:
        return pc.cast(text, pa.float64()).to_numpy(zero_copy_only=False)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        row = first_unparsed(text, pa.float64()) or 0
        raise KpiforgeError(
            f"{where(row)}, column {name!r}: {text[row].as_py()!r} is not a number (expected "
            f"{ACCEPTED_NUMBERS}); {meaning(name)} holds numbers; yes/no values, text labels "
            "and timestamp text map to numbers with flag, values or format in a mapping; "
            f"{MAPPING_ADVICE}") from None


def check_rules(table: Table, params: Mapping[str, float] | None = None) -> None:
    """Reject impossible values (answered before arrival, CSAT of 7 on a 1-5 scale...)
    naming row and column. Without ``params``, the rules that read none; with them, the
    rules that read parameters (those the run knows)."""
    for rule in RULES[table.name]:
        if not set(rule.reads) <= table.columns.keys():
            continue
        if (params is None) == bool(rule.params) or not set(rule.params) <= (params or {}).keys():
            continue
        known = dict(params or {})
        with np.errstate(invalid="ignore"):
            broken = rule.breaks({**known, **{name: table.numbers(name) for name in rule.reads}})
        if broken.any():
            rows = np.flatnonzero(broken)
            row = int(rows[0])
            value = table.numbers(rule.column)
            others = f" ({len(rows) - 1} more rows like it)" if len(rows) > 1 else ""
            raise KpiforgeError(
                f"{table.where(row)}, column {rule.column!r}: {float(value[row]):g} "
                f"{rule.meaning.format(**known)}{others}; fix the data or drop those rows"
            )
