"""Where tables come from: CSV and Parquet files, directories of them, in-memory frames.

A :class:`TableSource` knows its column names before reading anything, so the engine plans
first and then reads only the columns the plan needs.
"""

from __future__ import annotations

import csv
import datetime as dt
import os
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import attrs
import pyarrow as pa
import pyarrow.csv as pacsv
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
    """One table's data, not yet read: a file, or an in-memory Arrow table."""

    name: str
    label: str
    column_names: tuple[str, ...]
    path: Path | None = None
    format: str | None = None
    data: pa.Table | None = attrs.field(default=None, repr=False)
    epoch: dt.datetime = DEFAULT_EPOCH

    def read(self, columns: set[str] | None = None) -> Table:
        """Read ``columns`` (all when None) into a checked :class:`Table`."""
        wanted = [c for c in self.column_names if columns is None or c in columns]
        if self.data is not None:
            return table_from_arrow(self.name, self.data.select(wanted), self.label, self.epoch)
        if self.format == "parquet":
            try:
                data = pq.read_table(self.path, columns=wanted)
            except (pa.ArrowInvalid, OSError) as exc:
                raise KpiforgeError(f"{self.label}: cannot read the Parquet file: {exc}") from None
            return table_from_arrow(self.name, data, self.label, self.epoch)
        return table_from_arrow(self.name, _read_csv(self.path, self.label, wanted), self.label,
                                self.epoch, header_lines=1)


def source_from_path(path: str | os.PathLike, table: str,
                     epoch: dt.datetime = DEFAULT_EPOCH) -> TableSource:
    """A source for one CSV or Parquet file holding ``table``; times count from ``epoch``
    unless the Parquet file records its own."""
    path = Path(path)
    label = str(path)
    if not path.exists():
        raise KpiforgeError(f"{label}: no such file or directory")
    if path.is_dir():
        raise KpiforgeError(f"{label}: is a directory; expected a CSV or Parquet file of {table}")
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
    """A source for an in-memory dict of arrays, DataFrame or Arrow table."""
    label = f"<{table}>"
    arrow = to_arrow(data, label)
    check_required(table, arrow.column_names, label)
    return TableSource(name=table, label=label, column_names=tuple(arrow.column_names),
                       data=arrow, epoch=epoch_from_metadata(arrow.schema.metadata))


def load_sources(data: Any) -> dict[str, TableSource]:
    """Sources for what ``compute`` accepts.

    ``data`` is a path (a contacts file, or a directory holding ``contacts``,
    ``agent_intervals`` and ``customers`` files), a mapping of table name -> columns or
    path, or a single frame of contacts.
    """
    if isinstance(data, str | os.PathLike):
        path = Path(data)
        if path.is_dir():
            return _directory_sources(path)
        return {"contacts": source_from_path(path, "contacts")}
    if isinstance(data, Mapping) and not isinstance(data, pa.Table):
        unknown = [k for k in data if k not in SCHEMAS]
        if unknown:
            raise KpiforgeError(
                f"data must map table names ({', '.join(SCHEMAS)}) to columns or paths; "
                f"got key {unknown[0]!r}. Pass contacts as {{'contacts': columns}}"
            )
        return {
            name: source_from_path(value, name) if isinstance(value, str | os.PathLike)
            else source_from_data(value, name)
            for name, value in data.items()
        }
    return {"contacts": source_from_data(data, "contacts")}


def _directory_sources(path: Path) -> dict[str, TableSource]:
    epoch = _scenario_epoch(path / "scenario.toml")
    sources = {}
    for table in SCHEMAS:
        for suffix in (*PARQUET_SUFFIXES, *CSV_SUFFIXES):
            candidate = path / f"{table}{suffix}"
            if candidate.is_file():
                sources[table] = source_from_path(candidate, table, epoch)
                break
    if not sources:
        expected = ", ".join(f"{t}.csv" for t in SCHEMAS)
        raise KpiforgeError(f"{path}: no table files found; expected {expected} "
                            "(or .parquet)")
    return sources


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


def _read_csv(path: Path, label: str, columns: list[str]) -> pa.Table:
    text_columns = {c: pa.string() for c in columns
                    if any(c in schema.text for schema in SCHEMAS.values())}
    try:
        return pacsv.read_csv(
            path,
            convert_options=pacsv.ConvertOptions(include_columns=columns,
                                                 column_types=text_columns),
        )
    except pa.ArrowInvalid as exc:
        raise KpiforgeError(_describe_csv_error(path, label, exc)) from None


def _describe_csv_error(path: Path, label: str, exc: Exception) -> str:
    """Name the first ragged line, which pyarrow's message does not do reliably."""
    with _open_text(path) as handle:
        reader = csv.reader(handle)
        header = next(reader, [])
        try:
            for row in reader:
                if row and len(row) != len(header):
                    return (f"{label}: line {reader.line_num} has {len(row)} fields but the "
                            f"header has {len(header)}; fix or remove that line")
        except (csv.Error, UnicodeDecodeError) as error:
            return f"{label}: line {reader.line_num}: not valid CSV ({error})"
    return f"{label}: cannot read the CSV file: {exc}"
