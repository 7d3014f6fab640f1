"""Segments as SQL views (``seg views``, SPEC §11): one view per segment, so that ``datasette
segments.db`` or a BI tool can browse each segment's members without seg.

A view is named ``segment_`` + the slug of the segment's name (``_2``, ``_3`` for names whose
slugs clash, in the order the segments were made). Its SQL holds the filter's values as literals and
reads relative dates from the engine's clock when it is queried, in UTC (``compile.compile_view``);
it calls no function that only seg registers. Once ``seg views`` has made them, every change to
the segments (create, edit, delete, apply) brings them in step, in the same transaction. This
module decides names and SQL; the store makes the views (with sqlite-utils on SQLite).
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import TYPE_CHECKING, NamedTuple

from .compile import compile_view
from .dialects import Dialect
from .errors import SegError
from .fields import FieldRegistry, FieldType
from .model import Filter
from .timeutil import Clock

if TYPE_CHECKING:
    from .model import Segment
    from .store import Store

#: The stored setting that says whether views are kept (``seg views`` turns it on).
SETTING = "views"
PREFIX = "segment_"

#: What a view says about itself when it cannot equal ``seg members`` at every moment.
CLOCK_NOTE = "relative dates: the database's clock when read, in UTC"
MONTHS_NOTE = "months and years: SQLite's arithmetic (31 March minus a month is 3 March)"
ANNIVERSARY_NOTE = "anniversaries: by the UTC date"


class SegmentView(NamedTuple):
    """A segment's view: its name, the WHERE expression (None, with ``error``, for a segment that
    cannot be evaluated) and notes on how it may differ from ``seg members``."""

    name: str
    segment: str
    where: str | None
    notes: tuple[str, ...] = ()
    error: str | None = None

    def to_json(self) -> dict:
        return {"view": self.name, "segment": self.segment, "notes": list(self.notes), "error": self.error}


_OTHER = re.compile(r"[\W_]+")


def slug(name: str) -> str:
    """SPEC §14's slug: lower case, Unicode letters and digits kept, each run of anything else
    one ``_``, no ``_`` at either end (``Inactive 30+ Days`` -> ``inactive_30_days``)."""
    return _OTHER.sub("_", name.lower()).strip("_")


def view_names(segments: list[Segment]) -> dict[int, str]:
    """Each segment's view name by its ``pk``; a clash of slugs gets ``_2``, ``_3``, by age."""
    names: dict[int, str] = {}
    taken: set[str] = set()
    for s in sorted(segments, key=lambda s: s.pk):
        base = PREFIX + (slug(s.name) or "unnamed")
        name, n = base, 1
        while name in taken:
            n += 1
            name = f"{base}_{n}"
        taken.add(name)
        names[s.pk] = name
    return names


def plan(
    segments: list[Segment], registry: FieldRegistry, now: datetime | Clock, dialect: Dialect
) -> list[SegmentView]:
    """The view of each segment, in name order."""
    names = view_names(segments)
    out = []
    for s in segments:
        try:
            if s.unreadable:
                raise SegError(s.unreadable)
            compiled = compile_view(registry, now, s.filter, dialect)
        except SegError as exc:
            out.append(SegmentView(names[s.pk], s.name, None, error=f"cannot be evaluated: {exc.message}"))
            continue
        out.append(SegmentView(names[s.pk], s.name, compiled.sql, _notes(s.filter, compiled.clock, registry, now)))
    return out


def _notes(flt: Filter, clock_read: bool, registry: FieldRegistry, now: datetime | Clock) -> tuple[str, ...]:
    """How a view may differ from ``seg members`` (SPEC §11, §14): it reads relative dates from the
    database's clock, in UTC; SQLite's months do not clamp to the month's end; and its calendar days
    (anniversaries included) are UTC days, which is not what seg counts in another zone."""
    conditions = [c for g in flt.groups for c in g.conditions]
    notes = [CLOCK_NOTE] if clock_read else []
    if any(c.months for c in conditions):
        notes.append(MONTHS_NOTE)
    if any(c.op.startswith("anniversary") for c in conditions):
        notes.append(ANNIVERSARY_NOTE)
    zone = Clock.of(now).zone_name
    dates = [c for c in conditions if (f := registry.get(c.field)) is not None and f.type is FieldType.DATE]
    if zone != "UTC" and any(c.op not in ("set", "within", "older", "within_next") or c.months for c in dates):
        notes.append(f"calendar days: UTC days, not {zone}'s")
    return tuple(notes)


def kept(store: Store) -> bool:
    """Whether this database keeps views of its segments."""
    return store.settings().get(SETTING) == "on"


def sync(store: Store, now: datetime | Clock, dialect: Dialect) -> list[SegmentView]:
    """Inside a write transaction: make the views what the segments are now (dropping those of
    segments gone), and return them."""
    views = [v._replace(name=store.view_name(v.name)) for v in plan(store.segments(), store.registry(), now, dialect)]
    store.replace_views({v.name: v.where for v in views if v.where is not None})
    return views
