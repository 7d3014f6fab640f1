"""An import: files -> records -> validated rows -> one upserting transaction (SPEC §2, §8).

Files are streamed, never loaded whole: the reader yields one record at a time with its line
number, and the writer works in chunks. Each header row is mapped once (``mapping.py``, under the
import's profile). A new attribute's type is inferred from all of its values before anything is
written, so a file with new attributes is read twice (stdin is spooled to a temporary file for
that); the first reading is cheap (``infer.py``).
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
from collections.abc import Callable, Iterator
from datetime import tzinfo
from typing import BinaryIO, NamedTuple

from .. import faults
from ..atomic import check_target
from ..errors import AfterCommitError, DataError, ImportFailed, NotFoundError, SegError, UsageError
from ..store import Store
from ..values import ValueContext
from .columns import Plan, validate
from .infer import infer_new_attributes
from .mapping import HeaderError, Layout, layout
from .profiles import AUTO, Profile
from .read import Record, detect_format, records_of
from .rejects import Rejects, rejects_target
from .summary import MAX_PROBLEMS_SHOWN, HeaderPreview, ImportSummary, Problems
from .write import KeyResolver, Writer, insert_columns

#: Rows read (and validated) before each column-at-a-time attempt.
COLUMN_CHUNK = 5000
#: Records whose values the preview shows samples of.
SAMPLED = 1000

Progress = Callable[[int, int], None]


class _Rollback(Exception):
    """Raised inside the transaction to undo a dry run."""


def import_files(
    store: Store,
    paths: list[str],
    *,
    fmt: str | None = None,
    skip_invalid: bool = False,
    rejects: str | None = None,
    dry_run: bool = False,
    progress: Progress | None = None,
    stdin: BinaryIO | None = None,
    profile: Profile = AUTO,
    zone: tzinfo | None = None,
    default_region: str | None = None,
    delimiter: str | None = None,
    encoding: str | None = None,
    labels: list[str] | None = None,
) -> list[ImportSummary]:
    """Import customers from ``paths`` (``-`` for stdin) into ``store`` in one transaction: all of
    the files or, if one fails, none of them. See SPEC §2 and §8. ``zone``: where a timestamp
    written without an offset is a wall-clock time (None: UTC; SPEC §9), unless the profile says.

    Strict unless ``skip_invalid``: any invalid row raises ImportFailed and nothing is written.
    ``profile`` maps headers and values (with the command line's options laid over it); naive
    times are read in its ``timezone``, else in ``zone`` (None: UTC); phones without a country
    code in the row's country, else the profile's ``default_region``, else ``default_region``.
    ``delimiter`` and ``encoding`` (None: sniffed) are a CSV's. ``labels`` name the inputs in
    messages and summaries (default: their paths; ``stdin`` for ``-``).
    """
    if rejects and len(paths) > 1:
        raise UsageError("--rejects takes one input file")
    formats = [detect_format(path, fmt) for path in paths]
    for path in paths:
        if path != "-" and not os.path.exists(path):
            raise NotFoundError(f"{path}: no such file")
        if path != "-" and os.path.isdir(path):
            raise DataError(f"{path} is a folder, not a file")
    spools: list[str] = []
    pending_rejects: list[Rejects] = []
    if profile.timezone:
        from ..timeutil import zone as zone_named

        zone = zone_named(profile.timezone)
    context = ValueContext(zone, profile.dayfirst, profile.default_region or default_region)
    options = _Options(
        skip_invalid,
        rejects,
        progress,
        pending_rejects,
        store.path,
        tuple(paths),
        profile,
        context,
        delimiter,
        encoding,
    )
    labels = labels or ["stdin" if path == "-" else path for path in paths]
    summaries = [ImportSummary(label, dry_run=dry_run, profile=profile.name) for label in labels]
    if skip_invalid or (dry_run and rejects):  # before any work: a refused rejects file changes nothing
        for summary, file_format in zip(summaries, formats, strict=True):
            check_target(rejects_target(summary.path, file_format, rejects), database=store.path, inputs=paths)
    try:
        sources = []
        for path in paths:
            if path == "-":
                # Read twice (types first, rows second), so stdin is kept in a temporary file.
                fd, spool = tempfile.mkstemp(prefix="seg-stdin-")
                spools.append(spool)  # before the copy: an interrupted copy is removed too
                with os.fdopen(fd, "wb") as spool_fh:
                    shutil.copyfileobj(stdin or sys.stdin.buffer, spool_fh)
                sources.append(spool)
            else:
                sources.append(path)
        with store.transaction("import"):
            for source, file_format, summary in zip(sources, formats, summaries, strict=True):

                def open_input(source: str = source, label: str = summary.path) -> BinaryIO:
                    try:
                        return open(source, "rb")
                    except OSError as exc:
                        raise DataError(f"{label}: cannot read: {exc.strerror}") from None

                _run(store, open_input, os.path.getsize(source), file_format, summary, options)
            for r in pending_rejects:
                r.sync()
            faults.point("import:before-commit")
            if dry_run:
                raise _Rollback
    except _Rollback:
        pass
    except BaseException:
        for r in pending_rejects:
            r.discard()
        raise
    finally:
        for spool in spools:
            os.unlink(spool)
    for r in pending_rejects:
        try:
            r.commit()
        except (OSError, SegError) as exc:  # the import itself is committed: say so
            for other in pending_rejects:
                other.discard()
            reason = exc.message if isinstance(exc, SegError) else exc.strerror or str(exc)
            if dry_run:
                raise DataError(f"the rejects file {r.path} could not be written: {reason}") from None
            counts = "; ".join(s.counts() for s in summaries)
            raise AfterCommitError(
                f"the import was committed ({counts}), but the rejects file {r.path} could not be written: {reason}"
            ) from None
    failed = [s for s in summaries if s.failure]
    if failed:  # a strict dry run fails as the import would, after all of its files were checked
        problems = [line for s in failed for line in s.problems]
        raise ImportFailed("; ".join(s.failure for s in failed if s.failure), problems, summaries)
    return summaries


def import_file(store: Store, path: str, **options) -> ImportSummary:
    """Import one file: ``import_files`` with one path."""
    return import_files(store, [path], **options)[0]


class _Options(NamedTuple):
    """What an import was asked to do, the rejects files waiting for its commit, and the files a
    rejects file must never replace (the database, the inputs)."""

    skip_invalid: bool
    rejects_path: str | None
    progress: Progress | None
    pending_rejects: list[Rejects]
    database: str
    inputs: tuple[str, ...]
    profile: Profile
    context: ValueContext
    delimiter: str | None
    encoding: str | None


def _run(
    store: Store,
    open_input: Callable[[], BinaryIO],
    total: int,
    fmt: str,
    summary: ImportSummary,
    options: _Options,
) -> None:
    """Import one file inside the caller's transaction; raise ImportFailed if a strict import
    finds invalid rows."""
    label = summary.path
    skip_invalid, rejects_path, progress, pending_rejects = options[:4]
    profile, context = options.profile, options.context
    registry = store.registry()  # as the file found it: its layouts do not change as attributes are added
    layouts: dict[tuple[str, ...], Layout] = {}

    def layout_of(headers: tuple[str, ...]) -> Layout:
        found = layouts.get(headers)
        if found is None:
            if len(layouts) > 1024:
                layouts.clear()
            found = layouts[headers] = layout(headers, profile, registry)
        return found

    inferred = infer_new_attributes(
        fmt,
        open_input,
        label,
        layout_of,
        context,
        delimiter=options.delimiter,
        encoding=options.encoding,
        taken=lambda name: registry.attribute(name) is not None,
    )
    for f in inferred.fields:
        store.add_attribute(f, inferred=True)
        summary.new_attributes.append((f.name, str(f.type)))
    columns = store.customer_columns()
    plan = Plan(store.registry(), columns, layout_of, context, inferred.contexts)
    writer = Writer(store, columns, summary)
    problems = Problems(label)
    rejects: Rejects | None = None
    with open_input() as fh:
        header, records, position = records_of(fmt, fh, label, delimiter=options.delimiter, encoding=options.encoding)
        if header is not None:
            bound = _bind_header(plan, header, label, getattr(position, "delimiter", ","))
            summary.key = bound.key
        if progress is not None:
            records = _reporting(records, progress, position, total)
        records = _sampling(records, plan, summary, dict(inferred.types()))
        if skip_invalid or (summary.dry_run and rejects_path):
            target = rejects_target(label, fmt, rejects_path)
            rejects = Rejects(
                target,
                fmt,
                list(header) if header is not None else None,
                database=options.database,
                inputs=options.inputs,
                delimiter=getattr(position, "delimiter", ","),
            )
        try:
            with store.bulk_load() as empty:
                writer.fresh = empty
                # A dry run writes the valid rows whatever happens (all is undone): its summary
                # counts them, and its problems are all of them.
                rejected_rows = _load(records, plan, writer, problems, rejects, skip_invalid or summary.dry_run)
                writer.flush()
        except BaseException:
            if rejects is not None:
                rejects.discard()
            raise
    if progress is not None:
        progress(total, total)
    summary.rejected = rejected_rows
    if summary.merged:
        summary.notes.append(
            f"{summary.merged} row{'s' if summary.merged != 1 else ''} had the {summary.key} of an earlier row: "
            "the same customer (the later row wins)"
        )
    if rejected_rows:
        summary.problems = problems.report()
    if rejected_rows and not skip_invalid:
        more = (
            f" ({problems.total} problems; the first {MAX_PROBLEMS_SHOWN}, then by kind)"
            if problems.total > MAX_PROBLEMS_SHOWN
            else ""
        )
        outcome = "an import would write nothing" if summary.dry_run else "nothing was imported"
        message = (
            f"{label}: {rejected_rows} invalid row{'s' if rejected_rows != 1 else ''} of "
            f"{summary.read}{more}; {outcome} (use --skip-invalid to import the valid rows)"
        )
        if not summary.dry_run:
            raise ImportFailed(message, summary.problems)
        summary.failure = message
    if rejects is not None:
        if rejected_rows and (not summary.dry_run or rejects_path):
            pending_rejects.append(rejects)  # renamed into place once the transaction commits
            summary.rejects_path = rejects.path
        else:
            rejects.discard()


def _bind_header(plan: Plan, header: tuple[str, ...], label: str, delimiter: str):
    """A CSV header's sources; DataError if the file cannot be imported as it is (a header that
    is no field, no column for the key), with a hint when the delimiter looks wrong."""
    try:
        bound = plan.bind(header)
    except HeaderError as exc:
        raise DataError(f"{label}:1:{exc.column}: {exc}") from None
    if not bound.layout.key_present:
        shown = ", ".join(header[:20]) + ("..." if len(header) > 20 else "")
        hint = ""
        for other in (";", "\t", "|", ","):
            if other != delimiter and any(other in h for h in header):
                name = "tab" if other == "\t" else other
                hint = f"; the header holds {name!r}: is the file {name}-separated? (--delimiter '{name}')"
                break
        what = {"id": "an id column", "phone": "a phone column", "email": "an email column"}[bound.key]
        raise DataError(
            f"{label}: no {what.split(' ', 1)[1]} (customers are matched by {bound.key}; the header is: {shown}){hint}"
        )
    return bound


def _sampling(records: Iterator[Record], plan: Plan, summary: ImportSummary, types: dict[str, str]) -> Iterator[Record]:
    """The records, noting what each header became and its first values, for the preview."""
    seen: dict[str, HeaderPreview] = {}
    for n, record in enumerate(records):
        if n < SAMPLED and not record.error:
            header = record.header()
            if any(h not in seen for h in header):
                try:
                    layout = plan.bind(header).layout
                except HeaderError:
                    layout = None
                if layout is not None:
                    for h, became in zip(header, layout.shown, strict=True):
                        if h not in seen:
                            name = became.removeprefix("new attribute ")
                            if became.startswith("new attribute "):
                                became = f"new attribute {name} ({types.get(name, 'no value: not created')})"
                            seen[h] = HeaderPreview(h, became)
                            summary.mapping.append(seen[h])
                    if not summary.unmapped and n == 0:
                        summary.unmapped = layout.unmapped_fields()
                    for note in layout.notes:
                        if note not in summary.notes:
                            summary.notes.append(note)
            for h, value in zip(header, record.values(), strict=True):
                preview = seen.get(h)
                if preview is not None and len(preview.samples) < 3 and value not in (None, "", []):
                    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
                    if text.strip() and text not in preview.samples:
                        preview.samples.append(text)
        yield record


def _load(records, plan, writer, problems, rejects, skip_invalid) -> int:
    """Validate each record; hand the valid ones to the writer (once a strict import has found an
    invalid row it only validates the rest); return how many were invalid.

    Records are taken a chunk at a time: a chunk of valid rows with the same fields and no id
    twice goes through ``insert_columns``, a column at a time; any other chunk, row by row. Rows
    matched by phone or email (``--key``) are resolved a chunk at a time."""
    summary = writer.summary
    state = {"rejected": 0}
    resolver: KeyResolver | None = None

    def reject(record: Record, errors: list) -> None:
        state["rejected"] += 1
        for column, message in errors:
            problems.add(record.line, column, message)
        if rejects is not None:
            rejects.write(record, "; ".join(m for _, m in errors))

    def rows(chunk: list[Record]) -> None:
        nonlocal resolver
        valid = []
        invalid: dict[int, list] = {}  # place in the chunk -> problems: reported in line order
        for n, record in enumerate(chunk):
            errors = validate(record, plan)
            if errors:
                invalid[n] = errors
            else:
                valid.append((n, record))
        if valid:
            key = plan.bind(valid[0][1].header()).key
            if key != "id":
                if resolver is None:
                    resolver = KeyResolver(writer.store, key, summary, plan)
                writer.flush()  # the rows before are where the lookups can find them
                resolved = resolver.resolve([record for _, record in valid])
                for (n, record), errors in zip(valid, resolved, strict=True):
                    if errors:
                        invalid[n] = errors
                    elif skip_invalid or not (state["rejected"] or invalid):
                        writer.add(record)
            elif skip_invalid or not (state["rejected"] or invalid):
                for _, record in valid:
                    writer.add(record)
        for n in sorted(invalid):
            reject(chunk[n], invalid[n])

    chunk: list[Record] = []
    for record in records:
        summary.read += 1
        chunk.append(record)
        if len(chunk) == COLUMN_CHUNK:
            if not (state["rejected"] and not skip_invalid) and insert_columns(chunk, plan, writer):
                chunk = []
                continue
            rows(chunk)
            chunk = []
    rows(chunk)
    return state["rejected"]


def _reporting(records: Iterator[Record], progress: Progress, position: object, total: int) -> Iterator[Record]:
    for n, record in enumerate(records, 1):
        if n % 2000 == 0:
            progress(getattr(position, "bytes_read", 0), total)
        yield record
