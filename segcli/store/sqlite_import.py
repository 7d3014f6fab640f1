"""The SQLite engine's statements for imports keyed by phone or email and for saved import
profiles (SPEC §8), beside ``sqlite.py``'s: a part of ``SQLiteStore``."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence

from ..timeutil import stamp
from ..values import is_utf8, name_key


class ImportTables:
    """``Store`` methods for ``--key`` imports and the ``profiles`` table (see ``base.py``)."""

    conn: sqlite3.Connection

    def ids_by_key(self, column: str, keys: Sequence[str]) -> dict[str, list[str]]:
        """Ids by phone (or folded email). The column gets an index the first time an import is
        keyed by it (``customers_phone``, ``customers_email_fold``): seg does not keep one
        otherwise, since every index costs every import (README "Schema")."""
        if column not in ("phone", "email_fold"):
            raise AssertionError(f"unexpected key column {column!r}")
        self.conn.execute(f"CREATE INDEX IF NOT EXISTS customers_{column} ON customers ({column})")
        out: dict[str, list[str]] = {}
        for start in range(0, len(keys), 900):
            part = list(keys[start : start + 900])
            marks = ", ".join("?" * len(part))
            for key, cid in self.conn.execute(
                f"SELECT {column}, id FROM customers WHERE {column} IN ({marks}) ORDER BY id", part
            ):
                out.setdefault(key, []).append(cid)
        return out

    def note_keys(self, keys: Sequence[str]) -> set[str]:
        # A temporary table: SQLite keeps it in its own file, not in this process's memory.
        self.conn.execute("CREATE TEMP TABLE IF NOT EXISTS import_keys (key TEXT PRIMARY KEY) WITHOUT ROWID")
        before: set[str] = set()
        for start in range(0, len(keys), 900):
            part = list(keys[start : start + 900])
            marks = ", ".join("?" * len(part))
            before.update(
                r[0] for r in self.conn.execute(f"SELECT key FROM temp.import_keys WHERE key IN ({marks})", part)
            )
            self.conn.executemany("INSERT OR IGNORE INTO temp.import_keys (key) VALUES (?)", [(k,) for k in part])
        return before

    def forget_keys(self) -> None:
        self.conn.execute("DROP TABLE IF EXISTS temp.import_keys")

    # --- import profiles ----------------------------------------------------------------------

    def profiles(self) -> list[tuple[str, str]]:
        return list(self.conn.execute("SELECT name, definition FROM profiles ORDER BY name_key"))

    def profile(self, name: str) -> str | None:
        if not is_utf8(name):
            return None
        row = self.conn.execute("SELECT definition FROM profiles WHERE name_key = ?", (name_key(name),)).fetchone()
        return row[0] if row else None

    def save_profile(self, name: str, definition: str) -> None:
        now = stamp()
        self.conn.execute(
            "INSERT INTO profiles (name, name_key, definition, created_at, updated_at) VALUES (?, ?, ?, ?, ?)"
            " ON CONFLICT (name_key) DO UPDATE SET name = excluded.name, definition = excluded.definition,"
            " updated_at = excluded.updated_at",
            (name, name_key(name), definition, now, now),
        )

    def delete_profile(self, name: str) -> None:
        self.conn.execute("DELETE FROM profiles WHERE name_key = ?", (name_key(name),))
