"""A pass's measures fused into one compiled loop over the rows (numba, ``kpiforge[fast]``).

numpy evaluates a measure column by column: each step of its expressions writes a
temporary array, and each accumulator reads the group codes again. Over millions of rows
that memory traffic, not the arithmetic, is the cost. Here every measure whose expressions
and accumulator have a row-by-row form becomes part of one loop: each row's columns are read
once, each sub-expression is computed once per row into a local variable, and every count,
sum and kept quantile value is updated in place, without a branch on the data (a row that
does not count adds 0.0, which changes no sum).

The loop gives numpy's bits: per row the same IEEE operations on the same types (numpy's
rules for float64 and int64 columns and the expressions' float constants, infinities made
NaN where the expressions make them so), sums added in row order as
:func:`numpy.bincount` adds them. Only what has such an exact equal is fused: ``+ - * /``,
comparisons, logic, ``in`` lists, ``isnan``, ``notnan``, ``coalesce``, ``where``, ``abs``
and ``sqrt`` over float64 and int64 columns, and text columns compared with a label;
counts, sums and exact quantiles. Anything else (``log``, ``exp``, ``min``, ``max``,
powers, other column types, other accumulators) stays with numpy, measure by measure.

The generated source holds no text from the definitions: columns, parameters, constants
and labels are arguments, so it depends only on the expressions' shapes. It is written
under the user cache directory, where numba caches its compilation; each shape of pass
compiles once per machine.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.util
import os
import sys
import tempfile
import threading
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import attrs
import numpy as np

from kpiforge.definitions import Measure
from kpiforge.engine.accelerator import loops
from kpiforge.engine.accumulators import Accumulator, Count, Sum
from kpiforge.engine.grains import fixed_intervals, interval_numbers
from kpiforge.engine.grouping import (
    Groups,
    Keys,
    factorize,
    marks_cells,
    occurring_cells,
)
from kpiforge.engine.quantiles import ExactQuantile
from kpiforge.expressions import Expression
from kpiforge.io.categorical import Categorical
from kpiforge.io.tables import Column, Table


class _Unfusable(Exception):
    """A measure (or an expression of it) without an exact row-by-row form."""


@attrs.frozen
class _Value:
    """A translated sub-expression: its code in the loop and its numpy kind (``b`` bool,
    ``i`` int64, ``f`` float64, ``text`` codes of a text column, ``label`` a string).
    ``per_row`` is False for constants and parameters, which numpy keeps as scalars."""

    code: str
    kind: str
    per_row: bool = True
    column: Categorical | None = None
    label: str | None = None


_ARITHMETIC = {"+", "-", "*", "/"}
_COMPARE = {"==", "!=", "<", "<=", ">", ">="}
_NUMBERS = ("i", "f")
#: Column dtypes whose numpy arithmetic numba reproduces exactly.
_COLUMN_KINDS = {np.dtype(np.float64): "f", np.dtype(np.int64): "i"}


class _Translator:
    """Translates compiled expressions over one table into lines of the loop body, sharing
    every column read and sub-expression among the measures (as numpy's shared values do).

    Each operation follows :mod:`kpiforge.expressions` exactly: arithmetic over float64
    with infinities made NaN, truth as nonzero and not NaN, text compared by code.
    """

    def __init__(self, table: Table, params: Mapping[str, float | np.ndarray]) -> None:
        self.table = table
        self.params = params
        self.arguments: list[Any] = []
        self.lines: list[str] = []
        #: (operation, argument, operand ids) -> (id, translated value)
        self.known: dict[tuple[Any, ...], tuple[int, _Value]] = {}

    def argument(self, value: Any) -> str:
        self.arguments.append(value)
        return f"a{len(self.arguments) - 1}"

    def local(self, code: str) -> str:
        name = f"t{len(self.lines)}"
        self.lines.append(f"{name} = {code}")
        return name

    def expression(self, expression: Expression) -> _Value:
        """The value of ``expression``'s last node, its operands translated first."""
        ids: list[int] = []
        values: list[_Value] = []
        for node in expression.nodes:
            key = (node.op, repr(node.arg), tuple(ids[c] for c in node.children))
            if key not in self.known:
                value = self._translate(node.op, node.arg, [values[c] for c in node.children])
                if value.per_row and value.kind not in ("text", "label"):
                    value = attrs.evolve(value, code=self.local(value.code))
                self.known[key] = (len(self.known), value)
            ident, value = self.known[key]
            ids.append(ident)
            values.append(value)
        return values[-1]

    def _translate(self, op: str, arg: Any, operands: list[_Value]) -> _Value:
        if op == "name":
            return self._name(arg)
        if op == "const":
            return _constant(arg, self.argument)
        if op in _ARITHMETIC:
            left, right = (_float(v) for v in operands)
            return self._finite(f"{left} {op} {right}", operands)
        if op == "sqrt":
            return self._finite(f"np.sqrt({_float(operands[0])})", operands)
        if op in _COMPARE:
            return self._compare(op, *operands)
        if op in ("in", "not in"):
            member = self._member(operands[0], arg)
            return member if op == "in" else _Value(f"(not {member.code})", "b",
                                                     member.per_row)
        if op in _FUNCTIONS:
            return _FUNCTIONS[op](operands)
        raise _Unfusable(op)

    def _finite(self, code: str, operands: list[_Value]) -> _Value:
        """``code``'s float64 value, NaN where it is infinite."""
        value = self.local(code)
        return _Value(f"(np.nan if np.isinf({value}) else {value})", "f", _per_row(operands))

    def _name(self, name: str) -> _Value:
        if name in self.params:
            value = self.params[name]
            if isinstance(value, np.ndarray):  # a per-label parameter: a value per row
                return _Value(f"{self.argument(value)}[i]", "f")
            return _Value(self.argument(float(value)), "f", per_row=False)
        column = self.table.columns.get(name)
        if isinstance(column, Categorical):
            return _Value(self.local(f"{self.argument(column.codes)}[i]"), "text",
                          column=column)
        if column is None or column.dtype not in _COLUMN_KINDS:
            raise _Unfusable(name)
        return _Value(f"{self.argument(column)}[i]", _COLUMN_KINDS[column.dtype])

    def _compare(self, op: str, left: _Value, right: _Value) -> _Value:
        if left.kind == "label":
            left, right = right, left
        if left.kind == "text" and right.kind == "label" and op in ("==", "!="):
            assert left.column is not None and right.label is not None
            code = self.argument(left.column.code_of(right.label))
            return _Value(f"({left.code} {op} {code})", "b")
        if "b" in (_number(left).kind, _number(right).kind):
            raise _Unfusable("comparison with a boolean")
        return _Value(f"({left.code} {op} {right.code})", "b", _per_row([left, right]))

    def _member(self, value: _Value, members: tuple[Any, ...]) -> _Value:
        """Whether ``value`` is one of ``members``: a text column's code looked up in a
        table of its labels (the last entry, for the missing code -1, is False), or a
        number compared with each."""
        if value.kind == "text":
            assert value.column is not None
            table = np.zeros(len(value.column.labels) + 1, dtype=np.bool_)
            table[:-1] = np.isin(value.column.labels, np.array(members, dtype=object))
            return _Value(f"{self.argument(table)}[{value.code}]", "b")
        number = _float(value)
        tests = [f"({number} == {self.argument(float(m))})" for m in members]
        return _Value("(" + (" | ".join(tests) or "False") + ")", "b", value.per_row)


def _per_row(values: Sequence[_Value]) -> bool:
    return any(v.per_row for v in values)


def _number(value: _Value) -> _Value:
    """``value`` where a number is wanted (text there is an error, which numpy reports)."""
    if value.kind not in ("b", *_NUMBERS):
        raise _Unfusable("text used as a number")
    return value


def _float(value: _Value) -> str:
    """Code of ``value`` as a float64, as numpy converts booleans and integers."""
    kind = _number(value).kind
    if kind == "b":
        return f"(1.0 if {value.code} else 0.0)"
    return value.code if kind == "f" else f"np.float64({value.code})"


def _truth(value: _Value) -> str:
    """The expressions' truth of a value: nonzero and not NaN."""
    if _number(value).kind == "b":
        return value.code
    return f"({value.code} != 0)" if value.kind == "i" else f"(abs({value.code}) > 0)"


def _constant(value: Any, argument: Callable[[Any], str]) -> _Value:
    """A constant: a string as a label to compare with, a number (a float) as an
    argument."""
    if isinstance(value, str):
        return _Value("", "label", per_row=False, label=value)
    return _Value(argument(value), "f", per_row=False)


def _sign(op: str, args: Sequence[_Value]) -> _Value:
    (value,) = args
    return _Value(f"({'-' if op == 'neg' else ''}{_float(value)})", "f", value.per_row)


def _logic(op: str, args: Sequence[_Value]) -> _Value:
    truths = [_truth(v) for v in args]
    code = f"(not {truths[0]})" if op == "not" else \
        f"({truths[0]} {'&' if op == 'and' else '|'} {truths[1]})"
    return _Value(code, "b", _per_row(args))


def _isnan(args: Sequence[_Value]) -> _Value:
    (value,) = args
    return _Value(f"np.isnan({_float(value)})", "b", value.per_row)


def _notnan(args: Sequence[_Value]) -> _Value:
    isnan = _isnan(args)
    return _Value(f"(not {isnan.code})", "b", isnan.per_row)


def _coalesce(args: Sequence[_Value]) -> _Value:
    value, fallback = args
    return _Value(f"({_float(fallback)} if np.isnan({_float(value)}) else {_float(value)})",
                  "f", _per_row(args))


def _where(args: Sequence[_Value]) -> _Value:
    condition, first, second = args
    return _Value(f"({_float(first)} if {_truth(condition)} else {_float(second)})", "f",
                  _per_row(args))


def _abs(args: Sequence[_Value]) -> _Value:
    (value,) = args
    return _Value(f"abs({_float(value)})", "f", value.per_row)


#: The other operations of :mod:`kpiforge.expressions` with an exact row-by-row form.
_FUNCTIONS: dict[str, Callable[[Sequence[_Value]], _Value]] = {
    "isnan": _isnan, "notnan": _notnan, "coalesce": _coalesce, "where": _where, "abs": _abs,
    "neg": functools.partial(_sign, "neg"), "pos": functools.partial(_sign, "pos"),
    "not": functools.partial(_logic, "not"), "and": functools.partial(_logic, "and"),
    "or": functools.partial(_logic, "or"),
}


@attrs.frozen
class _Row:
    """What one measure takes from a row: its value as a float64 (None: a plain count) and
    whether the row counts (None: every row), as ``measure_inputs`` and ``valid_rows``
    decide."""

    value: str | None
    valid: str | None


def _row(translator: _Translator, measure: Measure) -> _Row:
    """Translate ``measure``'s value and filter (raises :class:`_Unfusable`)."""
    value = valid = None
    if measure.value_expression is not None:
        raw = _number(translator.expression(measure.value_expression))
        value = f"np.float64({raw.code})"
        if raw.kind == "f" or not raw.per_row:  # numpy keeps NaN only in float values
            valid = f"(not np.isnan({value}))"
    if measure.where_expression is not None:
        mask = _number(translator.expression(measure.where_expression))
        truth = mask.code if mask.kind == "b" else \
            f"(({mask.code} != 0) & (not np.isnan(np.float64({mask.code}))))"
        valid = truth if valid is None else f"({truth} & {valid})"
    return _Row(value, valid)


def _count(row: _Row, slot: int) -> list[str]:
    one = "1.0" if row.valid is None else f"(1.0 if {row.valid} else 0.0)"
    return [f"out[g, {slot}] += {one}"]


def _sum(row: _Row, slot: int) -> list[str]:
    assert row.value is not None
    added = row.value if row.valid is None else f"({row.value} if {row.valid} else 0.0)"
    return [f"out[g, {slot}] += {added}"]


def _keep(row: _Row, slot: int) -> list[str]:
    """Append the row's group and value to the kept values; advance only if it counts."""
    assert row.value is not None
    step = "1" if row.valid is None else f"(1 if {row.valid} else 0)"
    return [f"kept_codes{slot}[kept{slot}] = g", f"kept_values{slot}[kept{slot}] = {row.value}",
            f"kept{slot} += {step}"]


#: Each fusable accumulator: whether its state is a group-sized array (one column of
#: ``out``) or kept rows, and the loop lines adding one row to it.
_UPDATES: dict[type, tuple[bool, Callable[[_Row, int], list[str]]]] = {
    Count: (True, _count), Sum: (True, _sum), ExactQuantile: (False, _keep)}


@attrs.frozen
class _Program:
    """A generated loop: its source, its arguments after the fixed ones, and the measures
    it fills, those with group-sized arrays (the columns of ``out``, in order) and those
    keeping values (in order)."""

    source: str
    arguments: list[Any]
    arrays: list[str]
    kept: list[str]


def _program(measures: Sequence[Measure], accumulators: Mapping[str, Accumulator],
             table: Table, params: Mapping[str, float | np.ndarray]) -> _Program | None:
    """The loop for the fusable measures (None when there are none)."""
    translator = _Translator(table, params)
    arrays: list[str] = []
    kept: list[str] = []
    updates: list[str] = []
    for measure in measures:
        kind = _UPDATES.get(type(accumulators[measure.name]))
        if kind is None:
            continue
        grouped, update = kind
        known, lines = dict(translator.known), len(translator.lines)
        try:
            row = _row(translator, measure)
        except _Unfusable:
            translator.known, translator.lines[lines:] = known, []
            continue
        names = arrays if grouped else kept
        updates += update(row, len(names))
        names.append(measure.name)
    if not updates:
        return None
    return _Program(_source(translator, updates, len(kept)), translator.arguments, arrays,
                    kept)


def _source(translator: _Translator, updates: list[str], kept: int) -> str:
    buffers = [f"kept_codes{k}, kept_values{k}" for k in range(kept)]
    return _module(["codes", "out", "counts", *buffers], len(translator.arguments),
                   [*(f"kept{k} = 0" for k in range(kept)),
                    "for i in range(codes.shape[0]):",
                    "    g = codes[i]",
                    *(f"    {line}" for line in [*translator.lines, *updates]),
                    *(f"counts[{k}] = kept{k}" for k in range(kept))])


def _module(parameters: list[str], arguments: int, body: list[str]) -> str:
    """Source of a module defining the compiled ``kernel(*parameters, a0, a1, ...)``."""
    signature = ", ".join([*parameters, *(f"a{i}" for i in range(arguments))])
    return "\n".join(["import numpy as np",
                      "from numba import njit",
                      "",
                      "",
                      '@njit(nogil=True, cache=True, error_model="numpy")',
                      f"def kernel({signature}):",
                      *(f"    {line}" for line in body),
                      ""])


def fused_states(measures: Sequence[Measure], accumulators: Mapping[str, Accumulator],
                 table: Table, params: Mapping[str, float | np.ndarray], groups: Groups
                 ) -> dict[str, Any]:
    """The states of the measures fused into one compiled loop over ``table``'s rows, by
    name; the others (and all, when there is one group) are left to their accumulators."""
    if groups.codes is None or loops(groups.rows) is None:
        return {}
    program = _program(measures, accumulators, table, params)
    if program is None:
        return {}
    out = np.zeros((groups.count, len(program.arrays)))
    counts = np.zeros(len(program.kept), dtype=np.int64)
    # One slot more than the rows: the loop writes each row before deciding to keep it.
    buffers = [array for _ in program.kept for array in
               (np.empty(groups.rows + 1, dtype=np.intp), np.empty(groups.rows + 1))]
    _kernel(program.source)(groups.codes, out, counts, *buffers, *program.arguments)
    by_measure = np.ascontiguousarray(out.T)  # one row per measure: contiguous states
    states: dict[str, Any] = dict(zip(program.arrays, by_measure, strict=True))
    for slot, name in enumerate(program.kept):
        states[name] = [(buffers[2 * slot][:counts[slot]],
                         buffers[2 * slot + 1][:counts[slot]], None)]
    return states


def fused_groups(table: Table, columns: Sequence[Column], grain: str | None,
                 names: Sequence[str], time: np.ndarray) -> Groups | None:
    """The groups of ``table``'s rows by the key ``columns`` (each key's value per row:
    a column, or calendar keys) and ``grain`` over the rows' ``time``, from one
    compiled loop, equal to :func:`~kpiforge.engine.grouping.combine`'s; None where that
    applies instead (no compiled loops or keys, or too many combinations to mark).

    The loop computes each row's cell (its combination of key positions, flattened) and
    marks the cells that occur; a second loop renumbers cells as groups. A grain of fixed
    length is computed inside the loop from the time column, without an array of interval
    numbers."""
    compiled = loops(len(table))
    if not names or compiled is None:
        return None
    arguments: list[Any] = []
    positions: list[str] = []
    key_lists: list[Keys] = []
    for factor in [factorize(column) for column in columns]:
        positions.append(f"(np.int64(a{len(arguments)}[i]) + a{len(arguments) + 1})")
        arguments += [factor.codes, factor.shift]
        key_lists.append(factor.keys)
    if grain is not None:
        position, intervals = _interval_position(table, time, grain, arguments)
        positions.append(position)
        key_lists.append(intervals)
    total = int(np.prod([len(k) for k in key_lists], dtype=object))
    if not marks_cells(total, len(table)):
        return None
    cell = positions[0]
    for position, size in zip(positions[1:], map(len, key_lists[1:]), strict=True):
        cell = f"({cell}) * a{len(arguments)} + {position}"  # as combine flattens them
        arguments.append(size)
    source = _module(["cells", "present"], len(arguments),
                     ["for i in range(cells.shape[0]):",
                      f"    cell = {cell}",
                      "    cells[i] = cell",
                      "    present[cell] = True"])
    codes = np.empty(len(table), dtype=np.intp)
    present = np.zeros(total, dtype=bool)
    _kernel(source)(codes, present, *arguments)
    numbers, count, group_keys = occurring_cells(present, key_lists, names)
    compiled.renumber(codes, numbers)
    return Groups(codes=codes, count=count, keys=group_keys, rows=len(table))


def _interval_position(table: Table, time: np.ndarray, grain: str, arguments: list[Any]
                       ) -> tuple[str, Keys]:
    """A row's interval (by its ``time``) as a key position, and the interval numbers by
    position: computed in the loop for a grain of fixed length, else numbered by numpy
    first."""
    fixed = fixed_intervals(grain, table.epoch, table.tz)
    if fixed is None:
        factor = factorize(interval_numbers(time, grain, table.epoch, table.tz))
        arguments += [factor.codes, factor.shift]
        return f"(np.int64(a{len(arguments) - 2}[i]) + a{len(arguments) - 1})", factor.keys
    offset, length = fixed
    low, high = (int(np.floor((np.float64(end) + offset) / length))
                 for end in (np.min(time), np.max(time)))
    first = len(arguments)
    arguments += [time, offset, length, low]
    position = (f"(np.int64(np.floor((a{first}[i] + a{first + 1}) / a{first + 2})) - "
                f"a{first + 3})")
    return position, np.arange(low, high + 1)


_KERNELS: dict[str, Callable[..., Any]] = {}
_LOCK = threading.Lock()


def _kernel(source: str) -> Callable[..., Any]:
    """The compiled loop of ``source``: imported from a file named by its hash under the
    cache directory (numba caches the compilation beside it), once per process."""
    with _LOCK:
        if source not in _KERNELS:
            name = "kpiforge_pass_" + hashlib.sha256(source.encode()).hexdigest()[:20]
            path = _cache_directory() / f"{name}.py"
            if not path.exists():
                with tempfile.NamedTemporaryFile("w", dir=path.parent, suffix=".tmp",
                                                 delete=False) as file:
                    file.write(source)
                os.replace(file.name, path)
            spec = importlib.util.spec_from_file_location(name, path)
            assert spec is not None and spec.loader is not None
            module = importlib.util.module_from_spec(spec)
            sys.modules[name] = module  # numba finds the module by name when loading its cache
            spec.loader.exec_module(module)
            _KERNELS[source] = module.kernel
        return _KERNELS[source]


def _cache_directory() -> Path:
    """``$XDG_CACHE_HOME/kpiforge/passes`` (``~/.cache`` by default); where that cannot be
    written, a temporary directory removed when the process ends."""
    try:
        root = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
        directory = root / "kpiforge" / "passes"
        directory.mkdir(parents=True, exist_ok=True)
        if os.access(directory, os.W_OK):
            return directory
    except (OSError, RuntimeError):  # RuntimeError: no home directory
        pass
    return Path(_temporary_directory().name)


@functools.cache
def _temporary_directory() -> tempfile.TemporaryDirectory[str]:
    return tempfile.TemporaryDirectory(prefix="kpiforge-passes-")
