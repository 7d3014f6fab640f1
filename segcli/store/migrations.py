"""The schema's history: named migrations, in order, for the SQLite engine.

A database's version is ``PRAGMA user_version``: the number of migrations it has had. Opening an
older file runs the missing ones, each with its version bump in one transaction (``SQLiteStore``);
a file from a newer seg is refused. A step is an SQL statement, or a function of the connection
for what SQL cannot say. Column names in the functions come from the file's own ``attributes``
table and are checked against the shape seg gives them before they reach SQL.
"""

from __future__ import annotations

import json
import re
import sqlite3
from collections.abc import Callable
from typing import NamedTuple

from ..values import fold, fold_items, name_key, unique_items
from .base import BUILTIN_COLUMNS

#: A step returns nothing, or a message for the user (``SQLiteStore.migration_notes``).
Step = str | Callable[[sqlite3.Connection], str | None]


class Migration(NamedTuple):
    name: str
    steps: tuple[Step, ...]


def _lists_fold_columns(conn: sqlite3.Connection) -> None:
    """3, in Python: give each list field its fold column, filled from its JSON column with the
    importer's own ``fold_items``, so that a later re-import finds these rows unchanged."""
    columns = ["tags"] + [
        r[0] for r in conn.execute("SELECT column_name FROM attributes WHERE type = 'array' ORDER BY rowid")
    ]
    for column in columns:
        if not re.fullmatch(r"(tags|attr_[a-z][a-z0-9_]*)", column):
            raise AssertionError(f"unexpected list column {column!r}")
        fold_column = "tags_fold" if column == "tags" else column + "__fold"
        conn.execute(f"ALTER TABLE customers ADD COLUMN {fold_column} TEXT")
        last = 0
        while rows := conn.execute(  # a page at a time: memory stays flat at a million customers
            f"SELECT pk, {column} FROM customers WHERE pk > ? AND {column} IS NOT NULL ORDER BY pk LIMIT 10000",
            (last,),
        ).fetchall():
            conn.executemany(
                f"UPDATE customers SET {fold_column} = ? WHERE pk = ?",
                [(fold_items(json.loads(value)), pk) for pk, value in rows],
            )
            last = rows[-1][0]
    # Indexes that cost more to keep up than they save: a full scan of a million customers takes
    # about 0.1 s, and these columns hold few distinct values (README "Schema").
    indexes = conn.execute(
        "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'customers' AND sql IS NOT NULL"
        " AND name NOT IN ('customers_created_at', 'customers_last_interaction_at')"
    ).fetchall()
    for (name,) in indexes:
        if not re.fullmatch(r"customers_[a-z0-9_]+", name):
            raise AssertionError(f"unexpected index name {name!r}")
        conn.execute(f"DROP INDEX {name}")


def _nfkc_casefold(conn: sqlite3.Connection) -> None:
    """4, in Python: fold columns (and segment name keys) hold NFKC_Casefold, not ``str.casefold``,
    so that NFC and NFD spellings, full-width forms and zero-width characters compare equal
    (SPEC §2). Recomputed with the importer's own ``fold``, a page of customers at a time, writing
    only the rows that change (none, for ASCII data); list elements that are now the same collapse
    to the first spelling, as an import does today, so re-importing the same file finds them
    unchanged."""
    attributes = conn.execute("SELECT column_name, type FROM attributes WHERE type IN ('text', 'array') ORDER BY rowid")
    texts = ["id", "name", "email", "phone"]
    lists = ["tags"]
    for column, type_ in attributes:
        (texts if type_ == "text" else lists).append(column)
    for column in texts + lists:
        if not re.fullmatch(r"(id|name|email|phone|tags|attr_[a-z][a-z0-9_]*)", column):
            raise AssertionError(f"unexpected column {column!r}")
    folds = [c + ("_fold" if c in BUILTIN_COLUMNS else "__fold") for c in texts + lists]
    columns = texts + lists + folds
    update = f"UPDATE customers SET {', '.join(f'{c} = ?' for c in columns)} WHERE pk = ?"
    last = 0
    while rows := conn.execute(  # a page at a time: memory stays flat at a million customers
        f"SELECT pk, {', '.join(columns)} FROM customers WHERE pk > ? ORDER BY pk LIMIT 10000", (last,)
    ).fetchall():
        changed = []
        for pk, *row in rows:
            values = row[: len(texts) + len(lists)]
            for i in range(len(texts), len(values)):  # a list: its elements that fold alike collapse
                if values[i] is not None:
                    items = json.loads(values[i])
                    kept = unique_items(items)
                    if kept != items:
                        values[i] = json.dumps(kept, ensure_ascii=False) if kept else None
            new = [
                *values,
                *(fold(v) if v is not None else None for v in values[: len(texts)]),
                *(fold_items(json.loads(v)) if v is not None else None for v in values[len(texts) :]),
            ]
            if new != row:
                changed.append((*new, pk))
        conn.executemany(update, changed)
        last = rows[-1][0]
    # Segment names are unique by their key. Two names that were different and fold alike now
    # (NFC and NFD "Café") cannot both keep theirs: the later one is renamed "Café (2)", so that both
    # stay reachable by name, and the migration never fails on it.
    segments = conn.execute("SELECT pk, name FROM segments ORDER BY pk").fetchall()
    conn.execute("UPDATE segments SET name_key = char(1) || pk")  # never a key: names hold no control characters
    taken: set[str] = set()
    for pk, name in segments:
        new_name, n = name, 1
        while name_key(new_name) in taken:
            n += 1
            new_name = f"{name} ({n})"
        taken.add(name_key(new_name))
        conn.execute("UPDATE segments SET name = ?, name_key = ? WHERE pk = ?", (new_name, name_key(new_name), pk))


def _exports_zone(conn: sqlite3.Connection) -> None:
    """Exports record the zone their calendar days were in (SPEC §9); those recorded before have
    none (their days were UTC days, which ``exports`` reports). A file that already has the column
    (a newer seg's, migrated down by hand) keeps it."""
    if "zone" not in {row[1] for row in conn.execute("PRAGMA table_info(exports)")}:
        conn.execute("ALTER TABLE exports ADD COLUMN zone TEXT")


#: The data version (SPEC §10, §14): one number that every write to ``customers`` changes, by any
#: program, so that a count may be reused only while the data it counted is provably the same. seg's
#: own writers suspend the insert and update triggers inside their transaction and bump the version
#: once (``SQLiteStore``): one trigger run per row costs a large import a third of its time.
VERSION_TRIGGERS: dict[str, str] = {
    "customers_version_insert": """CREATE TRIGGER customers_version_insert AFTER INSERT ON customers
            BEGIN UPDATE data_version SET version = version + 1; END""",
    "customers_version_update": """CREATE TRIGGER customers_version_update AFTER UPDATE ON customers
            BEGIN UPDATE data_version SET version = version + 1; END""",
}

#: A deleted customer keeps its id in ``deleted_customers`` (with the data version of its deletion):
#: memberships hold customers by ``pk``, and a change file names removed customers by id.
DELETE_TRIGGER = """CREATE TRIGGER customers_version_delete AFTER DELETE ON customers
            BEGIN
                UPDATE data_version SET version = version + 1;
                INSERT OR REPLACE INTO deleted_customers (pk, id, version)
                    SELECT old.pk, old.id, version FROM data_version;
            END"""


_EXPORT_COLUMNS = {
    "audience_pk": "INTEGER",
    "audience": "TEXT",
    "added": "INTEGER",
    "removed": "INTEGER",
    "unchanged": "INTEGER",
    "data_version": "INTEGER",
    "membership_kept": "INTEGER NOT NULL DEFAULT 0",
}


def _audience_exports(conn: sqlite3.Connection) -> None:
    """Exports of a saved audience name it and say what they changed; each column is added once
    (a step that may meet a file where it exists: every step of this migration can run again)."""
    have = {r[1] for r in conn.execute("PRAGMA table_info(exports)")}
    for column, kind in _EXPORT_COLUMNS.items():
        if column not in have:
            conn.execute(f"ALTER TABLE exports ADD COLUMN {column} {kind}")


def _phones_e164(conn: sqlite3.Connection) -> str | None:
    """Phones in E.164 (SPEC §8, §14): ``rewrite_phones`` in the database's ``default_region``."""
    has_settings = conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'settings'").fetchone()
    region = None
    if has_settings:
        row = conn.execute("SELECT value FROM settings WHERE name = 'default_region'").fetchone()
        region = row[0] if row else None
    return rewrite_phones(conn, "?", region)


def rewrite_phones(conn, mark: str, region: str | None) -> str | None:
    """Every stored phone in E.164, read with the importer's own ``normalize_phone`` in the
    customer's country, else ``region``, on either engine (``mark``: its parameter placeholder).
    A phone it cannot read stays as it was, and the returned note lists those (the first 20), so
    that someone can fix them. A page of customers at a time (memory stays flat at a million),
    writing only the rows that change."""
    from ..errors import InvalidValue
    from ..values import normalize_phone

    kept: list[tuple[str, str]] = []
    changed = 0
    last = 0
    while rows := conn.execute(
        f"SELECT pk, id, phone, country FROM customers WHERE pk > {mark} AND phone IS NOT NULL ORDER BY pk LIMIT 10000",
        (last,),
    ).fetchall():
        updates = []
        for pk, cid, phone, country in rows:
            try:
                e164 = normalize_phone(phone, country or region)
            except InvalidValue:
                kept.append((cid, phone))
                continue
            if e164 != phone:
                updates.append((e164, fold(e164), pk))
        conn.cursor().executemany(
            f"UPDATE customers SET phone = {mark}, phone_fold = {mark} WHERE pk = {mark}", updates
        )
        changed += len(updates)
        last = rows[-1][0]
    return phones_note(changed, kept, region)


def phones_note(changed: int, kept: list[tuple[str, str]], region: str | None) -> str | None:
    """What the migration of phones to E.164 tells the user: how many it rewrote, and the
    customers (id, phone) whose phone it could not read (the first 20)."""
    if not kept:
        return f"phones now in E.164: {changed} rewritten" if changed else None
    listed = ", ".join(f'{cid} "{phone}"' for cid, phone in kept[:20])
    more = f" and {len(kept) - 20} more" if len(kept) > 20 else ""
    where = "" if region else " (no default_region was set: seg config set default_region OM, then re-import them)"
    return (
        f"phones now in E.164: {changed} rewritten; {len(kept)} kept as they were, not phone numbers seg "
        f"can read{where}: {listed}{more}"
    )


MIGRATIONS: tuple[Migration, ...] = (
    Migration(
        "customers, their list items, attributes and segments",
        (
            """CREATE TABLE customers (
                    pk INTEGER PRIMARY KEY,
                    id TEXT NOT NULL UNIQUE,
                    id_fold TEXT NOT NULL,
                    name TEXT, name_fold TEXT,
                    email TEXT, email_fold TEXT,
                    phone TEXT, phone_fold TEXT,
                    language TEXT,
                    platform TEXT,
                    country TEXT,
                    tags TEXT,
                    created_at TEXT,
                    last_interaction_at TEXT,
                    marketing_opt_out INTEGER NOT NULL DEFAULT 0 CHECK (marketing_opt_out IN (0, 1))
                )""",
            # The key's columns come first, in key order: SQLite 3.40's integrity_check wrongly reports
            # "NULL value" in a WITHOUT ROWID table whose key columns are declared in another order.
            """CREATE TABLE customer_items (
                    customer_pk INTEGER NOT NULL REFERENCES customers(pk) ON DELETE CASCADE,
                    field TEXT NOT NULL,
                    value_fold TEXT NOT NULL,
                    value TEXT NOT NULL,
                    PRIMARY KEY (customer_pk, field, value_fold)
                ) WITHOUT ROWID""",
            "CREATE INDEX customer_items_lookup ON customer_items (field, value_fold, customer_pk)",
            """CREATE VIEW customer_tags AS
                    SELECT customer_pk, value AS tag FROM customer_items WHERE field = 'tags'""",
            "CREATE INDEX customers_language ON customers (language)",
            "CREATE INDEX customers_platform ON customers (platform)",
            "CREATE INDEX customers_country ON customers (country)",
            "CREATE INDEX customers_created_at ON customers (created_at)",
            "CREATE INDEX customers_last_interaction_at ON customers (last_interaction_at)",
            """CREATE TABLE attributes (
                    name TEXT NOT NULL,
                    name_key TEXT NOT NULL UNIQUE,
                    type TEXT NOT NULL,
                    enum_values TEXT,
                    column_name TEXT NOT NULL UNIQUE,
                    inferred INTEGER NOT NULL DEFAULT 0,
                    created_at TEXT NOT NULL
                )""",
            """CREATE TABLE segments (
                    pk INTEGER PRIMARY KEY,
                    name TEXT NOT NULL,
                    name_key TEXT NOT NULL UNIQUE,
                    description TEXT,
                    filter TEXT NOT NULL,
                    model TEXT NOT NULL,
                    created_at TEXT NOT NULL,
                    updated_at TEXT NOT NULL
                )""",
        ),
    ),
    Migration(
        "the history of exports: what was sent, to whom, when, and the file's checksum",
        (
            """CREATE TABLE exports (
                    pk INTEGER PRIMARY KEY,
                    exported_at TEXT NOT NULL,
                    now TEXT NOT NULL,
                    segments TEXT NOT NULL,
                    excluded TEXT NOT NULL,
                    options TEXT NOT NULL,
                    waterfall TEXT NOT NULL,
                    count INTEGER NOT NULL,
                    path TEXT NOT NULL,
                    sha256 TEXT NOT NULL
                )""",
        ),
    ),
    Migration(
        # One write per customer instead of one per element, which made imports slow; only the
        # date indexes are kept.
        "lists in a fold column of customers, not in a table of items",
        (
            _lists_fold_columns,
            "DROP VIEW customer_tags",
            "DROP TABLE customer_items",
            """CREATE VIEW customer_tags AS
                    SELECT c.pk AS customer_pk, j.value AS tag FROM customers c, json_each(c.tags) j""",
        ),
    ),
    Migration("text compared by its NFKC_Casefold (Unicode), not by str.casefold", (_nfkc_casefold,)),
    Migration(
        "settings kept in the database: its time zone, the first day of a week, and the like",
        ("CREATE TABLE settings (name TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID",),
    ),
    Migration("each export records the time zone of its calendar days", (_exports_zone,)),
    Migration(
        "saved audiences, their memberships per export, segment counts over time, and the data version",
        (
            "CREATE TABLE IF NOT EXISTS data_version (id INTEGER PRIMARY KEY CHECK (id = 1), version INTEGER NOT NULL)",
            "INSERT OR IGNORE INTO data_version (id, version) VALUES (1, 1)",
            "CREATE TABLE IF NOT EXISTS deleted_customers (pk INTEGER PRIMARY KEY, id TEXT NOT NULL, version INTEGER NOT NULL)",
            *(t.replace("CREATE TRIGGER", "CREATE TRIGGER IF NOT EXISTS") for t in VERSION_TRIGGERS.values()),
            DELETE_TRIGGER.replace("CREATE TRIGGER", "CREATE TRIGGER IF NOT EXISTS"),
            """CREATE TABLE IF NOT EXISTS count_cache (
                    key TEXT PRIMARY KEY,
                    version INTEGER NOT NULL,
                    count INTEGER NOT NULL
                ) WITHOUT ROWID""",
            """CREATE TABLE IF NOT EXISTS segment_counts (
                    segment_pk INTEGER NOT NULL REFERENCES segments(pk) ON DELETE CASCADE,
                    taken_at TEXT NOT NULL,
                    count INTEGER NOT NULL,
                    PRIMARY KEY (segment_pk, taken_at)
                ) WITHOUT ROWID""",
            """CREATE TABLE IF NOT EXISTS audiences (
                    pk INTEGER PRIMARY KEY,
                    name TEXT NOT NULL,
                    name_key TEXT NOT NULL UNIQUE,
                    description TEXT,
                    require TEXT NOT NULL,
                    unique_by TEXT CHECK (unique_by IN ('phone', 'email')),
                    include_opted_out INTEGER NOT NULL DEFAULT 0 CHECK (include_opted_out IN (0, 1)),
                    columns TEXT,
                    created_at TEXT NOT NULL,
                    updated_at TEXT NOT NULL
                )""",
            # No cascade from segments: deleting a segment that an audience uses is refused.
            """CREATE TABLE IF NOT EXISTS audience_segments (
                    audience_pk INTEGER NOT NULL REFERENCES audiences(pk) ON DELETE CASCADE,
                    role TEXT NOT NULL CHECK (role IN ('include', 'exclude')),
                    position INTEGER NOT NULL,
                    segment_pk INTEGER NOT NULL REFERENCES segments(pk),
                    PRIMARY KEY (audience_pk, role, position)
                ) WITHOUT ROWID""",
            "CREATE INDEX IF NOT EXISTS audience_segments_segment ON audience_segments (segment_pk)",
            _audience_exports,
            "CREATE INDEX IF NOT EXISTS exports_audience ON exports (audience_pk, pk) WHERE audience_pk IS NOT NULL",
            """CREATE TABLE IF NOT EXISTS audience_memberships (
                    export_pk INTEGER NOT NULL REFERENCES exports(pk) ON DELETE CASCADE,
                    chunk INTEGER NOT NULL,
                    members BLOB NOT NULL,
                    PRIMARY KEY (export_pk, chunk)
                ) WITHOUT ROWID""",
        ),
    ),
    Migration(
        "import profiles kept in the database, and phones stored in E.164",
        (
            """CREATE TABLE IF NOT EXISTS profiles (
                    name TEXT NOT NULL,
                    name_key TEXT NOT NULL UNIQUE,
                    definition TEXT NOT NULL,
                    created_at TEXT NOT NULL,
                    updated_at TEXT NOT NULL
                )""",
            _phones_e164,
        ),
    ),
)
SCHEMA_VERSION = len(MIGRATIONS)
