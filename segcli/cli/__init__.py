"""The ``seg`` command. Each command parses its options, calls one API function and renders the
result; errors are turned into one line on stderr and an exit status here, in ``main``, only.

Here too, and only here, process-wide state: SIGINT, SIGTERM and SIGHUP become ``Interrupted``
(exit status 128 + the signal's number: 130, 143, 129).
"""

from __future__ import annotations

import os
import signal
import sqlite3
import sys
import threading

_SIGNALS = tuple(getattr(signal, name) for name in ("SIGINT", "SIGTERM", "SIGHUP") if hasattr(signal, name))


class Interrupted(BaseException):
    """A signal that stops seg (Ctrl-C, SIGTERM, SIGHUP), raised wherever the command is, so that it
    unwinds as for Ctrl-C: transactions roll back, temporary files and spools are removed. Not an
    Exception, so that no error handler on the way takes it for one."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


def _interrupt(signum: int, frame: object) -> None:
    for other in _SIGNALS:  # one is enough: let the clean-up run to its end
        signal.signal(other, signal.SIG_IGN)
    raise Interrupted(signum)


def error(message: str, details: list[str] | tuple[str, ...] = ()) -> None:
    """One line on stderr (and a short list of details): how every failure is reported."""
    sys.stderr.write(f"seg: error: {message}\n")
    for line in details:
        sys.stderr.write(line + "\n")


def main() -> None:
    """Console entry point: run the app, and turn any SegError into stderr text and exit status."""
    main_thread = threading.current_thread() is threading.main_thread()  # signals: main thread only
    previous = {signum: signal.signal(signum, _interrupt) for signum in _SIGNALS} if main_thread else {}
    try:
        _main()
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, signal.SIG_DFL if handler is None else handler)


def _main() -> None:
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
    except Interrupted as exc:
        error("interrupted; nothing was changed")
        sys.exit(128 + exc.signum)
    except KeyboardInterrupt:
        error("interrupted; nothing was changed")
        sys.exit(128 + signal.SIGINT)
    except SegError as exc:
        if isinstance(exc, FilterError):
            error(f"bad filter: {exc.message}", exc.details)
        else:
            error(exc.message, exc.details)
        sys.exit(exc.exit_code)
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
