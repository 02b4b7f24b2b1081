"""Grains in a time zone against the same run in UTC, in memory, on the same data: the cost
of the zone (offsets per quarter hour, local calendar) as a ratio to the UTC run."""

from __future__ import annotations

import time

import pytest
from test_engine_speed import BY, KPIS

import kpiforge


def best_of(rounds: int, run) -> float:
    """The fastest of ``rounds`` runs, in seconds."""
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return min(times)


@pytest.mark.parametrize("grain", ["15min", "1d", "1mo"])
def test_zone_against_utc(benchmark, contacts_table, grain):
    def run(tz):
        return lambda: kpiforge.compute({"contacts": contacts_table}, kpis=KPIS, by=BY,
                                        grain=grain, tz=tz)

    utc = best_of(2, run(None))
    zoned = benchmark.pedantic(best_of, args=(2, run("Europe/Berlin")), rounds=1,
                               iterations=1)
    benchmark.extra_info.update(utc_s=utc, zone_s=zoned, ratio=zoned / utc)
