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

from .operators import KEYWORDS, OPERATORS, Shape
from .timeutil import Period, RelativeDay


class Condition(NamedTuple):
    """``field op values``, or its exact complement when ``negated``. ``field`` is the canonical
    field name. Dates in ``values`` are a whole local day ``YYYY-MM-DD``, an instant
    ``YYYY-MM-DDTHH:MM:SSZ`` or a ``RelativeDay`` (``30 days ago``, kept relative); ``during`` holds
    a ``Period``. A duration (``within``, ``older``, ``within_next``, ``anniversary_within``) is
    ``seconds`` of fixed length or calendar ``months``."""

    field: str
    op: str
    values: tuple[object, ...] = ()
    negated: bool = False
    seconds: int | None = None
    months: int | None = None

    def to_text(self) -> str:
        op = OPERATORS[self.op]
        spelled = op.negation if self.negated and op.negation else op.spelling
        parts = ["not"] if self.negated and not op.negation else []
        parts += [quote(self.field), spelled]
        if op.shape is Shape.DURATION:
            parts.append(self.duration())
        elif op.shape is Shape.LIST:
            parts.append("(" + ", ".join(_written(v) for v in self.values) + ")")
        elif op.shape is Shape.PAIR:
            parts += [_written(self.values[0]), "and", _written(self.values[1])]
        elif op.shape in (Shape.VALUE, Shape.PERIOD):
            parts.append(_written(self.values[0]))
        return " ".join(parts)

    def duration(self) -> str:
        """The duration as written back: ``30 days``, ``3 months``, ``1 year``."""
        if self.months:
            return format_months(self.months)
        return format_duration(self.seconds or 0)

    def describe(self) -> str:
        """The condition in plain English, for ``seg show`` and ``seg why``."""
        op = OPERATORS[self.op]
        if op.shape is Shape.DURATION:
            value = self.duration()
        else:  # between's two bounds read "A and B"; a list's values "a, b"
            value = (" and " if op.shape is Shape.PAIR else ", ").join(literal(v) for v in self.values)
        text = op.template.format(field=self.field, value=value)
        return "not: " + text if self.negated else text

    def to_json(self) -> dict:
        data: dict = {"field": self.field, "op": self.op}
        if self.negated:
            data["negated"] = True
        if self.values:
            data["values"] = [_value_to_json(v) for v in self.values]
        if self.seconds is not None:
            data["seconds"] = self.seconds
        if self.months is not None:
            data["months"] = self.months
        return data

    @classmethod
    def from_json(cls, data: dict) -> Condition:
        return cls(
            field=data["field"],
            op=data["op"],
            values=tuple(_value_from_json(v) for v in data.get("values", ())),
            negated=bool(data.get("negated", False)),
            seconds=data.get("seconds"),
            months=data.get("months"),
        )


def _value_to_json(value: object) -> object:
    """A value as stored in a model's JSON: relative days and periods as objects (``{"day": -30}``,
    ``{"period": "month", "offset": -1}``), so that they stay relative; the rest as they are."""
    if isinstance(value, RelativeDay):
        return {"day": value.days}
    if isinstance(value, Period):
        return {"period": value.unit, "offset": value.offset}
    return value


def _value_from_json(value: object) -> object:
    if isinstance(value, dict):
        if "day" in value:
            return RelativeDay(int(value["day"]))
        if "period" in value:
            return Period(str(value["period"]), int(value["offset"]))
        raise ValueError(f"unknown value {value!r}")
    return value


def _written(value: object) -> str:
    """A value as the filter language reads it back: relative days and periods as their words."""
    if isinstance(value, RelativeDay | Period):
        return str(value)
    return quote(literal(value))


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


def quote(text: str) -> str:
    """``text`` as the filter language reads it back: bare when it can be, else quoted."""
    if _BARE_RE.match(text) and text.lower() not in KEYWORDS:
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


def format_months(months: int) -> str:
    """Calendar months as written back: whole years in years (``1 year``, ``18 months``)."""
    n, unit = (months // 12, "year") if months % 12 == 0 else (months, "month")
    return f"{n} {unit}{'s' if n != 1 else ''}"


class Segment(NamedTuple):
    """A saved segment. ``pk`` is its identity (a rename keeps it); ``where`` is its filter as text,
    in the normalized form it was saved in, and ``filter`` the same as a model (empty, with
    ``unreadable`` saying why, if the stored model cannot be read)."""

    pk: int
    name: str
    description: str | None
    where: str
    filter: Filter
    created_at: str
    updated_at: str
    unreadable: str | None = None  # why ``filter`` could not be read back (saved by another seg)

    def to_json(self) -> dict:
        return {
            "name": self.name,
            "description": self.description,
            "filter": self.where,
            "created_at": self.created_at,
            "updated_at": self.updated_at,
        }


class SegmentRef(NamedTuple):
    """A segment an audience refers to: by identity (``pk``), with its name today (None if the
    segment no longer exists, which only a change made outside seg can cause)."""

    pk: int
    name: str | None


#: What ``--unique`` may keep one customer per.
UNIQUE_FIELDS = ("phone", "email")


class Audience(NamedTuple):
    """A saved audience (SPEC §10): the segments it takes and excludes, by identity (a renamed
    segment keeps it working), and the export options it is always sent with."""

    pk: int
    name: str
    description: str | None
    segments: tuple[SegmentRef, ...]
    exclude: tuple[SegmentRef, ...] = ()
    require: tuple[str, ...] = ()
    unique: str | None = None  # "phone" or "email"
    include_opted_out: bool = False
    columns: tuple[str, ...] | None = None  # None: the default columns
    created_at: str = ""
    updated_at: str = ""

    def to_json(self) -> dict:
        return {
            "name": self.name,
            "description": self.description,
            "segments": [s.name for s in self.segments],
            "exclude": [s.name for s in self.exclude],
            "require": list(self.require),
            "unique": self.unique,
            "include_opted_out": self.include_opted_out,
            "columns": list(self.columns) if self.columns is not None else None,
            "created_at": self.created_at,
            "updated_at": self.updated_at,
        }
