"""Output for people and scripts: rich tables on a terminal, plain text when piped, CSV, JSON.

The only module that knows about the terminal. rich is imported when a table is drawn, not before,
so that ``seg count`` does not pay for it.
"""

from __future__ import annotations

import csv
import json
import os
import re
import sys
from collections.abc import Callable, Iterable, Iterator, Sequence
from itertools import islice
from typing import TextIO

# What a terminal acts on instead of showing: C0 and C1 controls and DEL (ESC starts colour,
# title, hyperlink and screen sequences; BEL rings; CR returns to the start of the line), line
# and paragraph separators, the bidi embeddings, overrides and isolates that reorder the text
# after them, and lone surrogates (which cannot even be encoded).
_UNSHOWABLE = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069\ud800-\udfff]")
_SHORT_ESCAPES = {"\t": "\\t", "\n": "\\n", "\r": "\\r"}


def _escape(match: re.Match) -> str:
    char = match.group()
    code = ord(char)
    return _SHORT_ESCAPES.get(char) or (f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}")


def printable(text: str) -> str:
    """``text`` as it may be shown to a person (SPEC §13): every character a terminal would act on
    rather than show is written as its escape (``\\x1b``, ``\\u202e``, ``\\n``). Every line of human
    output (tables, notes, errors, ``show``, ``why``) goes through here; JSON, JSONL and CSV,
    which are data, do not."""
    return _UNSHOWABLE.sub(_escape, text)


def pointer(text: str, start: int, end: int) -> list[str]:
    """``text`` shown (escaped) with a line of ``^`` under ``text[start:end]``."""
    before, marked = printable(text[:start]), printable(text[start:end])
    return ["  " + printable(text), "  " + " " * len(before) + "^" * max(len(marked), 1)]


def is_terminal(stream: TextIO | None = None) -> bool:
    stream = stream or sys.stdout
    return hasattr(stream, "isatty") and stream.isatty()


def console(stderr: bool = False):
    from rich.console import Console

    return Console(stderr=stderr, no_color="NO_COLOR" in os.environ or None, highlight=False)


def cell(value: object) -> str:
    """A value as text: lists joined with ``,``, booleans as true/false, missing as empty."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return ",".join(str(v) for v in value)
    if isinstance(value, float) and value.is_integer() and abs(value) < 2**53:
        return str(int(value))
    return str(value)


class _Lines(list):
    """What a csv writer writes to: each row's line kept in a list (cheaper than a StringIO)."""

    write = list.append


class CsvWriter:
    """``csv.writer`` with ``\n`` line ends that also quotes every cell holding a carriage return
    (SPEC §13): csv quotes only the characters of its own line end, and an unquoted CR ends the row
    for ``csv.reader`` and spreadsheets.

    Rows come in batches. A batch with no line break in any cell, nearly every batch, is written as
    csv writes it (one scan of its text tells). Otherwise its rows are first passed through
    ``multiline`` if given (the export guards the lines inside a cell there), then written with
    ``\r\n`` endings, which makes csv quote CR and LF alike, turned back into ``\n``."""

    def __init__(self, out: TextIO, multiline: Callable[[Sequence], Sequence] | None = None) -> None:
        self.out = out
        self.multiline = multiline
        self.lines = _Lines()
        self.lf = csv.writer(self.lines, lineterminator="\n")
        self.crlf = csv.writer(self.lines, lineterminator="\r\n")

    def writerows(self, rows: Sequence[Sequence]) -> None:
        self.lf.writerows(rows)
        text = "".join(self.lines)
        self.lines.clear()
        if "\r" in text or (self.multiline is not None and text.count("\n") != len(rows)):
            if self.multiline is not None:
                rows = [self.multiline(row) for row in rows]
            self.crlf.writerows(rows)  # csv writes each row with one call: one line per row
            text = "".join(line[:-2] + "\n" for line in self.lines)
            self.lines.clear()
        self.out.write(text)

    def writerow(self, row: Sequence) -> None:
        self.writerows((row,))


def print_json(data: object, out: TextIO | None = None) -> None:
    out = out or sys.stdout
    out.write(json.dumps(data, ensure_ascii=False, indent=2, default=str) + "\n")


def table(rows: Iterable[dict], columns: Sequence[str], *, title: str | None = None, total: int | None = None) -> None:
    """A table: rich on a terminal, tab-separated lines when piped. With ``total``, a line says
    how many of that many rows were shown."""
    if is_terminal():
        from rich.table import Table
        from rich.text import Text

        # Text, not str: rich would read markup in a str ("[/]" fails, "[link=...]" draws a link).
        t = Table(title=Text(printable(title)) if title else None, show_lines=False)
        for c in columns:
            t.add_column(Text(printable(c)), overflow="fold")
        shown = 0
        for r in rows:
            t.add_row(*(Text(printable(cell(r.get(c)))) for c in columns))
            shown += 1
        con = console()
        con.print(t)
        if total is not None and total > shown:
            con.print(f"[dim]{shown} of {total} shown; --limit N for more, or --format csv for all[/dim]")
        return
    if title:
        sys.stdout.write(printable(title) + "\n")
    write_tsv(iter(rows), columns)


def write_tsv(rows: Iterator[dict], columns: Sequence[str], out: TextIO | None = None) -> int:
    """Tab-separated lines for people and ``cut``: a tab, line break or other control character in
    a value is escaped, so that each row is one line of cells."""
    out = out or sys.stdout
    out.write("\t".join(printable(c) for c in columns) + "\n")
    n = 0
    for r in rows:
        out.write("\t".join(printable(cell(r.get(c))) for c in columns) + "\n")
        n += 1
    return n


def write_rows(rows: Iterable[dict], columns: Sequence[str], fmt: str, out: TextIO | None = None) -> int:
    """Stream rows as csv, json (an array), jsonl or tsv; returns how many were written."""
    out = out or sys.stdout
    n = 0
    if fmt == "csv":
        writer = CsvWriter(out)
        writer.writerow(columns)
        remaining = iter(rows)
        while batch := [[cell(r.get(c)) for c in columns] for r in islice(remaining, 1000)]:
            writer.writerows(batch)
            n += len(batch)
    elif fmt == "jsonl":
        for r in rows:
            out.write(json.dumps(r, ensure_ascii=False) + "\n")
            n += 1
    elif fmt == "json":
        out.write("[")
        for r in rows:
            out.write(("," if n else "") + "\n  " + json.dumps(r, ensure_ascii=False))
            n += 1
        out.write("\n]\n" if n else "]\n")
    else:
        n = write_tsv(iter(rows), columns, out)
    return n


def note(message: str) -> None:
    """A line for people on stderr (summaries, waterfalls), never mixed with data on stdout."""
    sys.stderr.write(printable(message) + "\n")


def say(lines: Iterable[str]) -> None:
    """Lines of text for people on stdout (``show``, ``why``, a plan), each shown escaped."""
    sys.stdout.write("".join(printable(line) + "\n" for line in lines))


def why_lines(report) -> list[str]:
    """``seg why``'s report (``api.WhyReport``) as lines: each group, each condition with the
    customer's value and a mark, and the verdict."""
    mark = {True: "✓", False: "✗"}
    lines = [f"{report.segment} / customer {report.customer_id}"]
    for i, group in enumerate(report.groups, 1):
        lines.append(f"{mark[group.matched]} group {i}" + (" (or)" if i > 1 else ""))
        for c in group.conditions:
            lines.append(f"    {mark[c['matched']]} {c['condition']:40}  value: {cell(c['value']) or '(missing)'}")
    verdict = "IN the segment" if report.matched else "NOT in the segment"
    lines.append(f"{report.customer_id} is {verdict}")
    return lines


def overlap_matrix(names: Sequence[str], counts: Sequence[Sequence[int]]) -> None:
    """``seg overlap``: each row a segment, each cell the customers it shares with the column's
    segment and their share of the row's. On a terminal, cells are shaded by that share."""

    def share(i: int, j: int) -> float | None:
        return counts[i][j] / counts[i][i] if counts[i][i] else None

    def text(i: int, j: int) -> str:
        s = share(i, j)
        return f"{counts[i][j]} ({s:.0%})" if s is not None else str(counts[i][j])

    if not is_terminal():
        columns = ["segment", *names]
        rows = [{"segment": n, **{m: text(i, j) for j, m in enumerate(names)}} for i, n in enumerate(names)]
        write_tsv(iter(rows), columns)
        return
    from rich.style import Style
    from rich.table import Table
    from rich.text import Text

    t = Table(title=Text("customers in both (share of the row's segment)"))
    t.add_column(Text(""))
    for j, m in enumerate(names, 1):
        t.add_column(Text(f"{j}. {printable(m)}"), justify="right", overflow="fold")
    for i, n in enumerate(names):
        cells = []
        for j in range(len(names)):
            s = share(i, j)
            level = int(40 + 160 * s) if s is not None else 0  # darker blue: a larger share
            style = Style(bgcolor=f"rgb(0,{level // 3},{level})", color="white") if s is not None else Style()
            cells.append(Text(text(i, j), style=style))
        t.add_row(Text(f"{i + 1}. {printable(n)}"), *cells)
    console().print(t)


class ImportProgress:
    """A progress bar on stderr for imports that take more than a second on a terminal."""

    columns = ("bytes",)

    def __init__(self, label: str) -> None:
        import time

        self.label = label
        self.started = time.monotonic()
        self.bar = None
        self.task = None
        self.enabled = is_terminal(sys.stderr)

    def __call__(self, done: int, total: int) -> None:
        import time

        if not self.enabled:
            return
        if self.bar is None:
            if time.monotonic() - self.started < 1.0:
                return
            from rich.markup import escape
            from rich.progress import BarColumn, DownloadColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

            self.bar = Progress(
                "[progress.description]{task.description}",
                BarColumn(),
                DownloadColumn() if "bytes" in self.columns else MofNCompleteColumn(),
                TimeRemainingColumn(),
                console=console(stderr=True),
                transient=True,
            )
            self.bar.start()
            # The description is read as markup: the label (a file name) is shown as text.
            self.task = self.bar.add_task(escape(printable(self.label)), total=total or None)
        self.bar.update(self.task, completed=done)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.stop()


class ExportProgress(ImportProgress):
    """The same bar for exports, counting rows."""

    columns = ("rows",)

    def __init__(self, output: str) -> None:
        super().__init__(f"exporting to {output}")
        self.enabled = self.enabled and output != "-"
