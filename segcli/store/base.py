"""The store interface: what seg asks of an engine, whatever the engine.

Everything above ``store/`` (the catalog, the importer, exports, the API) talks to a ``Store``;
each engine (``sqlite.py`` today) implements it with its own SQL. A filter arrives compiled
(``compile.py``, through the engine's dialect) as a WHERE expression over ``customers c`` and its
named parameters. Rows of customers are lists in the column order of ``customer_columns``, the
primary key first. What the dialect's ``local_day`` calls must exist on the engine's connections
(SQLite: the function ``seg_local_day``, ``timeutil.local_day``, registered on every connection;
the only one seg registers, for anniversaries in a zone other than UTC).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator, Sequence
from contextlib import AbstractContextManager

from ..errors import DataError
from ..fields import BUILTIN_FIELDS, Field, FieldRegistry, FieldType
from ..model import Audience, Filter, Segment

#: SQLite allows 2,000 columns a table; a text or array attribute takes two (its folded copy).
MAX_ATTRIBUTES = 500

#: Scalar columns of ``customers`` for the built-in fields, in table order.
BUILTIN_COLUMNS: tuple[str, ...] = tuple(
    col for f in BUILTIN_FIELDS for col in ((f.column, f.fold_column) if f.fold_column else (f.column,))
)


class Store:
    """An open seg database. ``path`` names it as the user did; ``engine`` names the engine (and
    so the compiler's dialect); ``committed`` lists the operations committed so far."""

    engine: str
    path: str
    committed: list[str]
    read_only: bool = False
    migration_notes: list[str]  # what opening (migrating) the file changed that its user should know

    # --- the connection and its transactions -----------------------------------------------

    def close(self) -> None:
        raise NotImplementedError

    def transaction(
        self, operation: str = "write", *, wait_ms: int | None = None, wait_setting: str = "SEG_BUSY_TIMEOUT"
    ) -> AbstractContextManager[None]:
        """One write transaction, all or nothing, with the writer lock held and named
        (``operation``) for any other writer that has to wait, up to ``wait_ms``."""
        raise NotImplementedError

    def snapshot(self) -> AbstractContextManager[None]:
        """A read transaction: every query inside sees one consistent state (inside another
        transaction, that one's)."""
        raise NotImplementedError

    def check_writable(self) -> None:
        """DataError if this database can only be read."""
        raise NotImplementedError

    # --- attributes ----------------------------------------------------------------------------

    def registry(self) -> FieldRegistry:
        """Every field a filter or a file may name: the built-ins and the declared attributes."""
        raise NotImplementedError

    def attribute_rows(self) -> list[dict]:
        raise NotImplementedError

    def add_attribute(self, f: Field, *, inferred: bool) -> None:
        """Create the attribute's column (and its folded copy), inside a transaction."""
        raise NotImplementedError

    def set_enum_values(self, f: Field, values: Sequence[str]) -> None:
        raise NotImplementedError

    def text_to_enum(self, f: Field, values: Sequence[str]) -> None:
        raise NotImplementedError

    def distinct_values(self, f: Field) -> list[object]:
        raise NotImplementedError

    def value_counts(self) -> dict[str, int]:
        """How many customers have a value in each attribute."""
        raise NotImplementedError

    # --- customers ------------------------------------------------------------------------------

    def customer_columns(self) -> list[str]:
        """The stored columns of ``customers`` after ``pk``, in the order rows are given."""
        cols = list(BUILTIN_COLUMNS)
        for f in self.registry().attributes.values():
            cols.append(f.column)
            if f.fold_column:
                cols.append(f.fold_column)
        return cols

    def next_pk(self) -> int:
        raise NotImplementedError

    def rows_by_id(self, ids: Sequence[str], columns: Sequence[str]) -> dict[str, tuple]:
        """The stored rows (pk first, then ``columns``) of the customers with these ids."""
        raise NotImplementedError

    def insert_customers(self, columns: Sequence[str], rows: Iterable[Sequence]) -> None:
        raise NotImplementedError

    def insert_new_customers(self, columns: Sequence[str], rows: list) -> bool:
        """Insert rows whose ids should all be new; False, having inserted nothing, if one is not."""
        raise NotImplementedError

    def update_customers(self, columns: Sequence[str], rows: Iterable[Sequence]) -> None:
        raise NotImplementedError

    def ids_by_key(self, column: str, keys: Sequence[str]) -> dict[str, list[str]]:
        """The ids of the customers whose ``column`` (``phone``, or ``email_fold`` for folded
        emails) is each of ``keys``: what ``seg import --key`` matches rows by. The engine may
        index the column on first use."""
        raise NotImplementedError

    def note_keys(self, keys: Sequence[str]) -> set[str]:
        """Note the keys of an import's rows (for this connection, until ``forget_keys``); return
        those among ``keys`` that were noted before. Kept by the engine, so memory stays flat."""
        raise NotImplementedError

    def forget_keys(self) -> None:
        """Start a new file's notes (``note_keys``)."""
        raise NotImplementedError

    def bulk_load(self) -> AbstractContextManager[bool]:
        """Around a load inside a transaction; gives whether the table was empty (the engine may
        then build its indexes once, at the end)."""
        raise NotImplementedError

    def customer(self, customer_id: str) -> dict | None:
        """One customer as {column: value}, or None."""
        raise NotImplementedError

    def customer_ids_like(self, customer_id: str, limit: int = 3) -> list[str]:
        raise NotImplementedError

    # --- segments -------------------------------------------------------------------------------

    def segment(self, name: str) -> Segment | None:
        """The segment whose name is ``name`` case-insensitively, or None."""
        raise NotImplementedError

    def segments(self) -> list[Segment]:
        raise NotImplementedError

    def segment_names(self) -> list[str]:
        raise NotImplementedError

    def insert_segment(self, name: str, description: str | None, flt: Filter) -> None:
        raise NotImplementedError

    def update_segment(self, pk: int, name: str, description: str | None, flt: Filter) -> None:
        raise NotImplementedError

    def delete_segment(self, pk: int) -> None:
        raise NotImplementedError

    # --- import profiles ----------------------------------------------------------------------

    def profiles(self) -> list[tuple[str, str]]:
        """Saved import profiles: (name, definition as JSON), by name."""
        raise NotImplementedError

    def profile(self, name: str) -> str | None:
        """A saved profile's definition (JSON), found by name case-insensitively, or None."""
        raise NotImplementedError

    def save_profile(self, name: str, definition: str) -> None:
        """Create or replace a saved profile (inside a transaction)."""
        raise NotImplementedError

    def delete_profile(self, name: str) -> None:
        raise NotImplementedError

    # --- settings -----------------------------------------------------------------------------

    def settings(self) -> dict[str, str]:
        """The settings stored in the database, by name (only those that were set)."""
        raise NotImplementedError

    def set_setting(self, name: str, value: str | None) -> None:
        """Store a setting (None: remove it, so that its default applies), inside a transaction."""
        raise NotImplementedError

    # --- exports --------------------------------------------------------------------------------

    def insert_export(self, record: dict) -> int:
        """Record an export (inside a transaction); returns its id. ``record["zone"]``: the zone
        its calendar days were in (SPEC §9), ``UTC`` if absent."""
        raise NotImplementedError

    def exports(self, limit: int | None = None) -> list[dict]:
        """Recorded exports, newest first; ``zone`` is ``UTC`` for those recorded before seg kept it."""
        raise NotImplementedError

    # --- filtered queries (``where`` and ``params`` from compile.py) ----------------------------

    def count_where(self, where: str, params: dict) -> int:
        raise NotImplementedError

    def matches(self, pk: int, where: str, params: dict) -> bool:
        raise NotImplementedError

    def select_where(
        self,
        where: str,
        params: dict,
        columns: Sequence[str],
        order_by: Sequence[tuple[str, bool]] = (("id", False),),
        limit: int | None = None,
        expected: int | None = None,
    ) -> Iterator[tuple]:
        """``columns`` of the matching customers, streamed; missing values sort last. ``expected``:
        how many will match, if known, to choose the plan."""
        raise NotImplementedError

    def count_steps(self, where: str, params: dict, steps: Sequence[str]) -> list[int]:
        """How many customers match ``where``, and how many of them each of ``steps`` keeps."""
        raise NotImplementedError

    def count_many(self, wheres: Sequence[str], params: dict) -> list[int]:
        """How many customers match each of ``wheres`` (sharing ``params``), in one pass or better:
        never one scan per expression. The counts describe one state of the data."""
        raise NotImplementedError

    def member_pks(self, where: str, params: dict) -> Iterator[int]:
        """The ``pk`` of every customer matching ``where``, ascending, streamed."""
        raise NotImplementedError

    def select_cells(
        self, where: str, params: dict, expressions: Sequence[str], expected: int | None = None
    ) -> Iterator[Sequence]:
        """Compiled cell ``expressions`` of the matching customers by id, streamed (``fetchmany``)."""
        raise NotImplementedError

    def explain(self, where: str, params: dict) -> list[str]:
        """The engine's plan for counting ``where``; preparing it refuses what it cannot evaluate."""
        raise NotImplementedError

    # --- what analysts look at (``seg fields``, ``seg lint``) ---------------------------------

    def customer_count(self) -> int:
        """How many customers there are."""
        raise NotImplementedError

    def field_counts(self, fields: Sequence[Field]) -> list[int]:
        """How many customers have a value in each of ``fields`` (a list: at least one element),
        in one pass."""
        raise NotImplementedError

    def top_values(self, f: Field, limit: int) -> list[tuple[object, int]]:
        """The ``limit`` most common values of ``f`` with how many customers have each, most
        common first (ties by value): text by its folded form (shown in one of its spellings), a
        list by its elements, a date by its UTC day."""
        raise NotImplementedError

    # --- views of segments (``seg views``) -------------------------------------------------------

    def view_name(self, name: str) -> str:
        """A view's name as this engine can hold it (PostgreSQL's are at most 63 bytes)."""
        return name

    def segment_views(self) -> list[str]:
        """The names of the views of segments that seg made (others' views are left alone)."""
        raise NotImplementedError

    def replace_views(self, views: dict[str, str]) -> None:
        """Inside a transaction: make the views of segments exactly ``views`` (name -> the
        segment's WHERE expression over ``customers c``, from ``compile.compile_view``), each
        selecting the customers' fields and attributes (named as in filters); drop seg's others."""
        raise NotImplementedError

    def sqlite_utils(self):
        """The database as a ``sqlite_utils.Database`` (SQLite only): UsageError elsewhere."""
        from ..errors import UsageError

        raise UsageError(f"sqlite_utils() needs an SQLite database; this one is {self.engine}")

    # --- the data version and reused counts (SPEC §10) -----------------------------------------

    def data_version(self) -> int:
        """A number that changes with every write to customer data, by seg or any other program
        (triggers); snapshots, history records and cached counts are not customer data."""
        raise NotImplementedError

    def cached_counts(self, keys: Sequence[str], version: int) -> dict[str, int]:
        """The counts kept for ``keys`` (a compiled filter and its parameters, hashed) while the
        data version was ``version``; other versions' counts are never returned."""
        raise NotImplementedError

    def cache_counts(self, counts: dict[str, int], version: int) -> bool:
        """Keep counts made at data version ``version``, in a transaction of its own, if the
        database can be written right now (a cache is never worth a wait, and is not a change a
        command reports as committed); counts of any other version are dropped, since a version
        never comes back. Whether they were kept."""
        raise NotImplementedError

    # --- segment counts over time ----------------------------------------------------------------

    def insert_segment_counts(self, taken_at: str, counts: Sequence[tuple[int, int]]) -> None:
        """Record (segment pk, count) pairs taken at ``taken_at`` (inside a transaction); a count
        of the same segment at the same instant is replaced."""
        raise NotImplementedError

    def segment_counts(self, until: str, limit: int | None = None) -> dict[int, list[tuple[str, int]]]:
        """Each segment's recorded counts (``taken_at``, count) taken at or before ``until``,
        oldest first: the last ``limit`` of them, or all."""
        raise NotImplementedError

    # --- saved audiences ------------------------------------------------------------------------

    def audience(self, name: str) -> Audience | None:
        """The audience whose name is ``name`` case-insensitively, or None."""
        raise NotImplementedError

    def audiences(self) -> list[Audience]:
        raise NotImplementedError

    def insert_audience(self, audience: Audience) -> None:
        """Save a new audience (its ``pk`` is ignored), inside a transaction."""
        raise NotImplementedError

    def update_audience(self, audience: Audience) -> None:
        """Replace the definition of the audience ``audience.pk``, inside a transaction."""
        raise NotImplementedError

    def delete_audience(self, pk: int) -> None:
        """Delete an audience and the memberships kept for it; its exports stay in the history."""
        raise NotImplementedError

    def audiences_using(self, segment_pk: int) -> list[str]:
        """The names of the audiences that include or exclude the segment ``segment_pk``."""
        raise NotImplementedError

    # --- memberships: who each export of an audience held ---------------------------------------

    def audience_exports(self, audience_pk: int) -> list[dict]:
        """The audience's exports, newest first: ``{"id", "exported_at", "count", "path",
        "changes": {"added", "removed", "unchanged"}, "membership_kept"}``."""
        raise NotImplementedError

    def latest_membership(self, audience_pk: int) -> dict | None:
        """The newest export of the audience whose membership is kept: ``{"export_pk",
        "data_version", "exported_at"}``, or None."""
        raise NotImplementedError

    def membership(self, export_pk: int) -> Iterator[tuple[int, bytes]]:
        """A kept membership as (chunk, encoded bitmap) rows, by chunk (``membership.py``)."""
        raise NotImplementedError

    def deleted_customers(self, since_version: int) -> dict[int, str]:
        """{pk: id} of customers deleted after data version ``since_version``."""
        raise NotImplementedError

    def stage_pks(self, name: str, pks: Iterable[int]) -> None:
        """Hold a set of customer pks (``added`` or ``removed``) for ``select_staged_cells``."""
        raise NotImplementedError

    def select_staged_cells(self, name: str, expressions: Sequence[str]) -> Iterator[tuple]:
        """Compiled cell ``expressions`` of the staged customers that exist, each row followed by
        the customer's id, by id, streamed."""
        raise NotImplementedError

    def record_membership(self, export_pk: int, chunks: Iterable[tuple[int, bytes]], keep: int) -> None:
        """Keep a membership (``membership.Changes.chunks``) for the export ``export_pk`` (inside a
        transaction), and drop all but the newest ``keep`` memberships of its audience."""
        raise NotImplementedError


# --- what both engines share: rows <-> seg's objects, and the checks before a schema change ------

#: The columns of ``segments`` that ``segment_of`` reads, in its order.
SEGMENT_COLUMNS = "pk, name, description, filter, model, created_at, updated_at"
#: The columns of ``exports`` that ``export_of`` reads, in its order, and the keys it gives them.
#: Exports recorded before exports recorded their zone (SPEC §9) were in UTC.
EXPORT_COLUMNS = (
    "pk, exported_at, now, coalesce(zone, 'UTC'), segments, excluded, options, waterfall, count, path, sha256,"
    " audience, added, removed, unchanged"
)
_EXPORT_KEYS = (
    "id", "exported_at", "now", "zone", "segments", "excluded", "options", "waterfall", "count", "path", "sha256",
)  # fmt: skip
#: The columns an export record may give (``insert_export``): an export of a saved audience also
#: gives ``audience_pk``, ``audience`` (its name then), ``added``, ``removed``, ``unchanged`` and the
#: ``data_version`` it was made at.
RECORDED_COLUMNS = (
    "exported_at", "now", "zone", "segments", "excluded", "options", "waterfall", "count", "path", "sha256",
    "audience_pk", "audience", "added", "removed", "unchanged", "data_version",
)  # fmt: skip


def segment_of(row: Sequence) -> Segment:
    """A row of ``SEGMENT_COLUMNS`` as a Segment; one whose stored model this seg cannot read (saved
    by another version) is kept, with an empty filter and the reason in ``unreadable``."""
    pk, name, description, where, model, created_at, updated_at = row
    try:
        flt, unreadable = Filter.loads(model), None
    except (ValueError, KeyError, TypeError) as exc:
        flt, unreadable = Filter(), f"its stored form cannot be read ({type(exc).__name__}: {exc})"
    return Segment(pk, name, description, where, flt, created_at, updated_at, unreadable)


def export_values(record: dict) -> tuple[list[str], dict]:
    """An export record's columns (of ``RECORDED_COLUMNS``) and values as stored: lists and dicts
    as JSON text, and the zone UTC if the record does not say."""
    record = {"zone": "UTC", **record}
    columns = [c for c in RECORDED_COLUMNS if c in record]
    values = {c: json.dumps(v, ensure_ascii=False) if isinstance(v, list | dict) else v for c, v in record.items()}
    return columns, values


def export_of(row: Sequence) -> dict:
    """A row of ``EXPORT_COLUMNS`` as the dict ``Store.exports`` gives."""
    item = dict(zip(_EXPORT_KEYS, row[: len(_EXPORT_KEYS)], strict=True))
    for k in ("segments", "excluded", "options", "waterfall"):
        item[k] = json.loads(item[k])
    audience, added, removed, unchanged = row[len(_EXPORT_KEYS) :]
    item["audience"] = audience
    item["changes"] = None if added is None else {"added": added, "removed": removed, "unchanged": unchanged}
    return item


def attribute_values(f: Field, *, inferred: bool, created_at: str) -> tuple:
    """The ``attributes`` row of a new attribute: name, name_key, type, enum_values, column_name,
    inferred, created_at."""
    return (
        f.name,
        f.name.lower(),
        str(f.type),
        json.dumps(list(f.enum_values)) if f.type is FieldType.ENUM else None,
        f.column,
        inferred,
        created_at,
    )


def check_new_attribute(f: Field, count: int, clash: str | None) -> None:
    """Refuse a new attribute before its column is made: a column name that is not seg's shape
    (it goes into DDL), one attribute too many (``count`` exist), or a column that the attribute
    ``clash`` already has."""
    assert not f.builtin and f.column
    if not re.fullmatch(r"attr_[a-z0-9][a-z0-9_]*", f.column):  # it goes into DDL: never trust it
        raise DataError(f'"{f.name}" cannot be an attribute name')
    if count >= MAX_ATTRIBUTES:
        raise DataError(f"cannot add attribute {f.name}: seg takes at most {MAX_ATTRIBUTES} custom attributes")
    if clash is not None:
        raise DataError(
            f'the attribute "{f.name}" would share its column ({f.column}) with "{clash}": '
            "names with the same slug (they differ only in case, spaces or punctuation) are the same attribute"
        )
