"""The rejects file of an import with ``--skip-invalid``: each invalid row as it was read, with
an ``_error`` column (a JSON key, for JSON input), written atomically once the import commits."""

from __future__ import annotations

import csv
import io
import json

from ..atomic import AtomicFile
from .read import Record


def rejects_target(label: str, fmt: str, given: str | None) -> str:
    """The rejects file: ``--rejects``, else ``PATH.rejects.csv`` (``.jsonl`` for JSON input)."""
    return given or f"{label}.rejects.{'csv' if fmt == 'csv' else 'jsonl'}"


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
        self.path = path
        self.fmt = fmt
        self.file = AtomicFile(path, database=database, inputs=inputs)
        self.fh = io.TextIOWrapper(self.file.file, encoding="utf-8", errors="surrogateescape", newline="")
        # A CSV's rejects keep its delimiter (so that the same options import them), in UTF-8.
        self.csv = csv.writer(self.fh, delimiter=delimiter) if fmt == "csv" else None
        if self.csv is not None and header is not None:
            self.csv.writerow([*header, "_error"])

    def write(self, record: Record, message: str) -> None:
        if self.csv is not None:
            self.csv.writerow([*record.raw, message])
        elif isinstance(record.raw, dict) and (row := _json_row({**record.raw, "_error": message})):
            self.fh.write(row)
        elif isinstance(record.raw, dict):  # 1e999 parsed as infinity: keep the text as written
            self.fh.write(
                json.dumps({"_line": record.line, "_raw": record.text, "_error": message}, ensure_ascii=False) + "\n"
            )
        else:
            self.fh.write(
                json.dumps({"_line": record.line, "_raw": record.raw, "_error": message}, ensure_ascii=False) + "\n"
            )

    def sync(self) -> None:
        """On disk before the import commits: a full disk then fails the import, not the rename."""
        self.fh.flush()
        self.file.sync()

    def commit(self) -> None:
        self.fh.detach()
        self.file.commit()

    def discard(self) -> None:
        try:
            self.fh.detach()
        except (OSError, ValueError):  # unflushed rows that could not be written, or detached already
            pass
        self.file.discard()


def _json_row(obj: dict) -> str | None:
    try:
        return json.dumps(obj, ensure_ascii=False, allow_nan=False) + "\n"
    except ValueError:
        return None
