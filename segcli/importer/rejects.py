"""The rejects file of an import with ``--skip-invalid`` (or ``--dry-run --rejects``): each
invalid row as it was read, with an ``_error`` column, written atomically once the import commits.

The file is CSV (SPEC §2: ``PATH.rejects.csv``) whatever the input. A CSV's rows are written as
they come, with its header and delimiter. A JSON or JSONL file's objects are spooled to an
anonymous temporary file (0600, gone on any exit) and written as CSV at the end, when their keys
are known: a column per key in first-seen order, ``_raw`` for a row that was not an object (or one
whose parsed value is not the text written, such as ``1e999``), then ``_error``. A ``--rejects``
file named ``.jsonl`` or ``.ndjson`` is JSON Lines instead: each object with an ``_error`` key.
"""

from __future__ import annotations

import csv
import io
import json
import tempfile

from ..atomic import AtomicFile
from .read import Record

JSONL_EXTENSIONS = (".jsonl", ".ndjson")


def rejects_target(label: str, fmt: str, given: str | None) -> str:
    """The rejects file: ``--rejects``, else ``PATH.rejects.csv`` (any input format)."""
    return given or f"{label}.rejects.csv"


class Rejects:
    """Invalid rows, written unchanged with an ``_error`` column; renamed into place at the end."""

    def __init__(
        self,
        path: str,
        fmt: str,
        header: list[str] | None,
        *,
        database: str,
        inputs: tuple[str, ...],
        delimiter: str = ",",
    ) -> None:
        """``fmt``: the input's format; ``header``: a CSV's header row."""
        self.path = path
        self.jsonl = path.lower().endswith(JSONL_EXTENSIONS)
        self.file = AtomicFile(path, database=database, inputs=inputs)
        self.fh = io.TextIOWrapper(self.file.file, encoding="utf-8", errors="surrogateescape", newline="")
        self.csv = None
        self.header = header
        self.spool = None  # JSON objects waiting for their columns
        self.keys: dict[str, None] = {}
        self.raw = False  # whether a row needs the _raw column
        if self.jsonl:
            return
        # A CSV's rejects keep its delimiter (so that the same options import them), in UTF-8.
        self.csv = csv.writer(self.fh, delimiter=delimiter if fmt == "csv" else ",")
        if fmt == "csv":
            if header is not None:
                self.csv.writerow([*header, "_error"])
        else:
            # Closed by sync or discard; anonymous, so nothing is left behind even by kill -9.
            self.spool = tempfile.TemporaryFile(  # noqa: SIM115
                "w+", encoding="utf-8", errors="surrogateescape", newline=""
            )

    def write(self, record: Record, message: str) -> None:
        if self.spool is not None:
            self._spool(record, message)
        elif self.csv is not None:
            self.csv.writerow([*record.raw, message])
        elif isinstance(record.raw, dict) and (row := _json_text({**record.raw, "_error": message})):
            self.fh.write(row + "\n")
        elif isinstance(record.raw, list) and record.keys is not None and len(record.raw) == len(record.keys):
            self.fh.write(
                json.dumps({**dict(zip(record.keys, record.raw, strict=True)), "_error": message}, ensure_ascii=False)
                + "\n"
            )
        else:  # not an object, or one whose parsed value is not what was written (1e999): its text
            raw = record.text if isinstance(record.raw, dict) else record.raw
            self.fh.write(json.dumps({"_line": record.line, "_raw": raw, "_error": message}, ensure_ascii=False) + "\n")

    def _spool(self, record: Record, message: str) -> None:
        raw = record.raw
        if isinstance(raw, dict) and (text := _json_text(raw)) is not None:
            for key in raw:
                if key not in self.keys:
                    self.keys[key] = None
            line = f"[{text}, null, {json.dumps(message, ensure_ascii=False)}]"
        else:
            self.raw = True
            if isinstance(raw, dict):
                raw = record.text
            elif not isinstance(raw, str):  # an array's element that is not an object
                raw = _json_text(raw) or record.text or ""
            raw = raw.removesuffix("\n").removesuffix("\r")  # the line, without its line ending
            line = json.dumps([None, raw, message], ensure_ascii=False)
        self.spool.write(line + "\n")

    def _write_spooled(self) -> None:
        """The spooled JSON rows as CSV, now that their columns are known, a row at a time."""
        spool, writer = self.spool, self.csv
        self.spool = None
        keys = list(self.keys)
        writer.writerow([*keys, *(["_raw"] if self.raw else []), "_error"])
        spool.seek(0)
        for line in spool:
            obj, raw, message = json.loads(line)
            cells = [_cell(obj.get(key)) for key in keys] if obj is not None else [""] * len(keys)
            if self.raw:
                cells.append(raw or "")
            writer.writerow([*cells, message])
        spool.close()

    def sync(self) -> None:
        """On disk before the import commits: a full disk then fails the import, not the rename."""
        if self.spool is not None:
            self._write_spooled()
        self.fh.flush()
        self.file.sync()

    def commit(self) -> None:
        self.fh.detach()
        self.file.commit()

    def discard(self) -> None:
        if self.spool is not None:
            self.spool.close()
            self.spool = None
        try:
            self.fh.detach()
        except (OSError, ValueError):  # unflushed rows that could not be written, or detached already
            pass
        self.file.discard()


def _cell(value: object) -> str:
    """A JSON value as a CSV cell: text as it is, null empty, other scalars and arrays and objects
    as their JSON text."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False)


def _json_text(value: object) -> str | None:
    try:
        return json.dumps(value, ensure_ascii=False, allow_nan=False)
    except ValueError:
        return None
