"""Where tables come from: CSV and Parquet files, directories of them, in-memory frames.

A :class:`TableSource` knows its column names before reading anything, so the engine plans
first and then reads only the columns the plan needs.
"""

from __future__ import annotations

import csv
import datetime as dt
import os
import tomllib
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

import attrs
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.dataset as ds
import pyarrow.parquet as pq

from kpiforge.errors import KpiforgeError
from kpiforge.tables import (
    DEFAULT_EPOCH,
    SCHEMAS,
    Table,
    check_required,
    epoch_from_metadata,
    table_from_arrow,
    to_arrow,
)

CSV_SUFFIXES = (".csv", ".csv.gz")
PARQUET_SUFFIXES = (".parquet", ".pq")
_PARQUET_MAGIC = b"PAR1"


@attrs.frozen
class TableSource:
    """One table's data, not yet read: a file, a directory of part files (a dataset), or
    an in-memory Arrow table."""

    name: str
    label: str
    column_names: tuple[str, ...]
    path: Path | None = None
    format: str | None = None
    data: pa.Table | None = attrs.field(default=None, repr=False)
    epoch: dt.datetime = DEFAULT_EPOCH
    #: A Dask DataFrame, read partition by partition.
    frame: Any = attrs.field(default=None, repr=False)
    #: An iterator of Arrow tables (read once, in order).
    stream: Iterator[pa.Table] | None = attrs.field(default=None, repr=False)

    @property
    def header_lines(self) -> int | None:
        return 1 if self.format == "csv" and self.path is not None and self.path.is_file() \
            else None

    def read(self, columns: set[str] | None = None) -> Table:
        """Read ``columns`` (all when None) into one checked :class:`Table`."""
        return self.table(self.arrow(columns))

    def table(self, piece: pa.Table, first_row: int = 0) -> Table:
        """A checked :class:`Table` from rows of this source starting at ``first_row``."""
        return table_from_arrow(self.name, piece, self.label, self.epoch, self.header_lines,
                                first_row)

    def without_data(self) -> TableSource:
        """This source less its in-memory data, to send to a worker beside one piece."""
        return attrs.evolve(self, data=None, frame=None, stream=None)

    def wanted(self, columns: set[str] | None) -> list[str]:
        return [c for c in self.column_names if columns is None or c in columns]

    def arrow(self, columns: set[str] | None = None) -> pa.Table:
        """All rows of ``columns`` as one Arrow table."""
        wanted = self.wanted(columns)
        if self.data is not None:
            return self.data.select(wanted)
        if self.frame is not None:
            return pa.Table.from_pandas(self.frame[wanted].compute(), preserve_index=False)
        if self.stream is not None:
            return pa.concat_tables(piece.select(wanted) for piece in self.stream)
        if self.path.is_dir():
            return self._dataset().to_table(columns=wanted)
        if self.format == "parquet":
            try:
                return pq.read_table(self.path, columns=wanted)
            except (pa.ArrowInvalid, OSError) as exc:
                raise KpiforgeError(f"{self.label}: cannot read the Parquet file: {exc}") \
                    from None
        return _read_csv(self.path, self.label, wanted)

    def pieces(self, columns: set[str] | None, rows: int) -> Iterator[tuple[int, pa.Table]]:
        """``(first row, Arrow table)`` pieces of about ``rows`` rows, read as they are
        needed, so memory stays bounded however large the source."""
        wanted = self.wanted(columns)
        if self.data is not None:
            batches: Iterable[pa.RecordBatch] = self.data.select(wanted).to_batches(rows)
        elif self.stream is not None:
            batches = (batch for piece in self.stream for batch in piece.select(wanted)
                       .to_batches())
        elif self.frame is not None:
            batches = (batch for part in self.frame[wanted].to_delayed()
                       for batch in pa.Table.from_pandas(part.compute(),
                                                         preserve_index=False).to_batches())
        elif self.path.is_dir():
            options = ds.ParquetFragmentScanOptions(pre_buffer=False) \
                if self.format == "parquet" else None
            batches = self._dataset().to_batches(
                columns=wanted, batch_size=rows, batch_readahead=1, fragment_readahead=1,
                fragment_scan_options=options)
        elif self.format == "parquet":
            # pre_buffer keeps every read buffer: memory would grow with the file.
            batches = pq.ParquetFile(self.path, pre_buffer=False).iter_batches(
                batch_size=rows, columns=wanted)
        else:
            batches = _csv_batches(self.path, self.label, wanted, rows)
        first = 0
        for piece in _rebatch(batches, rows):
            yield first, piece
            first += piece.num_rows

    def _dataset(self) -> ds.Dataset:
        return ds.dataset(self.path, format=self.format)


def _rebatch(batches: Iterable[pa.RecordBatch], rows: int) -> Iterator[pa.Table]:
    """Tables of exactly ``rows`` rows (the last may be shorter) from batches of any size."""
    pending: list[pa.RecordBatch] = []
    count = 0
    for batch in batches:
        if batch.num_rows == 0:
            continue
        pending.append(batch)
        count += batch.num_rows
        while count >= rows:
            table = pa.Table.from_batches(pending)
            yield table.slice(0, rows)
            rest = table.slice(rows)
            pending, count = rest.to_batches(), rest.num_rows
    if count:
        yield pa.Table.from_batches(pending)


def source_from_path(path: str | os.PathLike, table: str,
                     epoch: dt.datetime = DEFAULT_EPOCH) -> TableSource:
    """A source for one CSV or Parquet file holding ``table``; times count from ``epoch``
    unless the Parquet file records its own."""
    path = Path(path)
    label = str(path)
    if not path.exists():
        raise KpiforgeError(f"{label}: no such file or directory")
    if path.is_dir():
        return _dataset_source(path, table, epoch)
    fmt = _file_format(path)
    if fmt == "parquet":
        try:
            schema = pq.read_schema(path)
        except (pa.ArrowInvalid, OSError) as exc:
            raise KpiforgeError(f"{label}: not a valid Parquet file: {exc}") from None
        names = tuple(schema.names)
        epoch = epoch_from_metadata(schema.metadata, epoch)
    else:
        names = _csv_header(path, label)
    check_required(table, names, label)
    return TableSource(name=table, label=label, column_names=names, path=path, format=fmt,
                       epoch=epoch)


def source_from_data(data: Any, table: str) -> TableSource:
    """A source for an in-memory dict of arrays, DataFrame or Arrow table, or a Dask
    DataFrame (read by partition)."""
    label = f"<{table}>"
    if type(data).__module__.split(".")[0] == "dask":
        names = tuple(str(c) for c in data.columns)
        check_required(table, names, label)
        return TableSource(name=table, label=label, column_names=names, frame=data)
    arrow = to_arrow(data, label)
    check_required(table, arrow.column_names, label)
    return TableSource(name=table, label=label, column_names=tuple(arrow.column_names),
                       data=arrow, epoch=epoch_from_metadata(arrow.schema.metadata))


def source_from_stream(chunks: Iterator[Any], table: str) -> TableSource:
    """A source reading an iterator of frames (dicts of arrays, DataFrames, Arrow tables)
    once, in order; its first frame gives the columns."""
    label = f"<{table} stream>"
    converted = (to_arrow(chunk, label) for chunk in chunks)
    first = next(converted, None)
    if first is None:
        raise KpiforgeError(f"{label}: the stream of {table} chunks is empty")
    check_required(table, first.column_names, label)

    def stream() -> Iterator[pa.Table]:
        yield first
        for chunk in converted:
            if chunk.column_names != first.column_names:
                raise KpiforgeError(f"{label}: a chunk has columns {chunk.column_names}, "
                                    f"the first had {first.column_names}")
            yield chunk

    return TableSource(name=table, label=label, column_names=tuple(first.column_names),
                       stream=stream())


def load_sources(data: Any) -> dict[str, TableSource]:
    """Sources for what ``compute`` accepts.

    ``data`` is a path (a contacts file, or a directory holding ``contacts``,
    ``agent_intervals`` and ``customers`` files), a mapping of table name -> columns or
    path, a single frame of contacts, or an iterator of contact frames.
    """
    if isinstance(data, str | os.PathLike):
        path = Path(data)
        if path.is_dir():
            return _directory_sources(path)
        return {"contacts": source_from_path(path, "contacts")}
    if isinstance(data, Iterator):
        return {"contacts": source_from_stream(data, "contacts")}
    if isinstance(data, Mapping) and not isinstance(data, pa.Table):
        unknown = [k for k in data if k not in SCHEMAS]
        if unknown:
            raise KpiforgeError(
                f"data must map table names ({', '.join(SCHEMAS)}) to columns or paths; "
                f"got key {unknown[0]!r}. Pass contacts as {{'contacts': columns}}"
            )
        return {name: _source(value, name) for name, value in data.items()}
    return {"contacts": source_from_data(data, "contacts")}


def _source(value: Any, table: str) -> TableSource:
    if isinstance(value, str | os.PathLike):
        return source_from_path(value, table)
    if isinstance(value, Iterator):
        return source_from_stream(value, table)
    return source_from_data(value, table)


def _directory_sources(path: Path) -> dict[str, TableSource]:
    """A run directory (``contacts.parquet``, ``agent_intervals.csv``, or a ``contacts/``
    directory of part files...), or itself a dataset of contacts part files."""
    epoch = _scenario_epoch(path / "scenario.toml")
    sources = {}
    for table in SCHEMAS:
        for suffix in (*PARQUET_SUFFIXES, *CSV_SUFFIXES, ""):
            candidate = path / f"{table}{suffix}"
            if candidate.exists() and (suffix or candidate.is_dir()):
                sources[table] = source_from_path(candidate, table, epoch)
                break
    if not sources:
        if part_files(path):
            return {"contacts": _dataset_source(path, "contacts", epoch)}
        expected = ", ".join(f"{t}.csv" for t in SCHEMAS)
        raise KpiforgeError(f"{path}: no table files found; expected {expected} "
                            "(or .parquet, or a directory of part files per table)")
    return sources


def part_files(path: Path) -> list[Path]:
    return sorted(p for p in path.rglob("*") if p.is_file()
                  and p.name.lower().endswith(PARQUET_SUFFIXES + CSV_SUFFIXES))


def _dataset_source(path: Path, table: str, epoch: dt.datetime) -> TableSource:
    """A directory of Parquet or CSV part files holding one table."""
    parts = part_files(path)
    if not parts:
        raise KpiforgeError(f"{path}: no Parquet or CSV part files in this directory")
    formats = {_file_format(p) for p in parts}
    if len(formats) > 1:
        raise KpiforgeError(f"{path}: mixes Parquet and CSV part files; keep one format")
    fmt = formats.pop()
    try:
        dataset = ds.dataset(path, format=fmt)
        names = tuple(dataset.schema.names)
    except (pa.ArrowInvalid, OSError) as exc:
        raise KpiforgeError(f"{path}: cannot read the part files as one table: {exc}") \
            from None
    check_required(table, names, str(path))
    if fmt == "parquet":
        epoch = epoch_from_metadata(pq.read_schema(parts[0]).metadata, epoch)
    return TableSource(name=table, label=str(path), column_names=names, path=path,
                       format=fmt, epoch=epoch)


def _scenario_epoch(path: Path) -> dt.datetime:
    """The start of the simulated run whose ``scenario.toml`` sits beside the tables."""
    if not path.is_file():
        return DEFAULT_EPOCH
    try:
        start = tomllib.loads(path.read_text(encoding="utf-8"))["scenario"]["start"]
    except (tomllib.TOMLDecodeError, KeyError, TypeError, UnicodeDecodeError) as exc:
        raise KpiforgeError(f"{path}: cannot read the run's start date ({exc})") from None
    return dt.datetime.combine(start, dt.time()) if not isinstance(start, dt.datetime) \
        else start


def _file_format(path: Path) -> str:
    name = path.name.lower()
    if name.endswith(PARQUET_SUFFIXES):
        return "parquet"
    if name.endswith(CSV_SUFFIXES):
        return "csv"
    with path.open("rb") as handle:
        if handle.read(4) == _PARQUET_MAGIC:
            return "parquet"
    raise KpiforgeError(
        f"{path}: not a CSV or Parquet file; expected a name ending in "
        f"{', '.join(CSV_SUFFIXES + PARQUET_SUFFIXES)}"
    )


def _open_text(path: Path):
    if path.name.lower().endswith(".gz"):
        import gzip

        return gzip.open(path, "rt", newline="", encoding="utf-8")
    return path.open(newline="", encoding="utf-8")


def _csv_header(path: Path, label: str) -> tuple[str, ...]:
    try:
        with _open_text(path) as handle:
            header = next(csv.reader(handle), None)
    except (UnicodeDecodeError, OSError) as exc:
        raise KpiforgeError(f"{label}: not a readable CSV text file ({exc})") from None
    if not header or not any(name.strip() for name in header):
        raise KpiforgeError(f"{label}: the file is empty; expected a header row and data")
    return tuple(name.strip() for name in header)


def _text_types(columns: Iterable[str]) -> dict[str, pa.DataType]:
    return {c: pa.string() for c in columns
            if any(c in schema.text for schema in SCHEMAS.values())}


def _read_csv(path: Path, label: str, columns: list[str]) -> pa.Table:
    try:
        return pacsv.read_csv(
            path,
            convert_options=pacsv.ConvertOptions(include_columns=columns,
                                                 column_types=_text_types(columns),
                                                 strings_can_be_null=True),
        )
    except pa.ArrowInvalid as exc:
        raise KpiforgeError(_describe_csv_error(path, label, exc)) from None


#: Bytes per CSV block read while streaming, per row wanted (a generous row width).
_CSV_BYTES_PER_ROW = 160


def _csv_batches(path: Path, label: str, columns: list[str], rows: int
                 ) -> Iterator[pa.RecordBatch]:
    """Record batches streamed from a CSV file. Types are fixed up front (schema numbers as
    float64, text as strings) so that a late block cannot change a column's type."""
    numeric = {c: pa.float64() for c in columns
               if any(c in schema.numeric for schema in SCHEMAS.values())}
    try:
        reader = pacsv.open_csv(
            path,
            read_options=pacsv.ReadOptions(block_size=int(
                min(max(1 << 20, rows * _CSV_BYTES_PER_ROW), 1 << 26))),
            convert_options=pacsv.ConvertOptions(include_columns=columns,
                                                 column_types={**numeric,
                                                               **_text_types(columns)},
                                                 strings_can_be_null=True),
        )
        yield from reader
    except pa.ArrowInvalid as exc:
        raise KpiforgeError(_describe_csv_error(path, label, exc, numeric)) from None


def _describe_csv_error(path: Path, label: str, exc: Exception,
                        numeric: Iterable[str] = ()) -> str:
    """Name the first ragged line or non-numeric cell, which pyarrow's message does not."""
    with _open_text(path) as handle:
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
