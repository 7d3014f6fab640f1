"""Campaign audiences: `seg export` and `seg history`."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

import typer

from ..errors import UsageError
from ..render import local_time, note, print_json, table
from .audiences import complete_audience
from .common import Columns, Exclude, complete_segment, seg, split_columns
from .session import after_commit


class ExportFormat(StrEnum):
    csv = "csv"
    jsonl = "jsonl"


class Unique(StrEnum):
    phone = "phone"
    email = "email"


def export(
    ctx: typer.Context,
    output: Annotated[str, typer.Option("--output", "-o", help="The file to write (atomically); - for stdout.")],
    names: Annotated[
        list[str] | None,
        typer.Argument(metavar="NAME", help="Segment names (or --audience).", autocompletion=complete_segment),
    ] = None,
    exclude: Exclude = None,
    columns: Columns = None,
    format: Annotated[ExportFormat, typer.Option("--format", "-f")] = ExportFormat.csv,
    include_opted_out: Annotated[
        bool, typer.Option("--include-opted-out", help="Keep customers who opted out of marketing.")
    ] = False,
    require: Annotated[
        list[str] | None, typer.Option("--require", help="Leave out customers with no value in FIELD.")
    ] = None,
    unique: Annotated[
        Unique | None, typer.Option("--unique", help="Write each phone number (or email address) once.")
    ] = None,
    raw: Annotated[
        bool, typer.Option("--raw", help="Do not neutralize cells that look like spreadsheet formulas.")
    ] = False,
    audience: Annotated[
        str | None,
        typer.Option(
            "--audience",
            "-a",
            help="Export a saved audience (then only -o, --format, --raw, --changes).",
            autocompletion=complete_audience,
        ),
    ] = None,
    changes: Annotated[
        bool, typer.Option("--changes", help="Also write the added and removed customers beside the file.")
    ] = False,
    json_: Annotated[bool, typer.Option("--json", help="Print the waterfall and file as JSON on stdout.")] = False,
) -> None:
    """Write a campaign audience to a file, print its waterfall, and record it in the history."""
    from ..render import ExportProgress

    if json_ and output == "-":
        raise UsageError("--json needs -o FILE: with -o - the rows are on stdout")
    progress = ExportProgress(output)
    try:
        result = seg(ctx).export(
            names or [],
            output,
            exclude=exclude or [],
            columns=split_columns(columns),
            fmt=format.value,
            include_opted_out=include_opted_out,
            require=require or [],
            unique=unique.value if unique is not None else None,
            raw=raw,
            audience=audience,
            changes=changes,
            progress=progress,
        )
    finally:
        progress.close()
    wrote = f"wrote {result.written} rows to {result.path} (sha256 {result.sha256[:12]}, history #{result.record_id})"
    with after_commit(f"the export was written and recorded ({wrote})"):
        width = max(len(step) for step, _ in result.waterfall)
        for step, n in result.waterfall:
            note(f"{step:<{width}}  {n:>9}")
        note(wrote)
        for path in result.change_files:
            note(f"wrote {path}")
        if json_:
            print_json(result.to_json())


def history(
    ctx: typer.Context,
    json_: Annotated[bool, typer.Option("--json")] = False,
    limit: Annotated[int | None, typer.Option("--limit", "-n", min=1, help="Show the newest N.")] = None,
) -> None:
    """Recorded exports, newest first: when, which segments (filters as they were), count, file."""
    db = seg(ctx)
    records = db.history(limit)
    if json_:
        print_json(records)
        return
    zone = db.zone
    rows = [
        {
            "id": r["id"],
            "exported_at": local_time(r["exported_at"], zone),
            "zone": r["zone"],
            "segments": (f"audience {r['audience']}: " if r["audience"] else "")
            + ", ".join(s["name"] for s in r["segments"])
            + (" minus " + ", ".join(s["name"] for s in r["excluded"]) if r["excluded"] else ""),
            "count": r["count"],
            "changes": _changes(r["changes"]),
            "file": r["path"],
            "sha256": r["sha256"][:12],
        }
        for r in records
    ]
    table(rows, ["id", "exported_at", "zone", "segments", "count", "changes", "file", "sha256"])


def _changes(changes: dict | None) -> str:
    """An audience export's changes as ``+added -removed =unchanged``; empty for other exports."""
    if changes is None:
        return ""
    return f"+{changes['added']} -{changes['removed']} ={changes['unchanged']}"


def register(app: typer.Typer) -> None:
    app.command()(export)
    app.command()(history)
