"""Where a file's values land: each header row's ``Layout`` (``mapping.py``) bound to the stored
columns of a customer row. A ``Source`` reads one field's value from a row's cells (combined,
rewritten, normalized by ``values.py``); a ``Slot`` places it in the row. Both work a row at a
time (``validate``) and a column at a time (``Bound.columns``, for chunks of valid rows)."""

from __future__ import annotations

import json
from collections.abc import Callable

from ..errors import InvalidValue
from ..fields import Field, FieldRegistry, FieldType
from ..values import PLAIN, ValueContext, fold, fold_items, is_missing, normalizer
from .hashes import parse_hash, parse_quoted_list
from .mapping import KEEP, OPT_OUT, Layout, Rule
from .read import Record

_JSON_LIST = json.JSONEncoder(ensure_ascii=False).encode

#: How many distinct raw lists (a CSV's tag cells) a slot remembers the stored form of.
MEMO_LIMIT = 4096


class Slot:
    """Where one field's value lands in a customer row."""

    PLAIN, TEXT, BOOLEAN, LIST = range(4)

    def __init__(self, f: Field, index: dict[str, int]) -> None:
        self.field = f
        self.name = f.name
        self.index = index[f.column]
        self.fold_index = index[f.fold_column] if f.fold_column else None
        self.required = f.required
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
        A column at a time, so that a bulk load pays for it in list comprehensions. ``KEEP`` (a
        consent nobody stated) stays as it is, for the writer."""
        if self.kind == self.TEXT:
            return [(self.index, values), (self.fold_index, [fold(v) if v is not None else None for v in values])]
        if self.kind == self.BOOLEAN:
            missing = 0 if self.required else None
            return [(self.index, [missing if v is None else v if v is KEEP else (1 if v else 0) for v in values])]
        if self.kind == self.LIST:
            return [
                (self.index, [_JSON_LIST(v) if v else None for v in values]),
                (self.fold_index, list(map(fold_items, values))),
            ]
        return [(self.index, values)]


class Source:
    """One field's value in a row: the rule's cells, combined and rewritten, then normalized in
    the source's context."""

    def __init__(self, rule: Rule, slot: Slot, context: ValueContext) -> None:
        self.rule = rule
        self.slot = slot
        self.name = slot.name
        if rule.format:
            context = context._replace(date_format=rule.format)
        self.normalizer = normalizer(slot.field, context)
        self.builtin = slot.field.builtin
        self.consent = self.builtin and slot.name == OPT_OUT
        self.phone = slot.field.is_phone
        self.plain = len(rule.indexes) == 1 and not (
            rule.values or rule.guard or rule.parse or rule.inverted or self.consent
        )
        self.memo: dict[str, tuple] = {}  # raw list cell -> (JSON, fold) in ``_list_column``

    # --- one row ---------------------------------------------------------------------------

    def cell(self, raw: object) -> object:
        return rewrite(self.rule, raw)

    def raw(self, values: list) -> object:
        """The rule's raw value in a row (``values``: the row's cells in header order)."""
        return raw_value(self.rule, values)

    def value(self, values: list, region: str | None = None) -> object:
        """The stored value of the rule in a row; InvalidValue if a cell is not of the field's type."""
        if self.consent:
            return self._consent(values)
        raw = self.raw(values)
        if self.phone:
            return self.normalizer.one(raw, region)
        value = self.normalizer.one(raw)
        if self.rule.inverted and value is not None:
            return not value
        return value

    def _consent(self, values: list) -> object:
        """SPEC §14: any opt-out wins; then an explicit opt-in; else nothing stated (``KEEP``). An
        opt-in column (inverted) that is empty means no consent: an opt-out."""
        rule = self.rule
        if not rule.indexes:
            return rule.constant
        stated = False
        for i, inverted in zip(rule.indexes, rule.inverts or (False,) * len(rule.indexes), strict=True):
            raw = self.cell(values[i])
            if is_missing(raw):
                if inverted:
                    return True
                continue
            flag = self.normalizer.one(raw) != inverted
            if flag:
                return True
            stated = True
        return False if stated else KEEP

    # --- a column of rows ------------------------------------------------------------------

    def column(self, columns: list, strings: bool, regions: list | None = None) -> list:
        """The rule's stored values for a chunk of rows (``columns``: the chunk's cells, a tuple
        per header); InvalidValue if any is invalid."""
        rule = self.rule
        if not rule.indexes:
            return [rule.constant] * len(columns[0]) if columns else []
        if self.plain:
            cells = columns[rule.indexes[0]]
            if self.phone:
                return self.normalizer.column(cells, strings=strings, regions=regions)
            return self.normalizer.column(cells, strings=strings)
        if len(rule.indexes) == 1 and not (rule.values or rule.guard or rule.parse):
            # One boolean column (a consent column, most often): its distinct cells normalized once.
            values = self.normalizer.column(columns[rule.indexes[0]], strings=strings)
            if self.consent:
                return (
                    [(True if v is None else not v) for v in values]
                    if rule.inverted
                    else [KEEP if v is None else v for v in values]
                )
            return [v if v is None else not v for v in values]
        rows = list(zip(*(columns[i] for i in rule.indexes), strict=True))
        if self.consent or rule.inverted:
            spread = [0] * (max(rule.indexes) + 1)
            out = []
            for row in rows:
                for i, cell in zip(rule.indexes, row, strict=True):
                    spread[i] = cell
                out.append(self.value(spread))
            return out
        if len(rule.indexes) == 1:
            cells = [self.cell(c) for (c,) in rows]
        elif rule.combine == "join":
            cells = [
                " ".join(p.strip() for p in map(self.cell, row) if isinstance(p, str) and p.strip()) for row in rows
            ]
        else:
            cells = [next((c for c in map(self.cell, row) if not is_missing(c)), "") for row in rows]
        if self.phone:
            return self.normalizer.column(cells, regions=regions)
        return self.normalizer.column(cells)

    def stored_column(self, columns: list, strings: bool, regions: list | None = None) -> list[tuple[int, list]]:
        """``slot.store`` of ``column``: the rule's stored columns for a chunk of rows, the cells
        of a plain list column normalized once per distinct cell."""
        if self.plain and strings and self.slot.kind == Slot.LIST:
            return self.list_column(columns[self.rule.indexes[0]])
        return self.slot.store(self.column(columns, strings, regions if self.phone else None))

    def list_column(self, cells: tuple) -> list[tuple[int, list]]:
        """A list field's stored columns from a column of comma-separated cells, each distinct
        cell normalized once (a CSV's tag cells repeat)."""
        memo = self.memo
        slot = self.slot
        jsons, folds = [], []
        for raw in cells:
            try:
                j, f = memo[raw]
            except KeyError:
                items = self.normalizer.one(raw)
                j, f = (_JSON_LIST(items), fold_items(items)) if items else (None, None)
                if len(memo) < MEMO_LIMIT:
                    memo[raw] = (j, f)
            jsons.append(j)
            folds.append(f)
        return [(slot.index, jsons), (slot.fold_index, folds)]


def rewrite(rule: Rule, raw: object) -> object:
    """One cell rewritten as the rule says: the spreadsheet guard stripped, a spelling mapped,
    Mailchimp's quoted tags read as a list."""
    if type(raw) is str:
        if rule.guard:
            raw = raw.strip().removeprefix("'")
        if rule.values is not None:
            raw = rule.values.get(fold(raw.strip()), raw)
        if rule.parse == "tags":
            return parse_quoted_list(raw)
    return raw


def raw_value(rule: Rule, values: list) -> object:
    """A rule's raw value in a row (``values``: the row's cells in header order): its cell, its
    cells joined with a space, or the first of them that is not empty."""
    if len(rule.indexes) == 1:
        return rewrite(rule, values[rule.indexes[0]])
    cells = [rewrite(rule, values[i]) for i in rule.indexes]
    if rule.combine == "join":
        return " ".join(c.strip() for c in cells if isinstance(c, str) and c.strip()) or None
    return next((c for c in cells if not is_missing(c)), None)


class Bound:
    """A header row's Layout bound to slots: its sources, in the order they are read."""

    def __init__(self, layout: Layout, sources: list[Source], hashes: list[Rule]) -> None:
        self.layout = layout
        self.sources = sources
        self.hashes = hashes
        self.key = layout.key
        self.id_source = next((s for s in sources if s.builtin and s.name == "id"), None)


class Plan:
    """Sources by header row (a CSV's header; each key set of a JSON file), bound once each."""

    LIMIT = 1024

    def __init__(
        self,
        registry: FieldRegistry,
        columns: list[str],
        layout_of: Callable[[tuple[str, ...]], Layout],
        context: ValueContext = PLAIN,
        column_contexts: dict[str, ValueContext] | None = None,
    ) -> None:
        self.registry = registry
        self.index = {c: i for i, c in enumerate(columns)}
        self.layout_of = layout_of
        self.context = context
        self.column_contexts = column_contexts or {}
        self.bound: dict[tuple[str, ...], Bound] = {}
        self.slots: dict[str, Slot | None] = {}

    def slot(self, name: str, *, attribute: bool = False) -> Slot | None:
        """The slot of a built-in field or (``attribute``) of a stored attribute, None if there
        is none (an attribute that had no value anywhere in the file, so was never created)."""
        key = ("\0attr\0" if attribute else "") + name
        try:
            return self.slots[key]
        except KeyError:
            f = self.registry.attribute(name) if attribute else self.registry.get(name)
            slot = self.slots[key] = Slot(f, self.index) if f is not None else None
            return slot

    def bind(self, headers: tuple[str, ...]) -> Bound:
        """Sources for a header row; HeaderError (``mapping``) if it cannot be imported."""
        try:
            return self.bound[headers]
        except KeyError:
            pass
        layout = self.layout_of(headers)
        sources = []
        for rule in layout.rules:
            if rule.parse == "hash":
                continue
            slot = self.slot(rule.target, attribute=rule.attribute)
            if slot is not None:
                sources.append(Source(rule, slot, self.column_contexts.get(rule.target, self.context)))
        bound = Bound(layout, sources, [r for r in layout.rules if r.parse == "hash"])
        if len(self.bound) >= self.LIMIT:
            self.bound.clear()
        self.bound[headers] = bound
        return bound

    def hash_source(self, key: str) -> Source | None:
        """The source of a hash's key: the attribute named by it (None if it was never created:
        no row held a value for it)."""
        slot = self.slot(key, attribute=True) if key.strip() else None
        if slot is None:
            return None
        cache_key = "\0hash\0" + slot.name
        source = self.slots.get(cache_key)
        if source is None:
            source = Source(Rule(slot.name, (0,)), slot, self.column_contexts.get(slot.name, self.context))
            self.slots[cache_key] = source  # type: ignore[assignment]
        return source  # type: ignore[return-value]


def validate(record: Record, plan: Plan) -> list[tuple[object, str]]:
    """Normalize the record's cells into ``record.patch``, (row index, stored value) pairs, and
    return all of its problems as (column, message) pairs."""
    if record.error:
        return [record.error]
    try:
        bound = plan.bind(record.header())
    except InvalidValue as exc:
        return [(record.column_at(getattr(exc, "column", 1) - 1), str(exc))]
    values = record.values()
    errors: list[tuple[object, str]] = []
    patch: list = []
    region = None
    record.id = None
    record.key = None
    for source in bound.sources:
        try:
            value = source.value(values, region)
        except InvalidValue as exc:
            rule = source.rule
            at = next((i for i in rule.indexes if not is_missing(values[i])), rule.indexes[0] if rule.indexes else 0)
            errors.append((record.column_at(at), f"{source.name}: {exc}"))
            continue
        name = source.name if source.builtin else None
        if name == "country":
            region = value
        elif name == "id":
            record.id = value
        if name == bound.key:
            record.key = value if name != "email" or value is None else fold(value)
        patch.extend((i, stored[0]) for i, stored in source.slot.store([value]))
    if bound.hashes:
        _hash_values(bound, plan, values, record, patch, errors)
    if bound.key == "id" and record.id is None and not errors:
        if bound.id_source is None:
            errors.append((1, "id: missing"))
        else:
            errors.append((record.column_at(bound.id_source.rule.indexes[0]), "id: empty (every customer needs an id)"))
    elif bound.key != "id" and record.key is None and not errors:
        errors.append((1, f"{bound.key}: empty (customers are matched by {bound.key}: --key {bound.key})"))
    record.patch = patch
    return errors


def _hash_values(bound: Bound, plan: Plan, values: list, record: Record, patch: list, errors: list) -> None:
    """Add the attributes of the row's hashes to its patch. A value fills an attribute that no
    cell of the row gives (an empty column of the same name, or no such column); a value that
    differs from the one a column or an earlier hash gives is a problem naming both, never a
    silently chosen value (SPEC §13)."""
    headers = bound.layout.headers
    given: dict[int, tuple[str, dict[int, object]]] = {}  # an attribute's column -> (from where, stored values)
    in_patch = dict(patch)
    for source in bound.sources:
        if not source.builtin:
            slot = source.slot
            where = "the column " + " + ".join(headers[i] for i in source.rule.indexes)
            given[slot.index] = (where, {j: in_patch.get(j) for j in (slot.index, slot.fold_index) if j is not None})
    for rule in bound.hashes:
        i = rule.indexes[0]
        raw = values[i]
        try:
            items = parse_hash(raw) if isinstance(raw, str) else raw if isinstance(raw, dict) else {}
        except InvalidValue as exc:
            errors.append((record.column_at(i), f"{headers[i]}: {exc}"))
            continue
        for key, item in items.items():
            source = plan.hash_source(key)
            if source is None:
                continue
            try:
                value = source.value([item])
            except InvalidValue as exc:
                errors.append((record.column_at(i), f"{source.name}: {exc}"))
                continue
            slot = source.slot
            stored = {j: column[0] for j, column in slot.store([value])}
            earlier = given.get(slot.index)
            if earlier is None:
                patch.extend(stored.items())
            elif value is None:
                continue  # nil fills nothing and contradicts nothing
            elif earlier[1].get(slot.index) is None:  # the column's cell is empty: the hash's value fills it
                patch[:] = [(j, stored.get(j, v)) for j, v in patch]
            else:
                compared = slot.fold_index if slot.fold_index is not None else slot.index
                if earlier[1].get(compared) != stored[compared]:
                    errors.append(
                        (
                            record.column_at(i),
                            f"{slot.name}: {earlier[0]} says {_shown(earlier[1][slot.index])} but {headers[i]} "
                            f"says {_shown(stored[slot.index])} (which is meant?)",
                        )
                    )
                continue
            given[slot.index] = (f"the hash {headers[i]}", stored)


def _shown(value: object) -> str:
    """A value in a problem, quoted, cut after 60 characters."""
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    return f'"{text[:60]}…"' if len(text) > 60 else f'"{text}"'
