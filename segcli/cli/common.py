"""What the command modules share: the session's database, option types, completion, and the
rules of output after a commit."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from .. import api
from ..errors import DataError, NotFoundError
from .options import EXCLUDE
from .session import Session


def seg(ctx: typer.Context) -> api.Seg:
    """The database of this command (``ctx.obj`` is the command's ``Session``)."""
    session: Session = ctx.obj
    return session.seg


def complete_segment(ctx: typer.Context, incomplete: str) -> list[str]:
    """Tab completion: the segment names that start with what was typed, from the database that
    ``--db`` earlier on the line names (or SEG_DB)."""
    try:
        with api.open(ctx.find_root().params.get("db")) as db:
            names = db.store().segment_names()
    except Exception:
        return []
    return [n for n in names if n.casefold().startswith(incomplete.casefold())]




Where = Annotated[list[str], typer.Option("--where", "-w", help="A filter; several are joined with or.")]
Names = Annotated[list[str], typer.Argument(metavar="NAME", help="Segment names.", autocompletion=complete_segment)]
Exclude = Annotated[list[str], typer.Option(*EXCLUDE.flags, help=EXCLUDE.help, autocompletion=complete_segment)]
Columns = Annotated[str | None, typer.Option("--columns", "-c", help="Comma-separated fields and attributes.")]


def split_columns(columns: str | None) -> list[str] | None:
    return [c.strip() for c in columns.split(",") if c.strip()] if columns else None


def fail_for_segments(errors: list[dict]) -> None:
    """After the output: exit 1 naming each segment that could not be evaluated (saved by an older
    seg with what this one refuses), so that a script sees it; the rest was shown all the same."""
    if errors:
        raise DataError(
            f"{len(errors)} segment{'s' if len(errors) != 1 else ''} could not be evaluated",
            details=[f'  "{e["segment"]}": {e["error"]}' for e in errors],
        )


def read_text(path: str) -> str:
    try:
        if path == "-":
            return sys.stdin.buffer.read().decode("utf-8")
        with open(path, "rb") as fh:
            return fh.read().decode("utf-8")
    except FileNotFoundError:
        raise NotFoundError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise DataError(f"{path} is a folder, not a file") from None
    except UnicodeDecodeError as exc:
        raise DataError(f"{path}: not valid UTF-8 (byte {exc.start})") from None
