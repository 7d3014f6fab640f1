"""PostgreSQL plumbing for ``postgres.py``: the URL, the connection and its type adapters, the
writer lock (an advisory lock) and rows streamed from a server-side cursor.

The writer lock is PostgreSQL's version of ``lock.py``'s marker: a transaction-scoped advisory lock,
one per schema, taken by every write transaction. Its holder names itself in its session's
``application_name`` (``seg import pid=123 host=cron-1``), which the server shows to anyone, so a
writer that gives up can say who it waited for; it goes when the transaction ends, whatever ends it.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Callable, Iterator
from urllib.parse import parse_qsl, unquote, urlencode, urlsplit, urlunsplit

import psycopg
from psycopg.adapt import Dumper, Loader

from ..errors import DataError, LockedError, UsageError
from ..values import INTEGER_MAX, INTEGER_MIN
from .errors import first_line

_SCHEMA_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,62}")
#: Rows a server-side cursor brings at a time.
STREAM_BATCH = 2000


def parse_url(url: str) -> tuple[str, str, str]:
    """(the URL for libpq, the schema, the URL as shown in messages). The schema is the URL's
    ``schema`` parameter (seg's own; libpq never sees it), else the first of a ``search_path`` set
    in ``options``, else ``seg``. The password, if any, is never shown."""
    parts = urlsplit(url)
    schema = None
    kept = []
    for key, value in parse_qsl(parts.query, keep_blank_values=True):
        if key == "schema":
            schema = value
            continue
        kept.append((key, value))
        path = re.search(r"search_path\s*=\s*([^\s,]+)", value) if key == "options" else None
        if path and schema is None:
            schema = path.group(1).strip("\"'")
    schema = schema or "seg"
    if not _SCHEMA_NAME.fullmatch(schema):
        raise UsageError(f'"{schema}" cannot be a schema for seg: use letters, digits and _ (at most 63)')
    netloc = parts.netloc
    if "@" in netloc:
        user, _, host = netloc.rpartition("@")
        netloc = f"{user.partition(':')[0]}@{host}"
    shown = urlunsplit((parts.scheme, unquote(netloc), parts.path, urlencode([*kept, ("schema", schema)]), ""))
    return urlunsplit(parts._replace(query=urlencode(kept))), schema, shown


class _NumberLoader(Loader):
    """``numeric`` as seg's numbers: whole ones within 64 bits as ints, others as floats, as
    SQLite gives them back (never Decimal)."""

    def load(self, data) -> int | float:
        text = bytes(data)
        if b"." in text or b"e" in text or b"E" in text or b"N" in text:
            return float(text)
        value = int(text)
        return value if INTEGER_MIN <= value <= INTEGER_MAX else float(value)


class _NumberDumper(Dumper):
    """A float as ``numeric``: a whole one within 64 bits exactly, as SQLite stores it, others by
    their shortest repr, which reads back as the same float."""

    oid = 1700  # numeric

    def dump(self, obj: float) -> bytes:
        if obj.is_integer() and INTEGER_MIN <= obj <= INTEGER_MAX:
            return str(int(obj)).encode()
        return repr(obj).encode()


def connect(url: str) -> tuple[psycopg.Connection, str, str]:
    """(a connection in autocommit mode with seg's adapters and its schema first in the search
    path, the schema, the URL as shown); DataError if the server cannot be reached."""
    conninfo, schema, shown = parse_url(url)
    try:
        conn = psycopg.connect(conninfo, autocommit=True, application_name="seg", connect_timeout=30)
    except psycopg.Error as exc:
        raise DataError(f"cannot connect to {shown}: {first_line(exc)}") from None
    try:
        conn.adapters.register_loader("numeric", _NumberLoader)
        conn.adapters.register_dumper(float, _NumberDumper)
        conn.execute(psycopg.sql.SQL("SET search_path TO {}").format(psycopg.sql.Identifier(schema)))
    except BaseException:
        conn.close()
        raise
    return conn, schema, shown


# --- the writer lock ----------------------------------------------------------------------------


def lock_key(schema: str) -> int:
    """The advisory lock of a schema's writers: a 64-bit number from its name."""
    return int.from_bytes(hashlib.sha256(f"seg:{schema}".encode()).digest()[:8], "big", signed=True)


def name_holder(conn: psycopg.Connection, operation: str) -> None:
    """Say, for the open transaction, which seg operation of which process on which host it is."""
    import socket  # writers only: `seg count` does not pay for it

    host = re.sub(r"[^A-Za-z0-9.-]", "", socket.gethostname())[:24]
    conn.execute("SELECT set_config('application_name', %s, true)", (f"seg {operation} pid={os.getpid()} host={host}",))


def take_lock(conn: psycopg.Connection, key: int, operation: str, wait_ms: int) -> bool:
    """Take the writer lock in the open transaction, waiting up to ``wait_ms``; False if another
    holds it still (the transaction is then aborted: roll it back). Names this process first."""
    name_holder(conn, operation)
    if conn.execute("SELECT pg_try_advisory_xact_lock(%s)", (key,)).fetchone()[0]:
        return True
    if wait_ms <= 0:
        return False
    conn.execute(f"SET LOCAL lock_timeout = {int(wait_ms):d}")
    try:
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (key,))
    except psycopg.errors.LockNotAvailable:
        return False
    conn.execute("SET LOCAL lock_timeout = DEFAULT")
    return True


def lock_holder(conn: psycopg.Connection, key: int) -> tuple | None:
    """(server pid, application_name, transaction start) of the writer holding the lock, asked
    outside a transaction; None if nobody holds it (any more)."""
    return conn.execute(
        "SELECT a.pid, a.application_name,"
        " to_char(a.xact_start AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')"
        " FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid"
        " WHERE l.locktype = 'advisory' AND l.granted AND l.database = (SELECT oid FROM pg_database"
        " WHERE datname = current_database()) AND l.classid::bigint = %s AND l.objid::bigint = %s"
        " AND l.objsubid = 1",
        ((key >> 32) & 0xFFFFFFFF, key & 0xFFFFFFFF),
    ).fetchone()


def locked_error(row: tuple | None, key: int, database: str, schema: str, waited_ms: int, setting: str):
    """LockedError saying who holds the writer lock (``row``: ``lock_holder``'s answer)."""
    waited = f"waited {waited_ms / 1000:g} s"
    lock = f"PostgreSQL advisory lock {key} of schema {schema}"
    seg = re.fullmatch(r"seg ([a-z ]+) pid=(\d+) host=(\S*)", row[1] or "") if row else None
    if seg is None:
        holder = f" (server process {row[0]})" if row else ""
        return LockedError(
            f"the database {database} is locked by another process writing to it{holder} ({lock}; "
            f"{waited}); try again later, or raise {setting}"
        )
    operation, pid, host = seg.groups()
    return LockedError(
        f"the database {database} is locked by seg {operation} (pid {pid} on {host or 'an unnamed host'}, "
        f"since {row[2]}; {lock}; {waited}); try again when it has finished, or raise {setting}"
    )


# --- streaming ----------------------------------------------------------------------------------


class StreamedRows:
    """Rows of a server-side cursor, a batch at a time (``fetchmany`` or iteration). ``on_close``
    runs once, when the last row has been read or ``close`` is called (it ends the read
    transaction the rows were opened in, if they opened one)."""

    def __init__(self, cursor: psycopg.ServerCursor, on_close: Callable[[StreamedRows], None] | None) -> None:
        self.cursor = cursor
        self.on_close = on_close
        self.closed = False

    def fetchmany(self, size: int = STREAM_BATCH) -> list[tuple]:
        if self.closed:
            return []
        rows = self.cursor.fetchmany(size)
        if len(rows) < size:
            self.close()
        return rows

    def __iter__(self) -> Iterator[tuple]:
        try:
            while rows := self.fetchmany(STREAM_BATCH):
                yield from rows
        finally:
            self.close()

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        on_close, self.on_close = self.on_close, None
        try:
            self.cursor.close()
        finally:
            if on_close is not None:
                on_close(self)
