"""Values: how a raw value (a CSV cell, a JSON value, a filter literal) becomes the value seg
stores and compares. One normalization, shared by the importer and the filter language.

``normalize(field, raw)`` is the rule for one value; ``normalizer(field)`` gives a ``Normalizer``
whose ``one`` applies the same rule with short paths for the spellings files use most, and whose
``column`` applies it to a whole column of cells (the importer's chunks), normalizing values that
repeat (codes, enums, booleans) once each. Text is compared by its NFKC_Casefold (``fold``).
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Iterable, Sequence
from datetime import datetime, tzinfo
from functools import lru_cache
from typing import NamedTuple

from .errors import InvalidValue
from .fields import Field, FieldType
from .timeutil import STORED_INSTANT, check_day, format_instant

TRUE_WORDS = frozenset({"true", "yes", "1", "y", "t"})
FALSE_WORDS = frozenset({"false", "no", "0", "n", "f"})


#: Unicode's Default_Ignorable_Code_Point property (DerivedCoreProperties.txt, Unicode 14.0.0, the
#: version of Python 3.11's ``unicodedata``): zero-width joiners and spaces, bidi marks and
#: isolates, the soft hyphen, variation selectors, tags... invisible characters that ``fold``
#: removes. Python has no accessor for the property, hence this table of its ranges.
_DEFAULT_IGNORABLE = re.compile(
    "[\u00ad\u034f\u061c\u115f\u1160\u17b4\u17b5\u180b-\u180f\u200b-\u200f\u202a-\u202e\u2060-\u206f"
    "\u3164\ufe00-\ufe0f\ufeff\uffa0\ufff0-\ufff8\U0001bca0-\U0001bca3\U0001d173-\U0001d17a"
    "\U000e0000-\U000e0fff]"
)


def is_utf8(text: str) -> bool:
    """Whether ``text`` can be written as UTF-8 (SQLite, files): a command-line argument or a
    file's bytes that were not UTF-8 reach Python as lone surrogates, which cannot."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def fold(text: str) -> str:
    """Unicode's NFKC_Casefold of text: the form in which text values and filter literals are
    compared (SPEC §2). Case is ignored in every script (``ÉLITE`` = ``élite``), and so are how
    Unicode spells the same text (NFC and NFD ``café``, full-width ``ｖｉｐ``) and default-ignorable
    characters (``v<ZWJ>ip`` = ``vip``)."""
    if text.isascii():  # NFKC leaves ASCII as it is and none of it is default-ignorable
        return text.lower()
    decomposed = unicodedata.normalize("NFKD", text)
    if "\u0345" in decomposed:  # see _fold_by_character
        return _fold_by_character(text)
    return unicodedata.normalize("NFKC", _DEFAULT_IGNORABLE.sub("", decomposed.casefold()))


def _fold_by_character(text: str) -> str:
    """NFKC_Casefold as Unicode defines it for a string: each character mapped on its own, then
    NFC. ``fold``'s shortcut (NFKD, case fold, NFKC of the whole) gives the same except around
    U+0345 (the Greek iota subscript, as in ``ᾳ``), the one combining mark that case folds into a
    letter: NFKD may first move it past other combining marks, and the ``ι`` it becomes would then
    stand elsewhere."""
    return unicodedata.normalize("NFC", "".join(map(_fold_character, text)))


@lru_cache(maxsize=4096)
def _fold_character(char: str) -> str:
    folded = unicodedata.normalize("NFKD", char).casefold()
    return unicodedata.normalize("NFKC", _DEFAULT_IGNORABLE.sub("", folded))


def _as_text(raw: object) -> str:
    if isinstance(raw, str):
        if "\x00" in raw or "\ufeff" in raw:
            check_characters(raw)
        return raw.strip()
    if isinstance(raw, bool):
        return "true" if raw else "false"
    if isinstance(raw, int | float):
        return format_number(raw)
    raise InvalidValue(f"expected a single value, got {type(raw).__name__}")


def is_missing(raw: object) -> bool:
    """Empty values (``""``, white space, JSON ``null``, an empty list) are missing values."""
    if raw is None:
        return True
    if isinstance(raw, str):
        return not raw.strip()
    if isinstance(raw, list):  # not recursive: a list inside a list is a value (an invalid one)
        return all(v is None or (isinstance(v, str) and not v.strip()) for v in raw)
    return False


def check_characters(text: str) -> None:
    """Refuse a NUL (SQLite's text functions stop at it) and a byte order mark inside a value
    (U+FEFF: what is left where two files were joined into one; never part of a real value)."""
    if "\x00" in text:
        raise InvalidValue("contains a NUL character")
    if "\ufeff" in text:
        raise InvalidValue("contains a byte order mark (U+FEFF), as where two files were joined")


def shown(text: str, limit: int = 40) -> str:
    """A value quoted in a message, shortened if long: a 5,000-digit number is not repeated whole."""
    return text if len(text) <= limit else f"{text[: limit - 10]}...{text[-6:]} ({len(text):,} characters)"


def normalize_text(raw: object) -> str:
    return _as_text(raw)


_NUMBER_RE = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")
_INT_RE = re.compile(r"^[+-]?\d+$")


#: Whole numbers are stored as SQLite's 64-bit integers; a number written with a decimal point or
#: an exponent is a float (a double), exact or not, as in any spreadsheet.
INTEGER_MIN, INTEGER_MAX = -(2**63), 2**63 - 1


def normalize_number(raw: object) -> int | float:
    """A number as stored. A whole number beyond SQLite's 64-bit integers is refused, not rounded
    into a float (write it with a decimal point for that); so are a float beyond ±1.8e308 and one
    so small that it would become 0."""
    if isinstance(raw, bool):
        raise InvalidValue(f"{str(raw).lower()} is not a number")
    if isinstance(raw, int):
        if INTEGER_MIN <= raw <= INTEGER_MAX:
            return raw
        raise InvalidValue(_out_of_range(str(raw) if abs(raw) < 10**40 else "a number of over 40 digits"))
    if isinstance(raw, float):
        if not math.isfinite(raw):
            raise InvalidValue("a number out of range (at most ±1.8e308)")
        return int(raw) if raw.is_integer() and abs(raw) < 2**53 else raw
    text = _as_text(raw)
    if not text.isascii():  # Arabic-Indic or full-width digits
        from .dateforms import ascii_digits

        text = ascii_digits(text)
    text = text.replace("_", "\0")  # refuse Python's 1_000 spelling
    if not _NUMBER_RE.match(text):
        raise InvalidValue(f'"{shown(_as_text(raw))}" is not a number')
    if _INT_RE.match(text):
        if len(text.lstrip("+-").lstrip("0")) > 19:  # before int(): 5,000 digits raise ValueError
            raise InvalidValue(_out_of_range(text))
        return _whole(int(text), text)
    value = float(text)
    if not math.isfinite(value):
        raise InvalidValue(f'"{shown(text)}" is out of range (at most ±1.8e308)')
    if value == 0 and re.search(r"[1-9]", text.partition("e")[0].partition("E")[0]):
        raise InvalidValue(f'"{shown(text)}" is too close to 0 to be stored (it would become 0)')
    return int(value) if value.is_integer() and abs(value) < 2**53 else value


def _whole(value: int, text: str) -> int:
    if not INTEGER_MIN <= value <= INTEGER_MAX:
        raise InvalidValue(_out_of_range(text))
    return value


def _out_of_range(text: str) -> str:
    return (
        f'"{shown(text)}" is out of range for a whole number (at most ±9223372036854775807); '
        "write it with a decimal point to store it as an approximate number"
    )


def format_number(value: int | float) -> str:
    if isinstance(value, float) and value.is_integer() and abs(value) < 2**53:
        return str(int(value))
    return str(value) if isinstance(value, int) else repr(value)


def normalize_boolean(raw: object) -> bool:
    if isinstance(raw, bool):
        return raw
    text = _as_text(raw).lower()
    if text in TRUE_WORDS:
        return True
    if text in FALSE_WORDS:
        return False
    raise InvalidValue(f'"{_as_text(raw)}" is not a boolean (use true/false, yes/no, 1/0)')


def normalize_date(raw: object, context: ValueContext | None = None) -> str:
    """An instant as stored, from any date form of SPEC §8 (``dateforms``); a date or datetime
    written without an offset is read in the context's zone."""
    context = context or PLAIN
    text = _as_text(raw)
    from .dateforms import read_date  # here, as names and phones below: seg count needs none of them

    return format_instant(read_date(text, context.zone, context.dayfirst, context.date_format)[0])


def normalize_platform(raw: object) -> str:
    from .names import platform_code

    return platform_code(_as_text(raw))


def normalize_language(raw: object) -> str:
    from .names import language_code

    return language_code(_as_text(raw))


def normalize_country(raw: object) -> str:
    from .names import country_code

    return country_code(_as_text(raw))


def normalize_phone(raw: object, region: str | None = None) -> str:
    """A phone number in E.164 (``phones.normalize_phone``), read in ``region`` if it has no
    country code."""
    if not isinstance(raw, str):  # a JSON number: its digits
        raw = _as_text(raw)
    elif "\x00" in raw or "\ufeff" in raw:
        check_characters(raw)
    from .phones import normalize_phone as e164

    return e164(raw, region)


def normalize_enum(raw: object, values: tuple[str, ...]) -> str:
    text = _as_text(raw)
    key = fold(text)
    for value in values:
        if fold(value) == key:
            return value
    raise InvalidValue(f'"{text}" is not one of {", ".join(values)}')


def normalize_list(raw: object) -> list[str]:
    """Tags and arrays: a list or a comma-separated string; trimmed, empties dropped, and
    duplicates that differ only in case collapsed to the first spelling seen."""
    if isinstance(raw, str):
        items: list[object] = raw.split(",")
    elif isinstance(raw, list):
        items = []
        for item in raw:
            if isinstance(item, list | dict):
                raise InvalidValue("a list element must be a single value")
            items.append(item)
    else:
        items = [raw]
    seen: set[str] = set()
    out: list[str] = []
    for item in items:
        if item is None:
            continue
        text = _check_no_separator(_as_text(item))
        key = fold(text)
        if text and key not in seen:
            seen.add(key)
            out.append(text)
    return out


def unique_items(items: Iterable[str]) -> list[str]:
    """Stored list elements with those that fold alike (``VIP``, ``vip``) collapsed to the first, as
    ``normalize_list`` collapses them, without checking them again."""
    seen: set[str] = set()
    out: list[str] = []
    for text in items:
        key = fold(text)
        if text and key not in seen:
            seen.add(key)
            out.append(text)
    return out


#: Separates a list's folded elements in its fold column: ``\x1fvip\x1flead\x1f``. An element
#: never contains it (``normalize_list`` refuses it), so "has element X" is a substring test.
ITEM_SEP = "\x1f"


def _check_no_separator(text: str) -> str:
    if ITEM_SEP in text:
        raise InvalidValue("a list element cannot contain the control character U+001F")
    return text


def fold_items(elements: list[str] | None) -> str | None:
    """The fold column of a list: its folded elements, each between two ``ITEM_SEP``."""
    if not elements:
        return None
    return ITEM_SEP + ITEM_SEP.join(map(fold, elements)) + ITEM_SEP


class ValueContext(NamedTuple):
    """How a source writes its values, beyond each field's type: the zone of its naive timestamps
    (None: UTC), whether ``03/04/2026`` is day first (None: such a date is an error), the region
    of phone numbers written without a country code, and a column's date format (``epoch``, or a
    ``strftime`` pattern). Filter literals and imports without a profile use the database's
    settings."""

    zone: tzinfo | None = None
    dayfirst: bool | None = None
    default_region: str | None = None
    date_format: str | None = None


#: Values read as SPEC §2 reads them when nothing else is said.
PLAIN = ValueContext()


def normalize(f: Field, raw: object, context: ValueContext = PLAIN) -> object:
    """The stored value of ``raw`` for field ``f``; ``None`` for a missing value.

    Raises InvalidValue with a message for the user when ``raw`` is not of the field's type.
    """
    if is_missing(raw):
        return None
    if isinstance(raw, dict):
        raise InvalidValue("expected a value, got an object")
    if isinstance(raw, list) and f.type is not FieldType.ARRAY:
        raise InvalidValue("expected a single value, got a list")
    if f.type is FieldType.ENUM:
        return normalize_enum(raw, f.enum_values)
    if f.type is FieldType.DATE:
        return normalize_date(raw, context)
    if f.is_phone:
        return normalize_phone(raw, context.default_region)
    return _NORMALIZE[f.type](raw)


_NORMALIZE = {
    FieldType.TEXT: normalize_text,
    FieldType.NUMBER: normalize_number,
    FieldType.BOOLEAN: normalize_boolean,
    FieldType.DATE: normalize_date,
    FieldType.ARRAY: lambda raw: normalize_list(raw) or None,
    FieldType.LANGUAGE: normalize_language,
    FieldType.COUNTRY: normalize_country,
    FieldType.PLATFORM: normalize_platform,
}


class Normalizer:
    """The normalization of one field: ``one`` for a value, ``column`` for a column of cells.
    ``column(cells)`` gives what ``[one(c) for c in cells]`` gives, and raises InvalidValue if
    any cell is invalid; subclasses take short paths for the spellings files use most."""

    def __init__(self, f: Field, context: ValueContext = PLAIN) -> None:
        self.field = f
        self.context = context

    def one(self, raw: object) -> object:
        return normalize(self.field, raw, self.context)

    def column(self, cells: Sequence[object], *, strings: bool = False) -> list:
        """``[one(c) for c in cells]``, faster. ``strings``: every cell is known to be a ``str``."""
        if strings:
            return self._strings(list(cells))
        if all(type(c) is str or c is None for c in cells):
            return self._strings(["" if c is None else c for c in cells])  # JSON null: missing
        return [self.one(c) for c in cells]

    def _strings(self, cells: list[str]) -> list:
        return [self.one(c) for c in cells]


class _Text(Normalizer):
    def one(self, raw: object) -> object:
        if type(raw) is str and "\x00" not in raw and "\ufeff" not in raw:
            return raw.strip() or None
        return normalize(self.field, raw, self.context)

    def _strings(self, cells: list[str]) -> list:
        check_characters("".join(cells))
        return [v.strip() or None for v in cells]


class _List(Normalizer):
    def one(self, raw: object) -> object:
        return _split_items(raw) if type(raw) is str else normalize(self.field, raw, self.context)


_INTEGER = re.compile(r"-?[1-9]\d{0,14}\Z").match  # as int() reads it, and within SQLite's range
_DECIMAL = re.compile(r"-?\d{1,15}\.\d{1,6}\Z").match  # a price: float(), nothing to check


class _Number(Normalizer):
    def one(self, raw: object) -> object:
        if type(raw) is str:
            text = raw.strip()
            if len(text) < 19 and _INT_RE.match(text):  # shorter than any out of SQLite's range
                return int(text)
            if not text:
                return None
        return normalize(self.field, raw, self.context)

    def _strings(self, cells: list[str]) -> list:
        out = []
        for raw in cells:
            if _DECIMAL(raw):
                value = float(raw)
                out.append(int(value) if value.is_integer() else value)
            elif _INTEGER(raw):
                out.append(int(raw))
            else:
                out.append(self.one(raw))
        return out


_DAY = re.compile(r"\d{4}-\d{2}-\d{2}\Z").match
_OFFSET_INSTANT = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}[+-]\d{2}:\d{2}\Z").match


class _Date(Normalizer):
    def one(self, raw: object) -> object:
        if type(raw) is str:
            text = raw.strip()
            if STORED_INSTANT.match(text):  # already as stored: check it is a real date
                check_day(text[:10])
                return text
            if not text:
                return None
        return normalize(self.field, raw, self.context)

    def _strings(self, cells: list[str]) -> list:
        """The spellings exports use most take a short path: an instant in the stored form stays
        as it is, a day becomes its midnight UTC, an instant with an offset is moved to UTC, an
        empty cell is missing; each distinct day is checked once. Anything else (white space,
        other forms, invalid dates) goes through ``one``."""
        out = []
        days: set[str] = set()
        local_is_utc = self.context.zone is None  # else a day is its local midnight: through ``one``
        for raw in cells:
            if STORED_INSTANT.match(raw):
                value = raw
            elif not raw:
                out.append(None)
                continue
            elif _DAY(raw) and local_is_utc:
                value = raw + "T00:00:00Z"
            elif _OFFSET_INSTANT(raw):
                try:
                    value = format_instant(datetime.fromisoformat(raw))
                except (ValueError, OverflowError):  # not a date; out of range once in UTC
                    value = self.one(raw)  # raises InvalidValue, saying why
            else:
                out.append(self.one(raw))
                continue
            days.add(raw[:10])
            out.append(value)
        for day in days:
            check_day(day)
        return out


class _Memoized(Normalizer):
    """Codes, enums and booleans: few distinct values, each normalized once."""

    LIMIT = 4096

    def __init__(self, f: Field, context: ValueContext = PLAIN) -> None:
        super().__init__(f, context)
        self.memo: dict[tuple[type, object], object] = {}

    def one(self, raw: object) -> object:
        key = (type(raw), raw)  # True and 1 hash alike but may normalize differently
        try:
            return self.memo[key]
        except KeyError:
            value = normalize(self.field, raw, self.context)  # raises InvalidValue for bad values, not memoized
            if len(self.memo) < self.LIMIT:
                self.memo[key] = value
            return value
        except TypeError:  # an unhashable value (a list): no memo
            return normalize(self.field, raw, self.context)

    def _strings(self, cells: list[str]) -> list:
        table = {raw: self.one(raw) for raw in set(cells)}
        return list(map(table.__getitem__, cells))


class Phone(Normalizer):
    """Phones: E.164, each read in its row's region if given, else the context's default region."""

    def one(self, raw: object, region: str | None = None) -> object:
        if is_missing(raw):
            return None
        if isinstance(raw, list | dict):
            return normalize(self.field, raw, self.context)  # says why it is not a value
        return normalize_phone(raw, region or self.context.default_region)

    def column(self, cells: Sequence[object], *, strings: bool = False, regions: list | None = None) -> list:
        if strings or all(type(c) is str for c in cells):
            cells = list(cells)
            check_characters("".join(cells))
            from .phones import phone_column

            return phone_column(cells, regions, self.context.default_region)
        return [self.one(c, regions[i] if regions else None) for i, c in enumerate(cells)]


_NORMALIZERS = {FieldType.TEXT: _Text, FieldType.ARRAY: _List, FieldType.NUMBER: _Number, FieldType.DATE: _Date}


def normalizer(f: Field, context: ValueContext = PLAIN) -> Normalizer:
    """The Normalizer of field ``f`` for values written as ``context`` says."""
    if f.is_phone:
        return Phone(f, context)
    return _NORMALIZERS.get(f.type, _Memoized)(f, context)


def _split_items(text: str) -> list[str] | None:
    """A comma-separated cell as list items, as normalize_list does, without its generality."""
    check_characters(text)
    _check_no_separator(text)
    seen: set[str] = set()
    out = []
    for part in text.split(","):
        item = part.strip()
        if item:
            key = fold(item)
            if key not in seen:
                seen.add(key)
                out.append(item)
    return out or None


def name_key(name: str) -> str:
    """Segment names are unique case-insensitively, in every script, and however Unicode spells
    them (their NFKC_Casefold, as text values compare)."""
    return " ".join(fold(name).split())
