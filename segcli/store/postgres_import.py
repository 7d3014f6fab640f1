"""The PostgreSQL engine's statements for imports keyed by phone or email and for saved import
profiles (SPEC §8), as ``sqlite_import.py`` does them on SQLite: a part of ``PostgresStore``."""

from __future__ import annotations

from collections.abc import Sequence

import psycopg

from ..timeutil import stamp
from ..values import is_utf8, name_key


def is_text(value: str) -> bool:
    """Whether PostgreSQL can take ``value``: UTF-8 (an argument that was not holds lone
    surrogates), and no NUL, which PostgreSQL's text cannot hold."""
    return is_utf8(value) and "\x00" not in value


class PostgresImportTables:
    """``Store`` methods for ``--key`` imports and the ``profiles`` table (see ``base.py``)."""

    conn: psycopg.Connection

    def ids_by_key(self, column: str, keys: Sequence[str]) -> dict[str, list[str]]:
        """Ids by phone (or folded email). The column gets an index the first time an import is
        keyed by it (``customers_phone``, ``customers_email_fold``), in the import's transaction."""
        if column not in ("phone", "email_fold"):
            raise AssertionError(f"unexpected key column {column!r}")
        self.conn.execute(f"CREATE INDEX IF NOT EXISTS customers_{column} ON customers ({column})")
        out: dict[str, list[str]] = {}
        rows = self.conn.execute(
            f"SELECT {column}, id FROM customers WHERE {column} = ANY(%s) ORDER BY id", (list(keys),)
        )
        for key, cid in rows:
            out.setdefault(key, []).append(cid)
        return out

    def note_keys(self, keys: Sequence[str]) -> set[str]:
        # A temporary table of this session: the server keeps it, not this process's memory.
        self.conn.execute('CREATE TEMPORARY TABLE IF NOT EXISTS seg_import_keys (key TEXT COLLATE "C" PRIMARY KEY)')
        part = list(keys)
        before = {r[0] for r in self.conn.execute("SELECT key FROM seg_import_keys WHERE key = ANY(%s)", (part,))}
        self.conn.execute(
            "INSERT INTO seg_import_keys (key) SELECT unnest(%s::text[]) ON CONFLICT (key) DO NOTHING", (part,)
        )
        return before

    def forget_keys(self) -> None:
        self.conn.execute("DROP TABLE IF EXISTS pg_temp.seg_import_keys")

    # --- import profiles ----------------------------------------------------------------------

    def profiles(self) -> list[tuple[str, str]]:
        return [tuple(r) for r in self.conn.execute("SELECT name, definition FROM profiles ORDER BY name_key")]

    def profile(self, name: str) -> str | None:
        if not is_text(name):
            return None
        row = self.conn.execute("SELECT definition FROM profiles WHERE name_key = %s", (name_key(name),)).fetchone()
        return row[0] if row else None

    def save_profile(self, name: str, definition: str) -> None:
        now = stamp()
        self.conn.execute(
            "INSERT INTO profiles (name, name_key, definition, created_at, updated_at) VALUES (%s, %s, %s, %s, %s)"
            " ON CONFLICT (name_key) DO UPDATE SET name = EXCLUDED.name, definition = EXCLUDED.definition,"
            " updated_at = EXCLUDED.updated_at",
            (name, name_key(name), definition, now, now),
        )

    def delete_profile(self, name: str) -> None:
        self.conn.execute("DELETE FROM profiles WHERE name_key = %s", (name_key(name),))
