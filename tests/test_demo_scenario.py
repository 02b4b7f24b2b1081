"""The built-in demo is a sensible centre: it meets its per-channel service-level targets on
most days, and the README's what-if (more shrinkage) breaks them."""

from __future__ import annotations

import kpiforge
from kpiforge.simulations import builtin_scenario, simulate

#: The usual per-channel service-level thresholds, the built-in defaults.
THRESHOLDS = {"call": 20, "chat": 60, "email": 86400}


def days_meeting_target(overrides=None) -> dict[str, int]:
    """Days each channel meets 80 % under the default (per-channel) thresholds, checked
    against one run per channel with that channel's threshold as a single number."""
    tables = simulate(builtin_scenario("demo", overrides)).tables()
    defaults = kpiforge.compute(tables, kpis=["service_level"], by=["channel"], grain="1d")
    met = {}
    for channel, threshold in THRESHOLDS.items():
        single = kpiforge.compute(tables, kpis=["service_level"], by=["channel"],
                                  grain="1d", params={"sl_threshold_s": threshold})
        days = [r["service_level"] for r in defaults.to_records() if r["channel"] == channel]
        assert days == [r["service_level"] for r in single.to_records()
                        if r["channel"] == channel]
        assert len(days) == 7
        met[channel] = sum(level >= 0.8 for level in days)
    return met


def test_the_demo_meets_its_targets_on_most_days():
    assert all(met >= 5 for met in days_meeting_target().values())


def test_more_shrinkage_breaks_the_demo():
    met = days_meeting_target({"staffing.shrinkage": "0.25"})
    assert met["call"] == 0 and met["chat"] <= 2
