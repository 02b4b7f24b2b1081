"""What ``compute`` returns: one row per group, one column per KPI, and ways to write it."""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import math
import os
import tempfile
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import attrs
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from kpiforge.definitions import KPI
from kpiforge.errors import KpiforgeError
from kpiforge.grains import to_datetime64, to_iso

INTERVAL_START = "interval_start"
FORMATS = ("table", "csv", "json", "parquet")


@attrs.frozen(eq=False)
class Result:
    """KPI values per group.

    ``keys`` holds each dimension's value per group (``interval_start`` in seconds from
    ``epoch``); ``values`` each KPI's float value per group, NaN where it is undefined (0/0);
    ``skipped`` the KPIs left out because the data cannot support them, with the reason.
    """

    dimensions: tuple[str, ...]
    keys: Mapping[str, np.ndarray]
    values: Mapping[str, np.ndarray]
    kpis: Mapping[str, KPI]
    grain: str | None
    epoch: dt.datetime
    params: Mapping[str, float]
    skipped: Mapping[str, str]

    def __len__(self) -> int:
        return len(next(iter(self.values.values())))

    def __getitem__(self, kpi: str) -> np.ndarray:
        return self.values[kpi]

    def target_met(self, kpi: str) -> np.ndarray | None:
        """Per group 1.0 (met), 0.0 (missed) or NaN (undefined); None without a target."""
        return self.kpis[kpi].meets_target(self.values[kpi])

    def to_records(self) -> list[dict[str, Any]]:
        """JSON-ready rows: dimension keys (``interval_start`` as ISO time), then KPI values
        with None where undefined."""
        columns: dict[str, list[Any]] = {}
        for name in self.dimensions:
            keys = self.keys[name]
            columns[name] = to_iso(keys, self.epoch) if name == INTERVAL_START else [
                _plain(v) for v in keys.tolist()]
        for name, values in self.values.items():
            columns[name] = [None if math.isnan(v) else v for v in values.tolist()]
        return [dict(zip(columns, row, strict=True)) for row in zip(*columns.values(),
                                                                   strict=True)]

    def to_arrow(self) -> pa.Table:
        """An Arrow table; ``interval_start`` is a timestamp, undefined values are null."""
        columns: dict[str, pa.Array] = {}
        for name in self.dimensions:
            keys = self.keys[name]
            if name == INTERVAL_START:
                columns[name] = pa.array(to_datetime64(keys, self.epoch))
            else:
                columns[name] = pa.array(keys.tolist() if keys.dtype == object else keys)
        for name, values in self.values.items():
            columns[name] = pa.array(values, mask=np.isnan(values))
        return pa.table(columns)

    def to_pandas(self):
        """A pandas DataFrame (needs pandas), one row per group."""
        return self.to_arrow().to_pandas()

    def write(self, path: str | os.PathLike, fmt: str) -> None:
        """Write as ``csv``, ``json`` or ``parquet``, atomically: all or nothing at ``path``."""
        with atomic_output(path) as temporary:
            if fmt == "parquet":
                pq.write_table(self.to_arrow(), temporary)
            else:
                temporary.write_text(self.render(fmt), encoding="utf-8")

    def render(self, fmt: str) -> str:
        """The result as ``csv`` or ``json`` text."""
        if fmt == "json":
            return json.dumps(self.to_records(), indent=1) + "\n"
        if fmt == "csv":
            table = self.to_arrow()
            if INTERVAL_START in table.column_names:
                iso = pc.strftime(table[INTERVAL_START], format="%Y-%m-%dT%H:%M:%S")
                table = table.set_column(table.column_names.index(INTERVAL_START),
                                         INTERVAL_START, iso)
            sink = pa.BufferOutputStream()
            pacsv.write_csv(table, sink,
                            pacsv.WriteOptions(quoting_style="needed"))
            return sink.getvalue().to_pybytes().decode("utf-8")
        raise KpiforgeError(f"cannot render format {fmt!r} as text; use csv or json")


def _plain(value: Any) -> Any:
    """Numpy scalars as Python numbers; integral floats as ints (ids read as numbers)."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


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
