"""Write the small demo data set shipped in core/data/demo (one week, three channels).

Times are Unix seconds, so interval starts print as calendar time. Run from the repository
root: ``python scripts/make_demo_data.py``.
"""

from __future__ import annotations

import csv
import datetime as dt
from pathlib import Path

import numpy as np

OUT = Path(__file__).resolve().parent.parent / "core" / "data" / "demo"
WEEK_START = int(dt.datetime(2026, 11, 16, tzinfo=dt.UTC).timestamp())  # a Monday
CHANNELS = {"call": ("billing", "technical"), "chat": ("billing", "technical"),
            "email": ("general",)}


def contacts(rng: np.random.Generator) -> list[dict]:
    rows = []
    for day in range(7):
        volume = 420 if day == 0 else 330 if day < 5 else 120
        for _ in range(rng.poisson(volume)):
            channel = rng.choice(list(CHANNELS), p=[0.55, 0.3, 0.15])
            arrived = WEEK_START + day * 86400 + rng.uniform(8.5, 18.5) * 3600
            wait = rng.exponential({"call": 25, "chat": 40, "email": 5400}[channel])
            patience = rng.exponential({"call": 150, "chat": 300, "email": 1e9}[channel])
            answered = wait <= patience
            handle = rng.lognormal(np.log({"call": 240, "chat": 420, "email": 300}[channel]), 0.5)
            touches = 1 + rng.binomial(2, 0.12) if answered else 0
            resolved = answered and rng.random() < 0.9
            csat = rng.choice([1, 2, 3, 4, 5], p=[0.05, 0.07, 0.12, 0.36, 0.40]) \
                if answered and rng.random() < 0.3 else ""
            rows.append({
                "contact_id": f"C{len(rows) + 1:05d}",
                "channel": channel,
                "queue": rng.choice(CHANNELS[channel]),
                "customer_id": f"U{rng.integers(1, 900):04d}",
                "arrived_s": round(arrived, 1),
                "answered_s": round(arrived + wait, 1) if answered else "",
                "abandoned_s": "" if answered else round(arrived + patience, 1),
                "handle_s": round(handle, 1) if answered else "",
                "acw_s": round(rng.exponential(30), 1) if answered else "",
                "resolved_s": round(arrived + wait + handle + rng.exponential(3600) *
                                    (touches - 1), 1) if resolved else "",
                "replies": touches + (rng.integers(0, 3) if channel == "email" else 0),
                "touches": touches,
                "escalated": int(answered and rng.random() < 0.06),
                "agent": f"A{rng.integers(1, 19):02d}" if answered else "",
                "csat": csat,
                "nps": rng.integers(0, 11) if csat != "" else "",
            })
    rows.sort(key=lambda r: r["arrived_s"])
    return rows


def agent_intervals(rng: np.random.Generator) -> list[dict]:
    rows = []
    for agent in range(1, 19):
        for day in range(7 if agent <= 6 else 5):
            for half_hour in range(17, 37):
                shrink = float(rng.choice([0, 0, 0, 0, 300, 900, 1800]))
                available = 1800 - shrink
                rows.append({
                    "agent": f"A{agent:02d}",
                    "interval_start_s": WEEK_START + day * 86400 + half_hour * 1800,
                    "interval_s": 1800,
                    "staffed_s": 1800,
                    "available_s": available,
                    "handling_s": round(available * rng.uniform(0.6, 0.95), 1),
                    "shrinkage_s": shrink,
                    "cost": 12.5,
                })
    return rows


def customers(rng: np.random.Generator) -> list[dict]:
    rows = []
    months = [int(dt.datetime(2026, m, 1, tzinfo=dt.UTC).timestamp()) for m in (9, 10, 11)]
    active = {f"U{i:04d}" for i in range(1, 800)}
    next_id = 800
    for period in months:
        new = {f"U{next_id + i:04d}" for i in range(rng.poisson(40))}
        next_id += len(new)
        for customer in sorted(active | new):
            churned = customer in active and rng.random() < 0.025
            revenue = float(rng.choice([30, 30, 80, 200]))
            rows.append({
                "customer_id": customer, "period": period,
                "active_start": int(customer in active), "active_end": int(not churned),
                "new": int(customer in new), "churned": int(churned),
                "downgraded": int(not churned and rng.random() < 0.01),
                "upsold": int(not churned and rng.random() < 0.02),
                "cross_sold": int(not churned and rng.random() < 0.015),
                "revenue": revenue, "margin": round(revenue * 0.7, 2),
                "health": round(float(np.clip(rng.normal(72, 12), 0, 100)), 1),
            })
            if churned:
                active.discard(customer)
        active |= new
    return rows


def write(name: str, rows: list[dict]) -> None:
    with (OUT / f"{name}.csv").open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


if __name__ == "__main__":
    generator = np.random.default_rng(2026)
    OUT.mkdir(parents=True, exist_ok=True)
    write("contacts", contacts(generator))
    write("agent_intervals", agent_intervals(generator))
    write("customers", customers(generator))
