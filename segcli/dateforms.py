"""Dates as exports write them (SPEC §8), read into instants: ISO 8601 (``timeutil.parse_date``),
``2026-01-13 09:09:32 UTC`` (Chatwoot), ``18/11/2026 21:53`` (day or month first, as the source
says), epoch seconds or milliseconds where a column says ``format: epoch``, a column's own
``strftime`` format, and all of these in Arabic-Indic or full-width digits.

A time without ``UTC`` or an offset is a wall-clock time in the source's zone, and a date only is
its local midnight (SPEC §9); ``UTC`` and offsets are never moved.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import UTC, datetime, tzinfo
from functools import lru_cache

from .errors import InvalidValue
from .timeutil import localize, parse_date

EPOCH = "epoch"

_SLASHED = re.compile(
    r"(\d{1,2})([/.-])(\d{1,2})\2(\d{4})(?:[ T]+(\d{1,2}):(\d{2})(?::(\d{2}))?\s*([AaPp][Mm])?)?\Z", re.ASCII
)
_YEAR_FIRST = re.compile(r"(\d{4})([/.])(\d{1,2})\2(\d{1,2})(?:[ T]+(\d{1,2}):(\d{2})(?::(\d{2}))?)?\Z", re.ASCII)
_UTC_SUFFIX = re.compile(r"(\d.*?)\s*(?:UTC|GMT)\Z", re.IGNORECASE)
_EPOCH = re.compile(r"[0-9]{1,13}\Z")
_DIGITS = str.maketrans({chr(base + i): str(i) for base in (0x660, 0x6F0) for i in range(10)} | {"٫": "."})
_MONTHS = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
]


def ascii_digits(text: str) -> str:
    """Arabic-Indic and full-width digits (and full-width punctuation) as ASCII: ``٢٠٢٦`` -> ``2026``."""
    if text.isascii():
        return text
    return unicodedata.normalize("NFKC", text).translate(_DIGITS)


def read_date(
    text: str, zone: tzinfo | None, dayfirst: bool | None = None, fmt: str | None = None
) -> tuple[datetime, bool]:
    """(UTC instant, whether it was a date only) of ``text`` in any form of SPEC §8: a naive
    time is a wall-clock time in ``zone`` (None: UTC); ``dayfirst`` says how to read a slashed
    date that could be either order (None: it is an error); ``fmt`` is a column's format
    (``epoch``, or a ``strftime`` pattern such as ``%d/%m/%Y``). InvalidValue says why not."""
    return _read(ascii_digits(text.strip()), zone, dayfirst, fmt)


@lru_cache(maxsize=8192)  # bounded: a million distinct dates must not grow memory
def _read(text: str, zone: tzinfo | None, dayfirst: bool | None, fmt: str | None) -> tuple[datetime, bool]:
    if fmt == EPOCH and _EPOCH.match(text):
        return _epoch(text), False
    strict = dayfirst is not None  # the source said the order: a part over 12 cannot override it
    if fmt and fmt != EPOCH:
        try:
            value = datetime.strptime(text, fmt)
        except ValueError:
            pass  # not in the column's format: read in the usual forms
        else:
            date_only = not any(d in fmt for d in ("%H", "%I", "%M", "%S", "%X", "%c"))
            return _instant(value, zone, text), date_only
        if dayfirst is None and "%d" in fmt and "%m" in fmt:
            dayfirst = fmt.index("%d") < fmt.index("%m")
    if m := _SLASHED.match(text):
        first, second = int(m.group(1)), int(m.group(3))
        day_first = _order(text, first, second, dayfirst, strict)
        day, month = (first, second) if day_first else (second, first)
        return _wall(text, int(m.group(4)), month, day, m.group(5), m.group(6), m.group(7), m.group(8), zone)
    if m := _YEAR_FIRST.match(text):
        return _wall(
            text, int(m.group(1)), int(m.group(3)), int(m.group(4)), m.group(5), m.group(6), m.group(7), None, zone
        )
    if m := _UTC_SUFFIX.match(text):
        instant, date_only = parse_date(m.group(1), UTC)
        return instant, date_only
    return parse_date(text, zone)


def slashed(text: str) -> tuple[int, int] | None:
    """The first two parts of a date written ``DD/MM/YYYY`` or ``MM/DD/YYYY`` (either), else None."""
    m = _SLASHED.match(ascii_digits(text.strip()))
    return (int(m.group(1)), int(m.group(3))) if m else None


def _order(text: str, first: int, second: int, dayfirst: bool | None, strict: bool = False) -> bool:
    """Whether a slashed date is day first. ``strict``: as the source says (``--dayfirst``,
    ``--monthfirst``, a profile's ``dayfirst``), and a month over 12 is an invalid value. Else a
    part over 12 can only be the day; a date that could be either order is an error, unless a
    column's format says which."""
    if strict:
        month = second if dayfirst else first
        if month > 12 and first != second:
            how = "day first (--dayfirst, or a profile's dayfirst: true)"
            if not dayfirst:
                how = "month first (--monthfirst, or a profile's dayfirst: false)"
            raise InvalidValue(f'"{text}" is not a date when read {how}: there is no month {month}')
        return bool(dayfirst)
    if first > 12 and second <= 12:
        return True
    if second > 12 and first <= 12:
        return False
    if first == second or (first > 12 and second > 12):
        return True  # 04/04/2026 is the same either way; 13/13 fails as a date below
    if dayfirst is None:
        raise InvalidValue(
            f'"{text}" could be {first} {_MONTHS[second - 1]} or {second} {_MONTHS[first - 1]}: say which with '
            "--dayfirst or --monthfirst (dayfirst: in a profile)"
        )
    return dayfirst


def _wall(text, year, month, day, hour, minute, second, half, zone) -> tuple[datetime, bool]:
    try:
        h = int(hour) if hour is not None else 0
        if half:
            if not 1 <= h <= 12:
                raise ValueError
            h = h % 12 + (12 if half.lower() == "pm" else 0)
        wall = datetime(year, month, day, h, int(minute or 0), int(second or 0))
    except ValueError:
        raise InvalidValue(f'"{text}" is not a valid date') from None
    return _instant(wall, zone, text), hour is None


def _instant(value: datetime, zone: tzinfo | None, text: str) -> datetime:
    if value.tzinfo is None:
        value = localize(value, zone)
    try:
        return value.astimezone(UTC).replace(microsecond=0)
    except OverflowError:
        raise InvalidValue(f'"{text}" is out of range once moved to UTC') from None


def _epoch(text: str) -> datetime:
    """Digits as epoch seconds, or milliseconds when there are 13 of them (SPEC §8)."""
    seconds = int(text) / 1000 if len(text) == 13 else int(text)
    try:
        return datetime.fromtimestamp(int(seconds), UTC)
    except (OverflowError, OSError, ValueError):
        raise InvalidValue(f'"{text}" is out of range as epoch seconds') from None
