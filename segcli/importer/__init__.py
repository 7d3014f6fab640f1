"""Importing customers from files (SPEC §2): ``import_files`` and what it reports.

read.py      CSV / JSON / JSONL -> Records, streamed, with line numbers
infer.py     types of attributes a file brings
columns.py   a file's keys -> fields; raw cells -> stored columns (values.py normalizes)
write.py     upserts by id, chunk by chunk
rejects.py   the rejects file of --skip-invalid
run.py       one import: one transaction, strict or --skip-invalid
"""

from __future__ import annotations

from .read import FORMATS, MAX_LINE, detect_format
from .run import import_file, import_files
from .summary import ImportSummary

__all__ = ["FORMATS", "MAX_LINE", "ImportSummary", "detect_format", "import_file", "import_files"]
