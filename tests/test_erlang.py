"""Erlang B, C and A against values computed here by other methods (factorial sums, a direct
birth-death chain with matrix exponentials), never by the code under test."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.sparse.linalg import expm_multiply

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
    # Oracles: Erlang's factorial sums for P(wait); the birth-death chain (no abandonment)
    # for service level and ASA, so the closed forms under test are not their own check.
    a = calls * aht / 3600
    sl, _, asa, wait = birth_death(calls / 3600, 1 / aht, 0.0, n, target,
                                   depth=int(37 / math.log(n / a)))
    m = erlang_c(calls, 3600, aht, n, target)
    assert m.wait_probability == pytest.approx(erlang_c_by_sums(a, n), rel=1e-10)
    assert m.wait_probability == pytest.approx(wait, rel=1e-8)
    assert m.service_level == pytest.approx(sl, rel=1e-8)
    assert m.asa == pytest.approx(asa, rel=1e-6)
    assert m.occupancy == pytest.approx(a / n)


def test_no_agents_have_no_occupancy():
    assert np.isnan(erlang_c(200, 3600, 180, 0, 20).occupancy)
    assert np.isnan(erlang_a(200, 3600, 180, 0, 20, 120).occupancy)
    assert list(np.isnan(erlang_c(200, 3600, 180, np.array([0, 12]), 20).occupancy)) == [
        True, False]


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


def birth_death(lam, mu, theta, n, target, depth=400):
    """Erlang A (``theta`` > 0) or C (``theta`` = 0) by brute force, without the formulas
    under test: the stationary law of the truncated birth-death chain by a linear solve,
    then the fate of a tagged arrival as an absorbing chain over how many are still ahead
    of it (the action of one matrix exponential gives service within the target from every
    start)."""
    states = n + depth
    q = np.zeros((states, states))
    for k in range(states - 1):
        q[k, k + 1] = lam
        q[k + 1, k] = min(k + 1, n) * mu + max(k + 1 - n, 0) * theta
    np.fill_diagonal(q, -q.sum(axis=1))
    system = np.vstack([q.T[:-1], np.ones(states)])  # balance equations, total 1
    p = np.linalg.solve(system, np.r_[np.zeros(states - 1), 1.0])
    # Tagged chain: state i = contacts ahead (0..depth-1), then served, then abandoned.
    g = np.zeros((depth + 2, depth + 2))
    for i in range(depth):
        if i > 0:
            g[i, i - 1] = n * mu + i * theta  # one ahead served or gone
        else:
            g[i, depth] = n * mu  # the tagged contact reaches an agent
        g[i, depth + 1] = theta
        g[i, i] = -(n * mu + i * theta + theta)
    seen = p[n:n + depth]  # finds n + j present: j contacts ahead of it
    # Column 'served' of exp(G T): the probability of being served by T from each state.
    in_time = expm_multiply(g * target, np.eye(depth + 2)[depth])[:depth]
    transient = g[:depth, :depth]
    served = -np.linalg.solve(transient, g[:depth, depth])
    wait_served = np.linalg.solve(transient, np.linalg.solve(transient, g[:depth, depth]))
    abandon = seen @ (1 - served)
    sl = p[:n].sum() + seen @ in_time
    return sl, abandon, (seen @ wait_served) / (1 - abandon), seen.sum()


@pytest.mark.parametrize(("calls", "aht", "n", "patience", "target"), [
    (200, 180, 11, 120, 20), (200, 180, 8, 300, 20), (90, 240, 4, 60, 30),
])
def test_erlang_a_matches_a_birth_death_chain(calls, aht, n, patience, target):
    sl, abandon, asa, wait = birth_death(calls / 3600, 1 / aht, 1 / patience, n, target,
                                         depth=120)
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


@pytest.fixture(scope="module")
def chain_service_levels():
    """Service level at 0..24 agents by the birth-death chain, for 200 calls an hour of
    180 s, 20 s target: Erlang C (no abandonment: no steady state, so service level 0, at
    10 agents or fewer) and Erlang A with a mean patience of 120 s."""
    lam, mu = 200 / 3600, 1 / 180
    # Erlang C's queue tail falls like (10 / k)^j: truncate where it is below 1e-16.
    c = [0.0 if k <= 10 else birth_death(lam, mu, 0.0, k, 20,
                                         depth=int(37 / math.log(k / 10)))[0]
         for k in range(25)]
    a = [birth_death(lam, mu, 1 / 120, k, 20, depth=80)[0] for k in range(25)]
    return {None: c, 120: a}


@pytest.mark.parametrize("patience", [None, 120])
@pytest.mark.parametrize("target", [round(0.1 + 0.05 * i, 2) for i in range(18)])
def test_required_agents_is_the_brute_force_fewest(chain_service_levels, patience, target):
    levels = chain_service_levels[patience]
    fewest = next(k for k, level in enumerate(levels) if level >= target)
    assert required_agents(200, 3600, 180, target, 20, patience) == fewest


def test_required_agents_low_target_with_patience():
    # The case: 7 agents already answer 28.8 % within 20 s.
    assert required_agents(200, 3600, 180, 0.2, 20, 120) == 7


def test_required_agents_vectorised_equals_one_by_one():
    calls = np.linspace(0, 4000, 600)  # enough intervals for the sampled starting guess
    for patience in (None, 120):
        together = required_agents(calls, 3600, 180, 0.8, 20, patience)
        assert together[0] == 0  # no calls, no agents
        for i in range(0, 600, 37):
            assert together[i] == required_agents(calls[i], 3600, 180, 0.8, 20, patience)


@pytest.mark.parametrize(("call", "message"), [
    (lambda: erlang_c(200, 3600, 180, 10.5, 20), "whole numbers"),
    (lambda: erlang_a(200, 3600, 180, 10, 20, 0), "patience_s must be > 0"),
    (lambda: required_agents(200, 3600, 180, 1.0, 20), "between 0 and 1"),
])
def test_bad_arguments(call, message):
    with pytest.raises(KpiforgeError, match=message):
        call()
