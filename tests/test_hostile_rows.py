"""One hostile row among good ones (SPEC §13): a number beyond what SQLite stores, 5,000 digits, JSON
nested 10,000 deep, a key given twice, a date out of range once in UTC, half a UTF-16 character...
is an invalid row with its line number, in strict and ``--skip-invalid`` modes alike: never an
internal error, never a silently chosen value, and the good rows around it import."""

from __future__ import annotations

import csv
import json
import sqlite3
from pathlib import Path

import pytest
from conftest import db_path, run, write
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from segcli.importer import run as importer

GOOD_BEFORE = {"id": "G1", "name": "Before", "score": "7", "created_at": "2026-01-05"}
GOOD_AFTER = {"id": "G3", "name": "After", "score": "8", "created_at": "2026-01-06"}

# (field, value as the file holds it): each is an invalid value of a declared field.
HOSTILE_VALUES = [
    ("score", "99999999999999999999999"),  # beyond SQLite's 64-bit integers: refused, not made a float
    ("score", "-9223372036854775809"),
    ("score", "9" * 5000),  # Python's int() refuses more than 4,300 digits
    ("score", "1e999"),  # infinity
    ("score", "-1e999"),
    ("score", "1e-999"),  # would silently become 0
    ("score", "1" + "0" * 400 + ".5"),
    ("created_at", "0001-01-01T00:00:00+14:00"),  # year 0 in UTC
    ("created_at", "9999-12-31T23:00:00-05:00"),  # year 10000 in UTC
    ("created_at", "0001-01-01T00:00:00+23:59"),
    ("name", "a\x00b"),
    ("name", "Sara\ufeffAhmed"),  # a byte order mark inside a value: two files joined into one
    ("tags", "vip,\ufefflead"),
]


def _csv(rows: list[dict]) -> str:
    import csv
    import io

    out = io.StringIO()
    writer = csv.DictWriter(out, ["id", "name", "score", "created_at", "tags"], lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()


def _declare_score(db: str | None = None) -> None:
    assert run("--db", db or db_path(), "attributes", "define", "score", "--type", "number").code == 0


def _ids(db: str | None = None) -> list[str]:
    db = db or db_path()
    if not Path(db).exists():  # a failed first import leaves no database
        return []
    conn = sqlite3.connect(db)
    try:
        return [r[0] for r in conn.execute("SELECT id FROM customers ORDER BY id")]
    finally:
        conn.close()


def check_one_hostile_row(path, hostile_line: int, db: str | None = None) -> None:
    """Strict: exit 1, the hostile line named, nothing imported. --skip-invalid: exit 0, the two
    good rows in, the hostile row (and only it) in the rejects file."""
    db = db or db_path()
    strict = run("--db", db, "import", str(path))
    assert strict.code == 1, strict
    assert f"{path}:{hostile_line}:" in strict.err, strict
    assert "internal error" not in strict.err and "Traceback" not in strict.err
    assert _ids(db) == []
    skipped = run("--db", db, "import", str(path), "--skip-invalid")
    assert skipped.code == 0, skipped
    assert "1 rejected" in skipped.err, skipped
    assert _ids(db) == ["G1", "G3"]
    rejects = Path(f"{path}.rejects.csv").read_bytes().decode("utf-8", "surrogateescape")
    assert "G2" in rejects and "G1" not in rejects and "G3" not in rejects


@pytest.mark.parametrize("chunk", [10**9, 2], ids=["row-by-row", "column-at-a-time"])
@pytest.mark.parametrize(("field", "value"), HOSTILE_VALUES, ids=lambda v: repr(v)[:30])
def test_a_hostile_csv_cell_is_an_invalid_row(tmp_path, monkeypatch, chunk, field, value):
    monkeypatch.setattr(importer, "COLUMN_CHUNK", chunk)  # 2: the bulk path (_Slot.column) sees it first
    _declare_score()
    path = write(tmp_path / "h.csv", _csv([GOOD_BEFORE, {"id": "G2", field: value}, GOOD_AFTER]))
    check_one_hostile_row(path, 3)


@pytest.mark.parametrize(("field", "value"), HOSTILE_VALUES, ids=lambda v: repr(v)[:30])
def test_a_hostile_json_value_is_an_invalid_row(tmp_path, field, value):
    """As strings in JSONL (the fuzz test below also puts them in JSON arrays)."""
    _declare_score()
    lines = [json.dumps(r) for r in (GOOD_BEFORE, {"id": "G2", field: value}, GOOD_AFTER)]
    check_one_hostile_row(write(tmp_path / "h.jsonl", "\n".join(lines) + "\n"), 2)


# JSON as written, where parsing itself is the problem: (the hostile object's text, what the message says)
HOSTILE_JSON = [
    ('{"id": "G2", "score": ' + "9" * 5000 + "}", "more than 4,300 digits"),
    ('{"id": "G2", "x": ' + "[" * 10_000 + "]" * 10_000 + "}", "nested more than"),
    ('{"id": "G2", "attributes": {"x": ' + '{"a": ' * 10_000 + "1" + "}" * 10_000 + "}}", "nested more than"),
    ('{"id": "G2", "x": ' + "[" * 100 + "]" * 100 + "}", "nested more than"),  # parses, but still refused
    ('{"id": "G2", "score": NaN}', "NaN is not a JSON value"),
    ('{"id": "G2", "score": -Infinity}', "-Infinity is not a JSON value"),
    ('{"id": "G2", "score": 1e999}', "out of range"),
    ('{"id": "G2", "score": 99999999999999999999999}', "out of range for a whole number"),
    ('{"id": "G2", "name": "\\ud800"}', "half of a character"),  # a lone surrogate
    ('{"id": "G2", "name": "a\\udc80b"}', "half of a character"),
    (
        '{"id": "G2", "marketing_opt_out": true, "marketing_opt_out": false}',
        'the key "marketing_opt_out" appears twice',
    ),
    ('{"id": "G2", "id": "G9"}', 'the key "id" appears twice'),
    ('{"id": "G2", "attributes": {"tier": "gold", "tier": "silver"}}', 'the key "tier" appears twice'),
    ('{"id": "G2", "opt_out": true, "marketing_opt_out": false}', '"marketing_opt_out" appears twice (same field)'),
    ('{"id": "G2", "tier": "gold", "attributes": {"tier": "silver"}}', '"tier" appears twice (same field)'),
]


@pytest.mark.parametrize(("text", "message"), HOSTILE_JSON, ids=lambda v: v[:40])
@pytest.mark.parametrize("fmt", ["jsonl", "json"])
def test_hostile_json_is_an_invalid_row_naming_its_line(tmp_path, fmt, text, message):
    _declare_score()
    good = [json.dumps(GOOD_BEFORE), json.dumps(GOOD_AFTER)]
    if fmt == "jsonl":
        path, line = write(tmp_path / "h.jsonl", f"{good[0]}\n{text}\n{good[1]}\n"), 2
    else:
        path, line = write(tmp_path / "h.json", f"[\n{good[0]},\n{text},\n{good[1]}\n]\n"), 3
    strict = run("import", str(path))
    assert message in strict.err, strict
    check_one_hostile_row(path, line)
    with Path(f"{path}.rejects.csv").open(encoding="utf-8", errors="surrogateescape", newline="") as fh:
        rejected = list(csv.DictReader(fh))
    assert len(rejected) == 1 and message in rejected[0]["_error"]
    # the row is kept as written: a key given twice is not collapsed, infinity is not "Infinity"
    assert rejected[0].get("_raw", "").strip() == text or rejected[0].get("id") == "G2"


def test_a_key_given_twice_never_opts_a_customer_back_in(tmp_path):
    """The last of two values used to win silently: "true, false" imported as opted in."""
    path = write(tmp_path / "d.jsonl", '{"id": "C1", "marketing_opt_out": true, "marketing_opt_out": false}\n')
    r = run("import", str(path))
    assert r.code == 1 and f"{path}:1:" in r.err and "appears twice" in r.err, r
    assert run("import", str(path), "--skip-invalid").code == 0
    assert _ids() == []


def test_an_array_of_objects_goes_on_after_a_hostile_one(tmp_path):
    """In a JSON array, an object too deep to parse is skipped whole (found by its brackets, strings
    with brackets in them included), and the array goes on after it."""
    deep = '{"id": "G2", "name": "a ] } \\" [ {", "x": ' + "[" * 5000 + '"]]"' + "]" * 5000 + "}"
    path = write(tmp_path / "a.json", f"[{json.dumps(GOOD_BEFORE)}, {deep}, {json.dumps(GOOD_AFTER)}]")
    check_one_hostile_row(path, 1)


def test_invalid_utf8_in_a_json_array_is_one_invalid_row(tmp_path):
    path = write(tmp_path / "u.json", b'[{"id": "G1"},\n{"id": "G2", "name": "\xff\xfe"},\n{"id": "G3"}]\n')
    check_one_hostile_row(path, 2)
    assert Path(f"{path}.rejects.csv").read_bytes().count(b"\xff\xfe") == 1  # written back unchanged


def test_hostile_values_in_a_new_attribute_are_typed_not_crashed_on(tmp_path):
    """Type inference sees every value first: a huge number makes the new column text (it is not a
    number seg can store), and nothing fails."""
    path = write(tmp_path / "n.csv", "id,big\nA,1\nB,99999999999999999999999\nC," + "9" * 5000 + "\n")
    r = run("import", str(path))
    assert r.code == 0 and "new attribute big: text" in r.err, r
    r = run("filter", "--where", "big = 99999999999999999999999", "-c", "id", "-f", "csv")
    assert r.out.splitlines() == ["id", "B"]


def test_edge_values_that_can_be_stored_are_kept_exactly(tmp_path):
    _declare_score()
    path = write(
        tmp_path / "e.csv",
        "id,score,created_at\n"
        "A,9223372036854775807,0001-01-01T00:00:00Z\nB,-9223372036854775808,9999-12-31T23:59:59Z\n"
        "C,-0,0001-01-01T12:00:00+12:00\nD,99999999999999999999999.0,9999-12-31T23:59:59-00:00\n",
    )
    assert run("import", str(path)).code == 0
    conn = sqlite3.connect(db_path())
    rows = conn.execute("SELECT id, attr_score, created_at FROM customers ORDER BY id").fetchall()
    assert rows == [
        ("A", 2**63 - 1, "0001-01-01T00:00:00Z"),
        ("B", -(2**63), "9999-12-31T23:59:59Z"),
        ("C", 0, "0001-01-01T00:00:00Z"),
        ("D", 1e23, "9999-12-31T23:59:59Z"),
    ]


# --- the fuzz test: random hostile rows among good ones -----------------------------------------

_HOSTILE_CELL = st.one_of(
    st.sampled_from([v for _, v in HOSTILE_VALUES]),
    st.sampled_from(
        [
            "1e400",
            "0.0001e-999",
            "9" * 20,
            "-" + "9" * 19,
            "0x1F",
            "1_000",
            "+-3",
            "1e",
            ".",
            "10000-01-01",
            "0000-12-31",
            "2026-02-30",
            "2026-01-01T24:00:00+24:00",
            "2026-01-01T00:00:00-23:60",
            "9999-12-31T24:00:00Z",
        ]
    ),
    st.text(min_size=1, max_size=5).map(lambda t: "9" * 25 + t),
)


def _row_texts(fmt: str, hostile_field: str, hostile: str | bytes) -> tuple[bytes, int]:
    """The file (bytes) with GOOD_BEFORE, the hostile row G2 and GOOD_AFTER; and G2's line."""
    good = [GOOD_BEFORE, GOOD_AFTER]
    if fmt == "csv":
        head = b"id,name,score,created_at,tags\n"
        rows = [f"{r['id']},{r['name']},{r['score']},{r['created_at']},\n".encode() for r in good]
        cell = (
            hostile
            if isinstance(hostile, bytes)
            else ('"' + hostile.replace('"', '""') + '"').encode("utf-8", "surrogatepass")
        )
        cells = {"name": b"", "score": b"", "created_at": b"", "tags": b"", hostile_field: cell}
        middle = b"G2," + b",".join(cells[k] for k in ("name", "score", "created_at", "tags")) + b"\n"
        return head + rows[0] + middle + rows[1], 3
    if isinstance(hostile, bytes):
        middle = b'{"id": "G2", "' + hostile_field.encode() + b'": "' + hostile + b'"}'
    else:
        middle = ('{"id": "G2", "' + hostile_field + '": ' + json.dumps(hostile) + "}").encode()
    lines = [json.dumps(good[0]).encode(), middle, json.dumps(good[1]).encode()]
    if fmt == "jsonl":
        return b"\n".join(lines) + b"\n", 2
    return b"[\n" + b",\n".join(lines) + b"\n]\n", 3


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    fmt=st.sampled_from(["csv", "jsonl", "json"]),
    field=st.sampled_from(["score", "created_at", "name", "tags"]),
    hostile=st.one_of(
        _HOSTILE_CELL,
        st.sampled_from([b"\xff", b"\xc3\x28", b"\xed\xa0\x80", b"ok\x80", b"\xf4\x90\x80\x80"]),  # invalid UTF-8
        st.sampled_from(["\ud800", "x\udfff", "\ud83d"]),  # lone surrogates (JSON escapes them)
    ),
)
def test_fuzz_one_hostile_row_among_good_ones(tmp_path_factory, fmt, field, hostile):
    """Whatever the hostile value, wherever it sits: strict imports nothing and names its line;
    --skip-invalid imports the good rows and rejects only it. Never an internal error."""
    if field in ("name", "tags") and isinstance(hostile, str) and _is_plain_text(hostile):
        hostile = hostile + "\x00"  # any text is a fine name: make it hostile for that field
    folder = tmp_path_factory.mktemp("fuzz")
    db = str(folder / "seg.db")
    _declare_score(db)
    data, line = _row_texts(fmt, field, hostile)
    check_one_hostile_row(write(folder / f"h.{fmt}", data), line, db)


def _is_plain_text(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return "\x00" not in text and "\ufeff" not in text


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(fmt=st.sampled_from(["csv", "jsonl", "json"]), hostile=_HOSTILE_CELL, skip=st.booleans())
def test_fuzz_hostile_values_in_an_undeclared_attribute(tmp_path_factory, fmt, hostile, skip):
    """Type inference reads every value of a new attribute first: it never fails on one either (the
    column may well become text, which makes the row valid)."""
    folder = tmp_path_factory.mktemp("infer")
    db = str(folder / "seg.db")
    data, line = _row_texts(fmt, "score", hostile)
    path = write(folder / f"h.{fmt}", data)
    r = run("--db", db, "import", str(path), *(["--skip-invalid"] if skip else []))
    assert r.code in (0, 1) and "internal error" not in r.err and "Traceback" not in r.err, r
    if r.code == 1:
        assert f"{path}:{line}:" in r.err and not skip, r
    else:
        assert {"G1", "G3"} <= set(_ids(db))


def test_arguments_that_are_not_utf8_are_errors_not_crashes(tmp_path):
    """A command line's bytes that are not UTF-8 reach Python as lone surrogates (\\udcff), which
    SQLite cannot take: a name or id like that exists nowhere, and cannot be saved."""
    assert run("import", str(write(tmp_path / "c.csv", "id,name\nC1,Ann\n"))).code == 0
    assert run("create", "ok", "--where", "name = Ann").code == 0
    for args, code, message in [
        (["create", "\udcff", "--where", "name = x"], 2, "not valid UTF-8"),
        (["create", "other", "--where", "name = x", "-d", "\udcff"], 2, "not valid UTF-8"),
        (["filter", "--where", "name = \udcff"], 2, "not valid UTF-8"),
        (["count", "\udcff"], 1, "no segment named"),
        (["members", "ok", "--exclude", "\udcff"], 1, "no segment named"),
        (["customers", "show", "\udcff"], 1, "no customer with id"),
        (["why", "ok", "\udcff"], 1, "no customer with id"),
    ]:
        r = run(*args)
        assert r.code == code and message in r.err and "internal error" not in r.err, (args, r)
