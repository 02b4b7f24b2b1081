"""The three tables' standard columns, and the checks every row of them must pass."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import attrs
import numpy as np


@attrs.frozen
class TableSchema:
    """Standard columns of one table: which hold text, which times (numbers or ISO 8601
    text, read one way on every path), which flags (booleans allowed), and which is its time
    axis."""

    name: str
    time_column: str
    required: tuple[str, ...]
    numeric: tuple[str, ...]
    text: tuple[str, ...]
    times: tuple[str, ...] = ()
    flags: tuple[str, ...] = ()
    #: The column giving how long each row lasts from its time (its sums are spread over
    #: the grain's intervals it overlaps), or None: a row is an instant.
    span_column: str | None = None
    #: Times of ways a row may end that many sources never record (a ticket export has no
    #: abandonment): a snapshot's ``until`` reads a missing one as never set.
    optional_ends: tuple[str, ...] = ()

    @property
    def columns(self) -> tuple[str, ...]:
        return self.numeric + self.text


SCHEMAS: dict[str, TableSchema] = {
    "contacts": TableSchema(
        name="contacts",
        time_column="arrived_s",
        required=("arrived_s",),
        numeric=("arrived_s", "answered_s", "abandoned_s", "handle_s", "acw_s", "resolved_s",
                 "closed_s", "replies", "touches", "escalated", "csat", "nps"),
        text=("contact_id", "case_id", "channel", "queue", "customer_id", "agent"),
        times=("arrived_s", "answered_s", "abandoned_s", "resolved_s", "closed_s"),
        optional_ends=("abandoned_s", "closed_s"),
        flags=("escalated",),
    ),
    "agent_intervals": TableSchema(
        name="agent_intervals",
        time_column="interval_start_s",
        required=("agent", "interval_start_s"),
        numeric=("interval_start_s", "interval_s", "staffed_s", "available_s", "handling_s",
                 "shrinkage_s", "cost"),
        text=("agent",),
        times=("interval_start_s",),
        span_column="interval_s",
    ),
    "customers": TableSchema(
        name="customers",
        time_column="period",
        required=("customer_id", "period"),
        numeric=("period", "active_start", "active_end", "new", "churned", "downgraded",
                 "upsold", "cross_sold", "revenue", "margin", "health"),
        text=("customer_id",),
        times=("period", "active_start", "active_end"),
        flags=("new", "churned", "downgraded", "upsold", "cross_sold"),
    ),
}

#: What each standard column holds, for messages that teach the schema.
MEANINGS: dict[str, str] = {
    "arrived_s": "when the contact arrived",
    "answered_s": "when it was answered or first replied to (empty if never)",
    "abandoned_s": "when the customer gave up waiting (empty if not)",
    "resolved_s": "when it was resolved (empty if not)",
    "closed_s": "when it was closed without a resolution (empty if resolved or still open)",
    "handle_s": "talk or handling time, in seconds",
    "acw_s": "after-contact work time, in seconds",
    "replies": "agent replies, a count",
    "touches": "interactions it took, a count",
    "escalated": "1 if escalated, else 0",
    "csat": "satisfaction rating on a 1-5 scale",
    "nps": "likelihood to recommend on a 0-10 scale",
    "contact_id": "the contact's ID", "case_id": "the case it belongs to",
    "channel": "call, chat, email...", "queue": "the queue or group",
    "customer_id": "the customer's ID", "agent": "the agent's ID or name",
    "interval_start_s": "when the agent's interval starts",
    "interval_s": "the interval's length, in seconds",
    "staffed_s": "seconds staffed in the interval",
    "available_s": "seconds available in the interval",
    "handling_s": "seconds handling contacts in the interval",
    "shrinkage_s": "seconds lost to breaks, training... in the interval",
    "cost": "the interval's cost",
    "period": "the start of the period the row describes",
    "active_start": "1 if the customer was active at the period's start",
    "active_end": "1 if active at the period's end", "new": "1 if new in the period",
    "churned": "1 if the customer left in the period", "downgraded": "1 if downgraded",
    "upsold": "1 if upsold", "cross_sold": "1 if cross-sold", "revenue": "revenue",
    "margin": "margin", "health": "a health score",
}
#: The columns of a case (the contacts sharing a ``case_id``), which measures with
#: ``per="case"`` read: what each holds.
CASE_COLUMNS: dict[str, str] = {
    "arrived_s": "when the case's first contact arrived",
    "repeat_s": "when its second contact arrived (empty with one contact)",
    "resolved_s": "its last resolution, when no contact arrived after it (empty: open)",
    "first_resolved_s": "when its first contact was resolved (empty if not)",
    "contacts": "how many contacts it has",
}
#: The contacts columns the case state reads.
CASE_READS = ("case_id", "arrived_s", "resolved_s")
#: The time columns: points in time, not durations.
TIMES = ("arrived_s", "answered_s", "abandoned_s", "resolved_s", "interval_start_s", "period")
#: Where to turn for an export whose columns are not the schema's.
MAPPING_ADVICE = ("to read an export as it is, map its columns with a mapping file or a "
                  "preset (--map FILE.toml|PRESET, `kpiforge import --list`; mapping= in "
                  "Python)")


def meaning(column: str) -> str:
    """``column (what it holds[; times: in what form])`` for a standard column, else the
    column's name."""
    if column not in MEANINGS:
        return repr(column)
    form = ": seconds since the epoch (1970-01-01), or timestamps in a Parquet, Arrow or " \
        "pandas column" if column in TIMES else ""
    return f"{column!r} ({MEANINGS[column]}{form})"


Columns = Mapping[str, np.ndarray]


@attrs.frozen
class RowRule:
    """A condition every row must meet where ``column`` has a value.

    ``breaks`` gets the table's columns (``reads`` are present), and the run's values of
    ``params``, and returns, per row, whether the row breaks the rule (a missing value
    breaks none: comparisons with NaN are false, so most rules are one comparison);
    ``meaning`` says what a breaking value is, as in "answered_s 12 is before arrived_s",
    with ``{param}`` fields filled from the parameters. A rule reading parameters is checked
    by the engine, which knows their values; the others when the data is read.
    """

    column: str
    reads: tuple[str, ...]
    breaks: Callable[[Mapping[str, Any]], np.ndarray]
    meaning: str
    params: tuple[str, ...] = ()


def _at_least(column: str, other: str) -> RowRule:
    return RowRule(column, (column, other), lambda c: c[column] < c[other],
                   f"is before {other}")


def _not_negative(column: str) -> RowRule:
    return RowRule(column, (column,), lambda c: c[column] < 0, "is negative")


def _within(column: str, low: str, high: str) -> RowRule:
    """``column`` within the scale the parameters ``low`` and ``high`` give."""
    return RowRule(column, (column,), lambda c: (c[column] < c[low]) | (c[column] > c[high]),
                   f"is outside the {{{low}:g}}-{{{high}:g}} scale (parameters {low}, {high})",
                   params=(low, high))


def _within_fixed(column: str, low: float, high: float, scale: str) -> RowRule:
    return RowRule(column, (column,), lambda c: (c[column] < low) | (c[column] > high),
                   f"is outside the {scale} scale")


RULES: dict[str, tuple[RowRule, ...]] = {
    "contacts": (
        _at_least("answered_s", "arrived_s"),
        _at_least("abandoned_s", "arrived_s"),
        _at_least("resolved_s", "arrived_s"),
        _at_least("closed_s", "arrived_s"),
        RowRule("abandoned_s", ("answered_s", "abandoned_s"),
                lambda c: ~np.isnan(c["answered_s"]) & ~np.isnan(c["abandoned_s"]),
                "is set although answered_s is set too (a contact is answered or abandoned, "
                "not both)"),
        *(_not_negative(c) for c in ("handle_s", "acw_s", "replies", "touches")),
        _within("csat", "csat_scale_min", "csat_scale_max"),
        _within_fixed("nps", 0, 10, "0-10"),
    ),
    "agent_intervals": tuple(
        _not_negative(column)
        for column in ("interval_s", "staffed_s", "available_s", "handling_s", "shrinkage_s")
    ),
    "customers": (),
}
