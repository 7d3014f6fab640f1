"""The PostgreSQL engine's queries for analysts (``seg fields``, ``seg lint``, ``seg views``): a part
of ``PostgresStore``, kept apart to keep each module short. ``db.sqlite_utils()`` stays the base
class's usage error (SPEC §14).

Views are plain PostgreSQL views in the database's schema, made without sqlite-utils. PostgreSQL
keeps a view's definition parsed, not as written, so seg marks its own with a comment (holding a
digest of the SQL it made them from, so that a view whose SQL has not changed is left as it is);
an analyst's views, without that comment, are never touched.
"""

from __future__ import annotations

import hashlib

import psycopg
from psycopg import sql

#: The comment on each view seg made, before the digest of its SQL.
VIEW_MARK = "seg: the customers of a segment (seg views)"
#: PostgreSQL's longest identifier, in bytes; a longer one would be cut short, silently.
MAX_NAME_BYTES = 63


class PostgresAnalystQueries:
    """Methods of ``PostgresStore`` (``self.conn``, ``self.schema``, ``self.registry()``)."""

    conn: psycopg.Connection
    schema: str

    def _element_counts(self, name: str):
        # One row per element and distinct spelling; "C" so that the first spelling shown is the
        # first in code-point order, as on SQLite.
        return self.conn.execute(
            f'SELECT item.value COLLATE "C", count(DISTINCT c.pk) FROM customers c'
            f" CROSS JOIN LATERAL json_array_elements_text(c.{name}::json) AS item(value)"
            f" WHERE c.{name} IS NOT NULL GROUP BY 1 ORDER BY 1"
        )

    # --- views of segments ---------------------------------------------------------------------

    def _marked_views(self) -> dict[str, str]:
        """seg's views in this schema, with their comments."""
        rows = self.conn.execute(
            "SELECT c.relname, d.description FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
            " JOIN pg_description d ON d.objoid = c.oid AND d.classoid = 'pg_class'::regclass AND d.objsubid = 0"
            " WHERE n.nspname = %s AND c.relkind = 'v' AND starts_with(d.description, %s) ORDER BY c.relname",
            (self.schema, VIEW_MARK),
        )
        return dict(rows.fetchall())

    def view_name(self, name: str) -> str:
        return pg_view_name(name)

    def segment_views(self) -> list[str]:
        return list(self._marked_views())

    def replace_views(self, views: dict[str, str]) -> None:
        wanted = {pg_view_name(name): where for name, where in views.items()}
        existing = self._marked_views()
        for name in existing:
            if name not in wanted:
                self.conn.execute(sql.SQL("DROP VIEW {}").format(sql.Identifier(name)))
        select = self.view_columns()
        for name, where in wanted.items():
            definition = f"SELECT {select} FROM customers c WHERE {where}"
            comment = f"{VIEW_MARK} {hashlib.sha256(definition.encode()).hexdigest()}"
            if existing.get(name) == comment:
                continue  # the same SQL: left as it is
            view = sql.Identifier(name)
            self.conn.execute(sql.SQL("DROP VIEW IF EXISTS {}").format(view))
            # The values are in the SQL as literals; no parameters: psycopg leaves % alone.
            self.conn.execute(sql.SQL("CREATE VIEW {} AS ").format(view) + sql.SQL(definition))
            self.conn.execute(sql.SQL("COMMENT ON VIEW {} IS {}").format(view, sql.Literal(comment)))


def pg_view_name(name: str) -> str:
    """A view's name as PostgreSQL can hold it: a name of more than 63 bytes (a long segment name,
    or one in Arabic) is cut at a character and ends with a digest of the whole, so that two long
    names never become one."""
    if len(name.encode("utf-8")) <= MAX_NAME_BYTES:
        return name
    digest = "_" + hashlib.sha256(name.encode("utf-8")).hexdigest()[:8]
    cut = name
    while len((cut + digest).encode("utf-8")) > MAX_NAME_BYTES:
        cut = cut[:-1]
    return cut + digest
