"""Errors that seg reports to its users.

Library code raises these and never prints; the CLI entry point turns one into a single line on
stderr and the exit status it carries (SPEC §6: 1 for data or state, 2 for usage).
"""

from __future__ import annotations


class InvalidValue(ValueError):
    """A raw value that is not of its field's type; the message says why, for a user. Not a
    SegError: the importer turns it into a row's problem, the parser into a FilterError."""


class SegError(Exception):
    """A problem the user can act on. ``exit_code`` follows SPEC §6."""

    exit_code = 1

    def __init__(self, message: str, *, details: list[str] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details or []


class DataError(SegError):
    """Bad data or state: invalid rows, an unreadable file, a locked or foreign database."""


class NotFoundError(DataError):
    """A segment, customer or file that does not exist."""


class UsageError(SegError):
    """A bad option or argument."""

    exit_code = 2


class YamlError(UsageError):
    """A problem in a YAML file of segments, with its line."""


class FilterError(UsageError):
    """A filter that cannot be parsed or does not fit the fields it names.

    ``text`` is the filter as the user wrote it and ``start``/``end`` the offending span, so the
    message can quote it and point at the part that is wrong.
    """

    def __init__(self, message: str, text: str | None = None, start: int = 0, end: int = 0) -> None:
        self.reason = message
        self.text = text
        self.start = start
        self.end = max(end, start + 1)
        details = []
        if text is not None:
            details = ["  " + text, "  " + " " * start + "^" * (self.end - self.start)]
        super().__init__(message, details=details)


class LockedError(DataError):
    """Another process holds the write lock for longer than the busy timeout."""


class TooLargeError(UsageError):
    """A filter, or segments combined, that the database engine cannot evaluate: beyond its
    limits on parameters or on the depth of an expression."""


class ImportFailed(DataError):
    """A strict import that found invalid rows; ``problems`` holds ``LINE:COLUMN: message`` lines."""

    def __init__(self, message: str, problems: list[str], summaries: list | None = None) -> None:
        super().__init__(message, details=problems)
        self.problems = problems
        self.summaries = summaries  # a dry run's: what it would have done, for its preview


class OutputClosed(DataError):
    """Standard output closed before everything was written (``seg members X | head -1``): the
    reader has only part of it, so the command did not succeed (SPEC §13)."""

    def __init__(self, message: str = "standard output was closed before everything was written") -> None:
        super().__init__(message)


class AfterCommitError(DataError):
    """A failure after the change was committed (a rejects file or a summary that could not be
    written): the message says what was committed, so nobody runs it again thinking it undone."""


def nearest(name: str, candidates: list[str], *, cutoff: float = 0.6, substrings: bool = False) -> list[str]:
    """Up to three of ``candidates`` closest to ``name``, ignoring case (and, with ``substrings``,
    those that contain it)."""
    import difflib

    lowered = {c.casefold(): c for c in candidates}
    found = [lowered[c] for c in difflib.get_close_matches(name.casefold(), list(lowered), n=3, cutoff=cutoff)]
    if substrings:
        found += [c for k, c in lowered.items() if name.casefold() in k and c not in found]
    return found[:3]


def did_you_mean(name: str, candidates: list[str], *, quoted: bool = True, **options) -> str:
    """`` (did you mean 'a', 'b'?)`` for the nearest candidates, or an empty string."""
    return hint(nearest(name, candidates, **options), quoted=quoted)


def hint(suggestions: list[str], *, quoted: bool = True) -> str:
    if not suggestions:
        return ""
    return f" (did you mean {', '.join(repr(s) if quoted else s for s in suggestions)}?)"


class Interrupted(BaseException):
    """A signal that stops seg (Ctrl-C, SIGTERM, SIGHUP), raised wherever the command is, so that it
    unwinds as for Ctrl-C: transactions roll back, temporary files and spools are removed. Not an
    Exception, so that no error handler on the way takes it for one. ``committed`` says what the
    command had already committed, if anything."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum
        self.committed: str | None = None
