"""What the command modules share: the session's database, option types, completion, and the
rules of output after a commit."""

from __future__ import annotations

import os
import re
import shlex
from typing import Annotated

import typer

from .. import api
from ..values import fold
from .options import EXCLUDE
from .session import Session


def seg(ctx: typer.Context) -> api.Seg:
    """The database of this command (``ctx.obj`` is the command's ``Session``)."""
    session: Session = ctx.obj
    return session.seg


def complete_segment(ctx: typer.Context, incomplete: str) -> list[str]:
    """Tab completion: the segment names that start with what was typed, from the database that
    ``--db`` earlier on the line names (or SEG_DB), each as the shell must receive it."""
    # Completion parses the line without running the callbacks: --db is in the root's params.
    db = ctx.find_root().params.get("db")
    try:
        with api.open(db) as opened:
            names = opened.store().segment_names()
    except Exception:
        return []
    return [_Completion(_for_the_shell(n), n) for n in names if fold(n).startswith(fold(incomplete))]


class _Completion(str):
    """A completion as the shell must receive it, matched by the name it stands for: Typer keeps
    only the completions that ``startswith`` the word typed (unescaped), which an escaped name
    with a space in it never would."""

    name: str

    def __new__(cls, text: str, name: str) -> _Completion:
        completion = super().__new__(cls, text)
        completion.name = name
        return completion

    def startswith(self, prefix: str, *_: object) -> bool:  # type: ignore[override]
        return fold(self.name).startswith(fold(prefix))


def _for_the_shell(name: str) -> str:
    """bash puts a completion into the command line as it is, in place of the word typed or of its
    part after a quote left open: the name is escaped for that place (bare, in '...' or in "...";
    bash closes the quote). zsh and fish quote what they insert themselves."""
    if os.environ.get("_SEG_COMPLETE") != "complete_bash":
        return name
    words = os.environ.get("COMP_WORDS", "").split("\n")  # Typer's script joins them with newlines
    index = int(os.environ.get("COMP_CWORD") or 0)
    word = words[index] if 0 <= index < len(words) else ""
    start, quote = _open_quote(word)
    if not quote:
        return re.sub(r"([^\w@%+,./-])", r"\\\1", name)
    rest = name[len("".join(shlex.split(word[:start]))) :]  # what the quoted part must still say
    quoted = rest.replace("'", "'\\''") if quote == "'" else re.sub(r'(["$`\\])', r"\\\1", rest)
    # readline adds the closing quote, unless the text ends with that character already.
    return quoted + quote if quoted.endswith(quote) else quoted


def _open_quote(word: str) -> tuple[int, str]:
    """Where a quote left open in ``word`` (as typed) begins, and which quote it is ("" if none)."""
    start, quote, escaped = 0, "", False
    for i, char in enumerate(word):
        if escaped:
            escaped = False
        elif quote == "'":
            quote = "" if char == "'" else quote
        elif char == "\\":
            escaped = True
        elif quote == '"':
            quote = "" if char == '"' else quote
        elif char in "'\"":
            start, quote = i, char
    return start, quote


Where = Annotated[list[str], typer.Option("--where", "-w", help="A filter; several are joined with or.")]
Names = Annotated[list[str], typer.Argument(metavar="NAME", help="Segment names.", autocompletion=complete_segment)]
Exclude = Annotated[list[str], typer.Option(*EXCLUDE.flags, help=EXCLUDE.help, autocompletion=complete_segment)]
Columns = Annotated[str | None, typer.Option("--columns", "-c", help="Comma-separated fields and attributes.")]

#: The largest --limit (the API's bound: the engines take a 64-bit signed integer), so a larger
#: one is a usage error naming the option, not a database or internal error.
LIMIT_MAX = api.LIMIT_MAX


def limit_option(help: str, smallest: int = 0) -> typer.models.OptionInfo:
    """``--limit N`` / ``-n N``, the same for every command that takes it: N from ``smallest`` to
    ``LIMIT_MAX``, anything else a usage error (exit 2) that names the option."""
    return typer.Option("--limit", "-n", min=smallest, max=LIMIT_MAX, help=help)


Limit = Annotated[int | None, limit_option("Show at most N.")]


def split_columns(columns: str | None) -> list[str] | None:
    return [c.strip() for c in columns.split(",") if c.strip()] if columns else None
