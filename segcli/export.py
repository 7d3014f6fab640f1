"""Campaign audiences (SPEC §5): every customer in any of the segments and none of the excluded,
minus opted-out customers and those missing a required field, written atomically and recorded.

The waterfall counts and the rows come from one read transaction, so they describe one state of the
database even while an import commits. Rows are streamed from the cursor to the file, never held in
memory; the file is a temporary one beside the target, flushed to disk and renamed into place, and
the export is recorded in the same step, so a failed export leaves the earlier file and the history
as they were.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, BinaryIO

from . import faults, settings
from .atomic import AtomicFile, check_target
from .compile import compile_audience, compile_cells, compile_waterfall
from .errors import UsageError
from .fields import Field, FieldType
from .model import Condition, Filter
from .render import CsvWriter
from .timeutil import Clock, format_instant, stamp

if TYPE_CHECKING:
    from .catalog import Catalog

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
    """What an export wrote: the waterfall of counts, the file and its checksum, the history id."""

    path: str
    format: str
    waterfall: list[tuple[str, int]] = field(default_factory=list)
    written: int = 0
    sha256: str = ""
    record_id: int | None = None

    def to_json(self) -> dict:
        return {
            "path": self.path,
            "format": self.format,
            "waterfall": [{"step": s, "count": n} for s, n in self.waterfall],
            "written": self.written,
            "sha256": self.sha256,
            "history_id": self.record_id,
        }


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
    raw: bool = False,
    progress: Progress | None = None,
    stdout: BinaryIO | None = None,
) -> ExportResult:
    """Write the audience to ``output`` (``-``: stdout) and record it; see SPEC §5. ``now`` is the
    instant relative dates are measured from, or a whole Clock (with the zone and first day of a
    week the record keeps)."""
    if fmt not in FORMATS:
        raise UsageError(f"unknown format {fmt!r} (use csv or jsonl)")
    if not names:
        raise UsageError("name at least one segment to export")
    if output != "-":
        check_target(output, database=catalog.store().path)  # before any work: a refused target changes nothing
    # The file is written; recording it may wait this long for an import to finish.
    record_wait = {"wait_ms": settings.export_wait_ms(), "wait_setting": "SEG_EXPORT_WAIT"}
    store = catalog.store()
    store.check_writable()  # the export is recorded: not worth writing a file that cannot be
    registry = store.registry()
    fields = catalog.columns(columns)
    required_fields = [registry.resolve(name, "field for --require") for name in require]
    included = [catalog.segments.get(n) for n in names]
    excluded = [catalog.segments.get(n) for n in exclude]
    inc_filters = [catalog.saved_filter(s) for s in included]
    exc_filters = [catalog.saved_filter(s) for s in excluded]

    labels = ["matched by the segments"]
    steps: list[tuple[list[Filter], list[Condition]]] = []
    if exc_filters:
        labels.append("after exclusions")
        steps.append((exc_filters, []))
    rules: list[Condition] = []
    if not include_opted_out:
        rules.append(Condition("marketing_opt_out", "eq", (False,)))
        labels.append("after opt-outs")
        steps.append((exc_filters, list(rules)))
    for f in required_fields:
        rules.append(Condition(f.name, "set"))
        labels.append(f"after --require {f.name}")
        steps.append((exc_filters, list(rules)))

    result = ExportResult(output, fmt)
    converters = [_json_value(f) for f in fields]
    dialect = catalog.dialect
    cells = compile_cells(fields, neutralize=not raw, dialect=dialect)
    keys = [f.name for f in fields]
    sql_columns = [f.column for f in fields]

    def write_rows(binary: BinaryIO) -> None:
        hashing = _HashingWriter(binary)
        text = io.TextIOWrapper(io.BufferedWriter(hashing, 1 << 16), encoding="utf-8", newline="")
        with store.snapshot():  # the counts and the rows: one state of the database
            matched, step_sql = compile_waterfall(registry, now, inc_filters, steps, dialect=dialect)
            counts = store.count_steps(matched.sql, matched.params, step_sql)
            result.waterfall.extend(zip(labels, counts, strict=True))
            final = compile_audience(registry, now, inc_filters, exc_filters, dialect=dialect, required=rules)
            total = result.waterfall[-1][1]
            written = 0
            if fmt == "csv":
                writer = CsvWriter(text, multiline=None if raw else _guard_lines_of_row)
                writer.writerow(keys)
                cursor = store.select_cells(final.sql, final.params, cells, expected=total)
                while batch := cursor.fetchmany(2000):
                    writer.writerows(batch)
                    written += len(batch)
                    if progress is not None:
                        progress(written, total)
            else:
                dumps = json.JSONEncoder(ensure_ascii=False).encode
                cursor = store.select_where(final.sql, final.params, sql_columns, expected=total)
                for row in cursor:
                    text.write(dumps({k: conv(v) for k, conv, v in zip(keys, converters, row, strict=True)}) + "\n")
                    written += 1
                    if progress is not None and written % 5000 == 0:
                        progress(written, total)
        text.flush()
        text.detach()
        result.written = written
        result.waterfall.append(("written", written))
        result.sha256 = hashing.sha.hexdigest()

    clock = Clock.of(now)
    record = {
        "now": format_instant(clock.now),
        "zone": clock.zone_name,
        "segments": [{"name": s.name, "filter": s.where} for s in included],
        "excluded": [{"name": s.name, "filter": s.where} for s in excluded],
        "options": {
            "columns": keys,
            "format": fmt,
            "include_opted_out": include_opted_out,
            "require": [f.name for f in required_fields],
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
        result.record_id = store.insert_export(record)

    if output == "-":
        out = stdout or sys.stdout.buffer
        write_rows(out)
        out.flush()
        with store.transaction("export", **record_wait):
            save_record()
        return result

    result.path = os.path.abspath(output)
    target = AtomicFile(output, database=store.path)
    try:
        write_rows(target.file)
        target.sync()
        faults.point("export:before-rename")
        # Record, then rename, then commit: a failed rename rolls the record back.
        with store.transaction("export", **record_wait):
            save_record()
            target.commit()
    except BaseException:
        target.discard()
        raise
    return result
