"""Customers: `seg import`, `seg customers show`, `seg attributes`."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

import typer

from ..fields import FieldType
from ..render import cell, local_time, note, print_json, say, table
from .common import seg
from .fast import fail_for_segments
from .session import after_commit


class Format(StrEnum):
    csv = "csv"
    json = "json"
    jsonl = "jsonl"


class Key(StrEnum):
    id = "id"
    phone = "phone"
    email = "email"


class Encoding(StrEnum):
    auto = "auto"
    utf8 = "utf-8"
    utf16 = "utf-16"
    cp1256 = "cp1256"
    latin1 = "latin-1"


def import_(
    ctx: typer.Context,
    paths: Annotated[list[str], typer.Argument(help="CSV, JSON or JSONL files; - for stdin.")],
    format: Annotated[Format | None, typer.Option("--format", help="Format, if the extension does not say.")] = None,
    profile: Annotated[
        str | None,
        typer.Option(
            "--profile",
            "-p",
            metavar="NAME|FILE",
            help="How the export maps onto seg: shopify, chatwoot, hubspot, mailchimp, auto (default), a saved "
            "profile (seg profiles) or a profile file.",
        ),
    ] = None,
    map_: Annotated[
        list[str] | None,
        typer.Option("--map", "-m", metavar="'HEADER=FIELD'", help="Map a header to a field or attribute."),
    ] = None,
    skip: Annotated[list[str] | None, typer.Option("--skip", metavar="HEADER", help="Leave a header out.")] = None,
    delimiter: Annotated[
        str, typer.Option("--delimiter", metavar="auto|,|;|tab|'|'", help="A CSV's delimiter (default: sniffed).")
    ] = "auto",
    encoding: Annotated[
        Encoding,
        typer.Option("--encoding", help="A CSV's encoding (default: BOM or UTF-16 detected, else UTF-8)."),
    ] = Encoding.auto,
    dayfirst: Annotated[bool, typer.Option("--dayfirst", help="03/04/2026 is 3 April.")] = False,
    monthfirst: Annotated[bool, typer.Option("--monthfirst", help="03/04/2026 is 4 March.")] = False,
    key: Annotated[
        Key | None, typer.Option("--key", help="Match customers by id (default), phone (E.164) or email.")
    ] = None,
    skip_invalid: Annotated[
        bool, typer.Option("--skip-invalid", help="Import the valid rows; write the others to the rejects file.")
    ] = False,
    rejects: Annotated[
        str | None,
        typer.Option(
            "--rejects",
            help="Rejects file (default PATH.rejects.csv; a .jsonl name writes JSON Lines). With --dry-run, "
            "the rows an import would reject.",
        ),
    ] = None,
    dry_run: Annotated[
        bool,
        typer.Option("--dry-run", help="Show what each header becomes, check and count; write nothing."),
    ] = False,
    json_: Annotated[bool, typer.Option("--json", help="Print the summary as JSON on stdout.")] = False,
) -> None:
    """Import customers, upserting by id (or --key), all files in one transaction. Strict: one
    invalid row and nothing is written. Exports of other systems go in as they are, through a
    profile (--profile) and --map."""
    import csv
    import gc

    from ..errors import ImportFailed, UsageError
    from ..importer import DELIMITERS, MAX_LINE
    from ..render import ImportProgress

    if dayfirst and monthfirst:
        raise UsageError("--dayfirst and --monthfirst: give one of them")
    if delimiter not in DELIMITERS:
        raise UsageError(f"--delimiter {delimiter!r}: one of auto, ',', ';', tab, '|'")
    # Process-wide settings, for the command only (the library leaves them alone; ``main`` puts
    # them back): a cell may be as long as a line may (16 MiB); and an import allocates millions of
    # short-lived lists and tuples, none in a reference cycle, which the cycle collector would only
    # keep re-scanning (~15% of a bulk load).
    csv.field_size_limit(MAX_LINE)
    gc.disable()
    progress = ImportProgress("importing")
    try:
        summaries = seg(ctx).import_files(
            paths,
            fmt=format.value if format else None,
            profile=profile,
            maps=map_ or [],
            skip=skip or [],
            key=key.value if key else None,
            dayfirst=True if dayfirst else False if monthfirst else None,
            delimiter=DELIMITERS[delimiter],
            encoding=encoding.value,
            skip_invalid=skip_invalid,
            rejects=rejects,
            dry_run=dry_run,
            progress=progress,
        )
    except ImportFailed as exc:
        if exc.summaries is not None:  # a dry run: what it found, then its problems as the error
            progress.close()
            _report(exc.summaries, dry_run=True, json_=json_)
        raise
    finally:
        progress.close()
    counts = "; ".join(s.counts() for s in summaries)
    with after_commit(None if dry_run else f"the import was committed ({counts})"):
        _report(summaries, dry_run=dry_run, json_=json_)


def _report(summaries: list, *, dry_run: bool, json_: bool) -> None:
    """Each file's summary (a dry run's: its preview first, and its problems after, unless they
    are the error it fails with)."""
    for summary in summaries:
        if dry_run and not json_:
            say(_preview(summary))
        prefix = "dry run, nothing written: " if dry_run else ""
        note(f"{prefix}{summary.path}: {summary.counts()}")
        for name, type_ in summary.new_attributes:
            note(f"  new attribute {name}: {type_} (inferred)")
        for text in summary.notes:
            note(f"  {text}")
        if summary.rejects_path:
            note(f"  rejected rows written to {summary.rejects_path}")
        if dry_run and not summary.failure:
            for line in summary.problems:
                note(line)
    if json_:
        print_json([s.to_json() for s in summaries] if len(summaries) > 1 else summaries[0].to_json())


def _preview(summary) -> list[str]:
    """The mapping preview of ``--dry-run`` (SPEC §8): one line per header, what it became, and
    its first values; then the fields that nothing maps to."""
    width = min(max((len(h.header) for h in summary.mapping), default=0), 40)
    lines = [f"{summary.path} (profile {summary.profile}, customers matched by {summary.key}):"]
    for h in summary.mapping:
        samples = ", ".join(v if len(v) <= 30 else v[:27] + "..." for v in h.samples)
        lines.append(f"  {h.header:<{width}}  -> {h.became}" + (f"  [{samples}]" if samples else ""))
    if summary.unmapped:
        lines.append(f"  fields nothing maps to: {', '.join(summary.unmapped)}")
    return lines


def customers_show(
    ctx: typer.Context,
    customer_id: Annotated[str, typer.Argument(metavar="ID")],
    json_: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """A customer, its tags and attributes, and every segment it is in."""
    db = seg(ctx)
    customer = db.customer(customer_id)
    if json_:
        print_json(customer)
    else:
        registry, zone = db.registry(), db.zone

        def shown(name: str, value: object, attribute: bool = False) -> str:  # instants in the zone, with offset
            f = registry.attribute(name) if attribute else registry.get(name)
            return cell(local_time(value, zone) if f is not None and f.type is FieldType.DATE else value)

        fields = [(k, v) for k, v in customer.items() if k not in ("attributes", "segments", "segment_errors")]
        rows = [{"field": k, "value": shown(k, v)} for k, v in fields]
        rows += [{"field": k, "value": shown(k, v, True)} for k, v in customer["attributes"].items()]
        rows.append({"field": "segments", "value": ", ".join(customer["segments"]) or "(none)"})
        if customer["segment_errors"]:
            failed = ", ".join(e["segment"] for e in customer["segment_errors"])
            rows.append({"field": "not evaluated", "value": failed})
        table(rows, ["field", "value"], title=f"customer {customer['id']}")
    fail_for_segments(customer["segment_errors"])


def attributes_list(
    ctx: typer.Context,
    json_: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """List custom attributes: name, type, enum values, customers with a value."""
    if ctx.invoked_subcommand:
        return
    rows = seg(ctx).attributes.list()
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


def attributes_define(
    ctx: typer.Context,
    name: str,
    type_: Annotated[AttrType, typer.Option("--type", help="The attribute's type.")],
    values: Annotated[str | None, typer.Option("--values", help="An enum's values: a,b,c.")] = None,
) -> None:
    """Declare a custom attribute (an enum may gain values; text may become an enum)."""
    listed = [v for v in values.split(",")] if values else None
    outcome = seg(ctx).attributes.define(name, type_.value, listed)
    note(f"attribute {name}: {outcome}")


def register(app: typer.Typer) -> None:
    app.command("import")(import_)
    customers_app = typer.Typer(help="Look up customers.", no_args_is_help=True)
    customers_app.command("show")(customers_show)
    app.add_typer(customers_app, name="customers")
    attributes_app = typer.Typer(help="Custom attributes: list them (no subcommand) or define one.")
    attributes_app.callback(invoke_without_command=True)(attributes_list)
    attributes_app.command("define")(attributes_define)
    app.add_typer(attributes_app, name="attributes")
