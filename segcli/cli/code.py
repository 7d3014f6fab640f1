"""Segments as code: `seg apply` and `seg dump`."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from ..render import note, print_json, say
from ..yamlnodes import read_text
from .common import complete_segment, seg
from .session import after_commit


def apply(
    ctx: typer.Context,
    path: Annotated[str, typer.Argument(metavar="FILE", help="A YAML file, or - for stdin.")],
    prune: Annotated[bool, typer.Option("--prune", help="Delete segments the file does not name.")] = False,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Print the plan only.")] = False,
    json_: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Create and update attributes and segments from YAML, in one transaction."""
    text = read_text(path)
    plan = seg(ctx).apply(text, source="stdin" if path == "-" else path, prune=prune, dry_run=dry_run)
    changes = f"{len(plan.changes)} change{'s' if len(plan.changes) != 1 else ''}, {plan.unchanged} unchanged"
    with after_commit(f"the file was applied ({changes})" if plan.applied else None):
        if json_:
            print_json(plan.to_json())
            return
        say(plan.lines())
        note(f"{changes} ({'applied' if plan.applied else 'dry run, nothing changed'})")


def dump(
    ctx: typer.Context,
    names: Annotated[
        list[str] | None, typer.Argument(help="Segments to dump (default: all).", autocompletion=complete_segment)
    ] = None,
    output: Annotated[str | None, typer.Option("--output", "-o", help="Write to this file (atomically).")] = None,
) -> None:
    """Every section (attributes, profiles, segments, audiences) as YAML that `seg apply` reads
    back; with names, those segments and the attributes they use."""
    from ..atomic import atomic_write, check_target

    db = seg(ctx)
    to_file = output and output != "-"
    if to_file:
        check_target(output, database=db.path)  # before any work: a refused target changes nothing
    text = db.dump(names or [])
    if not to_file:
        sys.stdout.write(text)
        return
    with atomic_write(output, database=db.path) as fh:
        fh.write(text.encode("utf-8"))
    note(f"wrote {output}")


def register(app: typer.Typer) -> None:
    app.command()(apply)
    app.command()(dump)
