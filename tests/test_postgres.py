"""What the PostgreSQL engine promises beyond the tests that run on both engines (SPEC §12): its
URLs, the advisory lock and who holds it, readers that never wait, an import killed at any point,
results that depend on neither the server's collation nor its time zone, a read-only server."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest
from conftest import EXAMPLE_YAML, SAMPLE_CSV, db_path, query, query_url, run, snapshot, write

pytestmark = pytest.mark.parametrize("engine", ["postgresql"], indirect=True)

SEG = [sys.executable, "-c", "from segcli.cli import main; main()"]


def seg_proc(*args: str, env: dict | None = None, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(
        [*SEG, *args], capture_output=True, text=True, env={**os.environ, **(env or {})}, timeout=120, **kwargs
    )


def stopped(proc: subprocess.Popen) -> bool:
    """Whether the process has stopped itself (SEG_FAULT=NAME:stop), or ended."""
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            return False
        with open(f"/proc/{proc.pid}/stat", encoding="ascii") as fh:
            if fh.read().rsplit(")", 1)[1].split()[0] == "T":
                return True
        time.sleep(0.02)
    return False


def big_file(tmp_path, n: int = 20000, prefix: str = "N"):
    rows = "".join(f"{prefix}{i:06d},New {i},OM,whatsapp,gold\n" for i in range(n))
    return write(tmp_path / f"{prefix}.csv", "id,name,country,platform,tier\n" + rows)


# --- URLs and connecting ----------------------------------------------------------------------------


def test_url_forms_schema_and_a_password_never_shown():
    from segcli.errors import UsageError
    from segcli.store import is_url
    from segcli.store.pgconnect import parse_url

    assert is_url("postgresql://u@h/db") and is_url("postgres://u@h/db") and not is_url("postgresql.db")
    assert parse_url("postgresql://ann@db.example/shop") == (
        "postgresql://ann@db.example/shop",
        "seg",
        "postgresql://ann@db.example/shop?schema=seg",
    )
    libpq, schema, shown = parse_url("postgresql://ann:s3cret@db.example:5433/shop?schema=crm&sslmode=require")
    assert (libpq, schema) == ("postgresql://ann:s3cret@db.example:5433/shop?sslmode=require", "crm")
    assert "s3cret" not in shown and shown == "postgresql://ann@db.example:5433/shop?sslmode=require&schema=crm"
    assert parse_url("postgresql:///shop?options=-csearch_path%3Dmarketing")[1] == "marketing"
    with pytest.raises(UsageError, match="cannot be a schema"):
        parse_url("postgresql:///shop?schema=a;drop")


def test_a_server_that_cannot_be_reached_is_a_clear_error(tmp_path):
    r = run("--db", f"postgresql://seg@{str(tmp_path).replace('/', '%2F')}/shop", "count", "x")
    assert r.code == 1 and "cannot connect to postgresql://seg@" in r.err and "Traceback" not in r.err


def test_without_psycopg_a_url_says_how_to_install_it(monkeypatch):
    monkeypatch.setitem(sys.modules, "psycopg", None)  # import psycopg now raises ImportError
    for module in ("segcli.store.postgres", "segcli.store.pgconnect"):
        monkeypatch.delitem(sys.modules, module, raising=False)
    r = run("count", "x")
    assert r.code == 1 and "pip install 'segcli[postgres]'" in r.err and "Traceback" not in r.err


def test_a_schema_holding_other_tables_is_refused_untouched():
    url = db_path()
    schema = url.rsplit("schema=", 1)[1]
    query_url(url.rsplit("?", 1)[0] + "?schema=public", f"CREATE SCHEMA {schema}")
    query(f"CREATE TABLE {schema}.invoices (n int)")
    query(f"INSERT INTO {schema}.invoices VALUES (1)")
    for args in (["import", str(SAMPLE_CSV)], ["list"]):
        r = run(*args)
        assert r.code == 1 and "holds tables but is not a seg database" in r.err, r
    assert query(f"SELECT n FROM {schema}.invoices") == [(1,)]


def test_a_failed_or_dry_run_first_write_leaves_no_schema(tmp_path):
    r = run("import", str(SAMPLE_CSV), "--dry-run")
    assert r.code == 0 and "300 created" in r.err
    assert snapshot() == {"exists": False}
    assert query("SELECT count(*) FROM pg_namespace WHERE nspname = ?", (db_path().rsplit("=", 1)[1],)) == [(0,)]
    r = run("import", str(write(tmp_path / "bad.csv", "id,country\n1,Atlantis\n")))
    assert r.code == 1 and snapshot() == {"exists": False}
    r = run("count", "x")
    assert r.code == 1 and "no database at postgresql://" in r.err


# --- what the results do not depend on ---------------------------------------------------------


def test_results_do_not_depend_on_the_sessions_time_zone(tmp_path, monkeypatch):
    """The test server runs in Asia/Kathmandu (+05:45); a client may set any zone (PGTZ)."""
    rows = "id,created_at\nm1,2026-11-28T23:59:59Z\nm2,2026-11-29T00:00:00Z\nm3,2026-11-29T18:30:00+05:45\n"
    assert run("import", str(write(tmp_path / "t.csv", rows))).code == 0
    assert run("create", "Today", "-w", "created_at = 2026-11-29").code == 0
    assert run("create", "Recent", "-w", "created_at within last 12 hours").code == 0
    for zone in ("UTC", "Pacific/Kiritimati", "America/Los_Angeles"):
        monkeypatch.setenv("PGTZ", zone)  # libpq sets the session's zone from it at each connection
        assert run("count", "Today").out == "2\n", zone
        assert run("count", "Recent").out == "1\n", zone
        out = run("members", "Today", "-f", "csv", "-c", "id,created_at").out
        assert out.splitlines() == ["id,created_at", "m2,2026-11-29T00:00:00Z", "m3,2026-11-29T12:45:00Z"]
    assert query("SHOW timezone") != [("UTC",)]  # the server's own zone is none of these


# --- the writer lock, readers, kills ------------------------------------------------------------


def waiting_for_the_lock(operation: str, pid: int) -> bool:
    """Whether seg process ``pid`` is waiting for the writer lock (for ``operation``)."""
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if query(
            "SELECT count(*) FROM pg_stat_activity WHERE application_name LIKE ? AND wait_event_type = 'Lock'",
            (f"seg {operation} pid={pid} %",),
        ) == [(1,)]:
            return True
        time.sleep(0.02)
    return False


@pytest.mark.slow
def test_a_stopped_import_blocks_writers_who_name_it_never_readers(sample_db, tmp_path):
    """An import stopped just before its commit holds the lock and its uncommitted rows: a reader
    answers from the committed state at once, a writer gives up naming the import, and an export
    writes the committed state, then waits to record it until the import has committed."""
    count = int(run("count", "WhatsApp Opted-In").out)
    proc = subprocess.Popen(
        [*SEG, "import", str(big_file(tmp_path))],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={**os.environ, "SEG_FAULT": "import:before-commit:stop"},
    )
    try:
        assert stopped(proc), proc.stderr.read() if proc.poll() is not None else "never stopped"
        assert seg_proc("count", "WhatsApp Opted-In").stdout == f"{count}\n"  # no wait, the committed state
        blocked = seg_proc("create", "Blocked", "-w", "tier = gold", env={"SEG_BUSY_TIMEOUT": "0.3"})
        assert blocked.returncode == 1 and "Traceback" not in blocked.stderr
        assert f"is locked by seg import (pid {proc.pid} on " in blocked.stderr, blocked.stderr
        assert "PostgreSQL advisory lock" in blocked.stderr and "waited 0.3 s" in blocked.stderr
        gave_up = tmp_path / "gave-up.csv"
        late = seg_proc("export", "WhatsApp Opted-In", "-o", str(gave_up), env={"SEG_EXPORT_WAIT": "0.2"})
        assert late.returncode == 1 and "locked by seg import" in late.stderr
        assert "raise SEG_EXPORT_WAIT" in late.stderr and not gave_up.exists()  # not recorded: not written
        out = tmp_path / "during.csv"
        export = subprocess.Popen(
            [*SEG, "export", "WhatsApp Opted-In", "-o", str(out), "--json"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        assert waiting_for_the_lock("export", export.pid)  # its file is written: now it records it
        proc.send_signal(signal.SIGCONT)
        assert proc.wait(timeout=120) == 0
        assert export.wait(timeout=120) == 0, export.stderr.read()
    finally:
        proc.kill()
    assert sum(1 for _ in out.open(encoding="utf-8")) - 1 == count  # the state before the import
    assert int(run("count", "WhatsApp Opted-In").out) == count + 20000
    assert run("history", "--json").code == 0


def test_a_writer_whose_wait_ends_as_the_holder_finishes_takes_the_lock(sample_db, monkeypatch):
    """The holder may commit between the moment a waiter gives up and the moment it asks who holds
    the lock: nobody does then, and the waiter takes the lock instead of failing with "locked by
    another process" (seen under load in CI with two imports at once)."""
    import segcli
    from segcli.store import pgconnect, postgres

    real = pgconnect.take_lock
    calls = []

    def gives_up_once(conn, key, operation, wait_ms):  # the wait ran out just as the holder finished
        calls.append(wait_ms)
        return False if len(calls) == 1 else real(conn, key, operation, wait_ms)

    monkeypatch.setattr(postgres, "take_lock", gives_up_once)
    with segcli.open(db_path()) as db:
        db.segments.create("Taken", where="tier = gold")
    assert calls[0] > 0 and calls[1:] == [0]  # one more try, without waiting
    assert run("show", "Taken").code == 0


@pytest.mark.slow
def test_a_stopped_import_killed_loses_nothing_and_frees_the_lock(sample_db, tmp_path):
    before = snapshot()
    proc = subprocess.Popen(
        [*SEG, "import", str(big_file(tmp_path))],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={**os.environ, "SEG_FAULT": "import:before-commit:stop"},
    )
    assert stopped(proc)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert snapshot() == before
    assert run("create", "Now free", "-w", "tier = gold").code == 0  # the lock went with the import


@pytest.mark.slow
def test_an_import_killed_in_the_middle_of_its_copy_loses_nothing(sample_db, tmp_path):
    before = snapshot()
    big = big_file(tmp_path, 150_000)
    proc = subprocess.Popen([*SEG, "import", str(big)], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    copying = []
    while time.monotonic() < deadline and proc.poll() is None and not copying:
        copying = query(
            "SELECT pid FROM pg_stat_activity WHERE application_name LIKE ? AND query LIKE ?",
            (f"seg import pid={proc.pid} %", "COPY customers%"),
        )
    assert copying, "the import never reached its COPY"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert snapshot() == before
    r = run("import", str(big))
    assert r.code == 0 and "150000 read, 150000 created" in r.err, r


@pytest.mark.slow
def test_two_first_imports_at_once_both_land_one_after_the_other(tmp_path):
    """Into a new database: the first makes it, the second waits for the lock, then finds it made."""
    files = [big_file(tmp_path, 20000, prefix) for prefix in "AB"]
    procs = [subprocess.Popen([*SEG, "import", str(f)], stdout=subprocess.PIPE, stderr=subprocess.PIPE) for f in files]
    results = [(p.wait(), p.stderr.read().decode()) for p in procs]
    assert all(code == 0 for code, _ in results), results
    assert query("SELECT left(id, 1), count(*) FROM customers GROUP BY 1 ORDER BY 1") == [("A", 20000), ("B", 20000)]
    assert query("SELECT value FROM seg_meta WHERE name = 'schema_version'") == [(str(_schema_version()),)]


def _schema_version() -> int:
    from segcli.store.postgres_schema import SCHEMA_VERSION

    return SCHEMA_VERSION


def test_a_read_only_server_is_read_but_never_written(sample_db):
    """A standby, or a role whose transactions are read-only: every read works, a write is refused."""
    url = db_path()
    schema = url.rsplit("schema=", 1)[1]
    role = f"reader_{schema}"
    query(f"CREATE ROLE {role} LOGIN")
    query(f"GRANT USAGE ON SCHEMA {schema} TO {role}")
    query(f"GRANT SELECT ON ALL TABLES IN SCHEMA {schema} TO {role}")
    query(f"ALTER ROLE {role} SET default_transaction_read_only = on")
    reader = url.replace("postgresql://seg@", f"postgresql://{role}@")
    assert run("--db", reader, "count", "VIP Arabic Speakers").out == run("count", "VIP Arabic Speakers").out
    assert run("--db", reader, "members", "VIP Arabic Speakers", "-f", "csv").code == 0
    r = run("--db", reader, "create", "New", "-w", "tier = gold")
    assert r.code == 1 and "the server is read-only" in r.err
    r = run("--db", reader, "export", "VIP Arabic Speakers", "-o", "a.csv")
    assert r.code == 1 and "the server is read-only" in r.err


def test_the_apply_of_the_example_is_the_same_on_a_second_schema(new_database):
    """Two seg databases on one server are independent (a schema each, a lock each)."""
    other = new_database()
    assert run("apply", str(EXAMPLE_YAML)).code == 0
    assert run("--db", other, "apply", str(EXAMPLE_YAML)).code == 0
    assert run("import", str(SAMPLE_CSV)).code == 0
    assert run("--db", other, "list").out.count("\t0\t") == 6  # its own customers: none


def test_sqlite_utils_is_a_usage_error_and_views_live_in_the_schema(sample_db):
    """SPEC §14: db.sqlite_utils() is SQLite's alone; seg views makes PostgreSQL views, in the
    database's own schema, that plain SQL reads (here, with another session's search path)."""
    import segcli
    from segcli.errors import UsageError

    with segcli.open(db_path()) as db, pytest.raises(UsageError, match="needs an SQLite database"):
        db.sqlite_utils()
    assert run("views").code == 0
    schema = db_path().rsplit("schema=", 1)[1]
    with_schema = query(f"SELECT count(*) FROM {schema}.segment_vip_arabic_speakers")
    assert with_schema == [(int(run("count", "VIP Arabic Speakers").out),)]


def test_a_long_segment_name_gets_a_view_postgresql_can_name(seg_env):
    """PostgreSQL cuts names at 63 bytes: two long names that share their start would become one
    view; seg cuts them itself and ends each with a digest of the whole."""
    from segcli.store.postgres_analysts import pg_view_name

    first, second = "عملاء " * 12 + "الأول", "عملاء " * 12 + "الثاني"
    for name in (first, second):
        assert run("create", name, "--where", "country = OM").code == 0
    names = [v["view"] for v in json.loads(run("views", "--json").out)]  # as PostgreSQL holds them
    assert len(set(names)) == 2 and all(len(n.encode()) <= 63 for n in names)
    assert all(query(f'SELECT count(*) FROM "{n}"') == [(0,)] for n in names)
    assert pg_view_name("segment_vip") == "segment_vip"


def test_a_views_values_stay_values_whatever_the_servers_string_settings(seg_env, tmp_path, monkeypatch):
    """A view holds its values as literals: with standard_conforming_strings off (PGOPTIONS, read
    by libpq), a backslash before a quote must not end the text early."""
    monkeypatch.setenv("PGOPTIONS", "-c standard_conforming_strings=off")
    nasty = "x\\' OR TRUE --"
    rows = 'id,name\na1,"x\\\' OR TRUE --"\na2,other\n'
    assert run("import", str(write(tmp_path / "n.csv", rows))).code == 0
    assert run("create", "Nasty", "--where", f'name = "{nasty.replace(chr(92), chr(92) * 2)}"').code == 0
    assert run("members", "Nasty", "-f", "csv", "-c", "id").out.split()[1:] == ["a1"]
    assert run("views").code == 0, run("views")
    assert query('SELECT id FROM "segment_nasty"') == [("a1",)]


@pytest.mark.slow
@pytest.mark.parametrize("how", ["SIGTERM", "the server ends the session"])
def test_an_import_cut_short_says_so_and_changes_nothing(sample_db, tmp_path, how):
    """Stopped just before its commit, an import is sent SIGTERM (it acts as Ctrl-C), or loses its
    session (an administrator, a server restart): a clear message, nothing written."""
    before = snapshot()
    proc = subprocess.Popen(
        [*SEG, "import", str(big_file(tmp_path, 1000))],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={**os.environ, "SEG_FAULT": "import:before-commit:stop"},
    )
    assert stopped(proc)
    if how == "SIGTERM":
        proc.send_signal(signal.SIGTERM)
    else:
        ended = query(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name LIKE ?",
            (f"seg import pid={proc.pid} %",),
        )
        assert ended == [(True,)]
    proc.send_signal(signal.SIGCONT)
    err = proc.communicate(timeout=120)[1].decode()
    assert "Traceback" not in err
    if how == "SIGTERM":
        assert proc.returncode == 143 and "interrupted; nothing was changed" in err
    else:
        assert proc.returncode == 1 and "failed (terminating connection" in err and "nothing was written" in err
    assert snapshot() == before


def test_an_older_database_is_migrated_forward_each_step_in_a_transaction(sample_db, monkeypatch):
    """seg_meta's schema_version counts the migrations a database has had: opening it runs the
    missing ones, each with its version bump in one transaction; one that fails leaves it as it was."""
    from segcli.store import postgres, postgres_schema
    from segcli.store.migrations import Migration

    def version() -> int:
        return int(query("SELECT value FROM seg_meta WHERE name = 'schema_version'")[0][0])

    assert version() == postgres_schema.SCHEMA_VERSION
    newer = (
        *postgres_schema.MIGRATIONS,
        Migration("a table", ("CREATE TABLE extra (n int)", "INSERT INTO extra VALUES (1)")),
    )
    monkeypatch.setattr(postgres, "MIGRATIONS", newer)
    monkeypatch.setattr(postgres, "SCHEMA_VERSION", len(newer))
    count = run("count", "VIP Arabic Speakers").out
    assert count != "" and version() == len(newer) and query("SELECT n FROM extra") == [(1,)]
    failing = (*newer, Migration("a step that fails", ("CREATE TABLE extra2 (n int)", "SELECT 1 / 0")))
    monkeypatch.setattr(postgres, "MIGRATIONS", failing)
    monkeypatch.setattr(postgres, "SCHEMA_VERSION", len(failing))
    r = run("count", "VIP Arabic Speakers")
    assert r.code == 1 and "division by zero" in r.err and "Traceback" not in r.err
    assert version() == len(newer) and query("SELECT to_regclass('extra2')") == [(None,)]
    monkeypatch.setattr(postgres, "SCHEMA_VERSION", len(newer) - 1)  # a seg older than the database
    r = run("count", "VIP Arabic Speakers")
    assert r.code == 1 and "written by a newer seg" in r.err
