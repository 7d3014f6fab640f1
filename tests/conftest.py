"""Shared fixtures: every test gets its own database and a pinned clock.

Engines: a test runs on SQLite, and also on PostgreSQL when it (or its module) is marked
``both_engines``: the ``engine`` fixture is then parametrized, and ``SEG_DB`` names a fresh schema
on a throwaway server (``pgserver.py``) started once per session. Locally, a machine without the
server's binaries (or psycopg) skips the PostgreSQL cases with a message saying why; where
``SEG_REQUIRE_POSTGRES=1`` (CI sets it), that is a failure, never a skip.
"""

from __future__ import annotations

import csv
import io
import itertools
import os
import select
import sqlite3
import sys
import time
from contextlib import redirect_stderr, redirect_stdout
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SAMPLE_CSV = ROOT / "sample_data" / "customers.csv"
SAMPLE_JSONL = ROOT / "sample_data" / "customers.jsonl"
EXAMPLE_YAML = ROOT / "segments.example.yaml"
NOW = "2026-11-29T12:00:00Z"


ENGINES = ("sqlite", "postgresql")
_schemas = itertools.count(1)


def pytest_generate_tests(metafunc):
    """Tests marked ``both_engines`` run once per engine; the others on SQLite only."""
    marked = metafunc.definition.get_closest_marker("both_engines")
    only_sqlite = metafunc.definition.get_closest_marker("sqlite_only")
    if "engine" in metafunc.fixturenames and marked and not only_sqlite:
        metafunc.parametrize("engine", ENGINES, indirect=True)


@pytest.fixture
def engine(request) -> str:
    """The engine of this test's database: "sqlite", or "postgresql" for the second run of a test
    marked ``both_engines``."""
    return getattr(request, "param", "sqlite")


@pytest.fixture(scope="session")
def pg_server():
    """A throwaway PostgreSQL server for the whole session, started on first use."""
    import pgserver

    required = os.environ.get("SEG_REQUIRE_POSTGRES") == "1"
    try:
        import psycopg  # noqa: F401

        server = pgserver.start()
    except ImportError as exc:
        reason = f"PostgreSQL tests need psycopg ({exc}): pip install -e '.[test]'"
    except RuntimeError as exc:
        reason = f"PostgreSQL tests need a server: {exc}"
    else:
        yield server
        server.stop()
        return
    if required:
        pytest.fail(reason + " (SEG_REQUIRE_POSTGRES=1: they must run)")
    pytest.skip(reason)


def database_url(pg_server) -> str:
    """A seg database of its own on the test server: a new schema, made by seg's first write."""
    return pg_server.url("postgres", f"t{os.getpid()}_{next(_schemas)}")


@pytest.fixture
def new_database(engine, tmp_path, request):
    """A function giving the name of another new database of this test's engine (a file, or a
    schema on the test server): for tests that compare two databases."""
    names = itertools.count(1)

    def make() -> str:
        if engine == "postgresql":
            return database_url(request.getfixturevalue("pg_server"))
        return str(tmp_path / f"other-{next(names)}.db")

    return make


@pytest.fixture(autouse=True)
def seg_env(tmp_path, monkeypatch, engine, request):
    """Point SEG_DB at a temp file (or a fresh PostgreSQL schema) and pin SEG_NOW, so no test
    touches a real database or the clock."""
    if engine == "postgresql":
        monkeypatch.setenv("SEG_DB", database_url(request.getfixturevalue("pg_server")))
    else:
        monkeypatch.setenv("SEG_DB", str(tmp_path / "seg.db"))
    monkeypatch.setenv("SEG_NOW", NOW)
    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.chdir(tmp_path)
    return tmp_path


@dataclass
class Result:
    code: int
    out: str
    err: str

    def __repr__(self) -> str:  # shown by pytest when an assertion fails
        return f"Result(code={self.code}, out={self.out[:2000]!r}, err={self.err[:2000]!r})"


def run(*args: str, stdin: bytes | str | None = None) -> Result:
    """Run ``seg ARGS`` in-process through its real entry point (error handling included)."""
    from segcli.cli import main

    # stdout has a binary buffer, as a real one does (exports to -o - write bytes to it).
    out = io.TextIOWrapper(io.BytesIO(), encoding="utf-8", write_through=True)
    err = io.StringIO()
    data = stdin.encode("utf-8") if isinstance(stdin, str) else (stdin or b"")
    fake_stdin = io.TextIOWrapper(io.BytesIO(data), encoding="utf-8")
    old_argv, old_stdin = sys.argv, sys.stdin
    sys.argv, sys.stdin = ["seg", *args], fake_stdin
    code = 0
    try:
        with redirect_stdout(out), redirect_stderr(err):
            main()
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    finally:
        sys.argv, sys.stdin = old_argv, old_stdin
    out.flush()
    return Result(code, out.buffer.getvalue().decode("utf-8"), err.getvalue())


@pytest.fixture
def seg():
    return run


def db_path() -> str:
    return os.environ["SEG_DB"]


def is_postgres(path: str | None = None) -> bool:
    return (path or db_path()).startswith("postgresql://")


def pg_connect(url: str | None = None):
    """A psycopg connection to a test database's schema (``SEG_DB`` by default)."""
    import psycopg

    from segcli.store.pgconnect import parse_url

    conninfo, schema, _ = parse_url(url or db_path())
    conn = psycopg.connect(conninfo, autocommit=True)
    conn.execute(f'SET search_path TO "{schema}"')
    return conn, schema


def query(sql: str, params: tuple = ()) -> list[tuple]:
    """Rows of SQL run on the test's database, whichever the engine (``?`` parameters)."""
    return query_url(db_path(), sql, params)


def query_url(path: str, sql: str, params: tuple = ()) -> list[tuple]:
    """``query`` on the database at ``path`` (a file or a URL)."""
    if not is_postgres(path):
        conn = sqlite3.connect(path)
        try:
            rows = conn.execute(sql, params).fetchall()
            conn.commit()  # a write by "another program" (PostgreSQL's connection is autocommit)
            return rows
        finally:
            conn.close()
    conn, _ = pg_connect(path)
    try:
        cur = conn.execute(sql.replace("?", "%s"), params)
        return [tuple(r) for r in cur.fetchall()] if cur.description else []
    finally:
        conn.close()


def snapshot(path: str | None = None) -> dict:
    """Everything in the database, to check that a failed command changed nothing."""
    path = path or db_path()
    if is_postgres(path):
        return _pg_snapshot(path)
    if not os.path.exists(path):
        return {"exists": False}
    conn = sqlite3.connect(path)
    try:
        tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")]
        data = {t: sorted(map(repr, conn.execute(f"SELECT * FROM {t}"))) for t in tables}
        data["schema"] = sorted(r[0] or "" for r in conn.execute("SELECT sql FROM sqlite_master"))
        return data
    finally:
        conn.close()


def _pg_snapshot(url: str) -> dict:
    conn, schema = pg_connect(url)
    try:
        tables = [
            r[0]
            for r in conn.execute(
                "SELECT tablename FROM pg_tables WHERE schemaname = %s ORDER BY tablename", (schema,)
            ).fetchall()
        ]
        if not tables:
            return {"exists": False}
        data = {t: sorted(map(repr, conn.execute(f'SELECT * FROM "{t}"').fetchall())) for t in tables}
        data["schema"] = sorted(
            map(
                repr,
                conn.execute(
                    "SELECT table_name, column_name, data_type FROM information_schema.columns WHERE table_schema = %s",
                    (schema,),
                ).fetchall(),
            )
        )
        return data
    finally:
        conn.close()


def write(path: Path, text: str | bytes) -> Path:
    if isinstance(text, str):
        path.write_text(text, encoding="utf-8")
    else:
        path.write_bytes(text)
    return path


@pytest.fixture
def sample_db(seg_env):
    """The sample data with the example segments, as the Quick start builds it."""
    assert run("apply", str(EXAMPLE_YAML)).code == 0
    result = run("import", str(SAMPLE_CSV))
    assert result.code == 0, result
    return seg_env


def independent_rows(path) -> list[dict]:
    """Customers of a generated CSV read with nothing of seg's: plain csv, hand-written normalization."""
    names = {"arabic": "ar", "english": "en", "hindi": "hi", "urdu": "ur", "french": "fr", "spanish": "es"}
    countries = {
        "omn": "OM",
        "oman": "OM",
        "are": "AE",
        "united arab emirates": "AE",
        "sau": "SA",
        "saudi arabia": "SA",
        "kuwait": "KW",
        "qatar": "QA",
        "bahrain": "BH",
        "india": "IN",
        "united kingdom": "GB",
        "usa": "US",
    }
    out = []
    with open(path, encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    for row in rows:
        lang = row["language"].lower()
        lang = names.get(lang, lang.split("-")[0]) if lang else None

        def when(text: str) -> datetime | None:
            if not text:
                return None
            dt = datetime.fromisoformat(text)
            return (dt if dt.tzinfo else dt.replace(tzinfo=UTC)).astimezone(UTC)

        out.append(
            {
                "id": row["id"],
                "language": lang,
                "country": countries.get(row["country"].lower(), row["country"].upper()) or None,
                "platform": row["platform"].lower(),
                "tags": {t.strip().casefold() for t in row["tags"].split(",") if t.strip()},
                "created": when(row["created_at"]),
                "last": when(row["last_interaction_at"]),
                "opted_out": row["marketing_opt_out"].lower() in ("yes", "true", "1", "y"),
                "tier": row["tier"].lower(),
                "interest": row["interest"].lower(),
                "phone": row["phone"].strip() or None,
                "email": row["email"].strip() or None,
                "name": row["name"].strip() or None,
            }
        )
    return out


def read_terminal(leader: int) -> str:
    """Everything a process showed on the pseudo-terminal whose ``leader`` end this is, until it
    closes (then the leader is closed too). It gives up after a minute, only so that a hang cannot
    block the suite: not a timing assertion."""
    seen = b""
    give_up = time.monotonic() + 60
    while time.monotonic() < give_up:
        if not select.select([leader], [], [], 1)[0]:
            continue
        try:
            chunk = os.read(leader, 65536)
        except OSError:  # the terminal closed with the process
            break
        if not chunk:
            break
        seen += chunk
    os.close(leader)
    return seen.decode("utf-8", "replace")
