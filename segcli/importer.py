"""CSV / JSON / JSONL rows -> validated customer records -> one upserting transaction.

Files are streamed, never loaded whole: the reader yields one record at a time with its line
number, and the writer works in chunks. A new attribute's type is inferred from all of its values
before anything is written, so a file with new attributes is read twice (stdin is spooled to a
temporary file for that).
"""

from __future__ import annotations

import codecs
import csv
import gc
import io
import itertools
import json
import os
import re
import shutil
import sys
import tempfile
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import BinaryIO, NamedTuple

from . import faults
from .atomic import AtomicFile, check_target
from .errors import AfterCommitError, DataError, ImportFailed, NotFoundError, SegError, UsageError
from .fields import (
    BUILTIN_BY_NAME,
    STORED_INSTANT,
    Field,
    FieldRegistry,
    FieldType,
    InvalidValue,
    TypeInference,
    attribute_column,
    attribute_field,
    check_attribute_name,
    check_characters,
    check_day,
    fold,
    fold_items,
    format_instant,
    normalizer,
)
from .store import MAX_ATTRIBUTES, Store

MAX_PROBLEMS_SHOWN = 20
#: Longest line (and largest JSON object) read: memory stays bounded whatever the file holds.
MAX_LINE = 16 * 1024 * 1024
csv.field_size_limit(MAX_LINE)
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

    def counts(self) -> str:
        """``300 read, 280 created, ...``: the figures of the summary line."""
        return (
            f"{self.read} read, {self.created} created, {self.updated} updated, "
            f"{self.unchanged} unchanged, {self.rejected} rejected"
        )

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


class Record:
    """One row of the file. ``cells`` holds (key, column, raw value) for each cell: for a CSV row
    the column is a number, and the cells are made from the header only when the row is validated
    one by one; for a JSON object it is the key as written, found in ``text`` by ``column``."""

    __slots__ = ("_cells", "error", "id", "keys", "line", "patch", "raw", "text")

    def __init__(self, line: int, cells: list, raw: object, error: tuple[int, str] | None = None,
                 keys: list[str] | None = None) -> None:
        self.line = line
        self._cells = cells
        self.raw = raw  # the row as read, written back unchanged to the rejects file
        self.error = error  # a structural problem: (column, message)
        self.keys = keys  # a CSV row's header keys
        self.patch: list = []  # (row index, stored value), once validated
        self.id: str | None = None
        self.text: str | None = None  # a JSON object's text, for the columns in messages

    @property
    def cells(self) -> list[tuple[str, int, object]]:
        if self.keys is not None and not self._cells and self.error is None:
            self._cells = list(zip(self.keys, range(1, len(self.keys) + 1), self.raw, strict=True))
        return self._cells

    @cells.setter
    def cells(self, value: list) -> None:
        self._cells = value

    def column(self, column: int | str) -> object:
        """A cell's column for a message: a CSV column number, or where a JSON key is in its line."""
        return column if self.text is None else _KeyColumn(self.text, column)


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


class _Lines:
    """The text of a binary file, decoded as UTF-8 with undecodable bytes kept (surrogateescape), so
    that a bad byte makes its row invalid instead of stopping the import; ``bytes_read`` for progress."""

    def __init__(self, fh: BinaryIO, path: str) -> None:
        self.fh = fh
        self.path = path
        self.text = io.TextIOWrapper(fh, encoding="utf-8-sig", errors="surrogateescape", newline="")

    def __iter__(self) -> Iterator[str]:
        """The lines, each read with a bound, so a 100 MB line is an error, not 100 MB of memory."""
        readline = self.text.readline
        number = 0
        while line := readline(MAX_LINE + 1):
            number += 1
            if len(line) > MAX_LINE:
                raise DataError(f"{self.path}:{number}: a line longer than {MAX_LINE // 1048576} MiB; nothing was imported")
            yield line

    @property
    def bytes_read(self) -> int:
        try:
            return self.fh.tell()
        except (OSError, ValueError):
            return 0


def _is_utf8(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


@lru_cache(maxsize=4096)
def _header_key(name: str) -> str:
    builtin = BUILTIN_BY_NAME.get(name.strip().lower())
    return builtin.name if builtin else name.strip()


def read_csv(fh: BinaryIO, path: str) -> tuple[list[str], Iterator[Record], _Lines]:
    lines = _Lines(fh, path)
    reader = csv.reader(iter(lines), strict=False)
    try:
        header = next(reader)
    except StopIteration:
        raise DataError(f"{path}: the file is empty (expected a header row)") from None
    if not _is_utf8("".join(header)):
        raise DataError(f"{path}:1: the header is not valid UTF-8")
    keys = [_header_key(h) for h in header]
    seen: dict[str, int] = {}
    for number, (key, original) in enumerate(zip(keys, header, strict=True), start=1):
        if not key:
            raise DataError(f"{path}:1:{number}: column {number} has no name")
        same = attribute_column(key)  # "Lifetime Value" and "lifetime_value" are one attribute
        if same in seen:
            raise DataError(f'{path}:1:{number}: "{original}" repeats column {seen[same]} (same field)')
        seen[same] = number
        if key not in BUILTIN_BY_NAME:
            try:
                check_attribute_name(key)
            except InvalidValue as exc:
                raise DataError(f"{path}:1:{number}: {exc}") from None
    if attribute_column("id") not in seen:
        raise DataError(f"{path}: no id column (the header is: {', '.join(header[:20])}{'...' if len(header) > 20 else ''})")
    if len(keys) > MAX_ATTRIBUTES + len(BUILTIN_BY_NAME):
        raise DataError(f"{path}: {len(keys)} columns; seg takes at most {MAX_ATTRIBUTES} custom attributes")
    width = len(keys)

    def records() -> Iterator[Record]:
        line = reader.line_num
        while True:
            start = line + 1  # a quoted cell may span lines: the record starts after the last one
            try:
                row = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:
                line = reader.line_num
                yield Record(start, [], [], (1, f"not valid CSV: {exc}"))
                continue
            line = reader.line_num
            if not row or row == [""]:
                continue  # a blank line
            record = Record(start, [], row, keys=keys)
            if len(row) != width:
                more = "more" if len(row) > width else "fewer"
                record.error = (
                    min(len(row), width) + 1,
                    f"the row has {len(row)} cells, {more} than the {width} of the header",
                )
            elif not _is_utf8("".join(row)):
                record.error = (1, "the line is not valid UTF-8")
            yield record

    return header, records(), lines


def _object_record(obj: object, line: int, text: str, raw: object) -> Record:
    if not isinstance(obj, dict):
        return Record(line, [], raw, (1, f"expected a JSON object, got {_json_kind(obj)}"))
    record = Record(line, [], raw)
    record.text = text
    items = obj.items()
    nested = obj.get("attributes")
    if isinstance(nested, dict):
        items = [(k, v) for k, v in items if k != "attributes"] + list(nested.items())
    cells = []
    seen: set[str] = set()
    for key, value in items:
        name, same, problem = _json_key(key)
        if same in seen:  # "Tier" and "tier", "a b" and "a_b": one field
            problem = f'"{key}" appears twice (same field)'
        if problem:
            record.error = (_KeyColumn(text, key), problem)
            continue
        seen.add(same)
        cells.append((name, key, value))  # the key stands for its column until a message needs it
    record.cells = cells
    return record


@lru_cache(maxsize=4096)
def _json_key(key: str) -> tuple[str, str, str | None]:
    """A JSON key's field name, the column it shares with its other spellings, and why it cannot
    be a field (or None): worked out once per distinct key, not once per object."""
    name = _header_key(key)
    if name not in BUILTIN_BY_NAME:
        try:
            check_attribute_name(name)
        except InvalidValue as exc:
            return name, attribute_column(name), str(exc)
    return name, attribute_column(name), None


class _KeyColumn:
    """The column of a JSON key in its line (of its ``nth`` appearance), worked out only if an
    error message needs it."""

    __slots__ = ("key", "nth", "text")

    def __init__(self, text: str, key: str, nth: int = 1) -> None:
        self.text = text
        self.key = key
        self.nth = nth

    def __format__(self, spec: str) -> str:
        quoted = json.dumps(self.key, ensure_ascii=False)
        at = -1
        for _ in range(self.nth):
            at = self.text.find(quoted, at + 1)
        return format((at - self.text.rfind("\n", 0, at)) if at >= 0 else 1, spec)

    def __str__(self) -> str:
        return self.__format__("")


def _json_kind(obj: object) -> str:
    return {list: "an array", str: "a string", int: "a number", float: "a number",
            bool: "a boolean", type(None): "null"}.get(type(obj), type(obj).__name__)


#: How deep a JSON value may nest. A customer needs 3 levels (the object, its ``attributes``, an
#: array); deeper values are invalid anyway, and this keeps them from any recursion.
MAX_JSON_DEPTH = 32


class _JsonDecoder(json.JSONDecoder):
    """JSON as seg reads it: a key given twice in an object is noted in ``duplicate`` (a plain
    dict would keep the last value silently: ``"opt_out": true, "opt_out": false`` would opt the
    customer in), and ``NaN`` and ``Infinity``, which are not JSON, are refused."""

    def __init__(self) -> None:
        super().__init__(object_pairs_hook=self._object, parse_constant=_not_json)
        self.duplicate: str | None = None

    def _object(self, pairs: list[tuple[str, object]]) -> dict:
        obj = dict(pairs)
        if len(obj) != len(pairs) and self.duplicate is None:  # rare: look for the key
            seen: set[str] = set()
            for key, _ in pairs:
                if key in seen:
                    self.duplicate = key
                    break
                seen.add(key)
        return obj


class _NotJson(ValueError):
    pass


def _not_json(name: str) -> object:
    raise _NotJson(f"{name} is not a JSON value")


def _json_failure(exc: Exception) -> str:
    """Why a JSON value could not be read at all, beyond a syntax error."""
    if isinstance(exc, RecursionError):
        return f"JSON nested more than {MAX_JSON_DEPTH} levels deep"
    if isinstance(exc, _NotJson):
        return f"not valid JSON: {exc}"
    if "integer string conversion" in str(exc):  # Python reads at most 4,300 digits
        return "a number of more than 4,300 digits"
    return f"not valid JSON: {exc}"


def _json_problem(obj: object, text: str, decoder: _JsonDecoder) -> tuple[object, str] | None:
    """A problem with a parsed JSON value that makes its row invalid, as (column, message)."""
    if decoder.duplicate is None and "\\u" not in text and text.count("[") + text.count("{") <= MAX_JSON_DEPTH:
        return None  # the usual case, in three scans of the text
    if (text.count("[") + text.count("{") > MAX_JSON_DEPTH) and _deeper_than(obj, MAX_JSON_DEPTH):
        return 1, f"JSON nested more than {MAX_JSON_DEPTH} levels deep"
    if decoder.duplicate is not None:
        key = decoder.duplicate
        return _KeyColumn(text, key, 2), f'the key "{key}" appears twice (which value is meant?)'
    if ("\\ud" in text or "\\uD" in text) and _has_lone_surrogate(obj):
        return 1, "not valid UTF-8: a \\uD800-\\uDFFF escape that is half of a character"
    return None


def _deeper_than(obj: object, limit: int) -> bool:
    stack = [(obj, 1)]
    while stack:
        value, depth = stack.pop()
        if depth > limit:
            return True
        for child in value.values() if isinstance(value, dict) else value:
            if isinstance(child, dict | list):
                stack.append((child, depth + 1))
    return False


def _has_lone_surrogate(obj: object) -> bool:
    stack = [obj]
    while stack:
        value = stack.pop()
        if isinstance(value, str):
            if not _is_utf8(value):
                return True
        elif isinstance(value, dict):
            stack.extend(value)
            stack.extend(value.values())
        elif isinstance(value, list):
            stack.extend(value)
    return False


def read_jsonl(fh: BinaryIO, path: str, make=None) -> tuple[Iterator[Record], _Lines]:
    make = make or _object_record
    lines = _Lines(fh, path)
    decoder = _JsonDecoder()

    def records() -> Iterator[Record]:
        for line, text in enumerate(lines, start=1):
            if not text.strip():
                continue
            if not _is_utf8(text):
                yield Record(line, [], text, (1, "the line is not valid UTF-8"))
                continue
            decoder.duplicate = None
            try:
                obj = decoder.decode(text.rstrip("\r\n"))
            except json.JSONDecodeError as exc:
                yield Record(line, [], text, (exc.colno, f"not valid JSON: {exc.msg}"))
                continue
            except (RecursionError, ValueError) as exc:
                yield Record(line, [], text, (1, _json_failure(exc)))
                continue
            problem = _json_problem(obj, text, decoder)
            if problem:  # kept as its text: the object as parsed is not the row as written
                yield Record(line, [], text, problem)
                continue
            yield make(obj, line, text, obj if isinstance(obj, dict) else text)

    return records(), lines


class _Position:
    bytes_read = 0


_STRUCTURE = re.compile(r'["\[\]{}]')
_REST_OF_STRING = re.compile(r'[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)


def _container_end(text: str) -> int | None:
    """Where the JSON object or array that ``text`` starts with ends, found by its brackets
    without recursion (strings skipped); None if ``text`` ends first or holds no container."""
    if not text.startswith(("{", "[")):
        return None
    depth = 0
    pos = 0
    while match := _STRUCTURE.search(text, pos):
        if match.group() == '"':
            rest = _REST_OF_STRING.match(text, match.end())
            if rest is None:
                return None
            pos = rest.end()
            continue
        depth += 1 if match.group() in "[{" else -1
        pos = match.end()
        if depth == 0:
            return pos
    return None


def read_json_array(fh: BinaryIO, path: str, make=None) -> tuple[Iterator[Record], _Position]:
    """Objects of a top-level JSON array, one at a time, with the line each starts on."""
    make = make or _object_record
    decoder = _JsonDecoder()
    position = _Position()
    # Bytes that are not UTF-8 are kept (surrogateescape): inside a string they make one object
    # invalid, as a bad line does in JSONL; elsewhere the JSON itself is broken.
    utf8 = codecs.getincrementaldecoder("utf-8")(errors="surrogateescape")

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
            text = utf8.decode(chunk, final=not chunk)
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
            failure = None
            while True:
                decoder.duplicate = None
                try:
                    obj, end = decoder.raw_decode(buf)
                    break
                except json.JSONDecodeError as exc:
                    # Perhaps only the end of the object is not read yet: read more, up to a bound.
                    if not eof and len(buf) <= MAX_LINE and more(want):
                        want *= 2
                        continue
                    if not eof:
                        raise DataError(
                            f"{path}:{line}: not valid JSON, or an object larger than {MAX_LINE // 1048576} MiB"
                            f" ({exc.msg}); nothing was imported"
                        ) from None
                    raise DataError(f"{path}:{line + exc.lineno - 1}: not valid JSON: {exc.msg}") from None
                except (RecursionError, ValueError) as exc:
                    # Too deep, or a number Python will not read: the object is skipped whole, found
                    # by its brackets, and is an invalid row; the array goes on after it.
                    end = _container_end(buf)
                    if end is None and not eof and len(buf) <= MAX_LINE and more(want):
                        want *= 2
                        continue
                    if end is None:
                        raise DataError(f"{path}:{line}: {_json_failure(exc)}; nothing was imported") from None
                    obj, failure = None, (1, _json_failure(exc))
                    break
            text = buf[:end]
            if failure is None and not _is_utf8(text):
                failure = (1, "not valid UTF-8")
            problem = failure or _json_problem(obj, text, decoder)
            if problem:
                yield Record(line, [], text, problem)
            else:
                yield make(obj, line, text, obj)
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


def _rejects_target(label: str, fmt: str, given: str | None) -> str:
    """The rejects file: ``--rejects``, else ``PATH.rejects.csv`` (``.jsonl`` for JSON input)."""
    return given or f"{label}.rejects.{'csv' if fmt == 'csv' else 'jsonl'}"


class _Rejects:
    """Invalid rows, written unchanged with an ``_error`` column; renamed into place at the end."""

    def __init__(self, path: str, fmt: str, header: list[str] | None, options: _Options) -> None:
        self.path = path
        self.fmt = fmt
        self.file = AtomicFile(path, database=options.database, inputs=options.inputs)
        self.fh = io.TextIOWrapper(self.file.file, encoding="utf-8", errors="surrogateescape", newline="")
        self.csv = csv.writer(self.fh) if fmt == "csv" else None
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
            self.fh.write(json.dumps({"_line": record.line, "_raw": record.raw, "_error": message}, ensure_ascii=False) + "\n")

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
) -> list[ImportSummary]:
    """Import customers from ``paths`` (``-`` for stdin) into ``store`` in one transaction: all of
    the files or, if one fails, none of them. See SPEC §2.

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
    pending_rejects: list[_Rejects] = []
    options = _Options(skip_invalid, rejects, progress, pending_rejects, store.path, tuple(paths))
    summaries = [ImportSummary("stdin" if path == "-" else path, dry_run=dry_run) for path in paths]
    if skip_invalid:  # before any work: a refused rejects file changes nothing
        for summary, file_format in zip(summaries, formats, strict=True):
            check_target(_rejects_target(summary.path, file_format, rejects), database=store.path, inputs=paths)
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
        with store.transaction("import"), _no_cycle_collection():
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


@contextmanager
def _no_cycle_collection() -> Iterator[None]:
    """An import allocates millions of short-lived lists and tuples, none of them in a reference
    cycle: reference counting frees them all, and the cycle collector would only keep re-scanning
    them (it took ~15% of a bulk load). It is back on as soon as the import ends."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def import_file(store: Store, path: str, **options) -> ImportSummary:
    """Import one file: ``import_files`` with one path."""
    return import_files(store, [path], **options)[0]


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
    known: set[str] = set()

    def add(key: str, raw: object) -> None:
        if key in known:
            return
        if registry.get(key) is not None:
            known.add(key)
            return
        try:
            check_attribute_name(key)
        except InvalidValue:  # not a possible attribute: its rows are reported as invalid later
            return
        names.setdefault(attribute_column(key), key)
        inference.setdefault(attribute_column(key), TypeInference()).add(raw)

    with open_input() as fh:
        if fmt != "csv":  # only the keys and values matter here: no records, no checks
            reader = read_jsonl if fmt == "jsonl" else read_json_array
            objects, _ = reader(fh, label, make=lambda obj, *_: obj)
            for obj in objects:
                if isinstance(obj, dict):
                    nested = obj.get("attributes")
                    for key, raw in obj.items():
                        if key not in known and not (key == "attributes" and isinstance(nested, dict)):
                            add(_header_key(key), raw)
                    if isinstance(nested, dict):
                        for key, raw in nested.items():
                            if key not in known:
                                add(_header_key(key), raw)
        else:
            header, records, _ = read_csv(fh, label)
            if all(registry.get(_header_key(h)) for h in header):
                return []
            for record in records:
                for key, _, raw in record.cells:
                    add(key, raw)
    new = []
    for key, inf in inference.items():
        type_ = inf.result()
        if type_ is not None:
            new.append(attribute_field(names[key], type_))
    return new


class _Options(NamedTuple):
    """What an import was asked to do, the rejects files waiting for its commit, and the files a
    rejects file must never replace (the database, the inputs)."""

    skip_invalid: bool
    rejects_path: str | None
    progress: Progress | None
    pending_rejects: list[_Rejects]
    database: str
    inputs: tuple[str, ...]


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
    for f in _infer_new_attributes(store, fmt, open_input, label):
        store.add_attribute(f, inferred=True)
        summary.new_attributes.append((f.name, str(f.type)))
    columns = store.customer_columns()
    plan = _Plan(store.registry(), columns)
    writer = _Writer(store, columns, summary)
    problems: list[str] = []
    rejects: _Rejects | None = None
    with open_input() as fh:
        header, records, position = _records(fmt, fh, label)
        if progress is not None:
            records = _reporting(records, progress, position, total)
        if skip_invalid:
            target = _rejects_target(label, fmt, rejects_path)
            rejects = _Rejects(target, "csv" if fmt == "csv" and target.endswith(".csv") else "jsonl", header, options)
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
    twice goes through ``_insert_columns``, a column at a time; any other chunk, row by row."""
    summary = writer.summary
    state = {"rejected": 0}

    def one(record: Record) -> None:
        errors = _validate(record, plan)
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
            if not (state["rejected"] and not skip_invalid) and _insert_columns(chunk, plan, writer):
                chunk = []
                continue
            for r in chunk:
                one(r)
            chunk = []
    for r in chunk:
        one(r)
    return state["rejected"]


COLUMN_CHUNK = 5000


def _insert_columns(chunk: list[Record], plan: _Plan, writer: _Writer) -> bool:
    """Upsert a chunk of rows a column at a time, when every row is valid, all have the same
    fields (a CSV's header; a JSON file's keys, in the same order) and no id repeats within the
    chunk; False, having written nothing, otherwise."""
    if any(r.error for r in chunk):
        return False
    first = chunk[0]
    if first.keys is not None:  # CSV rows: the header's keys, the cells as read
        keys, rows = first.keys, [r.raw for r in chunk]
    else:
        keys = [k for k, _, _ in first.cells]
        rows = []
        for r in chunk:
            if [k for k, _, _ in r.cells] != keys:
                return False
            rows.append([v for _, _, v in r.cells])
    columns = list(zip(*rows, strict=True))
    stored: dict[int, list] = {}
    ids = None
    strings = first.keys is not None  # every CSV cell is a str; JSON values may be anything
    for key, cells in zip(keys, columns, strict=True):
        slot = plan.slot(key)
        if slot is None:
            continue
        try:
            filled = slot.column(cells, strings)
        except InvalidValue:
            return False
        stored.update(filled)
        if slot.name == "id":
            ids = filled[0][1]
    if ids is None or None in ids or len(set(ids)) != len(ids):
        return False
    writer.flush()  # rows waiting in the writer may share ids with this chunk
    store, summary, empty = writer.store, writer.summary, writer.empty_row
    # Loading into an empty table, an id comes back rarely: the id index finds it on insert, which
    # is cheaper than looking every id up first (those lookups took 1.6 s of a 1M import of random ids).
    existing = {} if writer.fresh else store.rows_by_id(ids, writer.columns)
    if not existing:  # new customers: whole rows straight from the columns
        first = writer.next_pk
        pks = range(first, first + len(ids))
        table = [stored.get(i) or itertools.repeat(empty[i + 1]) for i in range(len(writer.columns))]
        if store.insert_new_customers(writer.columns, list(zip(pks, *table, strict=False))):  # some are repeat()s
            writer.next_pk += len(ids)
            summary.created += len(ids)
            return True
        existing = store.rows_by_id(ids, writer.columns)  # an id given earlier in the file
    # An upsert: the file's columns laid over each stored row, as the row-by-row path does.
    present = sorted(stored)
    patches = zip(*(stored[i] for i in present), strict=True)
    entries = ((cid, present, patch) for cid, patch in zip(ids, patches, strict=True))
    writer.upsert(entries, stored=existing)
    return True



def _reporting(records: Iterator[Record], progress: Progress, position: object, total: int) -> Iterator[Record]:
    for n, record in enumerate(records, 1):
        if n % 2000 == 0:
            progress(getattr(position, "bytes_read", 0), total)
        yield record


class _Slot:
    """Where one field's value lands in a customer row, and how a raw value becomes it."""

    PLAIN, TEXT, BOOLEAN, LIST = range(4)

    def __init__(self, f: Field, index: dict[str, int]) -> None:
        self.field = f
        self.name = f.name
        self.normalize = normalizer(f)
        self.index = index[f.column]
        self.fold_index = index[f.fold_column] if f.fold_column else None
        self.required = f.required
        self.memo: dict[str, tuple] = {}  # raw list cell -> (JSON, fold) in ``column``
        if f.is_list:
            self.kind = self.LIST
        elif f.fold_column:
            self.kind = self.TEXT
        elif f.type is FieldType.BOOLEAN:
            self.kind = self.BOOLEAN
        else:
            self.kind = self.PLAIN

    def store(self, values: list) -> list[tuple[int, list]]:
        """Normalized values of this field as the stored columns they fill: (row index, values).
        A column at a time, so that a bulk load pays for it in list comprehensions."""
        if self.kind == self.TEXT:
            return [(self.index, values), (self.fold_index, [fold(v) if v is not None else None for v in values])]
        if self.kind == self.BOOLEAN:
            missing = 0 if self.required else None
            return [(self.index, [missing if v is None else (1 if v else 0) for v in values])]
        if self.kind == self.LIST:
            return [
                (self.index, [_JSON_LIST(v) if v else None for v in values]),
                (self.fold_index, list(map(fold_items, values))),
            ]
        return [(self.index, values)]

    def column(self, cells: tuple, strings: bool = False) -> list[tuple[int, list]]:
        """``store`` of a whole column of raw cells, normalized as ``normalize`` does one by one;
        InvalidValue if any cell is invalid. Plain strings take a short path per type: values that
        repeat (codes, enums, booleans, tag lists, dates) are normalized once each."""
        if not strings:
            kinds = set(map(type, cells))
            if not kinds <= {str, type(None)}:  # JSON numbers, booleans, lists...
                return self.store(list(map(self.normalize, cells)))
            if type(None) in kinds:  # JSON null is a missing value, as an empty string is
                cells = tuple("" if v is None else v for v in cells)
        kind = self.field.type
        if kind is FieldType.TEXT:
            check_characters("".join(cells))
            return self.store([v.strip() or None for v in cells])
        if kind is FieldType.ARRAY:
            return self._list_column(cells)
        if kind is FieldType.DATE:
            return [(self.index, _date_column(cells, self.normalize))]
        if kind is FieldType.NUMBER:
            return [(self.index, _number_column(cells, self.normalize))]
        # Codes, enums, booleans: few distinct values, each normalized and stored once.
        distinct = list(set(cells))
        table = dict(zip(distinct, self.store(list(map(self.normalize, distinct)))[0][1], strict=True))
        return [(self.index, list(map(table.__getitem__, cells)))]

    def _list_column(self, cells: tuple) -> list[tuple[int, list]]:
        memo = self.memo
        jsons, folds = [], []
        for raw in cells:
            try:
                j, f = memo[raw]
            except KeyError:
                items = self.normalize(raw)
                j, f = (_JSON_LIST(items), fold_items(items)) if items else (None, None)
                if len(memo) < MEMO_LIMIT:
                    memo[raw] = (j, f)
            jsons.append(j)
            folds.append(f)
        return [(self.index, jsons), (self.fold_index, folds)]


#: How many distinct raw lists (a CSV's tag cells) a slot remembers the stored form of.
MEMO_LIMIT = 4096
_INSTANT = STORED_INSTANT.match
_INTEGER = re.compile(r"-?[1-9]\d{0,14}\Z").match  # as int() reads it, and within SQLite's range
_DAY = re.compile(r"\d{4}-\d{2}-\d{2}\Z").match
_OFFSET_INSTANT = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}[+-]\d{2}:\d{2}\Z").match
_DECIMAL = re.compile(r"-?\d{1,15}\.\d{1,6}\Z").match  # a price: float(), nothing to check


def _date_column(cells: tuple, normalize: Callable[[object], object]) -> list:
    """Dates as stored, as ``normalize`` gives them. The spellings exports use most take a short
    path: an instant in the stored form stays as it is, a day becomes its midnight UTC, an
    instant with an offset is moved to UTC, an empty cell is missing; each distinct day is checked
    once. Anything else (white space, other forms, invalid dates) goes through ``normalize``."""
    out = []
    days: set[str] = set()
    for raw in cells:
        if _INSTANT(raw):
            value = raw
        elif not raw:
            out.append(None)
            continue
        elif _DAY(raw):
            value = raw + "T00:00:00Z"
        elif _OFFSET_INSTANT(raw):
            try:
                value = format_instant(datetime.fromisoformat(raw))
            except (ValueError, OverflowError):  # not a date; out of range once in UTC
                value = normalize(raw)  # raises InvalidValue, saying why
        else:
            out.append(normalize(raw))
            continue
        days.add(raw[:10])
        out.append(value)
    for day in days:
        check_day(day)
    return out


def _number_column(cells: tuple, normalize: Callable[[object], object]) -> list:
    out = []
    for raw in cells:
        if _DECIMAL(raw):
            value = float(raw)
            out.append(int(value) if value.is_integer() else value)
        elif _INTEGER(raw):
            out.append(int(raw))
        else:
            out.append(normalize(raw))
    return out


class _Plan:
    """Slots by the keys a file uses (header names, JSON keys), resolved once per key."""

    def __init__(self, registry: FieldRegistry, columns: list[str]) -> None:
        self.registry = registry
        self.index = {c: i for i, c in enumerate(columns)}
        self.slots: dict[str, _Slot | None] = {}

    def slot(self, key: str) -> _Slot | None:
        try:
            return self.slots[key]
        except KeyError:
            f = self.registry.get(key)
            slot = self.slots[key] = _Slot(f, self.index) if f is not None else None
            return slot


def _validate(record: Record, plan: _Plan) -> list[tuple[int, str]]:
    """Normalize the record's cells into ``record.patch``, (row index, stored value) pairs, and
    return its problems."""
    if record.error:
        return [record.error]
    errors = []
    patch = []
    cid = None
    for key, column, raw in record.cells:
        slot = plan.slot(key)
        if slot is None:  # an attribute that had no value anywhere in the file
            continue
        try:
            value = slot.normalize(raw)
        except InvalidValue as exc:
            errors.append((record.column(column), f"{slot.name}: {exc}"))
            continue
        if slot.name == "id":
            cid = value
            if value is None:
                errors.append((record.column(column), "id: empty (every customer needs an id)"))
        patch.extend((i, stored[0]) for i, stored in slot.store([value]))
    if cid is None and not errors:
        errors.append((1, "id: missing"))
    record.patch = patch
    record.id = cid
    return errors


_JSON_LIST = json.JSONEncoder(ensure_ascii=False).encode


class _Writer:
    """Upserts validated records by id, a chunk at a time. Rows are lists in table order with the
    primary key first, as ``Store.insert_customers`` and ``update_customers`` take them."""

    def __init__(self, store: Store, columns: list[str], summary: ImportSummary) -> None:
        self.store = store
        self.columns = columns
        self.summary = summary
        self.pending: list[Record] = []
        self.next_pk = store.next_pk()
        self.fresh = False  # the table was empty when the file started: see _insert_columns
        self.empty_row = [None, *(0 if c == "marketing_opt_out" else None for c in columns)]

    def add(self, record: Record) -> None:
        self.pending.append(record)
        if len(self.pending) >= CHUNK:
            self.flush()

    def flush(self) -> None:
        if self.pending:
            records, self.pending = self.pending, []
            self.upsert((r.id, [i for i, _ in r.patch], [v for _, v in r.patch]) for r in records)

    def upsert(self, entries: Iterable[tuple], stored: dict[str, tuple] | None = None) -> None:
        """Write customers given as (id, row indexes, stored values): the values are laid over the
        stored row (or an empty one) at those indexes. A later entry with the same id wins. Counts
        created, updated and unchanged. ``stored``: the rows of these ids, if the caller has read
        them already."""
        entries = list(entries)
        if stored is None:
            stored = self.store.rows_by_id(list({entry[0]: None for entry in entries}), self.columns)
        rows: dict[str, list] = {cid: list(row) for cid, row in stored.items()}
        summary = self.summary
        for cid, indexes, values in entries:
            row = rows.get(cid)
            if row is None:
                row = rows[cid] = self.empty_row.copy()
                row[0] = self.next_pk
                self.next_pk += 1
                summary.created += 1
                before = None
            else:
                before = tuple(row)
            for i, value in zip(indexes, values, strict=True):
                row[i + 1] = value
            if before is not None:
                if tuple(row) == before:
                    summary.unchanged += 1
                else:
                    summary.updated += 1
        inserts = [row for cid, row in rows.items() if cid not in stored]
        updates = [row for cid, row in rows.items() if cid in stored and tuple(row) != stored[cid]]
        self.store.insert_customers(self.columns, inserts)
        self.store.update_customers(self.columns, updates)
