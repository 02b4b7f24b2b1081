"""Excel workbooks (``.xlsx``, ``.xlsm``): the first sheet as an Arrow table, through
openpyxl (``kpiforge[excel]``).

A sheet is read whole (a sheet holds at most 1,048,576 rows). Cells keep their types:
numbers stay numbers, dates and times become naive timestamps (read in the run's time zone
like naive ISO text), and a column mixing types is read as text, so that the table reader
names the first cell that is not what its column needs.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pyarrow as pa

from kpiforge.errors import KpiforgeError

EXCEL_SUFFIXES = (".xlsx", ".xlsm")


def read_excel(path: Path, label: str) -> pa.Table:
    """The first sheet of the workbook at ``path``: its first row names the columns."""
    try:
        import openpyxl
    except ImportError:
        raise KpiforgeError(f"{label}: reading Excel files needs openpyxl: "
                            "pip install 'kpiforge[excel]'") from None
    try:
        workbook = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds for a damaged file
        raise KpiforgeError(f"{label}: not a readable Excel workbook ({exc})") from None
    try:
        rows = workbook.worksheets[0].iter_rows(values_only=True)
        header = next(rows, None)
        if not header or not any(cell is not None for cell in header):
            raise KpiforgeError(f"{label}: the first sheet is empty; expected a header row "
                                "and data")
        names = [str(cell).strip() if cell is not None else "" for cell in header]
        while names and not names[-1]:
            names.pop()
        twice = sorted({n for n in names if names.count(n) > 1})
        if twice:
            raise KpiforgeError(f"{label}: column {twice[0]!r} is named twice in the header; "
                                "give each column one name")
        records = list(rows)
        while records and all(cell is None for cell in records[-1]):
            records.pop()  # formatting left below the data; rows above keep their numbers
        columns: list[list[Any]] = [[row[i] if i < len(row) else None for row in records]
                                    for i in range(len(names))]
    finally:
        workbook.close()
    return pa.table({name: _array(values) for name, values in zip(names, columns,
                                                                    strict=True)})


def _array(values: list[Any]) -> pa.Array:
    """One column's cells: their own type where they share one, else text."""
    values = [None if isinstance(v, str) and not v.strip() else v for v in values]
    kinds = {type(v) for v in values if v is not None}
    if kinds <= {int, float}:
        return pa.array(values, pa.float64())
    if kinds <= {dt.datetime, dt.date}:
        return pa.array([v if v is None or isinstance(v, dt.datetime)
                         else dt.datetime.combine(v, dt.time()) for v in values],
                        pa.timestamp("us"))
    return pa.array([None if v is None else _text(v) for v in values], pa.string())


def _text(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, dt.datetime):
        return value.isoformat()
    return str(value)
