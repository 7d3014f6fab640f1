"""``seg lint``: what is wrong or wasted in segment definitions (SPEC §11).

Findings about the filters themselves come from reasoning over conditions, never from data: a
group that can never match (an error), a condition implied by another in its group, a group
contained in another group, a segment whose filter equals another's. Conditions on different
fields are independent, so every question is asked of the conditions on one field at a time and
comes down to one: *can some customer's value satisfy these conditions together?* (``satisfiable``).
A condition ``a`` implies ``b`` when ``a and not b`` cannot hold; a group is contained in another
when, for each condition of the other, the first group's conditions on that field imply it.

The answer is worked out per kind of field: intervals for numbers and dates (absolute dates and
dates relative to now apart, since they compare differently as time passes), finite or co-finite
sets for codes and enums, strings for text (equalities, substrings, prefixes and suffixes), sets
of elements for lists. Where this module cannot decide (an operator it does not know), it says
nothing: every finding it makes holds at any moment and for any data.

The findings that look at data (``data_findings``) are warnings: a segment that matches nobody or
everybody right now, a condition on an attribute that no customer has.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import date, datetime, time, timedelta, tzinfo
from itertools import product
from typing import TYPE_CHECKING, NamedTuple

from .fields import Field, FieldRegistry, FieldType
from .model import Condition, Filter
from .operators import OPERATORS, Shape
from .timeutil import STORED_INSTANT, format_instant, localize
from .values import fold

if TYPE_CHECKING:
    from .catalog import Catalog

ERROR, WARNING = "error", "warning"

#: The kinds of finding, with their severity (SPEC §11, §14).
KINDS = {
    "never-matches": ERROR,
    "cannot-evaluate": ERROR,
    "implied-condition": WARNING,
    "contained-group": WARNING,
    "same-filter": WARNING,
    "matches-nobody": WARNING,
    "matches-everybody": WARNING,
    "no-values": WARNING,
}


class Finding(NamedTuple):
    """One finding: where (segment, group from 1, condition text), how bad, what and why."""

    segment: str
    group: int | None
    condition: str | None
    kind: str
    reason: str

    @property
    def severity(self) -> str:
        return KINDS[self.kind]

    def to_json(self) -> dict:
        return {
            "segment": self.segment,
            "group": self.group,
            "condition": self.condition,
            "severity": self.severity,
            "kind": self.kind,
            "reason": self.reason,
        }


# --- the filter findings ------------------------------------------------------------------------


def filter_findings(
    segments: Sequence[tuple[str, Filter]], registry: FieldRegistry, zone: tzinfo | None = None
) -> list[Finding]:
    """Findings about each filter on its own, and about filters equal to an earlier one's. ``zone``:
    the zone whose days date-only literals stand for (None: UTC)."""
    out: list[Finding] = []
    first_with: dict[frozenset, str] = {}
    for name, flt in segments:
        out += _filter_findings(name, flt, registry, zone)
        key = canonical(flt)
        if key in first_with:
            out.append(Finding(name, None, None, "same-filter", f'has the same filter as "{first_with[key]}"'))
        else:
            first_with[key] = name
    return out


def same_filter_findings(names: Sequence[str], others: Sequence[tuple[str, Filter]]) -> list[Finding]:
    """For ``seg lint NAME...``: each named segment whose filter equals another segment's."""
    by_name = dict(others)
    out = []
    for name in names:
        key = canonical(by_name[name])
        twins = [other for other, flt in others if other != name and canonical(flt) == key]
        if twins:
            out.append(Finding(name, None, None, "same-filter", f'has the same filter as "{twins[0]}"'))
    return out


def canonical(flt: Filter) -> frozenset:
    """A filter's identity for "equal filters": the same groups of the same conditions, in any
    order (and the values of a list in any order)."""
    return frozenset(frozenset(_condition_key(c) for c in g.conditions) for g in flt.groups)


def _condition_key(c: Condition) -> tuple:
    """What makes two conditions the same: text compares folded (and every other value is stored
    normalized, so folding it changes nothing), and a list's values in any order."""
    values: object = tuple(fold(v) if isinstance(v, str) else v for v in c.values)
    if OPERATORS.get(c.op) is not None and OPERATORS[c.op].shape is Shape.LIST:
        values = frozenset(values)
    return (c.field, c.op, c.negated, c.seconds, values, tuple(c[5:]))


def _filter_findings(name: str, flt: Filter, registry: FieldRegistry, zone: tzinfo | None) -> list[Finding]:
    out: list[Finding] = []
    possible: list[int] = []  # the groups that can match
    for index, group in enumerate(flt.groups, 1):
        conditions = list(group.conditions)
        contradiction = _contradiction(conditions, registry, zone)
        if contradiction is not None:
            condition, reason = contradiction
            out.append(Finding(name, index, condition, "never-matches", reason))
            continue
        possible.append(index)
        out += _implied(name, index, conditions, registry, zone)
    for j in possible:
        for i in possible:
            if i == j or not _contained(flt.groups[j - 1].conditions, flt.groups[i - 1].conditions, registry, zone):
                continue
            same = _contained(flt.groups[i - 1].conditions, flt.groups[j - 1].conditions, registry, zone)
            if same and i > j:
                continue  # two equal groups: the later one is reported
            reason = (
                f"is the same as group {i}"
                if same
                else f"adds nobody: every customer it matches is also matched by group {i}"
            )
            out.append(Finding(name, j, None, "contained-group", reason))
            break
    return out


def _contradiction(conditions: list[Condition], registry: FieldRegistry, zone: tzinfo | None) -> tuple[str, str] | None:
    """(condition, reason) if the conditions can never hold together, naming the fewest that cannot."""
    for field_name, on_field in _by_field(conditions).items():
        f = registry.get(field_name)
        if f is None or satisfiable(f, [literal(c) for c in on_field], zone) is not False:
            continue
        for c in on_field:
            if satisfiable(f, [literal(c)], zone) is False:
                return c.to_text(), f"can never match: {_never_alone(f, c)}"
        for later in range(1, len(on_field)):
            for earlier in range(later):
                a, b = on_field[earlier], on_field[later]
                if satisfiable(f, [literal(a), literal(b)], zone) is False:
                    return b.to_text(), f"can never match: {a.to_text()} and {b.to_text()} cannot both hold"
        texts = " and ".join(c.to_text() for c in on_field)
        return None, f"can never match: {texts} cannot all hold"
    return None


def _never_alone(f: Field, c: Condition) -> str:
    if f.required and c.op == "set" and c.negated:
        return f"{f.name} always has a value"
    return f"no value satisfies {c.to_text()}"


def _implied(
    name: str, index: int, conditions: list[Condition], registry: FieldRegistry, zone: tzinfo | None
) -> list[Finding]:
    """Conditions of a group that another condition of it (on the same field) implies, and
    conditions that always hold."""
    out = []
    for position, b in enumerate(conditions):
        f = registry.get(b.field)
        if f is None:
            continue
        if satisfiable(f, [literal(b, negate=True)], zone) is False:
            out.append(Finding(name, index, b.to_text(), "implied-condition", "always holds: it can be left out"))
            continue
        for other, a in enumerate(conditions):
            if other == position or a.field != b.field:
                continue
            if not _implies(f, a, b, zone):
                continue
            if other > position and _implies(f, b, a, zone):
                continue  # the same condition twice (or two spellings of it): the later is reported
            reason = (
                "is repeated in its group"
                if _condition_key(a) == _condition_key(b)
                else f"is implied by {a.to_text()}: it can be left out"
            )
            out.append(Finding(name, index, b.to_text(), "implied-condition", reason))
            break
    return out


def _implies(f: Field, a: Condition, b: Condition, zone: tzinfo | None) -> bool:
    return satisfiable(f, [literal(a), literal(b, negate=True)], zone) is False


def _contained(
    inner: Iterable[Condition], outer: Iterable[Condition], registry: FieldRegistry, zone: tzinfo | None
) -> bool:
    """Whether every customer that ``inner`` (a group) matches is matched by ``outer``."""
    by_field = _by_field(list(inner))
    for c in outer:
        f = registry.get(c.field)
        if f is None:
            return False
        literals = [literal(x) for x in by_field.get(c.field, [])] + [literal(c, negate=True)]
        if satisfiable(f, literals, zone) is not False:
            return False
    return True


def _by_field(conditions: list[Condition]) -> dict[str, list[Condition]]:
    out: dict[str, list[Condition]] = {}
    for c in conditions:
        out.setdefault(c.field, []).append(c)
    return out


# --- satisfiability of conditions on one field ---------------------------------------------------


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
    keys = {_condition_key(a) for a in must}
    if any(_condition_key(a) in keys for a in must_not):
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


def _points(values: Iterable[object]) -> list[Interval]:
    return [(v, True, v, True) for v in values]


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


# --- the findings that look at data --------------------------------------------------------------


def data_findings(
    segments: Sequence[tuple[str, Filter]],
    counts: Sequence[int | None],
    total: int,
    filled: dict[str, int],
    registry: FieldRegistry,
) -> list[Finding]:
    """Warnings from the data as it is now: a segment that matches nobody or everybody (``counts``
    in the order of ``segments``, of ``total`` customers; None: not counted), and the first
    condition of each segment on an attribute that no customer has a value in (``filled``: how
    many customers have a value in each attribute, by name)."""
    out = []
    for (name, flt), count in zip(segments, counts, strict=True):
        if count == 0:
            out.append(Finding(name, None, None, "matches-nobody", f"matches nobody right now (of {total} customers)"))
        elif count == total:
            out.append(Finding(name, None, None, "matches-everybody", f"matches all {total} customers right now"))
        seen: set[str] = set()
        for index, group in enumerate(flt.groups, 1):
            for c in group.conditions:
                f = registry.get(c.field)
                if f is None or f.builtin or f.name in seen or filled.get(f.name, 0):
                    continue
                seen.add(f.name)
                out.append(
                    Finding(name, index, c.to_text(), "no-values", f"no customer has a value in the attribute {f.name}")
                )
    return out


# --- linting saved segments or a file -------------------------------------------------------------


class LintReport(NamedTuple):
    """What ``seg lint`` found, in the order of the segments; ``data_checked``: whether the
    data-based checks ran (they need a database with customers)."""

    findings: list[Finding]
    segments: list[str]
    data_checked: bool

    @property
    def errors(self) -> int:
        return sum(f.severity == ERROR for f in self.findings)

    @property
    def warnings(self) -> int:
        return sum(f.severity == WARNING for f in self.findings)

    def to_json(self) -> dict:
        return {
            "findings": [f.to_json() for f in self.findings],
            "segments": self.segments,
            "errors": self.errors,
            "warnings": self.warnings,
            "data_checked": self.data_checked,
        }


def lint(
    catalog: Catalog,
    names: Sequence[str] = (),
    *,
    count_many: Callable[[list[Filter]], list[int]],
    text: str | None = None,
    source: str = "<yaml>",
) -> LintReport:
    """Lint saved segments (all, or ``names``), or with ``text`` the segments of a YAML document
    (``seg lint --file``), which is read and checked but not applied. ``count_many`` counts
    filters against the database, for the data-based findings."""
    from .errors import SegError

    exists = catalog._exists()
    registry = catalog.registry() if exists else FieldRegistry()
    findings: list[Finding] = []
    if text is not None:
        from .yamlio import check_declarations, read_document

        attributes, decls = read_document(text, source)
        fields = check_declarations(registry, attributes, decls, source)
        items = [(d.name, d.filter) for d in decls if d.filter is not None]
        findings += filter_findings(items, fields)
        # Only filters on fields the database has, as it has them, can be counted there.
        countable = [_same_fields(flt, fields, registry) for _, flt in items]
    else:
        chosen = [catalog.segments.get(n) for n in names] if names else catalog.segments.all()
        chosen = list({s.pk: s for s in chosen}.values())
        items = []
        for s in chosen:
            try:
                items.append((s.name, catalog.saved_filter(s)))
            except SegError as exc:
                findings.append(Finding(s.name, None, None, "cannot-evaluate", exc.message))
        fields = registry
        findings += filter_findings(items, fields)
        if names:  # each named segment is compared with every other, named or not
            everything = [(s.name, s.filter) for s in catalog.segments.all() if not s.unreadable]
            findings = [f for f in findings if f.kind != "same-filter"]
            findings += same_filter_findings([n for n, _ in items], everything)
        countable = [True] * len(items)
    store = catalog.store() if exists else None
    total = store.customer_count() if store is not None else 0
    if total:
        counted = [flt for (_, flt), ok in zip(items, countable, strict=True) if ok]
        numbers = iter(count_many(counted))
        counts = [next(numbers) if ok else None for ok in countable]
        findings += data_findings(items, counts, total, store.value_counts(), fields)
    order = {name: i for i, (name, _) in enumerate(items)}
    findings.sort(key=lambda f: (order.get(f.segment, -1), f.group or 0))
    return LintReport(findings, [name for name, _ in items], bool(total))


def _same_fields(flt: Filter, planned: FieldRegistry, stored: FieldRegistry) -> bool:
    for group in flt.groups:
        for c in group.conditions:
            if planned.get(c.field) != stored.get(c.field):
                return False
    return True
