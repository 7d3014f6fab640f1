"""Fields: the built-in customer fields and the custom attributes, and the registry that names them.

A *field* is a built-in customer field (``language``, ``tags``...) or a custom attribute. Each has a
type; the type decides how a raw value becomes the stored one (``values.py``) and which operators
apply to it (``operators.py``). The registry is the only source of SQL column names.
"""

from __future__ import annotations

import re
import unicodedata
from enum import StrEnum
from functools import lru_cache
from typing import NamedTuple

from .errors import InvalidValue, UsageError, did_you_mean


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
    is_phone: bool = False  # text stored in E.164 (SPEC §8)

    @property
    def is_list(self) -> bool:
        return self.type is FieldType.ARRAY


BUILTIN_FIELDS: tuple[Field, ...] = (
    Field("id", FieldType.TEXT, "id", "id_fold"),
    Field("name", FieldType.TEXT, "name", "name_fold"),
    Field("email", FieldType.TEXT, "email", "email_fold"),
    Field("phone", FieldType.TEXT, "phone", "phone_fold", is_phone=True),
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

#: The longest attribute name: any header text is one (SPEC §8), within reason.
MAX_ATTRIBUTE_NAME = 200
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


@lru_cache(maxsize=4096)  # called for every key of every JSON record
def slug(name: str) -> str:
    """The slug of an attribute name (SPEC §14), which filters accept for it: lower case, Unicode
    letters and digits kept (with their combining marks), each run of other characters turned
    into one ``_``, leading and trailing ``_`` trimmed (``Lifetime Value (OMR)`` ->
    ``lifetime_value_omr``); a slug that equals a built-in field or alias gets the prefix
    ``attr_`` (the older Shopify export's ``Country`` is ``attr_country``). Compatibility forms
    are read as their plain letters (``ｖｉｐ`` is ``vip``) and invisible format characters
    (zero-width joiners, bidi marks) are dropped."""
    text = unicodedata.normalize("NFKC", name.strip()).lower()
    out = []
    gap = False
    for char in text:
        if char.isalnum() or (out and unicodedata.category(char)[0] == "M"):
            if gap and out:
                out.append("_")
            out.append(char)
            gap = False
        elif unicodedata.category(char) != "Cf":
            gap = True
    result = "".join(out)
    return "attr_" + result if result in BUILTIN_BY_NAME else result


_ASCII_SLUG = re.compile(r"[a-z0-9_]{1,60}\Z")


@lru_cache(maxsize=4096)
def attribute_column(name: str) -> str:
    """The SQL column of a new custom attribute: ``attr_`` and its slug when the slug is plain
    ASCII (``attr_lifetime_value_omr``); otherwise ``attr_``, the ASCII letters of the slug
    with their accents dropped, and ``u`` and 8 hex digits of a hash of the slug
    (``Café visits`` -> ``attr_cafe_visits_u1f0c92aa``, ``المدينة`` -> ``attr_u5d3e...``), so
    that a column is always a plain identifier and two different slugs never share one. An
    attribute keeps the column it was created with (the ``attributes`` table holds it)."""
    s = slug(name)
    if _ASCII_SLUG.match(s):
        return "attr_" + s
    import hashlib

    plain = unicodedata.normalize("NFKD", s).encode("ascii", "ignore").decode()
    plain = re.sub(r"[^a-z0-9]+", "_", plain).strip("_")[:40]
    digest = hashlib.blake2s(s.encode("utf-8"), digest_size=4).hexdigest()
    return f"attr_{plain}_u{digest}" if plain else f"attr_u{digest}"


@lru_cache(maxsize=4096)
def check_attribute_name(name: str, *, builtin_ok: bool = False) -> str:
    """Return the trimmed name if it can be a custom attribute, else raise InvalidValue. Any text
    can (SPEC §8: a header such as ``Lifetime Value (OMR)``), except an empty one, one with
    control characters, one over 200 characters, and, unless ``builtin_ok`` (a header that a
    profile leaves to an attribute, as the older Shopify export's ``Country``), the name of a
    built-in field."""
    name = name.strip()
    if not name:
        raise InvalidValue("an attribute name cannot be empty")
    if not builtin_ok and name.lower() in BUILTIN_BY_NAME:
        raise InvalidValue(f'"{name}" is a built-in field, not a custom attribute')
    if _CONTROL.search(name) or len(name) > MAX_ATTRIBUTE_NAME:
        raise InvalidValue(
            f'"{name[:60]}" cannot be an attribute name: it holds a control character or is longer than '
            f"{MAX_ATTRIBUTE_NAME} characters"
        )
    return name


def attribute_field(name: str, type_: FieldType, enum_values: tuple[str, ...] = (), column: str | None = None) -> Field:
    """A custom attribute; ``column``: the one it was created with (default: ``attribute_column``)."""
    column = column or attribute_column(name)
    fold_column = column + "__fold" if type_ in (FieldType.TEXT, FieldType.ARRAY) else None
    return Field(name, type_, column, fold_column, enum_values=enum_values, builtin=False)


class FieldRegistry:
    """Every field a filter or a file may name: the built-ins, their aliases and the declared
    attributes, looked up case-insensitively. The only source of SQL column names."""

    def __init__(self, attributes: list[Field] | tuple[Field, ...] = ()) -> None:
        self.attributes = {a.column: a for a in attributes}
        # An attribute is named by its name or its slug: "Lifetime Value (OMR)" is lifetime_value_omr.
        self._by_slug = {slug(a.name): a for a in self.attributes.values()}
        self._by_name = {a.name.strip().lower(): a for a in self.attributes.values()}

    def get(self, name: str) -> Field | None:
        """The field called ``name``: a built-in field or alias (any case), else the attribute
        whose slug is ``name``'s slug (or, for a name without letters or digits, whose name it is)."""
        key = name.strip().lower()
        return BUILTIN_BY_NAME.get(key) or self._by_slug.get(slug(name) or "\0") or self._by_name.get(key)

    def attribute(self, name: str) -> Field | None:
        """The stored attribute ``name`` means (by its slug), never a built-in field."""
        return self._by_slug.get(slug(name) or "\0") or self._by_name.get(name.strip().lower())

    def names(self) -> list[str]:
        builtin = [n for f in BUILTIN_FIELDS for n in (f.name, *f.aliases)]
        return builtin + [a.name for a in self.attributes.values()]

    def resolve(self, name: str, what: str = "field") -> Field:
        """The field called ``name``, or a UsageError that names it and suggests the nearest."""
        f = self.get(name)
        if f is None:
            raise UsageError(f'unknown {what} "{name}"{did_you_mean(name, self.names(), quoted=False)}')
        return f
