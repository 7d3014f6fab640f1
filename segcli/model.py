"""The filter model: plain frozen data that the parser builds, the compiler reads and segments store.

A Filter is an OR of Groups; a Group is an AND of Conditions (SPEC §3). They are NamedTuples rather
than dataclasses because ``seg count`` loads them and ``dataclasses`` costs ~5 ms to import. Values in a Condition are
already normalized (``language = Arabic`` holds ``ar``), so compiling a stored model needs neither
the parser nor the source text.
"""

from __future__ import annotations

import json
import re
from typing import NamedTuple

#: Operators of the language: key -> how it is written. Negated forms are the same key with
#: ``negated=True`` and are written by ``NEGATED_SPELLING``.
SPELLING = {
    "eq": "=",
    "in": "in",
    "gt": ">",
    "ge": ">=",
    "lt": "<",
    "le": "<=",
    "between": "between",
    "before": "before",
    "after": "after",
    "within": "within last",
    "older": "older than",
    "contains": "contains",
    "contains_any": "contains any",
    "contains_all": "contains all",
    "starts_with": "starts with",
    "ends_with": "ends with",
    "set": "is set",
}
NEGATED_SPELLING = {
    "eq": "!=",
    "in": "not in",
    "contains": "not contains",
    "contains_any": "not contains any",
    "contains_all": "not contains all",
    "set": "is not set",
}
LIST_OPERATORS = frozenset({"in", "contains_any", "contains_all"})
DURATION_OPERATORS = frozenset({"within", "older"})


class Condition(NamedTuple):
    """``field op values``. ``field`` is the canonical field name; dates in ``values`` are either a
    whole UTC day ``YYYY-MM-DD`` or an instant ``YYYY-MM-DDTHH:MM:SSZ``; ``seconds`` is the
    duration of ``within``/``older``."""

    field: str
    op: str
    values: tuple[object, ...] = ()
    negated: bool = False
    seconds: int | None = None

    def to_text(self) -> str:
        spelling = NEGATED_SPELLING[self.op] if self.negated else SPELLING[self.op]
        parts = [quote(self.field), spelling]
        if self.op in DURATION_OPERATORS:
            parts.append(format_duration(self.seconds or 0))
        elif self.op in LIST_OPERATORS:
            parts.append("(" + ", ".join(quote(literal(v)) for v in self.values) + ")")
        elif self.op == "between":
            parts += [quote(literal(self.values[0])), "and", quote(literal(self.values[1]))]
        elif self.op != "set":
            parts.append(quote(literal(self.values[0])))
        return " ".join(parts)

    def to_json(self) -> dict:
        data: dict = {"field": self.field, "op": self.op}
        if self.negated:
            data["negated"] = True
        if self.values:
            data["values"] = list(self.values)
        if self.seconds is not None:
            data["seconds"] = self.seconds
        return data

    @classmethod
    def from_json(cls, data: dict) -> Condition:
        return cls(
            field=data["field"],
            op=data["op"],
            values=tuple(data.get("values", ())),
            negated=bool(data.get("negated", False)),
            seconds=data.get("seconds"),
        )


class Group(NamedTuple):
    """Conditions that must all hold."""

    conditions: tuple[Condition, ...]

    def to_text(self) -> str:
        return " and ".join(c.to_text() for c in self.conditions)


class Filter(NamedTuple):
    """Groups of which at least one must hold."""

    groups: tuple[Group, ...] = ()

    def to_text(self) -> str:
        return " or ".join(g.to_text() for g in self.groups)

    def __or__(self, other: Filter) -> Filter:
        return Filter(self.groups + other.groups)

    def to_json(self) -> list:
        return [[c.to_json() for c in g.conditions] for g in self.groups]

    @classmethod
    def from_json(cls, data: list) -> Filter:
        return cls(tuple(Group(tuple(Condition.from_json(c) for c in g)) for g in data))

    def dumps(self) -> str:
        """The model as stored in ``segments.model``: JSON text."""
        return json.dumps(self.to_json(), ensure_ascii=False)

    @classmethod
    def loads(cls, text: str) -> Filter:
        """A filter from its stored JSON text (``dumps``), with no parser involved."""
        return cls.from_json(json.loads(text))


_BARE_RE = re.compile(r"""^[^\s(),'"=!<>\\]+$""")
_KEYWORDS = frozenset(
    ["and", "or", "is", "not", "set", "in", "contains", "any", "all", "starts", "ends", "with", "between", "before", "after", "within", "last", "older", "than"]
)


def quote(text: str) -> str:
    """``text`` as the filter language reads it back: bare when it can be, else quoted."""
    if _BARE_RE.match(text) and text.lower() not in _KEYWORDS:
        return text
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def literal(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer() and abs(value) < 2**53:
        return str(int(value))
    return str(value)


_UNITS = (("days", 86400), ("hours", 3600), ("minutes", 60))


def format_duration(seconds: int) -> str:
    for unit, size in _UNITS:
        if seconds % size == 0 and seconds >= size:
            n = seconds // size
            return f"{n} {unit if n != 1 else unit[:-1]}"
    return f"{seconds // 60} minutes"
