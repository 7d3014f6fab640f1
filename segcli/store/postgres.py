"""The PostgreSQL engine (SPEC §12): the Store interface over psycopg 3, in a schema of its own
(``seg`` unless the URL names another, ``?schema=NAME``).

- The tables are SQLite's (``postgres_schema.py``), so that the same compiled comparisons give the
  same answers; text columns are ``COLLATE "C"`` (code-point order, whatever the server's
  collation) and nothing reads the server's time zone.
- Writers take a transaction-scoped advisory lock (one per schema), named with the operation and
  the process holding it, so that writers on any machine serialize and the one that gives up can
  say who it waited for. Readers take no lock: MVCC gives each its snapshot, and a reader waits only
  for a write that changes the table's columns (a new attribute) to commit.
- Customers are written with COPY; exports and member lists stream through a server-side cursor.
- A new database (a schema without ``seg_meta``) is made by its first write, in the same
  transaction: a failed or dry-run first write leaves nothing behind, as SQLite's new file is
  published only by its first commit.
"""

from __future__ import annotations

import itertools
import json
import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

import psycopg
from psycopg import pq

from .. import settings
from ..errors import DataError, NotFoundError
from ..fields import Field, FieldRegistry, FieldType
from ..values import fold
from . import errors
from .base import Store
from .pgconnect import StreamedRows, connect, lock_holder, lock_key, locked_error, name_holder, take_lock
from .postgres_analysts import PostgresAnalystQueries
from .postgres_audiences import PostgresAudienceTables
from .postgres_import import PostgresImportTables, is_text
from .postgres_schema import MIGRATIONS, SCHEMA_VERSION, TEXT
from .shared import SharedQueries

SQL_TYPES = {
    FieldType.TEXT: TEXT,
    FieldType.NUMBER: "NUMERIC",
    FieldType.BOOLEAN: "BOOLEAN",
    FieldType.DATE: TEXT,
    FieldType.ENUM: TEXT,
    FieldType.ARRAY: TEXT,
}
_COLUMN = re.compile(r"(pk|[a-z_][a-z0-9_]*)")


class PostgresStore(PostgresImportTables, PostgresAudienceTables, PostgresAnalystQueries, SharedQueries, Store):
    """An open seg database in a PostgreSQL schema. Use ``PostgresStore.open``."""

    engine = "postgresql"
    mark = "%s"  # the parameter placeholder of ``SharedQueries``'s SQL
    attribute_order = "pk"
    sql_types = SQL_TYPES
    text_type = TEXT

    def __init__(self, conn: psycopg.Connection, path: str, schema: str) -> None:
        self.conn = conn
        self.path = path  # the URL as shown: no password
        self.schema = schema
        self.lock_key = lock_key(schema)
        self.busy_timeout_ms = settings.busy_timeout_ms()
        self.committed: list[str] = []
        #: What migrating the database changed that its user should know (phones it could not read).
        self.migration_notes: list[str] = []
        self.read_only = False
        self._registry: FieldRegistry | None = None
        self._creating = False  # the open transaction is making the database (see _begin_creation)
        self._create_on_write = False  # the first write rolled back: the next one makes it again
        self._stream: StreamedRows | None = None  # member rows holding their own read transaction
        self._cursor_names = itertools.count(1)

    # --- opening and migrating ---------------------------------------------------------------

    @classmethod
    def open(cls, url: str, *, create: bool = False) -> Store:
        """Open (and migrate) the seg database in the URL's schema. A schema without one is an
        error unless ``create``, and then the first write makes it; a schema that holds other
        tables is refused untouched."""
        settings.busy_timeout_ms()  # a malformed SEG_BUSY_TIMEOUT is a usage error before connecting
        conn, schema, shown = connect(url)
        store = cls(conn, shown, schema)
        try:
            store._prepare(create)
        except BaseException:
            conn.close()
            raise
        return store

    def _prepare(self, create: bool) -> None:
        self.read_only = bool(
            self._value("SELECT pg_is_in_recovery() OR current_setting('default_transaction_read_only') = 'on'")
        )
        version = self._version()
        if version is None:
            if self._value(
                "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
                " WHERE n.nspname = %s AND c.relkind IN ('r', 'v', 'm', 'p', 'f')",
                (self.schema,),
            ):
                raise DataError(
                    f"the schema {self.schema} of {self.path} holds tables but is not a seg database; "
                    "name another schema (?schema=NAME)"
                )
            if not create:
                raise NotFoundError(f"no database at {self.path} (import customers first, or pass --db / set SEG_DB)")
            self._begin_creation()
            return
        if version > SCHEMA_VERSION:
            raise DataError(
                f"{self.path} was written by a newer seg (schema version {version}, this seg knows "
                f"up to {SCHEMA_VERSION}); upgrade seg to use it"
            )
        if version < SCHEMA_VERSION:
            if self.read_only:
                raise DataError(
                    f"{self.path} needs an upgrade to schema version {SCHEMA_VERSION}, and the server is read-only"
                )
            self._migrate()

    def _value(self, sql: str, params: Sequence | dict | None = None) -> object:
        row = self.conn.execute(sql, params).fetchone()
        return row[0] if row else None

    def _version(self) -> int | None:
        """The schema's version, None if it holds no seg database."""
        if not self._value(
            "SELECT count(*) FROM pg_tables WHERE schemaname = %s AND tablename = 'seg_meta'", (self.schema,)
        ):
            return None
        return int(self._value("SELECT value FROM seg_meta WHERE name = 'schema_version'") or 0)

    def _begin_creation(self) -> None:
        """Open the transaction that makes the database: the schema, then every migration. It
        stays open, holding the writer lock, until the first write commits it (``transaction``);
        if another process made the database meanwhile, this one is opened as it is."""
        self.check_writable()
        self.conn.execute("BEGIN")
        try:
            self._lock("create", self.busy_timeout_ms, "SEG_BUSY_TIMEOUT")
            if self._version() is not None:
                self.conn.execute("ROLLBACK")
                self._prepare(create=False)
                return
            if not self._value("SELECT count(*) FROM pg_namespace WHERE nspname = %s", (self.schema,)):
                self.conn.execute(psycopg.sql.SQL("CREATE SCHEMA {}").format(psycopg.sql.Identifier(self.schema)))
            self.conn.execute('CREATE TABLE seg_meta (name TEXT COLLATE "C" PRIMARY KEY, value TEXT NOT NULL)')
            self._run_migrations(0)
        except BaseException:
            self._rollback()
            raise
        self._creating = True
        self._create_on_write = False

    def _run_migrations(self, version: int, stop: int = SCHEMA_VERSION) -> None:
        for number in range(version, stop):
            for statement in MIGRATIONS[number].steps:
                if callable(statement):
                    note = statement(self.conn)
                    if note:
                        self.migration_notes.append(note)
                else:
                    self.conn.execute(statement)
        self.conn.execute(
            "INSERT INTO seg_meta (name, value) VALUES ('schema_version', %s)"
            " ON CONFLICT (name) DO UPDATE SET value = EXCLUDED.value",
            (str(stop),),
        )

    def _migrate(self) -> None:
        for number in range(self._version() or 0, SCHEMA_VERSION):
            with self.transaction("migrate"):
                if (self._version() or 0) > number:  # another process migrated it meanwhile
                    continue
                self._run_migrations(number, number + 1)

    def close(self) -> None:
        self.conn.close()  # an open transaction (a new database never written to) rolls back

    # --- transactions and the writer lock -----------------------------------------------------

    def _in_transaction(self) -> bool:
        return self.conn.info.transaction_status != pq.TransactionStatus.IDLE

    @contextmanager
    def transaction(
        self, operation: str = "write", *, wait_ms: int | None = None, wait_setting: str = "SEG_BUSY_TIMEOUT"
    ) -> Iterator[None]:
        """One write transaction: all of it is committed, or none of it. It holds the schema's
        advisory lock, waiting for another writer up to ``wait_ms`` (default: the busy timeout;
        ``wait_setting`` names the variable that sets it)."""
        self.check_writable()
        self._close_stream()
        if self._create_on_write:
            self._begin_creation()
        if self._creating:  # the lock is held since the database was opened: now say for what
            name_holder(self.conn, operation)
        else:
            self.conn.execute("BEGIN")
            try:
                self._lock(operation, self.busy_timeout_ms if wait_ms is None else int(wait_ms), wait_setting)
            except BaseException:
                self._rollback()
                raise
        try:
            yield
        except BaseException as exc:
            self._rollback()
            if self._creating:  # the first write failed: the database was never made
                self._creating, self._create_on_write = False, True
            if isinstance(exc, psycopg.Error):
                raise errors.pg_write_error(exc, self.path) from None
            raise
        try:
            self.conn.execute("COMMIT")
        except psycopg.Error as exc:
            self._rollback()
            raise errors.pg_write_error(exc, self.path) from None
        self._creating = False
        if operation != "migrate":
            self.committed.append(operation)

    def _lock(self, operation: str, wait_ms: int, wait_setting: str) -> None:
        """Take the writer lock in the open transaction; LockedError, naming its holder, after
        ``wait_ms`` (the transaction rolled back)."""
        if take_lock(self.conn, self.lock_key, operation, wait_ms):
            return
        holder = None
        for _ in range(3):  # the holder may finish between the wait's end and the question "who?"
            self._rollback()
            holder = lock_holder(self.conn, self.lock_key)
            if holder is not None:
                break
            self.conn.execute("BEGIN")  # nobody holds it now: take it without waiting
            if take_lock(self.conn, self.lock_key, operation, 0):
                return
        self._rollback()
        raise locked_error(holder, self.lock_key, self.path, self.schema, wait_ms, wait_setting)

    def _rollback(self) -> None:
        self._registry = None
        if self._in_transaction() and not self.conn.closed:
            try:
                self.conn.execute("ROLLBACK")
            except psycopg.OperationalError:  # the connection is gone: the server rolled back
                pass

    def check_writable(self) -> None:
        if self.read_only:
            raise DataError(
                f"cannot change {self.path}: the server is read-only (a standby, or "
                "default_transaction_read_only); reading it works"
            )

    @contextmanager
    def snapshot(self) -> Iterator[None]:
        """A read transaction (repeatable read): every query inside sees one state."""
        self._close_stream()
        if self._in_transaction():  # inside a write (or the making of a new database): its state
            yield
            return
        # Not READ ONLY: an export of a saved audience stages its changes in temporary tables.
        self.conn.execute("BEGIN ISOLATION LEVEL REPEATABLE READ")
        try:
            yield
        finally:
            self._close_stream()
            self._rollback_read()

    def _rollback_read(self) -> None:
        if not self.conn.closed and self._in_transaction():
            try:
                self.conn.execute("ROLLBACK")
            except psycopg.OperationalError:  # the connection is gone, and its transaction
                pass

    def _close_stream(self) -> None:
        if self._stream is not None:
            self._stream.close()

    def _end_stream(self, rows: StreamedRows) -> None:
        if self._stream is rows:
            self._stream = None
            self._rollback_read()

    def _rows(self, sql: str, params: dict) -> StreamedRows:
        """A server-side cursor over ``sql``, inside a read transaction of its own if none is open."""
        self._close_stream()
        own = not self._in_transaction()
        if own:
            self.conn.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
        cursor = self.conn.cursor(name=f"seg_rows_{next(self._cursor_names)}")
        try:
            errors.pg_query(cursor, sql, params)
        except BaseException:
            if own:
                self._rollback_read()
            raise
        rows = StreamedRows(cursor, self._end_stream if own else None)
        if own:
            self._stream = rows
        return rows

    # --- attributes -----------------------------------------------------------------------------

    def text_to_enum(self, f: Field, values: Sequence[str]) -> None:
        """Turn a text attribute into an enum: stored values take the declared spelling and the
        folded copy goes. Every stored value must already be one of ``values``."""
        assert f.type is FieldType.TEXT and f.fold_column
        for value in values:
            self.conn.execute(f"UPDATE customers SET {f.column} = %s WHERE {f.fold_column} = %s", (value, fold(value)))
        self.conn.execute(f"ALTER TABLE customers DROP COLUMN {f.fold_column}")
        self.conn.execute(
            "UPDATE attributes SET type = 'enum', enum_values = %s, inferred = FALSE WHERE name_key = %s",
            (json.dumps(list(values)), f.name.lower()),
        )
        self._registry = None

    def distinct_values(self, f: Field) -> list[object]:
        assert f.column
        sql = f"SELECT DISTINCT {f.column} FROM customers WHERE {f.column} IS NOT NULL"
        return [r[0] for r in self.conn.execute(sql)]

    def value_counts(self) -> dict[str, int]:
        attributes = list(self.registry().attributes.values())
        if not attributes:
            return {}
        counts = ", ".join(f"count({f.column})" for f in attributes)  # one scan for them all
        row = self.conn.execute(f"SELECT {counts} FROM customers").fetchone()
        return {f.name: n for f, n in zip(attributes, row, strict=True)}

    # --- customers ------------------------------------------------------------------------------

    def next_pk(self) -> int:
        # Never a deleted customer's pk: a kept membership may still hold it, meaning that customer.
        return self._value(
            "SELECT greatest((SELECT max(pk) FROM customers), (SELECT max(pk) FROM deleted_customers), 0) + 1"
        )

    def rows_by_id(self, ids: Sequence[str], columns: Sequence[str]) -> dict[str, tuple]:
        """The stored rows (pk first, then ``columns``) of the customers with these ids."""
        at = 1 + list(columns).index("id")
        sql = f"SELECT {', '.join(_checked(['pk', *columns]))} FROM customers WHERE id = ANY(%s)"
        return {row[at]: row for row in self.conn.execute(sql, (list(ids),))}

    def _copy(self, table: str, columns: Sequence[str], rows: Sequence[Sequence]) -> None:
        """COPY rows given as (pk, *columns) into ``table``, streamed to the server."""
        names = ", ".join(_checked(["pk", *columns]))
        with self.conn.cursor() as cur, cur.copy(f"COPY {table} ({names}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)

    def insert_customers(self, columns: Sequence[str], rows: Sequence[Sequence]) -> None:
        """Insert rows given as (pk, *columns), with COPY."""
        if rows:
            self._copy("customers", columns, rows)

    def insert_new_customers(self, columns: Sequence[str], rows: list) -> bool:
        """``insert_customers`` for rows whose ids should all be new; if one is stored already,
        nothing is inserted and the answer is False."""
        self.conn.execute("SAVEPOINT new_customers")
        try:
            self.insert_customers(columns, rows)
        except psycopg.errors.UniqueViolation as exc:
            self.conn.execute("ROLLBACK TO SAVEPOINT new_customers")
            self.conn.execute("RELEASE SAVEPOINT new_customers")
            if exc.diag.constraint_name != "customers_id_unique":
                raise
            return False
        self.conn.execute("RELEASE SAVEPOINT new_customers")
        return True

    def update_customers(self, columns: Sequence[str], rows: Sequence[Sequence]) -> None:
        """Update rows given as (pk, *columns): COPY into a temporary table, then one UPDATE."""
        if not rows:
            return
        names = _checked(columns)
        self.conn.execute(
            f"CREATE TEMPORARY TABLE seg_changed ON COMMIT DROP AS SELECT pk, {', '.join(names)}"
            " FROM customers WITH NO DATA"
        )
        try:
            self._copy("seg_changed", columns, rows)
            sets = ", ".join(f"{c} = s.{c}" for c in names)
            self.conn.execute(f"UPDATE customers c SET {sets} FROM seg_changed s WHERE c.pk = s.pk")
        finally:
            if self.conn.info.transaction_status == pq.TransactionStatus.INTRANS:
                self.conn.execute("DROP TABLE seg_changed")

    @contextmanager
    def bulk_load(self) -> Iterator[bool]:
        """Gives whether the table was empty. The indexes stay: dropping them would make every
        reader wait for the load to commit."""
        yield self._value("SELECT count(*) FROM (SELECT 1 FROM customers LIMIT 1) AS one") == 0

    def customer(self, customer_id: str) -> dict | None:
        if not is_text(customer_id):
            return None
        cur = self.conn.execute("SELECT * FROM customers WHERE id = %s", (customer_id,))
        row = cur.fetchone()
        if row is None:
            return None
        return dict(zip([d.name for d in cur.description], row, strict=True))

    def customer_ids_like(self, customer_id: str, limit: int = 3) -> list[str]:
        if not is_text(customer_id):
            return []
        key = fold(customer_id)
        rows = self.conn.execute(
            "SELECT id FROM customers WHERE id_fold = %s OR starts_with(id_fold, %s) LIMIT %s",
            (key, key[:3], limit),
        )
        return [r[0] for r in rows]

    # --- segments -------------------------------------------------------------------------------

    # --- filtered queries ---------------------------------------------------------------------

    def count_where(self, where: str, params: dict) -> int:
        return errors.pg_query(self.conn, f"SELECT count(*) FROM customers c WHERE {where}", params).fetchone()[0]

    def matches(self, pk: int, where: str, params: dict) -> bool:
        sql = f"SELECT 1 FROM customers c WHERE c.pk = %(_pk)s AND ({where})"
        return errors.pg_query(self.conn, sql, {**params, "_pk": pk}).fetchone() is not None

    def select_where(
        self,
        where: str,
        params: dict,
        columns: Sequence[str],
        order_by: Sequence[tuple[str, bool]] = (("id", False),),
        limit: int | None = None,
        expected: int | None = None,
    ) -> StreamedRows:
        """``columns`` of the matching customers through a server-side cursor; missing values sort
        last, text in code-point order (the columns' collation)."""
        order = ", ".join(
            f"c.{col} {'DESC' if desc else 'ASC'}{' NULLS LAST' if col != 'id' else ''}"
            for col, desc in order_by
            if _COLUMN.fullmatch(col)
        )
        sql = f"SELECT {', '.join('c.' + c for c in _checked(columns))} FROM customers c WHERE {where} ORDER BY {order}"
        if limit is not None:
            sql += f" LIMIT {int(limit):d}"
        return self._rows(sql, params)

    def count_steps(self, where: str, params: dict, steps: Sequence[str]) -> list[int]:
        sums = "".join(f", count(*) FILTER (WHERE {e})" for e in steps)
        return list(
            errors.pg_query(self.conn, f"SELECT count(*){sums} FROM customers c WHERE {where}", params).fetchone()
        )

    def count_many(self, wheres: Sequence[str], params: dict) -> list[int]:
        if not wheres:
            return []
        counts = ", ".join(f"count(*) FILTER (WHERE {w})" for w in wheres)
        return list(errors.pg_query(self.conn, f"SELECT {counts} FROM customers c", params).fetchone())

    def select_cells(
        self, where: str, params: dict, expressions: Sequence[str], expected: int | None = None
    ) -> StreamedRows:
        sql = f"SELECT {', '.join(expressions)} FROM customers c WHERE {where} ORDER BY c.id"
        return self._rows(sql, params)

    def explain(self, where: str, params: dict) -> list[str]:
        rows = errors.pg_query(self.conn, f"EXPLAIN SELECT count(*) FROM customers c WHERE {where}", params)
        return [r[0] for r in rows]


def _checked(columns: Sequence[str]) -> list[str]:
    """Column names as seg makes them (they come from the registry), checked before they reach SQL."""
    for c in columns:
        if not _COLUMN.fullmatch(c):
            raise AssertionError(f"unexpected column {c!r}")
    return list(columns)
