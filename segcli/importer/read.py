"""Reading files: CSV, JSON arrays and JSONL, streamed, as ``Record``s with their line numbers.

Nothing is loaded whole: lines (and JSON objects) are read with a bound, so that a 100 MB line is
an error, not 100 MB of memory. A structural problem (a row with too many cells, invalid UTF-8,
JSON that is not an object, nested too deep or with a key given twice) makes that record invalid
with its line, never the whole file.
"""

from __future__ import annotations

import codecs
import csv
import io
import itertools
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from ..errors import DataError, UsageError
from ..fields import BUILTIN_BY_NAME
from ..store import MAX_ATTRIBUTES
from ..values import is_utf8
from .profiles import header_key

#: Longest line (and largest JSON object) read: memory stays bounded whatever the file holds.
MAX_LINE = 16 * 1024 * 1024
FORMATS = ("csv", "json", "jsonl")
_EXTENSIONS = {".csv": "csv", ".json": "json", ".jsonl": "jsonl", ".ndjson": "jsonl"}


class Record:
    """One row of the file. ``cells`` holds (key, column, raw value) for each cell: for a CSV row
    the column is a number, and the cells are made from the header only when the row is validated
    one by one; for a JSON object it is the key as written, found in ``text`` by ``column``."""

    __slots__ = ("_cells", "error", "id", "key", "keys", "line", "patch", "raw", "text")

    def __init__(
        self, line: int, cells: list, raw: object, error: tuple[int, str] | None = None, keys: list[str] | None = None
    ) -> None:
        self.line = line
        self._cells = cells
        self.raw = raw  # the row as read, written back unchanged to the rejects file
        self.error = error  # a structural problem: (column, message)
        self.keys = keys  # a CSV row's header keys
        self.patch: list = []  # (row index, stored value), once validated
        self.id: str | None = None
        self.key: str | None = None  # the value customers are matched by (--key phone: the E.164 phone)
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

    def header(self) -> tuple[str, ...]:
        """The row's keys: a CSV's header, a JSON object's keys (with its nested attributes')."""
        if self.keys is not None:
            return self.keys
        return tuple(name for name, _, _ in self._cells)

    def values(self) -> list:
        """The row's values, in the order of ``header``."""
        if self.keys is not None:
            return self.raw
        return [value for _, _, value in self._cells]

    def column_at(self, i: int) -> object:
        """The column (for a message) of the ``i``-th value of ``values``."""
        if self.keys is not None or not self._cells:
            return i + 1
        return self.column(self._cells[min(i, len(self._cells) - 1)][1])


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

    def __init__(self, fh: BinaryIO, path: str, encoding: str = "utf-8-sig") -> None:
        self.fh = fh
        self.path = path
        self.encoding = encoding
        self.delimiter = ","
        self.text = io.TextIOWrapper(fh, encoding=encoding, errors="surrogateescape", newline="")

    def __iter__(self) -> Iterator[str]:
        """The lines, each read with a bound, so a 100 MB line is an error, not 100 MB of memory."""
        readline = self.text.readline
        number = 0
        while True:
            try:
                line = readline(MAX_LINE + 1)
            except UnicodeDecodeError as exc:  # UTF-16 that is not: no byte can be kept as it was
                raise DataError(f"{self.path}:{number + 1}: not valid {self.encoding}: {exc.reason}") from None
            if not line:
                return
            number += 1
            if len(line) > MAX_LINE:
                raise DataError(
                    f"{self.path}:{number}: a line longer than {MAX_LINE // 1048576} MiB; nothing was imported"
                )
            yield line

    @property
    def bytes_read(self) -> int:
        try:
            return self.fh.tell()
        except (OSError, ValueError):
            return 0


ENCODINGS = ("auto", "utf-8", "utf-16", "cp1256", "latin-1")
DELIMITERS = {"auto": None, ",": ",", ";": ";", "tab": "\t", "\t": "\t", "|": "|"}
_CODECS = {"utf-8": "utf-8-sig", "utf-16": "utf-16", "cp1256": "cp1256", "latin-1": "latin-1"}
_NOT_UTF8 = "the line is not valid UTF-8 (if the file is Windows-1256 or Latin-1: --encoding cp1256 or latin-1)"


def detect_encoding(fh: BinaryIO, encoding: str | None) -> str:
    """The codec of a file: as asked (``--encoding``), else by its start: a byte order mark
    (UTF-8, UTF-16), UTF-16 without one (every other byte zero, as Excel's "Unicode text"
    writes), else UTF-8 (SPEC §14: cp1256 and latin-1 only when asked)."""
    if encoding and encoding != "auto":
        return _CODECS[encoding]
    head = fh.read(4)
    fh.seek(0)
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    if len(head) == 4 and head[0] and head[2] and not head[1] and not head[3]:
        return "utf-16-le"
    if len(head) == 4 and head[1] and head[3] and not head[0] and not head[2]:
        return "utf-16-be"
    return "utf-8-sig"


def sniff_delimiter(line: str) -> str:
    """The delimiter of a header line: of ``,`` ``;`` tab and ``|``, the one that splits it into
    the most cells with its quotes where CSV puts them (``,`` if none splits it)."""
    best, score = ",", (True, 1)
    for delimiter in (",", ";", "\t", "|"):
        width, well_quoted = _split_width(line.rstrip("\r\n"), delimiter)
        if (well_quoted, width) > score:
            best, score = delimiter, (well_quoted, width)
    return best


def _split_width(line: str, delimiter: str) -> tuple[int, bool]:
    """How many cells ``line`` has with this delimiter, and whether every quote in it is where
    CSV puts one (opening a cell, doubled inside it, closing it before a delimiter)."""
    width, i, n = 1, 0, len(line)
    while i < n:
        if line[i] == '"':  # a quoted cell
            i += 1
            while True:
                j = line.find('"', i)
                if j < 0:
                    return width, False
                if line[j + 1 : j + 2] == '"':
                    i = j + 2
                    continue
                i = j + 1
                break
            if i < n and line[i] != delimiter:
                return width, False
        else:
            j = line.find(delimiter, i)
            cell = line[i : j if j >= 0 else n]
            if '"' in cell:
                return width, False
            i = j if j >= 0 else n
        if i < n:  # at a delimiter
            width += 1
            i += 1
    return width, True


def read_csv(
    fh: BinaryIO, path: str, *, delimiter: str | None = None, encoding: str | None = None, raw: bool = False
) -> tuple[tuple[str, ...], Iterator, _Lines]:
    """The header (each name trimmed) and the records of a CSV file. ``delimiter`` None: sniffed
    from the header; ``encoding`` None or ``auto``: detected (``detect_encoding``). ``raw``:
    the rows as plain lists, only those as wide as the header (for a pass that only looks)."""
    lines = _Lines(fh, path, detect_encoding(fh, encoding))
    line_iter = iter(lines)
    first = next(line_iter, None)
    if first is None:
        raise DataError(f"{path}: the file is empty (expected a header row)")
    lines.delimiter = delimiter or sniff_delimiter(first)
    reader = csv.reader(itertools.chain([first], line_iter), strict=False, delimiter=lines.delimiter)
    header = next(reader)
    if not is_utf8("".join(header)):
        raise DataError(
            f"{path}:1: the header is not valid UTF-8 (if the file is Windows-1256 or Latin-1: --encoding cp1256 or latin-1)"
        )
    keys = tuple(h.strip() for h in header)
    if len(keys) > MAX_ATTRIBUTES + len(BUILTIN_BY_NAME):
        raise DataError(f"{path}: {len(keys)} columns; seg takes at most {MAX_ATTRIBUTES} custom attributes")
    width = len(keys)
    if raw:
        return keys, _rows_of_width(reader, width), lines

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
            elif not is_utf8("".join(row)):
                record.error = (1, _NOT_UTF8)
            yield record

    return keys, records(), lines


def _rows_of_width(reader, width: int) -> Iterator[list[str]]:
    while True:
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error:
            continue
        if len(row) == width:
            yield row


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
        builtin = BUILTIN_BY_NAME.get(key.strip().lower())
        same = builtin.name if builtin else header_key(key)  # "opt_out" is marketing_opt_out
        if same in seen:  # "Tier" and "tier", "a b" and "a_b": one field
            record.error = (_KeyColumn(text, key), f'"{key}" appears twice (same field)')
            continue
        seen.add(same)
        cells.append((key.strip(), key, value))  # the key stands for its column until a message needs it
    record.cells = cells
    return record


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
    return {
        list: "an array",
        str: "a string",
        int: "a number",
        float: "a number",
        bool: "a boolean",
        type(None): "null",
    }.get(type(obj), type(obj).__name__)


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
            if not is_utf8(value):
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
            if not is_utf8(text):
                yield Record(line, [], text, (1, _NOT_UTF8))
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
            if failure is None and not is_utf8(text):
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


def records_of(
    fmt: str, fh: BinaryIO, label: str, *, delimiter: str | None = None, encoding: str | None = None
) -> tuple[tuple[str, ...] | None, Iterator[Record], object]:
    """The header (CSV only), the records and the reader's position in ``fh``."""
    if fmt == "csv":
        return read_csv(fh, label, delimiter=delimiter, encoding=encoding)
    if fmt == "jsonl":
        records, pos = read_jsonl(fh, label)
        return None, records, pos
    records, pos = read_json_array(fh, label)
    return None, records, pos
