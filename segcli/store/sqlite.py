"""The SQLite engine: every SQL statement that is not a compiled filter.

The schema is documented in the README ("Schema") and built by ``migrations.py``. Column names come
only from the field registry (built-in fields and validated attribute names), never from input.
"""

from __future__ import annotations

import json
import os
import re
import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING

from .. import settings
from ..errors import DataError, LockedError, NotFoundError
from ..fields import Field, FieldRegistry, FieldType
from ..timeutil import local_day
from ..values import fold, is_utf8
from . import errors
from .base import (
    Store,
)
from .errors import query
from .migrations import MIGRATIONS, SCHEMA_VERSION, VERSION_TRIGGERS
from .shared import SharedQueries
from .sqlite_analysts import AnalystQueries
from .sqlite_audiences import AudienceTables
from .sqlite_import import ImportTables

if TYPE_CHECKING:
    from .lock import WriterMarker

SQL_TYPES = {
    FieldType.TEXT: "TEXT",
    FieldType.NUMBER: "NUMERIC",
    FieldType.BOOLEAN: "INTEGER",
    FieldType.DATE: "TEXT",
    FieldType.ENUM: "TEXT",
    FieldType.ARRAY: "TEXT",
}


def _remove_database_files(file: str) -> None:
    """Remove a database file and SQLite's files beside it (a new database that was never used)."""
    for name in (file, file + "-wal", file + "-shm", file + "-journal"):
        try:
            os.unlink(name)
        except OSError:
            pass


class SQLiteStore(ImportTables, AudienceTables, AnalystQueries, SharedQueries, Store):
    """An open SQLite database. Use ``SQLiteStore.open``."""

    engine = "sqlite"
    mark = "?"  # the parameter placeholder of ``SharedQueries``'s SQL
    attribute_order = "rowid"
    sql_types = SQL_TYPES
    text_type = "TEXT"

    def __init__(
        self, conn: sqlite3.Connection, path: str, *, file: str | None = None, read_only: bool = False
    ) -> None:
        self.conn = conn
        self.path = path  # the database as the user named it
        #: The file open: a new database has a temporary name until its first write commits.
        self.file = file or path
        self.read_only = read_only  # in a folder seg cannot write to: reads only
        self.busy_timeout_ms = settings.busy_timeout_ms()
        #: The operations committed through this store (not migrations): what a later failure
        #: of the same command must not claim was undone.
        self.committed: list[str] = []
        #: What migrating the file changed that its user should know (phones it could not read).
        self.migration_notes: list[str] = []
        self._registry: FieldRegistry | None = None
        self._discard_new = None
        #: Whether this transaction has suspended the data version's row triggers (see
        #: ``_customers_written``).
        self._versioned = False
        if self.file != path:  # removed however this object ends, unless its first commit moves it
            import weakref

            self._discard_new = weakref.finalize(self, _remove_database_files, self.file)

    # --- opening and migrating ---------------------------------------------------------------

    @classmethod
    def open(cls, path: str | os.PathLike, *, create: bool = False) -> Store:
        """Open (and migrate) the database at ``path``. A missing file is an error unless
        ``create``; a file that is not a seg database is refused untouched.

        A new database is made under a temporary name beside ``path`` (mode 0600) and moved into
        place by its first commit: a failed or dry-run first write leaves no file behind. A
        database in a folder seg cannot write to is opened for reading only."""
        path = str(path)
        settings.busy_timeout_ms()  # a malformed SEG_BUSY_TIMEOUT is a usage error before any file is made
        if path == ":memory:":  # the Python API's throwaway database (the CLI refuses it)
            return cls._connect(path, path, existed=False)
        exists = os.path.exists(path)
        if not exists and not create:
            raise NotFoundError(f"no database at {path} (import customers first, or pass --db / set SEG_DB)")
        if exists and os.path.isdir(path):
            raise DataError(f"{path} is a folder, not a database file")
        if exists:
            try:
                return cls._connect(path, path, existed=True)
            except sqlite3.OperationalError as exc:
                if not errors.cannot_write_folder(exc):
                    raise
            return cls._connect_read_only(path)
        parent = os.path.dirname(os.path.abspath(path))
        if not os.path.isdir(parent):
            raise NotFoundError(f"cannot create {path}: the folder {parent} does not exist")
        import tempfile  # here, not at the top: `seg count` does not pay for it

        try:  # mkstemp makes it 0600: customer data is for its owner only
            fd, file = tempfile.mkstemp(prefix=f".{os.path.basename(path)}.", suffix=".new", dir=parent)
        except OSError as exc:
            raise DataError(f"cannot create {path}: {exc.strerror}") from None
        os.close(fd)
        try:
            return cls._connect(path, file, existed=False)
        except BaseException:
            _remove_database_files(file)
            raise

    @classmethod
    def _connect(cls, path: str, file: str, *, existed: bool, uri: str | None = None, read_only: bool = False) -> Store:
        try:
            conn = sqlite3.connect(uri or file, uri=uri is not None, isolation_level=None, check_same_thread=False)
        except sqlite3.Error as exc:
            raise DataError(f"cannot open {path}: {exc}") from None
        try:
            store = cls(conn, path, file=file, read_only=read_only)
            store._prepare(existed)
        except sqlite3.DatabaseError as exc:
            conn.close()
            if errors.is_damaged(exc):
                raise DataError(f"{path} is not a seg database (not a readable SQLite file)") from None
            raise
        except BaseException:
            conn.close()
            raise
        return store

    @classmethod
    def _connect_read_only(cls, path: str) -> Store:
        """A database in a folder seg cannot write to, where SQLite cannot make its -shm file.
        Through the -wal and -shm if they are there (a writer with more rights may be at work);
        else as an immutable file: with no -wal, everything committed is in the file itself."""
        from urllib.parse import quote

        real = os.path.realpath(path)  # SQLite keeps -wal and -shm beside the real file
        wal = real + "-wal"
        pending = os.path.exists(wal) and os.path.getsize(wal) > 0
        uri = f"file:{quote(real)}?mode=ro" + ("" if pending else "&immutable=1")
        try:
            return cls._connect(path, path, existed=True, uri=uri, read_only=True)
        except sqlite3.OperationalError as exc:
            raise DataError(f"cannot read {path}: {exc} (opened read-only: its folder cannot be written)") from None

    def _prepare(self, existed: bool) -> None:
        c = self.conn
        # The one SQL function seg registers (SQLite-specific; deterministic): each row's local day,
        # for anniversaries in a zone other than UTC (dialects.Dialect.local_day, SPEC §14).
        c.create_function("seg_local_day", 2, local_day, deterministic=True)
        c.execute(f"PRAGMA busy_timeout = {self.busy_timeout_ms:d}")
        version = c.execute("PRAGMA user_version").fetchone()[0]
        if version > SCHEMA_VERSION:
            raise DataError(
                f"{self.path} was written by a newer seg (schema version {version}, this seg knows "
                f"up to {SCHEMA_VERSION}); upgrade seg to use it"
            )
        if version == 0 and existed:
            tables = c.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]
            if tables:
                raise DataError(f"{self.path} is an SQLite file but not a seg database")
        c.execute("PRAGMA foreign_keys = ON")
        if version < SCHEMA_VERSION and self.read_only:
            raise DataError(
                f"{self.path} needs an upgrade to schema version {SCHEMA_VERSION}, and seg cannot write "
                "to it (the file or its folder is read-only)"
            )
        if version < SCHEMA_VERSION:
            if c.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
                c.execute("PRAGMA journal_mode = WAL")
            self._migrate(version)
        c.execute("PRAGMA synchronous = NORMAL")

    def _migrate(self, version: int) -> None:
        for number in range(version, SCHEMA_VERSION):
            with self.transaction("migrate"):
                current = self.conn.execute("PRAGMA user_version").fetchone()[0]
                if current > number:  # another process migrated it meanwhile
                    continue
                for statement in MIGRATIONS[number].steps:
                    if callable(statement):
                        note = statement(self.conn)
                        if note:
                            self.migration_notes.append(note)
                    else:
                        self.conn.execute(statement)
                self.conn.execute(f"PRAGMA user_version = {number + 1:d}")

    def close(self) -> None:
        self.conn.close()
        if self._discard_new is not None:  # a new database whose first write never committed
            self._discard_new()

    @contextmanager
    def transaction(
        self, operation: str = "write", *, wait_ms: int | None = None, wait_setting: str = "SEG_BUSY_TIMEOUT"
    ) -> Iterator[None]:
        """One write transaction: all of it is committed, or none of it.

        While it is open, ``DB.writer`` beside the database names the operation, so that a writer
        that has to wait, then give up, can say what holds the database. ``wait_ms`` overrides the
        busy timeout for this transaction; ``wait_setting`` names the variable that sets it."""
        self.check_writable()
        waited_ms = self.busy_timeout_ms if wait_ms is None else int(wait_ms)
        if wait_ms is not None:
            self.conn.execute(f"PRAGMA busy_timeout = {waited_ms:d}")
        try:
            self.conn.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as exc:
            if errors.is_locked(exc):
                from .lock import WriterMarker

                raise LockedError(WriterMarker(self.path).locked_message(self.path, waited_ms, wait_setting)) from None
            raise errors.disk_error(exc, self.path) from None
        finally:
            if wait_ms is not None:
                self.conn.execute(f"PRAGMA busy_timeout = {self.busy_timeout_ms:d}")
        marker = self._mark_writer(operation)
        try:
            yield
            if self._versioned:  # before the commit: other programs' writes must fire them again
                for statement in VERSION_TRIGGERS.values():
                    self.conn.execute(statement)
                self._versioned = False
        except BaseException as exc:
            self._rollback()
            self._unmark_writer(marker)
            if isinstance(exc, sqlite3.OperationalError):
                raise errors.disk_error(exc, self.path) from None
            raise
        try:
            self.conn.execute("COMMIT")
        except sqlite3.OperationalError as exc:
            self._rollback()
            raise errors.disk_error(exc, self.path) from None
        finally:
            self._unmark_writer(marker)
        if operation != "migrate":
            if self._discard_new is not None:
                self._publish()
            self.committed.append(operation)

    def check_writable(self) -> None:
        """DataError if this database can only be read (it is in a folder seg cannot write to)."""
        if self.read_only:
            raise DataError(
                f"cannot change {self.path}: its folder is read-only (SQLite keeps its -wal and -shm "
                "files beside the database); reading it works"
            )

    def _publish(self) -> None:
        """Move a new database into place after its first commit. Until then nobody else could
        see it, so a failed first write left nothing behind; a link never replaces a database that
        another process created meanwhile."""
        self.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        self.conn.close()  # the last connection: SQLite folds the WAL in and removes -wal and -shm
        try:
            os.link(self.file, self.path)
            self._discard_new()  # the temporary name (the data lives on under the real one)
        except OSError as exc:
            if isinstance(exc, FileExistsError) or os.path.exists(self.path):
                self._discard_new()
                raise DataError(
                    f"{self.path} was created by another process while this command ran; nothing was "
                    "written to it: run the command again"
                ) from None
            os.replace(self.file, self.path)  # a file system without hard links
        self._discard_new = None
        self.file = self.path
        self.conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        self._prepare(True)

    def _rollback(self) -> None:
        # SQLite has already rolled back by itself after some errors (a full disk): check first.
        if self.conn.in_transaction:
            self.conn.execute("ROLLBACK")
        self._registry = None
        self._versioned = False  # the rollback brought the triggers back

    def _customers_written(self) -> None:
        """Before seg writes customers inside a transaction: bump the data version once, and drop
        its insert and update triggers until the commit, which recreates them (a rollback brings
        them back by itself). A row trigger costs a large import a third of its time; nobody else
        can write meanwhile, and nobody sees the triggers gone."""
        if self._versioned:
            return
        for name in VERSION_TRIGGERS:
            self.conn.execute(f"DROP TRIGGER IF EXISTS {name}")
        self.conn.execute("UPDATE data_version SET version = version + 1")
        self._versioned = True

    def _mark_writer(self, operation: str) -> WriterMarker | None:
        if self.path == ":memory:" or self._discard_new is not None:  # nobody else can see it yet
            return None
        from .lock import WriterMarker  # writers only: ``seg count`` does not pay for it

        marker = WriterMarker(self.path)
        return marker if marker.mark(operation) else None

    @staticmethod
    def _unmark_writer(marker: WriterMarker | None) -> None:
        if marker is not None:
            marker.unmark()

    @contextmanager
    def snapshot(self) -> Iterator[None]:
        """A read transaction: every query inside sees one consistent state. Inside another
        transaction (a caller's snapshot or write), that one is the state."""
        if self.conn.in_transaction:
            yield
            return
        self.conn.execute("BEGIN")
        try:
            yield
        finally:
            self.conn.execute("COMMIT")

    # --- attributes ---------------------------------------------------------------------------

    def text_to_enum(self, f: Field, values: Sequence[str]) -> None:
        """Turn a text attribute into an enum: stored values take the declared spelling and the
        folded copy goes. Every stored value must already be one of ``values``."""
        assert f.type is FieldType.TEXT and f.fold_column
        self._customers_written()
        for value in values:
            self.conn.execute(f"UPDATE customers SET {f.column} = ? WHERE {f.fold_column} = ?", (value, fold(value)))
        self.conn.execute(f"DROP INDEX IF EXISTS customers_{f.column}")  # made by seg before schema 3
        self.conn.execute(f"ALTER TABLE customers DROP COLUMN {f.fold_column}")
        self.conn.execute(
            "UPDATE attributes SET type = 'enum', enum_values = ?, inferred = 0 WHERE name_key = ?",
            (json.dumps(list(values)), f.name.lower()),
        )
        self._registry = None

    def distinct_values(self, f: Field) -> list[object]:
        assert f.column
        return [
            r[0] for r in self.conn.execute(f"SELECT DISTINCT {f.column} FROM customers WHERE {f.column} IS NOT NULL")
        ]

    def value_counts(self) -> dict[str, int]:
        """How many customers have a value in each attribute."""
        counts: dict[str, int] = {}
        for f in self.registry().attributes.values():
            sql = f"SELECT count(*) FROM customers WHERE {f.column} IS NOT NULL"
            counts[f.name] = self.conn.execute(sql).fetchone()[0]
        return counts

    # --- customers ----------------------------------------------------------------------------

    def next_pk(self) -> int:
        # Never a deleted customer's pk: a kept membership may still hold it, meaning that customer.
        return self.conn.execute(
            "SELECT max(coalesce((SELECT max(pk) FROM customers), 0), coalesce((SELECT max(pk) FROM deleted_customers), 0)) + 1"
        ).fetchone()[0]

    def rows_by_id(self, ids: Sequence[str], columns: Sequence[str]) -> dict[str, tuple]:
        """The stored rows (pk first, then ``columns``) of the customers with these ids."""
        out: dict[str, tuple] = {}
        select = ", ".join(["pk", *columns])
        for start in range(0, len(ids), 900):
            part = ids[start : start + 900]
            marks = ", ".join("?" * len(part))
            for row in self.conn.execute(f"SELECT {select} FROM customers WHERE id IN ({marks})", part):
                out[row[1 + columns.index("id")]] = row
        return out

    def insert_customers(self, columns: Sequence[str], rows: list) -> None:
        """Insert rows given as (pk, *columns)."""
        if not rows:  # an empty list writes nothing, and changes no data version
            return
        self._customers_written()
        marks = ", ".join("?" * (len(columns) + 1))
        self.conn.executemany(f"INSERT INTO customers (pk, {', '.join(columns)}) VALUES ({marks})", rows)

    def insert_new_customers(self, columns: Sequence[str], rows: list) -> bool:
        """``insert_customers`` for rows whose ids should all be new. If one is stored already,
        nothing is inserted and the answer is False: one failed statement costs less than looking
        every id up first, when that is rare."""
        if not rows:
            return True
        self._customers_written()  # not inside the savepoint: its rollback would bring the triggers back
        self.conn.execute("SAVEPOINT new_customers")
        try:
            self.insert_customers(columns, rows)
        except sqlite3.IntegrityError as exc:
            self.conn.execute("ROLLBACK TO new_customers")
            self.conn.execute("RELEASE new_customers")
            if "customers.id" not in str(exc):
                raise
            return False
        self.conn.execute("RELEASE new_customers")
        return True

    def update_customers(self, columns: Sequence[str], rows: list) -> None:
        """Update rows given as (pk, *columns), as ``insert_customers`` takes them."""
        if not rows:
            return
        self._customers_written()
        sets = ", ".join(f"{c} = ?{i}" for i, c in enumerate(columns, start=2))
        self.conn.executemany(f"UPDATE customers SET {sets} WHERE pk = ?1", rows)

    @contextmanager
    def bulk_load(self) -> Iterator[bool]:
        """Inside a transaction, loading into an empty database: drop the secondary indexes and
        build them once at the end, which is faster than keeping them up to date row by row.
        Gives whether the table was empty."""
        if self.conn.execute("SELECT 1 FROM customers LIMIT 1").fetchone() is not None:
            yield False
            return
        indexes = self.conn.execute(
            "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL AND tbl_name = 'customers'"
        ).fetchall()
        for name, _ in indexes:
            if not re.match(r"^[a-z_][a-z0-9_]*$", name):
                raise AssertionError(f"unexpected index name {name!r}")
            self.conn.execute(f"DROP INDEX {name}")
        yield True
        for _, sql in indexes:
            self.conn.execute(sql)

    def customer(self, customer_id: str) -> dict | None:
        """One customer as {column: value}, or None."""
        if not is_utf8(customer_id):
            return None
        cur = self.conn.execute("SELECT * FROM customers WHERE id = ?", (customer_id,))
        row = cur.fetchone()
        if row is None:
            return None
        return dict(zip([d[0] for d in cur.description], row, strict=True))

    def customer_ids_like(self, customer_id: str, limit: int = 3) -> list[str]:
        if not is_utf8(customer_id):
            return []
        rows = self.conn.execute(
            "SELECT id FROM customers WHERE id_fold = ? OR id_fold LIKE ? ESCAPE '\\' LIMIT ?",
            (fold(customer_id), _like_prefix(fold(customer_id)[:3]), limit),
        )
        return [r[0] for r in rows]

    # --- segments ---------------------------------------------------------------------------

    # --- filtered queries ---------------------------------------------------------------------

    def count_where(self, where: str, params: dict) -> int:
        """Customers matching a compiled WHERE expression (from ``compile``)."""
        return query(self.conn, f"SELECT count(*) FROM customers c WHERE {where}", params).fetchone()[0]

    def matches(self, pk: int, where: str, params: dict) -> bool:
        sql = f"SELECT 1 FROM customers c WHERE c.pk = :_pk AND ({where})"
        return query(self.conn, sql, {**params, "_pk": pk}).fetchone() is not None

    def select_where(
        self,
        where: str,
        params: dict,
        columns: Sequence[str],
        order_by: Sequence[tuple[str, bool]] = (("id", False),),
        limit: int | None = None,
        expected: int | None = None,
    ) -> sqlite3.Cursor:
        """A cursor over ``columns`` of the matching customers, streamed, never fetched whole.

        ``order_by`` holds (column, descending) pairs; missing values sort last. ``expected``:
        how many rows will match, if known (see ``_order_by``)."""
        order = self._order_by([(col, desc, col != "id") for col, desc in order_by], expected)  # id is never null
        sql = f"SELECT {', '.join('c.' + c for c in columns)} FROM customers c WHERE {where} ORDER BY {order}"
        if limit is not None:
            sql += f" LIMIT {int(limit):d}"
        return query(self.conn, sql, params)

    def _order_by(self, terms: Sequence[tuple[str, bool, bool]], expected: int | None) -> str:
        """ORDER BY for (column, descending, missing values last) terms.

        SQLite may walk an index in that order and look each row up: fine when most customers
        are listed or their ids came in order, slow when the ids are in random order (UUIDs) and
        each lookup lands anywhere. Unless at least a quarter of the customers are known to match
        (``expected``), ``+`` keeps indexes out of the ordering and the rows are sorted after one
        scan: at a million customers with random ids, 0.15 s instead of 1.3 s."""
        few = expected is None or expected * 4 < self.next_pk()
        out = []
        for column, desc, nulls_last in terms:
            ref = f"{'+' if few else ''}c.{column}"
            out.append(
                f"{ref} IS NULL, {ref} {'DESC' if desc else 'ASC'}"
                if nulls_last
                else f"{ref} {'DESC' if desc else 'ASC'}"
            )
        return ", ".join(out)

    def count_steps(self, where: str, params: dict, steps: Sequence[str]) -> list[int]:
        """How many customers match ``where``, and how many of them each of ``steps`` keeps: one
        scan for a whole export waterfall."""
        sums = "".join(f", coalesce(sum(CASE WHEN {e} THEN 1 ELSE 0 END), 0)" for e in steps)
        row = query(self.conn, f"SELECT count(*){sums} FROM customers c WHERE {where}", params).fetchone()
        return list(row)

    def count_many(self, wheres: Sequence[str], params: dict) -> list[int]:
        """How many customers match each of ``wheres`` (compiled with one shared set of
        parameters): one scan for them all, shared between the cores, and none at all for those an
        index answers (``sqlite_counts``)."""
        from .sqlite_counts import count_many

        return count_many(self, wheres, params)

    def can_share_reads(self) -> bool:
        """Whether other connections can read this database as this one does (``reader``)."""
        return not self.read_only and self.path != ":memory:" and self._discard_new is None

    def reader(self) -> sqlite3.Connection:
        """Another connection to this database, for reading only, set up as this one is."""
        from urllib.parse import quote

        conn = sqlite3.connect(
            f"file:{quote(os.path.realpath(self.file))}?mode=ro",
            uri=True,
            isolation_level=None,
            check_same_thread=False,
        )
        conn.execute(f"PRAGMA busy_timeout = {self.busy_timeout_ms:d}")
        conn.create_function("seg_local_day", 2, local_day, deterministic=True)  # as _prepare does
        return conn

    def select_cells(
        self, where: str, params: dict, expressions: Sequence[str], expected: int | None = None
    ) -> sqlite3.Cursor:
        """A cursor over compiled cell ``expressions`` (``compile.compile_cells``) of the matching
        customers, by id; ``expected`` as for ``select_where``."""
        order = self._order_by([("id", False, False)], expected)
        sql = f"SELECT {', '.join(expressions)} FROM customers c WHERE {where} ORDER BY {order}"
        return query(self.conn, sql, params)

    def explain(self, where: str, params: dict) -> list[str]:
        rows = query(self.conn, f"EXPLAIN QUERY PLAN SELECT count(*) FROM customers c WHERE {where}", params)
        return [r[3] for r in rows]


def _like_prefix(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return escaped + "%"
