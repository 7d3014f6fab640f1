"""Filter model -> one SQL expression and its bound parameters.

The meaning of each operator is a row of ``operators.OPERATORS``, written with the primitives of
``CompileContext`` below (equals, above, below, substring, has_element, ...); this module turns those
into SQL through a ``Dialect`` (``dialects.py``), the seam where another database differs. Values only ever reach SQL
as named parameters, and column names only come from the FieldRegistry.

Semantics (SPEC §3), in one place:
- a positive operator never matches a missing value, and every negation is ``NOT coalesce(p, 0)``
  of its positive form ``p``: exactly the customers ``p`` does not match, missing values included;
- text is compared through its folded copy (``*_fold`` columns), so case is ignored in every script;
  a list's fold column holds its folded elements between ``ITEM_SEP``s, so "has element X" is
  ``instr`` of ``ITEM_SEP X ITEM_SEP``;
- a date-only literal ``D`` (or a relative day, ``30 days ago``) is the whole local day
  ``[D 00:00, D+1 00:00)`` in the zone in force, and a period (``during last week``) the local days
  it holds; instants are stored as fixed-width UTC text, so text order is time order, and every
  time boundary is computed once, in Python, from the command's ``Clock`` (``timeutil``) and bound
  as a parameter: the SQL stays a range on the column, which its index serves.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from typing import NamedTuple

from .dialects import Dialect
from .errors import DataError
from .fields import Field, FieldRegistry, FieldType
from .model import Condition, Filter, Group
from .operators import OPERATORS
from .timeutil import (
    Clock,
    DayStart,
    OutOfCalendar,
    PeriodStart,
    RelativeDay,
    Shifted,
    anniversary_ranges,
    days_after,
    resolve,
)
from .values import INTEGER_MAX, INTEGER_MIN, ITEM_SEP, fold

_IDENTIFIER = re.compile(r"^[a-z_][a-z0-9_]*$")


class Compiled(NamedTuple):
    """A WHERE expression over ``customers c`` and its named parameters."""

    sql: str
    params: dict[str, object]


class LiveNow(NamedTuple):
    """In a view: the instant ``seconds`` before the engine's clock when the view is read."""

    seconds: int


class CompileContext:
    """Collects parameters while one statement is compiled; holds the injected ``now``, or a whole
    ``Clock`` (now, the zone of calendar days, the first day of a week; a bare ``now`` is a clock
    in UTC).

    Its public methods are the primitives that operator rows (``operators.py``) are written with:
    each returns the SQL of a positive condition on one field. Time boundaries reach SQL through
    ``boundary``, the one place that turns them into instants.

    With ``view``, the SQL is for a view (``compile_view``): values are written into it as
    literals, and ``now`` is the engine's clock when the view is read, in UTC."""

    def __init__(self, registry: FieldRegistry, now: datetime | Clock, dialect: Dialect, *, view: bool = False) -> None:
        clock = Clock.of(now)
        if view:  # a view reads the engine's clock, in UTC (SPEC §11)
            clock = clock._replace(zone=UTC)
        self.clock = clock._replace(now=clock.now.astimezone(UTC).replace(microsecond=0))
        self.now = self.clock.now
        self.registry = registry
        self.dialect = dialect
        self.view = view
        self.clock_read = False  # whether a view's SQL reads the clock
        self.params: dict[str, object] = {}
        self._names: dict[tuple[type, object], str] = {}

    def bind(self, value: object) -> str:
        """A parameter holding ``value``: one per distinct value, so that segments combined (or a
        value repeated) do not use up the engine's parameters. A list is one (array) parameter. In a
        view, the value itself."""
        if self.view:
            if isinstance(value, LiveNow):
                return self.dialect.clock(value.seconds)
            return self.dialect.literal(value)
        key = (type(value), tuple(value) if isinstance(value, list) else value)
        name = self._names.get(key)
        if name is None:
            if type(value) is int and not INTEGER_MIN <= value <= INTEGER_MAX:
                # a filter saved before seg refused such numbers
                raise DataError(f"{value} is out of range for a whole number (at most ±{INTEGER_MAX})")
            name = self._names[key] = f"p{len(self.params) + 1}"
            self.params[name] = value
        return self.dialect.param(name)

    def field(self, name: str) -> Field:
        f = self.registry.get(name)
        if f is None:
            raise DataError(f'the field "{name}" no longer exists')
        return f

    def column(self, f: Field, folded: bool = False) -> str:
        col = f.fold_column if folded and f.fold_column else f.column
        if not _IDENTIFIER.match(col):
            raise AssertionError(f"unsafe column for {f.name!r}")
        return f"c.{col}"

    # --- primitives --------------------------------------------------------------------------

    def ago(self, seconds: int | None) -> str | LiveNow:
        """The instant ``seconds`` before now, or the earliest instant seg stores if that is earlier
        still: either way the same customers are after (or before) it. In a view, read from the
        engine's clock when the view is read."""
        if self.view:
            self.clock_read = True
            return LiveNow(seconds or 0)
        return resolve(Shifted(seconds=-(seconds or 0)), self.clock)

    def boundary(self, b: DayStart | PeriodStart | Shifted) -> str:
        """SQL for a time boundary: the instant it is for this command's clock, bound as a parameter
        (computed once, here, so that the comparison stays a range that the column's index serves).
        In a view, a boundary that moves with the clock is the engine's expression for it."""
        if self.view and _moves(b):
            self.clock_read = True
            return self.dialect.moment(b, self.clock.week_start)
        return self.bind(resolve(b, self.clock))

    def equals(self, f: Field, value: object) -> str:
        if f.type is FieldType.DATE and _is_day(value):
            return self.both(self.above(f, value, inclusive=True), self.below(f, value, inclusive=True))
        if f.type is FieldType.TEXT:
            return f"{self.column(f, folded=True)} = {self.bind(fold(str(value)))}"
        if f.type is FieldType.BOOLEAN:
            return f"{self.column(f)} = {self.bind(self.dialect.boolean(bool(value)))}"
        return f"{self.column(f)} = {self.bind(value)}"

    def one_of(self, f: Field, values: tuple[object, ...]) -> str:
        values = [fold(str(v)) if f.type is FieldType.TEXT else v for v in values]
        return self.dialect.is_one_of(self.column(f, folded=True), values, self.bind)

    def above(self, f: Field, value: object, *, inclusive: bool) -> str:
        """After (or from) ``value``: a number, an instant, a time boundary, or a whole local day
        ``[D, D+1)``, which the value is above only from its end (from its start when ``inclusive``)."""
        if f.type is FieldType.DATE and _is_day(value):
            edge = self.boundary(DayStart(value, 0 if inclusive else 1))
            return f"{self.column(f)} >= {edge}"
        if isinstance(value, _BOUNDARIES):
            return f"{self.column(f)} {'>=' if inclusive else '>'} {self.boundary(value)}"
        return f"{self.column(f)} {'>=' if inclusive else '>'} {self.bind(value)}"

    def below(self, f: Field, value: object, *, inclusive: bool) -> str:
        """Before (or up to) ``value``; a whole day counts up to its end when ``inclusive``."""
        if f.type is FieldType.DATE and _is_day(value):
            edge = self.boundary(DayStart(value, 1 if inclusive else 0))
            return f"{self.column(f)} < {edge}"
        if isinstance(value, _BOUNDARIES):
            return f"{self.column(f)} {'<=' if inclusive else '<'} {self.boundary(value)}"
        return f"{self.column(f)} {'<=' if inclusive else '<'} {self.bind(value)}"

    def anniversary(self, f: Field, start: DayStart | PeriodStart, end: DayStart | PeriodStart) -> str:
        """Customers whose value's local month and day is the anniversary of a local day from
        ``start`` until ``end`` (the first day not included), in any year; 29 February counts as 28
        February in a common year. The local day of each value is ``Dialect.local_day`` (in UTC,
        simply its first ten characters)."""
        if self.view and (_moves(start) or _moves(end)):  # the window moves with the engine's clock
            self.clock_read = True
            week_start = self.clock.week_start
            return self.dialect.anniversary_window(
                self.column(f), self.dialect.moment(start, week_start), self.dialect.moment(end, week_start)
            )
        first, last = _local_day(start, self.clock), _local_day(end, self.clock, last=True)
        ranges = anniversary_ranges(first, last) if first is not None and last is not None and last >= first else []
        if ranges is None:
            return self.is_set(f)
        if not ranges:
            return self.dialect.false
        column = self.column(f)
        stored = f"substr({column}, 6, 5)"  # the month and day of the stored UTC instant
        if self.clock.zone_name == "UTC":
            return self._month_days(stored, ranges)
        # A local day is the UTC day or one either side, so only values whose UTC month and day are
        # within two days of the window (one more for 29 February) can match: tested first, in plain
        # SQL, it spares the function call for nearly every row.
        near = anniversary_ranges(_days_around(first, -2), _days_around(last, 2))
        prefilter = self._month_days(stored, near) if near is not None else None
        local = f"substr({self.dialect.local_day(column, self.bind(self.clock.zone_name))}, 6, 5)"
        exact = self._month_days(local, ranges)
        return exact if prefilter is None else self.both(prefilter, exact)

    def _month_days(self, day: str, ranges: list[tuple[str, str]]) -> str:
        parts = [
            f"{day} = {self.bind(low)}" if low == high else f"{day} BETWEEN {self.bind(low)} AND {self.bind(high)}"
            for low, high in ranges
        ]
        return any_of(self.dialect, parts)

    @staticmethod
    def both(first: str, second: str) -> str:
        return f"({first} AND {second})"

    def substring(self, f: Field, value: object) -> str:
        return self.dialect.has_substring(self.column(f, folded=True), self.bind(fold(str(value))))

    def prefix(self, f: Field, value: object) -> str:
        return self.dialect.starts_with(self.column(f, folded=True), self.bind(fold(str(value))))

    def suffix(self, f: Field, value: object) -> str:
        return self.dialect.ends_with(self.column(f, folded=True), self.bind(fold(str(value))))

    def has_element(self, f: Field, value: object) -> str:
        """Customers whose list ``f`` has an element equal to ``value``, ignoring case: its fold
        column holds each folded element between two ``ITEM_SEP``, which no element contains."""
        folded = fold(str(value))
        if ITEM_SEP in folded:
            return self.dialect.false
        return self.dialect.has_substring(self.column(f, folded=True), self.bind(ITEM_SEP + folded + ITEM_SEP))

    def any_element(self, f: Field, values: tuple[object, ...]) -> str:
        return any_of(self.dialect, [self.has_element(f, v) for v in values], parenthesize_one=True)

    def all_elements(self, f: Field, values: tuple[object, ...]) -> str:
        return all_of(self.dialect, [self.has_element(f, v) for v in values], parenthesize_one=True)

    def is_set(self, f: Field) -> str:
        return f"{self.column(f)} IS NOT NULL"


_BOUNDARIES = (DayStart, PeriodStart, Shifted)

#: SQLite's number of the first day of a week (``strftime('%w')``: Sunday is 0).


def _moves(b: DayStart | PeriodStart | Shifted) -> bool:
    """Whether a boundary depends on the clock (all but a literal day)."""
    return not (isinstance(b, DayStart) and isinstance(b.day, str))


def _days_around(day: date, n: int) -> date:
    """``day`` moved ``n`` days, kept within the calendar."""
    try:
        return days_after(day, n)
    except OutOfCalendar as exc:
        return date.min if exc.before else date.max


def _local_day(b: DayStart | PeriodStart, clock: Clock, *, last: bool = False) -> date | None:
    """The local day a day boundary begins (``last``: the day before it, the last one of a range
    that ends there), kept within the calendar; None if it is before the calendar begins."""
    try:
        if isinstance(b, PeriodStart):
            day = b.period.first_day(clock, b.shift)
        else:
            day = b.day.date(clock) if isinstance(b.day, RelativeDay) else date.fromisoformat(b.day)
            day = days_after(day, b.days)
        return days_after(day, -1) if last else day
    except OutOfCalendar as exc:
        if exc.before:
            return None if last else date.min
        return date.max


#: SQLite parses a chain of terms joined by OR or AND into a tree as deep as the chain is long, and
#: refuses a tree deeper than 1,000; halves in parentheses would fill its parser's stack instead
#: (100 entries in SQLite 3.40). Beyond this many terms, a CASE lists them side by side: as deep as
#: its deepest term, however many there are, and still evaluated in order, stopping at the first
#: that decides.
FLAT_TERMS = 64


def any_of(dialect: Dialect, parts: list[str], *, parenthesize_one: bool = False) -> str:
    """True when one of the ``parts`` is (each a WHERE expression)."""
    if len(parts) == 1 and not parenthesize_one:
        return parts[0]
    if len(parts) <= FLAT_TERMS:
        return "(" + " OR ".join(parts) + ")"
    return "(CASE " + " ".join(f"WHEN {p} THEN {dialect.true}" for p in parts) + f" ELSE {dialect.false} END)"


def all_of(dialect: Dialect, parts: list[str], *, parenthesize_one: bool = False) -> str:
    """True when every one of the ``parts`` is."""
    if len(parts) == 1 and not parenthesize_one:
        return parts[0]
    if len(parts) <= FLAT_TERMS:
        return "(" + " AND ".join(parts) + ")"
    return (
        "(CASE "
        + " ".join(f"WHEN {dialect.negate(p)} THEN {dialect.false}" for p in parts)
        + f" ELSE {dialect.true} END)"
    )


def _is_day(value: object) -> bool:
    """A whole day: a literal ``YYYY-MM-DD`` or a relative day (``30 days ago``)."""
    return (isinstance(value, str) and len(value) == 10) or isinstance(value, RelativeDay)


def compile_condition(ctx: CompileContext, cond: Condition) -> str:
    f = ctx.field(cond.field)
    sql = OPERATORS[cond.op].sql(ctx, f, cond)
    return ctx.dialect.negate(sql) if cond.negated else sql


def compile_group(ctx: CompileContext, group: Group) -> str:
    return all_of(ctx.dialect, [compile_condition(ctx, c) for c in group.conditions])


def compile_filter(ctx: CompileContext, flt: Filter) -> str:
    """The WHERE expression of one filter: its groups joined with OR."""
    if not flt.groups:
        return ctx.dialect.false
    return any_of(ctx.dialect, [compile_group(ctx, g) for g in flt.groups])


def compile_cells(fields: list[Field], *, neutralize: bool, dialect: Dialect | None = None) -> list[str]:
    """SELECT expressions that give each field as a CSV cell: booleans as true/false, text
    neutralized against formula injection unless ``neutralize`` is false, numbers as numbers, lists
    joined with ``,``."""
    dialect = dialect or Dialect()
    out = []
    for f in fields:
        column = f.column
        if not _IDENTIFIER.match(column):
            raise AssertionError(f"unsafe column for {f.name!r}")
        column = f"c.{column}"
        if f.is_list:
            joined = dialect.joined_list(column)
            out.append(
                f"(SELECT {dialect.neutralized_cell('x')} FROM (SELECT {joined} AS x) AS cell)"
                if neutralize
                else joined
            )
        elif f.type is FieldType.NUMBER:
            out.append(column)
        elif f.type is FieldType.BOOLEAN:
            out.append(dialect.boolean_cell(column))
        elif neutralize and _may_look_like_a_formula(f):
            out.append(dialect.neutralized_cell(column))
        else:
            out.append(column)
    return out


def _may_look_like_a_formula(f: Field) -> bool:
    """Only free text can start like a formula: dates, codes and numbers are stored normalized,
    and an enum's values are known."""
    if f.type is FieldType.ENUM:
        return any(v.startswith(("=", "+", "-", "@", "\t", "\r")) for v in f.enum_values)
    return f.type is FieldType.TEXT


def _any_of(ctx: CompileContext, filters: list[Filter], *, grouped: bool = False) -> str:
    """Customers in any of ``filters``: their expressions joined with OR (in parentheses when
    there are several, or when ``grouped``)."""
    return any_of(ctx.dialect, [compile_filter(ctx, f) for f in filters], parenthesize_one=grouped)


def compile_many(
    registry: FieldRegistry, now: datetime, filters: list[Filter], dialect: Dialect | None = None
) -> tuple[list[str], dict[str, object]]:
    """One WHERE expression per filter, sharing one set of parameters: for counting many segments
    (``Store.count_many``) in one statement. Each row is tested against every expression, so here
    the cheapest conditions of a group come first, and the cheapest groups: a group stops at its
    first false condition, a filter at its first true group. (A single filter keeps its order,
    which ``seg show --sql`` prints.)"""
    ctx = CompileContext(registry, now, dialect or Dialect())
    wheres = []
    for f in filters:
        groups = []
        for g in f.groups:
            parts = sorted((compile_condition(ctx, c) for c in g.conditions), key=_cost)
            groups.append(all_of(ctx.dialect, parts))
        wheres.append(any_of(ctx.dialect, sorted(groups, key=_cost)) if groups else ctx.dialect.false)
    return wheres, ctx.params


_CALL = re.compile(r"\b(?!coalesce\b|NOT\b|AND\b|OR\b|IN\b)[A-Za-z_]+\(")
_TERM = re.compile(r"\b(?:AND|OR|IN|IS|CASE)\b|<=|>=|!=|<>|[<>=]")


def _cost(sql: str) -> float:
    """A rough cost of evaluating an expression on one row: a function call (``instr``, ``substr``,
    a JSON function) costs several comparisons; a negation or ``IS NOT NULL`` rarely rules a row
    out, so it goes after an equality of the same cost."""
    calls = len(_CALL.findall(sql))
    terms = len(_TERM.findall(sql)) or 1
    return terms + 4 * calls + (0.5 if sql.startswith("NOT ") or " IS NOT NULL" in sql else 0)


def unique_clause(ctx: CompileContext, final: str, f: Field, drop_opted_out: bool) -> str:
    """``--unique`` (SPEC §10): of the customers matching ``final`` (a WHERE over ``customers c``),
    one per value of ``f`` (phone as stored, in E.164; email folded), the lowest id in code-point
    order, and everyone with no value. With ``drop_opted_out``, no value that any opted-out
    customer holds, anywhere in the database, is kept at all (SPEC §14)."""
    column = f.fold_column if f.name == "email" and f.fold_column else f.column
    if not column or not _IDENTIFIER.match(column):
        raise AssertionError(f"unsafe column for {f.name!r}")
    ranked = (
        f"SELECT c.pk AS pk, c.{column} AS v, row_number() OVER (PARTITION BY c.{column}"
        f" ORDER BY {ctx.dialect.in_id_order('c.id')}) AS n FROM customers c WHERE {final}"
    )
    keep = "u.n = 1"
    if drop_opted_out:
        keep += (
            f" AND u.v NOT IN (SELECT o.{column} FROM customers o"
            f" WHERE o.marketing_opt_out = {ctx.bind(ctx.dialect.boolean(True))} AND o.{column} IS NOT NULL)"
        )
    return f"c.pk IN (SELECT u.pk FROM ({ranked}) u WHERE u.v IS NULL OR ({keep}))"


class ViewSql(NamedTuple):
    """A view's WHERE expression, and whether it reads the clock (relative dates)."""

    sql: str
    clock: bool


def compile_view(
    registry: FieldRegistry, now: datetime | Clock, flt: Filter, dialect: Dialect | None = None
) -> ViewSql:
    """The WHERE expression of a filter for a view of its segment (``seg views``): values written
    in as literals (a view has no parameters), dates relative to now measured from the engine's
    clock when the view is read, in UTC, and no SQL function that only seg registers."""
    ctx = CompileContext(registry, now, dialect or Dialect(), view=True)
    sql = compile_filter(ctx, flt)
    return ViewSql(sql, ctx.clock_read)


def compile_overlap(
    registry: FieldRegistry, now: datetime | Clock, filters: list[Filter], dialect: Dialect | None = None
) -> tuple[list[str], dict[str, object], list[tuple[int, int]]]:
    """For ``seg overlap``: an expression for each filter (the diagonal) and for each pair of
    filters (customers in both), sharing one set of parameters, and the matrix cell ``(i, j)``
    each one counts; for ``Store.count_many``, one pass for them all."""
    ctx = CompileContext(registry, now, dialect or Dialect())
    each = [compile_filter(ctx, f) for f in filters]
    expressions, cells = [], []
    for i, first in enumerate(each):
        expressions.append(first)
        cells.append((i, i))
        for j in range(i + 1, len(each)):
            expressions.append(f"({first}) AND ({each[j]})")
            cells.append((i, j))
    return expressions, ctx.params, cells


def compile_waterfall(
    registry: FieldRegistry,
    now: datetime,
    include: list[Filter],
    steps: list[tuple[list[Filter], list[Condition]]],
    dialect: Dialect | None = None,
    unique: tuple[Field, bool] | None = None,
) -> tuple[Compiled, list[str]]:
    """An export's waterfall in one scan: the WHERE of the customers in any of ``include``, and for
    each step (exclusions, required conditions, cumulative) an expression true for those left;
    with ``unique`` (a field, and whether opted-out customers' values are dropped), a last step
    keeps one customer per value of it, after all the others (``unique_clause``)."""
    ctx = CompileContext(registry, now, dialect or Dialect())
    where = _any_of(ctx, include)
    expressions = []
    for exclude, required in steps:
        parts = []
        if exclude:
            parts.append(ctx.dialect.negate(_any_of(ctx, exclude, grouped=True)))
        parts += [compile_condition(ctx, c) for c in required]
        expressions.append(" AND ".join(parts) if parts else ctx.dialect.true)
    if unique is not None:
        exclude, required = steps[-1] if steps else ([], [])
        final = _final(ctx, include, exclude, required)
        expressions.append(unique_clause(ctx, final, *unique))
    return Compiled(where, ctx.params), expressions


def _final(ctx: CompileContext, include: list[Filter], exclude: list[Filter], required: list[Condition]) -> str:
    sql = _any_of(ctx, include)
    if exclude:
        sql = f"{sql} AND {ctx.dialect.negate(_any_of(ctx, exclude, grouped=True))}"
    for cond in required:
        sql = f"{sql} AND {compile_condition(ctx, cond)}"
    return sql


def compile_audience(
    registry: FieldRegistry,
    now: datetime,
    include: list[Filter],
    exclude: list[Filter] = (),
    dialect: Dialect | None = None,
    required: list[Condition] = (),
    unique: tuple[Field, bool] | None = None,
) -> Compiled:
    """Customers in any of ``include``, in none of ``exclude`` and meeting every ``required``
    condition (an export's opt-out and ``--require`` rules), as one WHERE expression; with
    ``unique``, one per value of a field (``unique_clause``)."""
    ctx = CompileContext(registry, now, dialect or Dialect())
    sql = _final(ctx, include, list(exclude), list(required))
    if unique is not None:
        sql = f"{sql} AND {unique_clause(ctx, sql, *unique)}"
    return Compiled(sql, ctx.params)
