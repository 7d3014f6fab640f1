"""The public Python API. The CLI is a thin layer over it; analysts' scripts use it directly.

    import segcli

    db = segcli.open("shop.db")
    db.import_file("customers.csv")
    db.segments.create("VIP Arabic Speakers", "tags contains VIP and language = Arabic")
    print(db.count(["VIP Arabic Speakers"]))
    for customer in db.members(["VIP Arabic Speakers"], columns=["id", "name", "phone"]):
        print(customer)

Nothing is cached across calls: every count and member list is computed when asked, against the
time ``now`` (the clock, unless pinned).
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, NamedTuple

from . import faults, settings
from .compile import CompileContext, Compiled, Dialect, compile_audience, compile_condition
from .errors import DataError, FilterError, NotFoundError, SegError, TooLargeError, UsageError
from .fields import (
    ATTRIBUTE_TYPES,
    BUILTIN_FIELDS,
    Field,
    FieldRegistry,
    FieldType,
    InvalidValue,
    attribute_field,
    check_attribute_name,
    fold,
    normalize_enum,
)
from .model import Filter
from .store import Store

if TYPE_CHECKING:
    from .export import ExportResult
    from .importer import ImportSummary

DEFAULT_COLUMNS = ("id", "name", "phone", "email", "platform", "language", "country")
MAX_NAME_LENGTH = 200


def parse_now(text: str | None, name: str = "--now") -> datetime:
    """``--now`` / ``SEG_NOW``: an ISO 8601 instant (UTC if it has no offset); the clock if None.
    A bad one is a UsageError naming ``name``, the option or variable it came from."""
    if text is None:
        return datetime.now(UTC).replace(microsecond=0)
    from .fields import parse_date

    try:
        return parse_date(text)[0]
    except InvalidValue as exc:
        raise UsageError(f"{name}: {exc}") from None
    except (ValueError, OverflowError):  # an offset that moves the date out of range
        raise UsageError(f'{name}: "{text}" is out of range once moved to UTC') from None


def open(path: str | os.PathLike | None = None, *, now: datetime | str | None = None) -> Seg:
    """Open the seg database at ``path`` (default ``$SEG_DB`` or ``segments.db``).

    The file is created by the first write that commits; reading a file that does not exist raises
    NotFoundError. ``now`` pins the instant that relative dates are measured from (default
    ``$SEG_NOW`` or the clock)."""
    path = os.fspath(path) if path is not None else settings.database_path()
    if now is None:
        now = parse_now(settings.now_text(), "SEG_NOW")
    elif isinstance(now, str):
        now = parse_now(now)
    return Seg(path, now)


class GroupTrace(NamedTuple):
    conditions: list[dict]
    matched: bool


class WhyReport:
    """Why a customer is or is not in a segment: each group, each condition, value and verdict."""

    def __init__(self, segment: str, customer_id: str) -> None:
        self.segment = segment
        self.customer_id = customer_id
        self.groups: list[GroupTrace] = []

    @property
    def matched(self) -> bool:
        return any(g.matched for g in self.groups)

    def to_json(self) -> dict:
        return {
            "segment": self.segment,
            "customer": self.customer_id,
            "matched": self.matched,
            "groups": [{"matched": g.matched, "conditions": g.conditions} for g in self.groups],
        }


class Seg:
    """An open seg database. Reads open the file lazily; the first write creates it."""

    def __init__(self, path: str, now: datetime) -> None:
        self.path = path
        self.now = now
        self._store: Store | None = None
        self.segments = Segments(self)
        self.attributes = Attributes(self)

    # --- plumbing -----------------------------------------------------------------------------

    def store(self, *, write: bool = False) -> Store:
        if self._store is None:
            self._store = Store.open(self.path, create=write)
        return self._store

    def close(self) -> None:
        if self._store is not None:
            self._store.close()
            self._store = None

    @property
    def committed(self) -> list[str]:
        """The writes committed through this open database so far (``import``, ``apply``...)."""
        return list(self._store.committed) if self._store is not None else []

    def __enter__(self) -> Seg:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def registry(self) -> FieldRegistry:
        return self.store().registry()

    def parse(self, where: str | Sequence[str], *, groups_before: int = 0) -> Filter:
        """Filter text (or several, joined with ``or``) -> a checked Filter model. ``groups_before``:
        how many groups the filter it will be added to has (at most 100 in all)."""
        from .parse import parse_filter  # the parser (lark) is loaded only when text is parsed

        texts = [where] if isinstance(where, str) else list(where)
        if not texts:
            raise UsageError("a filter is needed (--where)")
        registry = self.registry() if os.path.exists(self.path) else FieldRegistry()
        result = Filter()
        for text in texts:
            result = result | parse_filter(text, registry, groups_before=groups_before + len(result.groups))
        return result

    def compile(self, include: Sequence[Filter], exclude: Sequence[Filter] = ()) -> Compiled:
        return compile_audience(self.registry(), self.now, list(include), list(exclude))

    def _filters(self, names: Sequence[str]) -> list[Filter]:
        return [self.segments.filter(n) for n in names]

    def saved_filter(self, segment: dict) -> Filter:
        """A saved segment's filter, checked that it can be evaluated: one saved by an older seg
        may hold what this one refuses (a number beyond SQLite's, a field since gone), which is a
        DataError naming the segment."""
        try:
            flt = Filter.loads(segment["model"])
            self.compile([flt])
        except _UNEVALUABLE as exc:
            raise DataError(
                f'segment "{segment["name"]}" cannot be evaluated: {_reason(exc)}; change its filter with seg edit'
            ) from None
        return flt

    def count_saved(self, segment: dict) -> tuple[int | None, str | None]:
        """A saved segment's count now, or None and why it cannot be counted: listing segments
        never fails on one of them."""
        try:
            return self.count_filter(self.saved_filter(segment)), None
        except SegError as exc:
            return None, exc.message

    def check_evaluable(self, flt: Filter, text: str | None = None) -> None:
        """Refuse, as a FilterError pointing at the whole ``text``, a filter about to be saved that
        the database cannot evaluate (too large for it)."""
        text = text if text is not None else flt.to_text()
        try:
            compiled = self.compile([flt])
            self.store().explain(compiled.sql, compiled.params)
        except (TooLargeError, DataError) as exc:
            raise FilterError(f"the filter cannot be evaluated: {exc.message}", text, 0, len(text)) from None

    def audience(self, names: Sequence[str], exclude: Sequence[str] = ()) -> Compiled:
        """The compiled WHERE of customers in any of ``names`` and none of ``exclude``."""
        if not names:
            raise UsageError("name at least one segment")
        return self.compile(self._filters(names), self._filters(exclude))

    # --- customers ----------------------------------------------------------------------------

    def import_file(self, path: str, **options) -> ImportSummary:
        """Import customers from a CSV, JSON or JSONL file (``-`` for stdin). Options: ``fmt``,
        ``skip_invalid``, ``rejects``, ``dry_run``, ``progress``; see ``segcli.importer``."""
        from .importer import import_file

        return import_file(self.store(write=True), path, **options)

    def import_files(self, paths: Sequence[str], **options) -> list[ImportSummary]:
        """Import several files in one transaction: all of them, or none if one fails."""
        from .importer import import_files

        return import_files(self.store(write=True), list(paths), **options)

    def customer(self, customer_id: str) -> dict:
        """One customer: its fields, tags, attributes, and the segments it is in now."""
        store = self.store()
        with store.snapshot():
            row = store.customer(customer_id)
            if row is None:
                near = store.customer_ids_like(customer_id)
                hint = f" (did you mean {', '.join(near)}?)" if near else ""
                raise NotFoundError(f'no customer with id "{customer_id}"{hint}')
            registry = store.registry()
            out = {f.name: _value_of(f, row) for f in BUILTIN_FIELDS}
            out["attributes"] = {f.name: _value_of(f, row) for f in registry.attributes.values()}
            out["segments"] = []
            out["segment_errors"] = []  # segments that cannot be evaluated: the customer is shown all the same
            for s in store.segments():
                try:
                    if store.matches(row["pk"], *_where(self.compile([self.saved_filter(s)]))):
                        out["segments"].append(s["name"])
                except SegError as exc:
                    out["segment_errors"].append({"segment": s["name"], "error": exc.message})
        return out

    # --- counting and listing -----------------------------------------------------------------

    def count(self, names: Sequence[str], exclude: Sequence[str] = ()) -> int:
        """Distinct customers in any of the segments ``names`` and in none of ``exclude``."""
        return self.store().count_where(*_where(self.audience(names, exclude)))

    def count_filter(self, flt: Filter) -> int:
        return self.store().count_where(*_where(self.compile([flt])))

    def members(
        self,
        names: Sequence[str] = (),
        exclude: Sequence[str] = (),
        *,
        where: Filter | None = None,
        columns: Sequence[str] | None = None,
        sort: str | None = None,
        limit: int | None = None,
    ) -> Iterator[dict]:
        """The matching customers as dicts of ``columns``, sorted by id (or ``sort``: a field,
        ``-field`` for descending), streamed from the database."""
        compiled = self.compile([where]) if where is not None else self.audience(names, exclude)
        fields = self.columns(columns)
        order = self._order(sort)
        return self._rows(compiled, fields, order, limit)

    def columns(self, names: Sequence[str] | None) -> list[Field]:
        """Fields for output columns; unknown names raise UsageError with suggestions."""
        registry = self.registry()
        return [registry.resolve(name, "column") for name in names or DEFAULT_COLUMNS]

    def _order(self, sort: str | None) -> list[tuple[str, bool]]:
        if not sort:
            return [("id", False)]
        desc = sort.startswith("-")
        f = self.registry().resolve(sort.lstrip("-").strip(), "field to sort by")
        if f.is_list:
            raise UsageError(f"cannot sort by {f.name}: it is a list")
        column = f.fold_column or f.column
        return [(column, desc), ("id", False)]

    def _rows(self, compiled: Compiled, fields: list[Field], order, limit) -> Iterator[dict]:
        store = self.store()
        columns = [f.column for f in fields]
        cursor = store.select_where(compiled.sql, compiled.params, columns, order, limit)
        for row in cursor:
            yield {f.name: _convert(f, v) for f, v in zip(fields, row, strict=True)}

    # --- campaign audiences -------------------------------------------------------------------

    def export(self, names: Sequence[str], output: str, **options) -> ExportResult:
        """Write the audience of ``names`` to ``output`` (``-``: stdout) and record it in the
        history. Options: ``exclude``, ``columns``, ``fmt`` (csv|jsonl), ``include_opted_out``,
        ``require`` (fields that must have a value), ``raw``, ``progress``. See SPEC §5."""
        from .export import export_audience

        return export_audience(self, names, output, **options)

    def history(self, limit: int | None = None) -> list[dict]:
        """Recorded exports, newest first: time, segments and filters as they were, options,
        waterfall, count written, path and SHA-256 of the file."""
        return self.store().exports(limit)

    # --- explaining ---------------------------------------------------------------------------

    def why(self, name: str, customer_id: str) -> WhyReport:
        """Each group and condition of the segment, the customer's value, and whether it matched."""
        segment = self.segments.get(name)
        store = self.store()
        row = store.customer(customer_id)
        if row is None:
            raise NotFoundError(f'no customer with id "{customer_id}"')
        flt = self.saved_filter(segment)
        registry = store.registry()
        report = WhyReport(segment["name"], customer_id)
        for group in flt.groups:
            conditions = []
            for cond in group.conditions:
                ctx = CompileContext(registry, self.now, Dialect())
                sql = compile_condition(ctx, cond)
                f = registry.get(cond.field)
                conditions.append(
                    {
                        "condition": cond.to_text(),
                        "field": cond.field,
                        "value": _value_of(f, row) if f else None,
                        "matched": store.matches(row["pk"], sql, ctx.params),
                    }
                )
            report.groups.append(GroupTrace(conditions, all(c["matched"] for c in conditions)))
        return report

    def explain(self, flt: Filter) -> dict:
        """The SQL, parameters and query plan of a filter, for ``seg show --sql``."""
        compiled = self.compile([flt])
        sql = f"SELECT count(*) FROM customers c WHERE {compiled.sql}"
        return {"sql": sql, "params": compiled.params, "plan": self.store().explain(compiled.sql, compiled.params)}

    # --- segments as code ---------------------------------------------------------------------

    def apply(self, text: str, *, source: str = "<yaml>", prune: bool = False, dry_run: bool = False):
        """Apply a YAML document of attributes and segments; return the plan (see yamlio)."""
        from .yamlio import apply_document

        return apply_document(self, text, source=source, prune=prune, dry_run=dry_run)

    def dump(self, names: Sequence[str] = ()) -> str:
        """The segments (all, or ``names``) and the attributes they need, as YAML for ``apply``."""
        from .yamlio import dump_document

        return dump_document(self, names)


def _where(compiled: Compiled) -> tuple[str, dict]:
    return compiled.sql, compiled.params


def _value_of(f: Field, row: dict) -> object:
    return _convert(f, row.get(f.column))


def _convert(f: Field, value: object) -> object:
    """A stored value as Python: lists from JSON, booleans as bool."""
    if value is None:
        return [] if f.is_list else (False if f.required else None)
    if f.is_list:
        return json.loads(value)
    if f.type is FieldType.BOOLEAN:
        return bool(value)
    return value


class Segments:
    """``seg.segments``: create, edit, delete, get and list saved segments."""

    def __init__(self, seg: Seg) -> None:
        self.seg = seg

    def get(self, name: str) -> dict:
        """The stored segment (name, description, filter, model...). Unknown names raise
        NotFoundError suggesting the nearest."""
        found = self.seg.store().segment(name)
        if found is None:
            raise NotFoundError(f'no segment named "{name}"{self._hint(name)}')
        return found

    def _hint(self, name: str) -> str:
        import difflib

        names = self.seg.store().segment_names()
        lowered = {fold(n): n for n in names}
        close = difflib.get_close_matches(fold(name), list(lowered), n=3, cutoff=0.5)
        found = [lowered[c] for c in close]
        found += [n for k, n in lowered.items() if fold(name) in k and n not in found]
        return f" (did you mean {', '.join(repr(n) for n in found[:3])}?)" if found else ""

    def list(self, *, with_counts: bool = True) -> list[dict]:
        """Every segment with its filter, description and, if asked, its current count."""
        store = self.seg.store()
        out = []
        with store.snapshot():
            for s in store.segments():
                item = {"name": s["name"], "description": s["description"], "filter": s["filter"],
                        "created_at": s["created_at"], "updated_at": s["updated_at"]}
                if with_counts:  # a segment that cannot be counted has no count, and says why
                    item["count"], item["error"] = self.seg.count_saved(s)
                out.append(item)
        return out

    def create(self, name: str, where: str | Sequence[str] | Filter, description: str | None = None) -> dict:
        """Save a new segment. ``where`` is filter text, several texts (joined with ``or``) or a Filter."""
        name = check_segment_name(name)
        flt = where if isinstance(where, Filter) else self.seg.parse(where)
        store = self.seg.store(write=True)
        self.seg.check_evaluable(flt, _filter_text(where))
        with store.transaction("create"):
            existing = store.segment(name)
            if existing is not None:
                raise DataError(f'a segment named "{existing["name"]}" already exists (use seg edit)')
            store.insert_segment(name, _clean(description), flt.to_text(), flt.dumps())
        return store.segment(name)

    def edit(
        self,
        name: str,
        *,
        where: str | Sequence[str] | Filter | None = None,
        or_where: str | Sequence[str] | None = None,
        rename: str | None = None,
        description: str | None = None,
    ) -> dict:
        """Change a segment: ``where`` replaces its filter, ``or_where`` adds groups."""
        store = self.seg.store(write=True)
        current = self.get(name)
        flt = Filter.loads(current["model"])
        text = current["filter"]
        if where:
            flt = where if isinstance(where, Filter) else self.seg.parse(where)
            text = _filter_text(where)
        if or_where:
            flt = flt | self.seg.parse(or_where, groups_before=len(flt.groups))
            text = f"{text} or {_filter_text(or_where)}"
        if where or or_where:
            self.seg.check_evaluable(flt, text)
        new_name = check_segment_name(rename) if rename else current["name"]
        new_description = current["description"] if description is None else _clean(description)
        with store.transaction("edit"):
            other = store.segment(new_name)
            if other is not None and other["pk"] != current["pk"]:
                raise DataError(f'a segment named "{other["name"]}" already exists')
            store.update_segment(current["pk"], new_name, new_description, flt.to_text(), flt.dumps())
        return store.segment(new_name)

    def delete(self, names: Sequence[str]) -> list[str]:
        """Delete segments (never customers), all or none; returns their names."""
        store = self.seg.store(write=True)
        found = [self.get(n) for n in names]
        with store.transaction("delete"):
            for s in found:
                store.delete_segment(s["pk"])
            faults.point("delete:before-commit")
        return [s["name"] for s in found]

    def filter(self, name: str) -> Filter:
        """A segment's filter; DataError if it cannot be evaluated (see ``Seg.saved_filter``)."""
        return self.seg.saved_filter(self.get(name))

    def groups(self, segment: dict) -> tuple:
        """A saved segment's groups, for showing it; none if its stored model cannot be read."""
        try:
            return Filter.loads(segment["model"]).groups
        except (ValueError, KeyError, TypeError):
            return ()


#: What evaluating a filter saved by another version of seg may raise: seg's own errors, and a
#: stored model it cannot read.
_UNEVALUABLE = (SegError, ValueError, KeyError, TypeError)


def _reason(exc: Exception) -> str:
    return exc.message if isinstance(exc, SegError) else f"its stored form cannot be read ({type(exc).__name__}: {exc})"


def _filter_text(where: str | Sequence[str] | Filter) -> str:
    """Filter text as the user gave it, for an error to point at."""
    if isinstance(where, Filter):
        return where.to_text()
    return where if isinstance(where, str) else " or ".join(where)


def _clean(text: str | None) -> str | None:
    return _check_utf8(text, "a description").strip() or None if text is not None else None


_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def _check_utf8(text: str, what: str) -> str:
    """Command-line arguments that were not UTF-8 arrive with lone surrogates, which SQLite cannot store."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise UsageError(f"{what} is not valid UTF-8") from None
    return text


def check_segment_name(name: str) -> str:
    name = " ".join(_check_utf8(name or "", "a segment name").split())
    if not name:
        raise UsageError("a segment name cannot be empty")
    if len(name) > MAX_NAME_LENGTH:
        raise UsageError(f"a segment name has at most {MAX_NAME_LENGTH} characters")
    if _CONTROL.search(name):
        raise UsageError("a segment name cannot hold control characters")
    return name


class Attributes:
    """``seg.attributes``: the custom attributes, their types and how many customers have a value."""

    def __init__(self, seg: Seg) -> None:
        self.seg = seg

    def list(self) -> list[dict]:
        store = self.seg.store()
        counts = store.value_counts()
        rows = store.attribute_rows()
        for r in rows:
            r["count"] = counts.get(r["name"], 0)
        return rows

    def define(self, name: str, type_: str, values: Sequence[str] | None = None) -> str:
        """Declare an attribute (or confirm it). Returns "created", "updated" or "unchanged".

        An enum may gain values; a text attribute may become an enum if every stored value is one
        of the enum's values. Other type changes are refused."""
        store = self.seg.store(write=True)
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
            return "created"
        if existing.type is kind:
            if kind is not FieldType.ENUM or existing.enum_values == clean:
                return "unchanged"
            self._check_values_kept(store, existing, clean)
            store.set_enum_values(existing, clean)
            return "updated"
        if existing.type is FieldType.TEXT and kind is FieldType.ENUM:
            self._check_values_kept(store, existing, clean)
            store.text_to_enum(existing, clean)
            return "updated"
        raise DataError(
            f"attribute {existing.name} is {existing.type}; it cannot become {kind} "
            "(only text -> enum is supported, when every stored value is one of the enum's)"
        )

    @staticmethod
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

