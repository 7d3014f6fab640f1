"""Types of new attributes: an attribute that is not declared is typed once, at its first
import, from all of that column's values (SPEC §2, with §8's value forms and §14's rules), read
before anything is written.

The reading pass is cheap: CSV rows are read as plain lists, a chunk at a time; each new column
is checked per *distinct* value of the chunk, only against the types still possible, and is
dropped from the pass as soon as it can only be text; the pass ends when every new column is
decided. A column whose profile says ``format`` is a date, and one it inverts a boolean, without
looking.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from typing import BinaryIO

from ..dateforms import read_date, slashed
from ..errors import DataError, InvalidValue
from ..fields import Field, FieldType, attribute_field, slug
from ..values import FALSE_WORDS, TRUE_WORDS, ValueContext, normalize_number
from .columns import raw_value
from .hashes import parse_hash
from .mapping import HeaderError, Layout, Rule
from .read import _object_record, read_csv, read_json_array, read_jsonl

#: Rows read before each round of checks.
CHUNK = 5000
_LEADING_ZERO = re.compile(r"[+-]?0[0-9]")
_PLAIN_NUMBER = re.compile(r"-?[0-9]{1,15}(\.[0-9]{1,15})?\Z")


class TypeInference:
    """A new attribute's type from its values (SPEC §2): all booleans -> boolean, all numbers ->
    number, all dates (any form of §8) -> date, JSON arrays -> array, else text; enum is never
    inferred. Digit strings with a leading 0 (``01234``) or more than 15 digits are text (SPEC
    §14), and a column of slashed dates is day first or month first as its values show."""

    def __init__(self, context: ValueContext) -> None:
        self.candidates = {FieldType.BOOLEAN, FieldType.NUMBER, FieldType.DATE, FieldType.ARRAY}
        self.seen_value = False
        self.context = context
        self.orders: set[bool] = set()  # True: a day-first date seen (13/02), False: month-first

    @property
    def decided(self) -> bool:
        """Text for sure: no other value can change it."""
        return self.seen_value and not self.candidates

    def add_strings(self, cells: Iterable[str]) -> None:
        """A chunk of a CSV column: each distinct value checked once."""
        if self.decided:
            return
        for raw in set(cells):
            text = raw.strip()
            if text:
                self._text(text)
                if self.decided:
                    return

    def add(self, raw: object) -> None:
        """One value of any JSON type."""
        if raw is None or self.decided:
            return
        if isinstance(raw, str):
            if raw.strip():
                self._text(raw.strip())
            return
        if isinstance(raw, list):
            if any(v is not None and (not isinstance(v, str) or v.strip()) for v in raw):
                self.seen_value = True
                self.candidates &= {FieldType.ARRAY}
            return
        self.seen_value = True
        if isinstance(raw, bool):
            self.candidates &= {FieldType.BOOLEAN}
        elif isinstance(raw, int | float):
            self.candidates &= {FieldType.NUMBER}
        else:
            self.candidates.clear()

    def _text(self, text: str) -> None:
        self.seen_value = True
        candidates = self.candidates
        candidates.discard(FieldType.ARRAY)
        if FieldType.BOOLEAN in candidates and text.lower() not in TRUE_WORDS and text.lower() not in FALSE_WORDS:
            candidates.discard(FieldType.BOOLEAN)
        if FieldType.NUMBER in candidates and not _is_number(text):
            candidates.discard(FieldType.NUMBER)
        if FieldType.DATE in candidates and not self._is_date(text):
            candidates.discard(FieldType.DATE)

    def _is_date(self, text: str) -> bool:
        context = self.context
        parts = slashed(text)
        if parts is not None and context.dayfirst is not None:
            # A date in the other order is a date still: the column is one, and that value an
            # invalid one (the order was given), not a reason to store the column as text.
            return any(_reads(text, context, order) for order in (True, False))
        if parts is not None:  # the column's order is decided by its values (SPEC §14)
            first, second = parts
            if first > 12 >= second:
                self.orders.add(True)
            elif second > 12 >= first:
                self.orders.add(False)
            if len(self.orders) > 1:
                return False
            orders = [True] if first > 12 else [False] if second > 12 else [True, False]
            return any(_reads(text, context, order) for order in orders)
        return _reads(text, context, context.dayfirst)

    def result(self) -> FieldType | None:
        """The inferred type, or None if the column held no value at all."""
        if not self.seen_value:
            return None
        for candidate in (FieldType.BOOLEAN, FieldType.NUMBER, FieldType.DATE, FieldType.ARRAY):
            if candidate in self.candidates:
                return candidate
        return FieldType.TEXT

    def dayfirst(self) -> bool | None:
        """How the column's slashed dates are read: as the source says, else as they show."""
        if self.context.dayfirst is not None:
            return self.context.dayfirst
        return next(iter(self.orders)) if len(self.orders) == 1 else None


def _is_number(text: str) -> bool:
    if _PLAIN_NUMBER.match(text):
        return not _LEADING_ZERO.match(text)
    if _LEADING_ZERO.match(text) or (text.lstrip("+-").isdigit() and len(text.lstrip("+-")) > 15):
        return False
    try:
        normalize_number(text)
    except InvalidValue:
        return False
    return True


def _reads(text: str, context: ValueContext, dayfirst: bool | None) -> bool:
    try:
        read_date(text, None, dayfirst, context.date_format)
    except InvalidValue:
        return False
    return True


class Inferred:
    """What the reading pass found: the new attributes and the contexts their values are read in
    (a slashed-date column's order)."""

    def __init__(self) -> None:
        self.fields: list[Field] = []
        self.contexts: dict[str, ValueContext] = {}

    def types(self) -> list[tuple[str, str]]:
        return [(f.name, str(f.type)) for f in self.fields]


def infer_new_attributes(
    fmt: str,
    open_input: Callable[[], BinaryIO],
    label: str,
    layout_of: Callable[[tuple[str, ...]], Layout],
    context: ValueContext,
    *,
    delimiter: str | None = None,
    encoding: str | None = None,
    taken: Callable[[str], bool] = lambda name: False,
) -> Inferred:
    """Read the file once to type every attribute it brings that is not stored yet (``taken``:
    whether a hash key names an attribute that exists)."""
    inference: dict[str, TypeInference] = {}
    forced: dict[str, FieldType] = {}
    names: dict[str, str] = {}

    def watch(rule: Rule) -> None:
        if rule.format:
            forced.setdefault(rule.target, FieldType.DATE)
        elif rule.inverted:
            forced.setdefault(rule.target, FieldType.BOOLEAN)
        else:
            names.setdefault(rule.target, rule.target)
            inference.setdefault(rule.target, TypeInference(context))

    def add_hash(raw: object, columns_of_file: dict[str, str]) -> None:
        """A hash's values; a key that a column of the file feeds too adds to that column's."""
        try:
            items = parse_hash(raw) if isinstance(raw, str) else raw if isinstance(raw, dict) else {}
        except InvalidValue:
            return  # reported as the row's problem later
        for key, value in items.items():
            name = key.strip()
            column = columns_of_file.get(slug(name)) if name else None
            if column is not None:
                if column in inference:
                    inference[column].add(value)
                continue
            if not name or taken(name):
                continue
            if name not in inference:
                inference[name] = TypeInference(context)
                names[name] = name
            inference[name].add(value)

    with open_input() as fh:
        if fmt == "csv":
            header, rows, _ = read_csv(fh, label, delimiter=delimiter, encoding=encoding, raw=True)
            try:
                layout = layout_of(header)
            except HeaderError as exc:
                raise DataError(f"{label}:1:{exc.column}: {exc}") from None
            new = layout.new_attributes()
            hashes = [r for r in layout.rules if r.parse == "hash"]
            for rule in new:
                watch(rule)
            live = [r for r in new if r.target in inference]
            if live or hashes:
                mapped = {slug(r.target): r.target for r in layout.rules if r.attribute}
                chunk: list[list[str]] = []
                for row in rows:
                    chunk.append(row)
                    if len(chunk) == CHUNK:
                        live = _check(chunk, live, inference, hashes, add_hash, mapped)
                        chunk = []
                        if not live and not hashes:
                            break  # every new column is text already: the rest cannot change that
                if chunk:
                    _check(chunk, live, inference, hashes, add_hash, mapped)
        else:
            reader = read_jsonl if fmt == "jsonl" else read_json_array
            records, _ = reader(fh, label, make=_object_record)
            layouts: dict[tuple[str, ...], Layout | None] = {}
            for record in records:
                if record.error:
                    continue
                header = record.header()
                if header not in layouts:
                    try:
                        layouts[header] = layout_of(header)
                    except HeaderError:
                        layouts[header] = None  # the record is invalid: reported later
                    else:
                        for rule in layouts[header].new_attributes():
                            watch(rule)
                layout = layouts[header]
                if layout is None:
                    continue
                values = record.values()
                for rule in layout.rules:
                    if rule.target in inference and rule.new:
                        inference[rule.target].add(raw_value(rule, values))
                    elif rule.parse == "hash":
                        add_hash(
                            values[rule.indexes[0]], {slug(r.target): r.target for r in layout.rules if r.attribute}
                        )
                if len(layouts) > 1024:
                    layouts.clear()
    out = Inferred()
    for name, type_ in forced.items():
        out.fields.append(attribute_field(names.get(name, name), type_))
    for name, inf in inference.items():
        if name in forced:
            continue
        type_ = inf.result()
        if type_ is not None:
            out.fields.append(attribute_field(names[name], type_))
            if type_ is FieldType.DATE and inf.dayfirst() is not None and context.dayfirst is None:
                out.contexts[names[name]] = context._replace(dayfirst=inf.dayfirst())
    return out


def _check(chunk, live, inference, hashes, add_hash, mapped) -> list[Rule]:
    """Check a chunk of CSV rows; return the new columns still undecided."""
    still = []
    for rule in live:
        inf = inference[rule.target]
        if len(rule.indexes) == 1 and not (rule.values or rule.guard or rule.parse):
            i = rule.indexes[0]
            inf.add_strings([row[i] for row in chunk])
        else:
            for row in chunk:
                inf.add(raw_value(rule, row))
        if not inf.decided:
            still.append(rule)
    for rule in hashes:
        i = rule.indexes[0]
        for row in chunk:
            add_hash(row[i], mapped)
    return still
