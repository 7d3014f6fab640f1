"""Where customers, segments and exports are kept: the ``Store`` interface (``base.py``) and its
engines (``sqlite.py``), the schema's migrations, the writer marker and the translation of engine
errors. Nothing outside this package writes SQL statements (compiled filters come from
``compile.py``) or looks at an engine's exceptions."""

from __future__ import annotations

import os

from .base import MAX_ATTRIBUTES, Store

__all__ = ["MAX_ATTRIBUTES", "Store", "open_store"]


def open_store(path: str | os.PathLike, *, create: bool = False) -> Store:
    """Open (and migrate) the database at ``path``; a missing one is an error unless ``create``."""
    from .sqlite import SQLiteStore

    return SQLiteStore.open(path, create=create)
