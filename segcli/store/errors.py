"""The one translator of engine errors into SegErrors, with messages for people.

Stores call ``disk_error`` and ``query`` where they know what went wrong; ``translate`` is the net
for anything else an engine raises, used by the CLI's entry point: nothing outside ``store/`` looks
at an engine's exceptions or their wording.
"""

from __future__ import annotations

import sqlite3

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
