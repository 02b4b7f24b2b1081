"""Targets: what each KPI should reach, over which period and by when, from which baseline,
and where it stands (on track, at risk, off).

The seeds' SMART rule: know the current state before setting a target, keep the target
achievable from it, and give it a deadline. A targets file (TOML) has one table per KPI id,
and an optional ``[defaults]`` table whose keys apply to every target that does not set
them::

    [defaults]
    period = "1mo"
    deadline = 2026-12-31

    [service_level]
    target = 0.8            # or band = [0.75, 0.85]
    period = "1w"           # a grain: 15min, 30min, 1h, 1d, 1w, 1mo
    baseline = "data"       # "data", a number, or a path to data (a file or run directory)
    group = "support-team"  # who owns it
    margin = 0.05           # at risk: missed by at most 5 % of the target
    max_ratio = 1.5         # lint: at most 1.5 times better than the baseline

Status judges a value by the KPI's direction: a target of 0.8 on a KPI better higher is on
track at 0.8 or more, at risk down to ``0.8 - margin x 0.8``, off below. A band is on track
inside, at risk outside by at most ``margin`` x the nearest edge, off beyond, whatever the
direction; a KPI with a neutral direction (occupancy) needs a band. Undefined values (0/0)
have no status.
"""

from __future__ import annotations

import datetime as dt
import enum
import math
import os
import tomllib
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

import attrs
import numpy as np
import pyarrow as pa

from kpiforge import engine
from kpiforge.definitions import named_errors
from kpiforge.engine.grains import GRAINS
from kpiforge.errors import KpiforgeError, did_you_mean
from kpiforge.registry import Registry, default_registry
from kpiforge.results import Result

#: ``baseline = "data"``: the KPI over the data the command reads (``lint --data``).
FROM_DATA = "data"
DEFAULT_MARGIN = 0.05
DEFAULT_MAX_RATIO = 1.5
#: The keys of a target table; ``[defaults]`` takes all but ``target`` and ``band``.
KEYS = ("target", "band", "period", "deadline", "baseline", "group", "margin", "max_ratio")
DEFAULTS = "defaults"
STATUS_SUFFIX = "_status"


class Status(enum.Enum):
    """Where a KPI stands against its target."""

    ON_TRACK = "on track"
    AT_RISK = "at risk"
    OFF = "off"

    def __str__(self) -> str:
        return self.value


#: Worse statuses rank higher: a group is as bad as its worst KPI.
_RANK = {Status.ON_TRACK: 0, Status.AT_RISK: 1, Status.OFF: 2}
#: Relative slack on the at-risk limit, for values written in decimal.
_ROUNDING = 1e-9
#: Status by code (the rank; 3 for an undefined value).
_STATUSES = np.array([*_RANK, None], dtype=object)


def _number(key: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or \
            not math.isfinite(value):
        raise ValueError(f"{key} must be a number, got {value!r}")
    return float(value)


def _to_value(value: Any) -> float | None:
    return None if value is None else _number("target", value)


def _to_margin(value: Any) -> float:
    return _number("margin", value)


def _to_max_ratio(value: Any) -> float:
    return _number("max_ratio", value)


def _to_band(value: Any) -> tuple[float, float] | None:
    if value is None:
        return None
    if not isinstance(value, list | tuple) or len(value) != 2:
        raise ValueError(f"band must be [low, high], got {value!r}")
    low, high = (_number("band", v) for v in value)
    if low > high:
        raise ValueError(f"band must be [low, high] with low <= high, got {list(value)!r}")
    return low, high


def _to_date(value: Any) -> dt.date | None:
    if value is None or (isinstance(value, dt.date) and not isinstance(value, dt.datetime)):
        return value
    if isinstance(value, dt.datetime):
        return value.date()
    try:
        return dt.date.fromisoformat(value)
    except (TypeError, ValueError):
        raise ValueError(f"deadline must be a date such as 2026-12-31, got {value!r}") from None


def _to_baseline(value: Any) -> float | str:
    if isinstance(value, str | os.PathLike) and not isinstance(value, bool):
        return os.fspath(value)
    try:
        return _number("baseline", value)
    except ValueError:
        raise ValueError(f"baseline must be {FROM_DATA!r}, a number, or a path to data to "
                         f"compute it from, got {value!r}") from None


def _period(instance: Any, attribute: attrs.Attribute, value: Any) -> None:
    if value is not None and value not in GRAINS:
        raise ValueError(f"period must be one of {', '.join(GRAINS)}, got "
                         f"{value!r}{did_you_mean(str(value), GRAINS)}")


def _fraction(instance: Any, attribute: attrs.Attribute, value: float) -> None:
    if not 0 <= value < 1:
        raise ValueError(f"margin must be a fraction from 0 to below 1, got {value!r}")


def _ratio(instance: Any, attribute: attrs.Attribute, value: float) -> None:
    if value <= 1:
        raise ValueError(f"max_ratio must be more than 1, got {value!r}")


def _group(instance: Any, attribute: attrs.Attribute, value: Any) -> None:
    if value is not None and (not isinstance(value, str) or not value.strip()):
        raise ValueError(f"group must be a name, got {value!r}")


@named_errors
@attrs.frozen
class Target:
    """A target for one KPI: a value (``target=``, kept as :attr:`value`) or a ``band``
    (exactly one), the ``period`` it is
    judged over and the ``deadline`` to reach it by (either makes it time-bound), where its
    ``baseline`` comes from, the ``group`` that owns it, the at-risk ``margin`` and the
    ``max_ratio`` lint allows between target and baseline."""

    kpi: str
    value: float | None = attrs.field(default=None, converter=_to_value, alias="target")
    band: tuple[float, float] | None = attrs.field(default=None, converter=_to_band)
    period: str | None = attrs.field(default=None, validator=_period)
    deadline: dt.date | None = attrs.field(default=None, converter=_to_date)
    baseline: float | str = attrs.field(default=FROM_DATA, converter=_to_baseline)
    group: str | None = attrs.field(default=None, validator=_group)
    margin: float = attrs.field(default=DEFAULT_MARGIN, converter=_to_margin,
                                validator=_fraction)
    max_ratio: float = attrs.field(default=DEFAULT_MAX_RATIO, converter=_to_max_ratio,
                                   validator=_ratio)

    def __attrs_post_init__(self) -> None:
        if (self.value is None) == (self.band is None):
            raise KpiforgeError(f"Target {self.kpi!r}: give either target = VALUE or band = "
                                "[low, high]" + ("" if self.value is None else ", not both"))

    @property
    def time_bound(self) -> bool:
        """Whether it says when: a period to judge it over or a deadline."""
        return self.period is not None or self.deadline is not None

    def period_shorter_than(self, grain: str) -> bool:
        """Whether its period is a finer grain than ``grain`` (False without a period)."""
        return self.period is not None and GRAINS.index(self.period) < GRAINS.index(grain)

    def judge(self, values: Any, direction: str) -> np.ndarray:
        """The :class:`Status` of each value (None where it is undefined), judged by
        ``direction`` for a target value; an object array."""
        values = np.asarray(values, dtype=np.float64)
        if self.band is not None:
            low, high = self.band
            edge = np.where(values < low, low, high)
            miss = np.where(values < low, low - values, values - high)
        elif direction == "neutral":
            raise KpiforgeError(f"Target {self.kpi!r}: {self.kpi} has no better direction "
                                "(neutral), so a single target value cannot judge it; give "
                                "band = [low, high]")
        else:
            edge = np.full(values.shape, self.value)
            miss = (edge - values) if direction == "higher" else (values - edge)
        limit = self.margin * np.abs(edge) * (1 + _ROUNDING)  # 0.8 - 0.76 is 0.04 + 4e-17
        codes = np.select([miss <= 0, miss <= limit], [0, 1], 2)
        codes[np.isnan(values)] = 3
        return _STATUSES[codes]

    def required_ratio(self, baseline: float, direction: str) -> float:
        """How many times better than ``baseline`` the target asks for: target / baseline
        when higher is better, baseline / target when lower is (for a band, toward its
        nearest edge); at most 1 when the baseline already meets it, infinite from a
        baseline of 0, NaN when either is negative or undefined."""
        if self.band is not None:
            low, high = self.band
            aim, better = (low, "higher") if baseline < low else (high, "lower")
            if low <= baseline <= high:
                return 1.0
        else:
            assert self.value is not None
            aim, better = self.value, direction
        if better == "neutral" or not (baseline >= 0 and aim >= 0):
            return math.nan
        num, den = (aim, baseline) if better == "higher" else (baseline, aim)
        if den == 0:
            return 1.0 if num == 0 else math.inf
        return num / den

    def describe(self) -> str:
        """The target as plain numbers: ``>= 0.8``, ``0.75..0.85``, with period and
        deadline."""
        text = f"{self.band[0]:g}..{self.band[1]:g}" if self.band is not None else \
            f"{self.value:g}"
        if self.period:
            text += f" per {self.period}"
        if self.deadline:
            text += f" by {self.deadline.isoformat()}"
        return text


@attrs.frozen
class Baseline:
    """A KPI's current state: ``value`` (NaN when unknown, ``note`` says why) and where it
    came from (``source``: ``given``, ``data`` or the path it was computed from)."""

    kpi: str
    value: float
    source: str
    note: str = ""

    @property
    def known(self) -> bool:
        return not math.isnan(self.value)


@attrs.frozen
class Targets:
    """Targets by KPI id; ``source`` names where they came from (the file) in messages."""

    targets: Mapping[str, Target]
    source: str = "targets"

    def __iter__(self) -> Iterator[Target]:
        return iter(self.targets.values())

    def __len__(self) -> int:
        return len(self.targets)

    def __contains__(self, kpi: object) -> bool:
        return kpi in self.targets

    def __getitem__(self, kpi: str) -> Target:
        return self.targets[kpi]

    @classmethod
    def of(cls, targets: Iterable[Target], registry: Registry | None = None,
           source: str = "targets") -> Targets:
        """Targets checked against ``registry`` (default: every installed plugin's): each
        KPI is defined, a neutral KPI has a band, no group is named like a KPI."""
        by_kpi: dict[str, Target] = {}
        for target in targets:
            if target.kpi in by_kpi:
                raise KpiforgeError(f"{source}: two targets for {target.kpi!r}; give one")
            by_kpi[target.kpi] = target
        made = cls(by_kpi, source)
        made.check(registry or default_registry())
        return made

    def check(self, registry: Registry) -> None:
        """Raise :class:`KpiforgeError` naming the source and the KPI of the first target
        that does not fit ``registry``."""
        for target in self:
            try:
                kpi = registry.kpi(target.kpi)
            except KpiforgeError as exc:
                raise KpiforgeError(f"{self.source}: [{target.kpi}] {exc}") from None
            if target.value is not None and kpi.direction == "neutral":
                raise KpiforgeError(
                    f"{self.source}: [{target.kpi}] target: {target.kpi} has no better "
                    "direction (neutral: read against a band), so give band = [low, high]")
            if target.group in registry.kpis:
                raise KpiforgeError(f"{self.source}: [{target.kpi}] group: {target.group!r} "
                                    "is a KPI id; name groups after who owns them")

    def groups(self) -> dict[str, list[str]]:
        """Target groups and their KPIs, in file order."""
        found: dict[str, list[str]] = {}
        for target in self:
            if target.group is not None:
                found.setdefault(target.group, []).append(target.kpi)
        return found

    def baselines(self, data: Any = None, *, result: Result | None = None,
                  registry: Registry | None = None, **options: Any) -> dict[str, Baseline]:
        """Each target's baseline: the number given; for ``"data"``, the KPI over
        ``result`` (the median of its groups) or computed over ``data`` (left out when
        neither is given); for a path, computed over that data. Computed baselines are the
        median over the target's periods (the whole data without a period). ``options`` go
        to :func:`kpiforge.compute` (``params``, ``chunk_rows``...)."""
        found: dict[str, Baseline] = {}
        wanted: dict[tuple[str, str | None], list[str]] = {}
        for target in self:
            if isinstance(target.baseline, float):
                found[target.kpi] = Baseline(target.kpi, target.baseline, "given")
            elif target.baseline == FROM_DATA and result is not None:
                found[target.kpi] = baseline_of(result, target.kpi)
            elif target.baseline != FROM_DATA or data is not None:
                wanted.setdefault((target.baseline, target.period), []).append(target.kpi)
        for (source, period), kpis in wanted.items():
            computed = engine.compute(data if source == FROM_DATA else source, grain=period,
                                      registry=registry, **options)
            for kpi in kpis:
                found[kpi] = attrs.evolve(baseline_of(computed, kpi), source=source)
        return {target.kpi: found[target.kpi] for target in self if target.kpi in found}


def baseline_of(result: Result, kpi: str) -> Baseline:
    """``kpi``'s baseline from a result: the median over its groups (periods, channels...)
    where the KPI is defined."""
    if kpi not in result.values:
        return Baseline(kpi, math.nan, FROM_DATA, result.skipped.get(
            kpi, f"the result has no {kpi} column"))
    values = result.values[kpi]
    defined = values[~np.isnan(values)]
    if not len(defined):
        return Baseline(kpi, math.nan, FROM_DATA, f"{kpi} is undefined (0/0) in the data")
    return Baseline(kpi, float(np.median(defined)), FROM_DATA)


def load_targets(path: str | os.PathLike, registry: Registry | None = None) -> Targets:
    """The targets of a TOML file, checked against ``registry`` (default: every installed
    plugin's). A path baseline is relative to the file. Errors name the file and the key."""
    path = Path(path)
    try:
        document = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise KpiforgeError(f"{path}: no such targets file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise KpiforgeError(f"{path}: cannot read the targets file: {exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise KpiforgeError(f"{path}: not valid TOML: {exc}") from None
    defaults = document.pop(DEFAULTS, {})
    if not isinstance(defaults, dict):
        raise KpiforgeError(f"{path}: {DEFAULTS} must be a table: [{DEFAULTS}] with keys "
                            f"{', '.join(KEYS[2:])}")
    _check_keys(path, DEFAULTS, defaults, KEYS[2:])
    targets = []
    for kpi, entry in document.items():
        _check_keys(path, kpi, entry, KEYS)
        fields = {**defaults, **entry}
        baseline = fields.get("baseline")
        if isinstance(baseline, str) and baseline != FROM_DATA:
            fields["baseline"] = _data_path(path, kpi, baseline)
        try:
            targets.append(Target(kpi, **fields))
        except KpiforgeError as exc:
            raise KpiforgeError(f"{path}: {exc}") from None
    return Targets.of(targets, registry, source=str(path))


def _check_keys(path: Path, name: str, entry: Any, allowed: tuple[str, ...]) -> None:
    if not isinstance(entry, dict):
        raise KpiforgeError(
            f"{path}: {name} = {entry!r}: a target is a table, as in [{name}] with target = "
            "0.8 (or band = [low, high]), period = \"1mo\" and deadline = 2026-12-31")
    for key in entry:
        if key not in allowed:
            raise KpiforgeError(f"{path}: [{name}] unknown key {key!r}"
                                f"{did_you_mean(key, allowed)}; the keys are "
                                f"{', '.join(allowed)}")


def _data_path(path: Path, kpi: str, value: str) -> str:
    data = path.parent / value
    if not data.exists():
        raise KpiforgeError(f"{path}: [{kpi}] baseline: {value!r} is neither {FROM_DATA!r} "
                            f"nor data that exists ({data} is missing)")
    return str(data)


def _worst(statuses: Iterable[np.ndarray], count: int) -> np.ndarray:
    """Per group, the worst status among ``statuses`` (None where all are None)."""
    rank = np.full(count, -1)
    for status in statuses:
        for value, value_rank in _RANK.items():
            rank = np.where(status == value, np.maximum(rank, value_rank), rank)
    worst = np.full(count, None, dtype=object)
    for value, value_rank in _RANK.items():
        worst[rank == value_rank] = value
    return worst


@attrs.frozen(eq=False)
class Tracked(Result):
    """A :class:`~kpiforge.Result` with the status of its targeted KPIs.

    ``statuses`` maps each targeted KPI in the result to its status per group, ``groups``
    each target group to the worst status of its KPIs per group; ``missing`` the targeted
    KPIs the result lacks, with the reason. Records, Arrow tables and the CSV, JSON and
    Parquet writers add a ``<id>_status`` column for each (text, null where undefined).
    """

    targets: Targets = attrs.field(factory=lambda: Targets({}))
    statuses: Mapping[str, np.ndarray] = attrs.field(factory=dict)
    groups: Mapping[str, np.ndarray] = attrs.field(factory=dict)
    missing: Mapping[str, str] = attrs.field(factory=dict)

    def status(self, kpi: str) -> np.ndarray:
        """The status of ``kpi`` (or of a target group) per group of the result."""
        return self.statuses[kpi] if kpi in self.statuses else self.groups[kpi]

    def status_columns(self) -> dict[str, list[str | None]]:
        """``<id>_status`` -> text per group, for the KPIs then the target groups."""
        return {name + STATUS_SUFFIX: [None if s is None else s.value for s in statuses]
                for name, statuses in {**self.statuses, **self.groups}.items()}

    def to_records(self) -> list[dict[str, Any]]:
        records = super().to_records()
        for name, values in self.status_columns().items():
            for record, value in zip(records, values, strict=True):
                record[name] = value
        return records

    def to_arrow(self) -> pa.Table:
        table = super().to_arrow()
        for name, values in self.status_columns().items():
            table = table.append_column(name, pa.array(values, pa.string()))
        return table


def track(result: Result, targets: Targets | str | os.PathLike,
          registry: Registry | None = None) -> Tracked:
    """``result`` with the status of each targeted KPI it holds, per group, and of each
    target group (its worst KPI). ``targets`` may be a targets file's path."""
    if not isinstance(targets, Targets):
        targets = load_targets(targets, registry)
    statuses = {}
    missing = {}
    for target in targets:
        if target.kpi in result.values:
            statuses[target.kpi] = target.judge(result.values[target.kpi],
                                                result.kpis[target.kpi].direction)
        else:
            missing[target.kpi] = result.skipped.get(target.kpi, "not computed")
    groups = {group: _worst([statuses[k] for k in kpis if k in statuses], len(result))
              for group, kpis in targets.groups().items()}
    for name in [*statuses, *groups]:
        if name + STATUS_SUFFIX in result.values:
            raise KpiforgeError(f"{targets.source}: the status column {name}{STATUS_SUFFIX} "
                                f"would hide the KPI of that name; rename the group")
    fields = {field.name: getattr(result, field.name) for field in attrs.fields(Result)}
    return Tracked(**fields, targets=targets, statuses=statuses, groups=groups,
                   missing=missing)
