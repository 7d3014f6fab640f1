"""Filter text -> model. The grammar is ``grammar.lark``; this module turns its parse tree into
Conditions, resolving fields against a FieldRegistry and normalizing values, and raises a
FilterError that points at the offending part of the text."""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

from lark import Lark, Token, Tree
from lark.exceptions import UnexpectedCharacters, UnexpectedEOF, UnexpectedInput, UnexpectedToken

from .errors import FilterError, InvalidValue, did_you_mean
from .fields import Field, FieldRegistry, FieldType
from .model import Condition, Filter, Group, literal
from .operators import OPERATORS, SYMBOLS, Shape, applicable
from .timeutil import format_instant, parse_date
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

    ``groups_before``: how many groups the filter this text is added to already has (``--where``
    given several times, ``--or-where``, a YAML segment's ``groups``): at most ``MAX_GROUPS`` in all.
    ``context``: how values are read (the database's ``default_region`` for phone literals).
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
    trees = [g for g in tree.children if isinstance(g, Tree)]
    if groups_before + len(trees) > MAX_GROUPS:
        first_over = trees[max(MAX_GROUPS - groups_before, 0)]
        raise FilterError(
            f"more than {MAX_GROUPS} groups (conditions joined with or): a filter has at most {MAX_GROUPS}"
            + (f", and {groups_before} are there already" if groups_before else ""),
            text,
            first_over.meta.start_pos,
            len(text),
        )
    return Filter(
        tuple(
            Group(tuple(_condition(c, text, registry, context) for c in g.children if isinstance(c, Tree)))
            for g in trees
        )
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

    if predicate.data == "compare":
        op, negated = SYMBOLS[str(predicate.children[0])]
    else:  # the grammar names each predicate by its operator's key, or not_KEY
        rule = str(predicate.data)
        negated = rule.startswith("not_")
        op = rule.removeprefix("not_")
    operator = OPERATORS[op]
    start, end = tree.meta.start_pos, tree.meta.end_pos
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

    values = [c for c in predicate.find_data("value")]
    if operator.shape is Shape.DURATION:
        dur = next(predicate.find_data("duration"))
        words = " ".join(str(t) for t in dur.children)
        seconds = parse_duration(words)
        if not seconds:  # None: not a duration; 0: an empty window
            first, last = dur.children[0], dur.children[-1]
            if re.match(rf"\d{{{MAX_DURATION_DIGITS + 1}}}", words):
                why = f'"{words}" is too long a duration (at most {MAX_DURATION_DIGITS} digits)'
            else:
                why = f'"{words}" is not a duration (like 30 days, 12 hours, 2w; at least a minute)'
            raise FilterError(why, text, first.start_pos, last.end_pos)
        return Condition(field.name, op, (), negated, seconds)

    normalized = tuple(_value(v.children[0], field, op, text, context) for v in values)
    if operator.shape is Shape.LIST:
        normalized = tuple(dict.fromkeys(normalized))  # (a, a) is (a)
    if op == "between" and _bound(normalized[0]) > _bound(normalized[1]):
        raise FilterError(
            f"between {literal(normalized[0])} and {literal(normalized[1])}: the first bound is after the second,"
            " so nothing could match",
            text,
            tree.meta.start_pos,
            tree.meta.end_pos,
        )
    return Condition(field.name, op, normalized, negated)


def _bound(value: object) -> object:
    """A between bound in comparable form: a whole day counts from its start."""
    if isinstance(value, str) and len(value) == 10:
        return value + "T00:00:00Z"
    return value


def _type_name(field: Field) -> str:
    return "list" if field.is_list else str(field.type)


def _value(tok: Token, field: Field, op: str, text: str, context: ValueContext = PLAIN) -> object:
    raw = _unquote(tok)
    if not raw.strip():
        raise FilterError("empty value", text, tok.start_pos, tok.end_pos)
    try:
        if field.type is FieldType.DATE:
            instant, date_only = parse_date(raw.strip())
            if date_only:
                return instant.date().isoformat()
            return format_instant(instant)
        if field.is_list or op in ("contains", "starts_with", "ends_with"):
            return raw.strip()
        return normalize(field, raw, context)
    except InvalidValue as exc:
        raise FilterError(f"{field.name}: {exc}", text, tok.start_pos, tok.end_pos) from None


#: A duration's number: ten digits are more days than there are between years 1 and 9999, and a
#: window that reaches past them is evaluated as reaching back to the first instant seg stores.
MAX_DURATION_DIGITS = 10
_DURATION_RE = re.compile(
    rf"^(\d{{1,{MAX_DURATION_DIGITS}}})\s*(m|min|mins|minutes?|h|hrs?|hours?|d|days?|w|weeks?)$", re.IGNORECASE
)
_UNIT_SECONDS = {"m": 60, "h": 3600, "d": 86400, "w": 604800}


def parse_duration(text: str) -> int | None:
    """``30 days``, ``1 week``, ``12h``, ``2w`` -> seconds; None if it is not a duration."""
    m = _DURATION_RE.match(text.strip())
    if not m:
        return None
    unit = m.group(2).lower()
    return int(m.group(1)) * _UNIT_SECONDS[unit[0]]
