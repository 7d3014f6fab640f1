"""Campaign audiences: `seg export` and `seg history`."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

import typer

from ..errors import UsageError
from ..render import local_time, note, print_json, table
from .common import Columns, Exclude, Names, seg, split_columns
from .session import after_commit


class ExportFormat(StrEnum):
    csv = "csv"
    jsonl = "jsonl"


def export(
    ctx: typer.Context,
    names: Names,
    output: Annotated[str, typer.Option("--output", "-o", help="The file to write (atomically); - for stdout.")],
    exclude: Exclude = None,
    columns: Columns = None,
    format: Annotated[ExportFormat, typer.Option("--format", "-f")] = ExportFormat.csv,
    include_opted_out: Annotated[
        bool, typer.Option("--include-opted-out", help="Keep customers who opted out of marketing.")
    ] = False,
    require: Annotated[
        list[str] | None, typer.Option("--require", help="Leave out customers with no value in FIELD.")
    ] = None,
    raw: Annotated[
        bool, typer.Option("--raw", help="Do not neutralize cells that look like spreadsheet formulas.")
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
            names,
            output,
            exclude=exclude or [],
            columns=split_columns(columns),
            fmt=format.value,
            include_opted_out=include_opted_out,
            require=require or [],
            raw=raw,
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
            "segments": ", ".join(s["name"] for s in r["segments"])
            + (" minus " + ", ".join(s["name"] for s in r["excluded"]) if r["excluded"] else ""),
            "count": r["count"],
            "file": r["path"],
            "sha256": r["sha256"][:12],
        }
        for r in records
    ]
    table(rows, ["id", "exported_at", "zone", "segments", "count", "file", "sha256"])


def register(app: typer.Typer) -> None:
    app.command()(export)
    app.command()(history)
