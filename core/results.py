"""What ``compute`` returns: one row per group, one column per KPI, and ways to write it."""

from __future__ import annotations

import datetime as dt
import math
import os
from collections.abc import Mapping, Sequence
from typing import Any

import attrs
import numpy as np
import pyarrow as pa

from kpiforge.definitions import KPI, Dimension, ParamValue
from kpiforge.errors import KpiforgeError
from kpiforge.io.output import TEXT_FORMATS, csv_text, json_text, write_parquet, write_text
from kpiforge.io.timestamps import to_datetime64, to_iso

INTERVAL_START = "interval_start"
#: The column that marks total rows (``--totals``, ``--rollup``): SQL's GROUPING_ID.
GROUPING_ID = "grouping_id"
FORMATS = ("table", "csv", "json", "parquet")


@attrs.frozen(eq=False)
class Result:
    """KPI values per group.

    ``keys`` holds each dimension's value per group (``interval_start`` in seconds from
    ``epoch``, a naive UTC instant); ``values`` each KPI's float value per group, NaN where
    it is undefined (0/0); ``skipped`` the KPIs left out because the data cannot support
    them, with the reason; ``tz`` the zone the intervals are in (their labels are local
    ISO 8601 times with the offset), None for UTC without an offset in the labels.
    """

    dimensions: tuple[str, ...]
    keys: Mapping[str, np.ndarray]
    values: Mapping[str, np.ndarray]
    kpis: Mapping[str, KPI]
    grain: str | None
    epoch: dt.datetime
    params: Mapping[str, ParamValue]
    skipped: Mapping[str, str]
    tz: str | None = None
    #: The dimensions with declared ``labels``, by name: what tables and reports show.
    declared: Mapping[str, Dimension] = attrs.field(factory=dict)

    def shown_keys(self, name: str) -> list[Any]:
        """Dimension ``name``'s key per row as reports and terminal tables show it: its
        declared label where it has one, else the key (CSV, JSON and Arrow keep keys)."""
        keys = [_plain(v) for v in self.keys[name].tolist()]
        dimension = self.declared.get(name)
        return keys if dimension is None else [dimension.label(v) for v in keys]

    def __len__(self) -> int:
        return len(next(iter(self.values.values())))

    def __getitem__(self, kpi: str) -> np.ndarray:
        return self.values[kpi]

    def target_met(self, kpi: str) -> np.ndarray | None:
        """Per group 1.0 (met), 0.0 (missed) or NaN (undefined); None without a target."""
        return self.kpis[kpi].meets_target(self.values[kpi])

    def with_totals(self, levels: Sequence[Result]) -> Result:
        """These rows, then those of ``levels``: the same KPIs computed again over fewer of
        the dimensions (subtotals, the overall total), those they do not group by null.
        A ``grouping_id`` column, as SQL's ``GROUPING_ID`` of ``ROLLUP``, says which: one
        bit per dimension, the first the highest, set where the row totals over it (0: a
        row of every dimension; all ones: the overall total). ``interval_start`` is never
        totalled over: totals are per interval."""
        names = [d for d in self.dimensions if d != INTERVAL_START]
        parts = [self, *levels]
        keys: dict[str, np.ndarray] = {}
        for name in self.dimensions:
            columns = [p.keys[name] if name in p.keys else np.full(len(p), None, dtype=object)
                       for p in parts]
            if any(c.dtype == object for c in columns):
                columns = [c.astype(object) for c in columns]
            keys[name] = np.concatenate(columns)
        bits = [sum(1 << (len(names) - 1 - i) for i, name in enumerate(names)
                    if name not in p.keys) for p in parts]
        keys[GROUPING_ID] = np.repeat(np.array(bits, dtype=np.int64), [len(p) for p in parts])
        dimensions = (*names, GROUPING_ID, *(d for d in self.dimensions if d == INTERVAL_START))
        return attrs.evolve(self, dimensions=dimensions, keys=keys, values={
            name: np.concatenate([p.values[name] for p in parts]) for name in self.values})

    def totalled(self, name: str) -> np.ndarray:
        """Per row, whether it totals over dimension ``name`` (its key null because of
        ``--totals``/``--rollup``, not because it is missing)."""
        grouped = [d for d in self.dimensions if d not in (GROUPING_ID, INTERVAL_START)]
        if GROUPING_ID not in self.keys or name not in grouped:
            return np.zeros(len(self), dtype=bool)
        bit = 1 << (len(grouped) - 1 - grouped.index(name))
        return (np.asarray(self.keys[GROUPING_ID], dtype=np.int64) & bit) != 0

    def to_records(self) -> list[dict[str, Any]]:
        """JSON-ready rows: dimension keys (``interval_start`` as ISO time), then KPI values
        with None where undefined."""
        columns: dict[str, list[Any]] = {}
        for name in self.dimensions:
            keys = self.keys[name]
            columns[name] = to_iso(keys, self.epoch, self.tz) if name == INTERVAL_START else [
                _plain(v) for v in keys.tolist()]
        for name, values in self.values.items():
            columns[name] = [v if math.isfinite(v) else None for v in values.tolist()]
        return [dict(zip(columns, row, strict=True)) for row in zip(*columns.values(),
                                                                   strict=True)]

    def to_arrow(self) -> pa.Table:
        """An Arrow table; ``interval_start`` is a timestamp, undefined values are null."""
        columns: dict[str, pa.Array] = {}
        for name in self.dimensions:
            keys = self.keys[name]
            if name == INTERVAL_START:
                columns[name] = pa.array(to_datetime64(keys, self.epoch)).cast(
                    pa.timestamp("us", self.tz)) if self.tz else \
                    pa.array(to_datetime64(keys, self.epoch))
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
        if fmt == "parquet":
            write_parquet(self.to_arrow(), path)
        else:
            write_text(self.render(fmt), path)

    def render(self, fmt: str) -> str:
        """The result as ``csv`` or ``json`` text."""
        if fmt == "json":
            return json_text(self.to_records())
        if fmt == "csv":
            return csv_text(self.to_arrow())
        raise KpiforgeError(f"cannot render format {fmt!r} as text; use "
                            f"{' or '.join(TEXT_FORMATS)}")


def _plain(value: Any) -> Any:
    """Numpy scalars as Python numbers; integral floats as ints (ids read as numbers), NaN
    (a missing key) or an infinite one as None (JSON has no NaN)."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value
