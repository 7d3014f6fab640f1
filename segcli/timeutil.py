"""Instants: how they are read, stored and written, in one place.

seg stores an instant as UTC text to the second, fixed width (``2026-11-29T08:00:00Z``), so that
text order is time order on every engine. Everything that writes a timestamp (stored values, the
history, the writer marker, JSON output) goes through ``format_instant``.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, tzinfo
from functools import lru_cache

from .errors import InvalidValue

#: The instants seg stores: UTC, years 0001 to 9999, to the second.
EARLIEST, LATEST = "0001-01-01T00:00:00Z", "9999-12-31T23:59:59Z"

#: An instant as stored (``format_instant``): only its day can still be invalid (``check_day``).
STORED_INSTANT = re.compile(r"\d{4}-\d{2}-\d{2}T(?:[01]\d|2[0-3]):[0-5]\d:[0-5]\dZ\Z")

_DATE_ONLY_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_ISO_HINT = "(like 2026-01-31 or 2026-01-31T08:00:00Z)"


def format_instant(value: datetime) -> str:
    """The stored form of an instant: UTC, to the second, fixed width, so text order is time order."""
    v = value.astimezone(UTC)
    return f"{v.year:04d}-{v.month:02d}-{v.day:02d}T{v.hour:02d}:{v.minute:02d}:{v.second:02d}Z"


def utcnow() -> datetime:
    """The clock, to the second."""
    return datetime.now(UTC).replace(microsecond=0)


def stamp() -> str:
    """The clock as stored: when a segment, attribute or export was written."""
    return format_instant(utcnow())


def localize(wall: datetime, zone: tzinfo | None) -> datetime:
    """A naive wall-clock time in ``zone`` (None: UTC) as an aware instant (SPEC §9): a time that a
    DST change skips moves forward by the gap, a time it repeats is its first occurrence (zoneinfo
    reads both so with ``fold=0``: the offset in force before the change)."""
    return wall.replace(tzinfo=zone or UTC, fold=0)


def parse_date(text: str, zone: tzinfo | None = None) -> tuple[datetime, bool]:
    """An ISO 8601 date or datetime -> (UTC instant, whether it was a date only). A datetime
    without an offset is a wall-clock time in ``zone`` (None: UTC); a date only is its midnight
    there. InvalidValue says why it is not one."""
    return _parse_date_text(text, zone)


@lru_cache(maxsize=8192)  # bounded: an import of a million distinct dates must not grow memory
def _parse_date_text(text: str, zone: tzinfo | None = None) -> tuple[datetime, bool]:
    if not text or not text[:4].isdigit():
        raise InvalidValue(f'"{text}" is not an ISO 8601 date {_ISO_HINT}')
    if _DATE_ONLY_RE.match(text):
        try:
            d = date.fromisoformat(text)
        except ValueError:
            raise InvalidValue(f'"{text}" is not a valid date') from None
        return _to_utc(localize(datetime.combine(d, time(0)), zone), text), True
    try:
        dt = datetime.fromisoformat(text)
    except ValueError:
        raise InvalidValue(f'"{text}" is not an ISO 8601 date {_ISO_HINT}') from None
    if dt.tzinfo is None:
        dt = localize(dt, zone)
    if re.fullmatch(r"\d{8}", text):  # ISO basic format date: 20260131
        return _to_utc(dt, text), True
    return _to_utc(dt, text).replace(microsecond=0), False


def _to_utc(dt: datetime, text: str) -> datetime:
    try:
        return dt.astimezone(UTC)
    except OverflowError:  # 0001-01-01T00:00:00+14:00 is in year 0 in UTC
        edge = f"before {EARLIEST}, the earliest" if dt.year == 1 else f"after {LATEST}, the latest"
        raise InvalidValue(f'"{text}" is out of range: in UTC it is {edge} instant seg stores') from None


@lru_cache(maxsize=4096)
def check_day(day: str) -> None:
    """InvalidValue unless ``YYYY-MM-DD`` is a real day."""
    try:
        date.fromisoformat(day)
    except ValueError:
        raise InvalidValue(f'"{day}" is not a valid date') from None


def zone(name: str):
    """The IANA time zone ``name`` (``Asia/Muscat``), from the system's zone files or the ``tzdata``
    package; InvalidValue if there is no such zone."""
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        if not name or name != name.strip() or name.startswith(("/", ".")) or ".." in name:
            raise ValueError(name)
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise InvalidValue(f'"{name}" is not a time zone (use an IANA name like Asia/Muscat or UTC)') from None
