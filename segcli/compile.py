"""Filter model -> one SQL expression and its bound parameters.

Each operator is one object that owns its SQL (through a Dialect, the seam where another database
would differ) and its English description; ``OPERATORS`` maps the model's keys to them. Values only
ever reach SQL as named parameters, and column names only come from the FieldRegistry.

Semantics (SPEC §3), in one place:
- a positive operator never matches a missing value, and every negation is ``NOT coalesce(p, 0)``
  of its positive form ``p``: exactly the customers ``p`` does not match, missing values included;
- text is compared through its folded copy (``*_fold`` columns), so case is ignored in every script;
  a list's fold column holds its folded elements between ``ITEM_SEP``s, so "has element X" is
  ``instr`` of ``ITEM_SEP X ITEM_SEP``;
- a date-only literal ``D`` is the whole UTC day ``[D, D+1)``; instants are stored as fixed-width
  UTC text, so text order is time order.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from typing import NamedTuple

from .fields import EARLIEST, INTEGER_MAX, INTEGER_MIN, ITEM_SEP, Field, FieldRegistry, FieldType, fold, format_instant
from .model import Condition, Filter, Group

_IDENTIFIER = re.compile(r"^[a-z_][a-z0-9_]*$")
ALL_SCALAR = frozenset(FieldType) - {FieldType.ARRAY}
EQUALITY_IN = frozenset(
    {FieldType.TEXT, FieldType.ENUM, FieldType.LANGUAGE, FieldType.PLATFORM, FieldType.COUNTRY, FieldType.NUMBER}
)
ORDERED = frozenset({FieldType.NUMBER, FieldType.DATE})
DATES = frozenset({FieldType.DATE})


class Dialect:
    """SQL spellings that differ between databases. This one is SQLite's."""

    name = "sqlite"

    def param(self, name: str) -> str:
        return f":{name}"

    def has_substring(self, column: str, p: str) -> str:
        # instr, not LIKE: % and _ in a value are plain characters, and no escaping is needed.
        return f"instr({column}, {p}) > 0"

    def starts_with(self, column: str, p: str) -> str:
        return f"substr({column}, 1, length({p})) = {p}"

    def ends_with(self, column: str, p: str) -> str:
        return f"substr({column}, -length({p})) = {p}"

    def negate(self, sql: str) -> str:
        return f"NOT coalesce({sql}, 0)"

    # Output cells: exports format values in SQL, so that Python never touches most cells.

    def joined_list(self, column: str) -> str:
        """A list's JSON array (as the importer writes it: ``["a", "b"]``) as ``a,b``. Without a
        backslash, nothing is escaped and ``", "`` can only be a separator, so plain string
        functions do it; otherwise (or in another spelling) ``json_each`` does, at twice the cost."""
        slow = f"(SELECT group_concat(value, ',') FROM json_each({column}))"
        return (
            f"CASE WHEN instr({column}, '\\') = 0 AND substr({column}, 1, 2) = '[\"' AND instr({column}, '\",\"') = 0"
            f" THEN replace(substr({column}, 3, length({column}) - 4), '\", \"', ',') ELSE {slow} END"
        )

    def boolean_cell(self, column: str) -> str:
        return f"CASE {column} WHEN 1 THEN 'true' WHEN 0 THEN 'false' END"

    def neutralized_cell(self, column: str) -> str:
        """``export.neutralize`` in SQL: text that starts like a spreadsheet formula gets a leading
        ``'`` unless it is a sign followed by a plain number or phone number. GLOB looks at the
        whole value, with no substrings made: every phone number (``+968...``) takes the second
        test, and this way it costs a quarter less. The lines inside a cell are guarded by the
        export's CSV writer: only the rare cells with a line break need it, and a test for one in
        every cell cost a large export 15%."""
        starts_like_a_formula = f"{column} GLOB '[=+@' || char(9) || char(13) || '-]*'"
        plain = f"{column} GLOB '[+-]*' AND {column} NOT GLOB '?*[^0-9 ().-]*' AND {column} GLOB '?*[0-9]*'"
        return (
            f"CASE WHEN {starts_like_a_formula}"
            f" THEN (CASE WHEN {plain} THEN {column} ELSE '''' || {column} END) ELSE {column} END"
        )


class Compiled(NamedTuple):
    """A WHERE expression over ``customers c`` and its named parameters."""

    sql: str
    params: dict[str, object]


class CompileContext:
    """Collects parameters while one statement is compiled; holds the injected ``now``."""

    def __init__(self, registry: FieldRegistry, now: datetime, dialect: Dialect) -> None:
        self.registry = registry
        self.now = now.astimezone(UTC).replace(microsecond=0)
        self.dialect = dialect
        self.params: dict[str, object] = {}
        self._names: dict[tuple[type, object], str] = {}

    def bind(self, value: object) -> str:
        """A parameter holding ``value``: one per distinct value, so that segments combined (or a
        value repeated) do not use up the engine's parameters."""
        key = (type(value), value)
        name = self._names.get(key)
        if name is None:
            if type(value) is int and not INTEGER_MIN <= value <= INTEGER_MAX:
                from .errors import DataError  # a filter saved before seg refused such numbers

                raise DataError(f"{value} is out of range for a whole number (at most ±{INTEGER_MAX})")
            name = self._names[key] = f"p{len(self.params) + 1}"
            self.params[name] = value
        return self.dialect.param(name)

    def field(self, name: str) -> Field:
        f = self.registry.get(name)
        if f is None:
            from .errors import DataError

            raise DataError(f'the field "{name}" no longer exists')
        return f

    def column(self, f: Field, folded: bool = False) -> str:
        col = f.fold_column if folded and f.fold_column else f.column
        if not _IDENTIFIER.match(col):
            raise AssertionError(f"unsafe column for {f.name!r}")
        return f"c.{col}"


def _day_start(day: str) -> str:
    return f"{day}T00:00:00Z"


def _next_day_start(day: str) -> str:
    """The instant a day ends, as stored instants compare with it. The last day there is,
    9999-12-31, ends at its 24:00 (ISO 8601's end of a day): later than any stored instant."""
    if day == "9999-12-31":
        return "9999-12-31T24:00:00Z"
    return format_instant(datetime.combine(date.fromisoformat(day) + timedelta(days=1), datetime.min.time(), UTC))


def _since(ctx: CompileContext, seconds: int) -> str:
    """``now - seconds``, or the earliest instant seg stores if that is earlier still: either way
    the same customers are within (or older than) it."""
    try:
        return format_instant(ctx.now - timedelta(seconds=seconds))
    except OverflowError:
        return EARLIEST


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
    return "(CASE " + " ".join(f"WHEN {p} THEN 1" for p in parts) + " ELSE 0 END)"


def all_of(dialect: Dialect, parts: list[str], *, parenthesize_one: bool = False) -> str:
    """True when every one of the ``parts`` is."""
    if len(parts) == 1 and not parenthesize_one:
        return parts[0]
    if len(parts) <= FLAT_TERMS:
        return "(" + " AND ".join(parts) + ")"
    return "(CASE " + " ".join(f"WHEN {dialect.negate(p)} THEN 0" for p in parts) + " ELSE 1 END)"


def _is_day(value: object) -> bool:
    return isinstance(value, str) and len(value) == 10


class Operator:
    """One operator of the language. Subclasses give the SQL of the positive form."""

    key: str
    spelling: str
    types: frozenset[FieldType] = frozenset()
    lists: bool = False  # applies to tags and array attributes
    template: str = ""

    def applies_to(self, f: Field) -> bool:
        return (self.lists and f.is_list) or (not f.is_list and f.type in self.types)

    def sql(self, ctx: CompileContext, f: Field, cond: Condition) -> str:
        raise NotImplementedError

    def describe(self, cond: Condition) -> str:
        """The condition in plain English, for ``seg show`` and ``seg why``."""
        values = ", ".join(str(v) for v in cond.values)
        text = self.template.format(field=cond.field, value=values, values=values)
        return ("not: " + text) if cond.negated else text


def _column_value(ctx: CompileContext, f: Field, value: object) -> tuple[str, str]:
    """The column to compare and the bound value: folded for text, as stored otherwise."""
    if f.type is FieldType.TEXT:
        return ctx.column(f, folded=True), ctx.bind(fold(str(value)))
    if f.type is FieldType.BOOLEAN:
        return ctx.column(f), ctx.bind(1 if value else 0)
    return ctx.column(f), ctx.bind(value)


def _has_element(ctx: CompileContext, f: Field, value: object) -> str:
    """Customers whose list ``f`` has an element equal to ``value``, ignoring case: its fold column
    holds each folded element between two ``ITEM_SEP``, which no element contains."""
    folded = fold(str(value))
    if ITEM_SEP in folded:
        return "0"
    return ctx.dialect.has_substring(ctx.column(f, folded=True), ctx.bind(ITEM_SEP + folded + ITEM_SEP))


class Equal(Operator):
    key, spelling, types, template = "eq", "= (is)", ALL_SCALAR, "{field} is {value}"

    def sql(self, ctx, f, cond):
        value = cond.values[0]
        if f.type is FieldType.DATE and _is_day(value):
            col = ctx.column(f)
            return f"({col} >= {ctx.bind(_day_start(value))} AND {col} < {ctx.bind(_next_day_start(value))})"
        col, p = _column_value(ctx, f, value)
        return f"{col} = {p}"


class In(Operator):
    key, spelling, types, template = "in", "in (...)", EQUALITY_IN, "{field} is one of {values}"

    def sql(self, ctx, f, cond):
        col = ctx.column(f, folded=True)
        binds = [
            ctx.bind(fold(str(v)) if f.type is FieldType.TEXT else v) for v in cond.values
        ]
        return f"{col} IN ({', '.join(binds)})"


class Compare(Operator):
    """``>``, ``>=``, ``<``, ``<=``, ``before``, ``after``: numeric or chronological."""

    types = ORDERED

    def __init__(self, key: str, spelling: str, sql_op: str, template: str, day_edge: str, types=ORDERED):
        self.key, self.spelling, self.sql_op, self.template = key, spelling, sql_op, template
        self.day_edge, self.types = day_edge, types

    def sql(self, ctx, f, cond):
        value = cond.values[0]
        col = ctx.column(f)
        if f.type is FieldType.DATE and _is_day(value):
            # A day is [D, D+1): compare with its start or with the start of the next day.
            edge = _day_start(value) if self.day_edge == "start" else _next_day_start(value)
            op = {">": ">=", "<=": "<"}.get(self.sql_op, self.sql_op)
            return f"{col} {op} {ctx.bind(edge)}"
        return f"{col} {self.sql_op} {ctx.bind(value)}"


class Between(Operator):
    key, spelling, types, template = "between", "between ... and ...", ORDERED, "{field} is between {values}"

    def sql(self, ctx, f, cond):
        low, high = cond.values
        col = ctx.column(f)
        if f.type is FieldType.DATE:
            low_sql = f"{col} >= {ctx.bind(_day_start(low) if _is_day(low) else low)}"
            high_sql = (
                f"{col} < {ctx.bind(_next_day_start(high))}" if _is_day(high) else f"{col} <= {ctx.bind(high)}"
            )
            return f"({low_sql} AND {high_sql})"
        return f"({col} >= {ctx.bind(low)} AND {col} <= {ctx.bind(high)})"


class WithinLast(Operator):
    key, spelling, types, template = "within", "within last N days", DATES, "{field} is within the last {value}"

    def sql(self, ctx, f, cond):
        col = ctx.column(f)
        since = _since(ctx, cond.seconds or 0)
        return f"({col} >= {ctx.bind(since)} AND {col} <= {ctx.bind(format_instant(ctx.now))})"

    def describe(self, cond):
        from .model import format_duration

        return f"{cond.field} is within the last {format_duration(cond.seconds or 0)}"


class OlderThan(Operator):
    key, spelling, types, template = "older", "older than N days", DATES, "{field} is older than {value}"

    def sql(self, ctx, f, cond):
        return f"{ctx.column(f)} < {ctx.bind(_since(ctx, cond.seconds or 0))}"

    def describe(self, cond):
        from .model import format_duration

        return f"{cond.field} is older than {format_duration(cond.seconds or 0)}"


class Contains(Operator):
    """On tags and arrays: an element equal to X. On text: X as a substring."""

    key, spelling, types, lists, template = "contains", "contains", frozenset({FieldType.TEXT}), True, "{field} contains {value}"

    def sql(self, ctx, f, cond):
        if f.is_list:
            return _has_element(ctx, f, cond.values[0])
        return ctx.dialect.has_substring(ctx.column(f, folded=True), ctx.bind(fold(str(cond.values[0]))))


class ContainsAny(Operator):
    key, spelling, lists, template = "contains_any", "contains any (...)", True, "{field} contains any of {values}"

    def sql(self, ctx, f, cond):
        return any_of(ctx.dialect, [_has_element(ctx, f, v) for v in cond.values], parenthesize_one=True)


class ContainsAll(Operator):
    key, spelling, lists, template = "contains_all", "contains all (...)", True, "{field} contains all of {values}"

    def sql(self, ctx, f, cond):
        return all_of(ctx.dialect, [_has_element(ctx, f, v) for v in cond.values], parenthesize_one=True)


class StartsWith(Operator):
    key, spelling, types, template = "starts_with", "starts with", frozenset({FieldType.TEXT}), "{field} starts with {value}"

    def sql(self, ctx, f, cond):
        return ctx.dialect.starts_with(ctx.column(f, folded=True), ctx.bind(fold(str(cond.values[0]))))


class EndsWith(Operator):
    key, spelling, types, template = "ends_with", "ends with", frozenset({FieldType.TEXT}), "{field} ends with {value}"

    def sql(self, ctx, f, cond):
        return ctx.dialect.ends_with(ctx.column(f, folded=True), ctx.bind(fold(str(cond.values[0]))))


class IsSet(Operator):
    key, spelling, types, lists, template = "set", "is set", frozenset(FieldType), True, "{field} has a value"

    def sql(self, ctx, f, cond):
        return f"{ctx.column(f)} IS NOT NULL"


OPERATORS: dict[str, Operator] = {
    op.key: op
    for op in (
        Equal(),
        In(),
        Compare("gt", ">", ">", "{field} is greater than {value}", "next"),
        Compare("ge", ">=", ">=", "{field} is at least {value}", "start"),
        Compare("lt", "<", "<", "{field} is less than {value}", "start"),
        Compare("le", "<=", "<=", "{field} is at most {value}", "next"),
        Between(),
        Compare("before", "before", "<", "{field} is before {value}", "start", DATES),
        Compare("after", "after", ">", "{field} is after {value}", "next", DATES),
        WithinLast(),
        OlderThan(),
        Contains(),
        ContainsAny(),
        ContainsAll(),
        StartsWith(),
        EndsWith(),
        IsSet(),
    )
}


def describe(cond: Condition) -> str:
    return OPERATORS[cond.op].describe(cond)


def compile_condition(ctx: CompileContext, cond: Condition) -> str:
    f = ctx.field(cond.field)
    sql = OPERATORS[cond.op].sql(ctx, f, cond)
    return ctx.dialect.negate(sql) if cond.negated else sql


def compile_group(ctx: CompileContext, group: Group) -> str:
    return all_of(ctx.dialect, [compile_condition(ctx, c) for c in group.conditions])


def compile_filter(ctx: CompileContext, flt: Filter) -> str:
    """The WHERE expression of one filter: its groups joined with OR."""
    if not flt.groups:
        return "0"
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
            out.append(f"(SELECT {dialect.neutralized_cell('x')} FROM (SELECT {joined} AS x))" if neutralize else joined)
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


def compile_waterfall(
    registry: FieldRegistry,
    now: datetime,
    include: list[Filter],
    steps: list[tuple[list[Filter], list[Condition]]],
    dialect: Dialect | None = None,
) -> tuple[Compiled, list[str]]:
    """An export's waterfall in one scan: the WHERE of the customers in any of ``include``, and for
    each step (exclusions, required conditions, cumulative) an expression true for those left."""
    ctx = CompileContext(registry, now, dialect or Dialect())
    where = _any_of(ctx, include)
    expressions = []
    for exclude, required in steps:
        parts = []
        if exclude:
            parts.append(ctx.dialect.negate(_any_of(ctx, exclude, grouped=True)))
        parts += [compile_condition(ctx, c) for c in required]
        expressions.append(" AND ".join(parts) if parts else "1")
    return Compiled(where, ctx.params), expressions


def compile_audience(
    registry: FieldRegistry,
    now: datetime,
    include: list[Filter],
    exclude: list[Filter] = (),
    dialect: Dialect | None = None,
    required: list[Condition] = (),
) -> Compiled:
    """Customers in any of ``include``, in none of ``exclude`` and meeting every ``required``
    condition (an export's opt-out and ``--require`` rules), as one WHERE expression."""
    ctx = CompileContext(registry, now, dialect or Dialect())
    sql = _any_of(ctx, include)
    if exclude:
        sql = f"{sql} AND {ctx.dialect.negate(_any_of(ctx, exclude, grouped=True))}"
    for cond in required:
        sql = f"{sql} AND {compile_condition(ctx, cond)}"
    return Compiled(sql, ctx.params)
