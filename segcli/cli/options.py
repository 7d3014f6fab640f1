"""Options that two parsers read: Typer's, and the fast path's (``fast.py``).

Typer (with click, rich and pydantic) costs about 110 ms to start, several times a count at a
million customers (measured: ``seg count`` 49 ms through the fast path, 163 ms through Typer, on the
sample data), and a tenth of ``seg list`` with 50 segments at a million, whose target is 3 counts.
So the commands people and scripts wait for start without it when their command line
is plain, and this module is the one source of truth for what those command lines may hold: Typer's
options are built from the same ``Opt`` rows (``app.py``), and ``parse`` reads argv by them,
returning None for anything else (``--help``, a typo, another command), which Typer then handles
with its own messages.
"""

from __future__ import annotations

from typing import NamedTuple


class Opt(NamedTuple):
    flags: tuple[str, ...]
    help: str
    env: str | None = None  # the variable that gives a default (global options)
    multiple: bool = False  # may be given several times
    flag: bool = False  # takes no value (--json)


GLOBAL = {
    "db": Opt(("--db",), "The SQLite file, or a postgresql:// URL (default: segments.db here).", env="SEG_DB"),
    "now": Opt(("--now",), "Measure relative dates from this ISO 8601 instant.", env="SEG_NOW"),
    "tz": Opt(
        ("--tz",),
        "The time zone of calendar days and naive timestamps (an IANA name; default: the database's).",
        env="SEG_TZ",
    ),
}

EXCLUDE = Opt(("--exclude", "-x"), "Leave out customers in this segment.", multiple=True)
JSON = Opt(("--json",), "Print JSON.", flag=True)

#: Commands the fast path runs: their options (beside positional segment names).
FAST_COMMANDS: dict[str, dict[str, Opt]] = {
    "count": {"exclude": EXCLUDE, "json": JSON},
    "list": {"json": JSON},
}
#: The fast commands that take segment names (at least one); the others take none.
TAKES_NAMES = {"count"}


class Parsed(NamedTuple):
    command: str
    globals: dict[str, str | None]  # db, now, tz: None when not on the command line
    names: list[str]
    options: dict[str, object]


def parse(argv: list[str]) -> Parsed | None:
    """A plain command line of a fast command, or None if it is anything else."""
    args = list(argv)
    found: dict[str, str | None] = {key: None for key in GLOBAL}
    while args and args[0].startswith("-"):  # global options, before the command
        value = _take(args, GLOBAL, found)
        if value is None:
            return None
    if not args or args[0] not in FAST_COMMANDS:
        return None
    command = args.pop(0)
    spec = FAST_COMMANDS[command]
    options: dict[str, object] = {key: ([] if o.multiple else False if o.flag else None) for key, o in spec.items()}
    names: list[str] = []
    only_names = False
    while args:
        arg = args[0]
        if only_names or not arg.startswith("-") or arg == "-":
            names.append(args.pop(0))
        elif arg == "--":
            args.pop(0)
            only_names = True
        elif _take(args, spec, options) is None:
            return None
    if bool(names) != (command in TAKES_NAMES):
        return None  # Typer says what is missing or extra
    return Parsed(command, found, names, options)


def _take(args: list[str], spec: dict[str, Opt], into: dict) -> object | None:
    """Consume the option at ``args[0]`` into ``into``; None (consuming nothing useful) if it is
    not one of ``spec`` or lacks its value."""
    word = args.pop(0)
    flag, eq, value = word.partition("=")
    for key, opt in spec.items():
        if flag not in opt.flags:
            continue
        if opt.flag:
            if eq:
                return None
            into[key] = True
            return True
        if not eq:
            if not args:
                return None
            value = args.pop(0)
        if opt.multiple:
            into[key].append(value)
        else:
            into[key] = value
        return value
    return None
