"""Running a scenario: draw the demand, seat the agents, run SimPy, write the tables.

Every random draw comes from a stream named for its purpose (:mod:`streams`): arrivals and
each kind of contact attribute per channel and date, repeats and surveys per channel,
shrinkage per shift and date. The same scenario and seed give the same tables bit for bit,
and a change to one channel or one day leaves the other channels' and days' draws as they
were (common random numbers for what-ifs).
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import attrs
import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import simpy

from kpiforge.errors import KpiforgeError
from kpiforge.io.output import atomic_directory
from kpiforge.io.timestamps import with_epoch
from kpiforge.simulations.customers import customers_table, service_strain
from kpiforge.simulations.demand import (
    Demand,
    attribute_streams,
    draw_base,
    draw_day,
    time_of_day_chooser,
)
from kpiforge.simulations.model import Agent, ContactCentre, Contacts, queue_layout
from kpiforge.simulations.scenario import DAY_S, TIER2, Scenario, Shift
from kpiforge.simulations.schedules import interval_table, seats
from kpiforge.simulations.size import DEFAULT_LIMITS, Limits, check_size
from kpiforge.simulations.streams import stream

FORMATS = ("parquet", "csv")


@attrs.frozen(eq=False)
class Simulation:
    """A finished run: the ``contacts`` and ``agent_intervals`` tables, the ``customers``
    table where the scenario has a customer base, and its scenario."""

    scenario: Scenario
    contacts: pa.Table
    agent_intervals: pa.Table
    seconds: float
    customers: pa.Table | None = None

    def tables(self) -> dict[str, pa.Table]:
        """The tables as ``kpiforge.compute`` takes them."""
        out = {"contacts": self.contacts, "agent_intervals": self.agent_intervals}
        if self.customers is not None:
            out["customers"] = self.customers
        return out

    def write(self, directory: str | os.PathLike, fmt: str = "parquet",
              force: bool = False) -> list[Path]:
        """Write ``contacts``, ``agent_intervals`` (and ``customers``, where the scenario
        has a customer base) and the resolved ``scenario.toml`` into
        ``directory``, which holds this run only: it must be new or empty, or with ``force``
        it is replaced whole. The files appear only once all are written."""
        check_format(fmt)
        with atomic_directory(directory, force) as staging:
            self.write_files(staging, fmt)
            names = sorted(p.name for p in staging.iterdir())
        return [Path(directory) / name for name in names]

    def write_files(self, directory: Path, fmt: str) -> None:
        """``contacts.FMT``, ``agent_intervals.FMT`` and ``scenario.toml`` into an existing
        ``directory`` (not atomically: :meth:`write` stages them)."""
        for name, table in self.tables().items():
            path = directory / f"{name}.{fmt}"
            if fmt == "parquet":
                pq.write_table(table, path)
            else:
                pacsv.write_csv(table, path)
        (directory / "scenario.toml").write_text(self.scenario.to_toml(), encoding="utf-8")


def check_format(fmt: str) -> None:
    if fmt not in FORMATS:
        raise KpiforgeError(f"unknown format {fmt!r}; use {' or '.join(FORMATS)}")


def simulate(scenario: Scenario, seed: int | np.random.SeedSequence | None = None,
             progress: Callable[[int], None] | None = None,
             limits: Limits | None = DEFAULT_LIMITS) -> Simulation:
    """Run ``scenario`` (with ``seed`` instead of its own, if given); ``progress`` is called
    with the count of simulated days as each completes (warm-up and warm-down included).
    A run whose estimated size is beyond ``limits`` (None: none) does not start: a
    :class:`~kpiforge.simulations.size.RunSizeError` says why."""
    started = time.perf_counter()
    demand = Demand(scenario)
    if limits is not None:
        check_size(scenario, limits, demand)
    sequence = seed if isinstance(seed, np.random.SeedSequence) else \
        np.random.SeedSequence(scenario.seed if seed is None else seed)
    keys, kinds = queue_layout(scenario)
    contacts = Contacts(len(scenario.channels))
    channel_order = _draw_arrivals(scenario, sequence, demand, keys, contacts)
    env = simpy.Environment(initial_time=scenario.begin_s)
    centre = ContactCentre(env, scenario, contacts, kinds,
                           _Repeats(scenario, sequence, demand, keys, contacts))
    names = _seat_agents(centre, scenario, sequence, keys)
    for order in channel_order:
        env.process(centre.arrivals(order))
    for n, day in enumerate(range(scenario.first_day, scenario.last_day)):
        env.run(until=min((day + 1) * DAY_S, scenario.end_s))
        if progress is not None:
            progress(n + 1)
    centre.close()
    contacts_table = _contacts_table(scenario, sequence, keys, contacts, names)
    return Simulation(
        scenario=scenario,
        contacts=contacts_table,
        agent_intervals=interval_table(scenario, names, centre.staffed, centre.lost,
                                       centre.spans),
        seconds=time.perf_counter() - started,
        customers=_customers(scenario, sequence, contacts_table),
    )


def _customers(scenario: Scenario, seed: np.random.SeedSequence,
               contacts: pa.Table) -> pa.Table | None:
    """The ``customers`` table of the scenario's customer base (None without one), from
    the service its customers got in ``contacts``; draws from the ``customers`` streams."""
    base = scenario.customer_base
    if base is None:
        return None
    strain = service_strain(base, contacts, [c.wait_tolerance_s for c in scenario.channels],
                            scenario.days)
    table = customers_table(base, strain, scenario.start,
                            lambda purpose, month: stream(seed, "customers", purpose,
                                                          str(month)))
    return with_epoch(table, scenario.epoch)


def _draw_arrivals(scenario: Scenario, seed: np.random.SeedSequence, demand: Demand,
                   keys: list[str], contacts: Contacts) -> list[list[int]]:
    """Every channel's arrivals before the horizon, appended to ``contacts`` channel by
    channel; the contact indices of each channel in time order."""
    order = []
    for index, channel in enumerate(scenario.channels):
        offsets = [keys.index(k) for k in channel.queue_keys()]
        days = [draw_day(scenario, seed, demand, index, day, offsets)
                for day in range(scenario.first_day, scenario.days)]
        first = len(contacts)
        contacts.extend({k: np.concatenate([d[k] for d in days]) for k in days[0]}, ordinal=1)
        order.append(list(range(first, len(contacts))))
    return order


class _Repeats:
    """Creates repeat contacts: the same customer and channel, the next touch of the case.

    The customer comes back on the day the repeat delay points to, at a time drawn from the
    channel's demand that day (people come back when the centre is open; a closed day moves
    it to the next open one), and later than they left. Each channel draws its repeats'
    attributes from its own streams, a batch at a time.
    """

    BATCH = 256

    def __init__(self, scenario: Scenario, seed: np.random.SeedSequence, demand: Demand,
                 keys: list[str], contacts: Contacts) -> None:
        self.scenario, self.contacts = scenario, contacts
        self.offsets = [[keys.index(k) for k in c.queue_keys()] for c in scenario.channels]
        self.streams = [attribute_streams(seed, c.name, "repeats") for c in scenario.channels]
        self.choosers = [time_of_day_chooser(demand, index, stream(seed, "repeat_times",
                                                                   c.name), scenario.days)
                         for index, c in enumerate(scenario.channels)]
        self.batches: list[dict[str, list]] = [{} for _ in scenario.channels]
        self.used = [self.BATCH] * len(scenario.channels)

    def repeat(self, i: int, now: float, horizon: float) -> tuple[float, int] | None:
        c = self.contacts
        channel = c.channel[i]
        choose = self.choosers[channel]
        back = choose(int((now + c.repeat_delay[i]) // DAY_S))
        if back is not None and back[0] <= now:
            back = choose(int(now // DAY_S) + 1)
        if back is None or back[0] >= horizon:
            return None
        at, queue, handle_factor, patience_factor = back
        base = self.next_base(channel)
        values = {key: base[key] for key in ("acw", "resolve", "repeat", "escalate",
                                              "tier2_handle", "repeat_delay")}
        values.update(
            arrived=at, channel=channel, customer=c.customer[i],
            queue=self.offsets[channel][queue if queue >= 0 else base["queue"]],
            deadline=at + (math.inf if math.isinf(patience_factor)
                           else base["patience"] * patience_factor),
            handle=base["handle"] * handle_factor)
        return at, c.append(values, ordinal=c.ordinal[i] + 1, case=c.case[i])

    def next_base(self, channel: int) -> dict[str, Any]:
        """The next repeat's base draws of ``channel`` (a new batch when one runs out)."""
        if self.used[channel] == self.BATCH:
            drawn = draw_base(self.scenario, channel, self.BATCH, self.streams[channel])
            self.batches[channel] = {key: values.tolist() for key, values in drawn.items()}
            self.used[channel] = 0
        j = self.used[channel]
        self.used[channel] = j + 1
        return {key: values[j] for key, values in self.batches[channel].items()}


def _queues_of(shift: Shift, keys: list[str], kinds: list[int]) -> tuple[list[int], list[int]]:
    """A shift's live and email queues, in skill priority order."""
    queues: list[int] = []
    for skill in shift.skills:
        matches = [keys.index(TIER2)] if skill == TIER2 else [
            q for q, key in enumerate(keys) if key == skill or key.startswith(skill + "/")]
        queues.extend(q for q in matches if q not in queues)
    return [q for q in queues if kinds[q] != 2], [q for q in queues if kinds[q] == 2]


def _seat_agents(centre: ContactCentre, scenario: Scenario, seed: np.random.SeedSequence,
                 keys: list[str]) -> list[str]:
    """One agent per head of every shift, with skills resolved to queues in priority order;
    the agents' names."""
    names = []
    for index, seat in enumerate(seats(scenario, seed)):
        live, email = _queues_of(seat.shift, keys, centre.kinds)
        names.append(seat.name)
        centre.add_agent(Agent(index, live, email, seat.shift.concurrency, seat.shift.tier),
                         list(seat.duties))
    return names


def _contacts_table(scenario: Scenario, seed: np.random.SeedSequence, keys: list[str],
                    c: Contacts, agent_names: list[str]) -> pa.Table:
    """The contacts table of the reported days (arrivals from the epoch to the horizon), in
    arrival order, with survey answers drawn from the outcomes."""
    arrived = np.asarray(c.arrived)
    started = np.asarray(c.started)
    answered = ~np.isnan(started)
    handled = np.asarray(c.handled)
    acw = np.where(answered, np.asarray(c.acw), np.nan)
    finished = answered & (started + handled + np.nan_to_num(acw) <= scenario.end_s)
    resolved = np.asarray(c.resolved)
    escalated = np.asarray(c.escalated)
    channel = np.asarray(c.channel, dtype=np.int64)
    touches = np.where(answered, np.asarray(c.ordinal) + escalated, 0)
    csat, nps = _surveys(scenario, seed, channel, started - arrived, ~np.isnan(resolved),
                         escalated, finished)
    agent = np.asarray(c.agent, dtype=np.int32)
    channel_names = [ch.name for ch in scenario.channels]
    queue_names = [k.split("/", 1)[1] for k in keys[:-1]]
    labels = list(dict.fromkeys(queue_names))  # one label per name across channels
    queue_codes = np.array([labels.index(n) for n in queue_names], dtype=np.int32)
    queue = queue_codes[np.asarray(c.queue, dtype=np.int64)]
    rows = np.flatnonzero((arrived >= 0) & (arrived < scenario.horizon_s))
    rows = rows[np.argsort(arrived[rows], kind="stable")]
    return with_epoch(pa.table({
        "contact_id": np.asarray(c.ident, dtype=np.int64)[rows],
        "case_id": np.asarray(c.case, dtype=np.int64)[rows],
        "channel": pa.DictionaryArray.from_arrays(channel[rows].astype(np.int32),
                                                  channel_names),
        "queue": pa.DictionaryArray.from_arrays(queue[rows], labels),
        "customer_id": np.asarray(c.customer, dtype=np.int64)[rows] + 1,
        "arrived_s": arrived[rows],
        "answered_s": np.asarray(c.answered)[rows],
        "abandoned_s": np.asarray(c.abandoned)[rows],
        "handle_s": np.where(answered, handled, np.nan)[rows],
        "acw_s": acw[rows],
        "resolved_s": resolved[rows],
        "closed_s": np.asarray(c.closed)[rows],
        "replies": touches[rows].astype(np.float64),
        "touches": touches[rows].astype(np.float64),
        "escalated": escalated[rows].astype(np.float64),
        "agent": pa.DictionaryArray.from_arrays(pa.array(agent[rows], mask=agent[rows] < 0),
                                                agent_names),
        "csat": csat[rows],
        "nps": nps[rows],
    }), scenario.recorded_epoch)


def _surveys(scenario: Scenario, seed: np.random.SeedSequence, channel: np.ndarray,
             wait: np.ndarray, resolved: np.ndarray, escalated: np.ndarray,
             finished: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """CSAT (1-5) and NPS (0-10) from the documented satisfaction model, drawn per channel
    (its contacts in the order they were created)."""
    model = scenario.satisfaction
    n = len(channel)
    respond = np.zeros(n, dtype=bool)
    noise_score, noise_nps = np.zeros((2, n))
    for index, ch in enumerate(scenario.channels):
        rows = np.flatnonzero(channel == index)
        rng = stream(seed, "surveys", ch.name)
        respond[rows] = rng.random(len(rows)) < model.response_rate
        noise_score[rows], noise_nps[rows] = rng.normal(0, model.noise, (2, len(rows)))
    respond &= finished
    tolerance = np.array([c.wait_tolerance_s for c in scenario.channels])[channel]
    late_min = np.maximum(np.nan_to_num(wait) - tolerance, 0) / 60
    score = (model.base - model.wait_penalty_per_min * late_min
             - model.unresolved_penalty * ~resolved - model.escalation_penalty * escalated
             + noise_score)
    csat = np.clip(np.rint(score), 1, 5)
    nps = np.clip(np.rint(2.5 * (score - 1) + noise_nps), 0, 10)
    return np.where(respond, csat, np.nan), np.where(respond, nps, np.nan)
