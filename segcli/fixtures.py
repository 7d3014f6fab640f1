"""``seg test``: fixtures for segment definitions, for analysts' CI (SPEC §11).

A fixture file pins ``now``, may set ``timezone`` and ``week_start``, may declare ``attributes``
and ``segments`` (else the database's are used), lists ``customers`` as they would be imported,
and says which of them each segment must hold (``expect``). Everything happens in a throwaway
database in memory: the database the command was given is only read, never changed.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, NamedTuple

from .errors import ImportFailed, NotFoundError, SegError, UsageError, YamlError
from .timeutil import format_instant
from .yamlio import Fixture, apply_declarations, read_fixture

if TYPE_CHECKING:
    from .api import Seg, WhyReport


class SegmentResult(NamedTuple):
    """One segment of ``expect``: the ids expected and found, and for each id that differs, why
    (``seg why``'s report)."""

    name: str
    expected: list[str]
    actual: list[str]
    explanations: list[WhyReport]

    @property
    def missing(self) -> list[str]:
        found = set(self.actual)
        return [i for i in self.expected if i not in found]

    @property
    def unexpected(self) -> list[str]:
        wanted = set(self.expected)
        return [i for i in self.actual if i not in wanted]

    @property
    def passed(self) -> bool:
        return not self.missing and not self.unexpected

    def to_json(self) -> dict:
        return {
            "name": self.name,
            "passed": self.passed,
            "expected": self.expected,
            "actual": self.actual,
            "missing": self.missing,
            "unexpected": self.unexpected,
            "explanations": [w.to_json() for w in self.explanations],
        }


class FixtureReport(NamedTuple):
    source: str
    now: datetime
    segments: list[SegmentResult]

    @property
    def passed(self) -> bool:
        return all(r.passed for r in self.segments)

    def to_json(self) -> dict:
        return {
            "file": self.source,
            "now": format_instant(self.now),
            "passed": self.passed,
            "segments": [r.to_json() for r in self.segments],
        }


def run_fixture(text: str, source: str, *, database: Seg | None, throwaway: Callable[[datetime], Seg]) -> FixtureReport:
    """Build the fixture's database in memory (``throwaway``), then check each segment of
    ``expect``. A problem of the file itself is a YamlError naming its line (exit 2)."""
    fixture = read_fixture(text, source)
    memory = throwaway(fixture.now)
    try:
        _settings(memory, fixture, database, source)
        _attributes(memory, fixture, database, source)
        _customers(memory, fixture, source)
        _segments(memory, fixture, database, source)
        return FixtureReport(source, fixture.now, [_check(memory, fixture, item, source) for item in fixture.expect])
    finally:
        memory.close()


def _settings(memory: Seg, fixture: Fixture, database: Seg | None, source: str) -> None:
    given = {"timezone": fixture.timezone, "week_start": fixture.week_start}
    if database is not None:  # the database's own settings, unless the file gives them
        for item in database.settings.list():
            if item["set"] and given.get(item["name"]) is None:
                memory.settings.set(item["name"], item["value"])
    for name, value in given.items():
        if value is not None:
            line, text = value
            try:
                memory.settings.set(name, text)
            except UsageError as exc:
                raise YamlError(f"{source}:{line}: {exc.message}") from None


def _attributes(memory: Seg, fixture: Fixture, database: Seg | None, source: str) -> None:
    if fixture.attributes is not None:
        apply_declarations(memory.catalog, fixture.attributes, [], source=source)
    elif database is not None:
        for a in database.attributes.list():
            memory.attributes.define(a["name"], a["type"], a["values"])


def _customers(memory: Seg, fixture: Fixture, source: str) -> None:
    """The rows, imported as a JSON Lines file, each row on the line it has in the fixture where
    it can be (an import skips empty lines), so that a bad row is reported where it is written."""
    fd, path = tempfile.mkstemp(prefix="seg-test-", suffix=".jsonl")  # 0600: customer data
    lines: dict[int, int] = {}  # line in the JSON Lines file -> line in the fixture
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            current = 0
            for line, row in fixture.customers:
                target = max(line, current + 1)  # rows of a [...] list share a line
                fh.write("\n" * (target - current - 1) + json.dumps(row, ensure_ascii=False) + "\n")
                lines[target], current = line, target
        try:
            memory.import_file(path, fmt="jsonl")
        except ImportFailed as exc:
            where = re.compile(rf"^{re.escape(path)}:(\d+):\d+: ")

            def located(m: re.Match) -> str:
                return f"{source}:{lines.get(int(m.group(1)), m.group(1))}: "

            problems = [where.sub(located, p) for p in exc.problems]
            raise YamlError(f"{source}: the customers cannot be imported", details=problems) from None
    finally:
        os.unlink(path)


def _segments(memory: Seg, fixture: Fixture, database: Seg | None, source: str) -> None:
    if fixture.segments is not None:
        apply_declarations(memory.catalog, [], fixture.segments, source=source)
        return
    if database is None:
        raise YamlError(f"{source}: the file has no segments: and there is no database to take them from")
    for line, name, _, _ in fixture.expect:  # only the segments the file checks
        try:
            segment = database.segments.get(name)
        except NotFoundError as exc:
            raise YamlError(f"{source}:{line}: {exc.message}") from None
        if memory.store().segment(segment.name) is None:
            try:
                memory.segments.create(segment.name, segment.where, segment.description)
            except SegError as exc:
                raise YamlError(
                    f'{source}:{line}: the database\'s segment "{segment.name}" cannot be used here: {exc.message}'
                ) from None


def _check(memory: Seg, fixture: Fixture, item: tuple, source: str) -> SegmentResult:
    line, name, expected, id_lines = item
    try:
        segment = memory.segments.get(name)
    except NotFoundError as exc:
        raise YamlError(f"{source}:{line}: expect: {exc.message}") from None
    known = {str(row.get("id", "")).strip() for _, row in fixture.customers}
    for customer_id, id_line in zip(expected, id_lines, strict=True):
        if customer_id not in known:
            raise YamlError(f'{source}:{id_line}: expect: "{customer_id}" is not the id of a customer in the file')
    actual = [row["id"] for row in memory.members([segment.name], columns=["id"])]
    result = SegmentResult(segment.name, expected, actual, [])
    for customer_id in [*result.missing, *result.unexpected]:
        result.explanations.append(memory.why(segment.name, customer_id))
    return result
