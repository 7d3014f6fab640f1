"""Fields: the built-in customer fields and the custom attributes, and the registry that names them.

A *field* is a built-in customer field (``language``, ``tags``...) or a custom attribute. Each has a
type; the type decides how a raw value becomes the stored one (``values.py``) and which operators
apply to it (``operators.py``). The registry is the only source of SQL column names.
"""

from __future__ import annotations

import re
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
            raise UsageError(f'unknown {what} "{name}"{did_you_mean(name, self.names(), quoted=False)}')
        return f
