"""The contact centre as SimPy processes.

Picture the floor: contacts arrive in queues (one per channel and topic), agents sit at
positions and take the oldest waiting contact of the first queue in their skill list. A
caller hangs up when their patience runs out; a chat agent holds several chats at once, all
of them a little slower for each extra one, and a new chat goes to the agent holding the
fewest; emails sit in a backlog that agents work when no live contact waits (unless one is
older than its reply SLA). Some contacts go on to a second tier; some are not resolved and
the customer comes back later.

Processes:

- one arrival process per channel walks its pre-drawn arrival times;
- every agent has one *slot* process per working position (``concurrency`` for chat
  agents): a slot takes work, holds it until done, finishes it, and looks again, or parks
  until an arrival hands it a contact;
- every agent has an availability process that opens and closes its shifts and takes its
  breaks and shrinkage blocks. A block that falls due while the agent holds work starts when
  that work (after-contact work included) is done and lasts its full length; the agent takes
  no new contact from the moment it is due. An agent whose shift ends mid-contact finishes
  it (paid overtime, counted as staffed).

Abandonment is resolved lazily: in a first-come-first-served queue a contact that runs out
of patience never changes who is served next, so instead of a timer per contact an agent
skips expired contacts at the head of the queue, recording that they left at arrival +
patience. The outcome is exactly that of a timer, with one event fewer per contact.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from typing import Protocol

import attrs
import numpy as np
import simpy

from kpiforge.simulations.scenario import TIER2, Scenario

#: Kinds of queue.
CALL, CHAT, EMAIL, ESCALATION = 0, 1, 2, 3
_KIND_CODES = {"call": CALL, "chat": CHAT, "email": EMAIL}


class RepeatSource(Protocol):
    """Where repeat contacts come from."""

    def repeat(self, i: int, now: float, horizon: float) -> tuple[float, int] | None:
        """The contact the customer of ``i`` (finished unresolved at ``now``) comes back
        with, added to the contacts: its arrival time and index; None if not before
        ``horizon``."""


class SimulationError(RuntimeError):
    """The model broke an invariant (a contact in two states, or in none)."""


@attrs.frozen
class Duty:
    """One stretch of an agent's work: from ``start`` to ``end`` with ``blocks`` (due time,
    length) of breaks and shrinkage in time order."""

    start: float
    end: float
    blocks: tuple[tuple[float, float], ...]


class Contacts:
    """Per-contact columns as Python lists (fast scalar access in the event loop).

    Each channel numbers its contacts on its own, so that a change to one channel leaves
    the others' ids as they were: contact ``n`` (from 0) of channel ``k`` of ``channels``
    has id ``1 + n x channels + k``. A repeat keeps the case of the contact it repeats.
    """

    def __init__(self, channels: int = 1) -> None:
        self.channels = channels
        self.numbered = [0] * channels
        self.ident: list[int] = []
        self.case: list[int] = []
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
        #: When work on an unresolved contact ended (it is closed; the customer may come back).
        self.closed: list[float] = []
        self.escalated: list[bool] = []
        self.agent: list[int] = []

    def __len__(self) -> int:
        return len(self.arrived)

    def extend(self, draws: dict[str, np.ndarray], ordinal: int, case: int | None = None
               ) -> None:
        """Append contacts of one channel from arrays of pre-drawn attributes; ``case`` is
        the case a repeat belongs to (default: each contact opens its own)."""
        n = len(draws["arrived"])
        if n == 0:
            return
        channel = int(draws["channel"][0])
        first = self.numbered[channel]
        self.numbered[channel] = first + n
        ids = [1 + (first + k) * self.channels + channel for k in range(n)]
        self.ident.extend(ids)
        self.case.extend(ids if case is None else [case] * n)
        for name, values in draws.items():
            getattr(self, name).extend(values.tolist())
        self.ordinal.extend([ordinal] * n)
        nan = float("nan")
        for outcome in (self.started, self.answered, self.abandoned, self.handled,
                        self.resolved, self.closed):
            outcome.extend([nan] * n)
        self.escalated.extend([False] * n)
        self.agent.extend([-1] * n)

    def append(self, values: dict[str, float], ordinal: int, case: int) -> int:
        """Add one contact of a case (a repeat) from scalar attributes; its index."""
        channel = int(values["channel"])
        n = self.numbered[channel]
        self.numbered[channel] = n + 1
        self.ident.append(1 + n * self.channels + channel)
        self.case.append(case)
        for name, value in values.items():
            getattr(self, name).append(value)
        self.ordinal.append(ordinal)
        nan = float("nan")
        for outcome in (self.started, self.answered, self.abandoned, self.handled,
                        self.resolved, self.closed):
            outcome.append(nan)
        self.escalated.append(False)
        self.agent.append(-1)
        return len(self.arrived) - 1


class Agent:
    """One agent: skills in priority order, positions (slots), and what they hold now."""

    __slots__ = ("available", "chats", "clock", "concurrency", "exclusive", "index",
                 "live_queues", "overtime", "slots", "tier", "urgent_queues", "version",
                 "waiter", "work")

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
        #: The availability process waiting for the agent to put down its work.
        self.waiter: simpy.Event | None = None
        #: When the shift ended, while the agent finishes the contact in hand.
        self.overtime: float | None = None
        #: Chats in progress (agents holding several) and the time they were brought to.
        self.work: list[Chat] = []
        self.clock = 0.0
        #: Changes whenever the chats' paces are set, so an outdated wake-up is ignored.
        self.version = 0

    @property
    def busy(self) -> bool:
        return self.exclusive or self.chats > 0


class Slot:
    """One working position of an agent; the primary one also takes calls and emails."""

    __slots__ = ("agent", "busy", "done", "primary", "wake")

    def __init__(self, agent: Agent, primary: bool) -> None:
        self.agent = agent
        self.primary = primary
        self.wake: simpy.Event | None = None
        self.busy = 0.0
        #: Set for a chat among several: fires when the agent's clock says it is done.
        self.done: simpy.Event | None = None


class Chat:
    """A chat in progress at an agent holding several: work left (in seconds at full
    pace), the pace it goes at now, and whether it is in after-contact work."""

    __slots__ = ("done", "i", "pace", "phase_start", "remaining", "wrapping")

    def __init__(self, i: int, remaining: float, now: float, done: simpy.Event) -> None:
        self.i = i
        self.remaining = remaining
        self.pace = 1.0
        self.phase_start = now
        self.wrapping = False
        self.done = done


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
        self.end = scenario.end_s
        self.repeats = repeats
        self.queues: list[deque[int]] = [deque() for _ in queue_kinds]
        #: Parked slots per queue, longest parked first (stale entries dropped on the way).
        self.idle: list[deque[tuple[Slot, simpy.Event]]] = [deque() for _ in queue_kinds]
        #: Chat queues some agent serves with several chats at once: least-loaded routing
        #: over the slots parked there (a slot parking again moves to the end).
        self.least_loaded = [False] * len(queue_kinds)
        self.parked: list[dict[Slot, simpy.Event]] = [{} for _ in queue_kinds]
        self.agents: list[Agent] = []
        #: Work spans for agent_intervals: agent, start, end, share of the agent's capacity.
        self.spans: tuple[list[int], list[float], list[float], list[float]] = ([], [], [], [])
        #: Staffed windows and blocks (breaks, shrinkage) as taken: agent, start, end.
        self.staffed: tuple[list[int], list[float], list[float]] = ([], [], [])
        self.lost: tuple[list[int], list[float], list[float]] = ([], [], [])

    # -- agents ------------------------------------------------------------------------------

    def add_agent(self, agent: Agent, duties: list[Duty]) -> None:
        """Seat ``agent`` with its ``duties`` and start its processes."""
        self.agents.append(agent)
        agent.slots = [Slot(agent, primary=k == 0) for k in range(agent.concurrency)]
        if agent.concurrency > 1:
            for queue in agent.live_queues:
                if self.kinds[queue] == CHAT:
                    self.least_loaded[queue] = True
        for slot in agent.slots:
            self.env.process(self.work(slot))
        self.env.process(self.availability(agent, duties))

    def availability(self, agent: Agent, duties: list[Duty]):
        """Open and close the agent's duties and take their blocks in full."""
        env = self.env
        for duty in duties:
            if duty.start > env.now:
                yield env.timeout(duty.start - env.now)
            self._record(self.staffed, agent, env.now, duty.end)
            agent.available = True
            self.recheck(agent)
            for due, length in duty.blocks:
                if due > env.now:
                    yield env.timeout(due - env.now)
                agent.available = False
                yield from self.put_down(agent)
                stop = min(env.now + length, duty.end)
                if stop <= env.now:
                    break
                self._record(self.lost, agent, env.now, stop)
                yield env.timeout(stop - env.now)
                agent.available = True
                self.recheck(agent)
            if duty.end > env.now:
                yield env.timeout(duty.end - env.now)
            agent.available = False
            agent.overtime = duty.end
            yield from self.put_down(agent)
            agent.overtime = None
            if env.now > duty.end:
                self._record(self.staffed, agent, duty.end, env.now)

    def put_down(self, agent: Agent):
        """Wait until the agent holds no work."""
        if agent.busy:
            agent.waiter = self.env.event()
            yield agent.waiter

    @staticmethod
    def _record(windows: tuple[list, ...], agent: Agent, start: float, end: float,
                *share: float) -> None:
        """Add a window (agent, start, end[, share]) to ``staffed``, ``lost`` or ``spans``."""
        windows[0].append(agent.index)
        windows[1].append(start)
        windows[2].append(end)
        if share:
            windows[3].append(share[0])

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
            done = slot.done
            if done is None:
                yield env.timeout(slot.busy)
            else:
                slot.done = None
                yield done
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
            if self.least_loaded[queue]:
                parked = self.parked[queue]
                parked.pop(slot, None)
                parked[slot] = slot.wake
            elif slot.primary or self.kinds[queue] == CHAT:
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
        agent: the longest idle, or for chats the one holding the fewest."""
        if queue is None:
            queue = self.contacts.queue[i]
            # Stamp the clock: now + (t - now) can differ from t in the last bit.
            self.contacts.arrived[i] = self.env.now
        if self.least_loaded[queue]:
            entry = self.least_loaded_slot(queue)
            if entry is not None:
                slot, wake = entry
                slot.wake = None
                self.assign(slot, i, queue)
                wake.succeed(i)
                return
        else:
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

    def least_loaded_slot(self, queue: int) -> tuple[Slot, simpy.Event] | None:
        """The parked slot whose agent holds the fewest chats (the longest parked among
        equals)."""
        parked = self.parked[queue]
        best, fewest = None, 0
        for slot, wake in parked.items():
            if slot.wake is not wake or not self.eligible(slot, queue):
                continue
            if best is None or slot.agent.chats < fewest:
                best, fewest = slot, slot.agent.chats
                if not fewest:
                    break
        if best is None:
            return None
        return best, parked.pop(best)

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
        if kind == ESCALATION:
            busy = c.tier2_handle[i]
            agent.exclusive = True
            c.handled[i] += busy
        elif kind == CHAT and agent.concurrency > 1:
            agent.chats += 1
            c.started[i] = c.answered[i] = now
            c.agent[i] = agent.index
            self.start_chat(slot, i)
            return  # its span is known when it ends
        else:
            duration = c.handle[i]
            if kind == CHAT:
                agent.chats += 1
            else:
                agent.exclusive = True
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
        spans[3].append(1.0)

    # -- chats held several at a time --------------------------------------------------------

    def start_chat(self, slot: Slot, i: int) -> None:
        """Add chat ``i`` to the agent's chats in progress; every one of them slows."""
        agent = slot.agent
        self.advance(agent)
        done = self.env.event()
        agent.work.append(Chat(i, self.contacts.handle[i], self.env.now, done))
        slot.done = done
        self.pace(agent)

    def advance(self, agent: Agent) -> None:
        """Bring the agent's chats up to now at the pace they went."""
        elapsed = self.env.now - agent.clock
        if elapsed > 0:
            for chat in agent.work:
                chat.remaining -= elapsed * chat.pace
        agent.clock = self.env.now

    def pace(self, agent: Agent) -> None:
        """Set every chat's pace for the ``m`` chats held (``1 / (1 + stretch x (m - 1))``,
        wrap-up included) and wake the agent when the next one ends its phase."""
        agent.version += 1
        if not agent.work:
            return
        extra = agent.chats - 1
        channel = self.contacts.channel
        first = None
        for chat in agent.work:
            chat.pace = 1.0 / (1.0 + self.stretch[channel[chat.i]] * extra)
            left = max(chat.remaining, 0.0) / chat.pace
            if first is None or left < first[1]:
                first = (chat, left)
        assert first is not None, "an agent with chats has a next one"
        chat, left = first
        version = agent.version

        def wake(_: simpy.Event) -> None:
            self.phase_ends(agent, chat, version)

        self.env.timeout(left).callbacks.append(wake)

    def phase_ends(self, agent: Agent, chat: Chat, version: int) -> None:
        """A chat's handling or wrap-up ends (unless the agent's chats changed since); a
        chat done is handed back to its slot, whose ``finish`` paces the others."""
        if agent.version != version:
            return
        self.advance(agent)
        c = self.contacts
        now = self.env.now
        chat.remaining = 0.0
        if not chat.wrapping:
            c.handled[chat.i] = now - chat.phase_start
            chat.wrapping, chat.phase_start, chat.remaining = True, now, c.acw[chat.i]
            if chat.remaining > 0:
                self.pace(agent)
                return
        c.acw[chat.i] = now - chat.phase_start
        agent.work.remove(chat)
        self._record(self.spans, agent, c.started[chat.i], now, 1.0 / agent.concurrency)
        chat.done.succeed(None)

    def finish(self, slot: Slot, i: int) -> None:
        """Work on ``i`` is done: escalate it, resolve it, or send the customer back later."""
        c = self.contacts
        agent = slot.agent
        now = self.env.now
        second_tier = c.escalated[i]
        if not second_tier and self.kinds[c.queue[i]] == CHAT:
            self.advance(agent)
            agent.chats -= 1
            self.pace(agent)
        else:
            agent.exclusive = False
        if c.escalate[i] and not second_tier:
            c.escalated[i] = True
            c.deadline[i] = float("inf")  # escalated contacts wait for tier 2
            self.arrive(i, self.escalation_queue)
        elif c.resolve[i]:
            c.resolved[i] = now
        else:
            c.closed[i] = now
            if c.repeat[i]:
                self.come_back(i, now)
        if agent.waiter is not None and not agent.busy:
            waiter, agent.waiter = agent.waiter, None
            waiter.succeed(None)
        if agent.concurrency > 1:
            self.recheck(agent)

    def come_back(self, i: int, now: float) -> None:
        """The customer of unresolved ``i`` comes back with a new contact, if before the
        horizon."""
        back = self.repeats.repeat(i, now, self.horizon)
        if back is None:
            return
        at, k = back

        def arrive(_: simpy.Event, k: int = k) -> None:
            self.arrive(k)

        self.env.timeout(at - now).callbacks.append(arrive)

    @property
    def escalation_queue(self) -> int:
        return len(self.kinds) - 1

    def arrivals(self, order: Iterable[int]):
        """Walk one channel's pre-drawn arrivals in time order."""
        env = self.env
        arrived = self.contacts.arrived
        for i in order:
            delay = arrived[i] - env.now
            if delay > 0:
                yield env.timeout(delay)
            self.arrive(i)

    def close(self) -> None:
        """At the end of the run: agents finishing a contact past their shift are staffed
        until now, chats in progress get the times they would take at their present pace,
        contacts still queued either ran out of patience or still wait; then check that
        every contact is in exactly one state."""
        c = self.contacts
        for agent in self.agents:
            if agent.overtime is not None and self.env.now > agent.overtime:
                self._record(self.staffed, agent, agent.overtime, self.env.now)
            self.advance(agent)
            for chat in agent.work:
                left = max(chat.remaining, 0.0) / chat.pace
                phase = self.env.now - chat.phase_start + left
                if chat.wrapping:
                    c.acw[chat.i] = phase
                else:
                    c.handled[chat.i] = phase
                    left += c.acw[chat.i]
                self._record(self.spans, agent, c.started[chat.i], self.env.now + left,
                             1.0 / agent.concurrency)
        for waiting in self.queues:
            for i in waiting:
                if c.deadline[i] < self.end:
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
