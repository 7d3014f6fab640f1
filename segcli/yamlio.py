"""Segments as code: YAML <-> model (SPEC §4).

The file is read with PyYAML's safe loader, as nodes, so that every problem names its line; anchors
and aliases are refused (the format needs none, and they are how a YAML bomb is built), and so is any
tag that is not plain YAML. The whole file is checked before anything is written; then the plan runs
in one transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode

from . import faults
from . import yamlnodes as y
from .catalog import Attributes, check_segment_name, check_unused
from .errors import DataError, FilterError, InvalidValue, NotFoundError, UsageError, YamlError
from .fields import ATTRIBUTE_TYPES, FieldRegistry, attribute_field
from .model import Audience, Filter
from .parse import parse_filter
from .timeutil import parse_date
from .values import PLAIN, ValueContext, name_key

if TYPE_CHECKING:
    from .importer.profiles import Profile

if TYPE_CHECKING:
    from .catalog import Catalog


@dataclass
class AttributeDecl:
    name: str
    type: str
    values: list[str] | None
    line: int


@dataclass
class SegmentDecl:
    name: str
    description: str | None
    texts: list[str]  # one filter text per group (``groups``) or one for ``where``
    line: int
    lines: list[int]
    filter: Filter | None = None


@dataclass
class ProfileDecl:
    profile: Profile
    line: int


@dataclass
class AudienceDecl:
    name: str
    line: int
    segments: list[str]
    exclude: list[str] = field(default_factory=list)
    require: list[str] = field(default_factory=list)
    unique: str | None = None
    include_opted_out: bool = False
    columns: list[str] | None = None
    description: str | None = None


@dataclass
class Document:
    """A seg YAML file, checked for structure: its sections, and which of them it has (``apply
    --prune`` deletes only within those, SPEC §14)."""

    attributes: list[AttributeDecl] = field(default_factory=list)
    segments: list[SegmentDecl] = field(default_factory=list)
    audiences: list[AudienceDecl] = field(default_factory=list)
    profiles: list[ProfileDecl] = field(default_factory=list)
    sections: set[str] = field(default_factory=set)


AUDIENCE_KEYS = ["name", "description", "segments", "exclude", "require", "unique", "include_opted_out", "columns"]


@dataclass
class Plan:
    """What ``apply`` does: lines of ``+``, ``~`` and ``-`` and whether it was carried out."""

    changes: list[tuple[str, str, str]] = field(default_factory=list)  # (sign, kind, text)
    unchanged: int = 0
    applied: bool = False

    def lines(self) -> list[str]:
        return [f"{sign} {kind} {text}" for sign, kind, text in self.changes]

    def to_json(self) -> dict:
        return {
            "changes": [{"action": s, "kind": k, "what": t} for s, k, t in self.changes],
            "unchanged": self.unchanged,
            "applied": self.applied,
        }


def read_document(text: str, source: str) -> tuple[list[AttributeDecl], list[SegmentDecl]]:
    """Check the structure of a seg YAML document; filters are checked later, against fields."""
    doc = read_sections(text, source)
    return doc.attributes, doc.segments


def read_sections(text: str, source: str) -> Document:
    """``read_document``, with the audiences, the import profiles and which sections the file has.
    A standalone profile file (``profile: NAME`` at the top) is a document of that one profile."""
    root = y.compose(text, source)
    if root is None:
        return Document()
    if isinstance(root, MappingNode) and any(y.key_is(k, "profile") for k, _ in root.value):
        return Document(profiles=[_profile(source, root, "profile")], sections={"profile"})
    top = y.mapping(source, root, "the file", ["attributes", "segments", "audiences", "profiles"])
    attributes, segments = _read_sections(source, top)
    audiences = _read_audiences(source, top["audiences"]) if "audiences" in top else []
    profiles = _read_profiles(source, top["profiles"]) if "profiles" in top else []
    return Document(attributes, segments, audiences, profiles, set(top))


def _read_profiles(source: str, node: Node) -> list[ProfileDecl]:
    if y.is_null(node):
        return []
    profiles: list[ProfileDecl] = []
    names: dict[str, int] = {}
    for item in y.sequence(source, node, "profiles"):
        decl = _profile(source, item, "name")
        key = name_key(decl.profile.name)
        if key in names:
            raise y.err(
                source, item, f'the profile "{decl.profile.name}" is defined twice (first at line {names[key]})'
            )
        names[key] = decl.line
        profiles.append(decl)
    return profiles


def _read_sections(source: str, top: dict[str, Node]) -> tuple[list[AttributeDecl], list[SegmentDecl]]:
    """The ``attributes`` and ``segments`` sections of a document's top mapping."""
    attributes: list[AttributeDecl] = []
    if "attributes" in top and not y.is_null(top["attributes"]):
        node = top["attributes"]
        if not isinstance(node, MappingNode):
            raise y.err(source, node, "attributes must be a mapping of name: {type: ...}")
        for key_node, value_node in node.value:
            name = y.scalar(source, key_node, "an attribute name")
            spec = y.mapping(source, value_node, f"attribute {name}", ["type", "values"])
            if "type" not in spec:
                raise y.err(source, value_node, f"attribute {name} needs a type ({', '.join(ATTRIBUTE_TYPES)})")
            values = None
            if "values" in spec:
                values = [y.scalar(source, v, "an enum value") for v in y.sequence(source, spec["values"], "values")]
            attributes.append(AttributeDecl(name, y.scalar(source, spec["type"], "type"), values, y.line(key_node)))
    segments: list[SegmentDecl] = []
    if "segments" in top and not y.is_null(top["segments"]):
        seen: dict[str, int] = {}
        for node in y.sequence(source, top["segments"], "segments"):
            spec = y.mapping(source, node, "a segment", ["name", "description", "where", "groups"])
            if "name" not in spec:
                raise y.err(source, node, "a segment needs a name")
            name = y.scalar(source, spec["name"], "name")
            if name_key(name) in seen:
                raise y.err(
                    source,
                    spec["name"],
                    f'the segment "{name}" is defined twice (first at line {seen[name_key(name)]})',
                )
            seen[name_key(name)] = y.line(spec["name"])
            if ("where" in spec) == ("groups" in spec):
                raise y.err(source, node, f'segment "{name}" needs either where or groups (not both)')
            description = y.scalar(source, spec["description"], "description") if "description" in spec else None
            if "where" in spec:
                texts = [y.scalar(source, spec["where"], "where")]
                lines = [y.line(spec["where"])]
            else:
                texts, lines = [], []
                for group in y.sequence(source, spec["groups"], "groups"):
                    conditions = y.sequence(source, group, "a group")
                    if not conditions:
                        raise y.err(source, group, "a group needs at least one condition")
                    items = [y.scalar(source, c, "a condition") for c in conditions]
                    _check_not_split(source, group, items, name)
                    texts.append(" and ".join(items))
                    lines.append(y.line(group))
                if not texts:
                    raise y.err(source, spec["groups"], "groups needs at least one group")
            segments.append(SegmentDecl(name, description or None, texts, y.line(node), lines))
    return attributes, segments


def read_profile_file(text: str, source: str) -> Profile:
    """A standalone profile file (``profile: NAME`` and the profile's keys), for ``--profile FILE``."""
    root = y.compose(text, source)
    if not isinstance(root, MappingNode) or not any(y.key_is(k, "profile") for k, _ in root.value):
        raise YamlError(f"{source}: a profile file starts with profile: NAME (see seg profiles show auto)")
    return _profile(source, root, "profile").profile


_PROFILE_KEYS = ["description", "key", "timezone", "dayfirst", "default_region", "columns", "skip"]


def _profile(source: str, node: Node, name_key_word: str) -> ProfileDecl:
    """A profile from its YAML (SPEC §8), each problem with its line."""
    from .importer.profiles import column_from_spec, profile_from_dict

    spec = y.mapping(source, node, "a profile", [name_key_word, *_PROFILE_KEYS])
    if name_key_word not in spec:
        raise y.err(source, node, f"a profile needs a {name_key_word}")
    data = {k: y.plain(source, v) for k, v in spec.items() if k != "columns"}
    columns: dict[str, object] = {}
    if "columns" in spec and not y.is_null(spec["columns"]):
        if not isinstance(spec["columns"], MappingNode):
            raise y.err(source, spec["columns"], "columns must be a mapping of field: column")
        for key_node, value_node in spec["columns"].value:
            target = y.scalar(source, key_node, "a field name")
            if target in columns:
                raise y.err(source, key_node, f'"{target}" is mapped twice')
            try:
                column_from_spec(target, y.plain(source, value_node))
            except InvalidValue as exc:
                raise y.err(source, key_node, str(exc)) from None
            columns[target] = y.plain(source, value_node)
    data["columns"] = columns
    try:
        profile = profile_from_dict(data)
    except InvalidValue as exc:
        raise y.err(source, node, f"profile: {exc}") from None
    return ProfileDecl(profile, y.line(node))


def _read_audiences(source: str, node: Node) -> list[AudienceDecl]:
    if y.is_null(node):
        return []
    out: list[AudienceDecl] = []
    seen: dict[str, int] = {}
    for item in y.sequence(source, node, "audiences"):
        spec = y.mapping(source, item, "an audience", AUDIENCE_KEYS)
        if "name" not in spec:
            raise y.err(source, item, "an audience needs a name")
        name = y.scalar(source, spec["name"], "name")
        if name_key(name) in seen:
            raise y.err(
                source, spec["name"], f'the audience "{name}" is defined twice (first at line {seen[name_key(name)]})'
            )
        seen[name_key(name)] = y.line(spec["name"])
        if "segments" not in spec:
            raise y.err(source, item, f'audience "{name}" needs segments (a list of segment names)')
        decl = AudienceDecl(name, y.line(item), _names(source, spec["segments"], "segments"))
        if "exclude" in spec:
            decl.exclude = _names(source, spec["exclude"], "exclude")
        if "require" in spec:
            decl.require = _names(source, spec["require"], "require")
        if "unique" in spec and not y.is_null(spec["unique"]):
            decl.unique = y.scalar(source, spec["unique"], "unique")
        if "include_opted_out" in spec:
            flag = spec["include_opted_out"]
            if flag.tag != "tag:yaml.org,2002:bool":
                raise y.err(source, flag, "include_opted_out must be true or false")
            decl.include_opted_out = y.scalar(source, flag, "include_opted_out").lower() in ("true", "yes", "on", "y")
        if "columns" in spec and not y.is_null(spec["columns"]):
            node_ = spec["columns"]
            if isinstance(node_, ScalarNode):  # as --columns writes them: id,name,phone
                decl.columns = [c.strip() for c in node_.value.split(",") if c.strip()]
            else:
                decl.columns = _names(source, node_, "columns")
        if "description" in spec:
            decl.description = y.scalar(source, spec["description"], "description") or None
        out.append(decl)
    return out


def _names(source: str, node: Node, what: str) -> list[str]:
    """A list of names (a single name is a list of one)."""
    if isinstance(node, ScalarNode) and not y.is_null(node):
        return [node.value]
    return [y.scalar(source, n, f"an item of {what}") for n in y.sequence(source, node, what)]


@dataclass
class Fixture:
    """A ``seg test`` file (SPEC §11): ``attributes`` and ``segments`` are None when the file has
    no such section; ``customers`` are (line, row as imported); ``expect`` is (line, segment,
    ids, the line of each id)."""

    now: datetime
    timezone: tuple[int, str] | None
    week_start: tuple[int, str] | None
    attributes: list[AttributeDecl] | None
    segments: list[SegmentDecl] | None
    customers: list[tuple[int, dict]]
    expect: list[tuple[int, str, list[str], list[int]]]


_FIXTURE_KEYS = ["now", "timezone", "week_start", "attributes", "segments", "customers", "expect"]


def read_fixture(text: str, source: str) -> Fixture:
    """Check the structure of a ``seg test`` file; filters and rows are checked when used."""
    root = y.compose(text, source)
    if root is None:
        raise YamlError(f"{source}: the test file is empty (it needs now, customers and expect)")
    top = y.mapping(source, root, "the test file", _FIXTURE_KEYS)
    for key in ("now", "customers", "expect"):
        if key not in top:
            raise y.err(source, root, f"a test file needs {key}: (with {', '.join(_FIXTURE_KEYS)})")
    now_text = y.scalar(source, top["now"], "now")
    try:
        now = parse_date(now_text.strip())[0]
    except InvalidValue as exc:
        raise y.err(source, top["now"], f"now: {exc}") from None
    attributes, segments = _read_sections(source, top)
    customers = []
    for node in y.sequence(source, top["customers"], "customers"):
        row = y.plain(source, node)
        if not isinstance(row, dict):
            raise y.err(source, node, "a customer must be a mapping (id: ..., name: ...)")
        customers.append((y.line(node), row))
    expect = []
    expect_node = top["expect"]
    if not isinstance(expect_node, MappingNode):
        raise y.err(source, expect_node, "expect must be a mapping of segment name: [ids]")
    for key_node, value_node in expect_node.value:
        name = y.scalar(source, key_node, "a segment name")
        ids = [] if y.is_null(value_node) else y.sequence(source, value_node, f'the ids expected in "{name}"')
        expect.append(
            (
                y.line(key_node),
                name,
                [y.scalar(source, i, "a customer id").strip() for i in ids],
                [y.line(i) for i in ids],
            )
        )

    def optional(key: str) -> tuple[int, str] | None:
        return (y.line(top[key]), y.scalar(source, top[key], key)) if key in top and not y.is_null(top[key]) else None

    return Fixture(
        now,
        optional("timezone"),
        optional("week_start"),
        attributes if "attributes" in top else None,
        segments if "segments" in top else None,
        customers,
        expect,
    )


def _check_not_split(source: str, group: Node, items: list[str], segment: str) -> None:
    """A group written ``[country in (OM, AE), lifetime_value > 100]`` is split by YAML at every
    comma, the ones inside ``(OM, AE)`` too: say so, and show the group with that condition quoted."""
    merged: list[str] = []
    pending: list[str] = []
    for item in items:
        pending.append(item)
        text = ", ".join(pending)
        if text.count("(") <= text.count(")") and text.count('"') % 2 == 0 and text.count("'") % 2 == 0:
            merged.append(text)
            pending = []
    if pending:
        merged.append(", ".join(pending))
    if len(merged) == len(items):
        return
    split = next(m for m in merged if "," in m)
    quoted = "[" + ", ".join(_flow_item(m) for m in merged) + "]"
    raise y.err(
        source,
        group,
        f'segment "{segment}": YAML split the condition "{split}" at its commas (a [...] list is split at '
        f"every comma); quote the condition: - {quoted}",
    )


def _flow_item(text: str) -> str:
    """A condition as an item of a YAML flow list: quoted when it holds a comma (or would not read back as itself)."""
    try:
        if "," not in text and yaml.safe_load("[" + text + "]") == [text]:
            return text
    except yaml.YAMLError:
        pass
    if '"' not in text and "\\" not in text:
        return '"' + text + '"'
    return "'" + text.replace("'", "''") + "'"


def apply_document(catalog: Catalog, text: str, *, source: str, prune: bool, dry_run: bool) -> Plan:
    """Check the whole document, then create, update and (with ``prune``) delete in one transaction."""
    doc = read_sections(text, source)
    return apply_declarations(
        catalog,
        doc.attributes,
        doc.segments,
        source=source,
        prune=prune,
        dry_run=dry_run,
        audiences=doc.audiences,
        profiles=doc.profiles,
        sections=doc.sections,
    )


def apply_declarations(
    catalog: Catalog,
    attributes: list[AttributeDecl],
    segments: list[SegmentDecl],
    *,
    source: str,
    prune: bool = False,
    dry_run: bool = False,
    audiences: Sequence[AudienceDecl] = (),
    profiles: Sequence[ProfileDecl] = (),
    sections: set[str] | None = None,
) -> Plan:
    """``apply_document`` for a document already read (``read_document``, or ``read_sections`` for
    its ``audiences``, ``profiles`` and the ``sections`` it has: ``--prune`` deletes only within those, all of
    them if None)."""
    store = catalog.store(write=True)
    plan = Plan()
    try:
        with store.transaction("apply"):
            _apply(catalog, store, attributes, segments, plan, source, prune, audiences, sections, profiles)
            faults.point("apply:before-commit")
            if dry_run:
                raise _DryRun
    except _DryRun:
        return plan
    plan.applied = True
    return plan


def check_declarations(
    registry: FieldRegistry,
    attributes: list[AttributeDecl],
    segments: list[SegmentDecl],
    source: str,
    context: ValueContext = PLAIN,
) -> FieldRegistry:
    """Check a document's attributes and parse its segments' filters (setting each ``filter``)
    against the fields they will see: ``registry``'s and the document's. Nothing is written.
    ``context``: how literals are read (the zone in force, the database's ``default_region``).
    Returns those fields."""
    planned = dict(registry.attributes)
    for decl in attributes:
        try:
            name, kind, values = Attributes.check(decl.name, decl.type, decl.values)
        except UsageError as exc:
            raise YamlError(f"{source}:{decl.line}: {exc.message}") from None
        existing = registry.get(name)
        if existing is None or existing.type != kind or existing.enum_values != values:
            column = existing.column if existing is not None and not existing.builtin else None
            f = attribute_field(name, kind, values, column)
            planned[f.column] = f
    future = FieldRegistry(list(planned.values()))
    for decl in segments:
        try:
            check_segment_name(decl.name)
        except UsageError as exc:
            raise YamlError(f"{source}:{decl.line}: {exc.message}") from None
        flt = Filter()
        for text_, line in zip(decl.texts, decl.lines, strict=True):
            try:
                flt = flt | parse_filter(text_, future, groups_before=len(flt.groups), context=context)
            except FilterError as exc:
                raise FilterError(
                    f'{source}:{line}: segment "{decl.name}": {exc.reason}', exc.text, exc.start, exc.end
                ) from None
        decl.filter = flt
    return future


def _apply(catalog, store, attributes, segments, plan, source, prune, audiences=(), sections=None, profiles=()) -> None:
    check_declarations(store.registry(), attributes, segments, source, catalog.value_context())
    # Carry out the plan, inside the one transaction.
    for decl in attributes:
        try:
            outcome = catalog.attributes.define_in(store, decl.name, decl.type, decl.values)
        except (UsageError, DataError) as exc:
            raise type(exc)(f"{source}:{decl.line}: {exc.message}") from None
        if outcome != "unchanged":
            sign = "+" if outcome == "created" else "~"
            values = f" ({', '.join(decl.values or [])})" if decl.values else ""
            plan.changes.append((sign, "attribute", f"{decl.name}: {decl.type}{values}"))
        else:
            plan.unchanged += 1
    keep: set[str] = set()
    for decl in segments:
        keep.add(name_key(decl.name))
        assert decl.filter is not None
        filter_text = decl.filter.to_text()
        try:  # now that the file's attributes exist
            catalog.check_evaluable(decl.filter, " or ".join(decl.texts))
        except FilterError as exc:
            raise FilterError(
                f'{source}:{decl.line}: segment "{decl.name}": {exc.reason}', exc.text, exc.start, exc.end
            ) from None
        current = store.segment(decl.name)
        name = check_segment_name(decl.name)  # checked above; this is its normalized spelling
        if current is None:
            store.insert_segment(name, decl.description, decl.filter)
            plan.changes.append(("+", "segment", f"{name}: {filter_text}"))
        elif (current.where, current.description, current.name) != (filter_text, decl.description, name):
            store.update_segment(current.pk, name, decl.description, decl.filter)
            plan.changes.append(("~", "segment", f"{name}: {filter_text}"))
        else:
            plan.unchanged += 1
    _apply_audiences(catalog, store, audiences, sections, plan, source, prune)
    if prune and (sections is None or "segments" in sections):  # a file without segments prunes none (SPEC §14)
        for current in store.segments():
            if name_key(current.name) not in keep:
                try:
                    check_unused(store, current)
                except DataError as exc:
                    raise DataError(f"{source}: cannot prune: {exc.message}") from None
                store.delete_segment(current.pk)
                plan.changes.append(("-", "segment", current.name))
    _apply_profiles(store, profiles, sections, plan, prune)
    if plan.changes:
        catalog.keep_views(store)


def _apply_audiences(catalog, store, audiences, sections, plan: Plan, source: str, prune: bool) -> None:
    """The file's audiences, after its segments (which they name) and before pruning segments (so
    that one the file no longer uses can go)."""
    keep: set[str] = set()
    for decl in audiences:
        try:
            wanted = catalog.audiences.define(
                decl.name,
                decl.segments,
                exclude=decl.exclude,
                require=decl.require,
                unique=decl.unique,
                include_opted_out=decl.include_opted_out,
                columns=decl.columns,
                description=decl.description,
            )
        except (UsageError, NotFoundError) as exc:
            raise YamlError(f'{source}:{decl.line}: audience "{decl.name}": {exc.message}') from None
        keep.add(name_key(wanted.name))
        current = store.audience(wanted.name)
        text = f"{wanted.name}: {_audience_text(wanted)}"
        if current is None:
            store.insert_audience(wanted)
            plan.changes.append(("+", "audience", text))
        elif _definition(current) != _definition(wanted):
            store.update_audience(wanted._replace(pk=current.pk))
            plan.changes.append(("~", "audience", text))
        else:
            plan.unchanged += 1
    if prune and (sections is None or "audiences" in sections):  # a file without audiences prunes none (SPEC §14)
        for current in store.audiences():
            if name_key(current.name) not in keep:
                store.delete_audience(current.pk)
                plan.changes.append(("-", "audience", current.name))


def _definition(a: Audience) -> tuple:
    """What makes two audiences the same, segments by identity."""
    return (
        a.name,
        a.description,
        tuple(s.pk for s in a.segments),
        tuple(s.pk for s in a.exclude),
        a.require,
        a.unique,
        a.include_opted_out,
        a.columns,
    )


def _audience_text(a: Audience) -> str:
    text = ", ".join(s.name or "?" for s in a.segments)
    if a.exclude:
        text += " minus " + ", ".join(s.name or "?" for s in a.exclude)
    return text


def _apply_profiles(store, profiles, sections, plan: Plan, prune: bool) -> None:
    """Save the document's import profiles (SPEC §8); with ``prune``, delete those it does not
    name, if it has a ``profiles:`` section."""
    import json

    keep: set[str] = set()
    for decl in profiles:
        profile = decl.profile
        keep.add(name_key(profile.name))
        definition = json.dumps(profile.to_dict(), ensure_ascii=False)
        current = store.profile(profile.name)
        if current == definition:
            plan.unchanged += 1
            continue
        store.save_profile(profile.name, definition)
        plan.changes.append(("+" if current is None else "~", "profile", profile.name))
    if prune and (sections is None or "profiles" in sections):
        for name, _ in store.profiles():
            if name_key(name) not in keep:
                store.delete_profile(name)
                plan.changes.append(("-", "profile", name))


class _DryRun(Exception):
    """Raised inside the transaction to undo a dry run."""


def dump_document(catalog: Catalog, names: Sequence[str]) -> str:
    """Segments (all, or ``names``) and the attributes they use, in the format ``apply`` reads.

    Diff-friendly (SPEC §11): block style, attributes and segments in name order, each ``where`` on
    one line however long, so that changing one word of a filter changes one line of a diff."""
    store = catalog.store()
    chosen = [catalog.segments.get(n) for n in names] if names else store.segments()
    chosen = list({s.pk: s for s in chosen}.values())  # a name given twice is dumped once
    chosen.sort(key=lambda s: (name_key(s.name), s.name))
    registry = store.registry()
    used: set[str] = set()
    for s in chosen:
        for group in s.filter.groups:
            used.update(f.column for c in group.conditions if (f := registry.get(c.field)) is not None)
    attributes = {}
    for f in sorted(registry.attributes.values(), key=lambda f: (f.name.lower(), f.name)):
        if names and f.column not in used:
            continue
        spec: dict = {"type": str(f.type)}
        if f.enum_values:
            spec["values"] = list(f.enum_values)
        attributes[f.name] = spec
    doc: dict = {}
    if attributes:
        doc["attributes"] = attributes
    if not names:  # every section (SPEC §14); a dump of some segments is those and what they use
        import json

        profiles = [json.loads(definition) for _, definition in store.profiles()]
        if profiles:
            doc["profiles"] = profiles
    segs = []
    for s in chosen:
        item = {"name": s.name}
        if s.description:
            item["description"] = s.description
        item["where"] = s.where
        segs.append(item)
    doc["segments"] = segs
    if not names:  # every section (SPEC §14): the audiences too
        audiences = [_audience_item(a) for a in sorted(store.audiences(), key=lambda a: (name_key(a.name), a.name))]
        if audiences:
            doc["audiences"] = audiences
    return yaml.dump(
        doc, Dumper=_BlockDumper, sort_keys=False, allow_unicode=True, width=_NEVER_WRAP, default_flow_style=False
    )


#: A line width no value reaches: PyYAML folds a long string at a space, and a filter folded in the
#: middle of a condition would make a one-word change re-flow two lines of a diff.
_NEVER_WRAP = 1 << 30


class _BlockDumper(yaml.SafeDumper):
    """Block style with list items indented under their key, as people write them (``segments:``,
    then ``  - name: ...``)."""

    def increase_indent(self, flow: bool = False, indentless: bool = False) -> None:
        return super().increase_indent(flow, False)


def _audience_item(a: Audience) -> dict:
    """An audience as ``apply`` reads it: only what differs from the defaults."""
    item: dict = {"name": a.name}
    if a.description:
        item["description"] = a.description
    item["segments"] = [s.name for s in a.segments]
    if a.exclude:
        item["exclude"] = [s.name for s in a.exclude]
    if a.require:
        item["require"] = list(a.require)
    if a.unique:
        item["unique"] = a.unique
    if a.include_opted_out:
        item["include_opted_out"] = True
    if a.columns is not None:
        item["columns"] = list(a.columns)
    return item
