"""`seg import`: formats, upserts, normalization, strictness, rejects, atomicity (SPEC §2)."""

from __future__ import annotations

import csv
import json
import os
import sqlite3

import pytest
from conftest import SAMPLE_CSV, SAMPLE_JSONL, db_path, query, run, snapshot, write

import segcli

pytestmark = pytest.mark.both_engines  # every test here runs on SQLite and PostgreSQL

HEADER = "id,name,language,country,platform,tags,created_at,marketing_opt_out\n"


def customer(cid: str) -> dict:
    return segcli.open().customer(cid)


def test_csv_import_normalizes_every_builtin_field(tmp_path):
    path = write(
        tmp_path / "c.csv",
        HEADER
        + 'a1,  Salim Al Harthy ,Arabic,Oman,WhatsApp," VIP, lead ,vip,,Lead",2026-01-05T10:00:00+04:00,yes\n'
        + "a2,Ann,ar-OM,OMN,INSTAGRAM,,2026-01-05,N\n"
        + "a3,Émile,EN,ae,webchat,b2b,2026-01-05T10:00:00,\n",
    )
    r = run("import", str(path))
    assert r.code == 0, r
    assert "3 read, 3 created, 0 updated, 0 unchanged, 0 rejected" in r.err
    a1 = customer("a1")
    assert a1["name"] == "Salim Al Harthy"
    assert (a1["language"], a1["country"], a1["platform"]) == ("ar", "OM", "whatsapp")
    assert a1["tags"] == ["VIP", "lead"]  # trimmed, empties dropped, case duplicates collapse to the first
    assert a1["created_at"] == "2026-01-05T06:00:00Z"  # offset honoured, stored in UTC
    assert a1["marketing_opt_out"] is True
    a2 = customer("a2")
    assert (a2["language"], a2["country"], a2["platform"]) == ("ar", "OM", "instagram")
    assert a2["created_at"] == "2026-01-05T00:00:00Z"  # a date is midnight UTC
    assert a2["marketing_opt_out"] is False
    a3 = customer("a3")
    assert a3["created_at"] == "2026-01-05T10:00:00Z"  # no offset means UTC
    assert a3["marketing_opt_out"] is False  # never missing
    assert a3["country"] == "AE"
    # SPEC §2: tags, one row per tag (the customer_tags view)
    rows = query("SELECT c.id, t.tag FROM customer_tags t JOIN customers c ON c.pk = t.customer_pk ORDER BY 1, 2")
    assert rows == [("a1", "VIP"), ("a1", "lead"), ("a3", "b2b")]


def test_bom_and_crlf(tmp_path):
    path = write(tmp_path / "c.csv", b"\xef\xbb\xbfid,name\r\nx1,Ann\r\nx2,Bob\r\n")
    assert run("import", str(path)).code == 0
    assert customer("x1")["name"] == "Ann" and customer("x2")["name"] == "Bob"


def test_json_array_and_jsonl_and_stdin(tmp_path):
    data = [
        {
            "id": "j1",
            "name": "Ann",
            "tags": ["VIP", "vip", " x "],
            "marketing_opt_out": True,
            "attributes": {"score": 10},
        },
        {"id": "j2", "name": None, "tags": "a, b", "opted_out": False, "attributes": {"score": 2.5}},
    ]
    write(tmp_path / "c.json", json.dumps(data, indent=2))
    assert run("import", str(tmp_path / "c.json")).code == 0
    assert customer("j1")["tags"] == ["VIP", "x"]
    assert customer("j1")["attributes"]["score"] == 10
    assert customer("j2")["tags"] == ["a", "b"]
    lines = "\n".join(json.dumps({"id": f"l{i}", "name": f"N{i}"}) for i in range(3)) + "\n"
    write(tmp_path / "c.jsonl", lines)
    assert run("import", str(tmp_path / "c.jsonl")).code == 0
    r = run("import", "-", "--format", "csv", stdin="id,name\ns1,From stdin\n")
    assert r.code == 0, r
    assert customer("s1")["name"] == "From stdin"


def test_stdin_needs_a_format():
    r = run("import", "-", stdin="id\nx\n")
    assert r.code == 2 and "--format" in r.err


def test_upsert_replaces_present_clears_empty_and_keeps_absent(tmp_path):
    write(tmp_path / "a.csv", "id,name,email,phone\nu1,Ann,ann@x.com,+96891234567\n")
    assert run("import", str(tmp_path / "a.csv")).code == 0
    write(tmp_path / "b.csv", "id,name,email\nu1,Annie,\n")  # phone absent, email emptied
    r = run("import", str(tmp_path / "b.csv"))
    assert "1 updated" in r.err
    c = customer("u1")
    assert (c["name"], c["email"], c["phone"]) == (
        "Annie",
        None,
        "+96891234567",
    )  # a phone is stored in E.164, so must be one (SPEC §14)


def test_json_null_clears_and_later_row_wins(tmp_path):
    write(tmp_path / "a.jsonl", '{"id": "u1", "name": "Ann", "tags": ["x"]}\n{"id": "u1", "name": "Second"}\n')
    r = run("import", str(tmp_path / "a.jsonl"))
    assert r.code == 0 and "2 read, 1 created, 1 updated" in r.err
    assert customer("u1")["name"] == "Second"
    assert customer("u1")["tags"] == ["x"]
    write(tmp_path / "b.jsonl", '{"id": "u1", "name": null, "tags": null}\n')
    assert run("import", str(tmp_path / "b.jsonl")).code == 0
    assert customer("u1")["name"] is None and customer("u1")["tags"] == []


def test_reimport_reports_every_row_unchanged(sample_db):
    before = snapshot()
    r = run("import", str(SAMPLE_CSV))
    assert "300 read, 0 created, 0 updated, 300 unchanged, 0 rejected" in r.err
    # The JSONL file holds the same customers in JSON's spellings: they normalize alike.
    r = run("import", str(SAMPLE_JSONL))
    assert "300 read, 0 created, 0 updated, 300 unchanged, 0 rejected" in r.err, r
    assert snapshot() == before


def test_a_list_in_an_attribute_inferred_as_text_is_an_error(tmp_path):
    # Without the YAML's declarations, the CSV's comma-separated products are text (SPEC §2:
    # only JSON arrays infer an array), so JSON lists for it later are refused, not mangled.
    assert run("import", str(SAMPLE_CSV)).code == 0
    r = run("import", str(SAMPLE_JSONL))
    assert r.code == 1 and "products: expected a single value, got a list" in r.err


def test_type_inference_at_first_import_and_checks_after(tmp_path):
    write(
        tmp_path / "a.csv",
        "id,vip,score,joined,note,empty\n1,yes,10,2026-01-01,hello,\n2,no,-2.5,2026-02-01T08:00:00+04:00,42,\n3,,,,,\n",
    )
    r = run("import", str(tmp_path / "a.csv"))
    assert r.code == 0, r
    types = {a["name"]: a["type"] for a in segcli.open().attributes.list()}
    assert types == {"vip": "boolean", "score": "number", "joined": "date", "note": "text"}
    write(tmp_path / "j.jsonl", '{"id": "4", "langs": ["ar", "en"]}\n')
    assert run("import", str(tmp_path / "j.jsonl")).code == 0
    assert {a["name"]: a["type"] for a in segcli.open().attributes.list()}["langs"] == "array"
    # Later imports are checked against the stored type.
    write(tmp_path / "b.csv", "id,score\n5,abc\n")
    r = run("import", str(tmp_path / "b.csv"))
    assert r.code == 1 and '2:2: score: "abc" is not a number' in r.err


def test_all_zero_one_column_is_boolean_and_mixed_is_text(tmp_path):
    write(tmp_path / "a.csv", "id,flag,mixed\n1,1,1\n2,0,x\n")
    assert run("import", str(tmp_path / "a.csv")).code == 0
    types = {a["name"]: a["type"] for a in segcli.open().attributes.list()}
    assert types == {"flag": "boolean", "mixed": "text"}


def test_declared_enum_is_checked_case_insensitively_and_stored_as_declared(tmp_path):
    assert run("attributes", "define", "tier", "--type", "enum", "--values", "Gold,Silver").code == 0
    write(tmp_path / "a.csv", "id,tier\n1,GOLD\n2,silver\n")
    assert run("import", str(tmp_path / "a.csv")).code == 0
    assert customer("1")["attributes"]["tier"] == "Gold"
    assert customer("2")["attributes"]["tier"] == "Silver"


BAD_INPUTS = [
    ("empty id", "id,name\n,Ann\n", "2:1: id: empty"),
    ("bad date", "id,created_at\n1,2026-13-45\n", '2:2: created_at: "2026-13-45" is not a valid date'),
    ("word date", "id,created_at\n1,yesterday\n", '2:2: created_at: "yesterday" is not an ISO 8601 date'),
    ("language", "id,language\n1,Klingonese\n", '2:2: language: "Klingonese" is not a known language'),
    ("country", "id,country\n1,Atlantis\n", '2:2: country: "Atlantis" is not a known country'),
    ("platform", "id,platform\n1,fax\n", '2:2: platform: "fax" is not a platform'),
    ("boolean", "id,opt_out\n1,maybe\n", '2:2: marketing_opt_out: "maybe" is not a boolean'),
    ("cells", "id,name\n1,Ann,extra\n", "2:3: the row has 3 cells, more than the 2 of the header"),
]


@pytest.mark.parametrize(("label", "text", "message"), BAD_INPUTS, ids=[b[0] for b in BAD_INPUTS])
def test_strict_import_rejects_bad_rows_and_writes_nothing(tmp_path, label, text, message):
    write(tmp_path / "seed.csv", "id,name\nkeep,Kept\n")
    assert run("import", str(tmp_path / "seed.csv")).code == 0
    before = snapshot()
    path = write(tmp_path / "bad.csv", text)
    r = run("import", str(path))
    assert r.code == 1, r
    assert f"{path}:{message}" in r.err
    assert "nothing was imported" in r.err
    assert "Traceback" not in r.err + r.out
    assert snapshot() == before


def test_number_and_enum_errors(tmp_path):
    run("attributes", "define", "tier", "--type", "enum", "--values", "gold,silver")
    run("attributes", "define", "ltv", "--type", "number")
    before = snapshot()
    path = write(tmp_path / "bad.csv", "id,tier,ltv\n1,platinum,abc\n")
    r = run("import", str(path))
    assert r.code == 1
    assert '2:2: tier: "platinum" is not one of gold, silver' in r.err
    assert '2:3: ltv: "abc" is not a number' in r.err
    assert snapshot() == before


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("nocol.csv", "name,email\nAnn,a@x\n", "no id column"),
        ("arr.json", '{"id": "1"}', "expected a JSON array of objects"),
        ("notobj.json", '[{"id": "1"}, 5]', "1:1: expected a JSON object, got a number"),
        ("bad.json", '[{"id": "1"}, {"id": }]', "not valid JSON"),
        ("line.jsonl", '{"id": "1"}\n[1, 2]\n', "2:1: expected a JSON object, got an array"),
        ("broken.jsonl", '{"id": "1"}\n{"id": \n', "2:8: not valid JSON"),
    ],
)
def test_structural_errors_name_the_file_and_change_nothing(tmp_path, name, content, message):
    run("import", str(write(tmp_path / "seed.csv", "id\nkeep\n")))
    before = snapshot()
    r = run("import", str(write(tmp_path / name, content)))
    assert r.code == 1, r
    assert message in r.err and name in r.err
    assert "Traceback" not in r.err
    assert snapshot() == before


def test_invalid_utf8_names_the_line(tmp_path):
    run("import", str(write(tmp_path / "seed.csv", "id\nkeep\n")))
    before = snapshot()
    path = write(tmp_path / "bad.csv", b"id,name\n1,Ann\n2,B\xffb\n")
    r = run("import", str(path))
    assert r.code == 1 and f"{path}:3:1: the line is not valid UTF-8" in r.err
    assert snapshot() == before


def test_missing_file_and_folder(tmp_path):
    r = run("import", str(tmp_path / "nope.csv"))
    assert r.code == 1 and "nope.csv: no such file" in r.err
    assert snapshot().get("customers", []) == []


@pytest.mark.sqlite_only
def test_database_that_is_not_sqlite_is_refused_untouched(tmp_path):
    junk = write(tmp_path / "junk.db", b"this is not a database at all" * 100)
    original = junk.read_bytes()
    r = run("--db", str(junk), "import", str(SAMPLE_CSV))
    assert r.code == 1 and "not a seg database" in r.err and "Traceback" not in r.err
    assert junk.read_bytes() == original
    r = run("--db", str(junk), "list")
    assert r.code == 1 and "not a seg database" in r.err


def test_database_from_a_newer_seg_is_refused(tmp_path, engine):
    run("import", str(write(tmp_path / "a.csv", "id\n1\n")))
    if engine == "sqlite":
        conn = sqlite3.connect(db_path())
        conn.execute("PRAGMA user_version = 99")
        conn.close()
    else:  # PostgreSQL keeps its version in seg_meta
        query("UPDATE seg_meta SET value = '99' WHERE name = 'schema_version'")
    r = run("count", "x")
    assert r.code == 1 and "newer seg" in r.err


def test_read_command_on_missing_database_creates_nothing(tmp_path):
    for args in (["list"], ["count", "X"], ["members", "X"], ["attributes"], ["customers", "show", "1"]):
        r = run(*args)
        assert r.code == 1, (args, r)
        assert "no database at" in r.err
    assert snapshot() == {"exists": False}


def test_many_bad_rows_are_summarized_by_kind_past_twenty(tmp_path):
    """SPEC §8: past 20 lines, problems are summarized by kind (not the same message 20 times)."""
    rows = "".join(f"{i},notanumber\n" for i in range(30))
    run("attributes", "define", "n", "--type", "number")
    r = run("import", str(write(tmp_path / "bad.csv", "id,n\n" + rows)))
    assert r.code == 1
    assert "30 invalid rows of 30 (30 problems; the first 20, then by kind)" in r.err
    lines = r.err.splitlines()
    # SPEC §2: at most 20 lines, then the total; §8: past 20, by kind.
    assert [line.split(":")[1] for line in lines[1:21]] == [str(n) for n in range(2, 22)]
    assert lines[21].endswith("bad.csv: 30 problems in all, by kind:")
    assert lines[22].endswith('bad.csv: n: "notanumber" is not a number — 30 rows, first at line 2')
    assert len(lines) == 23


def test_past_twenty_kinds_each_kind_shows_its_first_value_and_long_values_are_cut(tmp_path):
    rows = "".join(f"c{i},Lang{i}\n" for i in range(25)) + f"c99,{'x' * 100}\n"
    r = run("import", str(write(tmp_path / "bad.csv", "id,language\n" + rows)))
    assert r.code == 1
    assert 'bad.csv:2:2: language: "Lang0" is not a known language' in r.err  # the first 20 as lines
    kind = [line for line in r.err.splitlines() if "— " in line]
    assert len(kind) == 1 and 'bad.csv: language: "Lang0" is not a known language' in kind[0], r.err
    assert kind[0].endswith("— 26 rows (this value and others), first at line 2")
    assert '"…"' not in r.err
    r = run("import", str(write(tmp_path / "long.csv", "id,language\n" + f"c1,{'y' * 100}\n" * 21)))
    kind = [line for line in r.err.splitlines() if "— " in line]
    assert kind == [
        f'{tmp_path / "long.csv"}: language: "{"y" * 40}…" is not a known language (use an ISO 639-1 code like '
        "ar, or a name like Arabic) — 21 rows, first at line 2"
    ], r.err


def test_one_bad_row_among_thousands_changes_nothing(tmp_path):
    run("import", str(SAMPLE_CSV))
    before = snapshot()
    lines = SAMPLE_CSV.read_text(encoding="utf-8").splitlines()
    body = lines[1:]
    more = [f"X{i},Name {i},,,,whatsapp,OM,,2026-01-01,,no,,,,,,," for i in range(3000)]
    more[1500] = "X1500,Bad,,,,whatsapp,OM,,2026-02-30,,no,,,,,,,"
    path = write(tmp_path / "big.csv", "\n".join([lines[0], *body, *more]) + "\n")
    r = run("import", str(path))
    assert r.code == 1 and "1 invalid row of 3300" in r.err
    assert f'{path}:1802:9: created_at: "2026-02-30" is not a valid date' in r.err
    assert snapshot() == before


def test_skip_invalid_writes_valid_rows_and_the_rejects_file(tmp_path):
    path = write(
        tmp_path / "mixed.csv",
        "id,name,country\n1,Ann,OM\n2,Bob,Atlantis\n3,Cy,AE\n,NoId,OM\n",
    )
    r = run("import", str(path), "--skip-invalid")
    assert r.code == 0, r
    assert "4 read, 2 created, 0 updated, 0 unchanged, 2 rejected" in r.err
    rejects = (tmp_path / "mixed.csv.rejects.csv").read_text(encoding="utf-8").splitlines()
    assert rejects[0] == "id,name,country,_error"
    assert rejects[1].startswith("2,Bob,Atlantis,") and "not a known country" in rejects[1]
    assert rejects[2].startswith(",NoId,OM,") and "id: empty" in rejects[2]
    assert customer("1")["name"] == "Ann" and customer("3")["country"] == "AE"
    r = run("import", str(path), "--skip-invalid", "--rejects", str(tmp_path / "r.csv"))
    assert "2 unchanged, 2 rejected" in r.err and (tmp_path / "r.csv").exists()


def test_skip_invalid_json_rejects_keep_the_object(tmp_path):
    path = write(tmp_path / "m.jsonl", '{"id": "1", "country": "OM"}\n{"id": "2", "country": "Nowhere"}\nnot json\n')
    r = run("import", str(path), "--skip-invalid")
    assert r.code == 0 and "3 read, 1 created, 0 updated, 0 unchanged, 2 rejected" in r.err
    assert f"rejected rows written to {path}.rejects.csv" in r.err


def test_json_and_jsonl_rejects_are_csv_with_a_column_per_key(tmp_path):
    """SPEC §2: the default rejects file is PATH.rejects.csv, whatever the input's format."""
    rows = [
        '{"id": "1", "country": "OM"}',
        '{"id": "2", "country": "Nowhere", "tags": ["vip", "b2b"], "score": 12.5}',
        "not json",
        '{"id": "3", "language": "Klingon", "attributes": {"tier": "gold"}, "opted_out": true, "name": "a\\r=b"}',
        '{"id": "4", "country": "Atlantis", "name": null}',
    ]
    for fmt, text in (("jsonl", "\n".join(rows) + "\n"), ("json", None)):
        if text is None:  # an array: the line that is not JSON is left out
            text = "[\n" + ",\n".join(r for r in rows if r != "not json") + "\n]\n"
        path = write(tmp_path / f"m.{fmt}", text)
        r = run("import", str(path), "--skip-invalid")
        assert r.code == 0, r
        target = tmp_path / f"m.{fmt}.rejects.csv"
        assert not (tmp_path / f"m.{fmt}.rejects.jsonl").exists()
        assert os.stat(target).st_mode & 0o777 == 0o600
        with target.open(encoding="utf-8", newline="") as fh:
            header, *body = list(csv.reader(fh))
        raw = ["_raw"] if fmt == "jsonl" else []
        assert header == [
            "id",
            "country",
            "tags",
            "score",
            "language",
            "attributes",
            "opted_out",
            "name",
            *raw,
            "_error",
        ]
        by_id = {row[0]: dict(zip(header, row, strict=True)) for row in body}
        assert by_id["2"]["tags"] == '["vip", "b2b"]' and by_id["2"]["score"] == "12.5"
        assert by_id["2"]["language"] == "" and "not a known country" in by_id["2"]["_error"]
        assert by_id["3"]["attributes"] == '{"tier": "gold"}' and by_id["3"]["opted_out"] == "true"
        assert by_id["3"]["name"] == "a\r=b"  # unchanged, its CR inside the quoted cell
        assert by_id["4"]["name"] == "" and "not a known country" in by_id["4"]["_error"]
        if fmt == "jsonl":
            assert [row[0] for row in body] == ["2", "", "3", "4"]  # in line order
            assert by_id[""]["_raw"] == "not json" and "not valid JSON" in by_id[""]["_error"]
        # Rejected rows import again once fixed (the same columns, the same spellings).
        assert run("import", str(target), "--dry-run", "--skip-invalid").code == 0
    # An explicit --rejects FILE.jsonl keeps JSON Lines: each object as read, with _error.
    path = tmp_path / "m.jsonl"
    r = run("import", str(path), "--skip-invalid", "--rejects", str(tmp_path / "r.jsonl"))
    lines = [json.loads(x) for x in (tmp_path / "r.jsonl").read_text(encoding="utf-8").splitlines()]
    assert lines[0]["id"] == "2" and lines[0]["tags"] == ["vip", "b2b"] and "not a known country" in lines[0]["_error"]
    assert lines[1]["_raw"].strip() == "not json" and lines[1]["_line"] == 3


def test_dry_run_with_invalid_rows_shows_the_mapping_the_summary_and_every_problem(tmp_path):
    path = write(tmp_path / "mixed.csv", "id,name,country\n1,Ann,OM\n2,Bob,Atlantis\n3,Cy,AE\n,NoId,OM\n")
    # Strict: it fails as the import would (exit 1), after the mapping and the summary.
    r = run("import", str(path), "--dry-run")
    assert r.code == 1, r
    assert "-> country" in r.out and "[OM, Atlantis, AE]" in r.out  # the mapping preview
    assert "dry run, nothing written" in r.err and "4 read, 2 created, 0 updated, 0 unchanged, 2 rejected" in r.err
    assert "2 invalid rows of 4; an import would write nothing" in r.err
    assert ':3:3: country: "Atlantis" is not a known country' in r.err and ":5:1: id: empty" in r.err
    # --skip-invalid: exit 0, and the problems too.
    r = run("import", str(path), "--dry-run", "--skip-invalid")
    assert r.code == 0, r
    assert "-> country" in r.out and "2 rejected" in r.err
    assert ':3:3: country: "Atlantis" is not a known country' in r.err and ":5:1: id: empty" in r.err
    assert not os.path.exists(db_path()) and sorted(os.listdir(tmp_path)) == ["mixed.csv"]


def test_dry_run_writes_the_rejects_file_only_when_asked(tmp_path):
    path = write(tmp_path / "mixed.csv", "id,country\n1,OM\n2,Atlantis\n")
    for options in (("--skip-invalid",), ()):
        target = tmp_path / f"r{len(options)}.csv"
        r = run("import", str(path), "--dry-run", *options, "--rejects", str(target))
        assert r.code == (0 if options else 1), r
        assert f"rejected rows written to {target}" in r.err
        assert target.read_text(encoding="utf-8").splitlines()[0] == "id,country,_error"
        assert target.read_text(encoding="utf-8").splitlines()[1].startswith("2,Atlantis,")
        assert os.stat(target).st_mode & 0o777 == 0o600
    assert not os.path.exists(db_path())
    assert sorted(os.listdir(tmp_path)) == ["mixed.csv", "r0.csv", "r1.csv"]
    # The same checks as a real rejects file: never the input.
    r = run("import", str(path), "--dry-run", "--rejects", str(path))
    assert r.code == 2 and path.read_text(encoding="utf-8").startswith("id,country\n1,OM")


def test_dry_run_counts_but_writes_nothing(tmp_path):
    run("import", str(write(tmp_path / "a.csv", "id,name\n1,Ann\n")))
    before = snapshot()
    r = run("import", str(write(tmp_path / "b.csv", "id,name,newattr\n1,Annie,5\n2,Bob,6\n")), "--dry-run")
    assert r.code == 0 and "dry run" in r.err and "2 read, 1 created, 1 updated" in r.err
    assert snapshot() == before


def test_import_json_summary(tmp_path):
    r = run("import", str(write(tmp_path / "a.csv", "id\n1\n")), "--json")
    assert json.loads(r.out)["created"] == 1


def test_customers_show(sample_db):
    r = run("customers", "show", "C000004", "--json")
    data = json.loads(r.out)
    assert data["id"] == "C000004" and data["country"] == "OM"
    assert "WhatsApp Opted-In" in data["segments"]
    r = run("customers", "show", "C00004")
    assert r.code == 1 and 'no customer with id "C00004"' in r.err


def test_any_header_is_an_attribute_with_a_safe_column(tmp_path):
    """SPEC §8, §14: any header text is an attribute name, kept for display, with a slug that
    filters take and a column that is a plain identifier (before, "bad;name" stopped the file)."""
    r = run("import", str(write(tmp_path / "a.csv", 'id,"bad;name",Lifetime Value (OMR)\n1,2,3.5\n')))
    assert r.code == 0, r
    columns = dict(query("SELECT name, column_name FROM attributes"))
    assert columns == {"bad;name": "attr_bad_name", "Lifetime Value (OMR)": "attr_lifetime_value_omr"}
    assert run("count", "x").code == 1  # the tables are all there
    assert run("filter", "-w", '"bad;name" = 2', "-f", "csv", "-c", "id").out == "id\n1\n"
    assert run("filter", "-w", "lifetime_value_omr > 3", "-f", "csv", "-c", "id,Lifetime Value (OMR)").out == (
        "id,Lifetime Value (OMR)\n1,3.5\n"
    )
    r = run("attributes", "define", "x y; DROP TABLE customers", "--type", "text")
    assert r.code == 0, r
    assert query("SELECT column_name FROM attributes WHERE name LIKE ?", ("x y%",))[0][0] == (
        "attr_x_y_drop_table_customers"
    )
    r = run("attributes", "define", "bad\x01name", "--type", "text")
    assert r.code == 2 and "cannot be an attribute name" in r.err


def test_header_aliases_map_to_builtin_fields(tmp_path):
    path = write(tmp_path / "a.csv", "ID,Date_Created,Last_Interaction,Opted_Out\n1,2026-01-01,2026-02-01,yes\n")
    assert run("import", str(path)).code == 0
    c = customer("1")
    assert c["created_at"] == "2026-01-01T00:00:00Z" and c["last_interaction_at"] == "2026-02-01T00:00:00Z"
    assert c["marketing_opt_out"] is True
    assert segcli.open().attributes.list() == []


def test_the_column_path_stores_exactly_what_the_row_path_does(tmp_path, monkeypatch, new_database):
    """A bulk CSV load goes a column at a time; it must store what row-by-row validation stores."""
    import sys

    from conftest import EXAMPLE_YAML, ROOT

    from segcli.importer import run as importer

    sys.path.insert(0, str(ROOT / "sample_data"))
    from datetime import UTC, datetime

    from generate import generate

    out = tmp_path / "gen"
    generate(12_000, out, datetime(2026, 11, 29, 12, tzinfo=UTC), seed=5, formats=("csv", "jsonl"))
    # the same ids with other values, as JSON: updates through JSON's numbers, booleans and lists
    other = tmp_path / "other"
    generate(12_000, other, datetime(2026, 11, 29, 12, tzinfo=UTC), seed=6, formats=("jsonl",))
    lines = out.with_suffix(".csv").read_text(encoding="utf-8").splitlines()
    # a second file: updates of existing customers, a duplicate id, and new ones
    update = [lines[0], *[line.replace(",gold,", ",silver,") for line in lines[1:3000]], lines[5], *lines[11000:]]
    second = write(tmp_path / "second.csv", "\n".join(update) + "\n")
    # a third: whole chunks of updates, unchanged rows and new rows, no id twice, and a column missing
    third = tmp_path / "third.csv"
    with (
        open(out.with_suffix(".csv"), encoding="utf-8", newline="") as src,
        open(third, "w", encoding="utf-8", newline="") as dst,
    ):
        reader, writer = csv.reader(src), csv.writer(dst)
        head = next(reader)
        writer.writerow(head[:-1])  # without city: an upsert leaves it as it was
        for n, row in enumerate(reader):
            if n < 7000:
                row[7] = row[7].replace("VIP", "vip2")
                row[12] = {"Retail": "SMB"}.get(row[12], row[12])
                writer.writerow(row[:-1])
        for n in range(3000):
            writer.writerow(
                [
                    f"Z{n}",
                    f"Zed {n}",
                    "",
                    "",
                    "en",
                    "webchat",
                    "AE",
                    "b2b,VIP",
                    "2026-01-01",
                    "",
                    "no",
                    "gold",
                    "",
                    "",
                    "",
                    "",
                    "",
                ]
            )

    def load(db: str) -> tuple[dict, list]:  # a new database (file or schema) each time
        monkeypatch.setenv("SEG_DB", db)
        assert run("apply", str(EXAMPLE_YAML)).code == 0
        summaries = [
            run("import", str(out.with_suffix(".csv"))).err,
            run("import", str(second)).err,
            run("import", str(third)).err,
            run("import", str(out.with_suffix(".jsonl"))).err,
            run("import", str(other.with_suffix(".jsonl"))).err,
        ]
        data = snapshot(db)
        return data["customers"], summaries

    used = []
    original = importer.insert_columns
    monkeypatch.setattr(importer, "insert_columns", lambda *a: used.append(original(*a)) or used[-1])
    by_columns, summaries = load(new_database())
    assert used.count(True) >= 8  # the column path did run: new rows, updates, CSV and JSON
    monkeypatch.setattr(importer, "COLUMN_CHUNK", 10**9)  # chunks never fill: row by row only
    by_rows, row_summaries = load(new_database())
    assert by_columns == by_rows
    assert summaries == row_summaries


def test_several_files_are_one_transaction(tmp_path):
    good = write(tmp_path / "good.csv", "id,name\ng1,Good\n")
    mixed = write(tmp_path / "mixed.csv", "id,country\nm1,OM\nm2,Atlantis\n")
    bad = write(tmp_path / "bad.csv", "name\nno id column\n")
    run("import", str(write(tmp_path / "seed.csv", "id\nkeep\n")))
    before = snapshot()
    r = run("import", str(good), str(bad))
    assert r.code == 1 and "no id column" in r.err
    assert snapshot() == before  # the good file is not imported either
    r = run("import", str(good), str(mixed), "--skip-invalid")
    assert r.code == 0 and "good.csv: 1 read, 1 created" in r.err and "mixed.csv: 2 read, 1 created" in r.err
    assert (tmp_path / "mixed.csv.rejects.csv").exists()
    # a failed multi-file import leaves no rejects file behind either
    (tmp_path / "mixed.csv.rejects.csv").unlink()
    r = run("import", str(mixed), str(bad), "--skip-invalid")
    assert r.code == 1 and not (tmp_path / "mixed.csv.rejects.csv").exists()


def test_attribute_names_that_share_a_column_are_one_attribute(tmp_path):
    assert run("attributes", "define", "Lifetime Value", "--type", "number").code == 0
    r = run("attributes", "define", "lifetime_value", "--type", "number")
    assert r.code == 0 and "unchanged" in r.err  # the same attribute, however it is spelled
    r = run("attributes", "define", "lifetime-value", "--type", "text")
    assert r.code == 1 and "it cannot become text" in r.err
    r = run("import", str(write(tmp_path / "a.csv", "id,lifetime_value\n1,12.5\n")))
    assert r.code == 0 and customer("1")["attributes"]["Lifetime Value"] == 12.5
    r = run("import", str(write(tmp_path / "b.csv", "id,a b,a_b\n1,x,y\n")))
    assert r.code == 1 and '"a_b" repeats column 2 (same field)' in r.err
    r = run("filter", "-w", "LIFETIME-VALUE > 10", "-f", "csv", "-c", "id")
    assert r.out.splitlines() == ["id", "1"]


@pytest.mark.sqlite_only
def test_a_schema_2_database_moves_its_lists_into_fold_columns(tmp_path, monkeypatch):
    """Schema 3 keeps list elements in fold columns instead of customer_items. A file written by
    an older seg opens with its tags and array attributes still matching, case-insensitively, and
    re-importing the same customers finds them unchanged."""
    from segcli.store.migrations import MIGRATIONS, SCHEMA_VERSION

    path = tmp_path / "v2.db"
    conn = sqlite3.connect(path)
    for statement in MIGRATIONS[0].steps + MIGRATIONS[1].steps:
        conn.execute(statement)
    conn.execute(
        "INSERT INTO attributes (name, name_key, type, column_name, created_at)"
        " VALUES ('products', 'products', 'array', 'attr_products', '2026-01-01T00:00:00Z')"
    )
    conn.execute("ALTER TABLE customers ADD COLUMN attr_products TEXT")
    conn.execute("CREATE INDEX customers_attr_x ON customers (attr_products)")  # made by old seg
    for pk, cid, tags, products in [(1, "a", '["VIP", "Lead"]', '["Abaya"]'), (2, "b", None, '["gift-card"]')]:
        conn.execute(
            "INSERT INTO customers (pk, id, id_fold, tags, attr_products) VALUES (?, ?, ?, ?, ?)",
            (pk, cid, cid, tags, products),
        )
        for field, values in (("tags", tags), ("attr_products", products)):
            for v in json.loads(values or "[]"):
                conn.execute("INSERT INTO customer_items VALUES (?, ?, ?, ?)", (pk, field, v.casefold(), v))
    conn.execute("PRAGMA user_version = 2")
    conn.commit()
    conn.close()

    monkeypatch.setenv("SEG_DB", str(path))
    for name, where, count in [
        ("V", "tags contains vip", "1"),
        ("P", "products contains any (ABAYA, Gift-Card)", "2"),
        ("N", "tags is not set", "1"),
    ]:
        assert run("create", name, "-w", where).code == 0
        assert run("count", name).out == count + "\n"
    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    names = {r[0] for r in conn.execute("SELECT name FROM sqlite_master")}
    assert "customer_items" not in names and "customers_attr_x" not in names and "customers_language" not in names
    assert sorted(conn.execute("SELECT tag FROM customer_tags")) == [("Lead",), ("VIP",)]  # the view is kept
    conn.close()
    data = write(tmp_path / "same.csv", 'id,tags,products\na,"VIP,Lead",Abaya\nb,,gift-card\n')
    r = run("import", str(data))
    assert "0 created, 0 updated, 2 unchanged" in r.err, r


# --- the column fast path against the one normalizer ----------------------------------------------

from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from segcli.errors import InvalidValue  # noqa: E402
from segcli.fields import BUILTIN_BY_NAME, FieldType, attribute_field  # noqa: E402
from segcli.importer.columns import Slot as _Slot  # noqa: E402
from segcli.importer.columns import Source  # noqa: E402
from segcli.importer.mapping import KEEP, Rule  # noqa: E402
from segcli.values import PLAIN  # noqa: E402

CELLS = {
    "date": [
        "2026-01-05T10:00:00Z",
        "2026-01-05",
        "2026-01-05T10:00:00+04:00",
        "2025-12-31T23:30:00-02:00",
        "2026-02-30",
        "2026-02-30T10:00:00Z",
        "2026-01-05T24:00:00Z",
        "2026-01-05T10:00:00+24:00",
        " 2026-01-05 ",
        "2026-01-05T10:00:00.5Z",
        "20260105",
        "",
        "  ",
        "yesterday",
        "2026-01-05\n",
        "0001-01-01T00:00:00+14:00",
        "9999-12-31T23:00:00-05:00",
        "0001-01-01T00:00:00Z",
        "9999-12-31T23:59:59Z",
    ],
    "number": [
        "12",
        "-3",
        "0",
        "007",
        "253.79",
        "-0.5",
        "10.0",
        "1e3",
        "1_000",
        "",
        " 4 ",
        "+5",
        "12.3456789",
        "9" * 16,
        "abc",
        "nan",
        "1.",
        ".5",
        "9" * 18,
        "9" * 19,
        "9" * 23,
        "9" * 5000,
        "-9223372036854775808",
        "9223372036854775808",
        "1e-999",
        "1e999",
        "99999999999999999999999.0",
    ],
    "array": ["VIP", "vip,Lead", " a , ,b,A ", "", "x\x1fy", "é,É", ",", "lead", "x,\ufeffy"],
    "text": ["Ann", "  padded ", "", "ÉLITE", "a\x00b", "=SUM(A1)", "a\ufeffb"],
    "enum": ["gold", "GOLD", " Gold ", "", "platinum"],
    "boolean": ["yes", "N", "true", "", "maybe", "1"],
}
FIELDS = {
    "date": BUILTIN_BY_NAME["created_at"],
    "number": attribute_field("ltv", FieldType.NUMBER),
    "array": BUILTIN_BY_NAME["tags"],
    "text": BUILTIN_BY_NAME["name"],
    "enum": attribute_field("tier", FieldType.ENUM, ("Gold", "silver")),
    "boolean": BUILTIN_BY_NAME["marketing_opt_out"],
}


@settings(max_examples=300, deadline=None)
@given(
    st.sampled_from(sorted(CELLS)).flatmap(
        lambda kind: st.tuples(st.just(kind), st.lists(st.sampled_from(CELLS[kind]), min_size=1, max_size=12))
    )
)
def test_a_column_is_stored_as_its_cells_one_by_one(kind_cells):
    """``_Slot.column`` (the bulk path) stores what normalizing each cell and storing it does, and
    refuses a column exactly when some cell is invalid."""
    kind, cells = kind_cells
    f = FIELDS[kind]
    index = {c: i for i, c in enumerate(filter(None, (f.column, f.fold_column)))}
    slot = _Slot(f, index)
    source = Source(Rule(f.name, (0,)), slot, PLAIN)  # a header that names the field, as read

    def outcome(make):  # the stored columns, typed (10 == 10.0 in Python, not in SQLite), or the refusal
        try:
            return [(i, [(type(v), v) if v is not KEEP else KEEP for v in values]) for i, values in make()]
        except InvalidValue:
            return InvalidValue

    def one_by_one(column):
        return lambda: slot.store([source.value([c]) for c in column])

    assert outcome(lambda: source.stored_column([tuple(cells)], True)) == outcome(one_by_one(cells))
    # JSON values: null among strings takes the string path; numbers and booleans, the general one.
    for json_cells in ([None if c == "" else c for c in cells], [*cells, True], [*cells, 12.5]):
        assert outcome(lambda c=json_cells: source.stored_column([tuple(c)], False)) == outcome(
            one_by_one(json_cells)
        ), json_cells


def test_json_errors_name_the_line_and_the_column_of_the_key(tmp_path):
    path = write(
        tmp_path / "k.jsonl",
        '{"id": "1", "country": "OM"}\n{"id": "2", "country": "Nowhere"}\n'
        '{"id": "3", "Tier": "gold", "tier": "x"}\n{"id": "", "name": "n"}\n',
    )
    r = run("import", str(path))
    assert r.code == 1
    assert f'{path}:2:13: country: "Nowhere" is not a known country' in r.err
    assert f'{path}:3:29: "tier" appears twice (same field)' in r.err
    assert f"{path}:4:2: id: empty" in r.err


def test_an_id_repeated_chunks_apart_in_a_fresh_database_is_one_customer(tmp_path):
    """Into an empty table rows go in without looking their ids up: the id index catches one given
    again further down the file, and the later row wins, as everywhere else."""
    rows = [f"r{n:05d},Name {n},AE\n" for n in range(15_000)]
    rows[12_000] = "r00010,Renamed,OM\n"  # in the third chunk of 5,000; r00010 first came in the first
    r = run("import", str(write(tmp_path / "c.csv", "id,name,country\n" + "".join(rows))))
    assert r.code == 0 and "15000 read, 14999 created, 1 updated, 0 unchanged" in r.err, r
    assert query("SELECT count(*) FROM customers") == [(14_999,)]
    assert query("SELECT pk, name, country FROM customers WHERE id = 'r00010'") == [(11, "Renamed", "OM")]
    assert query("SELECT max(pk) FROM customers") == [(14_999,)]  # no pk was skipped
