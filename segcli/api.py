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
from collections.abc import Iterable, Iterator, Sequence
from datetime import UTC, datetime, tzinfo
from typing import TYPE_CHECKING, NamedTuple

from . import catalog, settings
from .catalog import Catalog
from .compile import CompileContext, Compiled, compile_audience, compile_condition
from .errors import InvalidValue, NotFoundError, SegError, TooLargeError, UsageError, hint
from .fields import BUILTIN_FIELDS, Field, FieldRegistry, FieldType
from .model import Filter, Segment
from .store import Store, is_url, open_store
from .timeutil import Clock

if TYPE_CHECKING:
    from contextlib import AbstractContextManager

    from .export import AudienceDiff, ExportResult
    from .fixtures import FixtureReport
    from .importer import ImportSummary
    from .importer.profiles import Profile
    from .lint import LintReport
    from .views import SegmentView


def parse_now(text: str | None, name: str = "--now") -> datetime:
    """``--now`` / ``SEG_NOW``: an ISO 8601 instant (UTC if it has no offset); the clock if None.
    A bad one is a UsageError naming ``name``, the option or variable it came from."""
    if text is None:
        return datetime.now(UTC).replace(microsecond=0)
    from .timeutil import parse_date

    try:
        return parse_date(text.strip())[0]
    except InvalidValue as exc:
        raise UsageError(f"{name}: {exc}") from None
    except (ValueError, OverflowError):  # an offset that moves the date out of range
        raise UsageError(f'{name}: "{text}" is out of range once moved to UTC') from None


def parse_zone(name: str | tzinfo | None, source: str = "--tz") -> tzinfo | None:
    """``--tz`` / ``SEG_TZ``: an IANA zone name (a ``ZoneInfo`` is taken as it is); None stays
    None. A bad one is a UsageError naming ``source``, the option or variable it came from."""
    if name is None or isinstance(name, tzinfo):
        return name
    from .timeutil import zone

    try:
        return UTC if name.strip() == "UTC" else zone(name.strip())
    except InvalidValue as exc:
        raise UsageError(f"{source}: {exc}") from None


def open(
    path: str | os.PathLike | None = None,
    *,
    now: datetime | str | None = None,
    tz: str | tzinfo | None = None,
) -> Seg:
    """Open the seg database at ``path`` (default ``$SEG_DB`` or ``segments.db``): a SQLite file,
    or a ``postgresql://`` URL (in the schema ``seg`` unless the URL's ``?schema=`` says otherwise).

    The database is created by the first write that commits; reading one that does not exist raises
    NotFoundError. ``now`` pins the instant that relative dates are measured from (default
    ``$SEG_NOW`` or the clock). ``tz`` is the zone of calendar days and of naive timestamps in
    imported files (an IANA name like ``Asia/Muscat``; default ``$SEG_TZ``, else the database's
    ``timezone`` setting, else UTC)."""
    path = os.fspath(path) if path is not None else settings.database_path()
    if now is None:
        now = parse_now(settings.now_text(), "SEG_NOW")
    elif isinstance(now, str):
        now = parse_now(now)
    zone = parse_zone(tz) if tz is not None else parse_zone(settings.tz_text(), "SEG_TZ")
    return Seg(path, now, zone)


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

    def __init__(self, path: str, now: datetime, zone: tzinfo | None = None) -> None:
        self.path = path
        self.now = now
        self._store: Store | None = None
        self.catalog = Catalog(lambda write: self.store(write=write), exists=self._exists, now=now, zone=zone)
        self.segments = Segments(self)
        self.attributes = self.catalog.attributes
        self.settings = self.catalog.settings
        self.audiences = self.catalog.audiences

    def _exists(self) -> bool:
        if self._store is not None:
            return True
        if not is_url(self.path):
            return os.path.exists(self.path)
        try:  # a server: whether its schema holds a seg database (kept open if it does)
            self.store()
        except NotFoundError:
            return False
        return True

    # --- plumbing -----------------------------------------------------------------------------

    def store(self, *, write: bool = False) -> Store:
        if self._store is None:
            self._store = open_store(self.path, create=write)
        return self._store

    def close(self) -> None:
        if self._store is not None:
            self._store.close()
            self._store = None

    @property
    def migration_notes(self) -> list[str]:
        """What opening (migrating) the file changed that its user should know: the phones that
        the E.164 migration could not read, for one."""
        return list(self._store.migration_notes) if self._store is not None else []

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

    @property
    def zone(self) -> tzinfo:
        """The zone in force: the ``tz`` given (or ``SEG_TZ``), else the database's setting, else UTC."""
        return self.catalog.zone()

    def clock(self) -> Clock:
        """``now``, the zone in force and the first day of a week: what relative dates are measured
        against (``timeutil.Clock``)."""
        return self.catalog.clock()

    def parse(self, where: str | Sequence[str], *, groups_before: int = 0) -> Filter:
        """Filter text (or several, joined with ``or``) -> a checked Filter model. ``groups_before``:
        how many groups the filter it will be added to has (at most 100 in all)."""
        return self.catalog.parse(where, groups_before=groups_before)

    def saved_filter(self, segment: Segment) -> Filter:
        """A saved segment's filter, checked that it can be evaluated (``Catalog.saved_filter``)."""
        return self.catalog.saved_filter(segment)

    def count_saved(self, segment: Segment) -> tuple[int | None, str | None]:
        """A saved segment's count now, or None and why it cannot be counted: listing segments
        never fails on one of them."""
        try:
            return self.count_filter(self.saved_filter(segment)), None
        except SegError as exc:
            return None, exc.message

    def compile(self, include: Sequence[Filter], exclude: Sequence[Filter] = ()) -> Compiled:
        clock = self.clock()
        return compile_audience(self.registry(), clock, list(include), list(exclude), dialect=self.catalog.dialect)

    def audience(self, names: Sequence[str], exclude: Sequence[str] = ()) -> Compiled:
        """The compiled WHERE of customers in any of ``names`` and none of ``exclude``."""
        if not names:
            raise UsageError("name at least one segment")
        return self.compile(self.catalog.segments.filters(names), self.catalog.segments.filters(exclude))

    # --- customers ----------------------------------------------------------------------------

    def import_file(self, path: str, **options) -> ImportSummary:
        """Import customers from a CSV, JSON or JSONL file (``-`` for stdin); the options are
        ``import_files``'."""
        return self.import_files([path], **options)[0]

    def import_files(
        self,
        paths: Sequence[str],
        *,
        profile: str | Profile | None = None,
        maps: Sequence[str] = (),
        skip: Sequence[str] = (),
        key: str | None = None,
        dayfirst: bool | None = None,
        zone: tzinfo | str | None = None,
        **options,
    ) -> list[ImportSummary]:
        """Import several files in one transaction: all of them, or none if one fails.

        ``profile``: a built-in or saved profile's name, a profile file, or a ``Profile``
        (default ``auto``); ``maps``: ``HEADER=FIELD`` mappings laid over it; ``skip``: headers
        left out; ``key``: ``id``, ``phone`` or ``email``; ``dayfirst``: how ``03/04/2026`` reads
        (False: month first); ``zone``: where a timestamp written without an offset is a
        wall-clock time (default: the zone in force, SPEC §9; a profile's own ``timezone`` wins). Other options: ``fmt``, ``skip_invalid``, ``rejects``, ``dry_run``,
        ``progress``, ``delimiter``, ``encoding`` (see ``segcli.importer.import_files``)."""
        from .importer import import_files

        chosen = self.profile(profile).with_options(
            maps=[_parse_map(m) for m in maps], skip=list(skip), key=_check_key(key), dayfirst=dayfirst
        )
        return import_files(
            self.store(write=True),
            list(paths),
            profile=chosen,
            zone=self._zone(zone),
            default_region=self.settings.stored().get("default_region"),
            **options,
        )

    def import_rows(self, rows: Iterable[dict], *, label: str = "rows", **options) -> ImportSummary:
        """Import customers given as dicts (as a JSON object would give them: keys are headers,
        so a ``profile`` applies as to a file), in one transaction. The rows are streamed through
        a temporary file, so memory stays flat however many there are; dates, times and
        decimals are written as ISO 8601 and numbers. Options as ``import_files``."""
        import tempfile

        fd, spool = tempfile.mkstemp(prefix="seg-rows-", suffix=".jsonl")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                for row in rows:
                    fh.write(json.dumps(row, ensure_ascii=False, default=_json_value) + "\n")
            return self.import_files([spool], fmt="jsonl", labels=[label], **options)[0]
        finally:
            os.unlink(spool)

    def profile(self, spec: str | Profile | None) -> Profile:
        """A profile by name (built-in or saved), from a file (a path that exists, or ends in
        ``.yaml``/``.yml``), or as given; None: ``auto``."""
        from .importer.profiles import AUTO, Profile

        if spec is None:
            return AUTO
        if isinstance(spec, Profile):
            return spec
        if os.path.exists(spec) or spec.lower().endswith((".yaml", ".yml")):
            from .yamlio import read_profile_file
            from .yamlnodes import read_text

            return read_profile_file(read_text(spec, "profile file"), spec)
        return self.catalog.profiles.get(spec)

    def _zone(self, zone: tzinfo | str | None) -> tzinfo | None:
        """The zone of naive times in files: as given, else the zone in force; None for UTC."""
        from .timeutil import zone as zone_named

        if zone is None:
            zone = self.zone
        if isinstance(zone, str):
            try:
                zone = zone_named(zone)
            except InvalidValue as exc:
                raise UsageError(str(exc)) from None
        return None if str(zone) == "UTC" else zone

    def customer(self, customer_id: str) -> dict:
        """One customer: its fields, tags, attributes, and the segments it is in now."""
        store = self.store()
        with store.snapshot():
            row = store.customer(customer_id)
            if row is None:
                near = store.customer_ids_like(customer_id)
                raise NotFoundError(f'no customer with id "{customer_id}"{hint(near, quoted=False)}')
            registry = store.registry()
            out = {f.name: _value_of(f, row) for f in BUILTIN_FIELDS}
            out["attributes"] = {f.name: _value_of(f, row) for f in registry.attributes.values()}
            out["segments"] = []
            out["segment_errors"] = []  # segments that cannot be evaluated: the customer is shown all the same
            for s in store.segments():
                try:
                    if store.matches(row["pk"], *_where(self.compile([self.saved_filter(s)]))):
                        out["segments"].append(s.name)
                except SegError as exc:
                    out["segment_errors"].append({"segment": s.name, "error": exc.message})
        return out

    # --- counting and listing -----------------------------------------------------------------

    def count(self, names: Sequence[str], exclude: Sequence[str] = ()) -> int:
        """Distinct customers in any of the segments ``names`` and in none of ``exclude``."""
        return self.store().count_where(*_where(self.audience(names, exclude)))

    def count_many(self, filters: Sequence[Filter]) -> list[int]:
        """How many customers match each filter, counted together (one pass or better, never one
        per filter), in one state of the data; a count made earlier is reused only at the same data
        version and time boundaries (``counts.Counter``)."""
        from .counts import Counter

        counter = Counter(self.catalog, self.clock())
        with self.store().snapshot():
            return counter.filters(list(filters))  # reused if kept; kept only by seg list and seg snapshot

    def snapshot(self) -> dict:
        """Record every segment's count at ``now`` (``seg snapshot``): ``{"taken_at", "counts":
        [{"name", "count", "error"}]}``; a segment that cannot be counted is not recorded."""
        from .counts import snapshot

        return snapshot(self.catalog, self.clock())

    def history_of(self, name: str) -> list[dict]:
        """The segment's recorded counts (``seg snapshot``) up to ``now``, oldest first:
        ``[{"at", "count"}]``."""
        from .counts import trends

        segment = self.segments.get(name)
        return [{"at": at, "count": n} for at, n in trends(self.catalog, self.clock(), None).get(segment.pk, [])]

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
        return self._rows(compiled, fields, order, _check_limit(limit))

    def columns(self, names: Sequence[str] | None) -> list[Field]:
        """Fields for output columns; unknown names raise UsageError with suggestions."""
        return self.catalog.columns(names)

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
        registry = store.registry()
        keys = [registry.filter_name(f) for f in fields]  # the attribute Country is attr_country
        for row in cursor:
            yield {k: _convert(f, v) for k, f, v in zip(keys, fields, row, strict=True)}

    # --- campaign audiences -------------------------------------------------------------------

    def export(self, names: Sequence[str], output: str, **options) -> ExportResult:
        """Write the audience of ``names`` to ``output`` (``-``: stdout) and record it in the
        history. Options: ``exclude``, ``columns``, ``fmt`` (csv|jsonl), ``include_opted_out``,
        ``require`` (fields that must have a value), ``unique`` (phone|email), ``raw``,
        ``progress``; or ``audience`` (a saved audience's name, with no names and only ``fmt``,
        ``raw`` and ``changes``: write the added and removed customers beside the file). See SPEC
        §5 and §10."""
        from .export import export_audience

        return export_audience(self.catalog, self.clock(), names, output, **options)

    def audience_report(self, name: str) -> dict:
        """A saved audience: its definition (``Audience.to_json``), its ``waterfall`` now and its
        ``exports`` (newest first, with the changes of each and whether its membership is kept)."""
        from .export import audience_report

        return audience_report(self.catalog, self.clock(), name)

    def audience_diff(self, name: str) -> AbstractContextManager[AudienceDiff]:
        """What an export of the saved audience ``name`` would change now, without exporting:
        ``with db.audience_diff(name) as diff: list(diff.added)``."""
        from .export import audience_diff

        return audience_diff(self.catalog, self.clock(), name)

    def history(self, limit: int | None = None) -> list[dict]:
        """Recorded exports, newest first: time, segments and filters as they were, options,
        waterfall, count written, path and SHA-256 of the file."""
        return self.store().exports(_check_limit(limit))

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
        clock = self.clock()
        report = WhyReport(segment.name, customer_id)
        for group in flt.groups:
            conditions = []
            for cond in group.conditions:
                ctx = CompileContext(registry, clock, self.catalog.dialect)
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

        return apply_document(self.catalog, text, source=source, prune=prune, dry_run=dry_run)

    def dump(self, names: Sequence[str] = ()) -> str:
        """The segments (all, or ``names``) and the attributes they need, as YAML for ``apply``."""
        from .yamlio import dump_document

        return dump_document(self.catalog, names)

    # --- analysts' tools ----------------------------------------------------------------------

    def lint(self, names: Sequence[str] = (), *, text: str | None = None, source: str = "<yaml>") -> LintReport:
        """Findings about saved segments (all, or ``names``), or with ``text`` about the segments
        of a YAML document, read but not applied (SPEC §11). See ``segcli.lint``."""
        from .lint import lint

        return lint(self.catalog, names, count_many=self.count_many, text=text, source=source)

    def fields(self, top: int = 5) -> list[dict]:
        """Every field and attribute: ``name``, ``type``, ``aliases``, ``operators``, ``count``
        (customers with a value) and ``top_values`` (``[{"value", "count"}]``)."""
        from .fieldstats import describe_fields

        return describe_fields(self.store(), top)

    def overlap(self, names: Sequence[str]) -> dict:
        """How many customers each pair of segments shares: ``{"segments": names, "counts":
        matrix}``, ``counts[i][j]`` in both ``names[i]`` and ``names[j]``, the diagonal each one's
        own count; counted together, in one pass (``Store.count_many``)."""
        from .compile import compile_overlap

        if len(names) < 2:
            raise UsageError("name at least two segments to compare")
        filters = self.catalog.segments.filters(names)
        expressions, params, cells = compile_overlap(self.registry(), self.clock(), filters, self.catalog.dialect)
        store = self.store()
        try:
            counts = store.count_many(expressions, params)
        except TooLargeError:  # fine one by one, too large together (the engine's parameter limit)
            counts = [store.count_many([e], params)[0] for e in expressions]
        matrix = [[0] * len(names) for _ in names]
        for (i, j), n in zip(cells, counts, strict=True):
            matrix[i][j] = matrix[j][i] = n
        return {"segments": [self.segments.get(n).name for n in names], "counts": matrix}

    def test(self, text: str, *, source: str = "<yaml>") -> FixtureReport:
        """Run a fixture file (SPEC §11: ``now``, optional ``timezone``, ``week_start``,
        ``attributes`` and ``segments``, ``customers``, ``expect``) in a throwaway in-memory
        database; this database only lends its attributes and segments when the file has none."""
        from .fixtures import run_fixture

        return run_fixture(text, source, database=self if self._exists() else None, throwaway=_throwaway)

    def views(self, *, keep: bool = True) -> list[SegmentView]:
        """Make one SQL view per segment (``segment_<slug>``) and keep them in step with every
        later change to the segments; with ``keep=False``, drop them and stop. Returns the views
        (``name``, ``segment``, ``notes``, ``error`` for a segment that cannot be evaluated)."""
        from . import views

        store = self.store(write=True) if keep else self.store()
        with store.transaction("views"):
            store.set_setting(views.SETTING, "on" if keep else None)
            if keep:
                return views.sync(store, self.clock(), self.catalog.dialect)
            store.replace_views({})
        return []

    def sqlite_utils(self):
        """The database as a ``sqlite_utils.Database``, for analysts' own tables and joins (an
        SQLite database that exists; sqlite-utils is loaded only here)."""
        return self.store().sqlite_utils()


def _throwaway(now: datetime) -> Seg:
    """A database in memory, gone when closed (``seg test``'s)."""
    return Seg(":memory:", now)


def _parse_map(text: str) -> tuple[str, str]:
    """``--map 'HEADER=FIELD'``: the header, and the field or attribute it feeds."""
    header, eq, target = text.rpartition("=")
    if not eq or not header.strip() or not target.strip():
        raise UsageError(f"--map {text!r}: write it as 'HEADER=FIELD' (a field or attribute name)")
    return header.strip(), target.strip()


#: The largest ``limit`` (an engine's 64-bit integer); the CLI's ``--limit`` takes the same.
LIMIT_MAX = 2**63 - 1


def _check_limit(limit: int | None) -> int | None:
    if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or not 0 <= limit <= LIMIT_MAX):
        raise UsageError(f"limit {limit!r}: a whole number from 0 to {LIMIT_MAX}")
    return limit


def _check_key(key: str | None) -> str | None:
    if key is not None and key not in ("id", "phone", "email"):
        raise UsageError(f'--key "{key}": one of id, phone, email')
    return key


def _json_value(value: object) -> object:
    """What ``json.dumps`` cannot write, as import reads it: instants and days in ISO 8601."""
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if isinstance(value, (set, tuple, frozenset)):
        return list(value)
    return str(value)  # Decimal, UUID...


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


class Segments(catalog.Segments):
    """``seg.segments``: create, edit, delete, get and list saved segments (``catalog.Segments``),
    with ``list`` giving each one's current count."""

    def __init__(self, seg: Seg) -> None:
        super().__init__(seg.catalog)
        self.seg = seg

    def list(self, *, with_counts: bool = True) -> list[dict]:
        """Every segment as a dict (name, description, filter, created_at, updated_at) with, if
        asked, its current ``count`` (None, with its ``error``, if it cannot be counted), its
        ``change`` since the latest snapshot (None if there is none) and its ``history``: the last
        30 snapshots, oldest first, ``[{"at", "count"}]``."""
        from .counts import Counter, trends

        store = self.seg.store()
        counter = Counter(self.catalog, self.seg.clock())
        with store.snapshot():
            segments = store.segments()
            out = [s.to_json() for s in segments]
            if with_counts:  # a segment that cannot be counted has no count, and says why
                history = trends(self.catalog, self.seg.clock())
                for s, item, (count, error) in zip(segments, out, counter.segments(segments), strict=True):
                    series = history.get(s.pk, [])
                    item["count"], item["error"] = count, error
                    item["change"] = count - series[-1][1] if series and count is not None else None
                    item["history"] = [{"at": at, "count": n} for at, n in series]
        counter.keep()
        return out

    def filter(self, name: str) -> Filter:
        """A segment's filter; DataError if it cannot be evaluated (see ``Catalog.saved_filter``)."""
        return self.catalog.saved_filter(self.get(name))
