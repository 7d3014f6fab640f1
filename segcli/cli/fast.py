"""A fast path for `seg count`, the command people wait for.

Typer (with click and pydantic) costs ~50 ms to import, several times the count itself. This module
reads the plain forms of `count` (global ``--db``/``--now``, names, ``--exclude``/``-x``, ``--json``)
with no dependencies and calls the same API function; anything else (``--help``, a typo, another
command) returns None and the full CLI handles it, so behaviour and messages stay those of Typer's.
"""

from __future__ import annotations

import sys


def parse_count(argv: list[str]) -> dict | None:
    """The options of a plain ``count`` command line, or None if it is anything else."""
    options: dict = {"db": None, "now": None, "names": [], "exclude": [], "json": False}
    args = list(argv)
    while args and args[0].startswith("-"):  # global options
        key, _, value = args.pop(0).partition("=")
        if key not in ("--db", "--now"):
            return None
        if not value:
            if not args:
                return None
            value = args.pop(0)
        options[key[2:]] = value
    if not args or args.pop(0) != "count":
        return None
    only_names = False
    while args:
        arg = args.pop(0)
        if only_names or not arg.startswith("-") or arg == "-":
            options["names"].append(arg)
        elif arg == "--":
            only_names = True
        elif arg == "--json":
            options["json"] = True
        elif arg in ("--exclude", "-x") or arg.startswith("--exclude="):
            value = arg.partition("=")[2] if "=" in arg else (args.pop(0) if args else None)
            if value is None:
                return None
            options["exclude"].append(value)
        else:
            return None
    return options if options["names"] else None


def run_count(options: dict) -> None:
    from .. import api, settings

    # The same checks as the full CLI's global options: a bad one is a usage error naming it.
    db = settings.database_path(options["db"], "--db")
    if options["now"] is not None:
        now = api.parse_now(options["now"], "--now")
    else:
        now = api.parse_now(settings.now_text(), "SEG_NOW")
    with api.open(db, now=now) as seg:
        n = seg.count(options["names"], options["exclude"])
    if options["json"]:
        from ..render import print_json

        print_json({"segments": options["names"], "exclude": options["exclude"], "count": n})
    else:
        sys.stdout.write(f"{n}\n")
