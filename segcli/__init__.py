"""seg: customer segments in SQLite. See ``segcli.api`` for the Python API.

import segcli
db = segcli.open("shop.db")
db.count(["VIP Arabic Speakers"])
"""

from __future__ import annotations

__version__ = "0.1.0"


def open(path=None, *, now=None, tz=None):
    """Open a seg database: see ``segcli.api.open``."""
    from .api import open as _open

    return _open(path, now=now, tz=tz)
