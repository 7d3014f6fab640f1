"""Commands that start without Typer when their command line is plain (see ``options.py``), and
whose work both paths share: Typer's command calls the same function."""

from __future__ import annotations

import sys

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


COMMANDS = {"count": count}
