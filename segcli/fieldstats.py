"""``seg fields``: every field a filter may name, what it is, and what the data holds in it."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .fields import BUILTIN_FIELDS, Field, FieldType
from .operators import Shape, applicable

if TYPE_CHECKING:
    from .store import Store

TOP_VALUES = 5

#: How each argument shape is shown after an operator in the list of what a field takes.
_ARGUMENT = {
    Shape.NONE: "",
    Shape.VALUE: " X",
    Shape.LIST: " (a, b)",
    Shape.PAIR: " A and B",
    Shape.DURATION: " N days",
}


def operators_of(f: Field) -> list[str]:
    """The operators that apply to ``f``, each positive form then its negation, as written."""
    out = []
    for op in applicable(f):
        for spelling in (op.spelling, op.negation):
            if spelling:
                out.append(spelling + _ARGUMENT[op.shape])
    return out


def describe_fields(store: Store, top: int = TOP_VALUES) -> list[dict]:
    """Every built-in field and custom attribute (in that order, attributes by name): ``name``,
    ``type``, ``aliases``, ``operators``, ``count`` (customers with a value) and ``top_values``
    (``[{"value", "count"}]``, most common first)."""
    attributes = sorted(store.registry().attributes.values(), key=lambda f: f.name.lower())
    fields = list(BUILTIN_FIELDS) + attributes
    counts = store.field_counts(fields)
    out = []
    for f, count in zip(fields, counts, strict=True):
        values = []
        if count and f.name != "id":  # ids are unique: no value is common
            values = [{"value": _shown(f, v), "count": n} for v, n in store.top_values(f, top)]
        out.append(
            {
                "name": f.name,
                "type": str(f.type),
                "aliases": list(f.aliases),
                "operators": operators_of(f),
                "count": count,
                "top_values": values,
            }
        )
    return out


def _shown(f: Field, value: object) -> object:
    if f.type is FieldType.BOOLEAN and value is not None:
        return bool(value)
    return value
