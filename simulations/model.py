"""The contact centre as SimPy processes.

Picture the floor: contacts arrive in queues (one per channel and topic), agents sit at
positions and take the oldest waiting contact of the first queue in their skill list. A
caller hangs up when their patience runs out; a chat agent holds several chats at once, each
a little slower for the others; emails sit in a backlog that agents work when no live contact
waits (unless one is older than its reply SLA). Some contacts go on to a second tier; some
are not resolved and the customer comes back later.

Processes:

- one arrival process walks the pre-drawn arrival times;
- every agent has one *slot* process per working position (``concurrency`` for chat
  agents): a slot takes work, holds it for the handling time, finishes it, and looks again,
  or parks until an arrival hands it a contact;
- every agent has an availability process that opens and closes its shifts, breaks and
  shrinkage blocks.

Abandonment is resolved lazily: in a first-come-first-served queue a contact that runs out
of patience never changes who is served next, so instead of a timer per contact an agent
skips expired contacts at the head of the queue, recording that they left at arrival +
patience. The outcome is exactly that of a timer, with one event fewer per contact.
"""

from __future__ import annotations

from collections import deque
from typing import Protocol

import numpy as np
import simpy

from kpiforge.simulations.scenario import TIER2, Scenario

#: Kinds of queue.
CALL, CHAT, EMAIL, ESCALATION = 0, 1, 2, 3
_KIND_CODES = {"call": CALL, "chat": CHAT, "email": EMAIL}


class RepeatSource(Protocol):
    """Where repeat contacts come from: when the customer comes back, and the new contact."""

    def when(self, i: int, now: float) -> float: ...

    def new(self, i: int, at: float) -> int: ...


class SimulationError(RuntimeError):
    """The model broke an invariant (a contact in two states, or in none)."""


class Contacts:
    """Per-contact columns as Python lists (fast scalar access in the event loop)."""

    def __init__(self) -> None:
        self.channel: list[int] = []
        self.queue: list[int] = []
        self.customer: list[int] = []
        self.arrived: list[float] = []
        self.deadline: list[float] = []
        self.handle: list[float] = []
        self.acw: list[float] = []
        self.resolve: list[bool] = []
        self.repeat: list[bool] = []
        self.escalate: list[bool] = []
        self.tier2_handle: list[float] = []
        self.repeat_delay: list[float] = []
        self.ordinal: list[int] = []
        # Outcomes, filled in by the model.
        self.started: list[float] = []
        self.answered: list[float] = []
        self.abandoned: list[float] = []
        self.handled: list[float] = []
        self.resolved: list[float] = []
        self.escalated: list[bool] = []
        self.agent: list[int] = []

    def __len__(self) -> int:
        return len(self.arrived)

    def extend(self, draws: dict[str, np.ndarray], ordinal: int) -> None:
        """Append contacts from arrays of pre-drawn attributes."""
        n = len(draws["arrived"])
        for name, values in draws.items():
            getattr(self, name).extend(values.tolist())
        self.ordinal.extend([ordinal] * n)
        nan = float("nan")
        for outcome in (self.started, self.answered, self.abandoned, self.handled,
                        self.resolved):
            outcome.extend([nan] * n)
        self.escalated.extend([False] * n)
        self.agent.extend([-1] * n)


class Agent:
    """One agent: skills in priority order, positions (slots), and what they hold now."""

    __slots__ = ("available", "chats", "concurrency", "exclusive", "index", "live_queues",
                 "slots", "tier", "urgent_queues")

    def __init__(self, index: int, live_queues: list[int], urgent_queues: list[int],
                 concurrency: int, tier: int) -> None:
        self.index = index
        self.live_queues = live_queues
        self.urgent_queues = urgent_queues
        self.concurrency = concurrency
        self.tier = tier
        self.available = False
        self.exclusive = False
        self.chats = 0
        self.slots: list[Slot] = []


class Slot:
    """One working position of an agent; the primary one also takes calls and emails."""

    __slots__ = ("agent", "busy", "primary", "wake")

    def __init__(self, agent: Agent, primary: bool) -> None:
        self.agent = agent
        self.primary = primary
        self.wake: simpy.Event | None = None
        self.busy = 0.0


class ContactCentre:
    """The queues, the agents and the rules that connect them."""

    def __init__(self, env: simpy.Environment, scenario: Scenario, contacts: Contacts,
                 queue_kinds: list[int], repeats: RepeatSource) -> None:
        self.env = env
        self.contacts = contacts
        self.kinds = queue_kinds
        self.stretch = [c.concurrency_stretch for c in scenario.channels]
        self.reply_sla = [c.reply_sla_s for c in scenario.channels]
        self.horizon = scenario.horizon_s
        self.repeats = repeats
        self.queues: list[deque[int]] = [deque() for _ in queue_kinds]
        self.idle: list[deque[tuple[Slot, simpy.Event]]] = [deque() for _ in queue_kinds]
        self.agents: list[Agent] = []
        #: Work spans for agent_intervals: agent, start, end, share of the agent's capacity.
        self.spans: tuple[list[int], list[float], list[float], list[float]] = ([], [], [], [])

    # -- agents ------------------------------------------------------------------------------

    def add_agent(self, agent: Agent, windows: list[tuple[float, float]]) -> None:
        """Seat ``agent`` with its available ``windows`` and start its processes."""
        self.agents.append(agent)
        agent.slots = [Slot(agent, primary=k == 0) for k in range(agent.concurrency)]
        for slot in agent.slots:
            self.env.process(self.work(slot))
        self.env.process(self.availability(agent, windows))

    def availability(self, agent: Agent, windows: list[tuple[float, float]]):
        """Open and close the agent's available time (shifts less breaks and shrinkage)."""
        env = self.env
        for start, end in windows:
            if start > env.now:
                yield env.timeout(start - env.now)
            agent.available = True
            self.recheck(agent)
            yield env.timeout(end - env.now)
            agent.available = False

    def work(self, slot: Slot):
        """A working position: take a contact, hold it, finish it, look again or park."""
        env = self.env
        while True:
            i = self.take(slot)
            if i is None:
                slot.wake = env.event()
                self.park(slot)
                i = yield slot.wake
                if i is None:
                    continue
            yield env.timeout(slot.busy)
            self.finish(slot, i)

    def eligible(self, slot: Slot, queue: int) -> bool:
        agent = slot.agent
        if not agent.available:
            return False
        if self.kinds[queue] == CHAT:
            return not agent.exclusive and agent.chats < agent.concurrency
        return slot.primary and agent.chats == 0 and not agent.exclusive

    def park(self, slot: Slot) -> None:
        assert slot.wake is not None, "a slot parks with the event that wakes it"
        entry = (slot, slot.wake)
        agent = slot.agent
        for queue in agent.live_queues + agent.urgent_queues:
            if slot.primary or self.kinds[queue] == CHAT:
                self.idle[queue].append(entry)

    def recheck(self, agent: Agent) -> None:
        """Wake the agent's parked slots to look for work again (its state changed)."""
        for slot in agent.slots:
            wake = slot.wake
            if wake is not None:
                slot.wake = None
                wake.succeed(None)

    # -- contacts ----------------------------------------------------------------------------

    def arrive(self, i: int, queue: int | None = None) -> None:
        """Contact ``i`` joins its queue (or ``queue``), or goes straight to an idle eligible
        agent."""
        if queue is None:
            queue = self.contacts.queue[i]
            # Stamp the clock: now + (t - now) can differ from t in the last bit.
            self.contacts.arrived[i] = self.env.now
        idle = self.idle[queue]
        while idle:
            slot, wake = idle.popleft()
            if slot.wake is not wake or not self.eligible(slot, queue):
                continue
            slot.wake = None
            self.assign(slot, i, queue)
            wake.succeed(i)
            return
        self.queues[queue].append(i)

    def take(self, slot: Slot) -> int | None:
        """The next contact for ``slot``: overdue emails, then live queues by skill, then
        the email backlog; expired contacts at a queue head are recorded as abandoned."""
        agent = slot.agent
        if not agent.available:
            return None
        c = self.contacts
        now = self.env.now
        if slot.primary:
            for queue in agent.urgent_queues:
                waiting = self.queues[queue]
                if waiting and now - c.arrived[waiting[0]] > self.reply_sla[c.channel[
                        waiting[0]]] and self.eligible(slot, queue):
                    i = waiting.popleft()
                    self.assign(slot, i, queue)
                    return i
        for queue in agent.live_queues + agent.urgent_queues:
            waiting = self.queues[queue]
            if not waiting or not self.eligible(slot, queue):
                continue
            deadline = c.deadline
            while waiting and deadline[waiting[0]] < now:
                gone = waiting.popleft()
                c.abandoned[gone] = deadline[gone]
            if waiting:
                i = waiting.popleft()
                self.assign(slot, i, queue)
                return i
        return None

    def assign(self, slot: Slot, i: int, queue: int) -> None:
        """Start work on contact ``i``: the agent's state, the contact's times, the span."""
        c = self.contacts
        agent = slot.agent
        now = self.env.now
        kind = self.kinds[queue]
        share = 1.0
        if kind == ESCALATION:
            duration = c.tier2_handle[i]
            agent.exclusive = True
            c.handled[i] += duration
            busy = duration
        else:
            if kind == CHAT:
                agent.chats += 1
                duration = c.handle[i] * (1 + self.stretch[c.channel[i]] * (agent.chats - 1))
                share = 1.0 / agent.concurrency
            else:
                agent.exclusive = True
                duration = c.handle[i]
            c.started[i] = now
            c.answered[i] = now + duration if kind == EMAIL else now
            c.handled[i] = duration
            c.agent[i] = agent.index
            busy = duration + c.acw[i]
        slot.busy = busy
        spans = self.spans
        spans[0].append(agent.index)
        spans[1].append(now)
        spans[2].append(now + busy)
        spans[3].append(share)

    def finish(self, slot: Slot, i: int) -> None:
        """Work on ``i`` is done: escalate it, resolve it, or send the customer back later."""
        c = self.contacts
        agent = slot.agent
        now = self.env.now
        second_tier = c.escalated[i]
        if not second_tier and self.kinds[c.queue[i]] == CHAT:
            agent.chats -= 1
        else:
            agent.exclusive = False
        if c.escalate[i] and not second_tier:
            c.escalated[i] = True
            c.deadline[i] = float("inf")  # escalated contacts wait for tier 2
            self.arrive(i, self.escalation_queue)
        elif c.resolve[i]:
            c.resolved[i] = now
        elif c.repeat[i]:
            at = self.repeats.when(i, now)
            if at < self.horizon:
                k = self.repeats.new(i, at)

                def come_back(_: simpy.Event, k: int = k) -> None:
                    self.arrive(k)

                self.env.timeout(at - now).callbacks.append(come_back)
        if agent.concurrency > 1:
            self.recheck(agent)

    @property
    def escalation_queue(self) -> int:
        return len(self.kinds) - 1

    def arrivals(self, order: np.ndarray):
        """Walk the pre-drawn arrivals in time order."""
        env = self.env
        arrived = self.contacts.arrived
        for i in order.tolist():
            delay = arrived[i] - env.now
            if delay > 0:
                yield env.timeout(delay)
            self.arrive(i)

    def close(self) -> None:
        """At the horizon: contacts still queued either ran out of patience or still wait;
        then check that every contact is in exactly one state."""
        c = self.contacts
        for waiting in self.queues:
            for i in waiting:
                if c.deadline[i] < self.horizon:
                    c.abandoned[i] = c.deadline[i]
        answered = ~np.isnan(np.array(c.started))
        abandoned = ~np.isnan(np.array(c.abandoned))
        queued = np.zeros(len(c), dtype=bool)
        queued[[i for waiting in self.queues for i in waiting]] = True
        waiting = queued & ~abandoned & ~answered
        both = answered & abandoned
        if both.any() or (answered.sum() + abandoned.sum() + waiting.sum()) != len(c):
            raise SimulationError(
                f"conservation broken: {len(c)} offered, {answered.sum()} answered, "
                f"{abandoned.sum()} abandoned, {waiting.sum()} waiting, {both.sum()} in two "
                "states"
            )


def queue_layout(scenario: Scenario) -> tuple[list[str], list[int]]:
    """Queue keys (``channel/queue``) and kinds; the escalation queue comes last."""
    keys, kinds = [], []
    for channel in scenario.channels:
        for key in channel.queue_keys():
            keys.append(key)
            kinds.append(_KIND_CODES[channel.kind])
    return [*keys, TIER2], [*kinds, ESCALATION]
