"""Reliability under faults, overlaps and hostile input (what the README's "Reliability" promises)."""

from __future__ import annotations

import json
import os
import re
import resource
import signal
import sqlite3
import subprocess
import sys
import time

import pytest
from conftest import SAMPLE_CSV, is_postgres, query, run, snapshot, write
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

SEG = [sys.executable, "-c", "from segcli.cli import main; main()"]


def seg_proc(*args: str, env: dict | None = None, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run([*SEG, *args], capture_output=True, text=True, env={**os.environ, **(env or {})}, **kwargs)


def integrity_ok() -> bool:
    if is_postgres():  # the server keeps its own files whole; check the tables read back
        return query("SELECT count(*) FROM customers")[0][0] >= 0
    conn = sqlite3.connect(os.environ["SEG_DB"])
    try:
        return conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    finally:
        conn.close()


# --- faults: killed at the worst moment -----------------------------------------------------------


@pytest.mark.slow
@pytest.mark.both_engines
@pytest.mark.parametrize(
    ("point", "args"),
    [
        ("import:before-commit", ["import", "{csv}"]),
        ("apply:before-commit", ["apply", "{yaml}", "--prune"]),
        ("delete:before-commit", ["delete", "VIP Arabic Speakers", "Gold Tier in Oman", "--yes"]),
        ("export:before-rename", ["export", "WhatsApp Opted-In", "-o", "{out}"]),
    ],
)
def test_sigkill_before_commit_changes_nothing(sample_db, tmp_path, point, args):
    more = write(tmp_path / "more.csv", "id,name,tier\nnew-1,New,gold\nC000001,Renamed,silver\n")
    yaml = write(tmp_path / "s.yaml", "segments:\n  - name: Only this\n    where: tier = gold\n")
    out = tmp_path / "audience.csv"
    out.write_bytes(b"the earlier audience\n")
    before = snapshot()
    cmd = [a.format(csv=more, yaml=yaml, out=out) for a in args]
    result = seg_proc(*cmd, env={"SEG_FAULT": point})
    assert result.returncode == -signal.SIGKILL, result.stderr
    assert snapshot() == before
    assert integrity_ok()
    assert out.read_bytes() == b"the earlier audience\n"
    # without the fault, the same command does change things: the test can see a change
    assert seg_proc(*cmd).returncode == 0
    assert snapshot() != before


@pytest.mark.slow
def test_a_full_disk_during_an_import_is_a_clear_error_and_changes_nothing(sample_db, tmp_path):
    rows = "".join(f"X{i},Name {i} {'x' * 200},OM\n" for i in range(20000))
    big = write(tmp_path / "big.csv", "id,name,country\n" + rows)
    before = snapshot()
    limit = os.path.getsize(os.environ["SEG_DB"]) + 256 * 1024

    def small_disk():  # writes past `limit` bytes fail with EFBIG, as on a full disk
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    result = seg_proc("import", str(big), preexec_fn=small_disk)
    assert result.returncode == 1, result.stderr
    assert "could not write to the disk" in result.stderr and "Traceback" not in result.stderr
    assert snapshot() == before
    assert integrity_ok()


def test_a_write_lock_held_elsewhere_fails_clearly_after_the_busy_timeout(sample_db, tmp_path, monkeypatch):
    monkeypatch.setenv("SEG_BUSY_TIMEOUT", "0.3")
    holder = sqlite3.connect(os.environ["SEG_DB"], isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        before_customers = holder.execute("SELECT count(*) FROM customers").fetchone()[0]
        started = time.monotonic()
        result = seg_proc("create", "Blocked", "-w", "tier = gold")
        assert time.monotonic() - started >= 0.3
        assert result.returncode == 1
        assert "locked by another process" in result.stderr and "Traceback" not in result.stderr
        # reads are never blocked by a writer (WAL)
        assert seg_proc("count", "VIP Arabic Speakers").returncode == 0
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert int(seg_proc("count", "VIP Arabic Speakers").stdout) > 0
    assert before_customers == 300


def test_the_lock_message_names_the_seg_operation_holding_it(sample_db, monkeypatch):
    monkeypatch.setenv("SEG_BUSY_TIMEOUT", "0.2")
    holder = sqlite3.connect(os.environ["SEG_DB"], isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    marker = os.environ["SEG_DB"] + ".writer"
    with open(f"/proc/{os.getpid()}/stat", encoding="ascii") as fh:  # when this process started
        started = fh.read().rsplit(")", 1)[1].split()[19]
    with open(marker, "w", encoding="utf-8") as fh:  # what a running `seg import` leaves beside the file
        json.dump({"operation": "import", "pid": os.getpid(), "since": "2026-11-29T02:30:00Z", "started": started}, fh)
    try:
        result = seg_proc("create", "Blocked", "-w", "tier = gold")
        assert result.returncode == 1
        assert f"locked by seg import (pid {os.getpid()}, since 2026-11-29T02:30:00Z" in result.stderr
    finally:
        holder.execute("ROLLBACK")
        holder.close()
        os.unlink(marker)


@pytest.mark.parametrize("damage", ["not sqlite", "truncated", "newer"])
def test_a_damaged_or_foreign_database_is_refused_untouched(sample_db, damage):
    path = os.environ["SEG_DB"]
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    if damage == "newer":
        conn.execute("PRAGMA user_version = 42")
    conn.close()
    with open(path, "rb") as fh:
        data = fh.read()
    if damage == "not sqlite":
        data = b"PK\x03\x04 a zip file, say" + data[100:2000]
    elif damage == "truncated":
        data = data[: len(data) // 3]
    with open(path, "wb") as fh:
        fh.write(data)
    for args in (["count", "VIP Arabic Speakers"], ["import", str(SAMPLE_CSV)], ["list"]):
        result = run(*args)
        assert result.code == 1, (args, result)
        assert "Traceback" not in result.err
        assert any(w in result.err for w in ("not a seg database", "damaged", "newer seg", "malformed")), result.err
    with open(path, "rb") as fh:
        assert fh.read() == data


# --- overlaps -------------------------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.both_engines
def test_an_export_during_an_import_sees_all_or_nothing_of_it(sample_db, tmp_path):
    rows = "".join(f"N{i:06d},New {i},OM,whatsapp,gold\n" for i in range(40000))
    big = write(tmp_path / "big.csv", "id,name,country,platform,tier\n" + rows)
    before = int(run("count", "WhatsApp Opted-In").out)
    importer = subprocess.Popen([*SEG, "import", str(big)], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    seen = set()
    deadline = time.monotonic() + 60
    while importer.poll() is None and time.monotonic() < deadline:
        out = tmp_path / f"a{len(seen)}.csv"
        result = seg_proc("export", "WhatsApp Opted-In", "-o", str(out), "--json")
        assert result.returncode == 0, result.stderr
        written = json.loads(result.stdout)["written"]
        assert sum(1 for _ in out.open(encoding="utf-8")) - 1 == written
        seen.add(written)
    assert importer.wait() == 0
    after = int(run("count", "WhatsApp Opted-In").out)
    assert after == before + 40000
    assert seen <= {before, after}  # never a mix


@pytest.mark.slow
@pytest.mark.both_engines
def test_two_imports_at_once_one_waits_or_fails_clearly(sample_db, tmp_path):
    a = write(tmp_path / "a.csv", "id,name\n" + "".join(f"A{i},a\n" for i in range(30000)))
    b = write(tmp_path / "b.csv", "id,name\n" + "".join(f"B{i},b\n" for i in range(30000)))
    env = {**os.environ, "SEG_BUSY_TIMEOUT": "0.5"}
    procs = [
        subprocess.Popen([*SEG, "import", str(p)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
        for p in (a, b)
    ]
    results = [(p.wait(), p.stderr.read().decode()) for p in procs]
    assert any(code == 0 for code, _ in results)
    for code, err in results:
        assert code in (0, 1) and "Traceback" not in err
        if code == 1:
            assert "locked by seg import" in err
    assert integrity_ok()

    def count(prefix: str) -> int:
        return query("SELECT count(*) FROM customers WHERE id LIKE ?", (prefix + "%",))[0][0]

    for (code, _), prefix in zip(results, "AB", strict=True):
        assert count(prefix) == (30000 if code == 0 else 0)


# --- hostile input --------------------------------------------------------------------------------

NASTY = ["x'; DROP TABLE customers; --", 'a"b', "50%", "_", "back\\slash", "semi;colon", "--", "' OR 1=1 --"]


@pytest.mark.both_engines
def test_sql_metacharacters_are_data_everywhere(tmp_path):
    rows = "".join(
        f'h{i},"{v.replace(chr(34), chr(34) * 2)}","{v.replace(chr(34), chr(34) * 2)}",{v.replace(chr(34), "")[:3] or "x"}\n'
        for i, v in enumerate(NASTY)
    )
    assert run("import", str(write(tmp_path / "h.csv", "id,name,note,tags\n" + rows))).code == 0
    for i, value in enumerate(NASTY):
        quoted = '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
        name = f"Seg {value}"
        r = run("create", name, "--where", f"name = {quoted} and note contains {quoted}")
        assert r.code == 0, r
        assert run("count", name).out == "1\n"
        members = run("members", name, "-f", "csv", "-c", "id,name").out.splitlines()
        assert members[1].startswith(f"h{i},")
    # the tables are all still there, and hold what was put in them
    assert query("SELECT count(*) FROM customers") == [(len(NASTY),)]
    assert {r[0] for r in query("SELECT name FROM customers")} == set(NASTY)
    r = run("filter", "-w", "name contains '%'", "-f", "csv", "-c", "id")
    assert r.out.splitlines()[1:] == ["h2"]  # % is a plain character, not a wildcard
    r = run("filter", "-w", "name = _", "-f", "csv", "-c", "id")
    assert r.out.splitlines()[1:] == ["h3"]


def test_hostile_attribute_names_never_reach_sql(tmp_path):
    """Any text is an attribute name (SPEC §8): a hostile one is a harmless name whose column is
    a plain identifier made from its slug; control characters are still refused."""
    names = ['x"; DROP TABLE customers; --', "a;b", "x) --", "attr__x", "عميل; --"]
    for i, name in enumerate(names):
        r = run("attributes", "define", name, "--type", "text")
        assert r.code == 0, (name, r)
        csv_text = f'id,"{name.replace(chr(34), chr(34) * 2)}"\nh{i},v{i}\n'
        assert run("import", str(write(tmp_path / f"h{i}.csv", csv_text))).code == 0
        quoted = name.replace("\\", "\\\\").replace('"', '\\"')
        assert run("filter", "-w", f'"{quoted}" = v{i}', "-f", "csv", "-c", "id").out == f"id\nh{i}\n"
    conn = sqlite3.connect(os.environ["SEG_DB"])
    assert conn.execute("SELECT count(*) FROM customers").fetchone()[0] == len(names)
    for (column,) in conn.execute("SELECT column_name FROM attributes"):
        assert re.fullmatch(r"attr_[a-z0-9_]+", column), column
    for name in ["a\x00b", "a\x1bb"]:
        r = run("attributes", "define", name, "--type", "text")
        assert r.code == 2 and "cannot be an attribute name" in r.err, (name, r)


def test_nul_bytes_are_refused_in_values_and_filters(tmp_path):
    r = run("import", str(write(tmp_path / "n.csv", b"id,name\nn1,bad\x00name\n")))
    assert r.code == 1 and "NUL" in r.err
    run("import", str(write(tmp_path / "ok.csv", "id,name\nn1,ok\n")))
    r = run("filter", "-w", "name = a\x00b")
    assert r.code == 2 and "control character" in r.err


def test_a_list_element_cannot_hold_the_separator_of_the_fold_column(tmp_path):
    """Elements sit between U+001F in the fold column: one holding it could fake two elements."""
    assert run("import", str(write(tmp_path / "ok.csv", "id,tags\nt0,vip\n"))).code == 0
    before = snapshot()
    for path, line in (
        (write(tmp_path / "t.csv", 'id,tags\nt1,"vip\x1flead"\n'), 2),
        (write(tmp_path / "t.jsonl", json.dumps({"id": "t1", "tags": ["vip\x1flead"]}) + "\n"), 1),
    ):
        r = run("import", str(path))
        assert r.code == 1 and f"{path}:{line}:" in r.err and "U+001F" in r.err, r
        assert snapshot() == before


# --- fuzzing --------------------------------------------------------------------------------------

WORDS = [
    "tags",
    "name",
    "tier",
    "created_at",
    "=",
    "!=",
    ">",
    "in",
    "not",
    "contains",
    "any",
    "all",
    "(",
    ")",
    ",",
    "and",
    "or",
    "is",
    "set",
    "between",
    "within",
    "last",
    "days",
    "older",
    "than",
    '"',
    "'",
    "gold",
    "7",
    "2026-01-01",
    "é",
    "\\",
    "starts",
    "with",
    "-5",
    "x" * 30,
]


@settings(max_examples=400, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.one_of(st.text(max_size=40), st.lists(st.sampled_from(WORDS), max_size=10).map(" ".join)))
def test_random_filters_give_a_result_or_a_usage_error(sample_db, text):
    r = run("filter", "--where", text, "-f", "csv", "-c", "id")
    assert r.code in (0, 2), r
    assert "Traceback" not in r.err and "internal error" not in r.err
    if r.code == 2:
        assert r.err.startswith("seg: error:")


@settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    fmt=st.sampled_from(["csv", "json", "jsonl"]),
    data=st.one_of(
        st.binary(max_size=300),
        st.text(max_size=200).map(str.encode),
        st.sampled_from([b"id,name\n", b"[", b'[{"id": 1}', b"id\n\xff\xfe\n", b'{"id": "1"}\n{', b"\xef\xbb\xbf"]),
    ),
)
def test_random_bytes_give_an_import_or_a_data_error(seg_env, tmp_path_factory, fmt, data):
    path = tmp_path_factory.mktemp("fuzz") / f"in.{fmt}"
    path.write_bytes(data)
    r = run("import", str(path))
    assert r.code in (0, 1), r
    assert "Traceback" not in r.err and "internal error" not in r.err
    if r.code == 1:
        assert r.err.startswith("seg: error:")


# --- limits ---------------------------------------------------------------------------------------


def test_a_one_megabyte_name_is_imported_and_exported(tmp_path):
    name = "N" * (1024 * 1024)
    assert run("import", str(write(tmp_path / "big.csv", f"id,name\nbig,{name}\n"))).code == 0
    assert run("create", "All", "-w", "id is set").code == 0
    out = tmp_path / "out.csv"
    assert run("export", "All", "-o", str(out), "-c", "id,name").code == 0
    assert out.read_text(encoding="utf-8").splitlines()[1] == f"big,{name}"


def test_a_ten_thousand_column_header_is_refused_clearly(tmp_path):
    header = "id," + ",".join(f"c{i}" for i in range(10000))
    r = run("import", str(write(tmp_path / "wide.csv", header + "\n1" + ",x" * 10000 + "\n")))
    assert r.code == 1 and "at most 500 custom attributes" in r.err
    assert not os.path.exists(os.environ["SEG_DB"]) or snapshot().get("attributes", []) == []


@pytest.mark.slow
def test_a_hundred_megabyte_line_is_refused_with_bounded_memory(tmp_path):
    path = tmp_path / "long.csv"
    with open(path, "wb") as fh:
        fh.write(b"id,name\n1,")
        chunk = b"x" * (1024 * 1024)
        for _ in range(100):
            fh.write(chunk)
        fh.write(b"\n")

    def cap_memory():  # well under the 100 MB the line would take as text
        resource.setrlimit(resource.RLIMIT_AS, (400 * 1024 * 1024, 400 * 1024 * 1024))

    result = seg_proc("import", str(path), preexec_fn=cap_memory)
    assert result.returncode == 1, result.stderr
    assert "a line longer than 16 MiB" in result.stderr and "Traceback" not in result.stderr


def test_hostile_json_keys_never_reach_sql(tmp_path):
    """A hostile JSON key is an attribute name like any header (SPEC §8): kept as text, its
    column a plain identifier made from its slug; a control character in it makes the row invalid."""
    lines = (
        '{"id": "1", "x\\"; DROP TABLE customers; --": 5, "ok": 1}\n{"id": "2", "ok": 2}\n'
        '{"id": "3", "bad\\u0007key": 1}\n'
    )
    r = run("import", str(write(tmp_path / "h.jsonl", lines)), "--skip-invalid")
    assert r.code == 0 and "3 read, 2 created" in r.err and "1 rejected" in r.err
    conn = sqlite3.connect(os.environ["SEG_DB"])
    assert sorted(conn.execute("SELECT name, column_name FROM attributes")) == [
        ("ok", "attr_ok"),
        ('x"; DROP TABLE customers; --', "attr_x_drop_table_customers"),
    ]
    assert conn.execute("SELECT count(*) FROM customers").fetchone()[0] == 2
