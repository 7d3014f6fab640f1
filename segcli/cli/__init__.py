"""The ``seg`` command. Each command parses its options, calls one API function and renders the
result; errors are turned into one line on stderr and an exit status here, in ``main``, only."""

from __future__ import annotations

import os
import sqlite3
import sys


def error(message: str, details: list[str] | tuple[str, ...] = ()) -> None:
    """One line on stderr (and a short list of details): how every failure is reported. Names and
    values quoted in it are shown escaped, like all human output."""
    from ..render import note

    note(f"seg: error: {message}")
    for line in details:
        note(line)


def main() -> None:
    """Console entry point: run the app, and turn any SegError into stderr text and exit status."""
    from ..errors import FilterError, SegError

    try:
        from .fast import parse_count, run_count

        count_options = parse_count(sys.argv[1:])
        if count_options is not None:
            run_count(count_options)
            return
        from .app import app, close_databases

        try:
            app(prog_name="seg")
        finally:
            close_databases()
    except SegError as exc:
        if isinstance(exc, FilterError):
            from ..render import pointer

            # The mark goes under the part as shown, escapes included.
            details = pointer(exc.text, exc.start, exc.end) if exc.text is not None else exc.details
            error(f"bad filter: {exc.message}", details)
        else:
            error(exc.message, exc.details)
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        error("interrupted; nothing was changed")
        sys.exit(130)
    except BrokenPipeError:
        # The reader went away (`seg members X | head`): not an error of ours.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        sys.exit(0)
    except sqlite3.OperationalError as exc:
        if "locked" in str(exc) or "busy" in str(exc):
            error("the database is locked by another seg process writing to it (an import, apply "
                  "or edit); try again when it has finished")
        else:
            error(f"database error: {exc}")
        sys.exit(1)
    except sqlite3.DatabaseError as exc:
        damaged = any(w in str(exc) for w in ("not a database", "malformed", "corrupt"))
        error(f"the database file is damaged or not a seg database: {exc}" if damaged else f"database error: {exc}")
        sys.exit(1)
    except OSError as exc:
        error(f"{exc.filename + ': ' if exc.filename else ''}{exc.strerror or exc}")
        sys.exit(1)
    except Exception as exc:
        if os.environ.get("SEG_DEBUG"):
            raise
        error(f"internal error: {type(exc).__name__}: {exc} (set SEG_DEBUG=1 for details)")
        sys.exit(1)
