"""Running a scenario: draw the demand, seat the agents, run SimPy, write the tables.

Every random draw comes from generators spawned from the scenario's seed, one per purpose
(arrivals, contact attributes, schedules, repeats, surveys), so the same scenario and seed
give the same tables bit for bit, and changing one part of a scenario does not reshuffle the
draws of the others.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import attrs
import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import simpy

from kpiforge.engine import compute
from kpiforge.errors import KpiforgeError
from kpiforge.io.timestamps import with_epoch
from kpiforge.simulations.model import Agent, ContactCentre, Contacts, queue_layout
from kpiforge.simulations.scenario import DAY_S, TIER2, Channel, Scenario, volume_multipliers
from kpiforge.simulations.schedules import agent_windows, interval_table

_STREAMS = ("arrivals", "attributes", "schedules", "repeats", "surveys")
FORMATS = ("parquet", "csv")


@attrs.frozen(eq=False)
class Simulation:
    """A finished run: the ``contacts`` and ``agent_intervals`` tables, and its scenario."""

    scenario: Scenario
    contacts: pa.Table
    agent_intervals: pa.Table
    seconds: float

    def tables(self) -> dict[str, pa.Table]:
        """The tables as ``kpiforge.compute`` takes them."""
        return {"contacts": self.contacts, "agent_intervals": self.agent_intervals}

    def write(self, directory: str | os.PathLike, fmt: str = "parquet") -> list[Path]:
        """Write ``contacts``, ``agent_intervals`` and the resolved ``scenario.toml`` into
        ``directory``; files appear only once all are written."""
        if fmt not in FORMATS:
            raise KpiforgeError(f"unknown format {fmt!r}; use {' or '.join(FORMATS)}")
        target = Path(directory)
        if target.exists() and not target.is_dir():
            raise KpiforgeError(f"{target}: exists and is not a directory")
        target.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
        try:
            for name, table in self.tables().items():
                path = staging / f"{name}.{fmt}"
                if fmt == "parquet":
                    pq.write_table(table, path)
                else:
                    pacsv.write_csv(table, path)
            (staging / "scenario.toml").write_text(self.scenario.to_toml(), encoding="utf-8")
            target.mkdir(exist_ok=True)
            written = []
            for path in sorted(staging.iterdir()):
                os.replace(path, target / path.name)
                written.append(target / path.name)
            return written
        finally:
            shutil.rmtree(staging, ignore_errors=True)


def simulate(scenario: Scenario, seed: int | np.random.SeedSequence | None = None,
             progress: Callable[[int], None] | None = None) -> Simulation:
    """Run ``scenario`` (with ``seed`` instead of its own, if given); ``progress`` is called
    with each simulated day as it completes."""
    started = time.perf_counter()
    sequence = seed if isinstance(seed, np.random.SeedSequence) else \
        np.random.SeedSequence(scenario.seed if seed is None else seed)
    rng = dict(zip(_STREAMS, (np.random.default_rng(s) for s in sequence.spawn(len(_STREAMS))),
                   strict=True))
    keys, kinds = queue_layout(scenario)
    contacts = Contacts()
    arrivals = _draw_arrivals(scenario, keys, rng)
    order = np.argsort(arrivals["arrived"], kind="stable")
    contacts.extend({k: v[order] for k, v in arrivals.items()}, ordinal=1)
    repeats = _RepeatSource(scenario, keys, contacts, rng["repeats"])
    env = simpy.Environment()
    centre = ContactCentre(env, scenario, contacts, kinds, repeats)
    names, schedules = _seat_agents(centre, scenario, keys, rng["schedules"])
    env.process(centre.arrivals(np.arange(len(order))))
    for day in range(scenario.days):
        env.run(until=(day + 1) * DAY_S)
        if progress is not None:
            progress(day + 1)
    centre.close()
    return Simulation(
        scenario=scenario,
        contacts=_contacts_table(scenario, keys, contacts, names, rng["surveys"]),
        agent_intervals=interval_table(scenario, names, schedules, centre.spans),
        seconds=time.perf_counter() - started,
    )


def _draw_channel(channel: Channel, index: int, arrived: np.ndarray, keys: list[str],
                  scenario: Scenario, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Everything about ``len(arrived)`` contacts of ``channel`` that does not depend on the
    run: queue, customer, durations, patience and outcome flags."""
    n = len(arrived)
    offsets = [keys.index(k) for k in channel.queue_keys()]
    patience = channel.patience_s.sample(rng, n) if channel.patience_s else np.full(n, np.inf)
    return {
        "arrived": arrived,
        "channel": np.full(n, index),
        "queue": np.asarray(offsets)[rng.choice(len(offsets), n, p=list(
            channel.queues.values()))],
        "customer": rng.integers(0, scenario.customers, n),
        "deadline": arrived + patience,
        "handle": channel.aht_s.sample(rng, n),
        "acw": channel.acw_s.sample(rng, n),
        "resolve": rng.random(n) < channel.resolve,
        "repeat": rng.random(n) < channel.repeat,
        "escalate": rng.random(n) < channel.escalate,
        "tier2_handle": channel.tier2_aht_s.sample(rng, n),
        "repeat_delay": channel.repeat_delay_s.sample(rng, n),
    }


def _draw_arrivals(scenario: Scenario, keys: list[str], rng: dict[str, np.random.Generator]
                   ) -> dict[str, np.ndarray]:
    """Non-homogeneous Poisson arrivals, exact for the piecewise-constant rate: daily volume
    x intraday shape x weekday x month x events, per profile interval."""
    parts = []
    for index, channel in enumerate(scenario.channels):
        shape = np.asarray(channel.intraday)
        width = DAY_S / len(shape)
        expected = channel.volume_per_day * np.outer(volume_multipliers(scenario, channel),
                                                     shape)
        counts = rng["arrivals"].poisson(expected.ravel())
        starts = np.repeat(np.arange(counts.size) * width, counts)
        arrived = np.sort(starts + rng["arrivals"].uniform(0, width, counts.sum()))
        parts.append(_draw_channel(channel, index, arrived, keys, scenario, rng["attributes"]))
    return {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}


class _RepeatSource:
    """Creates repeat contacts: the same customer and channel, the next touch of the case.

    The customer comes back on the day the repeat delay points to, at a time of day drawn
    from the channel's intraday profile (people call back when the centre is open), and at
    least ``repeat_delay_s`` later than ``now`` in expectation of the day.
    """

    def __init__(self, scenario: Scenario, keys: list[str], contacts: Contacts,
                 rng: np.random.Generator) -> None:
        self.scenario, self.keys, self.contacts, self.rng = scenario, keys, contacts, rng

    def when(self, i: int, now: float) -> float:
        """The repeat's arrival time for contact ``i`` finished at ``now``."""
        shape = self.scenario.channels[self.contacts.channel[i]].intraday
        width = DAY_S / len(shape)
        day = (now + self.contacts.repeat_delay[i]) // DAY_S
        at = day * DAY_S + (self.rng.choice(len(shape), p=shape) + self.rng.random()) * width
        return at if at > now else at + DAY_S

    def new(self, i: int, at: float) -> int:
        c = self.contacts
        channel = c.channel[i]
        draws = _draw_channel(self.scenario.channels[channel], channel, np.array([at]),
                              self.keys, self.scenario, self.rng)
        draws["customer"] = np.array([c.customer[i]])
        k = len(c)
        c.extend(draws, ordinal=c.ordinal[i] + 1)
        return k


def _seat_agents(centre: ContactCentre, scenario: Scenario, keys: list[str],
                 rng: np.random.Generator) -> tuple[list[str], list[dict[str, Any]]]:
    """One agent per head of every shift, with skills resolved to queues in priority order."""
    names: list[str] = []
    schedules: list[dict[str, Any]] = []
    kinds = centre.kinds
    for shift in scenario.staffing.shifts:
        queues: list[int] = []
        for skill in shift.skills:
            matches = [keys.index(TIER2)] if skill == TIER2 else [
                q for q, key in enumerate(keys) if key == skill or key.startswith(skill + "/")]
            queues.extend(q for q in matches if q not in queues)
        live = [q for q in queues if kinds[q] != 2]
        email = [q for q in queues if kinds[q] == 2]
        slug = shift.name.replace(" ", "_")
        for head in range(max(shift.agents)):
            index = len(names)
            names.append(f"{slug}-{head + 1:02d}")
            schedule = agent_windows(scenario, shift, head, rng)
            schedules.append(schedule)
            agent = Agent(index, live, email, shift.concurrency, shift.tier)
            centre.add_agent(agent, schedule["available"])
    return names, schedules


def _contacts_table(scenario: Scenario, keys: list[str], c: Contacts, agent_names: list[str],
                    rng: np.random.Generator) -> pa.Table:
    """The contacts table of the run, with survey answers drawn from the outcomes."""
    arrived = np.asarray(c.arrived)
    started = np.asarray(c.started)
    answered = ~np.isnan(started)
    handled = np.asarray(c.handled)
    acw = np.where(answered, np.asarray(c.acw), np.nan)
    finished = answered & (started + handled + np.nan_to_num(acw) <= scenario.horizon_s)
    resolved = np.asarray(c.resolved)
    escalated = np.asarray(c.escalated)
    channel = np.asarray(c.channel)
    touches = np.where(answered, np.asarray(c.ordinal) + escalated, 0)
    csat, nps = _surveys(scenario, channel, started - arrived, ~np.isnan(resolved), escalated,
                         finished, rng)
    agent = np.asarray(c.agent, dtype=np.int32)
    channel_names = [ch.name for ch in scenario.channels]
    queue_names = [k.split("/", 1)[1] for k in keys[:-1]]
    labels = list(dict.fromkeys(queue_names))  # one label per name across channels
    queue_codes = np.array([labels.index(n) for n in queue_names], dtype=np.int32)
    return with_epoch(pa.table({
        "contact_id": np.arange(1, len(c) + 1),
        "channel": pa.DictionaryArray.from_arrays(channel.astype(np.int32), channel_names),
        "queue": pa.DictionaryArray.from_arrays(queue_codes[np.asarray(c.queue)], labels),
        "customer_id": np.asarray(c.customer, dtype=np.int64) + 1,
        "arrived_s": arrived,
        "answered_s": np.asarray(c.answered),
        "abandoned_s": np.asarray(c.abandoned),
        "handle_s": np.where(answered, handled, np.nan),
        "acw_s": acw,
        "resolved_s": resolved,
        "replies": touches.astype(np.float64),
        "touches": touches.astype(np.float64),
        "escalated": escalated.astype(np.float64),
        "agent": pa.DictionaryArray.from_arrays(pa.array(agent, mask=agent < 0), agent_names),
        "csat": csat,
        "nps": nps,
    }), scenario.epoch)


def _surveys(scenario: Scenario, channel: np.ndarray, wait: np.ndarray, resolved: np.ndarray,
             escalated: np.ndarray, finished: np.ndarray, rng: np.random.Generator
             ) -> tuple[np.ndarray, np.ndarray]:
    """CSAT (1-5) and NPS (0-10) from the documented satisfaction model."""
    model = scenario.satisfaction
    n = len(channel)
    respond = finished & (rng.random(n) < model.response_rate)
    noise_score, noise_nps = rng.normal(0, model.noise, (2, n))
    tolerance = np.array([c.wait_tolerance_s for c in scenario.channels])[channel]
    late_min = np.maximum(np.nan_to_num(wait) - tolerance, 0) / 60
    score = (model.base - model.wait_penalty_per_min * late_min
             - model.unresolved_penalty * ~resolved - model.escalation_penalty * escalated
             + noise_score)
    csat = np.clip(np.rint(score), 1, 5)
    nps = np.clip(np.rint(2.5 * (score - 1) + noise_nps), 0, 10)
    return np.where(respond, csat, np.nan), np.where(respond, nps, np.nan)


def _run_one(args: tuple[Scenario, np.random.SeedSequence, tuple[str, ...] | None]
             ) -> dict[str, float]:
    scenario, seed, kpis = args
    result = compute(simulate(scenario, seed).tables(), kpis=kpis)
    return {name: float(values[0]) for name, values in result.values.items()}


def replicate(scenario: Scenario, replications: int, kpis: tuple[str, ...] | None = None,
              workers: int | None = None) -> list[dict[str, float]]:
    """KPIs of ``replications`` independent runs (seeds spawned from the scenario's), in
    ``workers`` processes (default: every core; 1 runs in this process)."""
    seeds = np.random.SeedSequence(scenario.seed).spawn(replications)
    jobs = [(scenario, seed, kpis) for seed in seeds]
    if workers == 1:
        return [_run_one(job) for job in jobs]
    with ProcessPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(_run_one, jobs))
