"""The SQLite engine's queries for analysts (``seg fields``, ``seg lint``, ``seg views``,
``db.sqlite_utils()``): a part of ``SQLiteStore``, kept apart to keep each module short."""

from __future__ import annotations

import sqlite3


class AnalystQueries:
    """Methods of ``SQLiteStore`` (``self.conn``, ``self.registry()``) declared in ``Store``."""

    conn: sqlite3.Connection

    def _element_counts(self, name: str):
        # SQLite's json_each: one row per element, per distinct spelling.
        return self.conn.execute(
            f"SELECT j.value, count(DISTINCT c.pk) FROM customers c, json_each(c.{name}) j"
            f" WHERE c.{name} IS NOT NULL GROUP BY j.value"
        )

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
        select = self.view_columns()
        for name, where in views.items():
            # replace=True: sqlite-utils leaves a view whose SQL is the same, else drops and makes it.
            db.create_view(name, f"{self._VIEW_MARK} SELECT {select} FROM customers c WHERE {where}", replace=True)
