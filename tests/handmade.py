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


# Two days of calls and chats for the report tests, as Unix times. Waits to answer (s):
# call Mon 10, 30, 5 (and one abandon): service level (<= 20 s) 2/4, ASA 15.0 s;
# call Tue 5, 15, 25, 11 (and one abandon): 3/5 = 60 %, ASA 14.0 s;
# chat Mon 50, 10: 1/2, ASA 30.0 s; chat Tue 5, 8: 2/2 = 100 %, ASA 6.5 s.
MONDAY = 1_794_787_200  # 2026-11-16 00:00 UTC
HOUR = 3600
#: The standard columns; those after abandoned_s are left empty (undefined KPIs).
REPORT_COLUMNS = ("channel", "arrived_s", "answered_s", "abandoned_s", "handle_s", "acw_s",
                  "resolved_s", "replies", "touches", "escalated", "csat", "nps")


def _contact(channel: str, day: int, hour: int, wait: float | None = None,
             abandon: float | None = None) -> tuple:
    arrived = MONDAY + day * 86_400 + hour * HOUR
    return (channel, arrived, NAN if wait is None else arrived + wait,
            NAN if abandon is None else arrived + abandon, *[NAN] * 8)


REPORT_ROWS = [
    _contact("call", 0, 8, wait=10), _contact("call", 0, 9, wait=30),
    _contact("call", 0, 10, abandon=60), _contact("call", 0, 11, wait=5),
    _contact("chat", 0, 8, wait=50), _contact("chat", 0, 12, wait=10),
    _contact("call", 1, 8, wait=5), _contact("call", 1, 9, wait=15),
    _contact("call", 1, 10, wait=25), _contact("call", 1, 11, wait=11),
    _contact("call", 1, 12, abandon=40),
    _contact("chat", 1, 9, wait=5), _contact("chat", 1, 13, wait=8),
]
#: asa: call Tue 14.0 s misses 13.5 by 0.5, within the 5 % margin (0.675): at risk.
REPORT_TARGETS = """
[service_level]
target = 0.8

[asa]
target = 13.5
"""
#: The report's headline for Tue 17 Nov with REPORT_TARGETS, worked out from the waits
#: above: group -> KPI -> (value, status, change against Monday).
REPORT_HEADLINE = {
    "call": {"service_level": ("60.0 %", "missed", "+10.0 pts"),
             "asa": ("14.0 s", "at risk", "\u22121.0 s"),
             "offered": ("5", None, "+1")},
    # chat's threshold is 60 s: Monday's waits 50 and 10 are both within it.
    "chat": {"service_level": ("100.0 %", "met", "\u00b10.0 pts"),
             "asa": ("6.5 s", "met", "\u221223.5 s"),
             "offered": ("2", None, "\u00b10")},
}
