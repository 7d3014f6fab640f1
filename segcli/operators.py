"""The operators of the filter language (SPEC §3): one row each, the only table of them.

A row says how the operator is written (and negated), what argument it takes, which field types it
applies to, how it reads in English, and what it means, as a combination of the compiler's
primitives (``compile.CompileContext``). The parser, the printer of the model and the compiler all
read this table; the grammar (``grammar.lark``) is the only other place that names an operator, by
the same key (``not_KEY`` for its negated form).
"""

from __future__ import annotations

from collections.abc import Callable
from enum import Enum
from typing import TYPE_CHECKING, NamedTuple

from .fields import Field, FieldType
from .timeutil import DayStart, PeriodStart, RelativeDay, Shifted

if TYPE_CHECKING:
    from .compile import CompileContext
    from .model import Condition


class Shape(Enum):
    """What an operator takes after it."""

    NONE = "none"  # is set
    VALUE = "value"  # = gold
    LIST = "list"  # in (a, b)
    PAIR = "pair"  # between A and B
    DURATION = "duration"  # within last 7 days
    PERIOD = "period"  # during last month


ALL_SCALAR = frozenset(FieldType) - {FieldType.ARRAY}
EQUALITY_IN = frozenset(
    {FieldType.TEXT, FieldType.ENUM, FieldType.LANGUAGE, FieldType.PLATFORM, FieldType.COUNTRY, FieldType.NUMBER}
)
ORDERED = frozenset({FieldType.NUMBER, FieldType.DATE})
DATES = frozenset({FieldType.DATE})
TEXT = frozenset({FieldType.TEXT})
NOTHING: frozenset[FieldType] = frozenset()

Sql = Callable[["CompileContext", Field, "Condition"], str]


class Operator(NamedTuple):
    key: str
    spelling: str  # the positive form, as printed
    negation: str | None  # the negated form, as printed (None: no negated form)
    shape: Shape
    types: frozenset[FieldType]  # scalar types it applies to
    lists: bool  # applies to tags and array attributes
    template: str  # English, for seg show / seg why: "{field} is {value}"
    sql: Sql  # its meaning, from the compiler's primitives (positive form)

    def applies_to(self, f: Field) -> bool:
        return (self.lists and f.is_list) or (not f.is_list and f.type in self.types)

    @property
    def shown(self) -> str:
        """How the operator is listed in messages: ``in (...)``, ``within last N days``."""
        return {
            Shape.LIST: f"{self.spelling} (...)",
            Shape.PAIR: f"{self.spelling} ... and ...",
            Shape.DURATION: f"{self.spelling} N days",
            Shape.PERIOD: f"{self.spelling} this|last|next week",
        }.get(self.shape, self.spelling)

    @property
    def symbolic(self) -> bool:
        """Written as a symbol (``=``, ``>=``) rather than words."""
        return not self.spelling[0].isalpha()


def _first(c: Condition) -> object:
    return c.values[0]


def _span(c: Condition, sign: int) -> Shifted:
    """``now`` moved by the condition's duration, back (``sign`` -1) or forward (1)."""
    return Shifted(months=sign * c.months) if c.months else Shifted(seconds=sign * (c.seconds or 0))


OPERATORS: dict[str, Operator] = {
    op.key: op
    for op in (
        Operator(
            "eq",
            "=",
            "!=",
            Shape.VALUE,
            ALL_SCALAR,
            False,
            "{field} is {value}",
            lambda q, f, c: q.equals(f, _first(c)),
        ),
        Operator(
            "in",
            "in",
            "not in",
            Shape.LIST,
            EQUALITY_IN,
            False,
            "{field} is one of {value}",
            lambda q, f, c: q.one_of(f, c.values),
        ),
        Operator(
            "gt",
            ">",
            None,
            Shape.VALUE,
            ORDERED,
            False,
            "{field} is greater than {value}",
            lambda q, f, c: q.above(f, _first(c), inclusive=False),
        ),
        Operator(
            "ge",
            ">=",
            None,
            Shape.VALUE,
            ORDERED,
            False,
            "{field} is at least {value}",
            lambda q, f, c: q.above(f, _first(c), inclusive=True),
        ),
        Operator(
            "lt",
            "<",
            None,
            Shape.VALUE,
            ORDERED,
            False,
            "{field} is less than {value}",
            lambda q, f, c: q.below(f, _first(c), inclusive=False),
        ),
        Operator(
            "le",
            "<=",
            None,
            Shape.VALUE,
            ORDERED,
            False,
            "{field} is at most {value}",
            lambda q, f, c: q.below(f, _first(c), inclusive=True),
        ),
        Operator(
            "between",
            "between",
            None,
            Shape.PAIR,
            ORDERED,
            False,
            "{field} is between {value}",
            lambda q, f, c: q.both(q.above(f, c.values[0], inclusive=True), q.below(f, c.values[1], inclusive=True)),
        ),
        Operator(
            "before",
            "before",
            None,
            Shape.VALUE,
            DATES,
            False,
            "{field} is before {value}",
            lambda q, f, c: q.below(f, _first(c), inclusive=False),
        ),
        Operator(
            "after",
            "after",
            None,
            Shape.VALUE,
            DATES,
            False,
            "{field} is after {value}",
            lambda q, f, c: q.above(f, _first(c), inclusive=False),
        ),
        Operator(
            "within",
            "within last",
            None,
            Shape.DURATION,
            DATES,
            False,
            "{field} is within the last {value}",
            lambda q, f, c: q.both(q.above(f, _span(c, -1), inclusive=True), q.below(f, Shifted(), inclusive=True)),
        ),
        Operator(
            "older",
            "older than",
            None,
            Shape.DURATION,
            DATES,
            False,
            "{field} is older than {value}",
            lambda q, f, c: q.below(f, _span(c, -1), inclusive=False),
        ),
        Operator(
            "within_next",
            "within next",
            None,
            Shape.DURATION,
            DATES,
            False,
            "{field} is within the next {value}",
            lambda q, f, c: q.both(q.above(f, Shifted(), inclusive=True), q.below(f, _span(c, 1), inclusive=True)),
        ),
        Operator(
            "during",
            "during",
            "not during",
            Shape.PERIOD,
            DATES,
            False,
            "{field} falls within {value}",
            lambda q, f, c: q.both(
                q.above(f, PeriodStart(_first(c)), inclusive=True),
                q.below(f, PeriodStart(_first(c), 1), inclusive=False),
            ),
        ),
        # Anniversaries: the local month and day of the value, in any year (SPEC §9).
        Operator(
            "anniversary",
            "anniversary =",
            "anniversary !=",
            Shape.VALUE,
            DATES,
            False,
            "the anniversary of {field} (its month and day) is {value}",
            lambda q, f, c: q.anniversary(f, DayStart(_first(c)), DayStart(_first(c), 1)),
        ),
        Operator(
            "anniversary_within",
            "anniversary within next",
            None,
            Shape.DURATION,
            DATES,
            False,
            "the anniversary of {field} is today or within the next {value}",
            lambda q, f, c: q.anniversary(
                f, DayStart(RelativeDay(0)), DayStart(RelativeDay(0), (c.seconds or 0) // 86400 + 1)
            ),
        ),
        Operator(
            "anniversary_during",
            "anniversary during",
            None,
            Shape.PERIOD,
            DATES,
            False,
            "the anniversary of {field} falls within {value}",
            lambda q, f, c: q.anniversary(f, PeriodStart(_first(c)), PeriodStart(_first(c), 1)),
        ),
        # On tags and arrays: an element equal to X. On text: X as a substring.
        Operator(
            "contains",
            "contains",
            "not contains",
            Shape.VALUE,
            TEXT,
            True,
            "{field} contains {value}",
            lambda q, f, c: q.has_element(f, _first(c)) if f.is_list else q.substring(f, _first(c)),
        ),
        Operator(
            "contains_any",
            "contains any",
            "not contains any",
            Shape.LIST,
            NOTHING,
            True,
            "{field} contains any of {value}",
            lambda q, f, c: q.any_element(f, c.values),
        ),
        Operator(
            "contains_all",
            "contains all",
            "not contains all",
            Shape.LIST,
            NOTHING,
            True,
            "{field} contains all of {value}",
            lambda q, f, c: q.all_elements(f, c.values),
        ),
        Operator(
            "starts_with",
            "starts with",
            None,
            Shape.VALUE,
            TEXT,
            False,
            "{field} starts with {value}",
            lambda q, f, c: q.prefix(f, _first(c)),
        ),
        Operator(
            "ends_with",
            "ends with",
            None,
            Shape.VALUE,
            TEXT,
            False,
            "{field} ends with {value}",
            lambda q, f, c: q.suffix(f, _first(c)),
        ),
        Operator(
            "set",
            "is set",
            "is not set",
            Shape.NONE,
            frozenset(FieldType),
            True,
            "{field} has a value",
            lambda q, f, c: q.is_set(f),
        ),
    )
}

#: Comparison symbols of the grammar's OP token -> (key, negated).
SYMBOLS: dict[str, tuple[str, bool]] = {}
for _op in OPERATORS.values():
    if _op.symbolic:
        SYMBOLS[_op.spelling] = (_op.key, False)
        if _op.negation:
            SYMBOLS[_op.negation] = (_op.key, True)

#: Words the language reserves: a bare value that is one of them must be quoted.
KEYWORDS = frozenset(
    {"and", "or", "not", "is"}
    | {
        word
        for op in OPERATORS.values()
        for text in (op.spelling, op.negation or "")
        for word in text.split()
        if word.isalpha()
    }
)


def operator(key: str) -> Operator:
    return OPERATORS[key]


def applicable(f: Field) -> list[Operator]:
    """The operators that apply to a field, in table order."""
    return [op for op in OPERATORS.values() if op.applies_to(f)]
