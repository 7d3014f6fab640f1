"""A file's headers under a profile: which field or attribute each one feeds (SPEC §8, §14).

``layout(headers)`` decides, once per header row (a CSV's; each distinct key set of a JSON file),
where every header goes, in this order:

1. the profile's ``columns`` (and the command line's ``--map``), and ``skip`` / ``--skip``;
2. seg's own field names and aliases (§2), as written (any case);
3. an attribute already stored under that name (its slug), so that existing segments keep
   working: synonyms apply only to new headers;
4. the ``auto`` synonyms (``Customer ID``, ``Phone Number``, ``First Name`` + ``Last Name``,
   opt-in columns...) for the fields nothing above maps, headers compared without case, spaces,
   ``-`` or ``_``;
5. else a new attribute named as the header.

A field that several headers feed takes them together: ``name`` joins its parts, ``phone`` takes
the first non-empty value, and ``marketing_opt_out`` the most conservative (any opt-out wins).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..errors import InvalidValue
from ..fields import BUILTIN_BY_NAME, FieldRegistry, check_attribute_name, slug
from .profiles import (
    FIRST_NAME_KEYS,
    LAST_NAME_KEYS,
    OPT_IN_KEYS,
    SYNONYM_KEYS,
    Column,
    Profile,
    header_key,
)

#: A consent value that changes nothing stored: no explicit cell says so (SPEC §14). A new
#: customer gets false, an existing one keeps its opt-out.
KEEP = type("Keep", (), {"__repr__": lambda self: "KEEP"})()

OPT_OUT = "marketing_opt_out"


class HeaderError(InvalidValue):
    """A header row that cannot be imported: ``column`` (from 1) is where."""

    def __init__(self, column: int, message: str) -> None:
        super().__init__(message)
        self.column = column


@dataclass
class Rule:
    """Where one field's value comes from in a row: the cells at ``indexes``, combined
    (``join``, ``first``, ``consent``: any opt-out wins), their spellings rewritten (``values``,
    ``invert`` per cell), or a ``constant``."""

    target: str
    indexes: tuple[int, ...] = ()
    combine: str = "first"
    values: dict[str, str] | None = None  # folded spelling -> value
    inverts: tuple[bool, ...] = ()  # per index (consent columns may mix opt-ins and opt-outs)
    format: str | None = None
    guard: bool = False
    parse: str | None = None  # "tags" (Mailchimp), "hash" (Chatwoot: target is None)
    constant: object = None  # for a rule without cells
    attribute: bool = False  # the target is a custom attribute (the older Shopify's "Country"), not a field
    new: bool = False  # an attribute that does not exist yet
    why: str = ""  # for the preview: "profile", "synonym", "existing attribute"...

    @property
    def inverted(self) -> bool:
        return any(self.inverts)


@dataclass
class Layout:
    """Where each header of one header row goes."""

    headers: tuple[str, ...]
    rules: list[Rule]
    key: str  # the field customers are matched by: id, phone or email
    key_present: bool  # whether a rule feeds the key (else: every row lacks it)
    shown: list[str] = field(default_factory=list)  # per header: what it became
    notes: list[str] = field(default_factory=list)

    def new_attributes(self) -> list[Rule]:
        return [r for r in self.rules if r.new]

    def unmapped_fields(self) -> list[str]:
        mapped = {r.target for r in self.rules if not r.attribute}
        return [f for f in dict.fromkeys(f.name for f in BUILTIN_BY_NAME.values()) if f not in mapped]


def layout(headers: tuple[str, ...], profile: Profile, registry: FieldRegistry) -> Layout:
    """Decide where every header goes (see the module's docstring). HeaderError for an empty
    header, two headers that are one, or two that name the same attribute."""
    keys = [header_key(h) for h in headers]
    seen: dict[str, int] = {}
    for i, (h, k) in enumerate(zip(headers, keys, strict=True)):
        if not h.strip():
            raise HeaderError(i + 1, f"column {i + 1} has no name")
        if k in seen:
            raise HeaderError(i + 1, f'"{h}" repeats column {seen[k] + 1} (same field)')
        seen[k] = i
    shown = [""] * len(headers)
    used: set[int] = set()
    rules: list[Rule] = []
    notes: list[str] = []
    skip = {header_key(s) for s in profile.skip}
    for i, k in enumerate(keys):
        if k in skip:
            shown[i] = "skipped"
            used.add(i)

    def index_of(header: str) -> int | None:
        i = seen.get(header_key(header))
        return None if i is None or (i in used and shown[i] == "skipped") else i

    # 1. The profile's columns.
    mapped: set[str] = set()
    for column in profile.columns:
        target = column.target
        present = tuple(i for i in (index_of(h) for h in column.headers) if i is not None)
        present = tuple(dict.fromkeys(present))
        mapped.add(target)
        if not present:
            if target == OPT_OUT and (column.invert or column.headers[0] in profile.opt_in):
                rules.append(Rule(OPT_OUT, constant=True, why="no opt-in column: nobody consented"))
                notes.append(f"{column.headers[0]}: not in the file, so nobody consented (marketing_opt_out = true)")
            continue
        rules.append(_profile_rule(column, present, registry))
        used.update(present)
        for j in present:
            shown[j] = _describe(rules[-1], headers, "")
    for header in profile.hashes:
        i = index_of(header)
        if i is not None and i not in used:
            rules.append(Rule("", (i,), parse="hash", why="profile"))
            used.add(i)
            shown[i] = "attributes named by the keys of its hashes"

    # 2. seg's own names and aliases, as written.
    groups: dict[str, list[int]] = {}
    for i, h in enumerate(headers):
        f = BUILTIN_BY_NAME.get(h.strip().lower())
        if i in used or f is None:
            continue
        if f.name in mapped:  # the profile takes this field from elsewhere: this header is an attribute
            continue
        if f.name in groups:  # opt_out and opted_out: one field given twice, which value is meant?
            raise HeaderError(i + 1, f'"{h}" repeats column {groups[f.name][0] + 1} (same field)')
        groups.setdefault(f.name, []).append(i)
        used.add(i)

    # 3. Attributes already stored under the header's name.
    for i, h in enumerate(headers):
        if i in used:
            continue
        existing = registry.attribute(h)
        if existing is not None:
            rules.append(Rule(existing.name, (i,), attribute=True, why="existing attribute"))
            used.add(i)
            shown[i] = f"attribute {existing.name}"
            synonym = SYNONYM_KEYS.get(keys[i]) or ("marketing_opt_out" if keys[i] in OPT_IN_KEYS else None)
            if synonym and synonym not in mapped and synonym not in groups:
                notes.append(f'{h}: kept for the existing attribute "{existing.name}", not read as {synonym}')

    # 4. Synonyms, for the fields nothing maps yet.
    first: list[int] = []
    last: list[int] = []
    opt_ins: list[int] = []
    for i, _h in enumerate(headers):
        if i in used:
            continue
        k = keys[i]
        target = SYNONYM_KEYS.get(k)
        if target is not None and target not in mapped:
            if target in groups and target not in ("phone", OPT_OUT):
                continue  # the field has its column already: this one is an attribute
            groups.setdefault(target, []).append(i)
            used.add(i)
        elif k in OPT_IN_KEYS and OPT_OUT not in mapped:
            opt_ins.append(i)
            used.add(i)
        elif k in FIRST_NAME_KEYS and "name" not in mapped and "name" not in groups:
            first.append(i)
        elif k in LAST_NAME_KEYS and "name" not in mapped and "name" not in groups:
            last.append(i)
    if (first or last) and "name" not in groups:
        parts = first[:1] + last[:1]
        used.update(parts)
        rules.append(Rule("name", tuple(parts), "join", why="synonym"))
        for j in parts:
            shown[j] = _describe(rules[-1], headers, "")
    for target, indexes in groups.items():
        if target == OPT_OUT:
            continue
        rules.append(Rule(target, tuple(sorted(indexes)), "first", why="name"))
        for j in indexes:
            shown[j] = _describe(rules[-1], headers, "")
    consent = sorted(groups.get(OPT_OUT, []) + opt_ins)
    if consent:
        inverts = tuple(i in opt_ins for i in consent)
        rules.append(Rule(OPT_OUT, tuple(consent), "consent", inverts=inverts, why="consent"))
        for j in consent:
            shown[j] = _describe(rules[-1], headers, "")
    if profile.file_consent and not any(r.target == OPT_OUT and not r.attribute for r in rules):
        value = next(
            (v for prefix, v in profile.file_consent if any(h.strip().upper().startswith(prefix) for h in headers)),
            profile.consent_default,
        )
        rules.append(Rule(OPT_OUT, constant=KEEP if value is False else value, why="file"))
        notes.append(
            "marketing_opt_out: true for every row (an unsubscribed or cleaned export)"
            if value
            else "marketing_opt_out: false for new customers (a subscribed export); stored opt-outs are kept"
        )

    # 5. Everything else: attributes named as the header.
    slugs: dict[str, int] = {slug(r.target): -1 for r in rules if r.attribute}
    for i, h in enumerate(headers):
        if i in used:
            continue
        name = h.strip()
        try:
            check_attribute_name(name, builtin_ok=True)
        except InvalidValue as exc:
            raise HeaderError(i + 1, str(exc)) from None
        s = slug(name) or name
        if s in slugs:
            other = slugs[s]
            raise HeaderError(
                i + 1,
                f'"{h}" and "{headers[other]}" are the same attribute ({s})'
                if other >= 0
                else f'"{h}" is the same attribute ({s}) as a column the profile maps',
            )
        slugs[s] = i
        existing = registry.attribute(name)
        rules.append(
            Rule(existing.name if existing else name, (i,), attribute=True, new=existing is None, why="header")
        )
        shown[i] = f"attribute {name}" if existing else f"new attribute {name}"

    targets: dict[tuple[bool, str], Rule] = {}
    for rule in rules:
        key = (rule.attribute, slug(rule.target) if rule.attribute else rule.target)
        if rule.target and key in targets:
            where = rule.indexes[0] if rule.indexes else 0
            raise HeaderError(
                where + 1,
                f'two columns feed "{rule.target}": {_headers_of(targets[key], headers)} and {_headers_of(rule, headers)}',
            )
        targets[key] = rule
    rules.sort(key=lambda r: r.target != "country")  # a row's country is read before its phone
    key = next(
        (k for k in profile.key if any(r.target == k and not r.attribute and (r.indexes or r.constant) for r in rules)),
        None,
    )
    return Layout(tuple(headers), rules, key or profile.key[0], key is not None, shown, notes)


def _profile_rule(column: Column, present: tuple[int, ...], registry: FieldRegistry) -> Rule:
    target = column.target
    builtin = BUILTIN_BY_NAME.get(target.lower())
    new = False
    if builtin is not None:
        target = builtin.name
    else:
        existing = registry.attribute(target)
        new = existing is None
        target = existing.name if existing else target
    attribute = builtin is None
    combine = "join" if column.joins() else "first"
    values = {_fold(k): v for k, v in column.values} or None
    return Rule(
        target,
        present,
        combine,
        values,
        (column.invert,) * len(present),
        column.format,
        column.guard,
        column.parse,
        attribute=attribute,
        new=new,
        why="profile",
    )


def _headers_of(rule: Rule, headers: tuple[str, ...]) -> str:
    return " + ".join(headers[i] for i in rule.indexes) or "(none)"


def _fold(text: str) -> str:
    from ..values import fold

    return fold(text.strip())


def _describe(rule: Rule, headers: tuple[str, ...], why: str) -> str:
    """What a header became, as the preview shows it: ``name (joined: First Name + Last Name)``."""
    text = rule.target
    if len(rule.indexes) > 1:
        names = [headers[i] for i in rule.indexes]
        how = {"join": "joined: ", "first": "first non-empty of ", "consent": "any opt-out of "}[rule.combine]
        text += f" ({how}{' + '.join(names) if rule.combine == 'join' else ', '.join(names)})"
    if rule.inverted:
        text += " (opt-in, inverted: empty means no consent)" if rule.target == OPT_OUT else " (inverted)"
    if rule.format:
        text += f" (format {rule.format})"
    if rule.values:
        text += f" ({len(rule.values)} values mapped)"
    if rule.attribute:
        text = ("new attribute " if rule.new else "attribute ") + text
    return text + (f" [{why}]" if why else "")
