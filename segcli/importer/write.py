"""Writing customers: upserts by id, a chunk at a time, and a chunk of rows a column at a time."""

from __future__ import annotations

import itertools
from collections.abc import Iterable

from ..errors import InvalidValue
from ..store import Store
from .columns import Plan
from .mapping import KEEP
from .read import Record
from .summary import ImportSummary

#: Validated rows a writer holds before it writes them.
CHUNK = 2000


class Writer:
    """Upserts validated records by id, a chunk at a time. Rows are lists in table order with the
    primary key first, as ``Store.insert_customers`` and ``update_customers`` take them."""

    def __init__(self, store: Store, columns: list[str], summary: ImportSummary) -> None:
        self.store = store
        self.columns = columns
        self.summary = summary
        self.pending: list[Record] = []
        self.next_pk = store.next_pk()
        self.fresh = False  # the table was empty when the file started: see insert_columns
        self.empty_row = [None, *(0 if c == "marketing_opt_out" else None for c in columns)]
        self.consent_index = columns.index("marketing_opt_out")

    def add(self, record: Record) -> None:
        self.pending.append(record)
        if len(self.pending) >= CHUNK:
            self.flush()

    def flush(self) -> None:
        if self.pending:
            records, self.pending = self.pending, []
            self.upsert((r.id, [i for i, _ in r.patch], [v for _, v in r.patch]) for r in records)

    def upsert(self, entries: Iterable[tuple], stored: dict[str, tuple] | None = None) -> None:
        """Write customers given as (id, row indexes, stored values): the values are laid over the
        stored row (or an empty one) at those indexes. A later entry with the same id wins. Counts
        created, updated and unchanged. ``stored``: the rows of these ids, if the caller has read
        them already."""
        entries = list(entries)
        if stored is None:
            stored = self.store.rows_by_id(list({entry[0]: None for entry in entries}), self.columns)
        rows: dict[str, list] = {cid: list(row) for cid, row in stored.items()}
        summary = self.summary
        for cid, indexes, values in entries:
            row = rows.get(cid)
            if row is None:
                row = rows[cid] = self.empty_row.copy()
                row[0] = self.next_pk
                self.next_pk += 1
                summary.created += 1
                before = None
            else:
                before = tuple(row)
            for i, value in zip(indexes, values, strict=True):
                if value is not KEEP:  # a consent nobody stated: the stored one (a new row's false) stays
                    row[i + 1] = value
            if before is not None:
                if tuple(row) == before:
                    summary.unchanged += 1
                else:
                    summary.updated += 1
        inserts = [row for cid, row in rows.items() if cid not in stored]
        updates = [row for cid, row in rows.items() if cid in stored and tuple(row) != stored[cid]]
        self.store.insert_customers(self.columns, inserts)
        self.store.update_customers(self.columns, updates)


def insert_columns(chunk: list[Record], plan: Plan, writer: Writer) -> bool:
    """Upsert a chunk of rows a column at a time, when every row is valid, all have the same
    fields (a CSV's header; a JSON file's keys, in the same order), customers are matched by id
    and no id repeats within the chunk; False, having written nothing, otherwise."""
    if any(r.error for r in chunk):
        return False
    first = chunk[0]
    if first.keys is not None:  # CSV rows: the header's keys, the cells as read
        header, rows = first.keys, [r.raw for r in chunk]
    else:
        header = first.header()
        rows = []
        for r in chunk:
            if r.header() != header:
                return False
            rows.append(r.values())
    try:
        bound = plan.bind(header)
    except InvalidValue:
        return False
    if bound.hashes or bound.key != "id":
        return False
    columns = list(zip(*rows, strict=True))
    strings = first.keys is not None  # every CSV cell is a str; JSON values may be anything
    stored: dict[int, list] = {}
    ids = None
    regions = None
    for source in bound.sources:
        try:
            if source.builtin and source.name == "country":  # kept as read: the region of each row's phone
                regions = source.column(columns, strings)
                filled = source.slot.store(regions)
            else:
                filled = source.stored_column(columns, strings, regions)
        except InvalidValue:
            return False
        stored.update(filled)
        if source.builtin and source.name == "id":
            ids = filled[0][1]
    if ids is None or None in ids or len(set(ids)) != len(ids):
        return False
    writer.flush()  # rows waiting in the writer may share ids with this chunk
    store, summary, empty = writer.store, writer.summary, writer.empty_row
    # Loading into an empty table, an id comes back rarely: the id index finds it on insert, which
    # is cheaper than looking every id up first (those lookups took 1.6 s of a 1M import of random ids).
    existing = {} if writer.fresh else store.rows_by_id(ids, writer.columns)
    if not existing:  # new customers: whole rows straight from the columns
        first_pk = writer.next_pk
        pks = range(first_pk, first_pk + len(ids))
        table = [stored.get(i) or itertools.repeat(empty[i + 1]) for i in range(len(writer.columns))]
        consent = writer.consent_index
        if consent in stored and KEEP in stored[consent]:  # a consent nobody stated: a new customer's false
            table[consent] = [empty[consent + 1] if v is KEEP else v for v in stored[consent]]
        if store.insert_new_customers(writer.columns, list(zip(pks, *table, strict=False))):  # some are repeat()s
            writer.next_pk += len(ids)
            summary.created += len(ids)
            return True
        existing = store.rows_by_id(ids, writer.columns)  # an id given earlier in the file
    # An upsert: the file's columns laid over each stored row, as the row-by-row path does.
    present = sorted(stored)
    patches = zip(*(stored[i] for i in present), strict=True)
    entries = ((cid, present, patch) for cid, patch in zip(ids, patches, strict=True))
    writer.upsert(entries, stored=existing)
    return True


class KeyResolver:
    """Matches rows to customers by phone or email (``--key``, SPEC §8 and §14): the row's id is
    the customer's that has its key; a new customer's is the key itself unless the file gives
    one. A key that several stored customers share, or a file id that is not the matched
    customer's, makes the row invalid. Rows of one file with the same key are one customer (the
    later wins), counted in ``summary.merged``."""

    def __init__(self, store: Store, key: str, summary: ImportSummary, plan: Plan) -> None:
        self.store = store
        self.key = key
        self.id_slot = plan.slot("id")
        self.column = "phone" if key == "phone" else "email_fold"
        self.summary = summary
        store.forget_keys()

    def resolve(self, records: list[Record]) -> list[list[tuple[object, str]]]:
        """For each record (in file order): its problems (none: its ``id`` is set)."""
        keys = list({r.key: None for r in records})
        found = self.store.ids_by_key(self.column, keys)
        earlier = self.store.note_keys(keys)  # keys that rows of earlier chunks had
        local: dict[str, str] = {}
        out: list[list[tuple[object, str]]] = []
        for r in records:
            key = r.key
            ids = found.get(key, [])
            matched = ids[0] if len(ids) == 1 else local.get(key)
            if len(ids) > 1:
                shown = ", ".join(ids[:3]) + (", ..." if len(ids) > 3 else "")
                out.append([(1, f'{self.key} "{key}" is held by {len(ids)} customers ({shown}): which one is meant?')])
                continue
            if matched is not None and r.id is not None and r.id != matched:
                out.append([(1, f'id "{r.id}" is not the id of the customer with {self.key} {key} ("{matched}")')])
                continue
            r.id = matched if matched is not None else r.id if r.id is not None else key
            r.patch.extend((i, stored[0]) for i, stored in self.id_slot.store([r.id]))
            if key in local or key in earlier:
                self.summary.merged += 1
            local[key] = r.id
            out.append([])
        return out
