"""Settings from the environment (``SEG_*``), read when a command needs them, never at import.

A malformed value is a UsageError that names the variable, raised by the command that needs it,
so that one bad variable cannot turn every command into an internal error (SPEC §13).
"""

from __future__ import annotations

import math
import os

from .errors import UsageError

DEFAULT_DATABASE = "segments.db"
#: SQLite takes a busy timeout in milliseconds as a C int.
_MAX_WAIT_MS = 2**31 - 1


def env(name: str) -> str | None:
    """The variable's value, None if unset; set but empty is a mistake, not a default."""
    value = os.environ.get(name)
    if value is not None and not value.strip():
        raise UsageError(f"{name} is set but empty: give it a value, or unset it")
    return value


def database_path(given: str | None = None, source: str = "--db") -> str:
    """The database file: ``given`` (from ``source``, e.g. ``--db``), else ``SEG_DB``, else
    ``segments.db``. An empty name or ``:memory:`` (which would keep nothing) is a usage error."""
    if given is None:
        given, source = env("SEG_DB"), "SEG_DB"
        if given is None:
            return DEFAULT_DATABASE
    if not given.strip():
        raise UsageError(f"{source} is empty: name the database file")
    if given.strip() == ":memory:":
        spelled = f"{source}=:memory:" if source.startswith("SEG_") else f"{source} :memory:"
        raise UsageError(f"{spelled} would keep nothing (an in-memory database is gone when seg ends): name a file")
    return given


def now_text() -> str | None:
    """``SEG_NOW`` as written (parsed by ``api.parse_now``), None if unset."""
    return env("SEG_NOW")


def tz_text() -> str | None:
    """``SEG_TZ`` as written (parsed by ``api.parse_zone``), None if unset."""
    return env("SEG_TZ")


def _milliseconds(name: str, default_seconds: float) -> int:
    text = env(name)
    if text is None:
        return int(default_seconds * 1000)
    try:
        seconds = float(text)
    except ValueError:
        seconds = math.nan
    if not math.isfinite(seconds) or seconds < 0 or seconds * 1000 > _MAX_WAIT_MS:
        raise UsageError(
            f'{name}="{text}" is not a number of seconds (0 to {_MAX_WAIT_MS // 1000}; e.g. {name}={default_seconds:g})'
        )
    return int(seconds * 1000)


def busy_timeout_ms() -> int:
    """How long a write waits for another writer before failing: ``SEG_BUSY_TIMEOUT`` (10 s)."""
    return _milliseconds("SEG_BUSY_TIMEOUT", 10)


def export_wait_ms() -> int:
    """How long an export that has written its file waits to record it while another writer holds
    the database: ``SEG_EXPORT_WAIT`` (600 s), so that a nightly export overlapping a long import
    still lands."""
    return _milliseconds("SEG_EXPORT_WAIT", 600)
