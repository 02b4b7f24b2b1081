"""Erlang B, C and A against values computed here by other methods (factorial sums, a direct
birth-death chain with matrix exponentials), never by the code under test."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.linalg import expm

from kpiforge import KpiforgeError
from kpiforge.simulations.erlang import erlang_a, erlang_b, erlang_c, required_agents


def erlang_b_by_sums(a: float, n: int) -> float:
    terms = [a ** k / math.factorial(k) for k in range(n + 1)]
    return terms[-1] / sum(terms)


def erlang_c_by_sums(a: float, n: int) -> float:
    below = sum(a ** k / math.factorial(k) for k in range(n))
    top = a ** n / math.factorial(n) * n / (n - a)
    return top / (below + top)


@pytest.mark.parametrize(("a", "n"), [(10.0, 11), (2.5, 3), (0.5, 1), (30.0, 40), (7.3, 5)])
def test_erlang_b(a, n):
    assert erlang_b(a, n) == pytest.approx(erlang_b_by_sums(a, n), rel=1e-10)


def test_erlang_b_published_table():
    # Classic Erlang B table: 5 trunks at 2% blocking carry 1.66 Erlangs.
    assert erlang_b(1.66, 5) == pytest.approx(0.02, abs=5e-4)


@pytest.mark.parametrize(("calls", "aht", "n", "target"),
                         [(200, 180, 11, 20), (100, 300, 10, 30), (720, 240, 55, 15)])
def test_erlang_c(calls, aht, n, target):
    a = calls * aht / 3600
    c = erlang_c_by_sums(a, n)
    m = erlang_c(calls, 3600, aht, n, target)
    assert m.wait_probability == pytest.approx(c, rel=1e-10)
    assert m.service_level == pytest.approx(1 - c * math.exp(-(n - a) * target / aht), rel=1e-10)
    assert m.asa == pytest.approx(c * aht / (n - a), rel=1e-10)
    assert m.occupancy == pytest.approx(a / n)


def test_erlang_c_unstable_and_vectorised():
    m = erlang_c(200, 3600, 180, np.array([5, 10, 11, 400]), 20)
    assert list(m.wait_probability[:2]) == [1, 1]
    assert list(m.service_level[:2]) == [0, 0]
    assert np.isinf(m.asa[:2]).all()
    assert m.wait_probability[3] < 1e-12  # 400 agents for 10 Erlangs, no overflow
    assert m.service_level[3] == pytest.approx(1)


def test_erlang_c_large_centre_is_stable():
    m = erlang_c(20000, 3600, 180, 1100, 20)  # 1000 Erlangs
    assert 0 < m.wait_probability < 0.01
    assert np.isfinite(m.asa)


def birth_death_erlang_a(lam, mu, theta, n, target, depth=400):
    """Erlang A by brute force: stationary law of the truncated chain by a linear solve;
    service within target and mean wait from matrix exponentials of the wait chain."""
    states = n + depth
    q = np.zeros((states, states))
    for k in range(states - 1):
        q[k, k + 1] = lam
        q[k + 1, k] = min(k + 1, n) * mu + max(k + 1 - n, 0) * theta
    np.fill_diagonal(q, -q.sum(axis=1))
    system = np.vstack([q.T, np.ones(states)])
    p = np.linalg.lstsq(system, np.r_[np.zeros(states), 1.0], rcond=None)[0]
    served_in_time, wait_served, abandon = p[:n].sum(), 0.0, 0.0
    for j in range(depth - 1):
        if p[n + j] < 1e-14:
            continue
        # Transient states i = 0..j (j - i contacts still ahead); exits: served, abandoned.
        size = j + 1
        g = np.zeros((size, size))
        to_service = np.zeros(size)
        for i in range(size):
            ahead = j - i
            if ahead > 0:
                g[i, i + 1] = n * mu + ahead * theta
            else:
                to_service[i] = n * mu
            g[i, i] = -(n * mu + ahead * theta + theta)
        inverse = np.linalg.inv(g)
        served = -(inverse @ to_service)[0]
        full = np.zeros((size + 1, size + 1))
        full[:size, :size], full[:size, size] = g, to_service
        served_in_time += p[n + j] * expm(full * target)[0, size]
        abandon += p[n + j] * (1 - served)
        wait_served += p[n + j] * (inverse @ inverse @ to_service)[0]  # E[W; served]
    return served_in_time, abandon, wait_served / (1 - abandon), p[n:].sum()


@pytest.mark.parametrize(("calls", "aht", "n", "patience", "target"), [
    (200, 180, 11, 120, 20), (200, 180, 8, 300, 20), (90, 240, 4, 60, 30),
])
def test_erlang_a_matches_a_birth_death_chain(calls, aht, n, patience, target):
    sl, abandon, asa, wait = birth_death_erlang_a(calls / 3600, 1 / aht, 1 / patience, n,
                                                  target, depth=120)
    m = erlang_a(calls, 3600, aht, n, target, patience)
    assert m.wait_probability == pytest.approx(wait, rel=1e-6)
    assert m.abandon_rate == pytest.approx(abandon, rel=1e-4)
    assert m.service_level == pytest.approx(sl, rel=1e-6)
    assert m.asa == pytest.approx(asa, rel=1e-6)


def test_erlang_a_with_few_agents_stays_finite():
    m = erlang_a(200, 3600, 180, np.array([0, 3, 10]), 20, 120)
    assert m.service_level[0] == 0 and m.abandon_rate[0] == pytest.approx(1)
    assert np.isinf(m.asa[0])
    assert 0 < m.abandon_rate[1] < 1 and np.isfinite(m.asa[1])
    assert m.abandon_rate[2] < m.abandon_rate[1]


def test_erlang_a_approaches_erlang_c_as_patience_grows():
    a = erlang_a(200, 3600, 180, 12, 20, 1e7)
    c = erlang_c(200, 3600, 180, 12, 20)
    assert a.service_level == pytest.approx(c.service_level, rel=1e-4)
    assert a.asa == pytest.approx(c.asa, rel=1e-3)


def test_required_agents_is_the_fewest_meeting_the_target():
    for patience in (None, 120):
        n = required_agents(200, 3600, 180, 0.8, 20, patience)
        sl = [erlang_a(200, 3600, 180, k, 20, patience).service_level if patience
              else 1 - erlang_c_by_sums(10, k) * math.exp(-(k - 10) * 20 / 180)
              for k in (n - 1, n)]
        assert sl[0] < 0.8 <= sl[1]
    assert list(required_agents(np.array([100, 200, 400]), 3600, 180, 0.8, 20)) == [
        required_agents(c, 3600, 180, 0.8, 20) for c in (100, 200, 400)]


@pytest.mark.parametrize(("call", "message"), [
    (lambda: erlang_c(200, 3600, 180, 10.5, 20), "whole numbers"),
    (lambda: erlang_a(200, 3600, 180, 10, 20, 0), "patience_s must be > 0"),
    (lambda: required_agents(200, 3600, 180, 1.0, 20), "between 0 and 1"),
])
def test_bad_arguments(call, message):
    with pytest.raises(KpiforgeError, match=message):
        call()
