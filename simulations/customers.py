"""The customer base: who the contacts come from, and what their service does to them.

A scenario's optional ``[customers]`` section (see the planner's guide) states the base:
``count`` customers on ``plans`` (or one plan at ``revenue_per_month``), ``margin`` of
revenue kept, ``monthly_churn``, ``upsell``, ``cross_sell`` and ``downgrade`` rates per
month, ``new_per_month`` joining, over ``months`` reported months. ``[customers.service]``
says how the service each customer got moves them (:class:`ServiceModel`).

The simulated days are the service sample: each customer's contacts in the run (late
minutes waited, abandoned, unresolved, repeat and escalated contacts), scaled to a month,
give their **service strain** ``b``; from ``lag_months`` after joining, their monthly churn
and downgrade hazards are the base rates times ``1 + b`` and their upsell and cross-sell
rates the base rates divided by ``1 + b``. The **health score** ``100 / (1 + b)`` is the
leading indicator: it shows the strain at once, months before churn does. Survey answers
respond to the same service through the ``[satisfaction]`` model. With ``effect = false``
(or every weight 0) the service moves nothing and the rates are the base rates.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

import attrs
import numpy as np
import pyarrow as pa

from kpiforge.simulations.sections import DAY_S, MAX_POINTS, Section, number, text

#: The most customer-month rows a run may hold (the ``customers`` table, in memory).
MAX_CUSTOMER_ROWS = 50_000_000
MAX_MONTHS = 120
#: Days in an average month: a run's service is scaled from its days to a month.
MONTH_DAYS = 30.4375
#: The strain weights of :class:`ServiceModel`, as ``[customers.service]`` keys.
WEIGHTS = ("per_late_minute", "per_abandoned", "per_unresolved", "per_repeat",
           "per_escalated")


@attrs.frozen
class Plan:
    """A plan (tier): its name, the share of customers starting on it, its monthly charge."""

    name: str
    share: float
    revenue_per_month: float


@attrs.frozen
class ServiceModel:
    """How a customer's service moves them: strain ``b`` per month is the sum of each
    weight times the customer's count of that experience in a month (``per_late_minute``:
    per minute waited beyond the channel's ``wait_tolerance_s``); it acts ``lag_months``
    after the customer joins; ``effect = false`` switches it off (health still shows it)."""

    effect: bool = True
    lag_months: int = 1
    per_late_minute: float = 0.02
    per_abandoned: float = 0.5
    per_unresolved: float = 0.5
    per_repeat: float = 0.25
    per_escalated: float = 0.25


@attrs.frozen
class CustomerBase:
    """A scenario's ``[customers]`` section, validated."""

    count: int
    monthly_churn: float
    margin: float
    plans: tuple[Plan, ...]
    upsell: float = 0.0
    cross_sell: float = 0.0
    cross_sell_revenue: float = 0.0
    downgrade: float = 0.0
    new_per_month: int = 0
    months: int = 12
    service: ServiceModel = ServiceModel()

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "count": self.count, "monthly_churn": self.monthly_churn, "margin": self.margin,
            "upsell": self.upsell, "cross_sell": self.cross_sell,
            "cross_sell_revenue": self.cross_sell_revenue, "downgrade": self.downgrade,
            "new_per_month": self.new_per_month, "months": self.months,
            "plans": [attrs.asdict(p) for p in self.plans],
            "service": attrs.asdict(self.service),
        }
        return out


def parse_customers(s: Section) -> CustomerBase:
    """``[customers]``; errors name the key (``customers.plans[1].share``)."""
    rate = number(0, 1)
    count = s.take("count", number(1, 10**8, integer=True))
    revenue = s.take("revenue_per_month", number(0), None)
    listed = s.items("plans") if "plans" in s.data else None
    if (revenue is None) == (listed is None):
        s.fail("give revenue_per_month (one plan) or [[customers.plans]] (name, share, "
               "revenue_per_month each), not both" if listed else
               "needs revenue_per_month (or [[customers.plans]])", "revenue_per_month")
    plans = (Plan("standard", 1.0, revenue),) if listed is None else _plans(s, listed)
    base = CustomerBase(
        count=count, monthly_churn=s.take("monthly_churn", rate),
        margin=s.take("margin", rate), plans=plans,
        upsell=s.take("upsell", rate, 0.0), cross_sell=s.take("cross_sell", rate, 0.0),
        cross_sell_revenue=s.take("cross_sell_revenue", number(0),
                                  0.2 * min(p.revenue_per_month for p in plans)),
        downgrade=s.take("downgrade", rate, 0.0),
        new_per_month=s.take("new_per_month", number(0, 10**7, integer=True), 0),
        months=s.take("months", number(1, MAX_MONTHS, integer=True), 12),
        service=_service(s.section("service", {})))
    rows = (base.count + base.new_per_month * base.months) * base.months
    if rows > MAX_CUSTOMER_ROWS:
        s.fail(f"(count + new_per_month x months) x months is {rows:,} customer-month rows, "
               f"beyond the {MAX_CUSTOMER_ROWS:,} a run holds: fewer customers or months",
               "count")
    s.done()
    return base


def _plans(s: Section, listed: list[Section]) -> tuple[Plan, ...]:
    plans = []
    for item in listed:
        plans.append(Plan(item.take("name", text), item.take("share", number(0, above=True)),
                          item.take("revenue_per_month", number(0))))
        item.done()
    if not plans:
        s.fail("needs at least one plan", "plans")
    names = [p.name for p in plans]
    if len(set(names)) < len(names):
        s.fail(f"plan names must differ, got {names}", "plans")
    total = sum(p.share for p in plans)
    # Upsell moves a customer one plan up in charge, downgrade one down.
    ordered = sorted(plans, key=lambda p: p.revenue_per_month)
    return tuple(attrs.evolve(p, share=p.share / total) for p in ordered)


def _service(s: Section) -> ServiceModel:
    defaults = ServiceModel()
    effect = s.take("effect", _boolean, defaults.effect)
    lag = s.take("lag_months", number(0, MAX_MONTHS, integer=True), defaults.lag_months)
    weights = {key: s.take(key, number(0, MAX_POINTS), getattr(defaults, key))
               for key in WEIGHTS}
    s.done()
    return ServiceModel(effect, lag, **weights)


def _boolean(value: Any) -> bool:
    if not isinstance(value, bool):
        raise ValueError(f"must be true or false, got {value!r}")
    return value


# --- the model ----------------------------------------------------------------------------


def service_strain(base: CustomerBase, contacts: pa.Table, tolerance_s: Sequence[float],
                   days: int) -> np.ndarray:
    """Each of the ``count`` customers' strain per month (customer ``i`` has
    ``customer_id`` ``i + 1``) from their contacts in a run of ``days`` days;
    ``tolerance_s``: each channel's wait tolerance, by channel code."""
    model = base.service
    column = {name: contacts.column(name).to_numpy(zero_copy_only=False)
              for name in ("arrived_s", "answered_s", "abandoned_s", "resolved_s",
                           "escalated", "case_id")}
    customer = contacts.column("customer_id").to_numpy(zero_copy_only=False).astype(np.int64) - 1
    channel = contacts.column("channel").combine_chunks().indices.to_numpy(
        zero_copy_only=False).astype(np.int64)
    answered = ~np.isnan(column["answered_s"])
    late_s = np.maximum((column["answered_s"] - column["arrived_s"])
                        - np.asarray(tolerance_s, dtype=float)[channel], 0)
    unresolved = answered & np.isnan(column["resolved_s"])
    _, first = np.unique(column["case_id"], return_index=True)
    repeat = np.ones(len(customer), dtype=bool)
    repeat[first] = False
    per_contact = (model.per_late_minute * np.where(answered, late_s, 0) / 60
                   + model.per_abandoned * ~np.isnan(column["abandoned_s"])
                   + model.per_unresolved * unresolved + model.per_repeat * repeat
                   + model.per_escalated * np.nan_to_num(column["escalated"]))
    strain = np.bincount(customer, weights=per_contact, minlength=base.count)
    return strain[:base.count] * (MONTH_DAYS / days)


def month_starts(start: dt.date, months: int) -> np.ndarray:
    """Each reported month's ``period``, in seconds from ``start``'s midnight: month 0 at
    0, month ``m`` at the first day of the ``m``-th calendar month after ``start``'s."""
    out = [0.0]
    for m in range(1, months):
        year, month = divmod(start.month - 1 + m, 12)
        first = dt.date(start.year + year, month + 1, 1)
        out.append(float((first - start).days * DAY_S))
    return np.asarray(out)


def customers_table(base: CustomerBase, strain: np.ndarray, start: dt.date,
                    draw: Any) -> pa.Table:
    """The ``customers`` table: one row per customer and month they are active in.

    ``draw(purpose, month)`` gives the named stream of a kind of draw and month, so each
    kind (churn, upsell...) stays the same whatever the others draw. A customer who churns
    pays that month and is gone from the next; upsell, cross-sell and downgrade change the
    charge from the next month.
    """
    months, joining = base.months, base.new_per_month
    total = base.count + joining * months
    # Month joined: -1 for the customers there before the run.
    joined = np.concatenate([np.full(base.count, -1, dtype=np.int64),
                             np.repeat(np.arange(months), joining)])
    acts_from = np.maximum(joined, 0) + base.service.lag_months
    shares = [p.share for p in base.plans]
    plan = draw("plans", 0).choice(len(base.plans), size=total, p=shares)
    # New customers get the service of customers drawn from the simulated ones.
    strain = np.concatenate([strain, strain[draw("new", 0).integers(
        0, base.count, total - base.count)]]) if total > base.count else strain
    acting = strain if base.service.effect else np.zeros_like(strain)
    charges = np.array([p.revenue_per_month for p in base.plans])
    alive = np.ones(total, dtype=bool)
    cross = np.zeros(total, dtype=bool)
    health = 100 / (1 + strain)
    periods = month_starts(start, months)
    pieces = []
    for m in range(months):
        present = alive & (joined <= m)
        rows = np.flatnonzero(present)
        factor = np.where(m >= acts_from[rows], 1 + acting[rows], 1.0)
        churned = draw("churn", m).random(total)[rows] < base.monthly_churn * factor
        stay = ~churned
        top = plan[rows] == len(base.plans) - 1
        downgraded = stay & (plan[rows] > 0) & \
            (draw("downgrade", m).random(total)[rows] < base.downgrade * factor)
        upsold = stay & ~downgraded & ~top & \
            (draw("upsell", m).random(total)[rows] < base.upsell / factor)
        cross_sold = stay & ~cross[rows] & \
            (draw("cross_sell", m).random(total)[rows] < base.cross_sell / factor)
        revenue = charges[plan[rows]] + base.cross_sell_revenue * cross[rows]
        pieces.append({
            "customer_id": rows + 1, "period": np.full(len(rows), periods[m]),
            "active_start": (joined[rows] < m).astype(float),
            "active_end": stay.astype(float), "new": (joined[rows] == m).astype(float),
            "churned": churned.astype(float), "downgraded": downgraded.astype(float),
            "upsold": upsold.astype(float), "cross_sold": cross_sold.astype(float),
            "revenue": revenue, "margin": revenue * base.margin, "health": health[rows],
            "plan": plan[rows]})
        alive[rows[churned]] = False
        plan[rows] += upsold.astype(np.int64) - downgraded.astype(np.int64)
        cross[rows[cross_sold]] = True
    columns = {key: np.concatenate([p[key] for p in pieces]) for key in pieces[0]}
    columns["plan"] = pa.DictionaryArray.from_arrays(columns["plan"].astype(np.int32),
                                                     [p.name for p in base.plans])
    return pa.table(columns)
