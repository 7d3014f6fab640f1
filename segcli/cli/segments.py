"""Segments: create, edit, delete, list, show, count, members, filter, why."""

from __future__ import annotations

import sys
from enum import StrEnum
from typing import Annotated

import typer

from .. import api
from ..errors import UsageError
from ..fields import FieldType
from ..render import is_terminal, local_time, local_times, note, print_json, printable, say, table, why_lines
from .common import Columns, Exclude, Names, Where, complete_segment, seg, split_columns
from .fast import fail_for_segments
from .options import JSON


def create(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="The new segment's name.")],
    where: Where,
    description: Annotated[str | None, typer.Option("--description", "-d")] = None,
) -> None:
    """Save a segment."""
    db = seg(ctx)
    created = db.segments.create(name, where, description)
    note(f"created {created.name}: {created.where}")


def edit(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(autocompletion=complete_segment)],
    where: Annotated[list[str] | None, typer.Option("--where", "-w", help="Replace the filter.")] = None,
    or_where: Annotated[list[str] | None, typer.Option("--or-where", help="Add a group to the filter.")] = None,
    rename: Annotated[str | None, typer.Option("--rename")] = None,
    description: Annotated[str | None, typer.Option("--description", "-d")] = None,
) -> None:
    """Change a segment's filter, name or description."""
    if not (where or or_where or rename or description is not None):
        raise UsageError("nothing to change: give --where, --or-where, --rename or --description")
    edited = seg(ctx).segments.edit(name, where=where, or_where=or_where, rename=rename, description=description)
    note(f"updated {edited.name}: {edited.where}")


def delete(
    ctx: typer.Context,
    names: Names,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask.")] = False,
) -> None:
    """Delete segments (never customers)."""
    db = seg(ctx)
    found = [db.segments.get(n).name for n in names]
    if not yes and is_terminal(sys.stdin) and not typer.confirm(printable(f"Delete {', '.join(found)}?")):
        note("nothing deleted")
        raise typer.Exit(1)
    for name in db.segments.delete(found):
        note(f"deleted {name}")


def list_(ctx: typer.Context, json_: Annotated[bool, typer.Option(*JSON.flags, help=JSON.help)] = False) -> None:
    """Every segment with its current count, its change since the last snapshot, a sparkline of
    the last 30 snapshots, its filter and description."""
    from .fast import list_segments

    list_segments(ctx.obj, json_)


def show(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(autocompletion=complete_segment)],
    json_: Annotated[bool, typer.Option("--json")] = False,
    sql: Annotated[bool, typer.Option("--sql", help="Also print the SQL, its parameters and plan.")] = False,
    history: Annotated[
        bool, typer.Option("--history", help="The count over time (seg snapshot), as a chart on a terminal.")
    ] = False,
) -> None:
    """A segment's filter, group by group, and its count; with --history, its count over time."""

    db = seg(ctx)
    segment = db.segments.get(name)
    count, error = db.count_saved(segment)
    if history:
        _show_history(db, segment.name, count, json_)
        return
    groups = segment.filter.groups
    data = {
        "name": segment.name,
        "description": segment.description,
        "filter": segment.where,
        "groups": [[c.to_text() for c in g.conditions] for g in groups],
        "count": count,
        "error": error,
    }
    if sql and error is None:
        data.update(db.explain(db.saved_filter(segment)))
    if json_:
        print_json(data)
    else:
        out = [f"{segment.name}: {count} customers" if error is None else f"{segment.name}: cannot be counted"]
        if segment.description:
            out.append(segment.description)
        if not groups:
            out.append(f"  {segment.where}")
        for i, group in enumerate(groups, 1):
            out.append(f"{'  group' if i == 1 else 'or group'} {i}:")
            out += [f"    {c.to_text():40}  ({c.describe()})" for c in group.conditions]
        if sql and error is None:
            out += ["", "SQL:", "  " + data["sql"], "parameters:"]
            out += [f"  :{k} = {v!r}" for k, v in data["params"].items()]
            out += ["plan:"] + ["  " + p for p in data["plan"]]
        say(out)
    fail_for_segments([{"segment": segment.name, "error": error}] if error else [])


def _show_history(db: api.Seg, name: str, count: int | None, json_: bool) -> None:
    """``seg show NAME --history``: the series as JSON, a chart on a terminal, else plain lines."""
    from ..render import chart

    series = db.history_of(name)
    if json_:
        print_json({"name": name, "count": count, "history": series})
    elif is_terminal():
        now = "cannot be counted" if count is None else f"{count:,} customers now"
        chart(
            f"{name}: {now}; {len(series)} snapshot{'s' if len(series) != 1 else ''}",
            [(p["at"], p["count"]) for p in series],
        )
    else:
        table(series, ["at", "count"])


def count(
    ctx: typer.Context,
    names: Names,
    exclude: Exclude = None,
    json_: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """The number of customers in any of the segments and none of the excluded: a bare integer."""
    n = seg(ctx).count(names, exclude or [])
    if json_:
        print_json({"segments": names, "exclude": exclude or [], "count": n})
    else:
        sys.stdout.write(f"{n}\n")


class MembersFormat(StrEnum):
    table = "table"
    csv = "csv"
    json = "json"
    jsonl = "jsonl"


Sort = Annotated[str | None, typer.Option("--sort", help="Sort by this field (-field: descending); default id.")]
Limit = Annotated[int | None, typer.Option("--limit", "-n", min=0, help="Show at most N.")]
OutFormat = Annotated[MembersFormat, typer.Option("--format", "-f")]


def _print_members(db: api.Seg, names, exclude, where, columns, sort, limit, fmt: MembersFormat) -> None:
    fields = db.columns(split_columns(columns))
    keys = [f.name for f in fields]
    instants = {f.name for f in fields if f.type is FieldType.DATE}  # a table shows them in the zone
    if fmt is MembersFormat.table and is_terminal():
        total = db.count_filter(where) if where is not None else db.count(names, exclude)
        rows = db.members(names, exclude, where=where, columns=keys, sort=sort, limit=50 if limit is None else limit)
        table(local_times(rows, instants, db.zone), keys, total=total)
        return
    from ..render import write_rows

    rows = db.members(names, exclude, where=where, columns=keys, sort=sort, limit=limit)
    if fmt is MembersFormat.table:
        write_rows(local_times(rows, instants, db.zone), keys, "tsv")
    else:
        write_rows(rows, keys, fmt.value)


def members(
    ctx: typer.Context,
    names: Names,
    exclude: Exclude = None,
    columns: Columns = None,
    sort: Sort = None,
    limit: Limit = None,
    format: OutFormat = MembersFormat.table,
) -> None:
    """The customers in any of the segments and none of the excluded, sorted by id."""
    _print_members(seg(ctx), names, exclude or [], None, columns, sort, limit, format)


def filter_(
    ctx: typer.Context,
    where: Where,
    save_as: Annotated[str | None, typer.Option("--save-as", help="Save the filter as a segment.")] = None,
    description: Annotated[str | None, typer.Option("--description", "-d")] = None,
    columns: Columns = None,
    sort: Sort = None,
    limit: Limit = None,
    format: OutFormat = MembersFormat.table,
) -> None:
    """An ad-hoc filter: its count (on stderr) and its members."""
    db = seg(ctx)
    flt = db.parse(where)
    note(f"{db.count_filter(flt)} customers match: {flt.to_text()}")
    _print_members(db, [], [], flt, columns, sort, limit, format)
    if save_as:
        saved = db.segments.create(save_as, flt, description)
        note(f"saved as {saved.name}")


def why(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(autocompletion=complete_segment)],
    customer_id: Annotated[str, typer.Argument(metavar="CUSTOMER_ID")],
    json_: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Each group and condition of a segment, the customer's value, and whether it matched."""
    db = seg(ctx)
    report = db.why(name, customer_id)
    if json_:
        print_json(report.to_json())
        return
    registry, zone = db.registry(), db.zone

    def shown(condition: dict) -> object:  # an instant in the zone in force, with the offset
        f = registry.get(condition["field"])
        return (
            local_time(condition["value"], zone) if f is not None and f.type is FieldType.DATE else condition["value"]
        )

    say(why_lines(report, shown))


def register(app: typer.Typer) -> None:
    app.command()(create)
    app.command()(edit)
    app.command()(delete)
    app.command("list")(list_)
    app.command()(show)
    app.command()(count)
    app.command()(members)
    app.command("filter")(filter_)
    app.command()(why)
