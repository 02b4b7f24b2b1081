"""CSV files: the header, whole reads and streamed batches, and errors that name the line.

pyarrow parses; this module fixes the column types from the schema (so that every chunk of a
streamed file reads a column the same way) and, when pyarrow rejects a file, finds the first
ragged line or non-numeric cell to name it, which pyarrow's message does not.
"""

from __future__ import annotations

import csv
import gzip
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import IO

import pyarrow as pa
import pyarrow.csv as pacsv

from kpiforge.errors import KpiforgeError
from kpiforge.io.schemas import SCHEMAS

CSV_SUFFIXES = (".csv", ".csv.gz")
#: Bytes per CSV block read while streaming, per row wanted: a generous row width, so that a
#: block holds about the rows of one chunk without reading far ahead.
_CSV_BYTES_PER_ROW = 160
#: Bounds on the streaming block size: at least 1 MiB (few, large reads), at most 64 MiB.
_MIN_BLOCK_BYTES, _MAX_BLOCK_BYTES = 1 << 20, 1 << 26


def open_text(path: Path) -> IO[str]:
    """The file as text, decompressed when its name ends in ``.gz``."""
    if path.name.lower().endswith(".gz"):
        return gzip.open(path, "rt", newline="", encoding="utf-8")
    return path.open(newline="", encoding="utf-8")


def csv_header(path: Path, label: str) -> tuple[str, ...]:
    """The column names of a CSV file's first line."""
    try:
        with open_text(path) as handle:
            header = next(csv.reader(handle), None)
    except (UnicodeDecodeError, OSError) as exc:
        raise KpiforgeError(f"{label}: not a readable CSV text file ({exc})") from None
    if not header or not any(name.strip() for name in header):
        raise KpiforgeError(f"{label}: the file is empty; expected a header row and data")
    return tuple(name.strip() for name in header)


def _text_types(columns: Iterable[str]) -> dict[str, pa.DataType]:
    """Text columns, and time columns (numbers or ISO 8601 text, which
    :func:`~kpiforge.io.timestamps.time_seconds` reads the same way on every path), as
    strings."""
    return {c: pa.string() for c in columns
            if any(c in schema.text or c in schema.times for schema in SCHEMAS.values())}


def _numeric_types(columns: Iterable[str]) -> dict[str, pa.DataType]:
    return {c: pa.float64() for c in columns
            if any(c in schema.numeric and c not in schema.times
                   for schema in SCHEMAS.values())}


def read_csv(path: Path, label: str, columns: list[str]) -> pa.Table:
    """``columns`` of the whole file as one Arrow table."""
    try:
        return pacsv.read_csv(
            path,
            convert_options=pacsv.ConvertOptions(include_columns=columns,
                                                 column_types=_text_types(columns),
                                                 strings_can_be_null=True),
        )
    except pa.ArrowInvalid as exc:
        raise KpiforgeError(describe_csv_error(path, label, exc)) from None


def csv_batches(path: Path, label: str, columns: list[str], rows: int
                ) -> Iterator[pa.RecordBatch]:
    """Record batches streamed from a CSV file. Types are fixed up front (schema numbers as
    float64, text as strings) so that a late block cannot change a column's type."""
    numeric = _numeric_types(columns)
    block_size = min(max(_MIN_BLOCK_BYTES, rows * _CSV_BYTES_PER_ROW), _MAX_BLOCK_BYTES)
    try:
        reader = pacsv.open_csv(
            path,
            read_options=pacsv.ReadOptions(block_size=block_size),
            convert_options=pacsv.ConvertOptions(include_columns=columns,
                                                 column_types={**numeric,
                                                               **_text_types(columns)},
                                                 strings_can_be_null=True),
        )
        yield from reader
    except pa.ArrowInvalid as exc:
        raise KpiforgeError(describe_csv_error(path, label, exc, numeric)) from None


def describe_csv_error(path: Path, label: str, exc: Exception,
                       numeric: Iterable[str] = ()) -> str:
    """Name the first ragged line or non-numeric cell, which pyarrow's message does not."""
    with open_text(path) as handle:
        reader = csv.reader(handle)
        header = next(reader, [])
        checked = [(i, name) for i, name in enumerate(header) if name.strip() in set(numeric)]
        try:
            for row in reader:
                if row and len(row) != len(header):
                    return (f"{label}: line {reader.line_num} has {len(row)} fields but the "
                            f"header has {len(header)}; fix or remove that line")
                for i, name in checked:
                    try:
                        float(row[i] or "nan")
                    except ValueError:
                        return (f"{label}: row {reader.line_num - 1} (line {reader.line_num}),"
                                f" column {name.strip()!r}: {row[i]!r} is not a number")
        except (csv.Error, UnicodeDecodeError) as error:
            return f"{label}: line {reader.line_num}: not valid CSV ({error})"
    return f"{label}: cannot read the CSV file: {exc}"
