"""Writing results: CSV and JSON text, Parquet files, and all-or-nothing output."""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from kpiforge.errors import KpiforgeError

TEXT_FORMATS = ("csv", "json")


def json_text(records: Sequence[dict[str, Any]]) -> str:
    """Records as an indented JSON list, one line at the end."""
    return json.dumps(list(records), indent=1) + "\n"


def csv_text(table: pa.Table) -> str:
    """A table as CSV with a header; timestamps as ISO 8601, nulls as empty cells."""
    for index, field in enumerate(table.schema):
        if pa.types.is_timestamp(field.type):
            iso = pc.strftime(table.column(index), format="%Y-%m-%dT%H:%M:%S")
            table = table.set_column(index, field.name, iso)
    sink = pa.BufferOutputStream()
    pacsv.write_csv(table, sink, pacsv.WriteOptions(quoting_style="needed"))
    return sink.getvalue().to_pybytes().decode("utf-8")


def write_parquet(table: pa.Table, path: str | os.PathLike) -> None:
    """``table`` as a Parquet file at ``path``, atomically."""
    with atomic_output(path) as temporary:
        pq.write_table(table, temporary)


def write_text(text: str, path: str | os.PathLike) -> None:
    """``text`` as a UTF-8 file at ``path``, atomically."""
    with atomic_output(path) as temporary:
        temporary.write_text(text, encoding="utf-8")


@contextlib.contextmanager
def atomic_output(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it into place only on success."""
    target = Path(path)
    if target.is_dir():
        raise KpiforgeError(f"{target}: is a directory; give a file name to write")
    if not target.parent.exists():
        raise KpiforgeError(f"{target.parent}: no such directory to write {target.name} into")
    handle, name = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
    os.close(handle)
    temporary = Path(name)
    try:
        yield temporary
        os.replace(temporary, target)
    finally:
        temporary.unlink(missing_ok=True)
