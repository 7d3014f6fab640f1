"""Where a file's values land: each key of the file (a header, a JSON key) resolved once to a
``Slot``, which normalizes raw cells (``values.py``) into the stored columns of a customer row."""

from __future__ import annotations

import json

from ..errors import InvalidValue
from ..fields import Field, FieldRegistry, FieldType
from ..values import PLAIN as PLAIN_VALUES
from ..values import ValueContext, fold, fold_items, normalizer
from .read import Record

_JSON_LIST = json.JSONEncoder(ensure_ascii=False).encode


class Slot:
    """Where one field's value lands in a customer row, and how a raw value becomes it."""

    PLAIN, TEXT, BOOLEAN, LIST = range(4)

    def __init__(self, f: Field, index: dict[str, int], context: ValueContext = PLAIN_VALUES) -> None:
        self.field = f
        self.name = f.name
        self.normalizer = normalizer(f, context)
        self.normalize = self.normalizer.one
        self.index = index[f.column]
        self.fold_index = index[f.fold_column] if f.fold_column else None
        self.required = f.required
        self.memo: dict[str, tuple] = {}  # raw list cell -> (JSON, fold) in ``column``
        if f.is_list:
            self.kind = self.LIST
        elif f.fold_column:
            self.kind = self.TEXT
        elif f.type is FieldType.BOOLEAN:
            self.kind = self.BOOLEAN
        else:
            self.kind = self.PLAIN

    def store(self, values: list) -> list[tuple[int, list]]:
        """Normalized values of this field as the stored columns they fill: (row index, values).
        A column at a time, so that a bulk load pays for it in list comprehensions."""
        if self.kind == self.TEXT:
            return [(self.index, values), (self.fold_index, [fold(v) if v is not None else None for v in values])]
        if self.kind == self.BOOLEAN:
            missing = 0 if self.required else None
            return [(self.index, [missing if v is None else (1 if v else 0) for v in values])]
        if self.kind == self.LIST:
            return [
                (self.index, [_JSON_LIST(v) if v else None for v in values]),
                (self.fold_index, list(map(fold_items, values))),
            ]
        return [(self.index, values)]

    def column(self, cells: tuple, strings: bool = False) -> list[tuple[int, list]]:
        """``store`` of a whole column of raw cells, normalized as ``normalize`` does one by one
        (``values.Normalizer.column``); InvalidValue if any cell is invalid. ``strings``: every
        cell is known to be a ``str`` (a CSV's). A list's stored form is remembered per raw cell (a
        CSV's tag cells repeat)."""
        if self.kind == self.LIST and (strings or all(type(c) is str for c in cells)):
            return self._list_column(cells)
        return self.store(self.normalizer.column(cells, strings=strings))

    def _list_column(self, cells: tuple) -> list[tuple[int, list]]:
        memo = self.memo
        jsons, folds = [], []
        for raw in cells:
            try:
                j, f = memo[raw]
            except KeyError:
                items = self.normalize(raw)
                j, f = (_JSON_LIST(items), fold_items(items)) if items else (None, None)
                if len(memo) < MEMO_LIMIT:
                    memo[raw] = (j, f)
            jsons.append(j)
            folds.append(f)
        return [(self.index, jsons), (self.fold_index, folds)]


#: How many distinct raw lists (a CSV's tag cells) a slot remembers the stored form of.
MEMO_LIMIT = 4096


class Plan:
    """Slots by the keys a file uses (header names, JSON keys), resolved once per key; ``context``
    says how the file writes its values (the zone of its naive timestamps)."""

    def __init__(self, registry: FieldRegistry, columns: list[str], context: ValueContext = PLAIN_VALUES) -> None:
        self.registry = registry
        self.context = context
        self.index = {c: i for i, c in enumerate(columns)}
        self.slots: dict[str, Slot | None] = {}

    def slot(self, key: str) -> Slot | None:
        try:
            return self.slots[key]
        except KeyError:
            f = self.registry.get(key)
            slot = self.slots[key] = Slot(f, self.index, self.context) if f is not None else None
            return slot


def validate(record: Record, plan: Plan) -> list[tuple[int, str]]:
    """Normalize the record's cells into ``record.patch``, (row index, stored value) pairs, and
    return its problems."""
    if record.error:
        return [record.error]
    errors = []
    patch = []
    cid = None
    for key, column, raw in record.cells:
        slot = plan.slot(key)
        if slot is None:  # an attribute that had no value anywhere in the file
            continue
        try:
            value = slot.normalize(raw)
        except InvalidValue as exc:
            errors.append((record.column(column), f"{slot.name}: {exc}"))
            continue
        if slot.name == "id":
            cid = value
            if value is None:
                errors.append((record.column(column), "id: empty (every customer needs an id)"))
        patch.extend((i, stored[0]) for i, stored in slot.store([value]))
    if cid is None and not errors:
        errors.append((1, "id: missing"))
    record.patch = patch
    record.id = cid
    return errors
