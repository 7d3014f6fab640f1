"""Types of new attributes: an attribute that is not declared is typed once, at its first
import, from all of that column's values (SPEC §2), read before anything is written."""

from __future__ import annotations

from collections.abc import Callable
from typing import BinaryIO

from ..errors import InvalidValue
from ..fields import Field, FieldType, attribute_column, attribute_field, check_attribute_name
from ..store import Store
from ..values import is_missing, normalize
from .read import header_key, read_csv, read_json_array, read_jsonl


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


def infer_new_attributes(store: Store, fmt: str, open_input: Callable[[], BinaryIO], label: str) -> list[Field]:
    """Read the file once to type every attribute it names that is not declared yet."""
    registry = store.registry()
    inference: dict[str, TypeInference] = {}
    names: dict[str, str] = {}
    known: set[str] = set()

    def add(key: str, raw: object) -> None:
        if key in known:
            return
        if registry.get(key) is not None:
            known.add(key)
            return
        try:
            check_attribute_name(key)
        except InvalidValue:  # not a possible attribute: its rows are reported as invalid later
            return
        names.setdefault(attribute_column(key), key)
        inference.setdefault(attribute_column(key), TypeInference()).add(raw)

    with open_input() as fh:
        if fmt != "csv":  # only the keys and values matter here: no records, no checks
            reader = read_jsonl if fmt == "jsonl" else read_json_array
            objects, _ = reader(fh, label, make=lambda obj, *_: obj)
            for obj in objects:
                if isinstance(obj, dict):
                    nested = obj.get("attributes")
                    for key, raw in obj.items():
                        if key not in known and not (key == "attributes" and isinstance(nested, dict)):
                            add(header_key(key), raw)
                    if isinstance(nested, dict):
                        for key, raw in nested.items():
                            if key not in known:
                                add(header_key(key), raw)
        else:
            header, records, _ = read_csv(fh, label)
            if all(registry.get(header_key(h)) for h in header):
                return []
            for record in records:
                for key, _, raw in record.cells:
                    add(key, raw)
    new = []
    for key, inf in inference.items():
        type_ = inf.result()
        if type_ is not None:
            new.append(attribute_field(names[key], type_))
    return new
