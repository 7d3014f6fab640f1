"""Importing customers from files (SPEC §2): ``import_files`` and what it reports.

read.py      CSV / JSON / JSONL -> Records, streamed, with line numbers; delimiter and encoding sniffed
profiles.py  import profiles: the built-in ones, the auto synonyms, profile files' model (SPEC §8)
mapping.py   a header row under a profile -> where each header goes (a Layout)
hashes.py    cells holding several values (Chatwoot's hashes, Mailchimp's quoted tags)
infer.py     types of attributes a file brings
columns.py   a Layout bound to stored columns; raw cells -> stored values (values.py normalizes)
write.py     upserts by id (or matched by phone or email), chunk by chunk
rejects.py   the rejects file of --skip-invalid
summary.py   what an import did, its preview, its problems by kind
run.py       one import: one transaction, strict or --skip-invalid
"""

from __future__ import annotations

from .profiles import AUTO, BUILT_IN, Profile
from .read import DELIMITERS, ENCODINGS, FORMATS, MAX_LINE, detect_format
from .run import import_file, import_files
from .summary import ImportSummary

__all__ = [
    "AUTO",
    "BUILT_IN",
    "DELIMITERS",
    "ENCODINGS",
    "FORMATS",
    "MAX_LINE",
    "ImportSummary",
    "Profile",
    "detect_format",
    "import_file",
    "import_files",
]
