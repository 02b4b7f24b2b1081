"""Random durations (handling, after-contact work, patience, repeat delays).

A planner states a mean and, where the shape matters, a coefficient of variation (cv =
standard deviation / mean): handling times are right-skewed (lognormal or gamma), patience
is usually taken as exponential (that is the Erlang A assumption), and a measured sample can
be replayed as an empirical distribution.
"""

from __future__ import annotations

from typing import Any

import attrs
import numpy as np

KINDS = ("fixed", "exponential", "lognormal", "gamma", "empirical")


def _positive(instance: Any, attribute: attrs.Attribute, value: Any) -> None:
    if value is not None and not value > 0:
        raise ValueError(f"{attribute.name} must be > 0, got {value!r}")


def _kind(instance: Any, attribute: attrs.Attribute, value: Any) -> None:
    if value not in KINDS:
        raise ValueError(f"dist must be one of {', '.join(KINDS)}, got {value!r}")


def _values(value: Any) -> tuple[float, ...]:
    return tuple(float(v) for v in value)


@attrs.frozen
class Distribution:
    """A non-negative random duration in seconds."""

    dist: str = attrs.field(validator=_kind)
    mean: float | None = attrs.field(default=None, validator=_positive)
    cv: float | None = attrs.field(default=None, validator=_positive)
    values: tuple[float, ...] = attrs.field(default=(), converter=_values)

    def __attrs_post_init__(self) -> None:
        if self.dist == "empirical":
            if not self.values or min(self.values) < 0:
                raise ValueError("empirical needs values = [...] of durations >= 0")
            if self.mean is not None or self.cv is not None:
                raise ValueError("empirical takes values only, not mean or cv")
            return
        if self.values:
            raise ValueError(f"{self.dist} takes mean (and cv), not values")
        if self.mean is None and self.dist != "fixed":
            raise ValueError(f"{self.dist} needs mean")
        if self.dist in ("lognormal", "gamma") and self.cv is None:
            raise ValueError(f"{self.dist} needs cv (standard deviation / mean)")
        if self.dist in ("fixed", "exponential") and self.cv is not None:
            raise ValueError(f"{self.dist} takes no cv")

    @classmethod
    def fixed(cls, seconds: float) -> Distribution:
        if seconds < 0:
            raise ValueError(f"a duration must be >= 0, got {seconds!r}")
        return cls("fixed", mean=seconds or None) if seconds else cls("fixed")

    @property
    def expected(self) -> float:
        """The mean duration in seconds."""
        if self.dist == "empirical":
            return float(np.mean(self.values))
        return self.mean or 0.0

    def sample(self, rng: np.random.Generator, size: int) -> np.ndarray:
        """``size`` independent draws."""
        mean, cv = self.expected, self.cv or 0.0
        if self.dist == "fixed":
            return np.full(size, mean)
        if self.dist == "exponential":
            return rng.exponential(mean, size)
        if self.dist == "lognormal":
            sigma2 = np.log1p(cv ** 2)
            return rng.lognormal(np.log(mean) - sigma2 / 2, np.sqrt(sigma2), size)
        if self.dist == "gamma":
            shape = 1 / cv ** 2
            return rng.gamma(shape, mean / shape, size)
        return rng.choice(np.asarray(self.values), size)

    def to_toml(self) -> float | dict[str, Any]:
        if self.dist == "fixed":
            return self.expected
        out: dict[str, Any] = {"dist": self.dist}
        if self.dist == "empirical":
            out["values"] = list(self.values)
        else:
            out["mean"] = self.mean
        if self.cv is not None:
            out["cv"] = self.cv
        return out
