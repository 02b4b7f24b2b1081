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

from collections.abc import Callable
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
    level 0 and infinite ASA, without an exception. With 0 agents occupancy is undefined
    (NaN): no one is there to be occupied.

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
        occupancy = np.where(n > 0, np.minimum(a / n, 1.0), np.nan)
    return QueueMetrics(
        wait_probability=_out(wait, scalar), service_level=_out(sl, scalar),
        asa=_out(asa, scalar), occupancy=_out(occupancy, scalar),
        abandon_rate=_out(np.zeros_like(a), scalar),
    )


def erlang_a(calls: Any, interval_s: Any, aht_s: Any, agents: Any, target_s: Any,
             patience_s: Any) -> QueueMetrics:
    """M/M/n+M: Erlang C plus exponential patience with mean ``patience_s`` (Erlang A).

    Always stable: abandonment keeps the queue finite even with ``agents <= traffic``.
    With 0 agents everyone abandons and occupancy is undefined (NaN).

    Notes
    -----
    With service rate mu, abandonment rate theta and ``alpha = n mu / theta``, an arrival
    that finds ``n + j`` contacts present is served with probability
    ``alpha / (alpha + j + 1)``; given that, its wait is a sum of exponential stages with
    rates ``n mu + (i + 1) theta`` (i = 0..j), and ``exp(-theta W)`` is
    Beta(alpha + 1, j + 1), so ``P(W <= T, served)`` is an incomplete beta function [2],
    a finite sum for whole ``j`` that is accumulated along the queue with the stationary
    weights (running sums rather than special functions: one pass over the queue lengths).
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
    rows = np.stack([v.ravel() for v in np.broadcast_arrays(
        lam / mu, n * mu / theta, lam / theta, n, theta, target_s)], axis=1)
    # Queue lengths worth summing: past the most likely one, the weights fall like a normal
    # tail of spread sqrt(y); rows of similar depth are worked together in blocks.
    a, alpha, y = rows[:, 0], rows[:, 1], rows[:, 2]
    depth = np.ceil(np.maximum(y - alpha, 0) + 9 * np.sqrt(y + 1) + 20).astype(np.int64)
    order = np.argsort(depth, kind="stable")
    out = np.empty((len(rows), 4))
    for block in np.array_split(order, max(1, len(order) // _BLOCK_ROWS)):
        if block.size:
            out[block] = _erlang_a_rows(rows[block], int(depth[block].max()))
    p_wait, sl, asa, p_abandon = out.T
    with np.errstate(divide="ignore", invalid="ignore"):
        occupancy = np.where(n.ravel() > 0, a * (1 - p_abandon) / n.ravel(), np.nan)
    shape = np.shape(calls)
    return QueueMetrics(
        wait_probability=_out(p_wait.reshape(shape), scalar),
        service_level=_out(sl.reshape(shape), scalar),
        asa=_out(asa.reshape(shape), scalar),
        occupancy=_out(occupancy.reshape(shape), scalar),
        abandon_rate=_out(p_abandon.reshape(shape), scalar),
    )


#: Rows of Erlang A worked at once: their queue-length arrays stay in the CPU's caches.
_BLOCK_ROWS = 256


def _erlang_a_rows(rows: np.ndarray, depth: int) -> np.ndarray:
    """Wait probability, service level, ASA and abandonment for rows of (traffic, alpha, y,
    agents, theta, target), summing queue lengths up to ``depth``."""
    a, alpha, y, n, theta, target_s = (rows[:, k:k + 1] for k in range(6))
    j = np.arange(depth)[None, :]
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        # log(alpha + k) for k = 1..depth-1 feeds two running sums along the queue.
        log_alpha_k = np.log(alpha + j[:, 1:])
        # Queue weights relative to state n, y^j / ((alpha + 1) ... (alpha + j)), in logs.
        log_w = _running_sum(np.log(y) - log_alpha_k)
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
        # 1 - I_x(alpha + 1, j + 1) with x = exp(-theta T): for a whole second argument the
        # incomplete beta is a negative binomial cdf, x^(alpha+1) sum_{k<=j} (alpha+1)_k / k!
        # (1-x)^k, whose terms (each <= 1) are summed along the queue.
        log_pmf = -theta * target_s * (alpha + 1) + _running_sum(
            log_alpha_k - np.log(j[:, 1:]) + np.log(-np.expm1(-theta * target_s)))
        within = 1 - np.cumsum(np.exp(log_pmf), axis=1)
        # Mean of the exponential stages: sum_{k<=j} 1 / (n mu + (k + 1) theta).
        stages = np.cumsum(1 / (alpha + 1 + j), axis=1) / theta
        p_wait = seen.sum(axis=1)
        p_abandon = (seen * (1 - served)).sum(axis=1)
        sl = (1 - p_wait) + (seen * served * within).sum(axis=1)
        asa = (seen * served * stages).sum(axis=1) / (1 - p_abandon)
    asa = np.where(n[:, 0] > 0, asa, np.inf)
    return np.stack([p_wait, sl, asa, p_abandon], axis=1)


def _running_sum(increments: np.ndarray) -> np.ndarray:
    """Cumulative sums along each row, starting from 0 (``increments`` has one column less)."""
    return np.concatenate([np.zeros((len(increments), 1)), np.cumsum(increments, axis=1)],
                          axis=1)


def queue_metrics(calls: Any, interval_s: Any, aht_s: Any, agents: Any, target_s: Any,
                  patience_s: Any = None) -> QueueMetrics:
    """Erlang A when ``patience_s`` is given, else Erlang C."""
    if patience_s is None:
        return erlang_c(calls, interval_s, aht_s, agents, target_s)
    return erlang_a(calls, interval_s, aht_s, agents, target_s, patience_s)


def fewest_meeting(meets: Callable[[np.ndarray, np.ndarray], np.ndarray], guess: Any,
                   limit: Any) -> np.ndarray:
    """Per element, the smallest whole ``n >= 0`` for which ``meets`` holds.

    ``meets(n, which)`` answers for the elements ``which`` (indexes into ``guess``) at the
    counts ``n``, and must be monotone in ``n`` (false up to the answer, true from it on).
    The search starts at ``guess``, widens the bracket in doubling steps in the direction
    that holds the answer, then bisects: about ``2 log2 |answer - guess| + 1`` evaluations,
    each over the still-open elements only. Elements not met at ``limit`` come back as -1.

    >>> int(fewest_meeting(lambda n, which: n * n >= 50, [3], [100])[0])
    8
    """
    guess = np.maximum(np.asarray(guess, dtype=np.int64).ravel(), 0)
    limit = np.broadcast_to(np.asarray(limit, dtype=np.int64).ravel(), guess.shape)
    guess = np.minimum(guess, limit)
    lo = np.full(guess.size, -1, dtype=np.int64)  # largest count known to fail (-1: none)
    hi = guess.copy()  # smallest count known to meet, once known
    met = meets(guess, np.arange(guess.size))
    up, down = np.flatnonzero(~met), np.flatnonzero(met & (guess > 0))
    lo[up] = guess[up]
    step = 1
    while up.size:  # widen upwards until a count meets the target
        probe = np.minimum(lo[up] + step, limit[up])
        ok = meets(probe, up)
        hi[up[ok]], lo[up[~ok]] = probe[ok], probe[~ok]
        never = ~ok & (probe >= limit[up])
        hi[up[never]] = -1
        up, step = up[~ok & ~never], step * 2
    step = 1
    while (down := down[hi[down] - step >= 0]).size:  # widen downwards while counts meet it
        probe = hi[down] - step
        ok = meets(probe, down)
        hi[down[ok]], lo[down[~ok]] = probe[ok], probe[~ok]
        down, step = down[ok], step * 2
    gap = np.flatnonzero((hi - lo > 1) & (hi >= 0))
    while gap.size:  # bisect the bracket (lo fails, hi meets)
        mid = (lo[gap] + hi[gap]) // 2
        ok = meets(mid, gap)
        hi[gap[ok]], lo[gap[~ok]] = mid[ok], mid[~ok]
        gap = gap[hi[gap] - lo[gap] > 1]
    return hi


#: Intervals solved first to learn how far above the traffic the answers lie.
_SAMPLE = 48


def fewest_agents(meets: Callable[[np.ndarray, np.ndarray], np.ndarray],
                       traffic: np.ndarray) -> np.ndarray:
    """:func:`fewest_meeting` for staffing (-1 where no count up to ``A + 50 sqrt(A) + 100``
    meets it): the answer is about ``A + beta sqrt(A)`` with a
    ``beta`` that varies slowly with the traffic ``A``, so on many intervals a sample spread
    over the traffic is solved first and its ``beta`` interpolated into each interval's
    starting guess (a handful of evaluations each instead of a dozen)."""
    root = np.sqrt(np.maximum(traffic, 1.0))
    limit = np.ceil(traffic + 50 * root + 100)
    guess = np.ceil(traffic + root)
    if traffic.size > 8 * _SAMPLE:
        pick = np.argsort(traffic)[np.linspace(0, traffic.size - 1, _SAMPLE).astype(np.int64)]
        exact = fewest_meeting(lambda n, which: meets(n, pick[which]), guess[pick],
                               limit[pick])
        known = exact >= 0
        if known.any():
            beta = (exact[known] - traffic[pick][known]) / root[pick][known]
            guess = np.round(traffic + np.interp(traffic, traffic[pick][known], beta) * root)
    return fewest_meeting(meets, guess, limit)


def _fewest_erlang_c(traffic: np.ndarray, level: np.ndarray, target_over_aht: np.ndarray
                     ) -> np.ndarray:
    """The fewest agents meeting ``level`` under Erlang C: from the first stable count up,
    with ``1/B(n) = 1 + (n / A) / B(n - 1)`` and ``C = n / ((n - A) / B + A)``."""
    agents = np.zeros(traffic.size, dtype=np.int64)
    active = np.flatnonzero(traffic > 0)
    a, target_sl, t = traffic[active], level[active], target_over_aht[active]
    n = np.floor(a) + 1
    inverse_b = 1 / np.asarray(erlang_b(a, n))
    for _ in range(int(50 * np.sqrt(np.max(a, initial=0) + 1) + 100)):
        wait = n / ((n - a) * inverse_b + a)
        met = 1 - wait * np.exp(-(n - a) * t) >= target_sl
        agents[active[met]] = n[met]
        keep = ~met
        active, a, target_sl, t, n, inverse_b = (
            v[keep] for v in (active, a, target_sl, t, n, inverse_b))
        if not active.size:
            return agents
        n = n + 1
        inverse_b = 1 + inverse_b * n / a
    raise KpiforgeError("no staffing level reaches that service level; check the inputs")


def required_agents(calls: Any, interval_s: Any, aht_s: Any, service_level: Any,
                    target_s: Any, patience_s: Any = None) -> Any:
    """The fewest agents whose service level (answered within ``target_s`` / offered) is at
    least ``service_level``; Erlang A with ``patience_s``, else Erlang C. An interval without
    contacts needs no agents.

    Service level rises with every agent added. Erlang C's is 0 up to the traffic, so its
    answer is the first count above the traffic that meets the target, found by stepping up
    from there with Erlang B's recurrence (one incomplete gamma per interval, then a few
    multiplications per agent). Erlang A has no such floor: its answer is found by widening
    a bracket around a square-root-staffing guess and bisecting it
    (:func:`fewest_meeting`). Both are exact whatever the target.

    >>> required_agents(calls=200, interval_s=3600, aht_s=180, service_level=0.8,
    ...                 target_s=20)
    14
    >>> required_agents(calls=200, interval_s=3600, aht_s=180, service_level=0.2,
    ...                 target_s=20, patience_s=120)
    7
    """
    values = [calls, interval_s, aht_s, service_level, target_s]
    if patience_s is not None:
        values.append(patience_s)
    arrays, scalar = _inputs(*values)
    calls, interval_s, aht_s, level, target_s = arrays[:5]
    patience = arrays[5] if patience_s is not None else None
    outside = np.ravel(level)[~((np.ravel(level) > 0) & (np.ravel(level) < 1))]
    if outside.size:
        raise KpiforgeError(f"service_level must be between 0 and 1, got {outside[0]:g}")
    flat = [v.ravel() for v in (calls, interval_s, aht_s, level, target_s)]
    patience_flat = None if patience is None else patience.ravel()
    traffic = flat[0] * flat[2] / flat[1]

    if patience_flat is None:
        agents = _fewest_erlang_c(traffic, flat[3], flat[4] / flat[2]).reshape(np.shape(calls))
        return int(agents) if scalar else agents

    def meets(n: np.ndarray, which: np.ndarray) -> np.ndarray:
        c, i, h, sl, t = (v[which] for v in flat)
        level_now = np.asarray(erlang_a(c, i, h, n, t, patience_flat[which]).service_level)
        return (c == 0) | (level_now >= sl)

    agents = fewest_agents(meets, traffic).reshape(np.shape(calls))
    if (agents < 0).any():
        raise KpiforgeError("no staffing level reaches that service level; check the inputs")
    return int(agents) if scalar else agents
