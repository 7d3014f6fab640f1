"""The one translator of engine errors into SegErrors, with messages for people.

Stores call ``disk_error`` and ``query`` (SQLite), ``pg_write_error`` and ``pg_query``
(PostgreSQL) where they know what went wrong; ``translate`` is the net
for anything else an engine raises, used by the CLI's entry point: nothing outside ``store/`` looks
at an engine's exceptions or their wording.
"""

from __future__ import annotations

import sqlite3
import sys

from ..errors import DataError, LockedError, SegError, TooLargeError

#: How SQLite says that a statement is beyond its limits (which depend on how it was built).
_ENGINE_LIMITS = ("too many SQL variables", "Expression tree is too large", "parser stack overflow", "too many terms")
_DAMAGED = ("not a database", "malformed", "corrupt")


def is_locked(exc: sqlite3.OperationalError) -> bool:
    return "locked" in str(exc) or "busy" in str(exc)


def is_damaged(exc: sqlite3.DatabaseError) -> bool:
    return any(word in str(exc) for word in _DAMAGED)


def cannot_write_folder(exc: sqlite3.OperationalError) -> bool:
    """SQLite could not make its -shm or -wal file beside the database: a read-only folder."""
    name = getattr(exc, "sqlite_errorname", "")
    return name in ("SQLITE_READONLY_DIRECTORY", "SQLITE_CANTOPEN") or "readonly" in str(exc)


def disk_error(exc: sqlite3.OperationalError, path: str) -> Exception:
    """SQLite's "database or disk is full", "disk I/O error" and "readonly" as a message for people;
    any other error as it is."""
    if "full" in str(exc) or "disk I/O" in str(exc):
        return DataError(
            f"could not write to the disk ({exc}; is it full?): nothing was written, the database is as it was"
        )
    if "readonly" in str(exc):
        return DataError(f"cannot change {path}: the file is read-only ({exc}); nothing was written")
    return exc


def query(conn: sqlite3.Connection, sql: str, params: dict) -> sqlite3.Cursor:
    """Run a statement holding a compiled filter: one SQLite cannot evaluate is a TooLargeError."""
    try:
        return conn.execute(sql, params)
    except sqlite3.OperationalError as exc:
        if any(limit in str(exc) for limit in _ENGINE_LIMITS):
            raise TooLargeError(f"too large for SQLite to evaluate ({exc})") from None
        raise


def translate(exc: BaseException) -> SegError | None:
    """An engine's exception that got past the store, as a SegError; None if it is not one."""
    translated = _translate_postgres(exc)
    if translated is not None:
        return translated
    if isinstance(exc, sqlite3.OperationalError):
        if is_locked(exc):
            return LockedError(
                "the database is locked by another seg process writing to it (an import, apply "
                "or edit); try again when it has finished"
            )
        return DataError(f"database error: {exc}")
    if isinstance(exc, sqlite3.DatabaseError):
        if is_damaged(exc):
            return DataError(f"the database file is damaged or not a seg database: {exc}")
        return DataError(f"database error: {exc}")
    return None


# --- PostgreSQL (psycopg is looked at only if a PostgreSQL database was opened) ------------------


def first_line(exc: BaseException) -> str:
    """The first line of a driver's message (psycopg adds the statement and a caret below it)."""
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _pg_too_large(exc: BaseException) -> bool:
    import psycopg

    if isinstance(exc, psycopg.errors.StatementTooComplex | psycopg.errors.ProgramLimitExceeded):
        return True  # "stack depth limit exceeded", "too many columns", ...
    if isinstance(exc, psycopg.errors.SyntaxError) and "memory exhausted" in str(exc):
        return True  # the parser's stack
    return isinstance(exc, psycopg.OperationalError) and "number of parameters" in str(exc)


def pg_query(conn, sql: str, params: dict):
    """Run a statement holding a compiled filter on PostgreSQL (a connection or a cursor): one the
    server cannot evaluate is a TooLargeError."""
    import psycopg

    try:
        return conn.execute(sql, params)
    except psycopg.Error as exc:
        if _pg_too_large(exc):
            raise TooLargeError(f"too large for PostgreSQL to evaluate ({first_line(exc)})") from None
        raise


def pg_write_error(exc: BaseException, database: str) -> Exception:
    """A PostgreSQL error that ended a write transaction, for people; any other as it is."""
    import psycopg

    errors = psycopg.errors
    if isinstance(exc, errors.DiskFull | errors.OutOfMemory | errors.InsufficientResources):
        return DataError(f"the database server could not write ({first_line(exc)}): nothing was written")
    if isinstance(exc, errors.ReadOnlySqlTransaction | errors.InsufficientPrivilege):
        return DataError(f"cannot change {database}: {first_line(exc)}; nothing was written")
    if isinstance(exc, psycopg.OperationalError):
        return DataError(f"the connection to {database} failed ({first_line(exc)}): nothing was written")
    return exc


def _translate_postgres(exc: BaseException) -> SegError | None:
    psycopg = sys.modules.get("psycopg")
    if psycopg is None or not isinstance(exc, psycopg.Error):
        return None
    errors = psycopg.errors
    if isinstance(exc, errors.LockNotAvailable):
        return LockedError(f"the database is locked by another process writing to it ({first_line(exc)})")
    if isinstance(exc, errors.UndefinedTable | errors.UndefinedColumn | errors.UndefinedFunction):
        return DataError(f"the database is not as seg left it (was it changed by another program?): {first_line(exc)}")
    if _pg_too_large(exc):
        return TooLargeError(f"too large for PostgreSQL to evaluate ({first_line(exc)})")
    return DataError(f"database error: {first_line(exc)}")
