"""What one command works on: the database that ``--db`` / ``SEG_DB`` names, at the instant that
``--now`` / ``SEG_NOW`` pins, in the zone that ``--tz`` / ``SEG_TZ`` gives (else the database's
setting). Opened on first use, closed when the command ends (as a click context
resource, or by the fast path), reporting what it committed to the entry point's ``committed``."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from .. import settings
from ..errors import AfterCommitError, Interrupted

if TYPE_CHECKING:
    from ..api import Seg


class Session:
    """``db``/``now``/``tz`` as given on the command line (None: from the environment); the
    ``*_source`` arguments name where each came from, for messages. A bad value is a UsageError
    naming its source, raised here, before any command runs."""

    def __init__(
        self,
        db: str | None,
        now: str | None,
        tz: str | None = None,
        *,
        db_source: str = "--db",
        now_source: str = "--now",
        tz_source: str = "--tz",
        committed: list[str] | None = None,
    ) -> None:
        from ..api import parse_now, parse_zone

        self.db = settings.database_path(db, db_source)
        if now is None:
            now, now_source = settings.now_text(), "SEG_NOW"
        self.now = parse_now(now, now_source)
        if tz is None:
            tz, tz_source = settings.tz_text(), "SEG_TZ"
        self.zone = parse_zone(tz, tz_source)  # None: the database's setting
        self.committed = committed if committed is not None else []
        self._seg: Seg | None = None

    @property
    def seg(self) -> Seg:
        if self._seg is None:
            from .. import api

            self._seg = api.open(self.db, now=self.now, tz=self.zone)
        return self._seg

    def close(self) -> None:
        """Close the database now rather than whenever the garbage collector gets to it (a Seg
        refers to itself): an open connection keeps the WAL file from being checkpointed."""
        if self._seg is not None:
            self.committed += self._seg.committed
            notes = self._seg.migration_notes
            self._seg.close()
            self._seg = None
            if notes:
                from ..render import note

                for text in notes:  # once: the next command finds the file migrated
                    note(f"seg: note: {text}")

    def __enter__(self) -> Session:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


@contextmanager
def after_commit(description: str | None) -> Iterator[None]:
    """The output of a command whose change is committed (``description`` says what; None if
    nothing was): if it cannot be written (stdout closed, a broken pipe) or the command is
    interrupted now, the error says what was committed, and the exit status is not 0 (SPEC §13)."""
    import sys

    if description is None:
        yield
        return
    try:
        yield
        sys.stdout.flush()
    except OSError as exc:
        raise AfterCommitError(f"{description}, but its summary could not be written: {exc.strerror or exc}") from None
    except Interrupted as exc:
        exc.committed = description
        raise
