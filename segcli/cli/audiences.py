"""Audiences over time (SPEC §10): `seg audience create|list|show|delete|diff` and `seg snapshot`."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from .. import api
from ..render import is_terminal, note, print_json, printable, say, table
from .common import Columns, complete_segment, seg, split_columns
from .fast import fail_for_segments
from .session import after_commit


def complete_audience(ctx: typer.Context, incomplete: str) -> list[str]:
    """Tab completion of audience names, as ``complete_segment`` does for segments."""
    from ..values import fold
    from .common import _Completion, _for_the_shell

    db = ctx.find_root().params.get("db")
    try:
        with api.open(db) as opened:
            names = [a.name for a in opened.store().audiences()]
    except Exception:
        return []
    return [_Completion(_for_the_shell(n), n) for n in names if fold(n).startswith(fold(incomplete))]


AudienceName = Annotated[str, typer.Argument(metavar="NAME", autocompletion=complete_audience)]


def create(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="The new audience's name.")],
    segment: Annotated[
        list[str],
        typer.Option("--segment", "-s", help="A segment it takes (repeatable).", autocompletion=complete_segment),
    ],
    exclude: Annotated[
        list[str] | None,
        typer.Option("--exclude", "-x", help="A segment it leaves out (repeatable).", autocompletion=complete_segment),
    ] = None,
    require: Annotated[
        list[str] | None, typer.Option("--require", help="Leave out customers with no value in FIELD.")
    ] = None,
    unique: Annotated[
        str | None, typer.Option("--unique", help="phone or email: write each number or address once.")
    ] = None,
    include_opted_out: Annotated[
        bool, typer.Option("--include-opted-out", help="Keep customers who opted out of marketing.")
    ] = False,
    columns: Columns = None,
    description: Annotated[str | None, typer.Option("--description", "-d")] = None,
) -> None:
    """Save an audience: segments to take and exclude, and the export options it is sent with."""
    created = seg(ctx).audiences.create(
        name,
        segment,
        exclude=exclude or [],
        require=require or [],
        unique=unique,
        include_opted_out=include_opted_out,
        columns=split_columns(columns),
        description=description,
    )
    note(f"created audience {created.name}: {_definition(created.to_json())}")


def _definition(a: dict) -> str:
    """An audience's definition on one line, as ``seg export`` would be called for it."""
    parts = [", ".join(a["segments"])]
    if a["exclude"]:
        parts.append("minus " + ", ".join(a["exclude"]))
    if a["include_opted_out"]:
        parts.append("opted-out included")
    parts += [f"--require {f}" for f in a["require"]]
    if a["unique"]:
        parts.append(f"--unique {a['unique']}")
    return "; ".join(parts)


def list_(ctx: typer.Context, json_: Annotated[bool, typer.Option("--json")] = False) -> None:
    """Every saved audience and its definition."""
    audiences = [a.to_json() for a in seg(ctx).audiences.all()]
    if json_:
        print_json(audiences)
        return
    rows = [
        {
            "name": a["name"],
            "definition": _definition(a),
            "columns": ",".join(a["columns"]) if a["columns"] is not None else "(default)",
            "description": a["description"],
        }
        for a in audiences
    ]
    table(rows, ["name", "definition", "columns", "description"])


def show(ctx: typer.Context, name: AudienceName, json_: Annotated[bool, typer.Option("--json")] = False) -> None:
    """An audience's definition, its waterfall now, and its exports (with what each changed)."""
    db = seg(ctx)
    report = db.audience_report(name)
    if json_:
        print_json(report)
        return
    lines = [f"{report['name']}: {report['waterfall'][-1]['count']} customers now"]
    if report["description"]:
        lines.append(report["description"])
    lines.append(f"  segments: {', '.join(report['segments'])}")
    if report["exclude"]:
        lines.append(f"  exclude:  {', '.join(report['exclude'])}")
    options = [f"--require {f}" for f in report["require"]]
    options += [f"--unique {report['unique']}"] if report["unique"] else []
    options += ["--include-opted-out"] if report["include_opted_out"] else []
    lines.append(f"  options:  {' '.join(options) or '(none)'}")
    lines.append(f"  columns:  {','.join(report['columns'] or ['(default)'])}")
    lines.append("now:")
    width = max(len(w["step"]) for w in report["waterfall"])
    lines += [f"  {w['step']:<{width}}  {w['count']:>9}" for w in report["waterfall"]]
    kept = sum(1 for e in report["exports"] if e["membership_kept"])
    lines.append(f"exports: {len(report['exports'])} (membership kept for the last {kept})")
    for e in report["exports"][:10]:
        c = e["changes"]
        lines.append(
            f"  #{e['id']} {e['exported_at']}  {e['count']} written, +{c['added']} -{c['removed']}"
            f" ={c['unchanged']}  {e['path']}"
        )
    say(lines)


def delete(
    ctx: typer.Context,
    names: Annotated[list[str], typer.Argument(metavar="NAME", autocompletion=complete_audience)],
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask.")] = False,
) -> None:
    """Delete saved audiences (never segments or customers); their exports stay in the history."""
    db = seg(ctx)
    found = [db.audiences.get(n).name for n in names]
    if (
        not yes
        and is_terminal(sys.stdin)
        and not typer.confirm(printable(f"Delete the audience{'s' if len(found) > 1 else ''} {', '.join(found)}?"))
    ):
        note("nothing deleted")
        raise typer.Exit(1)
    for name in db.audiences.delete(found):
        note(f"deleted audience {name}")


def diff(ctx: typer.Context, name: AudienceName, json_: Annotated[bool, typer.Option("--json")] = False) -> None:
    """What an export of the audience would change now: the ids added and removed since its last
    export, without exporting."""
    import json

    with seg(ctx).audience_diff(name) as changes:
        out = sys.stdout
        if json_:  # streamed: a first export lists everyone
            out.write('{\n  "added": [')
            for n, customer_id in enumerate(changes.added):
                out.write(("," if n else "") + "\n    " + json.dumps(customer_id, ensure_ascii=False))
            out.write('\n  ],\n  "removed": [')
            for n, customer_id in enumerate(changes.removed):
                out.write(("," if n else "") + "\n    " + json.dumps(customer_id, ensure_ascii=False))
            out.write(f'\n  ],\n  "unchanged": {changes.unchanged}\n}}\n')
        else:
            for customer_id in changes.added:
                out.write(printable(f"+ {customer_id}") + "\n")
            for customer_id in changes.removed:
                out.write(printable(f"- {customer_id}") + "\n")
        since = f"since the export of {changes.since}" if changes.since else "(no export yet: everyone is added)"
        note(f"{changes.added_count} added, {changes.removed_count} removed, {changes.unchanged} unchanged {since}")


def snapshot(ctx: typer.Context, json_: Annotated[bool, typer.Option("--json")] = False) -> None:
    """Record every segment's count now (for cron), for `seg list` and `seg show --history`."""
    taken = seg(ctx).snapshot()
    recorded = [c for c in taken["counts"] if c["error"] is None]
    with after_commit(f"the snapshot of {len(recorded)} segments at {taken['taken_at']} was recorded"):
        if json_:
            print_json(taken)
        else:
            table([c for c in taken["counts"] if c["error"] is None], ["name", "count"])
        note(f"recorded {len(recorded)} segment counts at {taken['taken_at']}")
    fail_for_segments([{"segment": c["name"], "error": c["error"]} for c in taken["counts"] if c["error"]])


def register(app: typer.Typer) -> None:
    audience = typer.Typer(help="Saved audiences: create, list, show, delete, diff.", no_args_is_help=True)
    audience.command()(create)
    audience.command("list")(list_)
    audience.command()(show)
    audience.command()(delete)
    audience.command()(diff)
    app.add_typer(audience, name="audience")
    app.command()(snapshot)
