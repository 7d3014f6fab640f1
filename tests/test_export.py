"""Campaign audiences: `seg export` and `seg history` (SPEC §5)."""

from __future__ import annotations

import csv
import hashlib
import json
import os
import sqlite3
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
from conftest import ROOT, independent_rows, run, snapshot, write
from hypothesis import given, settings
from hypothesis import strategies as st

import segcli

sys.path.insert(0, str(ROOT / "sample_data"))
from generate import generate

pytestmark = pytest.mark.both_engines  # every test here runs on SQLite and PostgreSQL


@pytest.fixture
def shop(seg_env, tmp_path):
    """1,500 generated customers, three overlapping segments; returns their independent reading."""
    out = tmp_path / "gen"
    generate(1500, out, datetime(2026, 11, 29, 12, tzinfo=UTC), seed=3, formats=("csv",))
    assert run("apply", str(ROOT / "segments.example.yaml")).code == 0
    assert run("import", str(out.with_suffix(".csv"))).code == 0
    assert run("create", "VIP", "-w", "tags contains VIP").code == 0
    assert run("create", "Omanis", "-w", "country = OM").code == 0
    assert run("create", "Instagram", "-w", "platform = instagram").code == 0
    return independent_rows(out.with_suffix(".csv"))


def _ids(path: Path) -> list[str]:
    return [row["id"] for row in csv.DictReader(path.open(encoding="utf-8"))]


def test_union_exclusion_opt_out_and_require_against_python(shop, tmp_path):
    vip = {c["id"] for c in shop if "vip" in c["tags"]}
    oman = {c["id"] for c in shop if c["country"] == "OM"}
    insta = {c["id"] for c in shop if c["platform"] == "instagram"}
    by_id = {c["id"]: c for c in shop}
    assert vip & oman and (vip | oman) & insta  # customers in several segments, excluded ones that match
    matched = vip | oman
    after_exclusion = matched - insta
    after_opt = {i for i in after_exclusion if not by_id[i]["opted_out"]}
    after_phone = {i for i in after_opt if by_id[i]["phone"]}
    after_email = {i for i in after_phone if by_id[i]["email"]}

    target = tmp_path / "audience.csv"
    r = run(
        "export",
        "VIP",
        "Omanis",
        "--exclude",
        "Instagram",
        "--require",
        "phone",
        "--require",
        "email",
        "-o",
        str(target),
        "--json",
    )
    assert r.code == 0, r
    ids = _ids(target)
    assert ids == sorted(after_email)  # each once, sorted by id
    result = json.loads(r.out)
    assert [(w["step"], w["count"]) for w in result["waterfall"]] == [
        ("matched by the segments", len(matched)),
        ("after exclusions", len(after_exclusion)),
        ("after opt-outs", len(after_opt)),
        ("after --require phone", len(after_phone)),
        ("after --require email", len(after_email)),
        ("written", len(after_email)),
    ]
    assert "matched by the segments" in r.err and "after --require phone" in r.err  # the waterfall on stderr
    assert int(run("count", "VIP", "Omanis", "--exclude", "Instagram").out) == len(after_exclusion)


def test_include_opted_out_and_default_columns(shop, tmp_path):
    target = tmp_path / "all.csv"
    r = run("export", "Omanis", "-o", str(target), "--include-opted-out")
    assert r.code == 0
    oman = sorted(c["id"] for c in shop if c["country"] == "OM")
    assert _ids(target) == oman
    assert target.read_text(encoding="utf-8").splitlines()[0] == "id,name,phone,email,platform,language,country"
    assert "after opt-outs" not in r.err


def test_columns_lists_and_jsonl(shop, tmp_path):
    target = tmp_path / "a.jsonl"
    r = run("export", "VIP", "-o", str(target), "-f", "jsonl", "-c", "id,tags,tier,lifetime_value,newsletter,products")
    assert r.code == 0
    rows = [json.loads(line) for line in target.read_text(encoding="utf-8").splitlines()]
    assert all(any(t.casefold() == "vip" for t in row["tags"]) for row in rows)
    assert all(isinstance(row["products"], list) for row in rows)
    assert {type(row["newsletter"]) for row in rows} <= {bool, type(None)}
    target = tmp_path / "a.csv"
    assert run("export", "VIP", "-o", str(target), "-c", "id,tags").code == 0
    first = next(csv.DictReader(target.open(encoding="utf-8")))
    assert "," in first["tags"] or first["tags"]  # joined with ","


def test_history_records_the_count_and_checksum_of_the_file_written(shop, tmp_path):
    target = tmp_path / "audience.csv"
    assert run("export", "VIP", "-o", str(target)).code == 0
    record = json.loads(run("history", "--json").out)[0]
    assert record["sha256"] == hashlib.sha256(target.read_bytes()).hexdigest()
    assert record["count"] == len(_ids(target))
    assert record["path"] == str(target)
    assert record["segments"] == [{"name": "VIP", "filter": "tags contains VIP"}]
    assert record["now"] == "2026-11-29T12:00:00Z"
    # The record keeps the filter as it was, whatever the segment becomes.
    run("edit", "VIP", "--where", "tags contains lead")
    assert run("export", "VIP", "-o", str(target)).code == 0
    records = json.loads(run("history", "--json").out)
    assert [r["segments"][0]["filter"] for r in records] == ["tags contains lead", "tags contains VIP"]
    assert len(json.loads(run("history", "--json", "--limit", "1").out)) == 1
    assert "VIP" in run("history").out


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["No such", "-o", "{dir}/a.csv"], 1, 'no segment named "No such"'),
        (["VIP", "-o", "{dir}/a.csv", "-c", "id,nope"], 2, 'unknown column "nope"'),
        (
            ["VIP", "-o", "{dir}/a.csv", "--require", "phon"],
            2,
            'unknown field for --require "phon" (did you mean phone?)',
        ),
        (["VIP", "-o", "{dir}/missing/folder/a.csv"], 1, "does not exist"),
        (["VIP", "-o", "{dir}/afile/a.csv"], 1, "cannot write"),
        (["VIP", "-o", "{dir}"], 2, "it is a folder"),  # SPEC §13: a usage error
    ],
)
def test_failed_exports_write_nothing_and_record_nothing(shop, tmp_path, args, code, message):
    write(tmp_path / "afile", "not a folder")
    before = snapshot()

    def files() -> list[str]:  # SQLite's own -wal/-shm files come and go; ignore them
        return sorted(f for f in os.listdir(tmp_path) if not f.startswith("seg.db-"))

    before_files = files()
    r = run("export", *[a.format(dir=tmp_path) for a in args])
    assert r.code == code, r
    assert message in r.err and "Traceback" not in r.err
    assert snapshot() == before  # nothing recorded
    assert files() == before_files  # nothing written, no temporary file left


def test_export_to_stdout(shop):
    r = run("export", "VIP", "-o", "-", "-c", "id")
    assert r.code == 0
    assert r.out.splitlines()[0] == "id" and len(r.out.splitlines()) > 1
    assert json.loads(run("history", "--json").out)[0]["path"] == "-"


def test_formula_injection_is_neutralized_unless_raw(tmp_path):
    rows = [  # phones are stored in E.164 (SPEC §8); "code" is text that looks like numbers
        ("f1", '=HYPERLINK("http://evil","x")', "+96891234567", ""),
        ("f2", "+cmd|' /C calc'!A0", "+1 (617) 555-0100", "+1 (555) 123-4567"),
        ("f3", "-2+3", "", "-5"),
        ("f4", "@SUM(A1)", "", "12.5"),
        ("f5", "\tTabbed", "", ""),
        ("f6", "Normal = fine", "+968 9123 4568", "+968 9123 4567"),
    ]
    body = "".join(f'{i},"{n.replace(chr(34), chr(34) * 2)}",{p},{c}\n' for i, n, p, c in rows)
    assert run("import", str(write(tmp_path / "f.csv", "id,name,phone,code\n" + body))).code == 0
    assert run("create", "All", "-w", "id is set").code == 0
    target = tmp_path / "out.csv"
    assert run("export", "All", "-o", str(target), "-c", "id,name,phone,code").code == 0
    got = {r["id"]: r for r in csv.DictReader(target.open(encoding="utf-8"))}
    assert got["f1"]["name"] == '\'=HYPERLINK("http://evil","x")' and got["f1"]["phone"] == "+96891234567"
    assert got["f2"]["name"].startswith("'+cmd") and got["f2"]["phone"] == "+16175550100"
    assert got["f2"]["code"] == "+1 (555) 123-4567"  # plainly a phone number: no guard
    assert got["f3"]["name"] == "'-2+3" and got["f3"]["code"] == "-5"
    assert got["f4"]["name"] == "'@SUM(A1)"
    assert got["f5"]["name"] == "Tabbed"  # imported text is trimmed: no tab is left to neutralize
    assert got["f6"]["name"] == "Normal = fine" and got["f6"]["code"] == "+968 9123 4567"
    assert got["f6"]["phone"] == "+96891234568"
    assert run("export", "All", "-o", str(target), "-c", "id,name", "--raw").code == 0
    got = {r["id"]: r for r in csv.DictReader(target.open(encoding="utf-8"))}
    assert got["f1"]["name"].startswith("=HYPERLINK") and got["f4"]["name"] == "@SUM(A1)"


@pytest.mark.sqlite_only
def test_a_database_from_before_exports_existed_is_migrated(tmp_path):
    """A version-1 file (no exports table) opens, migrates to the current version and keeps its data."""
    from segcli.store.migrations import MIGRATIONS, SCHEMA_VERSION

    path = tmp_path / "old.db"
    conn = sqlite3.connect(path)
    for statement in MIGRATIONS[0].steps:
        conn.execute(statement)
    conn.execute("INSERT INTO customers (id, id_fold, country) VALUES ('old-1', 'old-1', 'OM')")
    conn.execute("PRAGMA user_version = 1")
    conn.commit()
    conn.close()
    assert run("--db", str(path), "create", "Omanis", "-w", "country = OM").code == 0
    assert run("--db", str(path), "count", "Omanis").out == "1\n"
    assert run("--db", str(path), "export", "Omanis", "-o", str(tmp_path / "a.csv")).code == 0
    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    assert conn.execute("SELECT count(*) FROM exports").fetchone()[0] == 1


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.text(alphabet=st.sampled_from('ab ,"\\[]é\n\t/'), min_size=1, max_size=6), min_size=1, max_size=4),
    st.booleans(),
)
def test_a_list_cell_is_its_elements_joined(elements, compact):
    """Exports join a list's JSON in SQL, by plain string functions when nothing is escaped: the
    cell must be the elements joined with "," whatever they hold, in any JSON spelling."""
    from segcli.dialects import Dialect

    text = json.dumps(elements, ensure_ascii=False, separators=(",", ":") if compact else None)
    conn = sqlite3.connect(":memory:")
    got = conn.execute(f"SELECT {Dialect().joined_list('x')} FROM (SELECT ? AS x)", (text,)).fetchone()[0]
    assert got == ",".join(elements)


@settings(max_examples=500, deadline=None)
@given(st.text(alphabet=st.sampled_from("=+-@\t\r\n0123456789 ().-eE,aé٣'\""), max_size=12))
def test_sql_and_python_neutralize_alike(text):
    """The export neutralizes the start of a cell in SQL and the lines inside it (rare) in Python:
    together they must give the Python rule, whatever lines the text holds."""
    from segcli.dialects import Dialect
    from segcli.render import guard_lines, neutralize

    conn = sqlite3.connect(":memory:")
    sql = Dialect().neutralized_cell("x")
    got = conn.execute(f"SELECT {sql} FROM (SELECT ? AS x)", (text,)).fetchone()[0]
    assert guard_lines(got) == neutralize(text)


def test_exports_are_sorted_by_id_small_or_large_with_ids_in_random_order(seg_env, tmp_path, engine):
    """A small audience is sorted after one scan, a large one read in id order: both by id."""
    import random

    rng = random.Random(7)
    ids = [f"{rng.getrandbits(64):016x}" for _ in range(400)]
    rows = "".join(f"{cid},{'OM' if n % 10 == 0 else 'AE'}\n" for n, cid in enumerate(ids))
    assert run("import", str(write(tmp_path / "c.csv", "id,country\n" + rows))).code == 0
    assert run("create", "Few", "-w", "country = OM").code == 0  # 10%: sorted after the scan
    assert run("create", "Most", "-w", "country = AE").code == 0  # 90%: read through the id index
    for name, share in (("Few", 0), ("Most", 1)):
        expected = sorted(cid for n, cid in enumerate(ids) if (n % 10 != 0) == share)
        target = tmp_path / f"{name}.csv"
        assert run("export", name, "-o", str(target)).code == 0
        assert _ids(target) == expected
        lines = tmp_path / f"{name}.jsonl"
        assert run("export", name, "-o", str(lines), "--format", "jsonl").code == 0
        assert [json.loads(x)["id"] for x in lines.read_text(encoding="utf-8").splitlines()] == expected

    if engine != "sqlite":
        return  # the plans below are SQLite's
    # How: a few rows are sorted after the scan, most are read through the id index.
    store = segcli.open().store()
    for expected, how in ((40, "USE TEMP B-TREE FOR ORDER BY"), (360, "INDEX sqlite_autoindex_customers")):
        plan = store.conn.execute(
            "EXPLAIN QUERY PLAN SELECT c.id FROM customers c WHERE 1 ORDER BY "
            + store._order_by([("id", False, False)], expected)
        ).fetchall()
        assert any(how in row[3] for row in plan), (expected, plan)
