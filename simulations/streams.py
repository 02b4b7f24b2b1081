"""Named random streams: one generator per purpose, derived from the run's seed by name.

A what-if compares two runs; the less the runs' random draws differ, the less noise the
comparison carries (common random numbers). So every kind of draw has its own stream, named
by what it is for: ``stream(seed, "handling", "chat", "2026-11-17")`` is the chat handling
times of that date, whatever the other channels, kinds and dates draw. Names, not positions,
pick the stream, so adding a channel, an event or a kind of draw leaves every other stream
as it was.

>>> seed = np.random.SeedSequence(7)
>>> a = stream(seed, "arrivals", "call", "2026-11-16").random()
>>> a == stream(seed, "arrivals", "call", "2026-11-16").random()
True
>>> a == stream(seed, "arrivals", "chat", "2026-11-16").random()
False
"""

from __future__ import annotations

import hashlib

import numpy as np


def name_key(name: str) -> int:
    """A stable 64-bit number for ``name`` (the same in every process and Python)."""
    return int.from_bytes(hashlib.blake2b(name.encode(), digest_size=8).digest(), "little")


def child(seed: np.random.SeedSequence, *names: str) -> np.random.SeedSequence:
    """The seed sequence of the stream called ``names`` under ``seed``."""
    return np.random.SeedSequence(seed.entropy, spawn_key=(
        *seed.spawn_key, *(name_key(n) for n in names)))


def stream(seed: np.random.SeedSequence, *names: str) -> np.random.Generator:
    """The generator of the stream called ``names`` under ``seed``."""
    return np.random.default_rng(child(seed, *names))


def replication_seeds(seed: int, replications: int) -> list[np.random.SeedSequence]:
    """The seeds of replications 0, 1, ... of a scenario with ``seed``: replication ``i`` of
    any two scenarios with the same seed shares its streams (paired replications)."""
    return np.random.SeedSequence(seed).spawn(replications)
