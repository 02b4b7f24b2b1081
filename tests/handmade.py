"""Small tables whose KPIs are worked out by hand in the tests, and helpers to write them."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

NAN = np.nan

# id channel queue arrived answered abandoned handle acw resolved replies touches esc agent csat nps
CONTACT_ROWS = [
    (1, "call", "a", 0, 10, NAN, 100, 20, 200, 1, 1, 0, "x", 5, 10),
    (2, "call", "a", 60, 90, NAN, 200, 10, 500, 2, 2, 1, "y", 3, 6),
    (3, "call", "b", 120, NAN, 150, NAN, NAN, NAN, 0, 0, 0, None, NAN, NAN),
    (4, "call", "b", 180, 185, NAN, 50, 0, NAN, 1, 1, 0, "x", NAN, 8),
    (5, "chat", "a", 0, 40, NAN, 300, 30, 400, 3, 1, 0, "y", 2, 3),
    (6, "chat", "a", 30, NAN, 35, NAN, NAN, NAN, 0, 0, 0, None, NAN, NAN),
    (7, "chat", "b", 900, NAN, NAN, NAN, NAN, NAN, 0, 0, 0, None, NAN, NAN),
    (8, "chat", "b", 3700, 3710, NAN, 100, 0, 3900, 1, 1, 0, "x", 5, 9),
]
CONTACT_COLUMNS = ("contact_id", "channel", "queue", "arrived_s", "answered_s", "abandoned_s",
                   "handle_s", "acw_s", "resolved_s", "replies", "touches", "escalated",
                   "agent", "csat", "nps")
TEXT = {"contact_id", "channel", "queue", "agent", "customer_id"}

AGENT_ROWS = [
    # agent interval_start interval staffed available handling shrinkage cost
    ("x", 0, 1800, 1800, 1500, 1200, 300, 10),
    ("x", 1800, 1800, 1800, 1800, 900, 0, 10),
    ("y", 0, 1800, 1800, 1200, 1200, 600, 12),
]
AGENT_COLUMNS = ("agent", "interval_start_s", "interval_s", "staffed_s", "available_s",
                 "handling_s", "shrinkage_s", "cost")

CUSTOMER_ROWS = [
    # id period start end new churned downgraded upsold cross revenue margin health
    ("c1", 0, 1, 1, 0, 0, 0, 1, 0, 100, 60, 80),
    ("c2", 0, 1, 0, 0, 1, 0, 0, 0, 50, 30, 20),
    ("c3", 0, 1, 1, 0, 0, 1, 0, 1, 40, 20, 50),
    ("c4", 0, 1, 1, 0, 0, 0, 0, 0, 100, 60, NAN),
    ("c5", 0, 0, 1, 1, 0, 0, 0, 0, 30, 10, 90),
]
CUSTOMER_COLUMNS = ("customer_id", "period", "active_start", "active_end", "new", "churned",
                    "downgraded", "upsold", "cross_sold", "revenue", "margin", "health")


def columns_of(rows, names) -> dict[str, np.ndarray]:
    """Row tuples as a dict of numpy columns (text columns as object arrays)."""
    out = {}
    for i, name in enumerate(names):
        values = [row[i] for row in rows]
        if name in TEXT:
            out[name] = np.array([None if v is None else str(v) for v in values], dtype=object)
        else:
            out[name] = np.array(values, dtype=np.float64)
    return out


def write_csv(path: Path, rows, names) -> Path:
    """Row tuples as a CSV file; NaN and None become empty cells."""
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(names)
        for row in rows:
            writer.writerow(["" if v is None or (isinstance(v, float) and np.isnan(v)) else v
                             for v in row])
    return path
