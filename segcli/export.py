"""Campaign audiences (SPEC §5, §10): every customer in any of the segments and none of the
excluded, minus opted-out customers, those missing a required field and (``--unique``) those whose
number another customer of the audience has, written atomically and recorded. A saved audience
brings its own definition; each of its exports keeps its membership (``membership.py``) and says
what changed since the previous one, and with ``--changes`` writes the added and removed customers
beside the file.

The waterfall counts, the rows and the changes come from one read transaction, so they describe one
state of the database even while an import commits. Rows are streamed from the cursor to the file,
never held in memory; each file is a temporary one beside its target, flushed to disk and renamed
into place on its own, and the export and its membership are recorded in a transaction that commits
after the last rename, so a failed export leaves the earlier files and the history as they were (or,
killed between two renames, records nothing: the next export repeats the changes).
"""

from __future__ import annotations

import hashlib
import heapq
import io
import json
import os
import re
import shutil
import sys
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from itertools import islice
from typing import TYPE_CHECKING, BinaryIO, NamedTuple

from . import faults, membership, settings
from .atomic import AtomicFile, check_target
from .compile import Compiled, compile_audience, compile_cells, compile_waterfall
from .errors import UsageError
from .fields import Field, FieldType
from .model import UNIQUE_FIELDS, Audience, Condition, Filter, Segment
from .render import CsvWriter
from .timeutil import Clock, format_instant, stamp

if TYPE_CHECKING:
    from .catalog import Catalog
    from .store import Store

FORMATS = ("csv", "jsonl")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
# A sign, then only digits, spaces, dots, parentheses and dashes, with a digit: -5, +968 9123 4567.
_SIGNED_PLAIN = re.compile(r"[+-][0-9 ().\-]*[0-9][0-9 ().\-]*")
# Where a line inside a cell starts like a formula: just after a CR or LF, before = + - @ or tab.
_INNER_LINE_START = re.compile(r"(?<=[\r\n])(?=[=+\-@\t])")

Progress = Callable[[int, int], None]


def neutralize(text: str) -> str:
    """A CSV cell a spreadsheet will not run: text that starts like a formula gets a leading ``'``,
    unless it is plainly a number or a phone number (``-5``, ``+96891234567``), and so does every
    line inside it (SPEC §13): see ``guard_lines``. The export applies the first rule in SQL
    (``Dialect.neutralized_cell``) and the second to the rare cells that hold a line break."""
    text = guard_lines(text)
    if text.startswith(_FORMULA_START) and not _SIGNED_PLAIN.fullmatch(text):
        return "'" + text
    return text


def guard_lines(text: str) -> str:
    """Each line inside ``text`` that starts like a formula (``=``, ``+``, ``-``, ``@``, tab just
    after a CR or LF) gets a ``'`` after its line break: a reader that splits lines, or a CR taken
    for the end of a row, would start a cell there. Such a line is never "plainly a number"."""
    return _INNER_LINE_START.sub("'", text) if "\n" in text or "\r" in text else text


def _guard_lines_of_row(row: Sequence) -> list:
    return [guard_lines(v) if isinstance(v, str) else v for v in row]


@dataclass
class ExportResult:
    """What an export wrote: the waterfall of counts, the file and its checksum, the history id;
    for a saved audience, its name and the changes since its previous export (and the change
    files, with ``--changes``)."""

    path: str
    format: str
    waterfall: list[tuple[str, int]] = field(default_factory=list)
    written: int = 0
    sha256: str = ""
    record_id: int | None = None
    audience: str | None = None
    changes: dict | None = None  # {"added", "removed", "unchanged"}
    change_files: list[str] = field(default_factory=list)

    def to_json(self) -> dict:
        return {
            "path": self.path,
            "format": self.format,
            "waterfall": [{"step": s, "count": n} for s, n in self.waterfall],
            "written": self.written,
            "sha256": self.sha256,
            "history_id": self.record_id,
            "audience": self.audience,
            "changes": self.changes,
            "change_files": self.change_files,
        }


def change_paths(output: str) -> tuple[str, str]:
    """The change files beside an export (SPEC §10): ``audience.csv`` gives ``audience.added.csv``
    and ``audience.removed.csv``; a name without an extension gets ``.added`` and ``.removed``."""
    folder, name = os.path.split(output)
    stem, dot, ext = name.rpartition(".")
    if not dot or not stem:
        stem, ext = name, ""
    suffix = f".{ext}" if ext else ""
    return os.path.join(folder, f"{stem}.added{suffix}"), os.path.join(folder, f"{stem}.removed{suffix}")


class _HashingWriter(io.RawIOBase):
    """Writes through to a binary file and hashes what it writes: the checksum of the file as written."""

    def __init__(self, target: BinaryIO) -> None:
        self.target = target
        self.sha = hashlib.sha256()

    def writable(self) -> bool:
        return True

    def write(self, data) -> int:
        self.sha.update(data)
        self.target.write(data)
        return len(data)


def _json_value(f: Field) -> Callable[[object], object]:
    """How a stored value becomes a JSON value in JSONL: lists as arrays, booleans as booleans."""
    if f.is_list:
        return lambda v: json.loads(v) if v else []
    if f.type is FieldType.BOOLEAN:
        return lambda v: None if v is None else bool(v)
    return lambda v: v


class _Plan:
    """What an export takes and leaves out, resolved: from a command line, or from a saved audience."""

    def __init__(
        self,
        catalog: Catalog,
        included: list[Segment],
        excluded: list[Segment],
        *,
        columns: Sequence[str] | None,
        include_opted_out: bool,
        require: Sequence[str],
        unique: str | None,
        audience: Audience | None = None,
    ) -> None:
        registry = catalog.registry()
        self.audience = audience
        self.included, self.excluded = included, excluded
        self.fields = catalog.columns(columns)
        self.include_opted_out = include_opted_out
        self.required = [registry.resolve(name, "field for --require") for name in require]
        if unique is not None and unique not in UNIQUE_FIELDS:
            raise UsageError(f'--unique takes phone or email, not "{unique}"')
        self.unique = registry.resolve(unique) if unique is not None else None
        self.inc_filters = [catalog.saved_filter(s) for s in included]
        self.exc_filters = [catalog.saved_filter(s) for s in excluded]
        self.labels = ["matched by the segments"]
        self.steps: list[tuple[list[Filter], list[Condition]]] = []
        if self.exc_filters:
            self.labels.append("after exclusions")
            self.steps.append((self.exc_filters, []))
        self.rules: list[Condition] = []
        if not include_opted_out:
            self.rules.append(Condition("marketing_opt_out", "eq", (False,)))
            self.labels.append("after opt-outs")
            self.steps.append((self.exc_filters, list(self.rules)))
        for f in self.required:
            self.rules.append(Condition(f.name, "set"))
            self.labels.append(f"after --require {f.name}")
            self.steps.append((self.exc_filters, list(self.rules)))
        if self.unique is not None:
            self.labels.append(f"after --unique {self.unique.name}")

    @classmethod
    def of_audience(cls, catalog: Catalog, name: str) -> _Plan:
        audience = catalog.audiences.get(name)
        included, excluded = catalog.audiences.segments_of(audience)
        return cls(
            catalog,
            included,
            excluded,
            columns=audience.columns,
            include_opted_out=audience.include_opted_out,
            require=audience.require,
            unique=audience.unique,
            audience=audience,
        )

    @property
    def unique_rule(self) -> tuple[Field, bool] | None:
        return None if self.unique is None else (self.unique, not self.include_opted_out)

    def final(self, catalog: Catalog, now: datetime | Clock) -> Compiled:
        """The customers written."""
        return compile_audience(
            catalog.registry(),
            now,
            self.inc_filters,
            self.exc_filters,
            dialect=catalog.dialect,
            required=self.rules,
            unique=self.unique_rule,
        )

    def waterfall(self, catalog: Catalog, now: datetime | Clock) -> list[tuple[str, int]]:
        matched, step_sql = compile_waterfall(
            catalog.registry(), now, self.inc_filters, self.steps, dialect=catalog.dialect, unique=self.unique_rule
        )
        counts = catalog.store().count_steps(matched.sql, matched.params, step_sql)
        return list(zip(self.labels, counts, strict=True))


def _changes(store: Store, audience: Audience, final: Compiled) -> tuple[membership.Changes, dict | None]:
    """The audience's members now (inside the caller's read transaction) against its latest kept
    membership; the added and removed customers are staged for listing (``stage_pks``)."""
    previous = store.latest_membership(audience.pk)
    deleted = store.deleted_customers(previous["data_version"]) if previous else {}
    current = membership.chunks_of(store.member_pks(final.sql, final.params))
    found = membership.compare(store.membership(previous["export_pk"]) if previous else None, current, deleted)
    store.stage_pks("added", membership.expand(found.added_bits))
    store.stage_pks("removed", membership.expand(found.removed_bits))
    return found, previous


def _deleted_row(fields: list[Field], customer_id: str, cell: Callable[[str], object]) -> list:
    """A removed customer who no longer exists: the id, and nothing else known."""
    return [cell(customer_id) if f.name == "id" else None for f in fields]


def export_audience(
    catalog: Catalog,
    now: datetime | Clock,
    names: Sequence[str],
    output: str,
    *,
    exclude: Sequence[str] = (),
    columns: Sequence[str] | None = None,
    fmt: str = "csv",
    include_opted_out: bool = False,
    require: Sequence[str] = (),
    unique: str | None = None,
    raw: bool = False,
    audience: str | None = None,
    changes: bool = False,
    progress: Progress | None = None,
    stdout: BinaryIO | None = None,
) -> ExportResult:
    """Write the audience to ``output`` (``-``: stdout) and record it; see SPEC §5 and §10. ``now``
    is the instant relative dates are measured from, or a whole Clock (with the zone and first day
    of a week the record keeps).

    ``audience`` names a saved audience, which brings its own segments and options: only the
    output options (``fmt``, ``raw``, ``changes``) may be given with it. Its membership is kept,
    and compared with the previous export's; ``changes`` also writes the added and removed
    customers beside ``output``."""
    if fmt not in FORMATS:
        raise UsageError(f"unknown format {fmt!r} (use csv or jsonl)")
    if audience is not None:
        given = [
            option
            for option, value in (
                ("segment names", names),
                ("--exclude", exclude),
                ("--columns", columns),
                ("--include-opted-out", include_opted_out),
                ("--require", require),
                ("--unique", unique),
            )
            if value
        ]
        if given:
            raise UsageError(
                f"--audience takes only -o, --format, --raw and --changes; {', '.join(given)} "
                "come from the saved audience (seg audience show)"
            )
    elif not names:
        raise UsageError("name at least one segment to export (or --audience NAME)")
    if changes and audience is None:
        raise UsageError("--changes needs --audience NAME: only a saved audience keeps the membership to compare with")
    if changes and output == "-":
        raise UsageError("--changes writes files beside the export: give -o FILE, not -o -")
    store = catalog.store()
    paths = [output, *change_paths(output)] if changes else [output]
    for path in paths if output != "-" else ():
        check_target(path, database=store.path)  # before any work: a refused target changes nothing
    # The file is written; recording it may wait this long for an import to finish.
    record_wait = {"wait_ms": settings.export_wait_ms(), "wait_setting": "SEG_EXPORT_WAIT"}
    store.check_writable()  # the export is recorded: not worth writing a file that cannot be
    if audience is not None:
        plan = _Plan.of_audience(catalog, audience)
    else:
        plan = _Plan(
            catalog,
            [catalog.segments.get(n) for n in names],
            [catalog.segments.get(n) for n in exclude],
            columns=columns,
            include_opted_out=include_opted_out,
            require=require,
            unique=unique.strip().lower() if unique is not None else None,
        )
    keep = int(catalog.settings.get("audience_keep") or 30) if plan.audience else 0

    result = ExportResult(output, fmt, audience=plan.audience.name if plan.audience else None)
    fields = plan.fields
    keys = [f.name for f in fields]
    if fmt == "csv":
        expressions = compile_cells(fields, neutralize=not raw, dialect=catalog.dialect)
        convert: Callable[[Sequence], object] | None = None
    else:
        expressions = [f"c.{f.column}" for f in fields]
        converters = [_json_value(f) for f in fields]
        convert = lambda row: {k: conv(v) for k, conv, v in zip(keys, converters, row, strict=True)}  # noqa: E731
    found: membership.Changes | None = None
    previous: dict | None = None
    version: int | None = None

    def write_rows(
        binary: BinaryIO, rows: Iterator[Sequence] | Iterable[Sequence], total: int | None
    ) -> tuple[int, str]:
        """Rows of cells (CSV) or of stored values (JSONL), streamed into ``binary``: how many, and
        the checksum of what was written."""
        hashing = _HashingWriter(binary)
        text = io.TextIOWrapper(io.BufferedWriter(hashing, 1 << 16), encoding="utf-8", newline="")
        written = 0
        if convert is None:
            writer = CsvWriter(text, multiline=None if raw else _guard_lines_of_row)
            writer.writerow(keys)
            for batch in _batches(rows):
                writer.writerows(batch)
                written += len(batch)
                if progress is not None and total is not None:
                    progress(written, total)
        else:
            dumps = json.JSONEncoder(ensure_ascii=False).encode
            for batch in _batches(rows):
                text.write("".join(dumps(convert(row)) + "\n" for row in batch))
                written += len(batch)
                if progress is not None and total is not None:
                    progress(written, total)
        text.flush()
        text.detach()
        return written, hashing.sha.hexdigest()

    def export_rows(binary: BinaryIO, changed: list[BinaryIO] | None = None, written_path: str = "") -> None:
        nonlocal found, previous, version
        with store.snapshot():  # the counts, the rows and the changes: one state of the database
            result.waterfall.extend(plan.waterfall(catalog, now))
            total = result.waterfall[-1][1]
            final = plan.final(catalog, now)
            if plan.audience is not None:
                version = store.data_version()
                found, previous = _changes(store, plan.audience, final)
            if convert is None:
                rows = store.select_cells(final.sql, final.params, expressions, expected=total)
            else:
                rows = store.select_where(final.sql, final.params, [f.column for f in fields], expected=total)
            result.written, result.sha256 = write_rows(binary, rows, total)
            if changed is not None and found is not None:
                added, removed = changed
                if previous is None:  # everyone is added: the export itself
                    binary.flush()
                    with open(written_path, "rb") as written_file:
                        shutil.copyfileobj(written_file, added)
                else:
                    write_rows(added, _strip_id(store.select_staged_cells("added", expressions)), None)
                cell = (lambda v: v) if raw or convert is not None else neutralize
                gone = sorted(
                    ([*_deleted_row(fields, customer_id, cell), customer_id] for customer_id in found.deleted.values()),
                    key=lambda r: r[-1],
                )
                existing = store.select_staged_cells("removed", expressions)
                write_rows(removed, _strip_id(heapq.merge(existing, gone, key=lambda r: r[-1])), None)
        result.waterfall.append(("written", result.written))
        if found is not None:
            if found.members != result.written:  # one read transaction: cannot happen
                raise AssertionError(f"membership {found.members} != rows written {result.written}")
            result.changes = {"added": found.added, "removed": found.removed, "unchanged": found.unchanged}
            result.waterfall += [(k, n) for k, n in result.changes.items()]

    clock = Clock.of(now)
    record = {
        "now": format_instant(clock.now),
        "zone": clock.zone_name,
        "segments": [{"name": s.name, "filter": s.where} for s in plan.included],
        "excluded": [{"name": s.name, "filter": s.where} for s in plan.excluded],
        "options": {
            "columns": keys,
            "format": fmt,
            "include_opted_out": plan.include_opted_out,
            "require": [f.name for f in plan.required],
            "unique": plan.unique.name if plan.unique is not None else None,
            "raw": raw,
            "week_start": clock.week_start,
        },
    }

    def save_record() -> None:
        record.update(
            exported_at=stamp(),
            waterfall=[{"step": s, "count": n} for s, n in result.waterfall],
            count=result.written,
            path=result.path,
            sha256=result.sha256,
        )
        if plan.audience is not None and found is not None:
            record.update(audience_pk=plan.audience.pk, audience=plan.audience.name, data_version=version)
            record.update(result.changes or {})
        result.record_id = store.insert_export(record)

    def keep_membership() -> None:
        if plan.audience is not None and found is not None and result.record_id is not None:
            store.record_membership(result.record_id, found.chunks, keep)

    if output == "-":
        out = stdout or sys.stdout.buffer
        export_rows(out)
        out.flush()
        with store.transaction("export", **record_wait):
            save_record()
            keep_membership()
        return result

    result.path = os.path.abspath(output)
    targets: list[AtomicFile] = []
    try:
        for path in paths:
            targets.append(AtomicFile(path, database=store.path))
        export_rows(targets[0].file, [t.file for t in targets[1:]] if changes else None, targets[0].tmp)
        for t in targets:
            t.sync()
        faults.point("export:before-rename")
        # Record, then rename each file, then commit: a failed rename rolls the record back, and a
        # kill between two renames leaves no record, so the next export repeats these changes.
        with store.transaction("export", **record_wait):
            save_record()
            for n, t in enumerate(targets):
                t.commit()
                faults.point(f"export:after-rename-{n + 1}")
            keep_membership()
    except BaseException:
        for t in targets:
            t.discard()
        raise
    result.change_files = [os.path.abspath(p) for p in paths[1:]]
    return result


def _batches(rows: Iterator[Sequence] | Iterable[Sequence], size: int = 2000) -> Iterator[list]:
    fetch = getattr(rows, "fetchmany", None)
    if fetch is not None:  # a cursor: rows in batches, straight from the engine
        while batch := fetch(size):
            yield batch
        return
    iterator = iter(rows)
    while batch := list(islice(iterator, size)):
        yield batch


def _strip_id(rows: Iterable[Sequence]) -> Iterator[Sequence]:
    """Rows from ``select_staged_cells`` (or made like them) without their trailing id."""
    for row in rows:
        yield row[:-1]


class AudienceDiff(NamedTuple):
    """What an export of a saved audience would change now (``audience_diff``): the ids added and
    removed, each sorted and streamed, how many are unchanged, and when the export compared with
    was made (None: there was none, so everyone is added)."""

    audience: str
    since: str | None
    added: Iterator[str]
    removed: Iterator[str]
    added_count: int
    removed_count: int
    unchanged: int


@contextmanager
def audience_diff(catalog: Catalog, now: datetime | Clock, name: str) -> Iterator[AudienceDiff]:
    """``seg audience diff``: the changes an export of the audience ``name`` would write now,
    against its latest kept membership, without exporting or recording anything. The ids are read
    inside one read transaction, open while the caller iterates."""
    plan = _Plan.of_audience(catalog, name)
    store = catalog.store()
    with store.snapshot():
        found, previous = _changes(store, plan.audience, plan.final(catalog, now))
        added = (row[0] for row in store.select_staged_cells("added", ["c.id"]))
        existing = (row[0] for row in store.select_staged_cells("removed", ["c.id"]))
        removed = heapq.merge(existing, sorted(found.deleted.values()))
        yield AudienceDiff(
            plan.audience.name,
            previous["exported_at"] if previous else None,
            added,
            removed,
            found.added,
            found.removed,
            found.unchanged,
        )


def audience_report(catalog: Catalog, now: datetime | Clock, name: str) -> dict:
    """``seg audience show``: the audience's definition, its waterfall now, and its exports."""
    plan = _Plan.of_audience(catalog, name)
    store = catalog.store()
    with store.snapshot():
        waterfall = plan.waterfall(catalog, now)
    assert plan.audience is not None
    return {
        **plan.audience.to_json(),
        "waterfall": [{"step": s, "count": n} for s, n in waterfall],
        "exports": store.audience_exports(plan.audience.pk),
    }
