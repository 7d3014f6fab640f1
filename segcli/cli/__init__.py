"""The ``seg`` command. Each command parses its options, calls one API function and renders the
result; errors are turned into one line on stderr and an exit status here, in ``main``, only.

Here too, and only here, process-wide state: SIGINT, SIGTERM and SIGHUP become ``Interrupted``
(exit status 128 + the signal's number: 130, 143, 129), and closed standard streams get stand-ins.
"""

from __future__ import annotations

import errno
import io
import os
import signal
import sys

_SIGNALS = tuple(getattr(signal, name) for name in ("SIGINT", "SIGTERM", "SIGHUP") if hasattr(signal, name))


def _interrupt(signum: int, frame: object) -> None:
    from ..errors import Interrupted

    for other in _SIGNALS:  # one is enough: let the clean-up run to its end
        signal.signal(other, signal.SIG_IGN)
    raise Interrupted(signum)


class _ClosedOutput(io.TextIOBase):
    """Standard output closed before seg started (``>&-``): writing fails with a clear OSError."""

    @property
    def buffer(self) -> _ClosedOutput:
        return self

    def write(self, data: object) -> int:
        raise OSError(errno.EBADF, "standard output is closed")

    def flush(self) -> None:
        pass


def error(message: str, details: list[str] | tuple[str, ...] = ()) -> None:
    """One line on stderr (and a short list of details): how every failure is reported. Names and
    values quoted in it are shown escaped, like all human output."""
    from ..render import printable

    try:
        sys.stderr.write(printable(f"seg: error: {message}") + "\n")
        for line in details:
            sys.stderr.write(printable(line) + "\n")
        sys.stderr.flush()
    except OSError:  # nobody is reading stderr: the exit status still tells
        pass


def _silence_stdout() -> None:
    """Point standard output at /dev/null once its reader has gone, so that Python's flush at exit
    does not report the same broken pipe again."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):  # not a real file (a test's buffer): nothing to silence
        pass


def main() -> None:
    """Console entry point: run the app, and turn any SegError into stderr text and exit status."""
    previous = {}
    try:
        for signum in _SIGNALS:
            previous[signum] = signal.signal(signum, _interrupt)
    except ValueError:  # not the main thread (an embedding program's): signals stay as they are
        pass
    streams = sys.stdout, sys.stderr
    if sys.stdout is None:
        sys.stdout = _ClosedOutput()
    if sys.stderr is None:
        sys.stderr = open(os.devnull, "w")  # noqa: SIM115 (for the rest of the process)
    import gc

    collecting = gc.isenabled()  # the import command turns the collector off, and sets the csv limit
    csv = sys.modules.get("csv")  # not imported for it: `seg count` does not need csv
    cell_limit = csv.field_size_limit() if csv else 131072  # the csv module's own default
    try:
        _main()
    finally:
        if collecting:
            gc.enable()
        if "csv" in sys.modules:
            sys.modules["csv"].field_size_limit(cell_limit)
        for signum, handler in previous.items():
            signal.signal(signum, signal.SIG_DFL if handler is None else handler)
        if streams[0] is None:
            sys.stdout = None
        if streams[1] is None:
            sys.stderr = None


def _main() -> None:
    from ..errors import AfterCommitError, FilterError, Interrupted, OutputClosed, SegError

    committed: list[str] = []  # operations the command committed: a later failure must say so

    def after(message: str) -> str:
        return f"the {committed[-1]} was committed, but then: {message}" if committed else message

    try:
        from .options import parse

        parsed = parse(sys.argv[1:])
        if parsed is not None:
            from .fast import run

            run(parsed, committed)
            sys.stdout.flush()
            return
        from .app import app

        app(prog_name="seg", obj=committed)
    except Interrupted as exc:
        if exc.committed:
            error(f"interrupted after {exc.committed}")
        elif committed:
            error(f"interrupted after the {committed[-1]} was committed")
        else:
            error("interrupted; nothing was changed")
        sys.exit(128 + exc.signum)
    except KeyboardInterrupt:
        error(
            f"interrupted after the {committed[-1]} was committed" if committed else "interrupted; nothing was changed"
        )
        sys.exit(128 + signal.SIGINT)
    except SegError as exc:
        if isinstance(exc, FilterError):
            from ..render import pointer

            # The mark goes under the part as shown, escapes included.
            details = pointer(exc.text, exc.start, exc.end) if exc.text is not None else exc.details
            error(f"bad filter: {exc.message}", details)
        elif isinstance(exc, AfterCommitError):
            error(exc.message, exc.details)
        elif isinstance(exc, OutputClosed):
            _silence_stdout()  # what is left in its buffer is nobody's: no second error at exit
            error(after(exc.message))
        else:
            error(after(exc.message), exc.details)
        sys.exit(exc.exit_code)
    except BrokenPipeError:
        # The reader went away (`seg count X | head -0`): part of the output is lost, so the
        # command did not succeed (SPEC §13), and if something was committed the message says so.
        _silence_stdout()
        error(after(OutputClosed().message))
        sys.exit(1)
    except OSError as exc:
        error(after(f"{exc.filename + ': ' if exc.filename else ''}{exc.strerror or exc}"))
        sys.exit(1)
    except Exception as exc:
        from ..store.errors import translate  # an engine's error that got past the store

        translated = translate(exc)
        if translated is not None:
            error(after(translated.message))
            sys.exit(translated.exit_code)
        if os.environ.get("SEG_DEBUG"):
            raise
        error(after(f"internal error: {type(exc).__name__}: {exc} (set SEG_DEBUG=1 for details)"))
        sys.exit(1)
