"""Filter text -> model. The grammar is ``grammar.lark``; this module turns its parse tree into
Conditions, resolving fields against a FieldRegistry and normalizing values, and raises a
FilterError that points at the offending part of the text."""

from __future__ import annotations

import re
from datetime import date, tzinfo
from functools import cache
from pathlib import Path

from lark import Lark, Token, Tree
from lark.exceptions import UnexpectedCharacters, UnexpectedEOF, UnexpectedInput, UnexpectedToken

from .errors import FilterError, InvalidValue, did_you_mean
from .fields import Field, FieldRegistry, FieldType
from .model import Condition, Filter, Group, literal
from .operators import OPERATORS, SYMBOLS, Shape, applicable
from .timeutil import PERIOD_UNITS, PERIOD_WORDS, Period, RelativeDay, format_instant, parse_date
from .values import PLAIN, ValueContext, normalize

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


@cache
def _parser() -> Lark:
    grammar = (Path(__file__).parent / "grammar.lark").read_text(encoding="utf-8")
    return Lark(grammar, parser="lalr", propagate_positions=True, maybe_placeholders=False)


#: How the grammar's terminals are named in messages; a keyword is named by its own word.
_FRIENDLY = {
    "$END": "the end of the filter",
    "WORD": "a value",
    "STRING": "a value",
    "OP": "an operator",
    "LPAR": '"("',
    "RPAR": '")"',
    "COMMA": '","',
}


def _friendly(terminal: str) -> str:
    return _FRIENDLY.get(terminal) or f'"{terminal.lower()}"'


def _expected(names: set[str]) -> str:
    if {"NOT", "LPAR", "WORD"} <= names:  # where a condition begins
        return 'a condition (a field, "not" or "(")'
    if {"LAST", "NEXT", "WORD"} <= names:  # after during
        return "a period (this, last or next, then day, week, month, quarter or year)"
    words = sorted({_friendly(n) for n in names})
    if "an operator" in words and len(words) > 4:
        return "an operator (=, !=, >, in, contains, is set, ...)"
    return ", ".join(words[:-1]) + " or " + words[-1] if len(words) > 1 else "".join(words)


#: The most groups (joined with ``or``) a filter may have (SPEC §9).
MAX_GROUPS = 100


def parse_filter(
    text: str, registry: FieldRegistry, *, groups_before: int = 0, context: ValueContext = PLAIN
) -> Filter:
    """Parse filter text into a Filter, checking every field, operator and value.

    Parentheses and ``not`` are expanded into the OR of AND groups that a Filter is (``not`` moved
    inward onto single conditions, each then the exact complement of itself). ``groups_before``:
    how many groups the filter this text is added to already has (``--where`` given several times,
    ``--or-where``, a YAML segment's ``groups``): at most ``MAX_GROUPS`` in all, after expansion.
    ``context``: how values are read: ``zone``, where a datetime literal written without an offset
    is a wall-clock time (None: UTC), and ``default_region``, of phone literals without a country code.
    Raises FilterError naming the problem and its position in ``text``.
    """
    if not text.strip():
        raise FilterError("the filter is empty", text, 0, 1)
    control = _CONTROL.search(text)
    if control:
        shown = text.replace("\x00", "\\0")
        raise FilterError(
            f"a control character (U+{ord(control.group()):04X}) in the filter",
            shown,
            control.start(),
            control.start() + 1,
        )
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:  # bytes that were not UTF-8 on the command line
        shown = text.encode("utf-8", "replace").decode()
        raise FilterError("the filter is not valid UTF-8", shown, exc.start, exc.end) from None
    try:
        tree = _parser().parse(text)
    except UnexpectedInput as exc:
        raise _syntax_error(text, exc) from None
    expansion = _Expansion(text, MAX_GROUPS - groups_before, groups_before)
    groups = expansion.groups(tree.children[0])
    if len(groups) > expansion.limit:  # a single group, with 100 there already
        expansion._too_many(0, len(text))
    conditions: dict[int, Condition] = {}

    def condition(node: Tree, negated: bool) -> Condition:
        if id(node) not in conditions:
            conditions[id(node)] = _condition(node, text, registry, context)
        cond = conditions[id(node)]
        return cond._replace(negated=not cond.negated) if negated else cond

    built = [tuple(condition(node, negated) for node, negated in g) for g in groups]
    if expansion.expanded:  # what expanding repeats: a condition within a group, a whole group
        built = list(dict.fromkeys(tuple(dict.fromkeys(g)) for g in built))
    return Filter(tuple(Group(g) for g in built))


#: Parentheses and ``not`` nested deeper than this are refused (no real filter needs it, and the
#: expansion below recurses, three calls a level at most).
MAX_NESTING = 50

_Literal = tuple[Tree, bool]  # a condition's parse tree, and whether a ``not`` applies to it


class _Expansion:
    """A parse tree -> the groups of a Filter: lists of (condition tree, negated), each an AND,
    together an OR. ``not`` goes inward by De Morgan's laws; ``A and (B or C)`` becomes ``A and B
    or A and C``. Sizes only grow on the way up, so a part that already has more than ``limit``
    groups is refused at once, before the product of its parts is built."""

    def __init__(self, text: str, limit: int, before: int) -> None:
        self.text = text
        self.limit = limit
        self.before = before
        self.expanded = False

    def groups(self, node: Tree | Token, negated: bool = False, depth: int = 0) -> list[list[_Literal]]:
        if depth > MAX_NESTING:
            raise FilterError(
                f"parentheses and not are nested too deeply (at most {MAX_NESTING})",
                self.text,
                node.meta.start_pos,
                node.meta.end_pos,
            )
        kind = node.data
        if kind == "condition":
            return [[(node, negated)]]
        parts = [c for c in node.children if isinstance(c, Tree)]
        if kind == "negation":
            if parts[0].data != "condition":
                self.expanded = True
            return self.groups(parts[0], not negated, depth + 1)
        if kind == "parens":
            self.expanded = True
            return self.groups(parts[0], negated, depth + 1)
        # An OR, or an AND negated, joins its parts' groups; an AND, or an OR negated, multiplies them.
        expanded = [self.groups(p, negated, depth) for p in parts]
        if (kind == "disjunction") != negated:
            out: list[list[_Literal]] = []
            for part, groups in zip(parts, expanded, strict=True):
                if len(out) + len(groups) > self.limit:
                    self._too_many(
                        part.meta.start_pos if kind == "disjunction" and not self.expanded else node.meta.start_pos,
                        node.meta.end_pos,
                    )
                out += groups
            return out
        size = 1
        for groups in expanded:
            size *= len(groups)
            if size > self.limit:
                self.expanded = True
                self._too_many(node.meta.start_pos, node.meta.end_pos)
        product: list[list[_Literal]] = [[]]
        for groups in expanded:
            product = [a + b for a in product for b in groups]
        return product

    def _too_many(self, start: int, end: int) -> None:
        once = " once its parentheses are expanded" if self.expanded else ""
        raise FilterError(
            f"more than {MAX_GROUPS} groups (conditions joined with or){once}: a filter has at most {MAX_GROUPS}"
            + (f", and {self.before} are there already" if self.before else ""),
            self.text,
            start,
            end if self.expanded else len(self.text),
        )


def _syntax_error(text: str, exc: UnexpectedInput) -> FilterError:
    if isinstance(exc, UnexpectedEOF) or (isinstance(exc, UnexpectedToken) and exc.token.type == "$END"):
        expected = _expected(set(exc.expected))
        return FilterError(f"the filter ends too soon: expected {expected}", text, len(text), len(text) + 1)
    if isinstance(exc, UnexpectedToken):
        tok = exc.token
        hint = ""
        if tok.type in ("ANY", "ALL", "SET", "AND", "OR", "IN", "NOT"):
            hint = f' (to use "{tok}" as a value, quote it)'
        elif "OR" in exc.expected and tok.type in ("WORD", "STRING"):
            hint = " (quote a value that has spaces)"
        return FilterError(
            f'unexpected "{tok}": expected {_expected(set(exc.expected))}{hint}',
            text,
            tok.start_pos,
            tok.end_pos,
        )
    assert isinstance(exc, UnexpectedCharacters)
    pos = exc.pos_in_stream
    char = text[pos]
    if char in "\"'":
        return FilterError(f"unclosed quote {char}", text, pos, len(text))
    expected = _expected(set(exc.allowed)) if exc.allowed else "something else"
    return FilterError(f'unexpected "{char}": expected {expected}', text, pos, pos + 1)


def _unquote(tok: Token) -> str:
    if tok.type == "STRING":
        return re.sub(r"\\(.)", r"\1", tok[1:-1])
    return str(tok)


def _condition(tree: Tree, text: str, registry: FieldRegistry, context: ValueContext = PLAIN) -> Condition:
    field_tree, predicate = tree.children
    field_tok: Token = field_tree.children[0]
    name = _unquote(field_tok)
    field = registry.get(name)
    if field is None:
        hint = did_you_mean(name, registry.names())
        raise FilterError(f'unknown field "{name}"{hint}', text, field_tok.start_pos, field_tok.end_pos)

    start, end = tree.meta.start_pos, tree.meta.end_pos
    rule = str(predicate.data)
    if rule == "compare":
        op, negated = SYMBOLS[str(predicate.children[0])]
    elif rule == "anniversary":  # only = and !=
        symbol = next(t for t in predicate.children if isinstance(t, Token) and t.type == "OP")
        if symbol not in ("=", "!="):
            raise FilterError(
                f'"anniversary {symbol}" is not an operator: an anniversary takes =, !=, within next N days'
                " or during this|last|next day|week|month|quarter|year",
                text,
                symbol.start_pos,
                symbol.end_pos,
            )
        op, negated = "anniversary", symbol == "!="
    else:  # the grammar names each predicate by its operator's key, or not_KEY
        negated = rule.startswith("not_")
        op = rule.removeprefix("not_")
    operator = OPERATORS[op]
    if not operator.applies_to(field):
        spelled = " ".join(
            str(t)
            for t in predicate.children
            if isinstance(t, Token)
            and t.type != "WORD"
            and t.type != "STRING"
            and t.type not in ("LPAR", "RPAR", "COMMA")
        )
        allowed = [o.shown for o in applicable(field)]
        raise FilterError(
            f'"{spelled.lower()}" does not apply to {field.name}, a {_type_name(field)} field '
            f"(it takes: {', '.join(allowed)})",
            text,
            start,
            end,
        )

    if operator.shape is Shape.DURATION:
        dur = next(predicate.find_data("duration"))
        first, last = dur.children[0], dur.children[-1]
        words = " ".join(str(t) for t in dur.children)
        try:
            seconds, months = parse_span(words)
            if op == "anniversary_within":
                seconds = _whole_days(words, seconds, months)
        except InvalidValue as exc:
            raise FilterError(str(exc), text, first.start_pos, last.end_pos) from None
        return Condition(field.name, op, (), negated, seconds or None, months or None)
    if operator.shape is Shape.PERIOD:
        return Condition(field.name, op, (_period(next(predicate.find_data("period")), text),), negated)

    values = [c for c in predicate.find_data("value")]
    normalized = tuple(_value(v.children[0], field, op, text, context) for v in values)
    if operator.shape is Shape.LIST:
        normalized = tuple(dict.fromkeys(normalized))  # (a, a) is (a)
    if op == "between" and _after(normalized[0], normalized[1]):
        raise FilterError(
            f"between {literal(normalized[0])} and {literal(normalized[1])}: the first bound is after the second,"
            " so nothing could match",
            text,
            tree.meta.start_pos,
            tree.meta.end_pos,
        )
    return Condition(field.name, op, normalized, negated)


def _after(first: object, second: object) -> bool:
    """Whether a between's first bound is after its second, when that depends neither on the day
    it is nor on the zone: two numbers, two days, two instants, two relative days."""
    if isinstance(first, RelativeDay) and isinstance(second, RelativeDay):
        return first.days > second.days
    if isinstance(first, str) and isinstance(second, str):  # a day or an instant (a day's start moves with the zone)
        return len(first) == len(second) and first > second
    if isinstance(first, int | float) and isinstance(second, int | float):
        return first > second
    return False


def _type_name(field: Field) -> str:
    return "list" if field.is_list else str(field.type)


def _period(tree: Tree, text: str) -> Period:
    words = [str(t).lower() for t in tree.children]
    if len(words) == 2 and words[0] in PERIOD_WORDS and words[1] in PERIOD_UNITS:
        return Period(words[1], PERIOD_WORDS[words[0]])
    shown = " ".join(str(t) for t in tree.children)
    raise FilterError(
        f'unknown period "{shown}" (this, last or next, then {", ".join(PERIOD_UNITS[:-1])} or {PERIOD_UNITS[-1]}:'
        " like this month)",
        text,
        tree.children[0].start_pos,
        tree.children[-1].end_pos,
    )


_RELATIVE_RE = re.compile(r"^(?:in\s+([+-]?\d+)\s*([^\W\d_]+)|([+-]?\d+)\s*([^\W\d_]+)\s+ago)$", re.IGNORECASE)
_NAMED_DAYS = {"today": 0, "yesterday": -1, "tomorrow": 1}
_DAY_UNITS = {"d": 1, "day": 1, "days": 1, "w": 7, "week": 7, "weeks": 7}


def relative_day(text: str) -> RelativeDay | None:
    """``today``, ``yesterday``, ``tomorrow``, ``N days ago``, ``in N days`` (or weeks) -> a
    RelativeDay; None if ``text`` is not written as one; InvalidValue if it is, wrongly."""
    words = " ".join(text.split()).lower()
    if words in _NAMED_DAYS:
        return RelativeDay(_NAMED_DAYS[words])
    m = _RELATIVE_RE.match(words)
    if not m:
        return None
    number, unit = (m.group(1), m.group(2)) if m.group(1) is not None else (m.group(3), m.group(4))
    if number[0] in "+-":
        raise InvalidValue(f'"{text}": write the number of days without a sign (30 days ago, in 3 days)')
    if unit not in _DAY_UNITS:
        raise InvalidValue(
            f'"{text}": a relative day counts days or weeks (30 days ago, in 2 weeks); for a window of months,'
            " use within last or during"
        )
    if len(number) > MAX_DURATION_DIGITS:
        raise InvalidValue(f'"{text}" is too far (at most {MAX_DURATION_DIGITS} digits)')
    days = int(number) * _DAY_UNITS[unit]
    return RelativeDay(days if words.startswith("in") else -days)


def _value(tok: Token, field: Field, op: str, text: str, context: ValueContext = PLAIN) -> object:
    raw = _unquote(tok)
    if not raw.strip():
        raise FilterError("empty value", text, tok.start_pos, tok.end_pos)
    try:
        if field.type is FieldType.DATE:
            return _date_value(raw.strip(), op, context.zone)
        if tok.type in ("DAYS_AGO", "IN_DAYS"):
            raise InvalidValue(f'"{raw}" is a relative day, for dates; quote a text value that has spaces')
        if field.is_list or op in ("contains", "starts_with", "ends_with"):
            return raw.strip()
        return normalize(field, raw, context)
    except InvalidValue as exc:
        raise FilterError(f"{field.name}: {exc}", text, tok.start_pos, tok.end_pos) from None


def _date_value(raw: str, op: str, zone: tzinfo | None) -> object:
    """A date literal: a relative day, a whole day ``YYYY-MM-DD`` (a local day in the zone in force
    when the filter is evaluated), or an instant (one written without an offset is a wall-clock
    time in ``zone``, and is stored as the instant it is there)."""
    relative = relative_day(raw)
    if relative is not None:
        return relative
    instant, date_only = parse_date(raw)  # a day is checked here, and placed in a zone when evaluated
    if date_only:
        return date.fromisoformat(raw).isoformat()
    instant = parse_date(raw, zone)[0]
    if op == "anniversary":
        raise InvalidValue(f'"{raw}": an anniversary is of a day (like 2026-12-25 or today), not of an instant')
    return format_instant(instant)


#: A duration's number: ten digits are more days than there are between years 1 and 9999, and a
#: window that reaches past them is evaluated as reaching back to the first instant seg stores.
MAX_DURATION_DIGITS = 10
_DURATION_RE = re.compile(rf"^(\d{{1,{MAX_DURATION_DIGITS}}})\s*([^\W\d_]+)$")
_UNITS = {
    **dict.fromkeys(("min", "mins", "minute", "minutes"), ("seconds", 60)),
    **dict.fromkeys(("h", "hr", "hrs", "hour", "hours"), ("seconds", 3600)),
    **dict.fromkeys(("d", "day", "days"), ("seconds", 86400)),
    **dict.fromkeys(("w", "week", "weeks"), ("seconds", 604800)),
    **dict.fromkeys(("mo", "mos", "month", "months"), ("months", 1)),
    **dict.fromkeys(("y", "yr", "yrs", "year", "years"), ("months", 12)),
}


def parse_span(text: str) -> tuple[int, int]:
    """``30 days``, ``12h``, ``2w``, ``3 months``, ``1y`` -> (seconds, months), one of them 0.
    Minutes to weeks are fixed lengths; months and years are calendar months. InvalidValue says
    why it is not a duration (a bare ``m``, minutes or months, is refused as ambiguous)."""
    words = text.strip()
    m = _DURATION_RE.match(words)
    if not m:
        if re.match(rf"\d{{{MAX_DURATION_DIGITS + 1}}}", words):
            raise InvalidValue(f'"{words}" is too long a duration (at most {MAX_DURATION_DIGITS} digits)')
        raise InvalidValue(f'"{words}" is not a duration (like 30 days, 12 hours, 2w, 3 months, 1y)')
    number, unit = int(m.group(1)), m.group(2).lower()
    if unit == "m":
        raise InvalidValue(f'"{words}" is ambiguous: write {number}min for minutes or {number}mo for months')
    if unit not in _UNITS:
        raise InvalidValue(f'"{words}" is not a duration (like 30 days, 12 hours, 2w, 3 months, 1y)')
    kind, size = _UNITS[unit]
    if not number:
        raise InvalidValue(f'"{words}" is an empty window: nothing could match (at least a minute)')
    return (number * size, 0) if kind == "seconds" else (0, number * size)


def parse_duration(text: str) -> int | None:
    """``30 days``, ``1 week``, ``12h``, ``2w`` -> seconds; None if it is not a fixed-length duration."""
    try:
        seconds, _ = parse_span(text)
    except InvalidValue:
        return None
    return seconds or None


def _whole_days(words: str, seconds: int, months: int) -> int:
    """An anniversary window counts whole days."""
    if months or seconds % 86400:
        raise InvalidValue(f'"{words}": an anniversary window counts days or weeks (like 30 days, 2w)')
    return seconds
