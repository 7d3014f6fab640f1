"""Instants: how they are read, stored and written, in one place.

seg stores an instant as UTC text to the second, fixed width (``2026-11-29T08:00:00Z``), so that
text order is time order on every engine. Everything that writes a timestamp (stored values, the
history, the writer marker, JSON output) goes through ``format_instant``.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from functools import lru_cache
from typing import NamedTuple

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


# --- the business's calendar (SPEC §9) ----------------------------------------------------------
#
# Relative dates are measured against a Clock: the instant ``now``, the zone whose calendar days
# count, and the first day of a week. Every function below is a pure function of a Clock, so that a
# command computes its time boundaries once, in Python, and binds them as parameters.

#: ``date.weekday()`` of the first day of a week, for each ``week_start`` setting.
WEEK_STARTS = {"monday": 0, "sunday": 6, "saturday": 5}
PERIOD_UNITS = ("day", "week", "month", "quarter", "year")
PERIOD_WORDS = {"last": -1, "this": 0, "next": 1}

#: Later than every instant seg stores: the end of 9999-12-31 (ISO 8601 writes it ``24:00``).
END_OF_TIME = "9999-12-31T24:00:00Z"


class Clock(NamedTuple):
    """What relative dates are measured against: ``now`` (aware, to the second), the ``zone`` of
    calendar days, and ``week_start`` (``monday``, ``sunday`` or ``saturday``)."""

    now: datetime
    zone: tzinfo = UTC
    week_start: str = "monday"

    @classmethod
    def of(cls, now: datetime | Clock) -> Clock:
        """A Clock as given, or a bare instant read in UTC with weeks from Monday (before §9)."""
        return now if isinstance(now, Clock) else cls(now)

    @property
    def today(self) -> date:
        """The local calendar day of ``now``."""
        return self.now.astimezone(self.zone).date()

    @property
    def zone_name(self) -> str:
        return zone_name(self.zone)


def zone_name(z: tzinfo) -> str:
    """The IANA name of a zone (``UTC`` for UTC)."""
    return getattr(z, "key", None) or ("UTC" if z.utcoffset(None) == timedelta(0) else str(z))


class RelativeDay(NamedTuple):
    """A local calendar day counted from today: 0 ``today``, -1 ``yesterday``, -30 ``30 days ago``,
    3 ``in 3 days``. A filter stores it so, never as the date it was on the day it was saved."""

    days: int

    def __str__(self) -> str:
        named = {0: "today", -1: "yesterday", 1: "tomorrow"}.get(self.days)
        if named:
            return named
        n = abs(self.days)
        return f"{n} days ago" if self.days < 0 else f"in {n} days"

    def date(self, clock: Clock) -> date:
        return days_after(clock.today, self.days)


class Period(NamedTuple):
    """A calendar period around today: ``unit`` (day, week, month, quarter, year) and ``offset``
    (-1 ``last``, 0 ``this``, 1 ``next``)."""

    unit: str
    offset: int

    def __str__(self) -> str:
        word = {v: k for k, v in PERIOD_WORDS.items()}[self.offset]
        return f"{word} {self.unit}"

    def first_day(self, clock: Clock, shift: int = 0) -> date:
        """The local day the period begins on (``shift`` periods later: 1 gives the day after it)."""
        today, n = clock.today, self.offset + shift
        if self.unit == "day":
            return days_after(today, n)
        if self.unit == "week":
            back = (today.weekday() - WEEK_STARTS[clock.week_start]) % 7
            return days_after(today, 7 * n - back)
        if self.unit == "year":
            return _first_of_month(today.year + n, 1)
        size = 3 if self.unit == "quarter" else 1
        index = today.year * 12 + (today.month - 1) // size * size + n * size
        return _first_of_month(index // 12, index % 12 + 1)


class OutOfCalendar(OverflowError):
    """A day before year 1 (``before``) or after 9999."""

    def __init__(self, before: bool) -> None:
        super().__init__("before year 1" if before else "after year 9999")
        self.before = before


def days_after(day: date, n: int) -> date:
    """``day`` + ``n`` days; OutOfCalendar past either end of the calendar."""
    ordinal = day.toordinal() + n
    if not 1 <= ordinal <= date.max.toordinal():
        raise OutOfCalendar(ordinal < 1)
    return date.fromordinal(ordinal)


def _first_of_month(year: int, month: int) -> date:
    if not 1 <= year <= 9999:
        raise OutOfCalendar(year < 1)
    return date(year, month, 1)


# Boundaries: small values that a compiled filter compares a field with. The compiler resolves each
# to an instant for one Clock (``resolve``); kept symbolic, they can also be written as another
# engine's date expressions (a view evaluated by the database's own clock).


class DayStart(NamedTuple):
    """The instant a local calendar day begins: ``day`` (a literal ``YYYY-MM-DD`` or a
    RelativeDay), ``days`` later (1: the instant it ends)."""

    day: str | RelativeDay
    days: int = 0


class PeriodStart(NamedTuple):
    """The instant a calendar period begins (``shift`` 1: the instant it ends)."""

    period: Period
    shift: int = 0


class Shifted(NamedTuple):
    """``now`` moved by a duration: ``seconds`` (fixed lengths) or ``months`` (calendar months on
    the local wall clock, keeping the time of day, clamped to the month's end); either sign."""

    seconds: int = 0
    months: int = 0


Boundary = DayStart | PeriodStart | Shifted


def resolve(boundary: Boundary, clock: Clock) -> str:
    """A boundary as a stored instant, for ``clock``. One before the first instant seg stores is
    that first instant, and one after the last is ``END_OF_TIME``: every stored instant compares
    with it as with the real boundary."""
    try:
        if isinstance(boundary, Shifted):
            if boundary.months:
                return format_instant(add_months(clock, boundary.months))
            try:
                return format_instant(clock.now + timedelta(seconds=boundary.seconds))
            except OverflowError:
                raise OutOfCalendar(boundary.seconds < 0) from None
        if isinstance(boundary, PeriodStart):
            first = boundary.period.first_day(clock, boundary.shift)
        else:
            day = boundary.day
            first = day.date(clock) if isinstance(day, RelativeDay) else date.fromisoformat(day)
            first = days_after(first, boundary.days)
        return format_instant(day_start(first, clock.zone))
    except OutOfCalendar as exc:
        return EARLIEST if exc.before else END_OF_TIME


def day_start(day: date, zone: tzinfo) -> datetime:
    """The UTC instant a local calendar day begins: its midnight in ``zone``, or, where a DST change
    skips midnight, the instant of the change (``localize``'s rule). OverflowError out of range."""
    try:
        return localize(datetime.combine(day, time(0)), zone).astimezone(UTC)
    except OverflowError:
        raise OutOfCalendar(day.year == 1) from None


def add_months(clock: Clock, months: int) -> datetime:
    """``now`` moved by calendar months on the local wall clock, keeping the time of day; a day
    past the month's end is its last day (31 March minus one month is 28 or 29 February); a wall
    time that a DST change skips moves forward by the gap. OverflowError out of range."""
    wall = clock.now.astimezone(clock.zone).replace(tzinfo=None)
    index = wall.year * 12 + wall.month - 1 + months
    year, month = divmod(index, 12)
    if not 1 <= year <= 9999:
        raise OutOfCalendar(year < 1)
    day = min(wall.day, _days_in_month(year, month + 1))
    try:
        return localize(wall.replace(year=year, month=month + 1, day=day), clock.zone).astimezone(UTC)
    except OverflowError:
        raise OutOfCalendar(year == 1) from None


def _days_in_month(year: int, month: int) -> int:
    following = date(year + 1, 1, 1) if month == 12 else date(year, month + 1, 1)
    return (following - timedelta(days=1)).day


def is_leap(year: int) -> bool:
    return year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)


def anniversary_ranges(first: date, last: date) -> list[tuple[str, str]] | None:
    """The month-days (``MM-DD``) whose anniversary falls on a local day from ``first`` to ``last``
    (both included), as ranges in text order; None when that is every month-day. 29 February counts
    as 28 February in a common year (SPEC §9)."""
    if (last - first).days >= 365:  # 366 days or more hold every month and day
        return None
    ranges = []
    while first <= last:
        end = min(last, date(first.year, 12, 31))
        low, high = first.strftime("%m-%d"), end.strftime("%m-%d")
        if high == "02-28" and not is_leap(end.year):
            high = "02-29"
        ranges.append((low, high))
        if end.year == 9999:
            break
        first = date(end.year + 1, 1, 1)
    return ranges


def local_day(instant: str | None, zone: str | None) -> str | None:
    """The local calendar day (``YYYY-MM-DD``) of a stored instant in the zone named ``zone``.

    Deterministic (the same arguments give the same day), so that SQLite may use it in any
    expression: the one SQL function seg registers on its connections (as ``seg_local_day``), and
    only for anniversaries on instants, which need each row's local date (SPEC §14); PostgreSQL
    uses ``AT TIME ZONE``. None for a missing value or anything that is not an instant."""
    if instant is None or zone is None:
        return None
    text = str(instant)
    try:
        first, changes = _local_days(text[:10], zone)
    except (ValueError, InvalidValue):
        return None
    clock = text[11:19]
    for at, day in changes:
        if clock >= at:
            first = day
    return first


@lru_cache(maxsize=65536)
def _local_days(utc_day: str, zone_key: str) -> tuple[str, tuple[tuple[str, str], ...]]:
    """The local day at the start of a UTC day, and the UTC times of that day (``HH:MM:SS``) at
    which the local day changes, each with the new local day. Computed once per UTC day (a
    million birthdays span some 30,000 days), so that each row costs a lookup, not a conversion."""
    z = zone(zone_key)
    start = datetime.fromisoformat(utc_day).replace(tzinfo=UTC)
    try:
        first = start.astimezone(z).date()
        last = (start + timedelta(seconds=86399)).astimezone(z).date()
    except OverflowError:  # the first or last hours of the calendar: the calendar's own first or last day
        return ("0001-01-01" if start.year == 1 else "9999-12-31"), ()
    changes = []
    day = first
    while day < last:
        day += timedelta(days=1)
        changes.append((day_start(day, z).strftime("%H:%M:%S"), day.isoformat()))
    return first.isoformat(), tuple(changes)


def format_local(instant: str, z: tzinfo) -> str:
    """A stored instant as people read it (SPEC §9): local time in ``z`` with its offset,
    ``2026-11-29 08:00 +04:00`` (seconds only when there are some). A value that is not a stored
    instant is returned as it is."""
    if not isinstance(instant, str) or not STORED_INSTANT.match(instant):
        return instant
    try:
        local = datetime.fromisoformat(instant[:19]).replace(tzinfo=UTC).astimezone(z)
    except (ValueError, OverflowError):  # the first or last hours of the calendar, out of range there
        local = datetime.fromisoformat(instant[:19]).replace(tzinfo=UTC)
    clock = f"{local:%H:%M}" if not local.second else f"{local:%H:%M:%S}"
    offset = local.utcoffset() or timedelta(0)
    sign = "-" if offset < timedelta(0) else "+"
    minutes = abs(int(offset.total_seconds())) // 60
    text = f"{local.year:04d}-{local.month:02d}-{local.day:02d} {clock} {sign}{minutes // 60:02d}:{minutes % 60:02d}"
    return text
