"""What both engines' SQL says alike, written once: a part of ``SQLiteStore`` and of
``PostgresStore``. ``mark`` is the engine's parameter placeholder (``?`` for sqlite3, ``%s`` for
psycopg); the rest is SQL both engines read the same way. What differs stays in each engine's
module (``_element_counts``: the elements of a list column)."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from itertools import groupby
from typing import Any

from ..fields import BUILTIN_FIELDS, Field, FieldRegistry, FieldType, attribute_field
from ..model import Audience, Filter, Segment, SegmentRef
from ..timeutil import stamp
from ..values import fold, is_utf8, name_key
from .base import SEGMENT_COLUMNS, attribute_values, check_new_attribute, segment_of


class SharedQueries:
    """``Store`` methods whose SQL is the same on both engines."""

    conn: Any
    mark: str
    #: How the ``attributes`` table keeps the order they were made in (``rowid``, ``pk``).
    attribute_order: str
    #: The column type of each field type, and of a text column (the fold columns).
    sql_types: dict[FieldType, str]
    text_type: str
    _registry: FieldRegistry | None

    # --- attributes -----------------------------------------------------------------------------

    def registry(self) -> FieldRegistry:
        if self._registry is None:
            rows = self.conn.execute(
                f"SELECT name, type, enum_values, column_name FROM attributes ORDER BY {self.attribute_order}"
            ).fetchall()
            self._registry = FieldRegistry(
                [  # each attribute keeps the column it was made with, whatever today's slug rule says
                    attribute_field(name, FieldType(type_), tuple(json.loads(values or "[]")), column)
                    for name, type_, values, column in rows
                ]
            )
        return self._registry

    def add_attribute(self, f: Field, *, inferred: bool) -> None:
        """Create the attribute's column (and its folded copy). Call inside a transaction."""
        m = self.mark
        count = self.conn.execute("SELECT count(*) FROM attributes").fetchone()[0]
        clash = self.conn.execute(f"SELECT name FROM attributes WHERE column_name = {m}", (f.column,)).fetchone()
        check_new_attribute(f, count, clash[0] if clash else None)
        self.conn.execute(
            "INSERT INTO attributes (name, name_key, type, enum_values, column_name, inferred, created_at)"
            f" VALUES ({m}, {m}, {m}, {m}, {m}, {m}, {m})",
            attribute_values(f, inferred=bool(inferred), created_at=stamp()),
        )
        self.conn.execute(f"ALTER TABLE customers ADD COLUMN {column(f.column)} {self.sql_types[f.type]}")
        if f.fold_column:
            self.conn.execute(f"ALTER TABLE customers ADD COLUMN {column(f.fold_column)} {self.text_type}")
        self._registry = None

    def set_enum_values(self, f: Field, values: Sequence[str]) -> None:
        self.conn.execute(
            f"UPDATE attributes SET enum_values = {self.mark} WHERE name_key = {self.mark}",
            (json.dumps(list(values)), f.name.lower()),
        )
        self._registry = None

    def attribute_rows(self) -> list[dict]:
        rows = self.conn.execute(
            "SELECT name, type, enum_values, column_name, inferred, created_at FROM attributes ORDER BY name_key"
        ).fetchall()
        return [
            {
                "name": r[0],
                "type": r[1],
                "values": json.loads(r[2]) if r[2] else None,
                "column": r[3],
                "inferred": bool(r[4]),
                "created_at": r[5],
            }
            for r in rows
        ]

    # --- segments and settings -----------------------------------------------------------------

    def segment(self, name: str) -> Segment | None:
        if not is_utf8(name) or "\x00" in name:  # an argument that was not UTF-8 names nothing
            return None
        row = self.conn.execute(
            f"SELECT {SEGMENT_COLUMNS} FROM segments WHERE name_key = {self.mark}", (name_key(name),)
        ).fetchone()
        return segment_of(row) if row else None

    def segments(self) -> list[Segment]:
        rows = self.conn.execute(f"SELECT {SEGMENT_COLUMNS} FROM segments ORDER BY name_key").fetchall()
        return [segment_of(r) for r in rows]

    def segment_names(self) -> list[str]:
        return [r[0] for r in self.conn.execute("SELECT name FROM segments ORDER BY name_key").fetchall()]

    def insert_segment(self, name: str, description: str | None, flt: Filter) -> None:
        now = stamp()
        m = self.mark
        self.conn.execute(
            "INSERT INTO segments (name, name_key, description, filter, model, created_at, updated_at)"
            f" VALUES ({m}, {m}, {m}, {m}, {m}, {m}, {m})",
            (name, name_key(name), description, flt.to_text(), flt.dumps(), now, now),
        )

    def update_segment(self, pk: int, name: str, description: str | None, flt: Filter) -> None:
        m = self.mark
        self.conn.execute(
            f"UPDATE segments SET name = {m}, name_key = {m}, description = {m}, filter = {m}, model = {m},"
            f" updated_at = {m} WHERE pk = {m}",
            (name, name_key(name), description, flt.to_text(), flt.dumps(), stamp(), pk),
        )

    def delete_segment(self, pk: int) -> None:
        self.conn.execute(f"DELETE FROM segments WHERE pk = {self.mark}", (pk,))

    def settings(self) -> dict[str, str]:
        return dict(self.conn.execute("SELECT name, value FROM settings ORDER BY name").fetchall())

    def set_setting(self, name: str, value: str | None) -> None:
        m = self.mark
        if value is None:
            self.conn.execute(f"DELETE FROM settings WHERE name = {m}", (name,))
        else:
            self.conn.execute(
                f"INSERT INTO settings (name, value) VALUES ({m}, {m})"
                " ON CONFLICT (name) DO UPDATE SET value = excluded.value",
                (name, value),
            )

    # --- seg fields -----------------------------------------------------------------------------

    def customer_count(self) -> int:
        return self.conn.execute("SELECT count(*) FROM customers").fetchone()[0]

    def field_counts(self, fields: Sequence[Field]) -> list[int]:
        if not fields:
            return []
        counts = ", ".join(f"count({column(f.column)})" for f in fields)
        return list(self.conn.execute(f"SELECT {counts} FROM customers").fetchone())

    def top_values(self, f: Field, limit: int) -> list[tuple[object, int]]:
        name = column(f.column)
        if f.is_list:
            # Elements that fold alike are one value, counted per customer: merged here, from one
            # row per distinct spelling (the first in the engine's order is the one shown).
            merged: dict[str, list] = {}
            for value, n in self._element_counts(name):
                entry = merged.setdefault(fold(str(value)), [value, 0])
                entry[1] += n
            ranked = sorted(merged.values(), key=lambda e: (-e[1], fold(str(e[0]))))
            return [(value, n) for value, n in ranked[:limit]]
        if f.type is FieldType.DATE:
            key = shown = f"substr({name}, 1, 10)"  # the UTC day
        elif f.fold_column:
            key, shown = column(f.fold_column), f"min({name})"
        else:
            key = shown = name
        rows = self.conn.execute(
            f"SELECT {shown}, count(*) FROM customers WHERE {name} IS NOT NULL"
            f" GROUP BY {key} ORDER BY count(*) DESC, {key} LIMIT {self.mark}",
            (int(limit),),
        )
        return [(value, n) for value, n in rows]

    def _element_counts(self, name: str):
        """(element, customers holding it) for each distinct element of list column ``name``."""
        raise NotImplementedError

    def view_columns(self) -> str:
        """The select list of a segment's view: the built-in fields, then each attribute by name."""
        columns = [f"c.{column(f.column)}" for f in BUILTIN_FIELDS]
        columns += [f"c.{column(f.column)} AS {quoted(f.name)}" for f in self.registry().attributes.values()]
        return ", ".join(columns)

    # --- counts over time and saved audiences -------------------------------------------------

    def segment_counts(self, until: str, limit: int | None = None) -> dict[int, list[tuple[str, int]]]:
        rows = self.conn.execute(
            "SELECT segment_pk, taken_at, count FROM ("
            "  SELECT segment_pk, taken_at, count,"
            "    row_number() OVER (PARTITION BY segment_pk ORDER BY taken_at DESC) AS newest"
            f"  FROM segment_counts WHERE taken_at <= {self.mark}"
            f") AS kept WHERE newest <= {self.mark} ORDER BY segment_pk, taken_at",
            (until, limit if limit is not None else 2**62),
        )
        return {pk: [(at, n) for _, at, n in group] for pk, group in groupby(rows, key=lambda r: r[0])}

    _AUDIENCE_COLUMNS = (
        "a.pk, a.name, a.description, a.require, a.unique_by, a.include_opted_out, a.columns, a.created_at,"
        " a.updated_at"
    )

    def _audiences(self, where: str = "", params: tuple = ()) -> list[Audience]:
        rows = self.conn.execute(
            f"SELECT {self._AUDIENCE_COLUMNS} FROM audiences a {where} ORDER BY a.name_key", params
        ).fetchall()  # all of them first: each asks for its segments on the same connection
        found = []
        for pk, name, description, require, unique, opted_out, columns, created, updated in rows:
            refs: dict[str, list[SegmentRef]] = {"include": [], "exclude": []}
            for role, segment_pk, segment_name in self.conn.execute(
                "SELECT x.role, x.segment_pk, s.name FROM audience_segments x LEFT JOIN segments s"
                f" ON s.pk = x.segment_pk WHERE x.audience_pk = {self.mark} ORDER BY x.role, x.position",
                (pk,),
            ):
                refs[role].append(SegmentRef(segment_pk, segment_name))
            found.append(
                Audience(
                    pk,
                    name,
                    description,
                    tuple(refs["include"]),
                    tuple(refs["exclude"]),
                    tuple(json.loads(require)),
                    unique,
                    bool(opted_out),
                    tuple(json.loads(columns)) if columns is not None else None,
                    created,
                    updated,
                )
            )
        return found

    def audience(self, name: str) -> Audience | None:
        if not is_utf8(name) or "\x00" in name:  # an argument that was not UTF-8 names nothing
            return None
        found = self._audiences(f"WHERE a.name_key = {self.mark}", (name_key(name),))
        return found[0] if found else None

    def audiences(self) -> list[Audience]:
        return self._audiences()

    def _audience_row(self, a: Audience) -> tuple:
        return (
            a.name,
            name_key(a.name),
            a.description,
            json.dumps(list(a.require)),
            a.unique,
            bool(a.include_opted_out),
            json.dumps(list(a.columns), ensure_ascii=False) if a.columns is not None else None,
        )

    def _audience_segments(self, pk: int, a: Audience) -> None:
        m = self.mark
        self.conn.execute(f"DELETE FROM audience_segments WHERE audience_pk = {m}", (pk,))
        self.conn.cursor().executemany(
            f"INSERT INTO audience_segments (audience_pk, role, position, segment_pk) VALUES ({m}, {m}, {m}, {m})",
            [(pk, "include", i, ref.pk) for i, ref in enumerate(a.segments)]
            + [(pk, "exclude", i, ref.pk) for i, ref in enumerate(a.exclude)],
        )

    def update_audience(self, audience: Audience) -> None:
        m = self.mark
        self.conn.execute(
            f"UPDATE audiences SET name = {m}, name_key = {m}, description = {m}, require = {m}, unique_by = {m},"
            f" include_opted_out = {m}, columns = {m}, updated_at = {m} WHERE pk = {m}",
            (*self._audience_row(audience), stamp(), audience.pk),
        )
        self._audience_segments(audience.pk, audience)

    def delete_audience(self, pk: int) -> None:
        m = self.mark
        self.conn.execute(
            f"DELETE FROM audience_memberships WHERE export_pk IN (SELECT pk FROM exports WHERE audience_pk = {m})",
            (pk,),
        )
        self.conn.execute(f"UPDATE exports SET membership_kept = {m} WHERE audience_pk = {m}", (False, pk))
        self.conn.execute(f"DELETE FROM audiences WHERE pk = {m}", (pk,))

    def audiences_using(self, segment_pk: int) -> list[str]:
        rows = self.conn.execute(
            "SELECT DISTINCT a.name, a.name_key FROM audiences a JOIN audience_segments x ON x.audience_pk = a.pk"
            f" WHERE x.segment_pk = {self.mark} ORDER BY a.name_key",
            (segment_pk,),
        ).fetchall()
        return [r[0] for r in rows]

    def audience_exports(self, audience_pk: int) -> list[dict]:
        rows = self.conn.execute(
            "SELECT pk, exported_at, count, path, added, removed, unchanged, membership_kept FROM exports"
            f" WHERE audience_pk = {self.mark} ORDER BY pk DESC",
            (audience_pk,),
        )
        return [
            {
                "id": pk,
                "exported_at": at,
                "count": n,
                "path": path,
                "changes": {"added": added, "removed": removed, "unchanged": unchanged},
                "membership_kept": bool(kept),
            }
            for pk, at, n, path, added, removed, unchanged, kept in rows
        ]

    def latest_membership(self, audience_pk: int) -> dict | None:
        row = self.conn.execute(
            "SELECT pk, data_version, exported_at FROM exports"
            f" WHERE audience_pk = {self.mark} AND membership_kept ORDER BY pk DESC LIMIT 1",
            (audience_pk,),
        ).fetchone()
        return None if row is None else {"export_pk": row[0], "data_version": row[1], "exported_at": row[2]}


def column(name: str) -> str:
    """A column name from the field registry, checked again before it reaches SQL."""
    if not re.fullmatch(r"[a-z_][a-z0-9_]*", name):
        raise AssertionError(f"unsafe column {name!r}")
    return name


def quoted(name: str) -> str:
    """A name as an SQL identifier: in double quotes, its own doubled."""
    return '"' + name.replace('"', '""') + '"'
