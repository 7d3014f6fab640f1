"""An import: files -> records -> validated rows -> one upserting transaction (SPEC §2).

Files are streamed, never loaded whole: the reader yields one record at a time with its line
number, and the writer works in chunks. A new attribute's type is inferred from all of its values
before anything is written, so a file with new attributes is read twice (stdin is spooled to a
temporary file for that).
"""

from __future__ import annotations

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
from .read import Record, detect_format, records_of
from .rejects import Rejects, rejects_target
from .summary import ImportSummary
from .write import Writer, insert_columns

MAX_PROBLEMS_SHOWN = 20
#: Rows read (and validated) before each column-at-a-time attempt.
COLUMN_CHUNK = 5000

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
    zone: tzinfo | None = None,
) -> list[ImportSummary]:
    """Import customers from ``paths`` (``-`` for stdin) into ``store`` in one transaction: all of
    the files or, if one fails, none of them. See SPEC §2. ``zone``: where a timestamp written
    without an offset is a wall-clock time (None: UTC; SPEC §9).

    Strict unless ``skip_invalid``: any invalid row raises ImportFailed and nothing is written.
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
    options = _Options(
        skip_invalid, rejects, progress, pending_rejects, store.path, tuple(paths), ValueContext(zone=zone)
    )
    summaries = [ImportSummary("stdin" if path == "-" else path, dry_run=dry_run) for path in paths]
    if skip_invalid:  # before any work: a refused rejects file changes nothing
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
            counts = "; ".join(s.counts() for s in summaries)
            raise AfterCommitError(
                f"the import was committed ({counts}), but the rejects file {r.path} could not be written: {reason}"
            ) from None
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
    values: ValueContext  # how the files write values: the zone of naive timestamps


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
    for f in infer_new_attributes(store, fmt, open_input, label):
        store.add_attribute(f, inferred=True)
        summary.new_attributes.append((f.name, str(f.type)))
    columns = store.customer_columns()
    plan = Plan(store.registry(), columns, options.values)
    writer = Writer(store, columns, summary)
    problems: list[str] = []
    rejects: Rejects | None = None
    with open_input() as fh:
        header, records, position = records_of(fmt, fh, label)
        if progress is not None:
            records = _reporting(records, progress, position, total)
        if skip_invalid:
            target = rejects_target(label, fmt, rejects_path)
            rejects = Rejects(
                target,
                "csv" if fmt == "csv" and target.endswith(".csv") else "jsonl",
                header,
                database=options.database,
                inputs=options.inputs,
            )
        try:
            with store.bulk_load() as empty:
                writer.fresh = empty
                rejected_rows = _load(records, plan, writer, problems, rejects, skip_invalid)
                writer.flush()
        except BaseException:
            if rejects is not None:
                rejects.discard()
            raise
    if progress is not None:
        progress(total, total)
    summary.rejected = rejected_rows
    if rejected_rows and not skip_invalid:
        more = f" (first {MAX_PROBLEMS_SHOWN} shown)" if rejected_rows > MAX_PROBLEMS_SHOWN else ""
        raise ImportFailed(
            f"{label}: {rejected_rows} invalid row{'s' if rejected_rows != 1 else ''} of "
            f"{summary.read}{more}; nothing was imported (use --skip-invalid to import the valid rows)",
            [f"{label}:{p}" for p in problems],
        )
    if rejects is not None:
        if rejected_rows and not summary.dry_run:
            pending_rejects.append(rejects)  # renamed into place once the transaction commits
            summary.rejects_path = rejects.path
        else:
            rejects.discard()


def _load(records, plan, writer, problems, rejects, skip_invalid) -> int:
    """Validate each record; hand the valid ones to the writer (once a strict import has found an
    invalid row it only validates the rest); return how many were invalid.

    Records are taken a chunk at a time: a chunk of valid rows with the same fields and no id
    twice goes through ``insert_columns``, a column at a time; any other chunk, row by row."""
    summary = writer.summary
    state = {"rejected": 0}

    def one(record: Record) -> None:
        errors = validate(record, plan)
        if errors:
            state["rejected"] += 1
            for column, message in errors:
                if len(problems) < MAX_PROBLEMS_SHOWN:
                    problems.append(f"{record.line}:{column}: {message}")
            if rejects is not None:
                rejects.write(record, "; ".join(m for _, m in errors))
        elif skip_invalid or not state["rejected"]:
            writer.add(record)

    chunk: list[Record] = []
    for record in records:
        summary.read += 1
        chunk.append(record)
        if len(chunk) == COLUMN_CHUNK:
            if not (state["rejected"] and not skip_invalid) and insert_columns(chunk, plan, writer):
                chunk = []
                continue
            for r in chunk:
                one(r)
            chunk = []
    for r in chunk:
        one(r)
    return state["rejected"]


def _reporting(records: Iterator[Record], progress: Progress, position: object, total: int) -> Iterator[Record]:
    for n, record in enumerate(records, 1):
        if n % 2000 == 0:
            progress(getattr(position, "bytes_read", 0), total)
        yield record
