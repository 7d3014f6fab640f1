"""Fields and their values: one normalization shared by the importer and the filter language.

A *field* is a built-in customer field (``language``, ``tags``...) or a custom attribute. Each has a
type; the type decides how a raw value (a CSV cell, a JSON value, a filter literal) becomes the value
that is stored and compared, and which operators apply to it.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Iterable
from datetime import UTC, date, datetime, time
from enum import StrEnum
from functools import cache, lru_cache
from typing import NamedTuple


class FieldType(StrEnum):
    TEXT = "text"
    NUMBER = "number"
    BOOLEAN = "boolean"
    DATE = "date"
    ENUM = "enum"
    ARRAY = "array"
    LANGUAGE = "language"
    COUNTRY = "country"
    PLATFORM = "platform"


#: Types a custom attribute may have (SPEC §2).
ATTRIBUTE_TYPES = (
    FieldType.TEXT,
    FieldType.NUMBER,
    FieldType.BOOLEAN,
    FieldType.DATE,
    FieldType.ENUM,
    FieldType.ARRAY,
)

LIST_TYPES = frozenset({FieldType.ARRAY})
PLATFORMS = ("whatsapp", "instagram", "webchat", "messenger", "telegram", "sms", "email")
TRUE_WORDS = frozenset({"true", "yes", "1", "y", "t"})
FALSE_WORDS = frozenset({"false", "no", "0", "n", "f"})


class InvalidValue(ValueError):
    """A raw value that is not of its field's type; the message says why, for a user."""


#: Unicode's Default_Ignorable_Code_Point property (DerivedCoreProperties.txt, Unicode 14.0.0, the
#: version of Python 3.11's ``unicodedata``): zero-width joiners and spaces, bidi marks and
#: isolates, the soft hyphen, variation selectors, tags... invisible characters that ``fold``
#: removes. Python has no accessor for the property, hence this table of its ranges.
_DEFAULT_IGNORABLE = re.compile(
    "[\u00ad\u034f\u061c\u115f\u1160\u17b4\u17b5\u180b-\u180f\u200b-\u200f\u202a-\u202e\u2060-\u206f"
    "\u3164\ufe00-\ufe0f\ufeff\uffa0\ufff0-\ufff8\U0001bca0-\U0001bca3\U0001d173-\U0001d17a"
    "\U000e0000-\U000e0fff]"
)


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


class Field(NamedTuple):
    """A field as the filter language, the importer and the store see it.

    ``column`` is the SQL column holding the value (a list's is a JSON array); ``fold_column`` holds
    the folded copy of a text value, or of a list's elements as ``ITEM_SEP``-delimited text.
    Columns come only from this registry, never from user input.
    """

    name: str
    type: FieldType
    column: str
    fold_column: str | None = None
    enum_values: tuple[str, ...] = ()
    builtin: bool = True
    required: bool = False  # never missing (``marketing_opt_out``)
    aliases: tuple[str, ...] = ()

    @property
    def is_list(self) -> bool:
        return self.type is FieldType.ARRAY


BUILTIN_FIELDS: tuple[Field, ...] = (
    Field("id", FieldType.TEXT, "id", "id_fold"),
    Field("name", FieldType.TEXT, "name", "name_fold"),
    Field("email", FieldType.TEXT, "email", "email_fold"),
    Field("phone", FieldType.TEXT, "phone", "phone_fold"),
    Field("language", FieldType.LANGUAGE, "language"),
    Field("platform", FieldType.PLATFORM, "platform"),
    Field("country", FieldType.COUNTRY, "country"),
    Field("tags", FieldType.ARRAY, "tags", "tags_fold", aliases=("tag",)),
    Field("created_at", FieldType.DATE, "created_at", aliases=("date_created", "created")),
    Field(
        "last_interaction_at",
        FieldType.DATE,
        "last_interaction_at",
        aliases=("last_interaction",),
    ),
    Field(
        "marketing_opt_out",
        FieldType.BOOLEAN,
        "marketing_opt_out",
        required=True,
        aliases=("opted_out", "opt_out"),
    ),
)

BUILTIN_BY_NAME: dict[str, Field] = {}
for _f in BUILTIN_FIELDS:
    for _n in (_f.name, *_f.aliases):
        BUILTIN_BY_NAME[_n] = _f

ATTRIBUTE_NAME_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_ \-]{0,62}$")


@lru_cache(maxsize=4096)  # called for every key of every JSON record
def attribute_column(name: str) -> str:
    """The SQL column of a custom attribute: ``attr_`` and its name in lower snake case."""
    return "attr_" + name.strip().lower().replace(" ", "_").replace("-", "_")


@lru_cache(maxsize=4096)
def check_attribute_name(name: str) -> str:
    """Return the trimmed name if it can be a custom attribute, else raise InvalidValue."""
    name = name.strip()
    if name.lower() in BUILTIN_BY_NAME:
        raise InvalidValue(f'"{name}" is a built-in field, not a custom attribute')
    if not ATTRIBUTE_NAME_RE.match(name) or "__" in attribute_column(name):
        raise InvalidValue(
            f'"{name}" cannot be an attribute name: use a letter, then letters, digits, '
            "spaces, '-' or '_' (at most 63 characters)"
        )
    return name


def attribute_field(name: str, type_: FieldType, enum_values: tuple[str, ...] = ()) -> Field:
    column = attribute_column(name)
    fold_column = column + "__fold" if type_ in (FieldType.TEXT, FieldType.ARRAY) else None
    return Field(name, type_, column, fold_column, enum_values=enum_values, builtin=False)


# --- value normalization ---------------------------------------------------------------------


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
    text = _as_text(raw).replace("_", "\0")  # refuse Python's 1_000 spelling
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


def format_instant(value: datetime) -> str:
    """The stored form of an instant: UTC, to the second, fixed width, so text order is time order."""
    v = value.astimezone(UTC)
    return f"{v.year:04d}-{v.month:02d}-{v.day:02d}T{v.hour:02d}:{v.minute:02d}:{v.second:02d}Z"


_DATE_ONLY_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def parse_date(raw: object) -> tuple[datetime, bool]:
    """Parse an ISO 8601 date or datetime; return (UTC instant, whether it was a date only).

    A datetime without an offset is UTC; a date only is midnight UTC.
    """
    text = _as_text(raw)
    return _parse_date_text(text)


@lru_cache(maxsize=8192)  # bounded: an import of a million distinct dates must not grow memory
def _parse_date_text(text: str) -> tuple[datetime, bool]:
    if not text or not text[:4].isdigit():
        raise InvalidValue(f'"{text}" is not an ISO 8601 date (like 2026-01-31 or 2026-01-31T08:00:00Z)')
    if _DATE_ONLY_RE.match(text):
        try:
            d = date.fromisoformat(text)
        except ValueError:
            raise InvalidValue(f'"{text}" is not a valid date') from None
        return datetime.combine(d, time(0), UTC), True
    try:
        dt = datetime.fromisoformat(text)
    except ValueError:
        raise InvalidValue(
            f'"{text}" is not an ISO 8601 date (like 2026-01-31 or 2026-01-31T08:00:00Z)'
        ) from None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    if re.fullmatch(r"\d{8}", text):  # ISO basic format date: 20260131
        return dt, True
    try:
        return dt.astimezone(UTC).replace(microsecond=0), False
    except OverflowError:  # 0001-01-01T00:00:00+14:00 is in year 0 in UTC
        edge = f"before {EARLIEST}, the earliest" if dt.year == 1 else f"after {LATEST}, the latest"
        raise InvalidValue(f'"{text}" is out of range: in UTC it is {edge} instant seg stores') from None


#: The instants seg stores: UTC, years 0001 to 9999, to the second.
EARLIEST, LATEST = "0001-01-01T00:00:00Z", "9999-12-31T23:59:59Z"


def normalize_date(raw: object) -> str:
    return format_instant(parse_date(raw)[0])


def normalize_platform(raw: object) -> str:
    text = _as_text(raw).lower()
    if text not in PLATFORMS:
        raise InvalidValue(f'"{_as_text(raw)}" is not a platform (one of {", ".join(PLATFORMS)})')
    return text


@cache
def _language_table() -> dict[str, str]:
    import pycountry  # imported on first use: it costs ~70 ms

    table: dict[str, str] = {}
    for lang in pycountry.languages:
        code = getattr(lang, "alpha_2", None)
        if not code:
            continue
        names = [lang.name, getattr(lang, "common_name", None), getattr(lang, "inverted_name", None)]
        for name in filter(None, names):
            for part in name.split(";"):
                table.setdefault(fold(part.strip()), code)
                table.setdefault(fold(re.sub(r"\s*\(.*\)$", "", part.strip())), code)
        table.setdefault(lang.alpha_3, code)
        table[code] = code
    # Everyday English names that ISO 639 spells otherwise.
    extra = {"greek": "el", "farsi": "fa", "persian": "fa", "kyrgyz": "ky", "pashto": "ps"}
    table.update(extra)
    return table


def normalize_language(raw: object) -> str:
    text = _as_text(raw)
    key = fold(text)
    table = _language_table()
    if key in table:
        return table[key]
    primary = re.split(r"[-_]", key, maxsplit=1)[0]  # BCP 47: ar-OM -> ar
    if primary != key and primary in table and len(primary) in (2, 3):
        return table[primary]
    raise InvalidValue(f'"{text}" is not a known language (use an ISO 639-1 code like ar, or a name like Arabic)')


@cache
def _country_table() -> dict[str, str]:
    import pycountry

    table: dict[str, str] = {}
    for country in pycountry.countries:
        code = country.alpha_2
        for name in (
            country.alpha_2,
            country.alpha_3,
            country.name,
            getattr(country, "common_name", None),
            getattr(country, "official_name", None),
        ):
            if name:
                table.setdefault(fold(name), code)
    table.update({"uk": "GB", "uae": "AE", "usa": "US", "ksa": "SA"})
    return table


def normalize_country(raw: object) -> str:
    text = _as_text(raw)
    code = _country_table().get(fold(text))
    if code is None:
        raise InvalidValue(f'"{text}" is not a known country (use ISO 3166 codes like OM or OMN, or a name like Oman)')
    return code


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


def normalize(f: Field, raw: object) -> object:
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


def normalizer(f: Field):
    """``normalize`` specialized for one field, for the importer's inner loop: plain strings take a
    short path, and values that repeat (languages, countries, enums, booleans) are memoized."""

    def base(raw: object) -> object:
        return normalize(f, raw)

    if f.type is FieldType.TEXT:

        def text(raw: object) -> object:
            if type(raw) is str and "\x00" not in raw and "\ufeff" not in raw:
                return raw.strip() or None
            return base(raw)

        return text
    if f.type is FieldType.ARRAY:

        def items(raw: object) -> object:
            return _split_items(raw) if type(raw) is str else base(raw)

        return items
    if f.type is FieldType.DATE:

        def when(raw: object) -> object:
            if type(raw) is str:
                text = raw.strip()
                if STORED_INSTANT.match(text):  # already as stored: check it is a real date
                    check_day(text[:10])
                    return text
                if not text:
                    return None
            return base(raw)

        return when
    if f.type is FieldType.NUMBER:

        def number(raw: object) -> object:
            if type(raw) is str:
                text = raw.strip()
                if len(text) < 19 and _INT_RE.match(text):  # shorter than any out of SQLite's range
                    return int(text)
                if not text:
                    return None
            return base(raw)

        return number
    memo: dict[object, object] = {}
    limit = 4096

    def memoized(raw: object) -> object:
        key = (type(raw), raw)  # True and 1 hash alike but may normalize differently
        try:
            return memo[key]
        except KeyError:
            value = base(raw)  # raises InvalidValue for bad values, which are not memoized
            if len(memo) < limit:
                memo[key] = value
            return value
        except TypeError:  # an unhashable value (a list): no memo
            return base(raw)

    return memoized


#: An instant as stored (``format_instant``): only its day can still be invalid (``check_day``).
STORED_INSTANT = re.compile(r"\d{4}-\d{2}-\d{2}T(?:[01]\d|2[0-3]):[0-5]\d:[0-5]\dZ\Z")


@lru_cache(maxsize=4096)
def check_day(day: str) -> None:
    try:
        date.fromisoformat(day)
    except ValueError:
        raise InvalidValue(f'"{day}" is not a valid date') from None


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


class TypeInference:
    """Infers a new attribute's type from all of its values at its first import (SPEC §2):
    all booleans -> boolean, all numbers -> number, all ISO dates -> date, JSON arrays -> array,
    else text. Enum is never inferred."""

    def __init__(self) -> None:
        self.candidates = {FieldType.BOOLEAN, FieldType.NUMBER, FieldType.DATE, FieldType.ARRAY}
        self.seen_value = False

    def add(self, raw: object) -> None:
        if is_missing(raw):
            return
        self.seen_value = True
        if not self.candidates:
            return
        if isinstance(raw, list):
            self.candidates &= {FieldType.ARRAY}
            return
        self.candidates.discard(FieldType.ARRAY)
        for candidate in (FieldType.BOOLEAN, FieldType.NUMBER, FieldType.DATE):
            if candidate in self.candidates:
                try:
                    normalize(Field("_", candidate, "_"), raw)
                except InvalidValue:
                    self.candidates.discard(candidate)

    def result(self) -> FieldType | None:
        """The inferred type, or None if the column held no value at all."""
        if not self.seen_value:
            return None
        for candidate in (FieldType.BOOLEAN, FieldType.NUMBER, FieldType.DATE, FieldType.ARRAY):
            if candidate in self.candidates:
                return candidate
        return FieldType.TEXT


class FieldRegistry:
    """Every field a filter or a file may name: the built-ins, their aliases and the declared
    attributes, looked up case-insensitively. The only source of SQL column names."""

    def __init__(self, attributes: list[Field] | tuple[Field, ...] = ()) -> None:
        # Attributes are one and the same when they share a column: "Lifetime Value" is lifetime_value.
        self.attributes = {a.column: a for a in attributes}

    def get(self, name: str) -> Field | None:
        key = name.strip().lower()
        return BUILTIN_BY_NAME.get(key) or self.attributes.get(attribute_column(key))

    def names(self) -> list[str]:
        builtin = [n for f in BUILTIN_FIELDS for n in (f.name, *f.aliases)]
        return builtin + [a.name for a in self.attributes.values()]

    def resolve(self, name: str, what: str = "field") -> Field:
        """The field called ``name``, or a UsageError that names it and suggests the nearest."""
        f = self.get(name)
        if f is None:
            from .errors import UsageError

            near = self.suggest(name)
            hint = f" (did you mean {', '.join(near)}?)" if near else ""
            raise UsageError(f'unknown {what} "{name}"{hint}')
        return f

    def suggest(self, name: str) -> list[str]:
        import difflib

        names = self.names()
        lowered = {n.lower(): n for n in names}
        close = difflib.get_close_matches(name.lower(), list(lowered), n=3, cutoff=0.6)
        return [lowered[c] for c in close]
