"""CSV / JSON / JSONL rows -> validated customer records -> one upserting transaction.

Files are streamed, never loaded whole: the reader yields one record at a time with its line
number, and the writer works in chunks. A new attribute's type is inferred from all of its values
before anything is written, so a file with new attributes is read twice (stdin is spooled to a
temporary file for that).
"""

from __future__ import annotations

import codecs
import csv
import json
import os
import shutil
import sys
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from .errors import DataError, ImportFailed, NotFoundError, UsageError
from .fields import (
    BUILTIN_BY_NAME,
    Field,
    FieldRegistry,
    FieldType,
    InvalidValue,
    TypeInference,
    attribute_field,
    check_attribute_name,
    fold,
    normalize,
)
from .store import Store

MAX_PROBLEMS_SHOWN = 20
CHUNK = 2000
FORMATS = ("csv", "json", "jsonl")
_EXTENSIONS = {".csv": "csv", ".json": "json", ".jsonl": "jsonl", ".ndjson": "jsonl"}

Progress = Callable[[int, int], None]


@dataclass
class ImportSummary:
    """What an import did (or, with ``dry_run``, would have done)."""

    path: str
    read: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: int = 0
    new_attributes: list[tuple[str, str]] = field(default_factory=list)
    rejects_path: str | None = None
    dry_run: bool = False

    def to_json(self) -> dict:
        return {
            "path": self.path,
            "read": self.read,
            "created": self.created,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "rejected": self.rejected,
            "new_attributes": [{"name": n, "type": t} for n, t in self.new_attributes],
            "rejects_path": self.rejects_path,
            "dry_run": self.dry_run,
        }


@dataclass
class Record:
    """One row of the file: ``cells`` maps each key to (column number, raw value)."""

    line: int
    cells: dict[str, tuple[int, object]]
    raw: object  # the row as read, written back unchanged to the rejects file
    error: tuple[int, str] | None = None  # a structural problem: (column, message)


def detect_format(path: str, fmt: str | None) -> str:
    if fmt:
        if fmt not in FORMATS:
            raise UsageError(f"unknown format {fmt!r} (use csv, json or jsonl)")
        return fmt
    if path == "-":
        raise UsageError("reading stdin needs --format csv|json|jsonl")
    ext = Path(path).suffix.lower()
    if ext not in _EXTENSIONS:
        raise UsageError(f"cannot tell the format of {path} from its extension: pass --format csv|json|jsonl")
    return _EXTENSIONS[ext]


# --- readers ---------------------------------------------------------------------------------


class _CountingReader:
    """Physical lines of a binary file, decoded one by one, so that a bad byte names its line.
    Undecodable bytes are kept (surrogateescape) and flagged, not fatal."""

    def __init__(self, fh: BinaryIO) -> None:
        self.fh = fh
        self.line = 0
        self.bad_lines: set[int] = set()
        self.bytes_read = 0

    def __iter__(self) -> Iterator[str]:
        first = True
        for raw in self.fh:
            self.line += 1
            self.bytes_read += len(raw)
            if first:
                raw = raw.removeprefix(codecs.BOM_UTF8)
                first = False
            try:
                yield raw.decode("utf-8")
            except UnicodeDecodeError:
                self.bad_lines.add(self.line)
                yield raw.decode("utf-8", "surrogateescape")


def _header_key(name: str) -> str:
    builtin = BUILTIN_BY_NAME.get(name.strip().lower())
    return builtin.name if builtin else name.strip()


def read_csv(fh: BinaryIO, path: str) -> tuple[list[str], Iterator[Record], _CountingReader]:
    lines = _CountingReader(fh)
    reader = csv.reader(lines, strict=False)
    try:
        header = next(reader)
    except StopIteration:
        raise DataError(f"{path}: the file is empty (expected a header row)") from None
    if 1 in lines.bad_lines:
        raise DataError(f"{path}:1: the header is not valid UTF-8")
    keys = [_header_key(h) for h in header]
    seen: dict[str, int] = {}
    for number, (key, original) in enumerate(zip(keys, header, strict=True), start=1):
        if not key:
            raise DataError(f"{path}:1:{number}: column {number} has no name")
        if key.lower() in seen:
            raise DataError(
                f'{path}:1:{number}: "{original}" repeats column {seen[key.lower()]} (same field)'
            )
        seen[key.lower()] = number
        if key not in BUILTIN_BY_NAME:
            try:
                check_attribute_name(key)
            except InvalidValue as exc:
                raise DataError(f"{path}:1:{number}: {exc}") from None
    if "id" not in seen:
        raise DataError(f"{path}: no id column (the header is: {', '.join(header)})")

    def records() -> Iterator[Record]:
        line = lines.line
        for row in reader:
            start = line + 1
            line = lines.line
            if not row or row == [""]:
                continue  # a blank line
            record = Record(start, {}, row)
            if any(n in lines.bad_lines for n in range(start, line + 1)):
                record.error = (1, "the line is not valid UTF-8")
            elif len(row) != len(keys):
                more = "more" if len(row) > len(keys) else "fewer"
                record.error = (
                    min(len(row), len(keys)) + 1,
                    f"the row has {len(row)} cells, {more} than the {len(keys)} of the header",
                )
            else:
                record.cells = {k: (i, v) for i, (k, v) in enumerate(zip(keys, row, strict=True), 1)}
            yield record

    return header, records(), lines


def _object_record(obj: object, line: int, text: str, raw: object) -> Record:
    if not isinstance(obj, dict):
        return Record(line, {}, raw, (1, f"expected a JSON object, got {_json_kind(obj)}"))
    cells: dict[str, tuple[int, object]] = {}
    record = Record(line, cells, raw)
    items = list(obj.items())
    nested = obj.get("attributes")
    if isinstance(nested, dict):
        items = [(k, v) for k, v in items if k != "attributes"] + list(nested.items())
    for key, value in items:
        name = _header_key(str(key))
        column = _key_column(text, str(key))
        if name.lower() in {k.lower() for k in cells}:
            record.error = (column, f'"{key}" appears twice (same field)')
            continue
        if name not in BUILTIN_BY_NAME:
            try:
                check_attribute_name(name)
            except InvalidValue as exc:
                record.error = (column, str(exc))
                continue
        cells[name] = (column, value)
    return record


def _key_column(text: str, key: str) -> int:
    at = text.find(json.dumps(key, ensure_ascii=False))
    return (at - text.rfind("\n", 0, at)) if at >= 0 else 1


def _json_kind(obj: object) -> str:
    return {list: "an array", str: "a string", int: "a number", float: "a number",
            bool: "a boolean", type(None): "null"}.get(type(obj), type(obj).__name__)


def read_jsonl(fh: BinaryIO, path: str) -> tuple[Iterator[Record], _CountingReader]:
    lines = _CountingReader(fh)

    def records() -> Iterator[Record]:
        for text in lines:
            if not text.strip():
                continue
            line = lines.line
            if line in lines.bad_lines:
                yield Record(line, {}, text, (1, "the line is not valid UTF-8"))
                continue
            try:
                obj = json.loads(text.rstrip("\r\n"))
            except json.JSONDecodeError as exc:
                yield Record(line, {}, text, (exc.colno, f"not valid JSON: {exc.msg}"))
                continue
            yield _object_record(obj, line, text, obj if isinstance(obj, dict) else text)

    return records(), lines


class _Position:
    bytes_read = 0


def read_json_array(fh: BinaryIO, path: str) -> tuple[Iterator[Record], _Position]:
    """Objects of a top-level JSON array, one at a time, with the line each starts on."""
    decoder = json.JSONDecoder()
    position = _Position()
    utf8 = codecs.getincrementaldecoder("utf-8")()

    def records() -> Iterator[Record]:
        buf = ""
        line = 1
        eof = False
        size = 1 << 20

        def more(n: int) -> bool:
            nonlocal buf, eof
            if eof:
                return False
            chunk = fh.read(n)
            position.bytes_read += len(chunk)
            try:
                text = utf8.decode(chunk, final=not chunk)
            except UnicodeDecodeError:
                raise DataError(f"{path}:{line + buf.count(chr(10))}: the file is not valid UTF-8") from None
            if not chunk:
                eof = True
            buf += text.removeprefix("\ufeff") if position.bytes_read == len(chunk) else text
            return bool(chunk)

        def skip_ws() -> None:
            nonlocal buf, line
            while True:
                stripped = buf.lstrip()
                line += buf.count("\n", 0, len(buf) - len(stripped))
                buf = stripped
                if buf or not more(size):
                    return

        skip_ws()
        if not buf.startswith("["):
            raise DataError(f"{path}:{line}: expected a JSON array of objects (for one object a line, use .jsonl)")
        buf = buf[1:]
        skip_ws()
        if buf.startswith("]"):
            return
        while True:
            skip_ws()
            want = size
            while True:
                try:
                    obj, end = decoder.raw_decode(buf)
                    break
                except json.JSONDecodeError as exc:
                    if exc.pos >= len(buf) - 1 and more(want):
                        want *= 2  # a large object: read ever larger pieces
                        continue
                    if not eof and more(want):
                        want *= 2
                        continue
                    raise DataError(f"{path}:{line + exc.lineno - 1}: not valid JSON: {exc.msg}") from None
            text = buf[:end]
            yield _object_record(obj, line, text, obj)
            line += text.count("\n")
            buf = buf[end:]
            skip_ws()
            if buf.startswith(","):
                buf = buf[1:]
                continue
            if buf.startswith("]"):
                buf = buf[1:]
                skip_ws()
                if buf:
                    raise DataError(f"{path}:{line}: unexpected text after the JSON array")
                return
            raise DataError(f"{path}:{line}: expected , or ] between the objects of the array")

    return records(), position


# --- the import ------------------------------------------------------------------------------


class _Rejects:
    """Invalid rows, written unchanged with an ``_error`` column; renamed into place at the end."""

    def __init__(self, path: str, fmt: str, header: list[str] | None) -> None:
        self.path = path
        self.fmt = fmt
        target = Path(path).resolve()
        try:
            fd, self.tmp = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
        except OSError as exc:
            raise DataError(f"cannot write the rejects file {path}: {exc.strerror}") from None
        self.fh = os.fdopen(fd, "w", encoding="utf-8", errors="surrogateescape", newline="")
        self.csv = csv.writer(self.fh) if fmt == "csv" else None
        if self.csv is not None and header is not None:
            self.csv.writerow([*header, "_error"])

    def write(self, record: Record, message: str) -> None:
        if self.csv is not None:
            self.csv.writerow([*record.raw, message])
        elif isinstance(record.raw, dict):
            self.fh.write(json.dumps({**record.raw, "_error": message}, ensure_ascii=False) + "\n")
        else:
            self.fh.write(json.dumps({"_line": record.line, "_raw": record.raw, "_error": message}, ensure_ascii=False) + "\n")

    def commit(self) -> None:
        self.fh.close()
        os.replace(self.tmp, self.path)

    def discard(self) -> None:
        self.fh.close()
        if os.path.exists(self.tmp):
            os.unlink(self.tmp)


class _Rollback(Exception):
    """Raised inside the transaction to undo a dry run."""


def import_file(
    store: Store,
    path: str,
    *,
    fmt: str | None = None,
    skip_invalid: bool = False,
    rejects: str | None = None,
    dry_run: bool = False,
    progress: Progress | None = None,
    stdin: BinaryIO | None = None,
) -> ImportSummary:
    """Import customers from ``path`` (``-`` for stdin) into ``store``; see SPEC §2.

    Strict unless ``skip_invalid``: any invalid row raises ImportFailed and nothing is written.
    """
    fmt = detect_format(path, fmt)
    spool = None
    source = path
    if path == "-":
        # Read twice (types first, rows second), so stdin is kept in a temporary file.
        with tempfile.NamedTemporaryFile(prefix="seg-stdin-", delete=False) as spool_fh:
            shutil.copyfileobj(stdin or sys.stdin.buffer, spool_fh)
            spool = source = spool_fh.name
    elif not os.path.exists(path):
        raise NotFoundError(f"{path}: no such file")
    elif os.path.isdir(path):
        raise DataError(f"{path} is a folder, not a file")
    total = os.path.getsize(source)

    def open_input() -> BinaryIO:
        try:
            return open(source, "rb")
        except OSError as exc:
            raise DataError(f"{path}: cannot read: {exc.strerror}") from None

    label = "stdin" if path == "-" else path
    summary = ImportSummary(label, dry_run=dry_run)
    try:
        with store.transaction():
            _run(store, label, fmt, open_input, total, summary, skip_invalid, rejects, progress)
            if dry_run:
                raise _Rollback
    except _Rollback:
        pass
    finally:
        if spool is not None:
            os.unlink(spool)
    return summary


def _records(fmt: str, fh: BinaryIO, label: str) -> tuple[list[str] | None, Iterator[Record], object]:
    if fmt == "csv":
        return read_csv(fh, label)
    if fmt == "jsonl":
        records, pos = read_jsonl(fh, label)
        return None, records, pos
    records, pos = read_json_array(fh, label)
    return None, records, pos


def _infer_new_attributes(
    store: Store, fmt: str, open_input: Callable[[], BinaryIO], label: str
) -> list[Field]:
    """Read the file once to type every attribute it names that is not declared yet."""
    registry = store.registry()
    inference: dict[str, TypeInference] = {}
    names: dict[str, str] = {}
    with open_input() as fh:
        header, records, _ = _records(fmt, fh, label)
        if header is not None and all(registry.get(_header_key(h)) for h in header):
            return []
        for record in records:
            for key, (_, raw) in record.cells.items():
                if registry.get(key) is None:
                    names.setdefault(key.lower(), key)
                    inference.setdefault(key.lower(), TypeInference()).add(raw)
    new = []
    for key, inf in inference.items():
        type_ = inf.result()
        if type_ is not None:
            new.append(attribute_field(names[key], type_))
    return new


def _run(
    store: Store,
    label: str,
    fmt: str,
    open_input: Callable[[], BinaryIO],
    total: int,
    summary: ImportSummary,
    skip_invalid: bool,
    rejects_path: str | None,
    progress: Progress | None,
) -> None:
    for f in _infer_new_attributes(store, fmt, open_input, label):
        store.add_attribute(f, inferred=True)
        summary.new_attributes.append((f.name, str(f.type)))
    registry = store.registry()
    columns = store.customer_columns()
    writer = _Writer(store, registry, columns, summary)
    problems: list[str] = []
    rejected_rows = 0
    rejects: _Rejects | None = None
    with open_input() as fh:
        header, records, position = _records(fmt, fh, label)
        if skip_invalid:
            default = f"{'stdin' if label == 'stdin' else label}.rejects.{'csv' if fmt == 'csv' else 'jsonl'}"
            target = rejects_path or default
            rejects = _Rejects(target, "csv" if fmt == "csv" and target.endswith(".csv") else "jsonl", header)
        try:
            for record in records:
                summary.read += 1
                errors = _validate(record, registry)
                if errors:
                    rejected_rows += 1
                    for column, message in errors:
                        if len(problems) < MAX_PROBLEMS_SHOWN:
                            problems.append(f"{record.line}:{column}: {message}")
                    if rejects is not None:
                        rejects.write(record, "; ".join(m for _, m in errors))
                    continue
                if skip_invalid or not rejected_rows:
                    writer.add(record)
                if progress is not None and summary.read % 1000 == 0:
                    progress(getattr(position, "bytes_read", 0), total)
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
            rejects.commit()
            summary.rejects_path = rejects.path
        else:
            rejects.discard()


def _validate(record: Record, registry: FieldRegistry) -> list[tuple[int, str]]:
    """Normalize the record's cells in place (raw -> stored value); return its problems."""
    if record.error:
        return [record.error]
    errors = []
    normalized: dict[str, tuple[int, object]] = {}
    for key, (column, raw) in record.cells.items():
        f = registry.get(key)
        if f is None:  # an attribute that had no value anywhere in the file
            continue
        try:
            normalized[f.name] = (column, normalize(f, raw))
        except InvalidValue as exc:
            errors.append((column, f"{f.name}: {exc}"))
    if "id" not in record.cells:
        errors.append((1, "id: missing"))
    elif "id" in normalized and normalized["id"][1] is None:
        errors.append((record.cells["id"][0], "id: empty (every customer needs an id)"))
    record.cells = normalized
    return errors


class _Writer:
    """Upserts validated records by id, a chunk at a time."""

    def __init__(self, store: Store, registry: FieldRegistry, columns: list[str], summary: ImportSummary) -> None:
        self.store = store
        self.registry = registry
        self.columns = columns
        self.index = {c: i for i, c in enumerate(columns)}
        self.summary = summary
        self.pending: list[Record] = []
        self.next_pk = self.first_new_pk = store.next_pk()
        self.empty_row = tuple(0 if c == "marketing_opt_out" else None for c in columns)

    def add(self, record: Record) -> None:
        self.pending.append(record)
        if len(self.pending) >= CHUNK:
            self.flush()

    def flush(self) -> None:
        if not self.pending:
            return
        records, self.pending = self.pending, []
        ids = list(dict.fromkeys(str(r.cells["id"][1]) for r in records))
        stored = self.store.rows_by_id(ids, self.columns)
        state: dict[str, tuple[int, list, bool]] = {}  # id -> (pk, row, is new)
        for sid, row in stored.items():
            state[sid] = (row[0], list(row[1:]), False)
        before = {sid: tuple(row) for sid, (_, row, _) in state.items()}
        changed_items: dict[tuple[int, str], list[str]] = {}
        for record in records:
            cid = str(record.cells["id"][1])
            if cid not in state:
                state[cid] = (self.next_pk, list(self.empty_row), True)
                self.next_pk += 1
                self.summary.created += 1
                is_new_row = True
            else:
                is_new_row = False
            pk, row, _ = state[cid]
            old = tuple(row)
            for name, (_, value) in record.cells.items():
                f = self.registry.get(name)
                self._set(row, f, value)
                if f.is_list:
                    changed_items[(pk, f.item_key)] = value or []
            if not is_new_row:
                if tuple(row) == old:
                    self.summary.unchanged += 1
                else:
                    self.summary.updated += 1
        inserts, updates = [], []
        for cid, (pk, row, is_new) in state.items():
            if is_new:
                inserts.append((pk, *row))
            elif tuple(row) != before[cid]:
                updates.append((*row, pk))
        self.store.insert_customers(self.columns, inserts)
        self.store.update_customers(self.columns, updates)
        deletes, item_rows = [], []
        for (pk, key), values in changed_items.items():
            if pk < self.first_new_pk:  # a new customer has no items to replace
                deletes.append((pk, key))
            item_rows.extend((pk, key, fold(v), v) for v in values)
        self.store.replace_items(deletes, item_rows)

    def _set(self, row: list, f: Field, value: object) -> None:
        i = self.index[f.column or f.name]
        if f.is_list:
            row[i] = json.dumps(value, ensure_ascii=False) if value else None
        elif f.type is FieldType.BOOLEAN:
            row[i] = (1 if value else 0) if value is not None else (0 if f.required else None)
        else:
            row[i] = value
        if f.fold_column:
            row[self.index[f.fold_column]] = fold(value) if value is not None else None
