"""The SQLite engine's queries for analysts (``seg fields``, ``seg lint``, ``seg views``,
``db.sqlite_utils()``): a part of ``SQLiteStore``, kept apart to keep each module short."""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Sequence

from ..fields import BUILTIN_FIELDS, Field, FieldType
from ..values import fold


class AnalystQueries:
    """Methods of ``SQLiteStore`` (``self.conn``, ``self.registry()``) declared in ``Store``."""

    conn: sqlite3.Connection

    def customer_count(self) -> int:
        return self.conn.execute("SELECT count(*) FROM customers").fetchone()[0]

    def field_counts(self, fields: Sequence[Field]) -> list[int]:
        if not fields:
            return []
        counts = ", ".join(f"count({_column(f.column)})" for f in fields)
        return list(self.conn.execute(f"SELECT {counts} FROM customers").fetchone())

    def top_values(self, f: Field, limit: int) -> list[tuple[object, int]]:
        column = _column(f.column)
        if f.is_list:
            # SQLite's json_each: one row per element. Elements that fold alike are one value,
            # counted per customer: merged here, from one row per distinct spelling.
            rows = self.conn.execute(
                f"SELECT j.value, count(DISTINCT c.pk) FROM customers c, json_each(c.{column}) j"
                f" WHERE c.{column} IS NOT NULL GROUP BY j.value"
            )
            merged: dict[str, list] = {}
            for value, n in rows:
                entry = merged.setdefault(fold(str(value)), [value, 0])
                entry[1] += n
            ranked = sorted(merged.values(), key=lambda e: (-e[1], fold(str(e[0]))))
            return [(value, n) for value, n in ranked[:limit]]
        if f.type is FieldType.DATE:
            key = shown = f"substr({column}, 1, 10)"  # the UTC day
        elif f.fold_column:
            key, shown = _column(f.fold_column), f"min({column})"
        else:
            key = shown = column
        rows = self.conn.execute(
            f"SELECT {shown}, count(*) FROM customers WHERE {column} IS NOT NULL"
            f" GROUP BY {key} ORDER BY count(*) DESC, {key} LIMIT ?",
            (int(limit),),
        )
        return [(value, n) for value, n in rows]

    def sqlite_utils(self, *, for_seg: bool = False):
        import sqlite_utils  # here only: `seg count`, `members` and `export` never load it

        # recursive_triggers would change how this connection runs triggers for the rest of its life.
        options = {"recursive_triggers": False}
        if for_seg:  # seg's own views: no plugin of the analyst's may take part
            options["execute_plugins"] = False
        return sqlite_utils.Database(self.conn, **options)

    # --- views of segments ---------------------------------------------------------------------

    #: How seg recognizes the views it made: a comment at the start of their SQL.
    _VIEW_MARK = "/* seg: the customers of a segment (seg views) */"

    def segment_views(self) -> list[str]:
        rows = self.conn.execute("SELECT name, sql FROM sqlite_master WHERE type = 'view' ORDER BY name")
        return [name for name, sql in rows if sql and self._VIEW_MARK in sql]

    def replace_views(self, views: dict[str, str]) -> None:
        db = self.sqlite_utils(for_seg=True)
        for name in self.segment_views():
            if name not in views:
                db[name].drop()
        registry = self.registry()
        columns = [f"c.{_column(f.column)}" for f in BUILTIN_FIELDS]
        columns += [f"c.{_column(f.column)} AS {_quoted(f.name)}" for f in registry.attributes.values()]
        select = ", ".join(columns)
        for name, where in views.items():
            # replace=True: sqlite-utils leaves a view whose SQL is the same, else drops and makes it.
            db.create_view(name, f"{self._VIEW_MARK} SELECT {select} FROM customers c WHERE {where}", replace=True)


def _column(name: str) -> str:
    """A column name from the field registry, checked again before it reaches SQL."""
    if not re.fullmatch(r"[a-z_][a-z0-9_]*", name):
        raise AssertionError(f"unsafe column {name!r}")
    return name


def _quoted(name: str) -> str:
    """A name as an SQL identifier: in double quotes, its own doubled."""
    return '"' + name.replace('"', '""') + '"'
