"""Analytic queueing references: Erlang B, Erlang C (M/M/n) and Erlang A (M/M/n+M).

A planner's first answer to "how many agents?" and the yardstick the simulator is validated
against. Every function broadcasts its arguments like a numpy ufunc (an array of intervals,
of agent counts, or both) and returns floats for scalar inputs.

Inputs are in planning units: ``calls`` arriving per ``interval_s`` seconds, mean handling
time ``aht_s``, ``agents`` (whole agents), answer target ``target_s``, and for Erlang A mean
patience ``patience_s`` (exponential). Offered load is ``A = calls * aht_s / interval_s``.

References
----------
.. [1] A. K. Erlang, "Solution of some problems in the theory of probabilities of
   significance in automatic telephone exchanges", 1917.
.. [2] A. Mandelbaum and S. Zeltyn, "Service engineering in action: the Palm/Erlang-A queue,
   with applications to call centers", 2007.
"""

from __future__ import annotations

from typing import Any

import attrs
import numpy as np
from scipy import special

from kpiforge.errors import KpiforgeError


@attrs.frozen
class QueueMetrics:
    """Steady-state answers for one staffing level (arrays broadcast from the inputs).

    ``service_level`` is answered within the target / offered; ``asa`` is the mean wait of
    answered contacts; ``abandon_rate`` is abandoned / offered (0 without abandonment).
    """

    wait_probability: Any
    service_level: Any
    asa: Any
    occupancy: Any
    abandon_rate: Any


def _out(value: np.ndarray, scalar: bool) -> Any:
    return float(value) if scalar else value


def _inputs(*values: Any) -> tuple[list[np.ndarray], bool]:
    scalar = all(np.ndim(v) == 0 for v in values)
    arrays = np.broadcast_arrays(*(np.asarray(v, dtype=np.float64) for v in values))
    return [np.array(a) for a in arrays], scalar


def _check_agents(agents: np.ndarray) -> None:
    if np.any(agents < 0) or np.any(agents != np.floor(agents)):
        raise KpiforgeError("agents must be whole numbers >= 0")


def erlang_b(traffic: Any, agents: Any) -> Any:
    """Blocking probability of an M/M/n/n loss system with ``traffic`` Erlangs.

    Computed as Poisson pmf / cdf through the regularised incomplete gamma function, which
    stays accurate for thousands of agents.

    >>> round(erlang_b(10.0, 11), 4)
    0.1632
    """
    (a, n), scalar = _inputs(traffic, agents)
    _check_agents(n)
    with np.errstate(divide="ignore", invalid="ignore"):
        log_pmf = special.xlogy(n, a) - a - special.gammaln(n + 1)
        blocking = np.exp(log_pmf) / special.gammaincc(n + 1, a)
    blocking = np.where(a <= 0, np.where(n == 0, 1.0, 0.0), blocking)
    return _out(blocking, scalar)


def erlang_c(calls: Any, interval_s: Any, aht_s: Any, agents: Any, target_s: Any
             ) -> QueueMetrics:
    """M/M/n with infinite patience (Erlang C).

    With ``agents <= traffic`` the queue grows without bound: wait probability 1, service
    level 0 and infinite ASA, without an exception.

    Notes
    -----
    ``C = n B / (n - A (1 - B))``, ``SL = 1 - C exp(-(n - A) T / aht)``,
    ``ASA = C aht / (n - A)``, occupancy ``A / n``.

    >>> m = erlang_c(calls=200, interval_s=3600, aht_s=180, agents=11, target_s=20)
    >>> round(m.wait_probability, 4), round(m.service_level, 4), round(m.asa, 2)
    (0.6821, 0.3896, 122.78)
    """
    (calls, interval_s, aht_s, n, target_s), scalar = _inputs(
        calls, interval_s, aht_s, agents, target_s)
    _check_agents(n)
    a = calls * aht_s / interval_s
    stable = n > a
    with np.errstate(divide="ignore", invalid="ignore"):
        b = np.asarray(erlang_b(a, n))
        wait = np.where(stable, n * b / (n - a * (1 - b)), 1.0)
        sl = np.where(stable, 1 - wait * np.exp(-(n - a) * target_s / aht_s), 0.0)
        asa = np.where(stable, wait * aht_s / (n - a), np.inf)
        occupancy = np.where(n > 0, np.minimum(a / n, 1.0), 1.0)
    return QueueMetrics(
        wait_probability=_out(wait, scalar), service_level=_out(sl, scalar),
        asa=_out(asa, scalar), occupancy=_out(occupancy, scalar),
        abandon_rate=_out(np.zeros_like(a), scalar),
    )


def erlang_a(calls: Any, interval_s: Any, aht_s: Any, agents: Any, target_s: Any,
             patience_s: Any) -> QueueMetrics:
    """M/M/n+M: Erlang C plus exponential patience with mean ``patience_s`` (Erlang A).

    Always stable: abandonment keeps the queue finite even with ``agents <= traffic``.

    Notes
    -----
    With service rate mu, abandonment rate theta and ``alpha = n mu / theta``, an arrival
    that finds ``n + j`` contacts present is served with probability
    ``alpha / (alpha + j + 1)``; given that, its wait is a sum of exponential stages with
    rates ``n mu + (i + 1) theta`` (i = 0..j), and ``exp(-theta W)`` is
    Beta(alpha + 1, j + 1), so ``P(W <= T, served)`` is an incomplete beta function [2].
    The stationary distribution is summed over queue lengths until its tail is below 1e-15.

    >>> m = erlang_a(calls=200, interval_s=3600, aht_s=180, agents=11, target_s=20,
    ...              patience_s=120)
    >>> round(m.service_level, 4), round(m.abandon_rate, 4)
    (0.7422, 0.0942)
    """
    (calls, interval_s, aht_s, n, target_s, patience_s), scalar = _inputs(
        calls, interval_s, aht_s, agents, target_s, patience_s)
    _check_agents(n)
    if np.any(patience_s <= 0):
        raise KpiforgeError("patience_s must be > 0 (leave it out for infinite patience)")
    lam, mu, theta = calls / interval_s, 1 / aht_s, 1 / patience_s
    a, alpha, y = lam / mu, n * mu / theta, lam / theta
    flat = [v.ravel() for v in (a, alpha, y, n, theta, mu, target_s)]
    a, alpha, y, n, theta, mu, target_s = (v[:, None] for v in flat)
    depth = int(np.ceil(np.max(np.maximum(y - alpha, 0) + 12 * np.sqrt(y + 1) + 40)))
    j = np.arange(depth)[None, :]
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        # Queue weights relative to state n, and the states below n, in logs.
        log_w = special.xlogy(j, y) + special.gammaln(alpha + 1) - special.gammaln(alpha + 1 + j)
        log_pn = special.xlogy(n, a) - special.gammaln(n + 1)
        # sum_{k<n} A^k / k! = e^A Q(n, A), the Poisson cdf through the upper gamma.
        log_below = np.where(n > 0, np.log(special.gammaincc(np.maximum(n, 1), a)) + a,
                             -np.inf)
        top = np.maximum(log_below, log_pn + log_w.max(axis=1, keepdims=True))
        below = np.exp(log_below - top)
        queue = np.exp(log_pn + log_w - top)
        total = below + queue.sum(axis=1, keepdims=True)
        seen = queue / total  # P(an arrival finds n + j present), by PASTA
        served = alpha / (alpha + j + 1)
        within = 1 - special.betainc(alpha + 1, j + 1, np.exp(-theta * target_s))
        stages = (special.digamma(alpha + j + 2) - special.digamma(alpha + 1)) / theta
        p_wait = seen.sum(axis=1)
        p_abandon = (seen * (1 - served)).sum(axis=1)
        sl = (1 - p_wait) + (seen * served * within).sum(axis=1)
        asa = (seen * served * stages).sum(axis=1) / (1 - p_abandon)
        occupancy = np.where(n[:, 0] > 0, a[:, 0] * (1 - p_abandon) / n[:, 0], 1.0)
    asa = np.where(n[:, 0] > 0, asa, np.inf)
    shape = np.shape(calls)
    return QueueMetrics(
        wait_probability=_out(p_wait.reshape(shape), scalar),
        service_level=_out(sl.reshape(shape), scalar),
        asa=_out(asa.reshape(shape), scalar),
        occupancy=_out(occupancy.reshape(shape), scalar),
        abandon_rate=_out(p_abandon.reshape(shape), scalar),
    )


def queue_metrics(calls: Any, interval_s: Any, aht_s: Any, agents: Any, target_s: Any,
                  patience_s: Any = None) -> QueueMetrics:
    """Erlang A when ``patience_s`` is given, else Erlang C."""
    if patience_s is None:
        return erlang_c(calls, interval_s, aht_s, agents, target_s)
    return erlang_a(calls, interval_s, aht_s, agents, target_s, patience_s)


def required_agents(calls: Any, interval_s: Any, aht_s: Any, service_level: float,
                    target_s: Any, patience_s: Any = None) -> Any:
    """The fewest agents whose service level (answered within ``target_s`` / offered) is at
    least ``service_level``; Erlang A with ``patience_s``, else Erlang C.

    >>> required_agents(calls=200, interval_s=3600, aht_s=180, service_level=0.8,
    ...                 target_s=20)
    14
    """
    if not 0 < service_level < 1:
        raise KpiforgeError(f"service_level must be between 0 and 1, got {service_level}")
    (calls, interval_s, aht_s, target_s), scalar = _inputs(calls, interval_s, aht_s, target_s)
    traffic = calls * aht_s / interval_s
    agents = np.maximum(np.floor(traffic) + (patience_s is None), 0.0)
    for _ in range(int(np.max(traffic) + 50 * np.sqrt(np.max(traffic) + 1) + 100)):
        sl = np.asarray(queue_metrics(calls, interval_s, aht_s, agents, target_s,
                                      patience_s).service_level)
        short = sl < service_level
        if not short.any():
            break
        agents = agents + short
    else:
        raise KpiforgeError("no staffing level reaches that service level; check the inputs")
    return int(agents) if scalar else agents.astype(np.int64)
