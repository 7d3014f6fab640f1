"""Files written whole or not at all: a temporary file beside the target, flushed to disk, then
renamed over it. A failed or killed writer leaves any earlier file untouched."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

from .errors import DataError


class AtomicFile:
    """A temporary file beside ``path``: ``commit`` renames it over ``path``, ``discard`` removes it."""

    def __init__(self, path: str | os.PathLike) -> None:
        self.target = Path(path)
        folder = self.target.resolve().parent
        if not folder.is_dir():
            raise DataError(f"cannot write {path}: the folder {folder} does not exist")
        if self.target.is_dir():
            raise DataError(f"cannot write {path}: it is a folder")
        try:
            fd, self.tmp = tempfile.mkstemp(prefix=f".{self.target.name}.", suffix=".tmp", dir=folder)
        except OSError as exc:
            raise DataError(f"cannot write {path}: {exc.strerror}") from None
        self.file: BinaryIO = os.fdopen(fd, "wb")

    def sync(self) -> None:
        """Flush to disk, so that the rename can only ever expose a complete file."""
        self.file.flush()
        os.fsync(self.file.fileno())

    def commit(self) -> None:
        self.sync()
        self.file.close()
        if self.target.exists():
            os.chmod(self.tmp, self.target.stat().st_mode & 0o777)
        else:
            umask = os.umask(0)
            os.umask(umask)
            os.chmod(self.tmp, 0o666 & ~umask)
        os.replace(self.tmp, self.target)

    def discard(self) -> None:
        self.file.close()
        if os.path.exists(self.tmp):
            os.unlink(self.tmp)


@contextmanager
def atomic_write(path: str | os.PathLike) -> Iterator[BinaryIO]:
    """Yield a binary file; on a clean exit it replaces ``path``, on an error it is removed."""
    af = AtomicFile(path)
    try:
        yield af.file
        af.commit()
    except BaseException:
        af.discard()
        raise
