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
from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
from datetime import tzinfo
from itertools import islice
from typing import TextIO

from .timeutil import format_local

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


def local_time(value: object, zone: tzinfo) -> object:
    """An instant as people read it (SPEC §9): local time in ``zone`` with its offset,
    ``2026-11-29 08:00 +04:00``. Anything else is returned as it is. Only human output (tables,
    piped or not, ``customers show``, ``why``, ``history``) does this: CSV, JSON and JSONL keep
    UTC instants (``2026-11-29T04:00:00Z``)."""
    return format_local(value, zone) if isinstance(value, str) else value


def local_times(rows: Iterable[dict], instants: Collection[str], zone: tzinfo) -> Iterator[dict]:
    """``rows`` with the values of the columns ``instants`` as local times (``local_time``)."""
    for row in rows:
        yield {k: local_time(v, zone) if k in instants else v for k, v in row.items()} if instants else row


#: What starts a spreadsheet formula (SPEC §5); the CSV guard of ``export`` and ``members``.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
# A sign, then only digits, spaces, dots, parentheses and dashes, with a digit: -5, +968 9123 4567.
_SIGNED_PLAIN = re.compile(r"[+-][0-9 ().\-]*[0-9][0-9 ().\-]*")
# Where a line inside a cell starts like a formula: just after a CR or LF, before = + - @ or tab.
_INNER_LINE_START = re.compile(r"(?<=[\r\n])(?=[=+\-@\t])")


def neutralize(text: str) -> str:
    """A CSV cell a spreadsheet will not run: text that starts like a formula gets a leading ``'``,
    unless it is plainly a number or a phone number (``-5``, ``+96891234567``), and so does every
    line inside it (SPEC §13): see ``guard_lines``. The export applies the first rule in SQL
    (``Dialect.neutralized_cell``) and the second to the rare cells that hold a line break;
    ``seg members --format csv`` applies both here (``write_rows``)."""
    text = guard_lines(text)
    if text.startswith(_FORMULA_START) and not _SIGNED_PLAIN.fullmatch(text):
        return "'" + text
    return text


def guard_lines(text: str) -> str:
    """Each line inside ``text`` that starts like a formula (``=``, ``+``, ``-``, ``@``, tab just
    after a CR or LF) gets a ``'`` after its line break: a reader that splits lines, or a CR taken
    for the end of a row, would start a cell there. Such a line is never "plainly a number"."""
    return _INNER_LINE_START.sub("'", text) if "\n" in text or "\r" in text else text


def guard_lines_of_row(row: Sequence) -> list:
    """``guard_lines`` on each text cell of a row (``CsvWriter``'s ``multiline`` for the export)."""
    return [guard_lines(v) if isinstance(v, str) else v for v in row]


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


def write_rows(
    rows: Iterable[dict], columns: Sequence[str], fmt: str, out: TextIO | None = None, *, guarded: Collection[str] = ()
) -> int:
    """Stream rows as csv, json (an array), jsonl or tsv; returns how many were written. In CSV the
    cells of the ``guarded`` columns (text, not numbers) are ``neutralize``d, as an export's are
    (SPEC §13); JSON and JSONL keep values as they are."""
    out = out or sys.stdout
    n = 0
    if fmt == "csv":
        writer = CsvWriter(out)
        writer.writerow(columns)
        remaining = iter(rows)
        shown = [(c, c in guarded) for c in columns]
        while batch := [
            [neutralize(cell(r.get(c))) if g else cell(r.get(c)) for c, g in shown] for r in islice(remaining, 1000)
        ]:
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


def why_lines(report, value_of: Callable[[dict], object] | None = None) -> list[str]:
    """``seg why``'s report (``api.WhyReport``) as lines: each group, each condition with the
    customer's value and a mark, and the verdict. ``value_of(condition)`` gives the value as shown
    (``seg why`` shows instants in local time); by default, the value as it is."""
    mark = {True: "✓", False: "✗"}
    lines = [f"{report.segment} / customer {report.customer_id}"]
    for i, group in enumerate(report.groups, 1):
        lines.append(f"{mark[group.matched]} group {i}" + (" (or)" if i > 1 else ""))
        for c in group.conditions:
            value = value_of(c) if value_of is not None else c["value"]
            lines.append(f"    {mark[c['matched']]} {c['condition']:40}  value: {cell(value) or '(missing)'}")
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
            self.bar = None


class ExportProgress(ImportProgress):
    """The same bar for exports, counting rows."""

    columns = ("rows",)

    def __init__(self, output: str) -> None:
        super().__init__(f"exporting to {output}")
        self.enabled = self.enabled and output != "-"


_SPARKS = "▁▂▃▄▅▆▇█"


def sparkline(values: Sequence[int]) -> str:
    """A count series as one line of block characters, lowest to highest (``seg list``)."""
    if not values:
        return ""
    lo, hi = min(values), max(values)
    if hi == lo:
        return _SPARKS[3] * len(values)
    return "".join(_SPARKS[round((v - lo) * (len(_SPARKS) - 1) / (hi - lo))] for v in values)


def signed(change: int | None) -> str:
    """A change as ``+12``, ``-3`` or ``0``; empty when there is nothing to compare with."""
    if change is None:
        return ""
    return f"+{change}" if change > 0 else str(change)


_EIGHTHS = " ▁▂▃▄▅▆▇█"


def chart(title: str, series: Sequence[tuple[str, int]], *, height: int = 12) -> None:
    """Counts over time as a column chart on the terminal (``seg show --history``): one column per
    snapshot, the newest on the right (as many as fit), the count axis on the left and the first
    and last instants below. Drawn with block characters through rich, so ``NO_COLOR`` holds and
    names are shown as text."""
    from rich.text import Text

    con = console()
    if not series:
        con.print(Text(printable(f"{title}: no snapshots yet (seg snapshot records them)")))
        return
    labels_width = max(len(f"{n:,}") for _, n in series) + 1
    room = max(con.width - labels_width - 2, 10)
    step = 1 if len(series) * 2 > room else 2 if len(series) * 3 > room else 3
    shown = list(series)[-max(room // step, 1) :]
    values = [n for _, n in shown]
    hi, lo = max(values), min(values)
    lo = max(lo - (hi - lo) // 10 - (1 if hi == lo else 0), 0)  # a little room below the lowest
    span = max(hi - lo, 1)
    levels = [round((v - lo) * height * 8 / span) for v in values]
    out = Text(printable(title) + "\n", style="bold")
    for row in range(height, 0, -1):
        label = f"{hi:,}" if row == height else f"{lo:,}" if row == 1 else ""
        out.append(f"{label:>{labels_width}} ┤" if label else " " * labels_width + " │")
        for level in levels:
            eighths = min(max(level - (row - 1) * 8, 0), 8)
            out.append(_EIGHTHS[eighths] * (step - 1 if step > 1 else 1), style="cyan")
            if step > 1:
                out.append(" ")
        out.append("\n")
    out.append(" " * labels_width + " └" + "─" * (len(shown) * step) + "\n")
    first, last = printable(shown[0][0]), printable(shown[-1][0])
    gap = max(len(shown) * step - len(first) - len(last), 1)
    out.append(" " * (labels_width + 2) + (first + " " * gap + last if len(shown) > 1 else first) + "\n")
    con.print(out, end="", soft_wrap=True)
