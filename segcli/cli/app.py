"""Typer commands. No SQL and no logic of their own: options in, one API call, render out."""

from __future__ import annotations

import os
import re
import shlex
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from enum import StrEnum
from typing import Annotated, ClassVar

import typer

from .. import __version__, api, settings
from ..errors import AfterCommitError, UsageError
from ..render import cell, is_terminal, note, print_json, printable, say, table

app = typer.Typer(
    help="Customer segments in SQLite: who is in this segment right now?",
    no_args_is_help=True,
    add_completion=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
)
customers_app = typer.Typer(help="Look up customers.", no_args_is_help=True)
attributes_app = typer.Typer(help="Custom attributes: list them (no subcommand) or define one.")
app.add_typer(customers_app, name="customers")
app.add_typer(attributes_app, name="attributes")


class State:
    db: str | None = None
    now: str | None = None
    opened: ClassVar[list[api.Seg]] = []  # to close when the command ends


def seg() -> api.Seg:
    """The database of this command; ``main`` closes it when the command ends."""
    db = api.open(State.db, now=State.now)
    State.opened.append(db)
    return db


def close_databases() -> list[str]:
    """Close what the command opened, now rather than whenever the garbage collector gets to it
    (a Seg refers to itself): an open connection keeps the WAL file from being checkpointed.
    Returns the operations they committed."""
    committed = []
    while State.opened:
        db = State.opened.pop()
        committed += db.committed
        db.close()
    return committed


@contextmanager
def after_commit(description: str | None) -> Iterator[None]:
    """The output of a command whose change is committed (``description`` says what; None if
    nothing was): if it cannot be written (stdout closed, a broken pipe) or the command is
    interrupted now, the error says what was committed, and the exit status is not 0 (SPEC §13)."""
    from . import Interrupted

    if description is None:
        yield
        return
    try:
        yield
        sys.stdout.flush()
    except OSError as exc:
        raise AfterCommitError(f"{description}, but its summary could not be written: {exc.strerror or exc}") from None
    except Interrupted as exc:
        exc.committed = description
        raise


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
    return [_Completion(_for_the_shell(n), n) for n in names if n.casefold().startswith(incomplete.casefold())]


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
        return self.name.casefold().startswith(prefix.casefold())


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


def _version(value: bool) -> None:
    if value:
        print(f"seg {__version__}")
        raise typer.Exit()


@app.callback()
def global_options(
    ctx: typer.Context,
    db: Annotated[str | None, typer.Option("--db", envvar="SEG_DB", help="The SQLite file (default: segments.db here).")] = None,
    now: Annotated[str | None, typer.Option("--now", envvar="SEG_NOW", help="Measure relative dates from this ISO 8601 instant.")] = None,
    version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version.")] = False,
) -> None:
    # Bad settings are usage errors before anything runs, naming where they came from.
    State.db = settings.database_path(db, _source(ctx, "db", "--db", "SEG_DB"))
    State.now = now if now is not None else settings.now_text()
    api.parse_now(State.now, _source(ctx, "now", "--now", "SEG_NOW"))


def _source(ctx: typer.Context, param: str, option: str, variable: str) -> str:
    """The option or the variable, whichever gave the parameter its value."""
    source = ctx.get_parameter_source(param)  # Typer's own copy of click's ParameterSource
    return variable if getattr(source, "name", None) == "ENVIRONMENT" else option


# --- customers --------------------------------------------------------------------------------


class Format(StrEnum):
    csv = "csv"
    json = "json"
    jsonl = "jsonl"


@app.command("import")
def import_(
    paths: Annotated[list[str], typer.Argument(help="CSV, JSON or JSONL files; - for stdin.")],
    format: Annotated[Format | None, typer.Option("--format", help="Format, if the extension does not say.")] = None,
    skip_invalid: Annotated[bool, typer.Option("--skip-invalid", help="Import the valid rows; write the others to the rejects file.")] = False,
    rejects: Annotated[str | None, typer.Option("--rejects", help="Rejects file (default PATH.rejects.csv; PATH.rejects.jsonl for JSON input).")] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Check and count, write nothing.")] = False,
    json_: Annotated[bool, typer.Option("--json", help="Print the summary as JSON on stdout.")] = False,
) -> None:
    """Import customers, upserting by id, all files in one transaction. Strict: one invalid row
    and nothing is written."""
    from ..render import ImportProgress

    progress = ImportProgress("importing")
    try:
        summaries = seg().import_files(
            paths, fmt=format.value if format else None, skip_invalid=skip_invalid,
            rejects=rejects, dry_run=dry_run, progress=progress,
        )
    finally:
        progress.close()
    counts = "; ".join(s.counts() for s in summaries)
    with after_commit(None if dry_run else f"the import was committed ({counts})"):
        for summary in summaries:
            prefix = "dry run, nothing written: " if dry_run else ""
            note(f"{prefix}{summary.path}: {summary.counts()}")
            for name, type_ in summary.new_attributes:
                note(f"  new attribute {name}: {type_} (inferred)")
            if summary.rejects_path:
                note(f"  rejected rows written to {summary.rejects_path}")
        if json_:
            print_json([s.to_json() for s in summaries] if len(summaries) > 1 else summaries[0].to_json())


@customers_app.command("show")
def customers_show(
    customer_id: Annotated[str, typer.Argument(metavar="ID")],
    json_: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """A customer, its tags and attributes, and every segment it is in."""
    customer = seg().customer(customer_id)
    if json_:
        print_json(customer)
    else:
        shown = [(k, v) for k, v in customer.items() if k not in ("attributes", "segments", "segment_errors")]
        rows = [{"field": k, "value": cell(v)} for k, v in shown]
        rows += [{"field": k, "value": cell(v)} for k, v in customer["attributes"].items()]
        rows.append({"field": "segments", "value": ", ".join(customer["segments"]) or "(none)"})
        if customer["segment_errors"]:
            failed = ", ".join(e["segment"] for e in customer["segment_errors"])
            rows.append({"field": "not evaluated", "value": failed})
        table(rows, ["field", "value"], title=f"customer {customer['id']}")
    _fail_for_segments(customer["segment_errors"])


def _fail_for_segments(errors: list[dict]) -> None:
    """After the output: exit 1 naming each segment that could not be evaluated (saved by an older
    seg with what this one refuses), so that a script sees it; the rest was shown all the same."""
    if errors:
        from ..errors import DataError

        raise DataError(
            f"{len(errors)} segment{'s' if len(errors) != 1 else ''} could not be evaluated",
            details=[f'  "{e["segment"]}": {e["error"]}' for e in errors],
        )


@attributes_app.callback(invoke_without_command=True)
def attributes_list(
    ctx: typer.Context,
    json_: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """List custom attributes: name, type, enum values, customers with a value."""
    if ctx.invoked_subcommand:
        return
    rows = seg().attributes.list()
    if json_:
        print_json([{k: r[k] for k in ("name", "type", "values", "inferred", "count")} for r in rows])
        return
    for r in rows:
        r["values"] = ",".join(r["values"] or [])
        r["inferred"] = "inferred" if r["inferred"] else "declared"
    table(rows, ["name", "type", "values", "inferred", "count"])


class AttrType(StrEnum):
    text = "text"
    number = "number"
    boolean = "boolean"
    date = "date"
    enum = "enum"
    array = "array"


@attributes_app.command("define")
def attributes_define(
    name: str,
    type_: Annotated[AttrType, typer.Option("--type", help="The attribute's type.")],
    values: Annotated[str | None, typer.Option("--values", help="An enum's values: a,b,c.")] = None,
) -> None:
    """Declare a custom attribute (an enum may gain values; text may become an enum)."""
    listed = [v for v in values.split(",")] if values else None
    outcome = seg().attributes.define(name, type_.value, listed)
    note(f"attribute {name}: {outcome}")


# --- segments ---------------------------------------------------------------------------------

Where = Annotated[list[str], typer.Option("--where", "-w", help="A filter; several are joined with or.")]
Names = Annotated[list[str], typer.Argument(metavar="NAME", help="Segment names.", autocompletion=complete_segment)]
Exclude = Annotated[list[str], typer.Option("--exclude", "-x", help="Leave out customers in this segment.", autocompletion=complete_segment)]


@app.command()
def create(
    name: Annotated[str, typer.Argument(help="The new segment's name.")],
    where: Where,
    description: Annotated[str | None, typer.Option("--description", "-d")] = None,
) -> None:
    """Save a segment."""
    db = seg()
    created = db.segments.create(name, where, description)
    note(f"created {created['name']}: {created['filter']}")


@app.command()
def edit(
    name: Annotated[str, typer.Argument(autocompletion=complete_segment)],
    where: Annotated[list[str] | None, typer.Option("--where", "-w", help="Replace the filter.")] = None,
    or_where: Annotated[list[str] | None, typer.Option("--or-where", help="Add a group to the filter.")] = None,
    rename: Annotated[str | None, typer.Option("--rename")] = None,
    description: Annotated[str | None, typer.Option("--description", "-d")] = None,
) -> None:
    """Change a segment's filter, name or description."""
    if not (where or or_where or rename or description is not None):
        raise UsageError("nothing to change: give --where, --or-where, --rename or --description")
    edited = seg().segments.edit(name, where=where, or_where=or_where, rename=rename, description=description)
    note(f"updated {edited['name']}: {edited['filter']}")


@app.command()
def delete(
    names: Names,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask.")] = False,
) -> None:
    """Delete segments (never customers)."""
    db = seg()
    found = [db.segments.get(n)["name"] for n in names]
    if not yes and is_terminal(sys.stdin) and not typer.confirm(printable(f"Delete {', '.join(found)}?")):
        note("nothing deleted")
        raise typer.Exit(1)
    for name in db.segments.delete(found):
        note(f"deleted {name}")


@app.command("list")
def list_(json_: Annotated[bool, typer.Option("--json")] = False) -> None:
    """Every segment with its current count, filter and description."""
    rows = seg().segments.list()
    if json_:
        print_json([{k: r[k] for k in ("name", "count", "filter", "description", "error")} for r in rows])
    else:
        table([{**r, "count": "(error)" if r["count"] is None else r["count"]} for r in rows],
              ["name", "count", "filter", "description"])
    _fail_for_segments([{"segment": r["name"], "error": r["error"]} for r in rows if r["error"]])


@app.command()
def show(
    name: Annotated[str, typer.Argument(autocompletion=complete_segment)],
    json_: Annotated[bool, typer.Option("--json")] = False,
    sql: Annotated[bool, typer.Option("--sql", help="Also print the SQL, its parameters and plan.")] = False,
) -> None:
    """A segment's filter, group by group, and its count."""
    from ..compile import describe

    db = seg()
    segment = db.segments.get(name)
    count, error = db.count_saved(segment)
    groups = db.segments.groups(segment)
    data = {
        "name": segment["name"],
        "description": segment["description"],
        "filter": segment["filter"],
        "groups": [[c.to_text() for c in g.conditions] for g in groups],
        "count": count,
        "error": error,
    }
    if sql and error is None:
        data.update(db.explain(db.saved_filter(segment)))
    if json_:
        print_json(data)
    else:
        out = [f"{segment['name']}: {count} customers" if error is None else f"{segment['name']}: cannot be counted"]
        if segment["description"]:
            out.append(segment["description"])
        if not groups:
            out.append(f"  {segment['filter']}")
        for i, group in enumerate(groups, 1):
            out.append(f"{'  group' if i == 1 else 'or group'} {i}:")
            out += [f"    {c.to_text():40}  ({describe(c)})" for c in group.conditions]
        if sql and error is None:
            out += ["", "SQL:", "  " + data["sql"], "parameters:"]
            out += [f"  :{k} = {v!r}" for k, v in data["params"].items()]
            out += ["plan:"] + ["  " + p for p in data["plan"]]
        say(out)
    _fail_for_segments([{"segment": segment["name"], "error": error}] if error else [])


@app.command()
def count(
    names: Names,
    exclude: Exclude = None,
    json_: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """The number of customers in any of the segments and none of the excluded: a bare integer."""
    n = seg().count(names, exclude or [])
    if json_:
        print_json({"segments": names, "exclude": exclude or [], "count": n})
    else:
        sys.stdout.write(f"{n}\n")


class MembersFormat(StrEnum):
    table = "table"
    csv = "csv"
    json = "json"
    jsonl = "jsonl"


Columns = Annotated[str | None, typer.Option("--columns", "-c", help="Comma-separated fields and attributes.")]
Sort = Annotated[str | None, typer.Option("--sort", help="Sort by this field (-field: descending); default id.")]
Limit = Annotated[int | None, typer.Option("--limit", "-n", min=0, help="Show at most N.")]
OutFormat = Annotated[MembersFormat, typer.Option("--format", "-f")]


def _print_members(db: api.Seg, names, exclude, where, columns, sort, limit, fmt: MembersFormat) -> None:
    fields = db.columns(_split(columns))
    keys = [f.name for f in fields]
    if fmt is MembersFormat.table and is_terminal():
        total = db.count_filter(where) if where is not None else db.count(names, exclude)
        rows = db.members(names, exclude, where=where, columns=keys, sort=sort, limit=50 if limit is None else limit)
        table(rows, keys, total=total)
        return
    from ..render import write_rows

    rows = db.members(names, exclude, where=where, columns=keys, sort=sort, limit=limit)
    write_rows(rows, keys, "tsv" if fmt is MembersFormat.table else fmt.value)


def _split(columns: str | None) -> list[str] | None:
    return [c.strip() for c in columns.split(",") if c.strip()] if columns else None


@app.command()
def members(
    names: Names,
    exclude: Exclude = None,
    columns: Columns = None,
    sort: Sort = None,
    limit: Limit = None,
    format: OutFormat = MembersFormat.table,
) -> None:
    """The customers in any of the segments and none of the excluded, sorted by id."""
    _print_members(seg(), names, exclude or [], None, columns, sort, limit, format)


@app.command("filter")
def filter_(
    where: Where,
    save_as: Annotated[str | None, typer.Option("--save-as", help="Save the filter as a segment.")] = None,
    description: Annotated[str | None, typer.Option("--description", "-d")] = None,
    columns: Columns = None,
    sort: Sort = None,
    limit: Limit = None,
    format: OutFormat = MembersFormat.table,
) -> None:
    """An ad-hoc filter: its count (on stderr) and its members."""
    db = seg()
    flt = db.parse(where)
    note(f"{db.count_filter(flt)} customers match: {flt.to_text()}")
    _print_members(db, [], [], flt, columns, sort, limit, format)
    if save_as:
        saved = db.segments.create(save_as, flt, description)
        note(f"saved as {saved['name']}")


@app.command()
def why(
    name: Annotated[str, typer.Argument(autocompletion=complete_segment)],
    customer_id: Annotated[str, typer.Argument(metavar="CUSTOMER_ID")],
    json_: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Each group and condition of a segment, the customer's value, and whether it matched."""
    report = seg().why(name, customer_id)
    if json_:
        print_json(report.to_json())
        return
    mark = {True: "✓", False: "✗"}
    lines = [f"{report.segment} / customer {report.customer_id}"]
    for i, group in enumerate(report.groups, 1):
        lines.append(f"{mark[group.matched]} group {i}" + (" (or)" if i > 1 else ""))
        for c in group.conditions:
            lines.append(f"    {mark[c['matched']]} {c['condition']:40}  value: {cell(c['value']) or '(missing)'}")
    verdict = "IN the segment" if report.matched else "NOT in the segment"
    lines.append(f"{report.customer_id} is {verdict}")
    say(lines)


# --- segments as code -------------------------------------------------------------------------


@app.command()
def apply(
    path: Annotated[str, typer.Argument(metavar="FILE", help="A YAML file, or - for stdin.")],
    prune: Annotated[bool, typer.Option("--prune", help="Delete segments the file does not name.")] = False,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Print the plan only.")] = False,
    json_: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Create and update attributes and segments from YAML, in one transaction."""
    text = _read_text(path)
    plan = seg().apply(text, source="stdin" if path == "-" else path, prune=prune, dry_run=dry_run)
    changes = f"{len(plan.changes)} change{'s' if len(plan.changes) != 1 else ''}, {plan.unchanged} unchanged"
    with after_commit(f"the file was applied ({changes})" if plan.applied else None):
        if json_:
            print_json(plan.to_json())
            return
        say(plan.lines())
        note(f"{changes} ({'applied' if plan.applied else 'dry run, nothing changed'})")


def _read_text(path: str) -> str:
    from ..errors import DataError, NotFoundError

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


@app.command()
def dump(
    names: Annotated[list[str] | None, typer.Argument(help="Segments to dump (default: all).", autocompletion=complete_segment)] = None,
    output: Annotated[str | None, typer.Option("--output", "-o", help="Write to this file (atomically).")] = None,
) -> None:
    """Segments and their attributes as YAML that `seg apply` reads back."""
    from ..atomic import atomic_write, check_target

    db = seg()
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


# --- campaign audiences -----------------------------------------------------------------------


class ExportFormat(StrEnum):
    csv = "csv"
    jsonl = "jsonl"


@app.command()
def export(
    names: Names,
    output: Annotated[str, typer.Option("--output", "-o", help="The file to write (atomically); - for stdout.")],
    exclude: Exclude = None,
    columns: Columns = None,
    format: Annotated[ExportFormat, typer.Option("--format", "-f")] = ExportFormat.csv,
    include_opted_out: Annotated[bool, typer.Option("--include-opted-out", help="Keep customers who opted out of marketing.")] = False,
    require: Annotated[list[str] | None, typer.Option("--require", help="Leave out customers with no value in FIELD.")] = None,
    raw: Annotated[bool, typer.Option("--raw", help="Do not neutralize cells that look like spreadsheet formulas.")] = False,
    json_: Annotated[bool, typer.Option("--json", help="Print the waterfall and file as JSON on stdout.")] = False,
) -> None:
    """Write a campaign audience to a file, print its waterfall, and record it in the history."""
    from ..render import ExportProgress

    if json_ and output == "-":
        raise UsageError("--json needs -o FILE: with -o - the rows are on stdout")
    progress = ExportProgress(output)
    try:
        result = seg().export(
            names, output, exclude=exclude or [], columns=_split(columns), fmt=format.value,
            include_opted_out=include_opted_out, require=require or [], raw=raw, progress=progress,
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


@app.command()
def history(
    json_: Annotated[bool, typer.Option("--json")] = False,
    limit: Annotated[int | None, typer.Option("--limit", "-n", min=1, help="Show the newest N.")] = None,
) -> None:
    """Recorded exports, newest first: when, which segments (filters as they were), count, file."""
    records = seg().history(limit)
    if json_:
        print_json(records)
        return
    rows = [
        {
            "id": r["id"],
            "exported_at": r["exported_at"],
            "segments": ", ".join(s["name"] for s in r["segments"])
            + (" minus " + ", ".join(s["name"] for s in r["excluded"]) if r["excluded"] else ""),
            "count": r["count"],
            "file": r["path"],
            "sha256": r["sha256"][:12],
        }
        for r in records
    ]
    table(rows, ["id", "exported_at", "segments", "count", "file", "sha256"])
