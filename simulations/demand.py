"""Demand: the contacts each channel expects in each stretch of each day, and drawing them.

A day's demand is piecewise constant. From the channel's profiles, each bin of the day's
intraday shape (the weekday's own, or an event's) that lies within the day's opening hours
expects ``volume_per_day x weekday x month x events x`` the bin's share of the open part of
the shape: the day's volume arrives while the channel is open. From a forecast file, each
row of the day expects its ``contacts`` (times the day's event multipliers; hours cut rows
where the channel is closed). Arrivals are a non-homogeneous Poisson process, exact for a
piecewise-constant rate: a Poisson count per piece, times uniform within it.

Profiles, opening hours and forecast rows are local wall-clock times: in a zoned scenario
a day's pieces are placed by its :class:`~kpiforge.simulations.wallclock.WallClock`, so the
profile keeps to local hours across DST changes.

Every draw comes from a stream named by its kind, channel and date (:mod:`streams`), so a
change to one channel or one day leaves the other channels' and days' contacts as they were.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable

import attrs
import numpy as np

from kpiforge.simulations.scenario import DAY_S, Channel, Scenario
from kpiforge.simulations.sections import ALL_DAY, Hours
from kpiforge.simulations.streams import stream
from kpiforge.simulations.wallclock import WallClock

#: The kinds of per-contact draw, each its own stream.
ATTRIBUTES = ("queues", "customers", "patience", "handling", "acw", "resolve", "repeat",
              "escalate", "tier2", "repeat_delay")


@attrs.frozen(eq=False)
class Pieces:
    """A day's demand for one channel: stretches of constant rate, in seconds from the
    epoch, with the contacts each expects and what a forecast says about them: the queue
    (a position in the channel's queues, ``-1`` for the channel's shares) and factors on
    the channel's handling and patience draws (``inf`` patience where the channel has no
    patience and the forecast gives none)."""

    start: np.ndarray
    end: np.ndarray
    expected: np.ndarray
    queue: np.ndarray
    handle_factor: np.ndarray
    patience_factor: np.ndarray

    def take(self, keep: np.ndarray) -> Pieces:
        return Pieces(*(getattr(self, f.name)[keep] for f in attrs.fields(Pieces)))

    def shifted(self, seconds: float) -> Pieces:
        return attrs.evolve(self, start=self.start + seconds, end=self.end + seconds)


class Demand:
    """The expected contacts of every channel and day of a scenario (computed once each)."""

    def __init__(self, scenario: Scenario) -> None:
        self.scenario = scenario
        self.clock = WallClock.of(scenario)
        self._cache: dict[tuple[int, int], Pieces] = {}
        forecast = scenario.forecast
        self._rows = {c.name: forecast.channel_rows(c.name) for c in scenario.channels
                      if forecast is not None and c.name in set(forecast.channel)}

    def day(self, index: int, day: int) -> Pieces:
        """Channel ``index``'s demand on day ``day`` (0 = the scenario's start)."""
        key = (index, day)
        if key not in self._cache:
            channel = self.scenario.channels[index]
            pieces = self._forecast(channel, day) if channel.name in self._rows else \
                self._profile(channel, day)
            self._cache[key] = _placed(pieces.shifted(day * DAY_S), self.clock)
        return self._cache[key]

    def _events(self, channel: Channel, day: int) -> tuple[float, tuple | None, Hours | None]:
        """The day's event multiplier, and the intraday shape and hours events set."""
        date = self.scenario.date(day)
        multiplier, shape, hours = 1.0, None, None
        for event in self.scenario.events:
            if event.covers(date, channel.name):
                multiplier *= event.multiplier
                shape = event.intraday if event.intraday is not None else shape
                hours = event.hours if event.hours is not None else hours
        return multiplier, shape, hours

    def _profile(self, channel: Channel, day: int) -> Pieces:
        """The day's volume over the open part of its intraday shape."""
        date = self.scenario.date(day)
        weekday = date.weekday()
        multiplier, event_shape, event_hours = self._events(channel, day)
        shape = np.asarray(event_shape or channel.shape_on(weekday))
        width = DAY_S / len(shape)
        n = len(shape)
        whole = _pieces(channel, np.arange(n) * width, np.arange(1, n + 1) * width, shape)
        pieces = _clip(whole, channel.hours[weekday] if event_hours is None else event_hours)
        volume = channel.volume_per_day * channel.weekday[weekday] * \
            channel.monthly[date.month - 1] * multiplier
        total = pieces.expected.sum()
        return attrs.evolve(pieces, expected=volume * pieces.expected / total
                            if total > 0 else pieces.expected * 0.0)

    def _forecast(self, channel: Channel, day: int) -> Pieces:
        """The forecast's rows of the day, times its events, where the channel is open."""
        forecast = self.scenario.forecast
        assert forecast is not None, "forecast channels come from a forecast"
        rows = self._rows[channel.name]
        starts = forecast.start_s[rows]
        rows = rows[(starts >= day * DAY_S) & (starts < (day + 1) * DAY_S)]
        multiplier, _, event_hours = self._events(channel, day)
        hours = channel.hours[self.scenario.date(day).weekday()] if event_hours is None \
            else event_hours
        offset = forecast.start_s[rows] - day * DAY_S
        pieces = _pieces(channel, offset, offset + forecast.interval_s,
                         forecast.contacts[rows] * multiplier, forecast.queue[rows],
                         forecast.aht_s[rows], forecast.patience_s[rows])
        return pieces if hours == ALL_DAY else _clip(pieces, hours)


def _pieces(channel: Channel, start: np.ndarray, end: np.ndarray, expected: np.ndarray,
            queue: np.ndarray | None = None, aht_s: np.ndarray | None = None,
            patience_s: np.ndarray | None = None) -> Pieces:
    """Pieces whose forecast means (NaN: none) rescale the channel's own distributions:
    handling to ``aht_s`` less the channel's mean after-contact work, patience to
    ``patience_s``."""
    n = len(start)
    nan = np.full(n, np.nan)
    aht_s = nan if aht_s is None else aht_s
    patience_s = nan if patience_s is None else patience_s
    if channel.patience_s is not None:
        patience = _scale(patience_s, channel.patience_s.expected)
    else:
        patience = np.where(np.isnan(patience_s), np.inf, patience_s)
    # A forecast's aht_s is handling plus after-contact work (as staffing reads it).
    handling = aht_s - channel.acw_s.expected
    return Pieces(start, end, expected, np.full(n, -1) if queue is None else queue,
                  _scale(handling, channel.aht_s.expected), patience)


def _placed(pieces: Pieces, clock: WallClock | None) -> Pieces:
    """Pieces in wall-clock seconds placed in run seconds by the scenario's ``clock`` (as
    they are without a zone): each keeps its rate, so on a DST change the skipped hour
    expects no contacts and the repeated hour twice its share."""
    if clock is None:
        return pieces
    index, start, end, share = clock.spans(pieces.start, pieces.end)
    placed = pieces.take(index)
    return attrs.evolve(placed, start=start, end=end, expected=placed.expected * share)


def _scale(mean: np.ndarray, own: float) -> np.ndarray:
    """Factors that rescale a distribution with mean ``own`` to ``mean`` (NaN: keep)."""
    return np.where(np.isnan(mean) | (own <= 0), 1.0, mean / (own or 1.0))


def _clip(pieces: Pieces, hours: Hours) -> Pieces:
    """The parts of ``pieces`` (offsets within a day) within opening ``hours``, each
    expecting its share of its piece's contacts."""
    index = np.arange(len(pieces.start))
    which, low, high = [index[:0]], [pieces.start[:0]], [pieces.end[:0]]
    for a, b in hours:
        start, end = np.maximum(pieces.start, a), np.minimum(pieces.end, b)
        keep = end > start
        which.append(index[keep])
        low.append(start[keep])
        high.append(end[keep])
    rows, start, end = (np.concatenate(parts) for parts in (which, low, high))
    order = np.argsort(start, kind="stable")
    rows, start, end = rows[order], start[order], end[order]
    clipped = pieces.take(rows)
    share = (end - start) / (pieces.end - pieces.start)[rows]
    return attrs.evolve(clipped, start=start, end=end, expected=clipped.expected * share)


def attribute_streams(seed: np.random.SeedSequence, channel: str, label: str
                      ) -> dict[str, np.random.Generator]:
    """One generator per kind of contact attribute, for ``channel`` and ``label`` (a date,
    or ``"repeats"`` for the contacts customers come back with)."""
    return {kind: stream(seed, kind, channel, label) for kind in ATTRIBUTES}


def draw_base(scenario: Scenario, index: int, n: int, rng: dict[str, np.random.Generator]
              ) -> dict[str, np.ndarray]:
    """``n`` contacts' attributes of channel ``index`` that depend neither on when they
    arrive nor on a forecast: each from its own stream. Handling and patience are drawn at
    the channel's own means (rescaled by :func:`arrange`); ``queue`` is a position in the
    channel's queue shares."""
    channel = scenario.channels[index]
    return {
        "queue": rng["queues"].choice(len(channel.queues), n, p=list(channel.queues.values())),
        "customer": rng["customers"].integers(0, scenario.customers, n),
        "patience": channel.patience_s.sample(rng["patience"], n) if channel.patience_s
        else rng["patience"].exponential(1.0, n),
        "handle": channel.aht_s.sample(rng["handling"], n),
        "acw": channel.acw_s.sample(rng["acw"], n),
        "resolve": rng["resolve"].random(n) < channel.resolve,
        "repeat": rng["repeat"].random(n) < channel.repeat,
        "escalate": rng["escalate"].random(n) < channel.escalate,
        "tier2_handle": channel.tier2_aht_s.sample(rng["tier2"], n),
        "repeat_delay": channel.repeat_delay_s.sample(rng["repeat_delay"], n),
    }


def arrange(scenario: Scenario, index: int, base: dict[str, np.ndarray], arrived: np.ndarray,
            pieces: Pieces, piece: np.ndarray, queue_offsets: list[int]
            ) -> dict[str, np.ndarray]:
    """Contacts of channel ``index`` arriving at ``arrived`` (in ``pieces[piece]``) from
    their ``base`` draws: the columns :meth:`Contacts.extend` takes."""
    queue = pieces.queue[piece]
    factor = pieces.patience_factor[piece]
    out = {key: base[key] for key in ("customer", "acw", "resolve", "repeat", "escalate",
                                       "tier2_handle", "repeat_delay")}
    out.update(arrived=arrived, channel=np.full(len(arrived), index),
               queue=np.asarray(queue_offsets)[np.where(queue >= 0, queue, base["queue"])],
               deadline=arrived + np.where(np.isinf(factor), np.inf, base["patience"] * factor),
               handle=base["handle"] * pieces.handle_factor[piece])
    return out


def draw_day(scenario: Scenario, seed: np.random.SeedSequence, demand: Demand, index: int,
             day: int, queue_offsets: list[int]) -> dict[str, np.ndarray]:
    """The contacts of channel ``index`` arriving on day ``day``, in time order, from at
    most the start of the run (a warm-up of part of a day starts within it)."""
    channel = scenario.channels[index]
    label = scenario.date(day).isoformat()
    pieces = demand.day(index, day)
    rng = stream(seed, "arrivals", channel.name, label)
    counts = rng.poisson(pieces.expected)
    piece = np.repeat(np.arange(len(counts)), counts)
    arrived = pieces.start[piece] + rng.random(len(piece)) * (pieces.end - pieces.start)[piece]
    order = np.argsort(arrived, kind="stable")
    arrived, piece = arrived[order], piece[order]
    base = draw_base(scenario, index, len(arrived),
                     attribute_streams(seed, channel.name, label))
    draws = arrange(scenario, index, base, arrived, pieces, piece, queue_offsets)
    keep = arrived >= scenario.begin_s
    return {key: values[keep] for key, values in draws.items()}


def time_of_day_chooser(demand: Demand, index: int, rng: np.random.Generator,
                        horizon_days: int) -> Callable[[int], tuple[float, int, float, float]
                                                       | None]:
    """A function giving, for a day, a random time drawn from channel ``index``'s demand
    that day, or the next day with any, with what its piece says of the contact: (time,
    queue position, handling factor, patience factor); None if no demand before the
    horizon."""
    days: dict[int, tuple[list[float], Pieces]] = {}

    def choose(day: int) -> tuple[float, int, float, float] | None:
        while day < horizon_days:
            if day not in days:
                pieces = demand.day(index, day)
                days[day] = (np.cumsum(pieces.expected).tolist(), pieces)
            cumulative, pieces = days[day]
            if cumulative and cumulative[-1] > 0:
                k = min(bisect.bisect_right(cumulative, rng.random() * cumulative[-1]),
                        len(cumulative) - 1)
                start, end = float(pieces.start[k]), float(pieces.end[k])
                return (start + rng.random() * (end - start), int(pieces.queue[k]),
                        float(pieces.handle_factor[k]), float(pieces.patience_factor[k]))
            day += 1
        return None

    return choose
