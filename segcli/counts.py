"""Counting many segments at once, and their counts over time (SPEC §10).

``seg list``, ``seg snapshot`` (and ``seg overlap``) count every segment together: the store counts
many compiled filters in one pass or better (``Store.count_many``). A count is reused by a later
command only when it is provably current: the same compiled filter with the same parameters (so the
same time boundaries) at the same data version, which every write to customer data changes, by seg
or by any other program (the store's triggers). Counts are kept for reuse when the database can be
written without waiting; never otherwise.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING

from .compile import compile_audience, compile_many
from .errors import SegError, TooLargeError
from .model import Filter, Segment
from .timeutil import Clock, format_instant

if TYPE_CHECKING:
    from .catalog import Catalog

#: How many snapshots ``seg list`` draws as a sparkline.
TREND = 30


def _key(catalog: Catalog, now: datetime | Clock, flt: Filter) -> str:
    """What a count depends on, besides the data: the filter as compiled for this engine, with its
    bound parameters (the time boundaries among them)."""
    compiled = compile_audience(catalog.registry(), now, [flt], dialect=catalog.dialect)
    text = json.dumps([catalog.store().engine, compiled.sql, sorted(compiled.params.items())], default=repr)
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


class Counter:
    """Counts of many filters made inside one read transaction (``Store.snapshot``), so that the data
    version read is the one counted; ``keep`` then keeps the new ones for reuse, after the read
    transaction (a write cannot start inside it)."""

    def __init__(self, catalog: Catalog, now: datetime | Clock) -> None:
        self.catalog = catalog
        self.now = now
        self.fresh: dict[str, int] = {}
        self.version: int | None = None

    def filters(self, filters: Sequence[Filter]) -> list[int]:
        """How many customers match each filter now, counted together; counts made at this data
        version with the same boundaries are reused."""
        store = self.catalog.store()
        self.version = store.data_version()
        keys = [_key(self.catalog, self.now, f) for f in filters]
        known = store.cached_counts(sorted(set(keys)), self.version)
        todo = {k: f for k, f in zip(keys, filters, strict=True) if k not in known}
        if todo:
            counted = dict(zip(todo, _count(self.catalog, self.now, list(todo.values())), strict=True))
            self.fresh.update(counted)
            known.update(counted)
        return [known[k] for k in keys]

    def segments(self, segments: Sequence[Segment]) -> list[tuple[int | None, str | None]]:
        """Each segment's count now, or None and why it cannot be counted (a segment saved by an
        older seg with what this one refuses): one of them never stops the others."""
        filters: dict[int, Filter] = {}
        errors: dict[int, str] = {}
        for s in segments:
            try:
                filters[s.pk] = self.catalog.saved_filter(s)
            except SegError as exc:
                errors[s.pk] = exc.message
        counts = dict(zip(filters, self.filters(list(filters.values())), strict=True))
        return [(counts.get(s.pk), errors.get(s.pk)) for s in segments]

    def keep(self) -> None:
        """Keep the counts made for reuse, if the database can be written right now."""
        if self.fresh and self.version is not None:
            self.catalog.store().cache_counts(self.fresh, self.version)
            self.fresh = {}


def _count(catalog: Catalog, now: datetime | Clock, filters: list[Filter]) -> list[int]:
    store = catalog.store()
    wheres, params = compile_many(catalog.registry(), now, filters, dialect=catalog.dialect)
    try:
        return store.count_many(wheres, params)
    except TooLargeError:  # fine one by one, too large together (the engine's parameter limit)
        out = []
        for f in filters:
            compiled = compile_audience(catalog.registry(), now, [f], dialect=catalog.dialect)
            out.append(store.count_where(compiled.sql, compiled.params))
        return out


def snapshot(catalog: Catalog, now: datetime | Clock) -> dict:
    """``seg snapshot``: record every segment's count at ``now`` (a segment that cannot be counted
    is left out, with its error). ``{"taken_at", "counts": [{"name", "count", "error"}]}``."""
    store = catalog.store(write=True)
    taken_at = format_instant(Clock.of(now).now)
    counter = Counter(catalog, now)
    with store.snapshot():
        segments = store.segments()
        counts = counter.segments(segments)
    with store.transaction("snapshot"):
        store.insert_segment_counts(
            taken_at, [(s.pk, n) for s, (n, _) in zip(segments, counts, strict=True) if n is not None]
        )
    counter.keep()
    return {
        "taken_at": taken_at,
        "counts": [{"name": s.name, "count": n, "error": e} for s, (n, e) in zip(segments, counts, strict=True)],
    }


def trends(catalog: Catalog, now: datetime | Clock, limit: int | None = TREND) -> dict[int, list[tuple[str, int]]]:
    """Each segment's snapshots taken at or before ``now`` (the last ``limit``), oldest first."""
    return catalog.store().segment_counts(format_instant(Clock.of(now).now), limit)
