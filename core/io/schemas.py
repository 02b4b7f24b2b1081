"""The three tables' standard columns, and the checks every row of them must pass."""

from __future__ import annotations

from collections.abc import Callable, Mapping

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

    @property
    def columns(self) -> tuple[str, ...]:
        return self.numeric + self.text


SCHEMAS: dict[str, TableSchema] = {
    "contacts": TableSchema(
        name="contacts",
        time_column="arrived_s",
        required=("arrived_s",),
        numeric=("arrived_s", "answered_s", "abandoned_s", "handle_s", "acw_s", "resolved_s",
                 "replies", "touches", "escalated", "csat", "nps"),
        text=("contact_id", "case_id", "channel", "queue", "customer_id", "agent"),
        times=("arrived_s", "answered_s", "abandoned_s", "resolved_s"),
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

Columns = Mapping[str, np.ndarray]


@attrs.frozen
class RowRule:
    """A condition every row must meet where ``column`` has a value.

    ``breaks`` gets the table's columns (``reads`` are present) and returns, per row,
    whether the row breaks the rule (a missing value breaks none: comparisons with NaN are
    false, so most rules are one comparison); ``meaning`` says what a breaking value is, as
    in "answered_s 12 is before arrived_s".
    """

    column: str
    reads: tuple[str, ...]
    breaks: Callable[[Columns], np.ndarray]
    meaning: str


def _at_least(column: str, other: str) -> RowRule:
    return RowRule(column, (column, other), lambda c: c[column] < c[other],
                   f"is before {other}")


def _not_negative(column: str) -> RowRule:
    return RowRule(column, (column,), lambda c: c[column] < 0, "is negative")


def _within(column: str, low: float, high: float, scale: str) -> RowRule:
    return RowRule(column, (column,), lambda c: (c[column] < low) | (c[column] > high),
                   f"is outside the {scale} scale")


RULES: dict[str, tuple[RowRule, ...]] = {
    "contacts": (
        _at_least("answered_s", "arrived_s"),
        _at_least("abandoned_s", "arrived_s"),
        _at_least("resolved_s", "arrived_s"),
        RowRule("abandoned_s", ("answered_s", "abandoned_s"),
                lambda c: ~np.isnan(c["answered_s"]) & ~np.isnan(c["abandoned_s"]),
                "is set although answered_s is set too (a contact is answered or abandoned, "
                "not both)"),
        *(_not_negative(c) for c in ("handle_s", "acw_s", "replies", "touches")),
        _within("csat", 1, 5, "1-5"),
        _within("nps", 0, 10, "0-10"),
    ),
    "agent_intervals": tuple(
        _not_negative(column)
        for column in ("interval_s", "staffed_s", "available_s", "handling_s", "shrinkage_s")
    ),
    "customers": (),
}
