"""Commands that start without Typer when their command line is plain (see ``options.py``), and
whose work both paths share: Typer's command calls the same function."""

from __future__ import annotations

import sys

from ..errors import DataError
from .options import Parsed
from .session import Session


def run(parsed: Parsed, committed: list[str]) -> None:
    """Run a command line that ``options.parse`` read."""
    db, now, tz = parsed.globals["db"], parsed.globals["now"], parsed.globals["tz"]
    with Session(db, now, tz, committed=committed) as session:
        COMMANDS[parsed.command](session, parsed.names, **parsed.options)


def count(session: Session, names: list[str], exclude: list[str], json: bool) -> None:
    """``seg count``: the number of customers in any of ``names`` and none of ``exclude``."""
    n = session.seg.count(names, exclude)
    if json:
        from ..render import print_json

        print_json({"segments": names, "exclude": exclude, "count": n})
    else:
        sys.stdout.write(f"{n}\n")


def fail_for_segments(errors: list[dict]) -> None:
    """After the output: exit 1 naming each segment that could not be evaluated (saved by an older
    seg with what this one refuses), so that a script sees it; the rest was shown all the same."""
    if errors:
        raise DataError(
            f"{len(errors)} segment{'s' if len(errors) != 1 else ''} could not be evaluated",
            details=[f'  "{e["segment"]}": {e["error"]}' for e in errors],
        )


def list_(session: Session, names: list[str], json: bool) -> None:
    """``seg list``."""
    list_segments(session, json)


def list_segments(session: Session, json: bool) -> None:
    """``seg list``: every segment with its count now, its change since the latest snapshot and a
    sparkline of the last 30; exit 1 after the list, naming any segment that cannot be counted."""
    from ..render import print_json, signed, sparkline, table

    rows = session.seg.segments.list()
    if json:
        keys = ("name", "count", "filter", "description", "error")  # as before: the series is show --history's
        print_json([{k: r[k] for k in keys} for r in rows])
    else:
        table(
            [
                {
                    **r,
                    "count": "(error)" if r["count"] is None else r["count"],
                    "change": signed(r["change"]),
                    "trend": sparkline([p["count"] for p in r["history"]]),
                }
                for r in rows
            ],
            ["name", "count", "change", "trend", "filter", "description"],
        )
    fail_for_segments([{"segment": r["name"], "error": r["error"]} for r in rows if r["error"]])


COMMANDS = {"count": count, "list": list_}
