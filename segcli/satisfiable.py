"""Whether conditions on one field can hold together, worked out from what they mean (for
``seg lint``): the one question every lint finding about filters comes down to.

A customer's value of a field is either missing or one value; a positive condition never matches a
missing value and its negation always does (SPEC §3). Beyond that, each kind of field has its own
reasoning: unions of intervals over a dense order for numbers and dates (dates fixed and relative
to now apart, since their order changes as time passes), finite or co-finite sets for codes, enums
and booleans, a witness construction for text (equalities, substrings, prefixes, suffixes), sets of
elements for lists. An operator a kind does not reason about makes the answer None ("cannot
tell"), never a guess: lint reports nothing it has not shown.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date, datetime, time, timedelta, tzinfo
from itertools import product
from typing import NamedTuple

from .fields import Field, FieldType
from .model import Condition
from .operators import OPERATORS, Shape
from .timeutil import STORED_INSTANT, format_instant, localize
from .values import fold


def condition_key(c: Condition) -> tuple:
    """What makes two conditions the same: text compares folded (and every other value is stored
    normalized, so folding it changes nothing), and a list's values in any order."""
    values: object = tuple(fold(v) if isinstance(v, str) else v for v in c.values)
    if OPERATORS.get(c.op) is not None and OPERATORS[c.op].shape is Shape.LIST:
        values = frozenset(values)
    return (c.field, c.op, c.negated, c.seconds, values, tuple(c[5:]))


class Literal(NamedTuple):
    """A condition as its positive form (``atom``) and whether it must hold or must not."""

    atom: Condition
    holds: bool


def literal(c: Condition, *, negate: bool = False) -> Literal:
    return Literal(c._replace(negated=False), c.negated == negate)


def satisfiable(f: Field, literals: Sequence[Literal], zone: tzinfo | None = None) -> bool | None:
    """Whether some customer's value of ``f`` (or its lack of one) satisfies every literal: True,
    False, or None when this module cannot tell (it then never reports a finding). ``zone``: the
    zone whose days date-only literals stand for (None: UTC)."""
    must = [lit.atom for lit in literals if lit.holds]
    must_not = [lit.atom for lit in literals if not lit.holds]
    keys = {condition_key(a) for a in must}
    if any(condition_key(a) in keys for a in must_not):
        return False  # a condition and its negation
    # A positive condition never matches a missing value; every negated one does (SPEC §3).
    if not must and not f.required:
        return True
    if any(a.op == "set" for a in must_not):
        return False
    domain = _DOMAINS.get("list" if f.is_list else f.type)
    if domain is None or any(a.op not in domain.operators for a in must + must_not):
        return None  # an operator this module does not reason about (yet)
    return domain.check(f, must, must_not, zone)


# Numbers and dates: unions of intervals over a dense order (so a finding never depends on the
# instants being whole seconds). An interval is (low, low included, high, high included); None
# is unbounded.

Interval = tuple[object, bool, object, bool]
EVERYTHING: list[Interval] = [(None, False, None, False)]


def _empty(iv: Interval) -> bool:
    lo, lo_in, hi, hi_in = iv
    if lo is None or hi is None:
        return False
    return lo > hi or (lo == hi and not (lo_in and hi_in))


def _intersect(a: list[Interval], b: list[Interval]) -> list[Interval]:
    out = []
    for alo, alo_in, ahi, ahi_in in a:
        for blo, blo_in, bhi, bhi_in in b:
            if alo is None or (blo is not None and (blo > alo or (blo == alo and not blo_in))):
                lo, lo_in = blo, blo_in
            else:
                lo, lo_in = alo, alo_in
            if ahi is None or (bhi is not None and (bhi < ahi or (bhi == ahi and not bhi_in))):
                hi, hi_in = bhi, bhi_in
            else:
                hi, hi_in = ahi, ahi_in
            if not _empty((lo, lo_in, hi, hi_in)):
                out.append((lo, lo_in, hi, hi_in))
    return out


def _complement(a: list[Interval]) -> list[Interval]:
    out = EVERYTHING
    for lo, lo_in, hi, hi_in in a:
        pieces = []
        if lo is not None:
            pieces.append((None, False, lo, not lo_in))
        if hi is not None:
            pieces.append((hi, not hi_in, None, False))
        out = _intersect(out, pieces)
    return out


def _ordered(f: Field, must: list[Condition], must_not: list[Condition], zone: tzinfo | None = None) -> bool | None:
    """Numbers and dates. Dates compared with a fixed instant and dates relative to now are worked
    out apart (a contradiction between the two kinds may hold today and not next month): the
    conditions can never hold together if either part cannot."""
    parts: dict[str, tuple[list, list]] = {"fixed": ([], []), "relative": ([], [])}
    unknown = False
    for atoms, side in ((must, 0), (must_not, 1)):
        for a in atoms:
            shape = _interval(f, a, zone)
            if shape is None:
                unknown = True
                continue
            anchor, intervals = shape
            for name in (anchor,) if anchor else parts:
                parts[name][side].append(intervals)
    for positive, negative in parts.values():
        region = EVERYTHING
        for intervals in positive:
            region = _intersect(region, intervals)
        for intervals in negative:
            region = _intersect(region, _complement(intervals))
        if not region:
            return False
    return None if unknown else True


def _interval(f: Field, a: Condition, zone: tzinfo | None) -> tuple[str | None, list[Interval]] | None:
    """The values ``a`` matches, as (anchor, intervals): anchor "fixed" or "relative" for dates
    (None: the same whatever the anchor); None if not understood."""
    if a.op == "set":
        return None, EVERYTHING
    if a.op in ("within", "older"):
        if a.seconds is None:
            return None
        back = -a.seconds
        return "relative", [(back, True, 0, True)] if a.op == "within" else [(None, False, back, False)]
    if f.type is FieldType.DATE:
        spans = [_instant_span(v, zone) for v in a.values]
        if None in spans or not spans:
            return None
        return "fixed", _range(a.op, spans)
    if not all(isinstance(v, int | float) and not isinstance(v, bool) for v in a.values):
        return None
    return None, _range(a.op, [(v, v) for v in a.values])


def _range(op: str, spans: list[tuple]) -> list[Interval]:
    """Intervals of an operator over values given as (start, end) spans: a whole day is the span
    [start, end) of its instants; a number or an instant is the point (v, v)."""
    first = spans[0]
    start, end = first
    day = start != end  # a whole day: [start, end)
    if op in ("eq", "in"):
        return [(s, True, e, s == e) for s, e in spans]
    if op in ("gt", "after"):
        return [(end, day, None, False)]
    if op == "ge":
        return [(start, True, None, False)]
    if op in ("lt", "before"):
        return [(None, False, start, False)]
    if op == "le":
        return [(None, False, end, not day)]
    if op == "between":
        last_start, last_end = spans[1]
        return [(start, True, last_end, last_start == last_end)]
    return EVERYTHING if op == "set" else []


def _instant_span(value: object, zone: tzinfo | None) -> tuple[str, str] | None:
    """A date literal as the span of instants it stands for (SPEC §3, §9): a whole day [D, D+1) in
    ``zone`` (None: UTC), or one instant; None for anything else (a day relative to today)."""
    if not isinstance(value, str):
        return None
    if STORED_INSTANT.match(value):
        return value, value
    try:
        day = date.fromisoformat(value)
    except ValueError:
        return None
    if len(value) != 10:
        return None
    try:
        start = format_instant(localize(datetime.combine(day, time(0)), zone))
        if day == date.max:
            return start, "9999-12-31T24:00:00Z"
        return start, format_instant(localize(datetime.combine(day + timedelta(days=1), time(0)), zone))
    except (OverflowError, ValueError):  # a day at the edge of the calendar, in a far zone
        return None


# Codes, enums and booleans: sets of values, finite ({gold}) or co-finite (all but {gold}).


class _Set(NamedTuple):
    values: frozenset
    finite: bool  # else: every value but these

    def __and__(self, other: _Set) -> _Set:
        if self.finite and other.finite:
            return _Set(self.values & other.values, True)
        if self.finite:
            return _Set(self.values - other.values, True)
        if other.finite:
            return _Set(other.values - self.values, True)
        return _Set(self.values | other.values, False)

    def __invert__(self) -> _Set:
        return _Set(self.values, not self.finite)

    @property
    def empty(self) -> bool:
        return self.finite and not self.values


def _equality(f: Field, must: list[Condition], must_not: list[Condition], zone: tzinfo | None = None) -> bool:
    if f.type is FieldType.BOOLEAN:
        region = _Set(frozenset({True, False}), True)
    elif f.type is FieldType.ENUM and f.enum_values:
        region = _Set(frozenset(f.enum_values), True)
    else:  # language, country, platform: too many values to list, and none is left out by this
        region = _Set(frozenset(), False)
    for atoms, positive in ((must, True), (must_not, False)):
        for a in atoms:
            if a.op == "set":
                continue
            values = _Set(frozenset(_bool(v) if f.type is FieldType.BOOLEAN else v for v in a.values), True)
            region = region & (values if positive else ~values)
    return not region.empty


def _bool(value: object) -> object:
    return bool(value) if isinstance(value, bool | int) else value


# Text: compared by its folded form. With an equality, the candidates are listed and each is
# tried; otherwise the value must start with the longest prefix, end with the longest suffix and
# contain each substring, and a string built of those pieces, joined by a character no excluded
# text holds, is a witness unless an excluded substring, prefix or suffix lies within a piece.

_JOIN = "\ue000"  # a private-use character: folded to itself, in no value a filter names


def _text(f: Field, must: list[Condition], must_not: list[Condition], zone: tzinfo | None = None) -> bool | None:
    candidates: set[str] | None = None
    for a in must:
        if a.op in ("eq", "in"):
            values = {fold(str(v)) for v in a.values}
            candidates = values if candidates is None else candidates & values
    if candidates is not None:
        return any(
            all(_text_holds(a, v) for a in must) and not any(_text_holds(a, v) for a in must_not) for v in candidates
        )
    prefixes = [fold(str(a.values[0])) for a in must if a.op == "starts_with"]
    suffixes = [fold(str(a.values[0])) for a in must if a.op == "ends_with"]
    inside = [fold(str(a.values[0])) for a in must if a.op == "contains"]
    prefix = max(prefixes, key=len, default="")
    suffix = max(suffixes, key=len, default="")
    if not all(prefix.startswith(p) for p in prefixes) or not all(suffix.endswith(s) for s in suffixes):
        return False
    pieces = [prefix, suffix, *inside]
    for a in must_not:
        if a.op in ("eq", "in"):
            continue  # the witness holds the joining character, so it equals no excluded value
        x = fold(str(a.values[0]))
        if _JOIN in x:
            return None
        if a.op == "contains" and any(x in piece for piece in pieces):
            return False
        if a.op == "starts_with" and prefix.startswith(x):
            return False
        if a.op == "ends_with" and suffix.endswith(x):
            return False
    return True


def _text_holds(a: Condition, value: str) -> bool:
    if a.op == "set":
        return True
    if a.op in ("eq", "in"):
        return value in {fold(str(v)) for v in a.values}
    x = fold(str(a.values[0]))
    if a.op == "contains":
        return x in value
    if a.op == "starts_with":
        return value.startswith(x)
    return value.endswith(x)


# Lists (tags, arrays): sets of folded elements.

MAX_CHOICES = 4096


def _list(f: Field, must: list[Condition], must_not: list[Condition], zone: tzinfo | None = None) -> bool | None:
    required: set[str] = set()
    forbidden: set[str] = set()
    some_of: list[set[str]] = []  # at least one of each
    not_all: list[set[str]] = []  # not every one of each
    for a in must:
        items = {fold(str(v)) for v in a.values}
        if a.op in ("contains", "contains_all"):
            required |= items
        elif a.op == "contains_any":
            some_of.append(items)
    for a in must_not:
        items = {fold(str(v)) for v in a.values}
        if a.op in ("contains", "contains_any"):
            forbidden |= items
        elif a.op == "contains_all":
            not_all.append(items)
    if required & forbidden:
        return False
    choices = []
    for items in some_of:
        if items & required:
            continue
        allowed = sorted(items - forbidden)
        if not allowed:
            return False
        choices.append(allowed)
    count = 1
    for allowed in choices:
        count *= len(allowed)
    if count > MAX_CHOICES:
        return None
    return any(not any(items <= required.union(picked) for items in not_all) for picked in product(*choices))


class _Domain(NamedTuple):
    operators: frozenset[str]  # the operators it reasons about, and only these
    check: Callable[[Field, list[Condition], list[Condition], tzinfo | None], bool | None]


_NUMBERS = _Domain(frozenset({"set", "eq", "in", "gt", "ge", "lt", "le", "between"}), _ordered)
_DATES = _Domain(
    frozenset({"set", "eq", "gt", "ge", "lt", "le", "between", "before", "after", "within", "older"}), _ordered
)
_CODES = _Domain(frozenset({"set", "eq", "in"}), _equality)
_DOMAINS: dict[object, _Domain] = {
    FieldType.NUMBER: _NUMBERS,
    FieldType.DATE: _DATES,
    FieldType.TEXT: _Domain(frozenset({"set", "eq", "in", "contains", "starts_with", "ends_with"}), _text),
    FieldType.ENUM: _CODES,
    FieldType.LANGUAGE: _CODES,
    FieldType.COUNTRY: _CODES,
    FieldType.PLATFORM: _CODES,
    FieldType.BOOLEAN: _CODES,
    "list": _Domain(frozenset({"set", "contains", "contains_any", "contains_all"}), _list),
}
