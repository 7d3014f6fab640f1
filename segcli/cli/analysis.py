"""Analysts' tools: overlap, lint, test, fields, views (SPEC §11)."""

from __future__ import annotations

from typing import Annotated

import typer

from ..errors import DataError
from ..render import cell, note, overlap_matrix, print_json, say, table, why_lines
from ..yamlnodes import read_text
from .common import Names, complete_segment, seg
from .fast import fail_for_segments

Json = Annotated[bool, typer.Option("--json", help="Print JSON.")]


def overlap(ctx: typer.Context, names: Names, json_: Json = False) -> None:
    """How many customers each pair of segments shares, and the share of the row's segment."""
    result = seg(ctx).overlap(names)
    if json_:
        print_json(result)
    else:
        overlap_matrix(result["segments"], result["counts"])


def lint(
    ctx: typer.Context,
    names: Annotated[
        list[str] | None,
        typer.Argument(metavar="[NAME]...", help="Segments (default: all).", autocompletion=complete_segment),
    ] = None,
    file: Annotated[
        str | None,
        typer.Option("--file", "-f", metavar="FILE", help="Lint the segments of a YAML file, without applying it."),
    ] = None,
    json_: Json = False,
) -> None:
    """Segments that can never match, conditions and groups that add nothing, equal filters,
    segments that match nobody or everybody, attributes nobody has. Exit 1 on an error."""
    db = seg(ctx)
    if file is not None:
        if names:
            from ..errors import UsageError

            raise UsageError("give segment names or --file, not both")
        report = db.lint(text=read_text(file), source="stdin" if file == "-" else file)
    else:
        report = db.lint(names or [])
    if json_:
        print_json(report.to_json())
    else:
        lines = []
        for f in report.findings:
            where = [f.segment] + ([f"group {f.group}"] if f.group else []) + ([f.condition] if f.condition else [])
            lines.append(f"{f.severity:8} {' / '.join(where)}: {f.reason}")
        say(lines)
        checked = f"{len(report.segments)} segment{'s' if len(report.segments) != 1 else ''} checked"
        summary = f"{report.errors} error{'s' if report.errors != 1 else ''}, {report.warnings} warning{'s' if report.warnings != 1 else ''}"
        note(f"{checked}: {summary}" + ("" if report.data_checked else " (no customers: the data was not checked)"))
    if report.errors:
        raise typer.Exit(1)


def test(
    ctx: typer.Context,
    path: Annotated[str, typer.Argument(metavar="FILE", help="A fixture file, or - for stdin.")],
    json_: Json = False,
) -> None:
    """Check segment definitions against fixtures: customers and the segments each must be in,
    evaluated in a throwaway database. Exit 1 on a mismatch."""
    report = seg(ctx).test(read_text(path), source="stdin" if path == "-" else path)
    if json_:
        print_json(report.to_json())
    else:
        lines = []
        for r in report.segments:
            if r.passed:
                lines.append(f"✓ {r.name}: {len(r.actual)} customer{'s' if len(r.actual) != 1 else ''} as expected")
                continue
            lines.append(f"✗ {r.name}: expected [{', '.join(r.expected)}], got [{', '.join(r.actual)}]")
            for why in r.explanations:
                what = (
                    "expected in the segment, but is not"
                    if why.customer_id in r.missing
                    else "in the segment, but not expected"
                )
                lines.append(f"    {why.customer_id}: {what}")
                lines += ["      " + line for line in why_lines(why)]
        say(lines)
        if report.passed:
            note(f"{len(report.segments)} segment{'s' if len(report.segments) != 1 else ''} checked: all as expected")
    if not report.passed:
        failed = [r.name for r in report.segments if not r.passed]
        raise DataError(
            f"{len(failed)} of {len(report.segments)} segments do not hold what the file expects: {', '.join(failed)}"
        )


def fields(ctx: typer.Context, json_: Json = False) -> None:
    """Every field and attribute: type, aliases, the operators that apply, how many customers
    have a value, and the most common values."""
    rows = seg(ctx).fields()
    if json_:
        print_json(rows)
        return
    shown = [
        {
            **r,
            "aliases": ", ".join(r["aliases"]),
            "operators": ", ".join(r["operators"]),
            "top values": ", ".join(f"{cell(v['value'])} ({v['count']})" for v in r["top_values"]),
        }
        for r in rows
    ]
    table(shown, ["name", "type", "aliases", "count", "top values", "operators"])


def views(
    ctx: typer.Context,
    off: Annotated[bool, typer.Option("--off", help="Drop the views and stop keeping them.")] = False,
    json_: Json = False,
) -> None:
    """One SQL view per segment (segment_<slug>), for Datasette or a BI tool, kept in step with
    every later create, edit, delete and apply."""
    made = seg(ctx).views(keep=not off)
    if json_:
        print_json([v.to_json() for v in made])
    elif off:
        note("views of segments dropped; they are no longer kept")
    else:
        table(
            [{"view": v.name, "segment": v.segment, "notes": "; ".join(v.notes) or v.error or ""} for v in made],
            ["view", "segment", "notes"],
        )
        note(f"{sum(v.error is None for v in made)} views of segments, kept in step with every change to the segments")
    fail_for_segments([{"segment": v.segment, "error": v.error} for v in made if v.error])


def register(app: typer.Typer) -> None:
    app.command()(overlap)
    app.command()(lint)
    app.command()(test)
    app.command()(fields)
    app.command()(views)
