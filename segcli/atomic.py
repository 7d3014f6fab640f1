"""Files written whole or not at all: a temporary file beside the target, flushed to disk, then
renamed over it. A failed or killed writer leaves any earlier file untouched.

Every file seg writes (exports, dumps, rejects) goes through here, so SPEC §13's rules hold for all
of them: ``check_target`` refuses the database and its -wal/-shm, an input of the same command, a
device, FIFO or folder; a symlink is followed and the file it points to is replaced; a new file is
created 0600 and a replaced one keeps its mode.
"""

from __future__ import annotations

import os
import stat
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

from .errors import DataError, UsageError

#: SQLite's files beside a database (and seg's lock marker): never an output.
_DATABASE_FILES = (
    ("", "the database"),
    ("-wal", "the database's -wal file"),
    ("-shm", "the database's -shm file"),
    ("-journal", "the database's journal"),
    (".writer", "the database's writer marker"),
)


def _kind(mode: int) -> str | None:
    """What a file that is not a regular file is, for a message; None for a regular file."""
    if stat.S_ISREG(mode):
        return None
    if stat.S_ISDIR(mode):
        return "a folder"
    if stat.S_ISFIFO(mode):
        return "a FIFO"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    return "not a regular file"


def check_target(
    path: str | os.PathLike, *, database: str | None = None, inputs: Sequence[str | os.PathLike] = ()
) -> Path:
    """The file that writing ``path`` replaces (symlinks followed), or UsageError if seg must not
    write there: the database ``database`` or SQLite's files beside it, one of ``inputs``, a device,
    FIFO or folder. Paths compare resolved and by inode, so no spelling or link gets around it.
    Call it before any work, so that a refused target changes nothing."""
    label = os.fspath(path)
    if not label:
        raise UsageError("the output file name is empty")
    real = os.path.realpath(label)
    try:
        st: os.stat_result | None = os.stat(real)
    except FileNotFoundError:
        st = None
    except OSError as exc:
        raise DataError(f"cannot write {label}: {exc.strerror}") from None
    if st is not None and (kind := _kind(st.st_mode)):
        raise UsageError(f"cannot write {label}: it is {kind}; seg writes only regular files")
    protected: list[tuple[str, str]] = []
    if database and database != ":memory:" and "://" not in database:  # a server's database has no files here
        for base in dict.fromkeys((database, os.path.realpath(database))):
            protected += [(base + suffix, what) for suffix, what in _DATABASE_FILES]
    protected += [(os.fspath(p), f"an input of this command ({os.fspath(p)})") for p in inputs if os.fspath(p) != "-"]
    for other, what in protected:
        if _same_file(real, st, other):
            raise UsageError(f"cannot write {label}: it is {what}; choose another file")
    return Path(real)


def _same_file(real: str, st: os.stat_result | None, other: str) -> bool:
    if os.path.realpath(other) == real:
        return True
    if st is None:
        return False
    try:
        other_st = os.stat(other)
    except OSError:
        return False
    return (other_st.st_dev, other_st.st_ino) == (st.st_dev, st.st_ino)  # a hard link


class AtomicFile:
    """A temporary file beside ``path`` (beside the file it points to, if a symlink): ``commit``
    renames it over that file, ``discard`` removes it. ``database`` and ``inputs`` are what it must
    never replace (see ``check_target``)."""

    def __init__(
        self, path: str | os.PathLike, *, database: str | None = None, inputs: Sequence[str | os.PathLike] = ()
    ) -> None:
        self.label = os.fspath(path)
        self.target = check_target(path, database=database, inputs=inputs)
        folder = self.target.parent
        if not folder.is_dir():
            raise DataError(f"cannot write {path}: the folder {folder} does not exist")
        try:  # mkstemp makes it 0600: a new file of customer data is for its owner only
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
        try:
            st = os.stat(self.target)
        except FileNotFoundError:
            pass  # a new file: 0600, as mkstemp made it
        else:
            if kind := _kind(st.st_mode):  # it changed since check_target
                raise UsageError(f"cannot write {self.label}: it is {kind}; seg writes only regular files")
            os.chmod(self.tmp, stat.S_IMODE(st.st_mode))
        os.replace(self.tmp, self.target)

    def discard(self) -> None:
        self.file.close()
        if os.path.exists(self.tmp):
            os.unlink(self.tmp)


@contextmanager
def atomic_write(
    path: str | os.PathLike, *, database: str | None = None, inputs: Sequence[str | os.PathLike] = ()
) -> Iterator[BinaryIO]:
    """Yield a binary file; on a clean exit it replaces ``path``, on an error it is removed."""
    af = AtomicFile(path, database=database, inputs=inputs)
    try:
        yield af.file
        af.commit()
    except BaseException:
        af.discard()
        raise
