"""The writer marker: ``DB.writer`` beside a SQLite database names the seg operation writing to it.

While a write transaction is open, the marker says which operation holds the database, so that
another writer that has waited, then given up, can say what it waited for. It is written to a fresh
name and renamed into place (a symlink planted in its place is replaced, never written through), and
its holder is named only if the process still is the seg that wrote it: the pid must run and, where
/proc tells, have started when the marker says (a pid is reused once its process is gone).
"""

from __future__ import annotations

import json
import os
import re

from ..timeutil import stamp

_OPERATION = re.compile(r"[a-z][a-z ]{0,40}")
_SINCE = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ")


def process_start(pid: int) -> str | None:
    """When process ``pid`` started (clock ticks since boot, from /proc on Linux), None if unknown:
    with its pid, it identifies a process even after the pid has been reused."""
    try:
        with open(f"/proc/{int(pid)}/stat", encoding="ascii", errors="replace") as fh:
            stat = fh.read()
        return stat[stat.rindex(")") + 2 :].split()[19]
    except (OSError, ValueError, IndexError):
        return None


class WriterMarker:
    """The marker of the database at ``path``."""

    def __init__(self, path: str) -> None:
        self.file = os.path.realpath(path) + ".writer"

    def mark(self, operation: str) -> bool:
        """Say that this process is writing; False if the marker could not be written (the write
        goes on: the marker only improves a message)."""
        info = {
            "operation": operation,
            "pid": os.getpid(),
            "since": stamp(),
            "started": process_start(os.getpid()),
        }
        tmp = f"{self.file}.{os.urandom(6).hex()}.tmp"
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), 0o644)
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                json.dump(info, fh)
            os.replace(tmp, self.file)
        except OSError:
            try:
                os.unlink(tmp)
            except OSError:
                pass
            return False
        return True

    def unmark(self) -> None:
        try:
            os.unlink(self.file)
        except OSError:
            pass

    def holder(self) -> dict | None:
        """The operation, pid and start of the seg holding the database, if the marker names a
        process that still is the seg that wrote it."""
        try:
            fd = os.open(self.file, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
            with os.fdopen(fd, encoding="utf-8") as fh:
                info = json.loads(fh.read(4096))
            pid, operation, since = int(info["pid"]), str(info["operation"]), str(info["since"])
            if pid <= 0 or not _OPERATION.fullmatch(operation) or not _SINCE.fullmatch(since):
                return None
            if process_start(os.getpid()) is not None:  # /proc works here: check the identity
                if info.get("started") is None or process_start(pid) != info["started"]:
                    return None
            else:
                os.kill(pid, 0)  # still running?
        except (OSError, ValueError, KeyError, TypeError, RecursionError):
            return None
        return {"operation": operation, "pid": pid, "since": since}

    def locked_message(self, database: str, waited_ms: int, setting: str) -> str:
        """Why a write gave up: the database is locked, by whom if the marker can tell."""
        waited = f"waited {waited_ms / 1000:g} s"
        holder = self.holder()
        if holder is None:
            return (
                f"the database {database} is locked by another process writing to it ({waited}); "
                f"try again later, or raise {setting}"
            )
        return (
            f"the database {database} is locked by seg {holder['operation']} (pid {holder['pid']}, since "
            f"{holder['since']}; {waited}); try again when it has finished, or raise {setting}"
        )
