"""CSV files: the header, whole reads and streamed batches, and errors that name the line.

pyarrow parses; this module fixes the column types from the schema (so that every chunk of a
streamed file reads a column the same way) and, when pyarrow rejects a file, finds the first
ragged line or non-numeric cell to name it, which pyarrow's message does not.
"""

from __future__ import annotations

import csv
import gzip
import io
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import IO

import pyarrow as pa
import pyarrow.csv as pacsv

from kpiforge.errors import KpiforgeError
from kpiforge.io.schemas import SCHEMAS
from kpiforge.io.timestamps import ACCEPTED_NUMBERS, first_unparsed

CSV_SUFFIXES = (".csv", ".csv.gz")
#: Bytes per CSV block read while streaming, per row wanted: a generous row width, so that a
#: block holds about the rows of one chunk without reading far ahead.
_CSV_BYTES_PER_ROW = 160
#: Bounds on the streaming block size: at least 1 MiB (few, large reads), at most 64 MiB.
_MIN_BLOCK_BYTES, _MAX_BLOCK_BYTES = 1 << 20, 1 << 26
#: Bytes of a file read before parsing it, to tell text from binary and find the header.
_SNIFF_BYTES = 1 << 16


def open_text(path: Path) -> IO[str]:
    """The file as text (UTF-8, a byte order mark skipped), decompressed when its name ends
    in ``.gz``."""
    if path.name.lower().endswith(".gz"):
        return gzip.open(path, "rt", newline="", encoding="utf-8-sig")
    return path.open(newline="", encoding="utf-8-sig")


def _first_block(path: Path) -> bytes:
    """The first bytes of the file (decompressed), read with bounded memory."""
    opener = gzip.open if path.name.lower().endswith(".gz") else open
    with opener(path, "rb") as handle:
        return handle.read(_SNIFF_BYTES)


#: Field delimiters told apart in a file's first lines: comma, semicolon (spreadsheets in
#: locales with a decimal comma), tab, pipe.
DELIMITERS = ",;\t|"


def csv_header(path: Path, label: str) -> tuple[str, ...]:
    """The column names of a CSV file's first line (see :func:`csv_dialect`)."""
    return csv_dialect(path, label)[0]


def csv_dialect(path: Path, label: str) -> tuple[tuple[str, ...], str]:
    """The column names of a CSV file's first line, stripped of spaces and a byte order
    mark, and its delimiter (told from the first lines: the one of :data:`DELIMITERS` that
    splits them into equally many fields, a comma when none does). Binary data (a NUL byte
    in the first block), a header longer than that block, and a name given twice are
    errors: found before anything else is read."""
    try:
        block = _first_block(path)
    except (OSError, EOFError) as exc:
        raise KpiforgeError(f"{label}: not a readable CSV text file ({exc})") from None
    if b"\0" in block:
        raise KpiforgeError(f"{label}: not a readable CSV text file (binary data: a NUL byte "
                            f"in its first {_SNIFF_BYTES // 1024} KiB); give a CSV or Parquet "
                            "file")
    end = block.find(b"\n")
    if end < 0 and len(block) == _SNIFF_BYTES:
        raise KpiforgeError(f"{label}: no line break in the first {_SNIFF_BYTES // 1024} KiB;"
                            " not a CSV file with a header line")
    try:
        text = block[:end if end >= 0 else len(block)].decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise KpiforgeError(f"{label}: not a readable CSV text file ({exc})") from None
    delimiter = _delimiter(block)
    header = next(csv.reader(io.StringIO(text), delimiter=delimiter), None)
    if not header or not any(name.strip() for name in header):
        raise KpiforgeError(f"{label}: the file is empty; expected a header row and data")
    names = tuple(name.strip() for name in header)
    twice = sorted({name for name in names if names.count(name) > 1})
    if twice:
        raise KpiforgeError(f"{label}: column {twice[0]!r} is named twice in the header; "
                            "give each column one name")
    return names, delimiter


def _delimiter(block: bytes) -> str:
    """The delimiter of the whole lines in ``block``, by :class:`csv.Sniffer`."""
    lines = block.decode("utf-8-sig", errors="replace").splitlines()[:50]
    if len(block) == _SNIFF_BYTES and len(lines) > 1:
        lines = lines[:-1]  # the last line may be cut short
    try:
        return csv.Sniffer().sniff("\n".join(lines), delimiters=DELIMITERS).delimiter
    except csv.Error:
        return ","


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


def read_csv(path: Path, label: str, names: Sequence[str], columns: list[str],
             delimiter: str = ",") -> pa.Table:
    """``columns`` of the whole file (whose header is ``names``) as one Arrow table."""
    try:
        return pacsv.read_csv(
            path,
            read_options=pacsv.ReadOptions(column_names=list(names), skip_rows=1),
            parse_options=pacsv.ParseOptions(delimiter=delimiter),
            convert_options=pacsv.ConvertOptions(include_columns=columns,
                                                 column_types=_text_types(columns)),
        )
    except pa.ArrowInvalid as exc:
        raise KpiforgeError(describe_csv_error(path, label, exc, delimiter=delimiter)) \
            from None


def csv_batches(path: Path, label: str, names: Sequence[str], columns: list[str], rows: int,
                delimiter: str = ",", numbers_as_text: bool = False
                ) -> Iterator[pa.RecordBatch]:
    """Record batches streamed from a CSV file (whose header is ``names``). Types are fixed
    up front (schema numbers as float64, text and times as strings) so that a late block
    cannot change a column's type; with ``numbers_as_text`` schema numbers are read as text,
    for a bad-row policy to judge. Text cells are never null here: only an empty cell is a
    missing label (``NA`` is a label), which the table reader decides."""
    numeric = _numeric_types(columns)
    if numbers_as_text:
        numeric = dict.fromkeys(numeric, pa.string())
    block_size = min(max(_MIN_BLOCK_BYTES, rows * _CSV_BYTES_PER_ROW), _MAX_BLOCK_BYTES)
    try:
        reader = pacsv.open_csv(
            path,
            read_options=pacsv.ReadOptions(block_size=block_size, column_names=list(names),
                                           skip_rows=1),
            parse_options=pacsv.ParseOptions(delimiter=delimiter),
            convert_options=pacsv.ConvertOptions(include_columns=columns,
                                                 column_types={**numeric,
                                                               **_text_types(columns)}),
        )
        yield from reader
    except pa.ArrowInvalid as exc:
        raise KpiforgeError(describe_csv_error(path, label, exc, numeric, delimiter)) from None


def describe_csv_error(path: Path, label: str, exc: Exception,
                       numeric: Iterable[str] = (), delimiter: str = ",") -> str:
    """Name the first ragged line or non-numeric cell, which pyarrow's message does not."""
    with open_text(path) as handle:
        reader = csv.reader(handle, delimiter=delimiter)
        header = next(reader, [])
        checked = [(i, name) for i, name in enumerate(header) if name.strip() in set(numeric)]
        try:
            for row in reader:
                if row and len(row) != len(header):
                    return (f"{label}: line {reader.line_num} has {len(row)} fields but the "
                            f"header has {len(header)}; fix or remove that line")
                for i, name in checked:
                    if row[i] and first_unparsed(pa.array([row[i]]), pa.float64()) == 0:
                        return (f"{label}: row {reader.line_num - 1} (line {reader.line_num}),"
                                f" column {name.strip()!r}: {row[i]!r} is not a number; "
                                f"expected {ACCEPTED_NUMBERS}")
        except (csv.Error, UnicodeDecodeError) as error:
            return f"{label}: line {reader.line_num}: not valid CSV ({error})"
    return f"{label}: cannot read the CSV file: {exc}"
