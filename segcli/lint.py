"""``seg lint``: what is wrong or wasted in segment definitions (SPEC §11).

Findings about the filters themselves come from reasoning over conditions, never from data: a
group that can never match (an error), a condition implied by another in its group, a group
contained in another group, a segment whose filter equals another's. Conditions on different
fields are independent, so every question is asked of the conditions on one field at a time and
comes down to one: *can some customer's value satisfy these conditions together?*
(``satisfiable.py``). A condition ``a`` implies ``b`` when ``a and not b`` cannot hold; a group is
contained in another when, for each condition of the other, the first group's conditions on that
field imply it. Where that cannot be decided (an operator not reasoned about), nothing is said:
every finding holds at any moment and for any data.

The findings that look at data (``data_findings``) are warnings: a segment that matches nobody or
everybody right now, a condition on an attribute that no customer has.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import tzinfo
from typing import TYPE_CHECKING, NamedTuple

from .fields import Field, FieldRegistry
from .model import Condition, Filter
from .satisfiable import condition_key, literal, satisfiable

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
    return frozenset(frozenset(condition_key(c) for c in g.conditions) for g in flt.groups)


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
                if condition_key(a) == condition_key(b)
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
    context = catalog.value_context()  # the zone whose days date literals stand for, phones' region
    zone = context.zone
    findings: list[Finding] = []
    if text is not None:
        from .yamlio import check_declarations, read_document

        attributes, decls = read_document(text, source)
        fields = check_declarations(registry, attributes, decls, source, context)
        items = [(d.name, d.filter) for d in decls if d.filter is not None]
        findings += filter_findings(items, fields, zone)
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
        findings += filter_findings(items, fields, zone)
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
