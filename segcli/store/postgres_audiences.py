"""The PostgreSQL engine's statements for what seg keeps over time (SPEC §5, §10), as
``sqlite_audiences.py`` does them on SQLite: the history of exports, saved audiences, the
membership of each of their exports, segment counts taken by ``seg snapshot``, the data version
and the counts it lets a later command reuse. A mixin of ``PostgresStore`` (``postgres.py``).

The data version is bumped by statement-level triggers (``postgres_schema.py``), so seg's own
writers need do nothing. While an export runs, the customers it added or removed are staged in
temporary tables of its session (filled with COPY), so that no list of customers is held in memory;
the member pks stream through a server-side cursor.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence

import psycopg
from psycopg import pq

from ..model import Audience
from ..timeutil import stamp
from .base import EXPORT_COLUMNS, export_of, export_values
from .pgconnect import StreamedRows, name_holder

#: Temporary tables that ``stage_pks`` may fill: the names never come from input.
_STAGED = {"added": "seg_added", "removed": "seg_removed"}


class PostgresAudienceTables:
    """Statements over ``exports``, ``audiences``, ``audience_segments``, ``audience_memberships``,
    ``segment_counts``, ``count_cache``, ``data_version`` and ``deleted_customers``."""

    conn: psycopg.Connection
    read_only: bool
    lock_key: int
    _rows: Callable[[str, dict], StreamedRows]  # PostgresStore's: a server-side cursor

    # --- exports ------------------------------------------------------------------------------

    def insert_export(self, record: dict) -> int:
        """Record an export (call inside a transaction); returns its id."""
        columns, values = export_values(record)
        marks = ", ".join(f"%({c})s" for c in columns)
        sql = f"INSERT INTO exports ({', '.join(columns)}) VALUES ({marks}) RETURNING pk"
        return self.conn.execute(sql, values).fetchone()[0]

    def exports(self, limit: int | None = None) -> list[dict]:
        sql = f"SELECT {EXPORT_COLUMNS} FROM exports ORDER BY pk DESC"
        if limit is not None:
            sql += f" LIMIT {int(limit):d}"
        return [export_of(row) for row in self.conn.execute(sql)]

    # --- the data version and reused counts -------------------------------------------------

    def data_version(self) -> int:
        return self.conn.execute("SELECT version FROM data_version").fetchone()[0]

    def cached_counts(self, keys: Sequence[str], version: int) -> dict[str, int]:
        rows = self.conn.execute(
            "SELECT key, count FROM count_cache WHERE version = %s AND key = ANY(%s)", (version, list(keys))
        )
        return dict(rows.fetchall())

    def cache_counts(self, counts: dict[str, int], version: int) -> bool:
        if self.read_only or self.conn.info.transaction_status != pq.TransactionStatus.IDLE:
            return False
        try:
            self.conn.execute("BEGIN")
            try:
                # never a wait: a writer holds the lock, or the counts are of the past
                name_holder(self.conn, "count cache")  # a writer that waits meanwhile names this
                if not self.conn.execute("SELECT pg_try_advisory_xact_lock(%s)", (self.lock_key,)).fetchone()[0]:
                    return False
                if self.data_version() != version:
                    return False
                self.conn.execute("DELETE FROM count_cache WHERE version != %s", (version,))
                with self.conn.cursor() as cur:
                    cur.executemany(
                        "INSERT INTO count_cache (key, version, count) VALUES (%s, %s, %s)"
                        " ON CONFLICT (key) DO UPDATE SET version = EXCLUDED.version, count = EXCLUDED.count",
                        [(key, version, n) for key, n in counts.items()],
                    )
                self.conn.execute("COMMIT")
                return True
            finally:
                if self.conn.info.transaction_status != pq.TransactionStatus.IDLE:
                    self.conn.execute("ROLLBACK")
        except psycopg.Error:  # a read-only role, a connection gone: no reuse this time
            return False

    # --- segment counts over time -----------------------------------------------------------

    def insert_segment_counts(self, taken_at: str, counts: Sequence[tuple[int, int]]) -> None:
        with self.conn.cursor() as cur:
            cur.executemany(
                "INSERT INTO segment_counts (segment_pk, taken_at, count) VALUES (%s, %s, %s)"
                " ON CONFLICT (segment_pk, taken_at) DO UPDATE SET count = EXCLUDED.count",
                [(pk, taken_at, n) for pk, n in counts],
            )

    # --- saved audiences --------------------------------------------------------------------

    def insert_audience(self, audience: Audience) -> None:
        now = stamp()
        pk = self.conn.execute(
            "INSERT INTO audiences (name, name_key, description, require, unique_by, include_opted_out, columns,"
            " created_at, updated_at) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s) RETURNING pk",
            (*self._audience_row(audience), now, now),
        ).fetchone()[0]
        self._audience_segments(pk, audience)

    # --- memberships ------------------------------------------------------------------------

    def member_pks(self, where: str, params: dict) -> Iterator[int]:
        for (pk,) in self._rows(f"SELECT c.pk FROM customers c WHERE {where} ORDER BY c.pk", params):
            yield pk

    def membership(self, export_pk: int) -> Iterator[tuple[int, bytes]]:
        rows = self.conn.execute(
            "SELECT chunk, members FROM audience_memberships WHERE export_pk = %s ORDER BY chunk", (export_pk,)
        )
        for chunk, members in rows:
            yield chunk, bytes(members)

    def deleted_customers(self, since_version: int) -> dict[int, str]:
        return dict(
            self.conn.execute("SELECT pk, id FROM deleted_customers WHERE version > %s", (since_version,)).fetchall()
        )

    def stage_pks(self, name: str, pks: Iterable[int]) -> None:
        table = _STAGED[name]
        # In the export's read transaction (which is not READ ONLY for this): gone at its end.
        self.conn.execute(f"CREATE TEMPORARY TABLE IF NOT EXISTS {table} (pk BIGINT PRIMARY KEY) ON COMMIT DROP")
        self.conn.execute(f"TRUNCATE {table}")
        with self.conn.cursor() as cur, cur.copy(f"COPY {table} (pk) FROM STDIN") as copy:
            for pk in pks:
                copy.write_row((pk,))

    def select_staged_cells(self, name: str, expressions: Sequence[str]) -> Iterator[tuple]:
        table = _STAGED[name]
        sql = (
            f"SELECT {', '.join([*expressions, 'c.id'])} FROM pg_temp.{table} t JOIN customers c ON c.pk = t.pk"
            " ORDER BY c.id"
        )
        return self._rows(sql, {})

    def record_membership(self, export_pk: int, chunks: Iterable[tuple[int, bytes]], keep: int) -> None:
        with (
            self.conn.cursor() as cur,
            cur.copy("COPY audience_memberships (export_pk, chunk, members) FROM STDIN") as copy,
        ):
            for chunk, blob in chunks:
                copy.write_row((export_pk, chunk, blob))
        self.conn.execute("UPDATE exports SET membership_kept = TRUE WHERE pk = %s", (export_pk,))
        self.conn.execute(
            "WITH dropped AS (SELECT pk FROM exports WHERE membership_kept AND audience_pk ="
            " (SELECT audience_pk FROM exports WHERE pk = %(pk)s) ORDER BY pk DESC OFFSET %(keep)s),"
            " gone AS (DELETE FROM audience_memberships WHERE export_pk IN (SELECT pk FROM dropped))"
            " UPDATE exports SET membership_kept = FALSE WHERE pk IN (SELECT pk FROM dropped)",
            {"pk": export_pk, "keep": keep},
        )
        # A deleted customer's id is needed while a kept membership from before its deletion may
        # hold it; after that, never (seg gives no pk twice).
        self.conn.execute(
            "DELETE FROM deleted_customers WHERE version <= coalesce("
            "(SELECT min(data_version) FROM exports WHERE membership_kept), version)"
        )
