"""What plugins declare: measures, KPIs, KGIs, their links and dimensions.

All are frozen attrs classes validated at construction, so a bad definition fails where it is
declared, with its name in the message.
"""

from __future__ import annotations

import contextlib
import functools
import math
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any, ClassVar, TypeVar

import attrs
import numpy as np

from kpiforge.errors import KpiforgeError
from kpiforge.expressions import (
    Expression,
    ExpressionError,
    Kind,
    SharedValues,
    kind_of,
    require_number,
)
from kpiforge.io.categorical import Categorical
from kpiforge.io.schemas import CASE_COLUMNS, CASE_READS, SCHEMAS

T = TypeVar("T")

AGGREGATIONS = ("count", "sum", "min", "max", "quantile", "distinct", "snapshot")
#: What a measure aggregates over: the table's rows, or cases (contacts sharing a case_id).
PER = ("row", "case")
DIRECTIONS = ("higher", "lower", "neutral")
#: Who works a KPI: the seeds keep support and success KPIs apart (they share only KGIs);
#: operations is how support is staffed.
AREAS = ("support", "success", "operations")
#: What a KPI tells: the cost of the work, what the customer gets, a business result, or
#: how much work there is. Efficiency and quality pull against each other: pair them.
ROLES = ("efficiency", "quality", "outcome", "volume")
#: Whether a KPI moves with the work (leading) or months after it (lagging).
TIMINGS = ("leading", "lagging")
#: The expected effects of a link: raising the KPI raises (+1) or lowers (-1) the KGI.
EFFECTS = (1, -1)


def _identifier(instance: Any, attribute: attrs.Attribute, value: Any) -> None:
    if not isinstance(value, str) or not value.isidentifier():
        raise KpiforgeError(
            f"{type(instance).__name__} {attribute.name} must be a Python identifier "
            f"such as 'answer_rate', got {value!r}"
        )


def _one_of(choices: tuple[str, ...]) -> Callable[[Any, attrs.Attribute, Any], None]:
    def check(instance: Any, attribute: attrs.Attribute, value: Any) -> None:
        if value not in choices:
            raise KpiforgeError(
                f"{type(instance).__name__} {instance.name!r}: {attribute.name} must be one of "
                f"{', '.join(choices)}, got {value!r}"
            )

    return check


def _optional(choices: tuple[str, ...]) -> Callable[[Any, attrs.Attribute, Any], None]:
    """Like :func:`_one_of`, with None (not said) allowed too."""
    check = _one_of(choices)

    def optional(instance: Any, attribute: attrs.Attribute, value: Any) -> None:
        if value is not None:
            check(instance, attribute, value)

    return optional


def named_errors(cls: type[T]) -> type[T]:
    """Make the errors of ``cls.__init__`` (a converter's, or an unknown keyword) name the
    definition: "KPI 'x_rate': target must be a number, got 'high'"."""
    init = cls.__init__
    first = attrs.fields(cls)[0].name  # type: ignore[arg-type]  # an attrs class

    @functools.wraps(init)
    def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
        try:
            init(self, *args, **kwargs)
        except (TypeError, ValueError) as exc:
            name = kwargs.get(first, args[0] if args else "?")
            raise KpiforgeError(f"{type(self).__name__} {name!r}: {exc}") from None

    setattr(cls, "__init__", __init__)  # noqa: B010 (mypy forbids assigning to a method)
    return cls


def _to_names(value: str | Iterable[str] | None) -> tuple[str, ...]:
    if value is None:
        return ()
    names = (value,) if isinstance(value, str) else tuple(value)
    for name in names:
        if not isinstance(name, str):
            raise TypeError(f"names must be strings, got {name!r}")
    return names


def _finite(value: Any, what: str) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError, OverflowError):
        number = math.nan
    if isinstance(value, bool) or not math.isfinite(number):
        raise ValueError(f"{what} must be a finite number, got {value!r}")
    return number


def _to_label_values(value: Mapping[str, float]) -> dict[str, float]:
    if not isinstance(value, Mapping):
        raise TypeError(f"values must map labels to numbers, got {value!r}")
    return {str(label): _finite(number, f"the value for {label!r}")
            for label, number in value.items()}


@attrs.frozen
class PerLabel:
    """A parameter whose value depends on each row's label of one dimension, such as a
    service-level threshold per channel: ``values`` by label, ``default`` for other labels
    and for rows without one (or data without the dimension's column)."""

    dimension: str
    values: Mapping[str, float] = attrs.field(converter=_to_label_values)
    default: float = attrs.field(converter=lambda v: _finite(v, "default"))

    def overridden(self, value: float | Mapping[str, float]) -> PerLabel:
        """This parameter with ``value`` applied: a number for every label, or a mapping of
        label -> number replacing those labels' values."""
        if isinstance(value, Mapping):
            return attrs.evolve(self, values={**self.values, **_to_label_values(value)})
        return PerLabel(self.dimension, {}, _finite(value, "the value"))

    def per_row(self, column: Categorical | None, rows: int) -> np.ndarray:
        """The value for each of ``rows`` rows whose labels ``column`` holds (None: the
        data lacks it, and every row takes the default)."""
        if column is None:
            return np.full(rows, self.default)
        by_code = np.array([*(self.values.get(str(label), self.default)
                              for label in column.labels), self.default])
        return by_code[column.codes]  # code -1 (no label) takes the last entry: default

    def __str__(self) -> str:
        shown = ", ".join(f"{label} {value:g}" for label, value in self.values.items())
        return f"{shown}, other {self.default:g} (by {self.dimension})"


#: A parameter's value: one number, or one per label of a dimension.
ParamValue = float | PerLabel


def param_text(value: ParamValue) -> str:
    """A parameter's value as a user reads it: ``20`` or ``call 20, ..., other 20 (by
    channel)``."""
    return str(value) if isinstance(value, PerLabel) else f"{value:g}"


def _to_params(value: Mapping[str, ParamValue] | None) -> dict[str, ParamValue]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise TypeError(f"params must map parameter names to defaults, got {value!r}")
    try:
        return {name: default if isinstance(default, PerLabel) else
                _finite(default, "a parameter default") for name, default in value.items()}
    except ValueError:
        raise ValueError("params must map parameter names to finite numbers or PerLabel "
                         f"values, got {value!r}") from None


def _to_target(value: float | str | None) -> float | None:
    try:
        return None if value is None else float(value)
    except (TypeError, ValueError):
        raise ValueError(f"target must be a number, got {value!r}") from None


def _to_columns(value: Mapping[str, str]) -> dict[str, str]:
    if not isinstance(value, Mapping):
        raise TypeError(f"columns must map table names to column names, got {value!r}")
    return dict(value)


def _to_lag(value: float) -> float:
    try:
        lag = float(value)
    except (TypeError, ValueError):
        lag = math.nan
    if not math.isfinite(lag) or lag < 0:
        raise ValueError(f"lag_months must be a number of months >= 0, got {value!r}")
    return lag


def _effect(instance: Any, attribute: attrs.Attribute, value: Any) -> None:
    if value is not None and (isinstance(value, bool) or value not in EFFECTS):
        raise KpiforgeError(
            f"Link {instance.kgi!r}: effect must be 1 (raising the KPI raises the KGI), -1 "
            f"(raising it lowers the KGI) or None (as the directions say), got {value!r}")


@named_errors
@attrs.frozen
class Link:
    """A KPI's link to a KGI it serves, with what the link means.

    ``effect``: raising the KPI raises (1) or lowers (-1) the KGI; None infers it from
    the two directions (a KPI that is better higher, serving a KGI that is better higher,
    raises it), which needs both to be higher or lower. ``lag_months``: how long after a
    change in the KPI the KGI shows it (0: at once; churn follows service by months).
    """

    kgi: str = attrs.field(validator=_identifier)
    effect: int | None = attrs.field(default=None, validator=_effect)
    lag_months: float = attrs.field(default=0.0, converter=_to_lag)


def _to_links(value: Iterable[Link] | None) -> tuple[Link, ...]:
    links = tuple(value or ())
    for link in links:
        if not isinstance(link, Link):
            raise TypeError(f"links must be Link values, as in Link('csat', lag_months=3), "
                            f"got {link!r}; name plain links in kgis")
    return links


@contextlib.contextmanager
def _naming(owner: Any, field: str) -> Iterator[None]:
    """Make expression errors name the definition and its field: "Measure 'x', where: ..."."""
    try:
        yield
    except ExpressionError as exc:
        kind = owner.kind if isinstance(owner, KPI) else type(owner).__name__
        raise ExpressionError(f"{kind} {owner.name!r}, {field}: {exc}") from None


#: What each field's expression must give.
_ROLES = {"value": "a number", "where": "a condition", "formula": "a number",
          "time": "a number", "since": "a number", "until": "a number"}


def _parse(owner: Any, field: str, text: str, kinds: Mapping[str, Kind],
           default: Kind) -> Expression:
    """``text`` parsed as :data:`_ROLES` says, or an error naming the definition and the
    field."""
    with _naming(owner, field):
        expression = Expression.parse(text, kinds, default)
        require_number(expression.kind, expression.text, _ROLES[field])
    return expression


@named_errors
@attrs.frozen
class Measure:
    """A mergeable aggregate over one table: ``agg`` of ``value`` over rows passing ``where``.

    ``count`` counts rows (with a ``value``, rows where it is present); ``sum``, ``min``,
    ``max`` and ``quantile`` (with ``q`` in 0..1, numpy's linear method) skip missing values;
    ``distinct`` counts the distinct present values of ``value``, a column name (text or
    numbers: customers served, agents active), exactly and mergeably.
    Names in ``value`` and ``where`` are columns of ``table`` or parameters from ``params``.
    ``optional``: data without a column it reads still computes the KPIs using it, the
    measure undefined (NaN) in every group, so a formula can fall back with ``coalesce``.
    ``time``: the time (a column of ``table`` or an expression over it) that places each row
    in an interval, instead of the table's time column: responses by ``answered_s``,
    resolutions by ``resolved_s``; rows without a value there are not counted by it.
    ``snapshot``: the rows open at the end of each interval (with ``value``, the sum of
    their values), open meaning ``since`` (a time) is within or before the interval and
    ``until`` (a time; missing: still open) is not; without a grain, open at the end of the
    data (``until`` missing). The engine computes it from :meth:`parts`.
    ``per="case"``: aggregate over cases (the contacts sharing a ``case_id``) instead of
    rows; names in ``value`` and ``where`` are then the case's columns
    (:data:`~kpiforge.io.schemas.CASE_COLUMNS`: ``arrived_s``, ``repeat_s``,
    ``resolved_s``, ``first_resolved_s``, ``contacts``) and parameters, and a case counts
    in the group of its first contact. Such a measure reads ``case_id``, so it is optional
    (NaN in every group without that column).
    """

    name: str = attrs.field(validator=_identifier)
    table: str = attrs.field(validator=_one_of(tuple(SCHEMAS)))
    agg: str = attrs.field(validator=_one_of(AGGREGATIONS))
    value: str | None = None
    where: str | None = None
    q: float | None = None
    params: Mapping[str, ParamValue] = attrs.field(factory=dict, converter=_to_params)
    description: str = ""
    optional: bool = False
    time: str | None = None
    since: str | None = None
    until: str | None = None
    per: str = attrs.field(default="row", validator=_one_of(PER))
    value_expression: Expression | None = attrs.field(init=False, eq=False, repr=False)
    where_expression: Expression | None = attrs.field(init=False, eq=False, repr=False)
    time_expression: Expression | None = attrs.field(init=False, eq=False, repr=False)
    span_expressions: tuple[Expression, ...] = attrs.field(init=False, eq=False, repr=False)

    def __attrs_post_init__(self) -> None:
        schema = SCHEMAS[self.table]
        kinds = {**dict.fromkeys(schema.text, Kind.TEXT),
                 **dict.fromkeys((*schema.numeric, *self.params), Kind.NUMBER)}
        if self.per == "case":
            self._check_per_case()
            kinds = dict.fromkeys((*CASE_COLUMNS, *self.params), Kind.NUMBER)
        if self.agg == "distinct" and not (isinstance(self.value, str)
                                           and self.value.isidentifier()):
            raise KpiforgeError(f"Measure {self.name!r}: agg 'distinct' counts the values of "
                                f"one column: value must be a column name, got {self.value!r}")
        object.__setattr__(self, "time_expression", None if self.time is None else
                           _parse(self, "time", self.time, kinds, Kind.UNKNOWN))
        object.__setattr__(self, "span_expressions", tuple(
            _parse(self, field, getattr(self, field), kinds, Kind.UNKNOWN)
            for field in ("since", "until") if getattr(self, field) is not None))
        if (self.agg == "snapshot") != (self.since is not None) or \
                (self.until is not None and self.since is None):
            raise KpiforgeError(f"Measure {self.name!r}: since is required for, and since "
                                "and until only for, agg 'snapshot'")
        for field in ("value", "where"):
            text = getattr(self, field)
            if field == "where" and self.time is not None:  # a row without its time: out
                text = f"notnan({self.time})" + ("" if text is None else f" & ({text})")
            object.__setattr__(self, f"{field}_expression", None if text is None else
                               Expression.parse(text, kinds, Kind.UNKNOWN)
                               if field == "value" and self.agg == "distinct" else
                               _parse(self, field, text, kinds, Kind.UNKNOWN))
        if self.per == "case":
            self._check_case_names()
        if self.agg not in ("count", "snapshot") and self.value is None:
            raise KpiforgeError(f"Measure {self.name!r}: agg {self.agg!r} needs a value")
        if (self.agg == "quantile") != (self.q is not None):
            raise KpiforgeError(f"Measure {self.name!r}: q is required for, and only for, "
                                "agg 'quantile'")
        if self.q is not None and not 0 <= self.q <= 1:
            raise KpiforgeError(f"Measure {self.name!r}: q must be within 0..1, got {self.q}")

    def _check_per_case(self) -> None:
        if self.table != "contacts" or self.agg in ("distinct", "snapshot") or \
                self.time is not None:
            raise KpiforgeError(f"Measure {self.name!r}: per='case' aggregates cases of the "
                                "contacts table, placed by their first contact, with count, "
                                "sum, min, max or quantile")
        if any(isinstance(value, PerLabel) for value in self.params.values()):
            raise KpiforgeError(f"Measure {self.name!r}: a case spans contacts with different "
                                "labels, so per='case' takes no PerLabel parameter")
        object.__setattr__(self, "optional", True)

    def _check_case_names(self) -> None:
        unknown = sorted({name for expression in self.expressions for name in expression.names
                          if name not in CASE_COLUMNS and name not in self.params})
        if unknown:
            names = ", ".join(map(repr, unknown))
            raise KpiforgeError(f"Measure {self.name!r}: {names} is not a column of a case;"
                                f" per='case' reads {', '.join(CASE_COLUMNS)} and "
                                "parameters")

    @property
    def expressions(self) -> tuple[Expression, ...]:
        """The value and filter expressions it has (the filter holds its time's presence),
        and a snapshot's since and until."""
        return (*(e for e in (self.value_expression, self.where_expression) if e is not None),
                *self.span_expressions)

    def parts(self, timed: bool) -> tuple[Measure, ...]:
        """A snapshot as the mergeable measures the engine accumulates, named after it.
        With a grain (``timed``): the rows opened in each interval (placed by ``since``)
        and those closed in it (placed by ``until``), whose running difference is the
        snapshot. Without: the rows open at the end of the data (no ``until``); the plan
        adds the snapshots' instant, the latest ``since`` or ``until`` of every row."""
        agg = "count" if self.value is None else "sum"
        where = "" if self.where is None else f" & ({self.where})"

        def part(suffix: str, **changes: Any) -> Measure:
            return attrs.evolve(self, name=f"{self.name}__{suffix}", since=None, until=None,
                                **{"agg": agg, **changes})

        if timed:
            closed = () if self.until is None else (
                part("closed", where=f"notnan({self.since}){where}", time=self.until),)
            return (part("opened", time=self.since), *closed)
        still_open = None if self.until is None else f"isnan({self.until}){where}"
        return (part("open", where=still_open or self.where, time=self.since),)

    def placement(self, table_time: str) -> str | None:
        """The time placing this measure's rows in intervals, None where it is the table's
        own time column ``table_time``."""
        return None if self.time in (None, table_time) else self.time

    @property
    def columns(self) -> frozenset[str]:
        """Columns of :attr:`table` this measure reads (per case: those the case state
        reads)."""
        if self.per == "case":
            return frozenset(CASE_READS)
        names: set[str] = set().union(*(e.names for e in self.expressions))
        return frozenset(names - self.params.keys())

    @property
    def functions(self) -> frozenset[str]:
        """The functions the run provides that it calls (``business_s``)."""
        return frozenset().union(*(e.functions for e in self.expressions))

    def evaluate(self, lookup: Callable[[str], Any], shared: SharedValues | None = None,
                 functions: Mapping[str, Callable[..., Any]] | None = None
                 ) -> tuple[Any, Any]:
        """The value and the filter (None where the measure has none) over the columns
        ``lookup`` gives; ``shared`` and ``functions`` as in :meth:`Expression.evaluate`.
        Errors name the measure: a column read as a number turned out to be text, for
        example."""
        value = lookup(self.value) if self.agg == "distinct" and self.value else \
            self._evaluate("value", self.value_expression, lookup, shared, functions)
        return value, self._evaluate("where", self.where_expression, lookup, shared,
                                     functions)

    def _evaluate(self, field: str, expression: Expression | None,
                  lookup: Callable[[str], Any], shared: SharedValues | None,
                  functions: Mapping[str, Callable[..., Any]] | None) -> Any:
        if expression is None:
            return None
        with _naming(self, field):
            result = expression.evaluate(lookup, shared, functions)
            require_number(kind_of(result), expression.text, _ROLES[field])
        return result


Formula = str | Callable[[Mapping[str, np.ndarray]], Any]


@named_errors
@attrs.frozen
class KPI:
    """A formula over measures, other KPIs and parameters, evaluated per group.

    ``formula`` is an expression string (its names are its inputs) or a callable taking a
    mapping of input name -> group array, with ``inputs`` naming what it reads.
    ``direction`` says which way is good; ``kgis`` names the goals it serves and ``links``
    says more about some of them (a :class:`Link`'s effect and lag; a KGI in both takes
    the Link): after construction ``links`` holds a Link for every goal, in ``kgis`` order
    then ``links`` order, and ``kgis`` their names. ``area``, ``role`` and ``timing``
    classify it for ``kpiforge lint`` (None: not said; see :data:`AREAS`, :data:`ROLES`,
    :data:`TIMINGS`). ``seeds`` names the source articles; ``target`` an optional
    reference value judged by ``direction``.
    """

    is_goal: ClassVar[bool] = False

    name: str = attrs.field(validator=_identifier)
    formula: Formula
    unit: str = ""
    direction: str = attrs.field(default="higher", validator=_one_of(DIRECTIONS))
    description: str = ""
    seeds: tuple[str, ...] = attrs.field(default=(), converter=_to_names)
    kgis: tuple[str, ...] = attrs.field(default=(), converter=_to_names)
    target: float | None = attrs.field(default=None, converter=_to_target)
    inputs: tuple[str, ...] = attrs.field(default=(), converter=_to_names)
    params: Mapping[str, ParamValue] = attrs.field(factory=dict, converter=_to_params)
    links: tuple[Link, ...] = attrs.field(default=(), converter=_to_links)
    area: str | None = attrs.field(default=None, validator=_optional(AREAS))
    role: str | None = attrs.field(default=None, validator=_optional(ROLES))
    timing: str | None = attrs.field(default=None, validator=_optional(TIMINGS))
    expression: Expression | None = attrs.field(init=False, eq=False, repr=False)

    def __attrs_post_init__(self) -> None:
        self._merge_links()
        if any(isinstance(value, PerLabel) for value in self.params.values()):
            raise KpiforgeError(f"{self.kind} {self.name!r}: a PerLabel parameter takes a "
                                "value per row, so only measures may declare one")
        if callable(self.formula):
            if not self.inputs:
                raise KpiforgeError(f"{self.kind} {self.name!r}: a callable formula needs "
                                    "inputs=[...] naming the measures and KPIs it reads")
            object.__setattr__(self, "expression", None)
        elif isinstance(self.formula, str):
            expression = _parse(self, "formula", self.formula, {}, Kind.NUMBER)
            if not expression.names:
                raise KpiforgeError(f"{self.kind} {self.name!r}: formula {expression.text!r} "
                                    "is a constant; a formula reads measures or KPIs, as in "
                                    "'answered / offered'")
            if expression.functions:
                raise KpiforgeError(f"{self.kind} {self.name!r}: formula {expression.text!r} "
                                    f"calls {', '.join(sorted(expression.functions))}(), "
                                    "which reads rows; call it in a measure's value")
            object.__setattr__(self, "expression", expression)
            object.__setattr__(self, "inputs", tuple(sorted(expression.names)))
        else:
            raise KpiforgeError(f"{self.kind} {self.name!r}: formula must be a string or a "
                                f"callable, got {type(self.formula).__name__}")

    def _merge_links(self) -> None:
        """One Link per goal: the ``links`` given, and a plain Link for each other name in
        ``kgis``."""
        detailed: dict[str, Link] = {}
        for link in self.links:
            if link.kgi in detailed:
                raise KpiforgeError(f"{self.kind} {self.name!r}: links name {link.kgi!r} "
                                    "twice; give one Link per KGI")
            detailed[link.kgi] = link
        names = dict.fromkeys((*self.kgis, *detailed))
        links = tuple(detailed.get(name, Link(name)) for name in names)
        object.__setattr__(self, "links", links)
        object.__setattr__(self, "kgis", tuple(names))

    @property
    def kind(self) -> str:
        return "KGI" if self.is_goal else "KPI"

    @property
    def formula_text(self) -> str:
        """The formula as a user reads it."""
        if self.expression is not None:
            return self.expression.text
        return f"{getattr(self.formula, '__name__', 'callable')}({', '.join(self.inputs)})"

    def evaluate(self, inputs: Mapping[str, Any]) -> np.ndarray:
        """The KPI's value per group (float, NaN where undefined) from its inputs' group
        arrays; errors name the KPI, a callable formula's included."""
        if self.expression is not None:
            with _naming(self, "formula"):
                return np.asarray(self.expression.evaluate(inputs.__getitem__),
                                  dtype=np.float64)
        assert callable(self.formula)
        arrays = {name: inputs[name] for name in self.inputs}
        try:
            with np.errstate(all="ignore"):
                value = np.asarray(self.formula(arrays))
        except Exception as exc:
            raise KpiforgeError(f"{self.kind} {self.name!r}: its formula {self.formula_text} "
                                f"raised {type(exc).__name__}: {exc}") from exc
        shape = np.broadcast_shapes(*(np.shape(a) for a in arrays.values()))
        if value.dtype.kind not in "biuf" or not _broadcasts(value.shape, shape):
            raise KpiforgeError(
                f"{self.kind} {self.name!r}: its formula {self.formula_text} returned "
                f"{value.dtype} values of shape {value.shape}; it must return numbers, one "
                f"per group (shape {shape})")
        value = np.array(np.broadcast_to(value, shape), dtype=np.float64)
        value[np.isinf(value)] = np.nan
        return value

    def meets_target(self, value: Any) -> Any:
        """True/False per value against :attr:`target` (NaN where undefined), or None."""
        if self.target is None or self.direction == "neutral":
            return None
        value = np.asarray(value, dtype=np.float64)
        met = value >= self.target if self.direction == "higher" else value <= self.target
        return np.where(np.isnan(value), np.nan, met)


def _broadcasts(shape: tuple[int, ...], to: tuple[int, ...]) -> bool:
    try:
        return np.broadcast_shapes(shape, to) == to
    except ValueError:
        return False


@named_errors
@attrs.frozen
class KGI(KPI):
    """A goal (LTV, CSAT, churn...): a computable KPI that other KPIs link to."""

    is_goal: ClassVar[bool] = True


def key_text(value: Any) -> str | None:
    """A dimension's key as a declared dimension's ``labels`` and ``order`` name it: text as
    it is, an integral number as its digits (so ``1`` and ``"1"``, read from different
    formats, are one key); None for a missing key."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        return str(int(value))
    if isinstance(value, (float, np.floating)):
        if not math.isfinite(value):
            return None
        return str(int(value)) if float(value).is_integer() else repr(float(value))
    raise TypeError(f"keys must be text or integers, got {value!r}")


def _declared_key(value: Any) -> str:
    if isinstance(value, str) or (isinstance(value, (int, np.integer))
                                  and not isinstance(value, bool)):
        return str(key_text(value))
    raise TypeError(f"keys must be text or integers, got {value!r}")


def _to_key_labels(value: Mapping[Any, str] | None) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise TypeError(f"labels must map keys (text or integers) to labels, got {value!r}")
    labels = {}
    for key, label in value.items():
        if not isinstance(label, str) or not label:
            raise TypeError(f"the label of key {key!r} must be non-empty text, got {label!r}")
        labels[_declared_key(key)] = label
    shared = sorted({label for label in labels.values()
                     if list(labels.values()).count(label) > 1})
    if shared:
        raise ValueError(f"labels must differ (a report tells groups apart by them); "
                         f"{shared[0]!r} labels several keys")
    return labels


def _to_order(value: Iterable[Any] | None) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, (str, Mapping)) or not isinstance(value, Iterable):
        raise TypeError(f"order must be a list of keys, got {value!r}")
    order = tuple(_declared_key(key) for key in value)
    repeated = sorted({key for key in order if order.count(key) > 1})
    if repeated:
        raise ValueError(f"order lists key {repeated[0]!r} more than once")
    return order


@named_errors
@attrs.frozen
class Dimension:
    """Something results are grouped by, and which column holds it in each table.

    ``labels`` (key -> label, keys text or integers) are what reports and terminal tables
    show for a key; CSV, JSON, Parquet and :meth:`Result.to_pandas` keep the keys, for
    machines. ``order`` lists keys in the order result rows and report tables show them,
    instead of sorted order; keys it does not list come after, sorted.
    """

    name: str = attrs.field(validator=_identifier)
    columns: Mapping[str, str] = attrs.field(converter=_to_columns)
    description: str = ""
    labels: Mapping[str, str] = attrs.field(factory=dict, converter=_to_key_labels,
                                            kw_only=True)
    order: tuple[str, ...] = attrs.field(default=(), converter=_to_order, kw_only=True)

    def label(self, value: Any) -> Any:
        """What reports and tables show for key ``value``: its label, else the key."""
        text = key_text(value)
        return value if text is None else self.labels.get(text, value)

    def __attrs_post_init__(self) -> None:
        unknown = set(self.columns) - set(SCHEMAS)
        if not self.columns or unknown:
            raise KpiforgeError(
                f"Dimension {self.name!r}: columns must map table names "
                f"({', '.join(SCHEMAS)}) to column names, got {self.columns!r}"
            )
