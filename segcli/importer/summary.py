"""What an import did: the figures its summary line and ``--json`` give, what each header
became (the ``--dry-run`` preview), and its problems, summarized by kind past 20 lines."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

#: Problem lines shown one by one; past them, problems are summarized by kind (SPEC §8).
MAX_PROBLEMS_SHOWN = 20


@dataclass
class HeaderPreview:
    """One header in the ``--dry-run`` preview: what it became and the first values it holds."""

    header: str
    became: str
    samples: list[str] = field(default_factory=list)

    def to_json(self) -> dict:
        return {"header": self.header, "became": self.became, "samples": self.samples}


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
    profile: str = "auto"
    key: str = "id"
    merged: int = 0  # rows whose key (--key phone|email) an earlier row of the file had
    mapping: list[HeaderPreview] = field(default_factory=list)
    unmapped: list[str] = field(default_factory=list)  # built-in fields that no header feeds
    notes: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)  # as shown: each problem, or past 20 also by kind
    failure: str | None = None  # a strict dry run's: why the import would fail

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
            "profile": self.profile,
            "key": self.key,
            "merged": self.merged,
            "mapping": [h.to_json() for h in self.mapping],
            "unmapped_fields": self.unmapped,
            "notes": self.notes,
        }


_QUOTED = re.compile(r'"[^"]*"')
#: A value in a line of the summary by kind is cut after this many characters, and ``…`` added.
VALUE_SHOWN = 40


class Problems:
    """Every problem of every invalid row: the first 20 as lines, and all of them counted by kind
    (the message, or the message without its quoted values when there are many kinds), so that a
    million bad rows cost a bounded amount of memory."""

    KINDS = 1000

    def __init__(self, label: str) -> None:
        self.label = label
        self.lines: list[str] = []
        self.total = 0
        self.kinds: dict[str, list] = {}  # message -> [rows, first line]
        self.templates: dict[str, list] = {}  # message without its values -> [rows, first line, example]

    def add(self, line: int, column: object, message: str) -> None:
        self.total += 1
        if len(self.lines) < MAX_PROBLEMS_SHOWN:
            self.lines.append(f"{self.label}:{line}:{column}: {message}")
        kind = self.kinds.get(message)
        if kind is not None:
            kind[0] += 1
        elif len(self.kinds) < self.KINDS:
            self.kinds[message] = [1, line]
        template = _QUOTED.sub('""', message)
        kind = self.templates.get(template)
        if kind is not None:
            kind[0] += 1
        elif len(self.templates) < self.KINDS:
            self.templates[template] = [1, line, message]

    def report(self) -> list[str]:
        """The lines to show: each problem; past 20 of them, the first 20 and then every problem
        counted by kind (SPEC §2, §8)."""
        if self.total <= MAX_PROBLEMS_SHOWN:
            return self.lines
        if len(self.kinds) > MAX_PROBLEMS_SHOWN or sum(k[0] for k in self.kinds.values()) < self.total:
            # Many kinds: the messages that differ only in their values are one kind, shown by its first.
            kinds = {
                _cut(example): (rows, first, rows > 1 and bool(_QUOTED.search(example)))
                for rows, first, example in self.templates.values()
            }
        else:
            kinds = {_cut(message): (rows, first, False) for message, (rows, first) in self.kinds.items()}
        shown = sorted(kinds.items(), key=lambda item: item[1][1])
        out = [*self.lines, f"{self.label}: {self.total} problems in all, by kind:"]
        out += [
            f"{self.label}: {message} — {rows} row{'s' if rows != 1 else ''}"
            f"{' (this value and others)' if varied else ''}, first at line {first}"
            for message, (rows, first, varied) in shown[:MAX_PROBLEMS_SHOWN]
        ]
        if len(shown) > MAX_PROBLEMS_SHOWN:
            out.append(f"{self.label}: ... and {len(shown) - MAX_PROBLEMS_SHOWN} more kinds of problem")
        return out


def _cut(message: str) -> str:
    """The message with each long quoted value cut, an ellipsis saying so."""
    return _QUOTED.sub(
        lambda m: m.group() if len(m.group()) <= VALUE_SHOWN + 2 else f'{m.group()[: VALUE_SHOWN + 1]}…"', message
    )
