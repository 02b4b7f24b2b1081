"""Where tables come from: CSV and Parquet files, directories of part files, in-memory
frames, streams of frames and Dask DataFrames.

Every kind is a :class:`TableSource` with one interface. A source knows its column names
before reading anything, so the engine plans first and then reads only the columns the plan
needs: :meth:`~TableSource.arrow` reads them whole, :meth:`~TableSource.pieces` a bounded
number of rows at a time, and :meth:`~TableSource.fragments` cuts the source into parts that
cluster workers read themselves. :class:`TableOrigin` is what a worker needs to turn rows
into a checked :class:`~kpiforge.io.tables.Table` without the source itself.
"""

from __future__ import annotations

import abc
import datetime as dt
import os
import tomllib
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import attrs
import pyarrow as pa
import pyarrow.parquet as pq

from kpiforge.errors import KpiforgeError
from kpiforge.io.badrows import BadRowLog
from kpiforge.io.csvfiles import CSV_SUFFIXES, csv_batches, csv_dialect, read_csv
from kpiforge.io.excel import EXCEL_SUFFIXES, read_excel
from kpiforge.io.mapping import ExportMapping, TableMapping, untimed_from_metadata
from kpiforge.io.schemas import SCHEMAS
from kpiforge.io.tables import Table, check_required, table_from_arrow, to_arrow
from kpiforge.io.timestamps import (
    DEFAULT_EPOCH,
    EPOCH_METADATA,
    epoch_from_metadata,
    epoch_instant,
    zone,
)

if TYPE_CHECKING:
    import pyarrow.dataset as ds

PARQUET_SUFFIXES = (".parquet", ".pq")
_PARQUET_MAGIC = b"PAR1"
#: Rows per piece when a source is read as one piece (more than any file holds).
_WHOLE = 1 << 62


@attrs.frozen
class TableOrigin:
    """What turns a source's rows into checked tables: the table, a label for messages, the
    epoch, and the lines before the first row. Small and picklable, it travels to worker
    processes beside each piece."""

    name: str
    label: str
    epoch: dt.datetime = DEFAULT_EPOCH
    #: Lines before the first data row (1 for a CSV header), or None where rows have no line.
    header_lines: int | None = None
    #: The time zone naive times are read in (UTC when None).
    tz: str | None = None

    def table(self, piece: pa.Table, first_row: int = 0) -> Table:
        """A checked :class:`Table` from rows of the source starting at ``first_row``."""
        return table_from_arrow(self.name, piece, self.label, self.epoch, self.header_lines,
                                first_row, self.tz)


@attrs.frozen(kw_only=True)
class TableSource(abc.ABC):
    """One table's data, not yet read."""

    name: str
    label: str
    column_names: tuple[str, ...]
    #: The instant times count from, as a naive UTC datetime (see
    #: :func:`~kpiforge.io.timestamps.epoch_instant`).
    epoch: dt.datetime = DEFAULT_EPOCH
    #: The time zone naive times are read in, and grains and labels computed in (UTC: None).
    tz: str | None = None
    #: Row of the whole data this source starts at (a fragment of a larger source starts
    #: past 0), so that messages name the right row.
    first_row: int = 0
    #: Event columns known only by a yes/no flag (they hold the start time): KPIs that need
    #: their time are left out.
    untimed: frozenset[str] = frozenset()
    #: Whether the table came through a mapping (now or by ``kpiforge import``): it has the
    #: standard columns the mapping gives, and a missing one leaves KPIs out.
    mapped: bool = False
    #: Why mapped columns are absent: (column, reason) pairs.
    absent: tuple[tuple[str, str], ...] = ()

    #: Whether the rows can be read a second time (a stream cannot).
    rereadable: ClassVar[bool] = True
    #: Whether the source holds its rows in memory (sent to workers with the work) rather
    #: than saying where to read them.
    holds_data: ClassVar[bool] = False
    header_lines: ClassVar[int | None] = None

    @property
    def origin(self) -> TableOrigin:
        return TableOrigin(self.name, self.label, self.epoch, self.header_lines, self.tz)

    def wanted(self, columns: Iterable[str] | None) -> list[str]:
        """The source's columns among ``columns`` (all when None), in the source's order."""
        if columns is None:
            return list(self.column_names)
        chosen = set(columns)
        return [c for c in self.column_names if c in chosen]

    def read(self, columns: Iterable[str] | None = None) -> Table:
        """Read ``columns`` (all when None) into one checked :class:`Table`."""
        return self.origin.table(self.arrow(columns), self.first_row)

    @abc.abstractmethod
    def arrow(self, columns: Iterable[str] | None = None) -> pa.Table:
        """All rows of ``columns`` as one Arrow table."""

    def pieces(self, columns: Iterable[str] | None, rows: int | None
               ) -> Iterator[tuple[int, pa.Table]]:
        """``(first row, Arrow table)`` pieces of ``rows`` rows (the last may be shorter;
        None: one piece), read as they are needed, so memory stays bounded however large
        the source. A source without rows gives one empty piece: an empty table is valid
        data, whose KPIs are undefined (or 0 for counts)."""
        rows = rows or _WHOLE
        first = self.first_row
        wanted = self.wanted(columns)
        for piece in _rebatch(self._batches(wanted, rows), rows):
            yield first, piece
            first += piece.num_rows
        if first == self.first_row:
            yield first, pa.table({name: pa.nulls(0) for name in wanted})

    @abc.abstractmethod
    def _batches(self, wanted: list[str], rows: int) -> Iterable[pa.RecordBatch]:
        """Record batches of ``wanted`` columns, about ``rows`` rows each, in row order."""

    def fragments(self, columns: Iterable[str] | None, rows: int | None, parts: int
                  ) -> Iterable[TableSource]:
        """Sources for parts of this one that can be read independently, in row order,
        about ``rows`` rows each or else about ``parts`` of them."""
        return [self]


@attrs.frozen(kw_only=True)
class CsvFileSource(TableSource):
    """A CSV file (optionally gzip-compressed) with a header line."""

    path: Path
    delimiter: str = ","
    #: Read the schema's number columns as text (a bad-row policy judges them).
    numbers_as_text: bool = False
    header_lines: ClassVar[int | None] = 1

    def arrow(self, columns: Iterable[str] | None = None) -> pa.Table:
        return read_csv(self.path, self.label, self.column_names, self.wanted(columns),
                        self.delimiter)

    def _batches(self, wanted: list[str], rows: int) -> Iterable[pa.RecordBatch]:
        return csv_batches(self.path, self.label, self.column_names, wanted, rows,
                           self.delimiter, self.numbers_as_text)


@attrs.frozen(kw_only=True)
class ParquetFileSource(TableSource):
    """A Parquet file, or some of its row groups."""

    path: Path
    row_groups: tuple[int, ...] | None = None

    def arrow(self, columns: Iterable[str] | None = None) -> pa.Table:
        try:
            if self.row_groups is None:
                return pq.read_table(self.path, columns=self.wanted(columns))
            return pq.ParquetFile(self.path).read_row_groups(list(self.row_groups),
                                                             columns=self.wanted(columns))
        except (pa.ArrowInvalid, OSError) as exc:
            raise _unreadable_parquet(self.label, exc) from None

    def _batches(self, wanted: list[str], rows: int) -> Iterator[pa.RecordBatch]:
        try:
            # pre_buffer keeps every read buffer: memory would grow with the file.
            yield from pq.ParquetFile(self.path, pre_buffer=False).iter_batches(
                batch_size=rows, columns=wanted, row_groups=self.row_groups)
        except (pa.ArrowInvalid, OSError) as exc:
            raise _unreadable_parquet(self.label, exc) from None


def _unreadable_parquet(label: str, exc: Exception) -> KpiforgeError:
    """One line naming the file, whether it was read whole or streamed."""
    reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return KpiforgeError(f"{label}: not a valid Parquet file ({reason}); it is damaged or "
                         "not Parquet")

    def fragments(self, columns: Iterable[str] | None, rows: int | None, parts: int
                  ) -> list[TableSource]:
        """One fragment per row group."""
        metadata = pq.ParquetFile(self.path).metadata
        first, fragments = self.first_row, list[TableSource]()
        for group in range(metadata.num_row_groups):
            fragments.append(attrs.evolve(self, row_groups=(group,), first_row=first))
            first += metadata.row_group(group).num_rows
        return fragments


@attrs.frozen(kw_only=True)
class DatasetSource(TableSource):
    """A directory of Parquet or CSV part files holding one table, read as one."""

    path: Path
    format: str
    parts: tuple[Path, ...]

    def _dataset(self) -> ds.Dataset:
        import pyarrow.dataset as ds  # imports pandas when installed: only when needed

        return ds.dataset(self.path, format=self.format)

    def arrow(self, columns: Iterable[str] | None = None) -> pa.Table:
        return self._dataset().to_table(columns=self.wanted(columns))

    def _batches(self, wanted: list[str], rows: int) -> Iterable[pa.RecordBatch]:
        import pyarrow.dataset as ds

        options = ds.ParquetFragmentScanOptions(pre_buffer=False) \
            if self.format == "parquet" else None
        return self._dataset().to_batches(
            columns=wanted, batch_size=rows, batch_readahead=1, fragment_readahead=1,
            fragment_scan_options=options)

    def fragments(self, columns: Iterable[str] | None, rows: int | None, parts: int
                  ) -> list[TableSource]:
        """One fragment per part file, each numbering its own rows."""
        return [file_source(path, self.name, self.epoch, self.tz) for path in self.parts]


@attrs.frozen(kw_only=True)
class ArrowSource(TableSource):
    """An in-memory Arrow table (dicts of arrays, pandas and polars frames convert to it)."""

    data: pa.Table = attrs.field(repr=False)
    holds_data: ClassVar[bool] = True

    def arrow(self, columns: Iterable[str] | None = None) -> pa.Table:
        return self.data.select(self.wanted(columns))

    def _batches(self, wanted: list[str], rows: int) -> Iterable[pa.RecordBatch]:
        return self.data.select(wanted).to_batches(rows)

    def fragments(self, columns: Iterable[str] | None, rows: int | None, parts: int
                  ) -> list[TableSource]:
        """Zero-copy slices of ``rows`` rows, or ``parts`` equal slices."""
        data = self.data.select(self.wanted(columns))
        size = rows or max(1, -(-data.num_rows // parts))
        return [attrs.evolve(self, data=data.slice(start, size), first_row=start)
                for start in range(0, data.num_rows, size) or [0]]


@attrs.frozen(kw_only=True)
class ExcelFileSource(ArrowSource):
    """The first sheet of an Excel workbook (``kpiforge[excel]``), read whole: a header row,
    then a row per record (rows are named by their sheet row)."""

    header_lines: ClassVar[int | None] = 1


@attrs.frozen(kw_only=True)
class StreamSource(TableSource):
    """An iterator of Arrow tables, read once, in order."""

    stream: Iterator[pa.Table] = attrs.field(repr=False)
    rereadable: ClassVar[bool] = False

    def arrow(self, columns: Iterable[str] | None = None) -> pa.Table:
        wanted = self.wanted(columns)
        return pa.concat_tables(piece.select(wanted) for piece in self.stream)

    def _batches(self, wanted: list[str], rows: int) -> Iterable[pa.RecordBatch]:
        return (batch for piece in self.stream for batch in piece.select(wanted).to_batches())

    def fragments(self, columns: Iterable[str] | None, rows: int | None, parts: int
                  ) -> Iterator[TableSource]:
        """Each chunk of the stream as an in-memory fragment, as the stream yields it."""
        for first, piece in self.pieces(columns, rows):
            yield ArrowSource(name=self.name, label=self.label, column_names=self.column_names,
                              epoch=self.epoch, tz=self.tz, first_row=first, data=piece)


@attrs.frozen(kw_only=True)
class DaskFrameSource(TableSource):
    """A Dask DataFrame, read partition by partition (``kpiforge[dask]``)."""

    frame: Any = attrs.field(repr=False)
    rereadable: ClassVar[bool] = False

    def arrow(self, columns: Iterable[str] | None = None) -> pa.Table:
        return pa.Table.from_pandas(self.frame[self.wanted(columns)].compute(),
                                    preserve_index=False)

    def _batches(self, wanted: list[str], rows: int) -> Iterable[pa.RecordBatch]:
        return (batch for part in self.frame[wanted].to_delayed()
                for batch in pa.Table.from_pandas(part.compute(),
                                                  preserve_index=False).to_batches())

    def fragments(self, columns: Iterable[str] | None, rows: int | None, parts: int
                  ) -> list[TableSource]:
        """One fragment per partition, computed where it is read."""
        return [PartitionSource(name=self.name, label=self.label,
                                column_names=tuple(self.wanted(columns)), epoch=self.epoch,
                                tz=self.tz,
                                partition=part)
                for part in self.frame[self.wanted(columns)].to_delayed()]


@attrs.frozen(kw_only=True)
class PartitionSource(TableSource):
    """One partition of a Dask DataFrame (a delayed pandas frame), computed on reading."""

    partition: Any = attrs.field(repr=False)

    def arrow(self, columns: Iterable[str] | None = None) -> pa.Table:
        frame = self.partition.compute(scheduler="sync")
        return pa.Table.from_pandas(frame[self.wanted(columns)], preserve_index=False)

    def _batches(self, wanted: list[str], rows: int) -> Iterable[pa.RecordBatch]:
        return self.arrow(wanted).to_batches(rows)


@attrs.frozen(kw_only=True)
class MappedSource(TableSource):
    """An export read through a :class:`~kpiforge.io.mapping.TableMapping`: ``inner``
    reads the export's columns, the mapping turns each piece into the schema's."""

    inner: TableSource
    mapping: TableMapping
    #: Where bad rows go under a bad-row policy (None: a value that does not parse raises).
    log: BadRowLog | None = attrs.field(default=None, eq=False)

    @property
    def origin(self) -> TableOrigin:
        return self.inner.origin

    @property
    def rereadable(self) -> bool:  # type: ignore[override]
        return self.inner.rereadable

    @property
    def holds_data(self) -> bool:  # type: ignore[override]
        return self.inner.holds_data

    def _map(self, piece: pa.Table, targets: list[str], first_row: int) -> pa.Table:
        return self.mapping.apply(piece, targets, self.label, first_row,
                                  self.inner.origin.header_lines, self.log, self.tz)

    def arrow(self, columns: Iterable[str] | None = None) -> pa.Table:
        targets = self.wanted(columns)
        return self._map(self.inner.arrow(self.mapping.reads(targets)), targets,
                         self.inner.first_row)

    def _batches(self, wanted: list[str], rows: int) -> Iterable[pa.RecordBatch]:
        first = self.inner.first_row
        for batch in self.inner._batches(self.inner.wanted(self.mapping.reads(wanted)), rows):
            yield from self._map(pa.Table.from_batches([batch]), wanted, first).to_batches()
            first += batch.num_rows

    def fragments(self, columns: Iterable[str] | None, rows: int | None, parts: int
                  ) -> Iterable[TableSource]:
        """The inner source's fragments, each mapped."""
        if self.log is not None:
            raise _no_dask()
        reads = self.mapping.reads(self.wanted(columns))
        return (attrs.evolve(self, inner=fragment, first_row=fragment.first_row)
                for fragment in self.inner.fragments(reads, rows, parts))


def mapped_source(inner: TableSource, mapping: TableMapping) -> MappedSource:
    """``inner`` (an export) read through ``mapping``: the mapped columns whose export
    columns it has; a required one it cannot give is an error naming the mapping key."""
    served, absent = mapping.for_export(inner.column_names, inner.label)
    for column in SCHEMAS[inner.name].required:
        if column in absent:
            raise KpiforgeError(absent[column])
    return MappedSource(name=inner.name, label=inner.label, column_names=served.column_names,
                        epoch=inner.epoch, tz=inner.tz, first_row=inner.first_row,
                        untimed=served.untimed,
                        mapped=True, absent=tuple(absent.items()), inner=inner,
                        mapping=served)


@attrs.frozen(kw_only=True)
class CleanedSource(TableSource):
    """``inner``'s rows with bad rows dropped or emptied as ``log``'s policy says."""

    inner: TableSource
    log: BadRowLog = attrs.field(eq=False)

    @property
    def origin(self) -> TableOrigin:
        return self.inner.origin

    @property
    def rereadable(self) -> bool:  # type: ignore[override]
        return self.inner.rereadable

    def _clean(self, piece: pa.Table, first_row: int) -> pa.Table:
        return self.log.clean(self.name, piece, first_row, self.inner.origin.header_lines)

    def arrow(self, columns: Iterable[str] | None = None) -> pa.Table:
        return self._clean(self.inner.arrow(columns), self.inner.first_row)

    def _batches(self, wanted: list[str], rows: int) -> Iterable[pa.RecordBatch]:
        for first, piece in self.inner.pieces(wanted, rows):
            yield from self._clean(piece, first).to_batches()

    def fragments(self, columns: Iterable[str] | None, rows: int | None, parts: int
                  ) -> Iterable[TableSource]:
        raise _no_dask()


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


def file_source(path: str | os.PathLike, table: str, epoch: dt.datetime = DEFAULT_EPOCH,
                tz: str | None = None) -> TableSource:
    """A source for a CSV or Parquet file, or a directory of part files, holding ``table``;
    times count from ``epoch`` (an instant, naive UTC) unless a Parquet file records its
    own; naive times are read in ``tz``."""
    path = Path(path)
    label = str(path)
    if not path.exists():
        raise KpiforgeError(f"{label}: no such file or directory")
    if path.is_dir():
        return _dataset_source(path, table, epoch, tz)
    if _file_format(path) == "parquet":
        try:
            schema = pq.read_schema(path)
        except (pa.ArrowInvalid, OSError) as exc:
            raise _unreadable_parquet(label, exc) from None
        untimed = untimed_from_metadata(schema.metadata)
        return ParquetFileSource(name=table, label=label, column_names=tuple(schema.names),
                                 epoch=_metadata_epoch(schema.metadata, epoch, tz), tz=tz,
                                 path=path, untimed=untimed or frozenset(),
                                 mapped=untimed is not None)
    if _file_format(path) == "excel":
        data = read_excel(path, label)
        return ExcelFileSource(name=table, label=label, column_names=tuple(data.column_names),
                               epoch=epoch, tz=tz, data=data)
    names, delimiter = csv_dialect(path, label)
    return CsvFileSource(name=table, label=label, column_names=names, epoch=epoch, tz=tz,
                         path=path, delimiter=delimiter)


def _metadata_epoch(metadata: Mapping[bytes, bytes] | None, epoch: dt.datetime,
                    tz: str | None) -> dt.datetime:
    """The epoch a file records (a wall-clock time in ``tz`` unless it has an offset), as
    an instant; else ``epoch``."""
    if not metadata or EPOCH_METADATA not in metadata:
        return epoch
    return epoch_instant(epoch_from_metadata(metadata), tz)


def data_source(data: Any, table: str, tz: str | None = None) -> TableSource:
    """A source for an in-memory dict of arrays, DataFrame or Arrow table, or a Dask
    DataFrame (read by partition)."""
    label = f"<{table}>"
    if type(data).__module__.split(".")[0] == "dask":
        names = tuple(str(c) for c in data.columns)
        return DaskFrameSource(name=table, label=label, column_names=names, tz=tz,
                               frame=data)
    arrow = to_arrow(data, label)
    return ArrowSource(name=table, label=label, column_names=tuple(arrow.column_names),
                       epoch=_metadata_epoch(arrow.schema.metadata, DEFAULT_EPOCH, tz), tz=tz,
                       data=arrow)


def stream_source(chunks: Iterator[Any], table: str, tz: str | None = None) -> TableSource:
    """A source reading an iterator of frames (dicts of arrays, DataFrames, Arrow tables)
    once, in order; its first frame gives the columns."""
    label = f"<{table} stream>"
    converted = (to_arrow(chunk, label) for chunk in chunks)
    first = next(converted, None)
    if first is None:
        raise KpiforgeError(f"{label}: the stream of {table} chunks is empty")

    def stream() -> Iterator[pa.Table]:
        yield first
        for chunk in converted:
            if chunk.column_names != first.column_names:
                raise KpiforgeError(f"{label}: a chunk has columns {chunk.column_names}, "
                                    f"the first had {first.column_names}")
            yield chunk

    return StreamSource(name=table, label=label, column_names=tuple(first.column_names),
                        tz=tz, stream=stream())


def load_sources(data: Any, mapping: ExportMapping | None = None,
                 bad_rows: BadRowLog | None = None, tz: str | None = None
                 ) -> dict[str, TableSource]:
    """Sources for what ``compute`` accepts, with their required columns checked.

    ``data`` is a path (a contacts file, or a directory holding ``contacts``,
    ``agent_intervals`` and ``customers`` files), a mapping of table name -> columns or
    path, a single frame of contacts, or an iterator of contact frames. With ``mapping``,
    the tables it maps are exports read through it; one path or frame is the table of a
    mapping that maps one table. With ``bad_rows``, bad rows are dropped or emptied as its
    policy says, and recorded there. Naive times are read in ``tz`` (a simulated run's own
    zone when None, else UTC).
    """
    if tz is not None:
        zone(tz)
    if mapping is not None and len(mapping.tables) == 1 and not _names_tables(data):
        data = {next(iter(mapping.tables)): data}
    sources = _sources(data, tz)
    if mapping is not None:
        sources = {name: mapped_source(source, mapping.tables[name])
                   if name in mapping.tables else source for name, source in sources.items()}
    for name, source in sources.items():
        check_required(name, source.column_names, source.label)
    if bad_rows is not None:
        sources = {name: _cleaned(source, bad_rows) for name, source in sources.items()}
    return sources


def _no_dask() -> KpiforgeError:
    return KpiforgeError("bad rows are skipped or nulled where the rows are read; that does "
                         "not go with Dask: drop the bad-row policy or run without Dask")


def _cleaned(source: TableSource, log: BadRowLog) -> TableSource:
    """``source`` with bad rows handled as ``log``'s policy says; a mapped source cleans
    its rows as it maps them, with the export's row numbers."""
    if isinstance(source, MappedSource):
        return attrs.evolve(source, log=log)
    lenient = attrs.evolve(source, numbers_as_text=True) \
        if isinstance(source, CsvFileSource) else source
    return CleanedSource(name=source.name, label=source.label,
                         column_names=source.column_names, epoch=source.epoch,
                         tz=source.tz, first_row=source.first_row, untimed=source.untimed,
                         mapped=source.mapped, absent=source.absent, inner=lenient,
                         log=log)


def _names_tables(data: Any) -> bool:
    """Whether ``data`` maps table names to their data (rather than holding columns)."""
    return isinstance(data, Mapping) and not isinstance(data, pa.Table) and \
        all(key in SCHEMAS for key in data)


def _sources(data: Any, tz: str | None) -> dict[str, TableSource]:
    """A source per table of ``data`` (as :func:`load_sources` takes it)."""
    if isinstance(data, str | os.PathLike):
        path = Path(data)
        if path.is_dir():
            return _directory_sources(path, tz)
        return {"contacts": file_source(path, "contacts", tz=tz)}
    if isinstance(data, Mapping) and not isinstance(data, pa.Table):
        unknown = [k for k in data if k not in SCHEMAS]
        if unknown:
            raise KpiforgeError(
                f"data must map table names ({', '.join(SCHEMAS)}) to columns or paths; "
                f"got key {unknown[0]!r}. Pass contacts as {{'contacts': columns}}"
            )
        return {name: _source(value, name, tz) for name, value in data.items()}
    return {"contacts": _source(data, "contacts", tz)}


def _source(value: Any, table: str, tz: str | None) -> TableSource:
    if isinstance(value, str | os.PathLike):
        return file_source(value, table, tz=tz)
    if isinstance(value, Iterator):
        return stream_source(value, table, tz)
    return data_source(value, table, tz)


def _directory_sources(path: Path, tz: str | None) -> dict[str, TableSource]:
    """A run directory (``contacts.parquet``, ``agent_intervals.csv``, or a ``contacts/``
    directory of part files...), or itself a dataset of contacts part files. A simulated
    run's ``scenario.toml`` gives the epoch (its start) and, unless ``tz`` is given, the
    zone (its ``timezone``)."""
    start, run_zone = _scenario_start(path / "scenario.toml")
    epoch = epoch_instant(start, run_zone or tz)  # the run started at midnight in its zone
    tz = tz or run_zone
    sources = {}
    for table in SCHEMAS:
        for suffix in (*PARQUET_SUFFIXES, *CSV_SUFFIXES, *EXCEL_SUFFIXES, ""):
            candidate = path / f"{table}{suffix}"
            if candidate.exists() and (suffix or candidate.is_dir()):
                sources[table] = file_source(candidate, table, epoch, tz)
                break
    if not sources:
        if part_files(path):
            return {"contacts": _dataset_source(path, "contacts", epoch, tz)}
        expected = ", ".join(f"{t}.csv" for t in SCHEMAS)
        raise KpiforgeError(f"{path}: no table files found; expected {expected} "
                            "(or .parquet, or a directory of part files per table)")
    return sources


def part_files(path: Path) -> list[Path]:
    """The CSV and Parquet files below ``path``, in name order."""
    return sorted(p for p in path.rglob("*") if p.is_file()
                  and p.name.lower().endswith(PARQUET_SUFFIXES + CSV_SUFFIXES))


def _dataset_source(path: Path, table: str, epoch: dt.datetime, tz: str | None
                    ) -> TableSource:
    """A directory of Parquet or CSV part files holding one table."""
    import pyarrow.dataset as ds

    parts = part_files(path)
    if not parts:
        raise KpiforgeError(f"{path}: no Parquet or CSV part files in this directory")
    formats = {_file_format(p) for p in parts}
    if len(formats) > 1:
        raise KpiforgeError(f"{path}: mixes Parquet and CSV part files; keep one format")
    fmt = formats.pop()
    try:
        names = tuple(ds.dataset(path, format=fmt).schema.names)
    except (pa.ArrowInvalid, OSError) as exc:
        raise KpiforgeError(f"{path}: cannot read the part files as one table: {exc}") \
            from None
    if fmt == "parquet":
        epoch = _metadata_epoch(pq.read_schema(parts[0]).metadata, epoch, tz)
    return DatasetSource(name=table, label=str(path), column_names=names, epoch=epoch, tz=tz,
                         path=path, format=fmt, parts=tuple(parts))


def _scenario_start(path: Path) -> tuple[dt.datetime, str | None]:
    """The start and time zone of the simulated run whose ``scenario.toml`` sits beside
    the tables (the Unix epoch and None without one)."""
    if not path.is_file():
        return DEFAULT_EPOCH, None
    try:
        scenario = tomllib.loads(path.read_text(encoding="utf-8"))["scenario"]
        start, run_zone = scenario["start"], scenario.get("timezone")
    except (tomllib.TOMLDecodeError, KeyError, TypeError, AttributeError,
            UnicodeDecodeError) as exc:
        raise KpiforgeError(f"{path}: cannot read the run's start date ({exc})") from None
    if run_zone is not None and not isinstance(run_zone, str):
        raise KpiforgeError(f"{path}: [scenario] timezone must be a zone name such as "
                            f"'Asia/Tokyo', got {run_zone!r}")
    start = dt.datetime.combine(start, dt.time()) if not isinstance(start, dt.datetime) \
        else start
    return start, run_zone


def _file_format(path: Path) -> str:
    name = path.name.lower()
    if name.endswith(PARQUET_SUFFIXES):
        return "parquet"
    if name.endswith(CSV_SUFFIXES):
        return "csv"
    if name.endswith(EXCEL_SUFFIXES):
        return "excel"
    with path.open("rb") as handle:
        if handle.read(4) == _PARQUET_MAGIC:
            return "parquet"
    raise KpiforgeError(
        f"{path}: not a CSV or Parquet file (nor an Excel workbook); expected a name ending in "
        f"{', '.join(CSV_SUFFIXES + PARQUET_SUFFIXES + EXCEL_SUFFIXES)}"
    )
