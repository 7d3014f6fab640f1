"""Where customers, segments and exports are kept: the ``Store`` interface (``base.py``) and its
engines (``sqlite.py``, ``postgres.py``), the schema's migrations, the writer marker and the
translation of engine errors. Nothing outside this package writes SQL statements (compiled filters
come from ``compile.py``) or looks at an engine's exceptions."""

from __future__ import annotations

import os

from ..errors import DataError
from .base import MAX_ATTRIBUTES, Store

__all__ = ["MAX_ATTRIBUTES", "Store", "is_url", "open_store"]

#: How a database on a PostgreSQL server is named (``--db``, ``SEG_DB``): a libpq URL.
URL_SCHEMES = ("postgresql://", "postgres://")


def is_url(path: str | os.PathLike) -> bool:
    """Whether ``path`` names a database on a server (a URL) rather than a SQLite file."""
    return isinstance(path, str) and path.startswith(URL_SCHEMES)


def open_store(path: str | os.PathLike, *, create: bool = False) -> Store:
    """Open (and migrate) the database at ``path``, a SQLite file or a ``postgresql://`` URL; a
    missing one is an error unless ``create``."""
    if is_url(path):
        try:  # psycopg is an optional extra, imported only when a URL asks for it
            from .postgres import PostgresStore
        except ImportError as exc:
            if (exc.name or "").partition(".")[0] != "psycopg":
                raise
            raise DataError(
                "a postgresql:// database needs psycopg 3, which is not installed: pip install 'segcli[postgres]'"
            ) from None
        return PostgresStore.open(str(path), create=create)
    from .sqlite import SQLiteStore

    return SQLiteStore.open(path, create=create)
