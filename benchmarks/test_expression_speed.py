"""Parsing expressions takes time proportional to their length: a plugin's expressions are
parsed on every start, so a long one must not cost more than its size (it once took
quadratic time, over 60 s for a 20,000-term ``min``)."""

from __future__ import annotations

import time

import pytest

from kpiforge.expressions import Expression


def min_of(terms: int) -> str:
    """``min(offered, offered, ...)``: about 9 characters per term."""
    return f"min({', '.join(['offered'] * terms)})"


def best_parse_time(text: str, rounds: int = 5) -> float:
    """The fastest of ``rounds`` parses of ``text``, in seconds."""
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        Expression.parse(text)
        times.append(time.perf_counter() - start)
    return min(times)


@pytest.mark.benchmark(group="expression-parse")
def test_parse_time_grows_with_the_length(benchmark):
    """2,000 terms against 200 (10x the length): about 10x the time; quadratic would be 100x."""
    short = best_parse_time(min_of(200))
    long = benchmark.pedantic(best_parse_time, args=(min_of(2000),), rounds=1, iterations=1)
    benchmark.extra_info.update(short_s=short, long_s=long, ratio=long / short)
    assert long / short < 25
