"""The SQLite engine's statements for what seg keeps over time (SPEC §5, §10): the history of
exports, saved audiences, the membership of each of their exports, segment counts taken by ``seg snapshot``, the data version and the counts
it lets a later command reuse. A mixin of ``SQLiteStore`` (``sqlite.py``), which holds the rest.

Memberships are kept as chunks of a bitmap over customer ``pk``s (``membership.py`` encodes them),
at most one bit per customer; while an export runs, the customers it added or removed are staged in
temporary tables of its own connection, so that no list of customers is held in memory and nothing
is written to the database before the export's files are in place.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Iterator, Sequence

from ..model import Audience
from ..timeutil import stamp
from .base import EXPORT_COLUMNS, export_of, export_values
from .errors import query

#: Temporary tables that ``stage_pks`` may fill: the names never come from input.
_STAGED = {"added": "temp.seg_added", "removed": "temp.seg_removed"}


class AudienceTables:
    """Statements over ``exports``, ``audiences``, ``audience_segments``, ``audience_memberships``,
    ``segment_counts``, ``count_cache``, ``data_version`` and ``deleted_customers``."""

    conn: sqlite3.Connection
    read_only: bool
    busy_timeout_ms: int
    _discard_new: object

    # --- exports ------------------------------------------------------------------------------

    def insert_export(self, record: dict) -> int:
        """Record an export (call inside a transaction); returns its id."""
        columns, values = export_values(record)
        cur = self.conn.execute(
            f"INSERT INTO exports ({', '.join(columns)}) VALUES ({', '.join(':' + c for c in columns)})", values
        )
        return cur.lastrowid

    def exports(self, limit: int | None = None) -> list[dict]:
        sql = f"SELECT {EXPORT_COLUMNS} FROM exports ORDER BY pk DESC"
        params: tuple = ()
        if limit is not None:
            sql += " LIMIT ?"
            params = (limit,)
        return [export_of(row) for row in self.conn.execute(sql, params)]

    # --- the data version and reused counts -------------------------------------------------

    def data_version(self) -> int:
        return self.conn.execute("SELECT version FROM data_version").fetchone()[0]

    def cached_counts(self, keys: Sequence[str], version: int) -> dict[str, int]:
        out: dict[str, int] = {}
        for start in range(0, len(keys), 500):
            part = list(keys[start : start + 500])
            marks = ", ".join("?" * len(part))
            rows = self.conn.execute(
                f"SELECT key, count FROM count_cache WHERE version = ? AND key IN ({marks})", (version, *part)
            )
            out.update(rows)
        return out

    def cache_counts(self, counts: dict[str, int], version: int) -> bool:
        if self.read_only or self.conn.in_transaction or self._discard_new is not None:
            return False
        try:
            self.conn.execute("PRAGMA busy_timeout = 0")
            try:
                self.conn.execute("BEGIN IMMEDIATE")
            finally:
                self.conn.execute(f"PRAGMA busy_timeout = {self.busy_timeout_ms:d}")
        except sqlite3.Error:  # locked by a writer, a read-only file: no reuse this time
            return False
        try:
            if self.data_version() != version:  # written meanwhile: these counts are of the past
                self.conn.execute("ROLLBACK")
                return False
            self.conn.execute("DELETE FROM count_cache WHERE version != ?", (version,))
            self.conn.executemany(
                "INSERT OR REPLACE INTO count_cache (key, version, count) VALUES (?, ?, ?)",
                [(key, version, n) for key, n in counts.items()],
            )
            self.conn.execute("COMMIT")
        except sqlite3.Error:
            if self.conn.in_transaction:
                self.conn.execute("ROLLBACK")
            return False
        return True

    # --- segment counts over time -----------------------------------------------------------

    def insert_segment_counts(self, taken_at: str, counts: Sequence[tuple[int, int]]) -> None:
        self.conn.executemany(
            "INSERT OR REPLACE INTO segment_counts (segment_pk, taken_at, count) VALUES (?, ?, ?)",
            [(pk, taken_at, n) for pk, n in counts],
        )

    # --- saved audiences --------------------------------------------------------------------

    def insert_audience(self, audience: Audience) -> None:
        now = stamp()
        cur = self.conn.execute(
            "INSERT INTO audiences (name, name_key, description, require, unique_by, include_opted_out, columns,"
            " created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (*self._audience_row(audience), now, now),
        )
        self._audience_segments(cur.lastrowid, audience)

    # --- memberships ------------------------------------------------------------------------

    def member_pks(self, where: str, params: dict) -> Iterator[int]:
        cursor = query(self.conn, f"SELECT c.pk FROM customers c WHERE {where} ORDER BY c.pk", params)
        while batch := cursor.fetchmany(10000):
            for (pk,) in batch:
                yield pk

    def membership(self, export_pk: int) -> Iterator[tuple[int, bytes]]:
        yield from self.conn.execute(
            "SELECT chunk, members FROM audience_memberships WHERE export_pk = ? ORDER BY chunk", (export_pk,)
        )

    def deleted_customers(self, since_version: int) -> dict[int, str]:
        return dict(self.conn.execute("SELECT pk, id FROM deleted_customers WHERE version > ?", (since_version,)))

    def stage_pks(self, name: str, pks: Iterable[int]) -> None:
        table = _STAGED[name]
        self.conn.execute(f"CREATE TEMP TABLE IF NOT EXISTS {table.split('.')[1]} (pk INTEGER PRIMARY KEY)")
        self.conn.execute(f"DELETE FROM {table}")  # not DROP: a cursor of an earlier call may still be open
        self.conn.executemany(f"INSERT INTO {table} (pk) VALUES (?)", ((pk,) for pk in pks))

    def select_staged_cells(self, name: str, expressions: Sequence[str]) -> Iterator[tuple]:
        table = _STAGED[name]
        sql = f"SELECT {', '.join([*expressions, 'c.id'])} FROM {table} t JOIN customers c ON c.pk = t.pk ORDER BY c.id"
        return self.conn.execute(sql)

    def record_membership(self, export_pk: int, chunks: Iterable[tuple[int, bytes]], keep: int) -> None:
        self.conn.executemany(
            "INSERT INTO audience_memberships (export_pk, chunk, members) VALUES (?, ?, ?)",
            ((export_pk, chunk, blob) for chunk, blob in chunks),
        )
        self.conn.execute("UPDATE exports SET membership_kept = 1 WHERE pk = ?", (export_pk,))
        audience_pk = self.conn.execute("SELECT audience_pk FROM exports WHERE pk = ?", (export_pk,)).fetchone()[0]
        dropped = [
            r[0]
            for r in self.conn.execute(
                "SELECT pk FROM exports WHERE audience_pk = ? AND membership_kept = 1 ORDER BY pk DESC LIMIT -1 OFFSET ?",
                (audience_pk, keep),
            )
        ]
        for pk in dropped:
            self.conn.execute("DELETE FROM audience_memberships WHERE export_pk = ?", (pk,))
            self.conn.execute("UPDATE exports SET membership_kept = 0 WHERE pk = ?", (pk,))
        # A deleted customer's id is needed while a kept membership from before its deletion may
        # hold it; after that, never (seg gives no pk twice).
        self.conn.execute(
            "DELETE FROM deleted_customers WHERE version <= coalesce("
            "(SELECT min(data_version) FROM exports WHERE membership_kept = 1), version)"
        )
