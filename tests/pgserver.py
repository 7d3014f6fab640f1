"""A throwaway PostgreSQL server for the tests and the benchmark.

Debian's binaries (``/usr/lib/postgresql/*/bin``, the newest version; ``SEG_PG_BINDIR`` to choose
others), ``initdb`` in a temporary folder, listening on a Unix socket in that folder only (no TCP
port). initdb refuses to run as root: as root, the server's own binaries run as an unprivileged user
(``postgres``, which Debian's package creates, else ``nobody``) that owns the folder; nothing else
runs as that user.

The cluster is made as unlike a developer's laptop as a server can be, so that the tests show what
seg's results do not depend on: an ICU collation (``en-US``: ``B`` sorts before ``a``, punctuation is
ignored) and a time zone far from UTC (``Asia/Kathmandu``, +05:45). Durability is off: the tests
kill seg's processes, never the server's.
"""

from __future__ import annotations

import glob
import os
import pwd
import re
import shutil
import subprocess
import tempfile
from pathlib import Path
from urllib.parse import quote

SUPERUSER = "seg"
#: Server settings for throwaway clusters: a socket only, no durability, a far time zone.
SETTINGS = {
    "listen_addresses": "",
    "fsync": "off",
    "synchronous_commit": "off",
    "full_page_writes": "off",
    "timezone": "Asia/Kathmandu",
    "log_min_messages": "warning",
}


def bindir() -> Path | None:
    """Where the PostgreSQL server's binaries are, or None if they are not installed."""
    given = os.environ.get("SEG_PG_BINDIR")
    if given:
        return Path(given) if (Path(given) / "initdb").exists() else None

    def version(path: str) -> tuple[int, ...]:
        return tuple(int(x) for x in re.findall(r"\d+", path.split("/")[-3]))

    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=version)
    return Path(found[-1]).parent if found else None


def _unprivileged_user() -> pwd.struct_passwd | None:
    """The user the server runs as when we are root (None: ourselves)."""
    if os.geteuid() != 0:
        return None
    for name in ("postgres", "nobody"):
        try:
            return pwd.getpwnam(name)
        except KeyError:
            continue
    raise RuntimeError("running as root, and there is no postgres or nobody user to run the server as")


class Server:
    """A running throwaway cluster in ``root`` (data in ``root/data``, socket in ``root``)."""

    def __init__(
        self, root: Path, bin_dir: Path, user: pwd.struct_passwd | None, settings: dict[str, str] | None = None
    ) -> None:
        self.root = root
        self.settings = {**SETTINGS, **(settings or {})}
        self.bindir = bin_dir
        self.user = user
        self.data = root / "data"
        self.socket_dir = root

    def _run(self, *args: str, **kwargs) -> subprocess.CompletedProcess:
        """Run one of the server's binaries, as the server's user."""
        if self.user is not None:
            kwargs.update(user=self.user.pw_uid, group=self.user.pw_gid, extra_groups=[])
        env = {"PATH": "/usr/bin:/bin", "LC_ALL": "C.UTF-8", "HOME": str(self.root), "TZ": "UTC"}
        return subprocess.run(
            [str(self.bindir / args[0]), *args[1:]],
            cwd=self.root,
            env=env,
            capture_output=True,
            text=True,
            check=False,
            **kwargs,
        )

    def start(self) -> None:
        made = self._run(
            "initdb",
            "-D",
            str(self.data),
            "--auth=trust",
            f"--username={SUPERUSER}",
            "--encoding=UTF8",
            "--locale=C.UTF-8",
            "--locale-provider=icu",
            "--icu-locale=en-US",
            "--no-sync",
        )
        if made.returncode != 0:
            raise RuntimeError(f"initdb failed: {made.stderr or made.stdout}")
        options = " ".join(f"-c {k}={v!r}" if v == "" else f"-c {k}={v}" for k, v in self.settings.items())
        options += f" -c unix_socket_directories={self.socket_dir}"
        started = self._run(
            "pg_ctl", "-D", str(self.data), "-l", str(self.root / "server.log"), "-o", options, "-w", "start"
        )
        if started.returncode != 0:
            log = (self.root / "server.log").read_text(errors="replace") if (self.root / "server.log").exists() else ""
            raise RuntimeError(f"the server did not start: {started.stderr or started.stdout}\n{log}")

    def stop(self) -> None:
        self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")
        shutil.rmtree(self.root, ignore_errors=True)

    def url(self, database: str = "postgres", schema: str | None = None) -> str:
        """A connection URL for seg (``--db``): over the socket, as the superuser."""
        url = f"postgresql://{SUPERUSER}@{quote(str(self.socket_dir), safe='')}/{database}"
        return url + (f"?schema={schema}" if schema else "")

    def conninfo(self, database: str = "postgres") -> str:
        """libpq's keyword form, for psycopg and psql."""
        return f"host={self.socket_dir} user={SUPERUSER} dbname={database}"

    def psql_command(self, database: str = "postgres") -> list[str]:
        """psql (a client: root may run it) on a database, unaligned, tuples only, stopping on errors."""
        return [
            str(self.bindir / "psql"),
            "-X",
            "-q",
            "-A",
            "-t",
            "-v",
            "ON_ERROR_STOP=1",
            "-d",
            self.conninfo(database),
        ]

    def psql(self, database: str, sql: str) -> str:
        """Run SQL with psql, returning its output."""
        done = subprocess.run(
            self.psql_command(database),
            input=sql,
            capture_output=True,
            text=True,
            check=False,
        )
        if done.returncode != 0:
            raise RuntimeError(f"psql failed: {done.stderr}")
        return done.stdout


#: For the benchmark: durable, as a real server is, with room for a million customers in memory.
BENCH_SETTINGS = {"fsync": "on", "synchronous_commit": "on", "full_page_writes": "on", "shared_buffers": "1GB"}


def start(base: str | os.PathLike | None = None, settings: dict[str, str] | None = None) -> Server:
    """Start a throwaway server in a new folder (under ``base``, else the system's temp folder),
    with ``SETTINGS`` overridden by ``settings``; ``RuntimeError`` if the binaries are missing or
    it does not start."""
    bin_dir = bindir()
    if bin_dir is None:
        raise RuntimeError(
            "no PostgreSQL server binaries in /usr/lib/postgresql/*/bin (apt-get install postgresql), "
            "nor in SEG_PG_BINDIR"
        )
    user = _unprivileged_user()
    root = Path(tempfile.mkdtemp(prefix="seg-pg-", dir=base))
    if user is not None:
        os.chown(root, user.pw_uid, user.pw_gid)
    server = Server(root, bin_dir, user, settings)
    try:
        server.start()
    except BaseException:
        shutil.rmtree(root, ignore_errors=True)
        raise
    return server
