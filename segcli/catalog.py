"""The named things of a seg database, over a store: segments, custom attributes, saved audiences
and settings.

Checks and suggestions live here (a segment name's rules, "did you mean", an attribute's type
changes); the store only reads and writes rows. The API (``api.py``), YAML (``yamlio.py``) and
exports (``export.py``) all reach segments and attributes through a ``Catalog``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, tzinfo
from typing import TYPE_CHECKING, NamedTuple

from . import faults
from .compile import compile_audience
from .dialects import Dialect, dialect_of
from .errors import (
    DataError,
    FilterError,
    InvalidValue,
    NotFoundError,
    SegError,
    TooLargeError,
    UsageError,
    did_you_mean,
)
from .fields import (
    ATTRIBUTE_TYPES,
    Field,
    FieldRegistry,
    FieldType,
    attribute_field,
    check_attribute_name,
)
from .model import UNIQUE_FIELDS, Audience, Filter, Group, Segment, SegmentRef
from .timeutil import WEEK_STARTS, Clock
from .values import ValueContext, fold, normalize_enum

if TYPE_CHECKING:
    from .importer.profiles import Profile
    from .store import Store

#: The columns of an audience or member list when none are asked for.
DEFAULT_COLUMNS = ("id", "name", "phone", "email", "platform", "language", "country")
MAX_NAME_LENGTH = 200
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


class Catalog:
    """Segments and attributes of one database. ``open_store(write)`` gives the store, creating
    the database on the first write. ``now`` is the instant relative dates are measured from;
    ``zone``, if given, the zone in force (``--tz``, ``SEG_TZ``), else the database's setting."""

    def __init__(
        self,
        open_store: Callable[[bool], Store],
        *,
        exists: Callable[[], bool],
        now: datetime,
        zone: tzinfo | None = None,
    ) -> None:
        self._open = open_store
        self._exists = exists
        self.now = now
        self.zone_override = zone
        self.segments = Segments(self)
        self.attributes = Attributes(self)
        self.audiences = Audiences(self)
        self.settings = Settings(self)
        self.profiles = Profiles(self)

    def zone(self, stored: dict[str, str] | None = None) -> tzinfo:
        """The zone in force (SPEC §9): the one given (``--tz``, ``SEG_TZ``), else the database's
        ``timezone`` setting, else UTC."""
        if self.zone_override is not None:
            return self.zone_override
        name = (self.settings.stored() if stored is None else stored).get("timezone")
        if not name or name == "UTC":
            return UTC
        from .timeutil import zone

        try:
            return zone(name)
        except InvalidValue as exc:  # set by hand, or by a seg that knew a zone this one does not
            raise DataError(f"the database's timezone setting: {exc}; change it with seg config set timezone") from None

    def clock(self) -> Clock:
        """What this command measures relative dates against: ``now``, the zone in force and the
        first day of a week (the ``week_start`` setting)."""
        stored = self.settings.stored()
        week_start = stored.get("week_start", "monday")
        return Clock(self.now, self.zone(stored), week_start if week_start in WEEK_STARTS else "monday")

    def store(self, *, write: bool = False) -> Store:
        return self._open(write)

    def registry(self) -> FieldRegistry:
        return self.store().registry()

    @property
    def dialect(self) -> Dialect:
        """The SQL dialect of the store's engine, for compiling filters."""
        return dialect_of(self.store().engine)

    def parse(self, where: str | Sequence[str], *, groups_before: int = 0) -> Filter:
        """Filter text (or several, joined with ``or``) -> a checked Filter model. Before the
        database exists, only the built-in fields are known. ``groups_before``: how many groups
        the filter it will be added to has (at most 100 in all)."""
        from .parse import parse_filter  # lark is loaded only when text is parsed

        texts = [where] if isinstance(where, str) else list(where)
        if not texts:
            raise UsageError("a filter is needed (--where)")
        registry = self.registry() if self._exists() else FieldRegistry()
        context = self.value_context()
        result = Filter()
        for text in texts:
            result = result | parse_filter(
                text, registry, groups_before=groups_before + len(result.groups), context=context
            )
        return result

    def value_context(self) -> ValueContext:
        """How filter literals are read: a datetime without an offset in the zone in force, a phone
        without a country code in ``default_region``."""
        stored = self.settings.stored()
        return ValueContext(zone=self.zone(stored), default_region=stored.get("default_region"))

    def saved_filter(self, segment: Segment) -> Filter:
        """A saved segment's filter, checked that it can be evaluated: one saved by an older seg
        may hold what this one refuses (a number beyond SQLite's, a field since gone, a model it
        cannot read), which is a DataError naming the segment."""
        try:
            if segment.unreadable:
                raise DataError(segment.unreadable)
            compile_audience(self.registry(), self.clock(), [segment.filter], dialect=self.dialect)
        except SegError as exc:
            raise DataError(
                f'segment "{segment.name}" cannot be evaluated: {exc.message}; change its filter with seg edit'
            ) from None
        return segment.filter

    def check_evaluable(self, flt: Filter, text: str | None = None) -> None:
        """Refuse, as a FilterError pointing at the whole ``text``, a filter about to be saved that
        the database cannot evaluate (too large for it)."""
        text = text if text is not None else flt.to_text()
        try:
            compiled = compile_audience(self.registry(), self.clock(), [flt], dialect=self.dialect)
            self.store().explain(compiled.sql, compiled.params)
        except (TooLargeError, DataError) as exc:
            raise FilterError(f"the filter cannot be evaluated: {exc.message}", text, 0, len(text)) from None

    def keep_views(self, store: Store) -> None:
        """Inside a write transaction that changed segments or attributes: if this database keeps
        views of its segments (``seg views``), bring them in step."""
        from . import views

        if views.kept(store):
            views.sync(store, self.clock(), self.dialect)

    def columns(self, names: Sequence[str] | None) -> list[Field]:
        """Fields for output columns; unknown names raise UsageError with suggestions."""
        registry = self.registry()
        return [registry.resolve(name, "column") for name in names or DEFAULT_COLUMNS]


class Segments:
    """Saved segments: create, edit, delete, get and list them by name."""

    def __init__(self, catalog: Catalog) -> None:
        self.catalog = catalog

    def get(self, name: str) -> Segment:
        """The segment called ``name`` (case-insensitively); NotFoundError suggests the nearest."""
        store = self.catalog.store()
        found = store.segment(name)
        if found is None:
            raise NotFoundError(
                f'no segment named "{name}"{did_you_mean(name, store.segment_names(), cutoff=0.5, substrings=True)}'
            )
        return found

    def all(self) -> list[Segment]:
        return self.catalog.store().segments()

    def names(self) -> list[str]:
        return self.catalog.store().segment_names()

    def filters(self, names: Sequence[str]) -> list[Filter]:
        """The segments' filters, each checked that it can be evaluated (``Catalog.saved_filter``)."""
        return [self.catalog.saved_filter(self.get(n)) for n in names]

    def create(self, name: str, where: str | Sequence[str] | Filter, description: str | None = None) -> Segment:
        """Save a new segment. ``where`` is filter text, several texts (joined with ``or``) or a Filter."""
        name = check_segment_name(name)
        flt = where if isinstance(where, Filter) else self.catalog.parse(where)
        store = self.catalog.store(write=True)
        self.catalog.check_evaluable(flt, _filter_text(where))
        with store.transaction("create"):
            existing = store.segment(name)
            if existing is not None:
                raise DataError(f'a segment named "{existing.name}" already exists (use seg edit)')
            store.insert_segment(name, _clean(description), flt)
            self.catalog.keep_views(store)
        return store.segment(name)

    def edit(
        self,
        name: str,
        *,
        where: str | Sequence[str] | Filter | None = None,
        or_where: str | Sequence[str] | None = None,
        rename: str | None = None,
        description: str | None = None,
    ) -> Segment:
        """Change a segment: ``where`` replaces its filter, ``or_where`` adds groups."""
        store = self.catalog.store(write=True)
        current = self.get(name)
        flt, text = current.filter, current.where
        if where:
            flt = where if isinstance(where, Filter) else self.catalog.parse(where)
            text = _filter_text(where)
        if or_where:
            flt = flt | self.catalog.parse(or_where, groups_before=len(flt.groups))
            text = f"{text} or {_filter_text(or_where)}"
        if where or or_where:
            self.catalog.check_evaluable(flt, text)
        new_name = check_segment_name(rename) if rename else current.name
        new_description = current.description if description is None else _clean(description)
        with store.transaction("edit"):
            other = store.segment(new_name)
            if other is not None and other.pk != current.pk:
                raise DataError(f'a segment named "{other.name}" already exists')
            store.update_segment(current.pk, new_name, new_description, flt)
            self.catalog.keep_views(store)
        return store.segment(new_name)

    def delete(self, names: Sequence[str]) -> list[str]:
        """Delete segments (never customers), all or none; returns their names."""
        store = self.catalog.store(write=True)
        found = [self.get(n) for n in names]
        with store.transaction("delete"):
            for s in found:
                check_unused(store, s)
                store.delete_segment(s.pk)
            self.catalog.keep_views(store)
            faults.point("delete:before-commit")
        return [s.name for s in found]


def check_unused(store: Store, segment: Segment) -> None:
    """DataError naming the audiences that use ``segment``, if any: deleting it would break them."""
    users = store.audiences_using(segment.pk)
    if users:
        names = ", ".join(f'"{n}"' for n in users)
        raise DataError(
            f'segment "{segment.name}" is used by the audience{"s" if len(users) > 1 else ""} {names};'
            " change or delete the audience first (nothing was deleted)"
        )


def _filter_text(where: str | Sequence[str] | Filter) -> str:
    """Filter text as the user gave it, for an error to point at."""
    if isinstance(where, Filter):
        return where.to_text()
    return where if isinstance(where, str) else " or ".join(where)


def _clean(text: str | None) -> str | None:
    return _check_utf8(text, "a description").strip() or None if text is not None else None


def _check_utf8(text: str, what: str) -> str:
    """Command-line arguments that were not UTF-8 arrive with lone surrogates, which SQLite cannot store."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise UsageError(f"{what} is not valid UTF-8") from None
    return text


def check_segment_name(name: str, what: str = "segment") -> str:
    """A segment (or audience) name as stored: trimmed, inner white space collapsed; UsageError if
    it cannot be one."""
    a = f"{'an' if what[0] in 'aeiou' else 'a'} {what} name"
    name = " ".join(_check_utf8(name or "", a).split())
    if not name:
        raise UsageError(f"{a} cannot be empty")
    if len(name) > MAX_NAME_LENGTH:
        raise UsageError(f"{a} has at most {MAX_NAME_LENGTH} characters")
    if _CONTROL.search(name):
        raise UsageError(f"{a} cannot hold control characters")
    return name


class Audiences:
    """Saved audiences (SPEC §10): segments to take and to exclude, held by identity, and the export
    options they are always sent with. Names follow the rules of segment names."""

    def __init__(self, catalog: Catalog) -> None:
        self.catalog = catalog

    def get(self, name: str) -> Audience:
        """The audience called ``name`` (case-insensitively); NotFoundError suggests the nearest."""
        store = self.catalog.store()
        found = store.audience(name)
        if found is None:
            names = [a.name for a in store.audiences()]
            raise NotFoundError(f'no audience named "{name}"{did_you_mean(name, names, cutoff=0.5, substrings=True)}')
        return found

    def all(self) -> list[Audience]:
        return self.catalog.store().audiences()

    def define(
        self,
        name: str,
        segments: Sequence[str],
        *,
        exclude: Sequence[str] = (),
        require: Sequence[str] = (),
        unique: str | None = None,
        include_opted_out: bool = False,
        columns: Sequence[str] | None = None,
        description: str | None = None,
    ) -> Audience:
        """An audience checked against the database, not saved (``pk`` 0): its segments exist (by
        name now, kept by identity), ``require`` and ``columns`` name fields, ``unique`` is phone
        or email. UsageError or NotFoundError says what is wrong."""
        name = check_segment_name(name, "audience")
        if not segments:
            raise UsageError(f'audience "{name}" needs at least one segment (--segment NAME)')
        refs = self._refs(segments, "segment")
        excluded = self._refs(exclude, "excluded segment")
        registry = self.catalog.registry()
        required = tuple(
            dict.fromkeys(registry.filter_name(registry.resolve(f, "field for --require")) for f in require)
        )
        if unique is not None and unique.strip().lower() not in UNIQUE_FIELDS:
            raise UsageError(f'--unique takes phone or email, not "{unique}"')
        kept = None if columns is None else tuple(map(registry.filter_name, self.catalog.columns(columns)))
        return Audience(
            0,
            name,
            _clean(description),
            refs,
            excluded,
            required,
            unique.strip().lower() if unique is not None else None,
            bool(include_opted_out),
            kept,
        )

    def _refs(self, names: Sequence[str], what: str) -> tuple[SegmentRef, ...]:
        refs: list[SegmentRef] = []
        for n in names:
            s = self.catalog.segments.get(n)
            if any(r.pk == s.pk for r in refs):
                raise UsageError(f'the {what} "{s.name}" is given twice')
            refs.append(SegmentRef(s.pk, s.name))
        return tuple(refs)

    def create(self, name: str, segments: Sequence[str], **options) -> Audience:
        """Save a new audience; options as ``define``. An existing name is a DataError."""
        audience = self.define(name, segments, **options)
        store = self.catalog.store(write=True)
        with store.transaction("audience create"):
            existing = store.audience(audience.name)
            if existing is not None:
                raise DataError(f'an audience named "{existing.name}" already exists')
            store.insert_audience(audience)
        return store.audience(audience.name)

    def delete(self, names: Sequence[str]) -> list[str]:
        """Delete audiences (never segments or customers), all or none; their exports stay in
        the history, the memberships kept for them go. Returns their names."""
        store = self.catalog.store(write=True)
        found = [self.get(n) for n in names]
        with store.transaction("audience delete"):
            for a in found:
                store.delete_audience(a.pk)
        return [a.name for a in found]

    def segments_of(self, audience: Audience) -> tuple[list[Segment], list[Segment]]:
        """The segments the audience takes and excludes, as they are now; DataError if one was
        removed behind seg's back."""
        store = self.catalog.store()
        out: tuple[list[Segment], list[Segment]] = ([], [])
        for refs, into in ((audience.segments, out[0]), (audience.exclude, out[1])):
            for ref in refs:
                segment = store.segment(ref.name) if ref.name is not None else None
                if segment is None or segment.pk != ref.pk:
                    raise DataError(
                        f'audience "{audience.name}" uses a segment that no longer exists; redefine it with seg apply'
                    )
                into.append(segment)
        return out


class Attributes:
    """Custom attributes: their types, enum values and how many customers have a value."""

    def __init__(self, catalog: Catalog) -> None:
        self.catalog = catalog

    def list(self) -> list[dict]:
        store = self.catalog.store()
        counts = store.value_counts()
        rows = store.attribute_rows()
        for r in rows:
            r["count"] = counts.get(r["name"], 0)
        return rows

    def define(self, name: str, type_: str, values: Sequence[str] | None = None) -> str:
        """Declare an attribute (or confirm it). Returns "created", "updated" or "unchanged".

        An enum may gain values; a text attribute may become an enum if every stored value is one
        of the enum's values. Other type changes are refused."""
        store = self.catalog.store(write=True)
        with store.transaction("attributes define"):
            return self.define_in(store, name, type_, values)

    @staticmethod
    def check(name: str, type_: str, values: Sequence[str] | None) -> tuple[str, FieldType, tuple[str, ...]]:
        """Validate a declaration: (name, type, enum values), or UsageError."""
        try:
            name = check_attribute_name(name)
        except InvalidValue as exc:
            raise UsageError(str(exc)) from None
        types = ", ".join(map(str, ATTRIBUTE_TYPES))
        if type_ not in ATTRIBUTE_TYPES:
            raise UsageError(f'{name}: unknown type "{type_}" (one of {types})')
        kind = FieldType(type_)
        return name, kind, _enum_values(name, kind, values)

    def define_in(self, store: Store, name: str, type_: str, values: Sequence[str] | None) -> str:
        """``define`` inside the caller's transaction."""
        name, kind, clean = self.check(name, type_, values)
        existing = store.registry().get(name)
        if existing is None:
            store.add_attribute(attribute_field(name, kind, clean), inferred=False)
            self.catalog.keep_views(store)
            return "created"
        if existing.type is kind:
            if kind is not FieldType.ENUM or existing.enum_values == clean:
                return "unchanged"
            _check_values_kept(store, existing, clean)
            _refit_segments(store, attribute_field(name, kind, clean))
            store.set_enum_values(existing, clean)
            self.catalog.keep_views(store)
            return "updated"
        if existing.type is FieldType.TEXT and kind is FieldType.ENUM:
            _check_values_kept(store, existing, clean)
            _refit_segments(store, attribute_field(name, kind, clean))
            from . import views

            if views.kept(store):  # a view naming the column that goes would stop it going
                store.replace_views({})
            store.text_to_enum(existing, clean)
            self.catalog.keep_views(store)
            return "updated"
        raise DataError(
            f"attribute {existing.name} is {existing.type}; it cannot become {kind} "
            "(only text -> enum is supported, when every stored value is one of the enum's)"
        )


def _refit_segments(store: Store, f: Field) -> None:
    """Saved segments whose conditions name attribute ``f`` (about to become this enum), written
    again in its terms: ``city = doha`` becomes ``city = Doha``, as a filter typed now would. A
    condition that cannot be (an operator an enum does not take, a value not among its values) is
    a DataError naming the segment: the change is refused, never a filter silently matching nobody."""
    from .operators import OPERATORS

    registry = store.registry()
    target = registry.attribute(f.name)  # the stored attribute; a condition on built-in country is never it
    for segment in store.segments():
        changed = False
        groups = []
        for group in segment.filter.groups:
            conditions = []
            for cond in group.conditions:
                if target is not None and registry.get(cond.field) == target:
                    where = f'segment "{segment.name}" has "{cond.to_text()}"'
                    if not OPERATORS[cond.op].applies_to(f):
                        raise DataError(
                            f"attribute {f.name} cannot become an enum: {where}, which an enum does not take"
                        )
                    try:
                        values = tuple(normalize_enum(v, f.enum_values) for v in cond.values)
                    except InvalidValue as exc:
                        raise DataError(f"attribute {f.name}: {where}: {exc}") from None
                    if values != cond.values:
                        cond, changed = cond._replace(values=values), True
                conditions.append(cond)
            groups.append(Group(tuple(conditions)))
        if changed:
            store.update_segment(segment.pk, segment.name, segment.description, Filter(tuple(groups)))


def _check_values_kept(store: Store, f: Field, values: tuple[str, ...]) -> None:
    for stored in store.distinct_values(f):
        try:
            normalize_enum(stored, values)
        except InvalidValue:
            raise DataError(
                f'attribute {f.name}: customers still have the value "{stored}", which the new '
                f"values ({', '.join(values)}) leave out"
            ) from None


def _enum_values(name: str, kind: FieldType, values: Sequence[str] | None) -> tuple[str, ...]:
    if kind is not FieldType.ENUM:
        if values:
            raise UsageError(f"{name}: only an enum takes values")
        return ()
    clean = [str(v).strip() for v in values or [] if str(v).strip()]
    if not clean:
        raise UsageError(f"{name}: an enum needs its values (--values gold,silver,bronze)")
    seen: set[str] = set()
    for v in clean:
        if fold(v) in seen:
            raise UsageError(f'{name}: the value "{v}" is listed twice')
        seen.add(fold(v))
    return tuple(clean)


class Profiles:
    """Import profiles (SPEC §8): the built-in ones and those saved by ``seg apply``."""

    def __init__(self, catalog: Catalog) -> None:
        self.catalog = catalog

    def get(self, name: str) -> Profile:
        """The profile called ``name`` (case-insensitively); UsageError suggests the nearest."""
        import json

        from .importer.profiles import BUILT_IN, profile_from_dict

        builtin = BUILT_IN.get(name.strip().lower())
        if builtin is not None:
            return builtin
        saved = self.catalog.store().profiles() if self.catalog._exists() else []
        definition = self.catalog.store().profile(name) if saved else None
        if definition is None:
            names = list(BUILT_IN) + [n for n, _ in saved]
            raise UsageError(
                f'no profile named "{name}" (built-in: {", ".join(BUILT_IN)}'
                f"{'; saved: ' + ', '.join(n for n, _ in saved) if saved else ''}; or give a profile file)"
                f"{did_you_mean(name, names)}"
            )
        return profile_from_dict(json.loads(definition))

    def list(self) -> list[Profile]:
        """Every profile: the built-in ones, then the saved ones by name."""
        import json

        from .importer.profiles import BUILT_IN, profile_from_dict

        saved = self.catalog.store().profiles() if self.catalog._exists() else []
        return list(BUILT_IN.values()) + [profile_from_dict(json.loads(d)) for _, d in saved]


class Setting(NamedTuple):
    name: str
    default: str | None
    help: str
    check: Callable[[str], str]  # the value as stored; InvalidValue says why it cannot be one


def _zone(value: str) -> str:
    from .timeutil import zone

    return str(zone(value))


def _week_start(value: str) -> str:
    day = value.strip().lower()
    if day not in ("monday", "sunday", "saturday"):
        raise InvalidValue(f'"{value}" is not a first day of the week (monday, sunday or saturday)')
    return day


def _region(value: str) -> str:
    from .values import normalize_country

    return normalize_country(value)


def _keep(value: str) -> str:
    if not value.strip().isdigit() or not 1 <= int(value) <= 10_000:
        raise InvalidValue(f'"{value}" is not a number of exports to keep (1 to 10000)')
    return str(int(value))


#: The settings a database keeps (``seg config``), with their defaults.
SETTINGS: dict[str, Setting] = {
    s.name: s
    for s in (
        Setting("timezone", "UTC", "the zone of calendar days and naive timestamps (an IANA name)", _zone),
        Setting("week_start", "monday", "the first day of a week: monday, sunday or saturday", _week_start),
        Setting("default_region", None, "the country of phone numbers written without a country code", _region),
        Setting("audience_keep", "30", "how many exports of each saved audience keep their membership", _keep),
    )
}


class Settings:
    """Settings kept in the database (``seg config``): each has a default, and a value is checked
    before it is stored; a bad one is a UsageError and the setting is left unchanged."""

    def __init__(self, catalog: Catalog) -> None:
        self.catalog = catalog

    def stored(self) -> dict[str, str]:
        """The settings stored in the database (none before it exists)."""
        return self.catalog.store().settings() if self.catalog._exists() else {}

    def list(self) -> list[dict]:
        """Every setting: ``name``, ``value`` (the default if not set), ``default``, ``set``, ``help``."""
        stored = self.stored()
        return [
            {
                "name": s.name,
                "value": stored.get(s.name, s.default),
                "default": s.default,
                "set": s.name in stored,
                "help": s.help,
            }
            for s in SETTINGS.values()
        ]

    def get(self, name: str) -> str | None:
        """The setting's value, or its default."""
        setting = self._setting(name)
        return self.stored().get(setting.name, setting.default)

    def set(self, name: str, value: str) -> str:
        """Store a setting; returns the value as stored (``Asia/Muscat``, ``monday``, ``OM``)."""
        setting = self._setting(name)
        try:
            clean = setting.check(value)
        except InvalidValue as exc:
            raise UsageError(f"{setting.name}: {exc}; the setting is unchanged") from None
        store = self.catalog.store(write=True)
        with store.transaction("config"):
            store.set_setting(setting.name, clean)
        return clean

    def unset(self, name: str) -> None:
        """Remove a setting, so that its default applies."""
        setting = self._setting(name)
        store = self.catalog.store(write=True)
        with store.transaction("config"):
            store.set_setting(setting.name, None)

    @staticmethod
    def _setting(name: str) -> Setting:
        setting = SETTINGS.get(name.strip().lower())
        if setting is None:
            raise UsageError(
                f'unknown setting "{name}" (one of {", ".join(SETTINGS)}){did_you_mean(name, list(SETTINGS))}'
            )
        return setting
