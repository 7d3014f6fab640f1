"""CSV that a spreadsheet or a CSV reader cannot misread (SPEC §5, §13): a cell holding a carriage
return or line feed is always quoted, and the formula guard covers every line inside a cell."""

from __future__ import annotations

import csv
import io
import itertools
import json
import os
import re

from conftest import run, write
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st


def _import_jsonl(tmp_path, customers: list[dict]) -> None:
    body = "".join(json.dumps(c, ensure_ascii=False) + "\n" for c in customers)
    result = run("import", str(write(tmp_path / "c.jsonl", body)))
    assert result.code == 0, result


def _rows(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text, newline="")))


def test_a_cell_with_a_carriage_return_is_quoted(tmp_path):
    """An unquoted CR ends the row for csv.reader and spreadsheets: "Sara\\r=1+2" would become a
    row of its own starting with =1+2."""
    _import_jsonl(
        tmp_path, [{"id": "C1", "name": "Sara\r=1+2"}, {"id": "C2", "name": "Li\r\nNa"}, {"id": "C3", "name": "Mo"}]
    )
    assert run("create", "All", "-w", "id is set").code == 0
    target = tmp_path / "out.csv"
    assert run("export", "All", "-o", str(target), "-c", "id,name").code == 0
    data = target.read_bytes()
    assert b'C1,"Sara\r\'=1+2"\n' in data  # quoted, and the line inside guarded
    assert _rows(data.decode("utf-8")) == [["id", "name"], ["C1", "Sara\r'=1+2"], ["C2", "Li\r\nNa"], ["C3", "Mo"]]
    assert data.count(b"\n") == 5 and data.endswith(b"C3,Mo\n")  # rows still end with a bare LF

    members = run("members", "All", "-c", "id,name", "--format", "csv")
    assert members.code == 0
    assert _rows(members.out) == [["id", "name"], ["C1", "Sara\r=1+2"], ["C2", "Li\r\nNa"], ["C3", "Mo"]]


def test_a_large_export_quotes_the_one_cell_with_a_carriage_return(tmp_path):
    """Rows are written in batches; the one row holding a CR is quoted wherever it falls."""
    customers = [{"id": f"C{i:05d}", "name": f"Name {i}"} for i in range(5000)]
    customers[3333]["name"] = "Odd\rOne"
    _import_jsonl(tmp_path, customers)
    assert run("create", "All", "-w", "id is set").code == 0
    target = tmp_path / "out.csv"
    assert run("export", "All", "-o", str(target), "-c", "id,name").code == 0
    rows = _rows(target.read_bytes().decode("utf-8"))
    assert len(rows) == 5001 and rows[3334] == ["C03333", "Odd\rOne"]
    assert rows[1:] == [[c["id"], c["name"]] for c in customers]


def test_the_formula_guard_applies_to_every_line_inside_a_cell(tmp_path):
    """A reader that splits lines (or a CR that ends the row) makes each inner line the start of a
    cell: each line that starts like a formula is guarded, right after its line break."""
    _import_jsonl(
        tmp_path,
        [
            {"id": "L1", "name": 'Sara\n=HYPERLINK("http://evil")', "email": "a@example.com\r\n@SUM(A1)"},
            {"id": "L2", "name": "=1+2\n+3\r-4\r\n\tx", "tags": ["fine", "x\n=1"]},
            {"id": "L3", "name": "Notes\n-5"},  # an inner line is never "plainly a number": a cell is
            {"id": "L4", "name": "-5"},
        ],
    )
    assert run("create", "All", "-w", "id is set").code == 0
    target = tmp_path / "out.csv"
    assert run("export", "All", "-o", str(target), "-c", "id,name,email,tags").code == 0
    got = {r[0]: r for r in _rows(target.read_bytes().decode("utf-8"))}
    assert got["L1"][1:3] == ['Sara\n\'=HYPERLINK("http://evil")', "a@example.com\r\n'@SUM(A1)"]
    assert got["L2"][1:4:2] == ["'=1+2\n'+3\r'-4\r\n'\tx", "fine,x\n'=1"]
    assert got["L3"][1] == "Notes\n'-5" and got["L4"][1] == "-5"

    assert run("export", "All", "-o", str(target), "-c", "id,name", "--raw").code == 0
    got = {r[0]: r for r in _rows(target.read_bytes().decode("utf-8"))}
    assert got["L1"][1] == 'Sara\n=HYPERLINK("http://evil")' and got["L2"][1] == "=1+2\n+3\r-4\r\n\tx"


def test_rejects_keep_a_carriage_return_inside_its_cell(tmp_path):
    """The rejects file is CSV too: a CR in a rejected cell stays inside its quoted cell."""
    source = write(tmp_path / "in.csv", 'id,name,created_at\nR1,"Sara\r=1+2",not a date\nR2,Ok,\n')
    rejects = tmp_path / "rejects.csv"
    assert run("import", str(source), "--skip-invalid", "--rejects", str(rejects)).code == 0
    rows = _rows(rejects.read_bytes().decode("utf-8"))
    assert [r[:3] for r in rows] == [["id", "name", "created_at"], ["R1", "Sara\r=1+2", "not a date"]]


# --- property: any text survives an export, and nothing in it starts a formula ----------------

_FORMULA = ("=", "+", "-", "@", "\t")
_LINE_BREAK = re.compile(r"(\r\n|\r|\n)")


def _plain_number(text: str) -> bool:
    rest = text[1:]
    return text[:1] in ("+", "-") and all(c in "0123456789 ().-" for c in rest) and any(c in "0123456789" for c in rest)


def _reference_guard(text: str) -> str:
    """SPEC §5 and §13, written independently of seg: a cell that starts like a formula (or with a
    CR) gets a ' unless plainly a number; so does every line after a line break (CR, LF or CRLF)."""
    parts = _LINE_BREAK.split(text)  # line, break, line, break, ...
    for i in range(2, len(parts), 2):
        if parts[i].startswith(_FORMULA):
            parts[i] = "'" + parts[i]
    guarded = "".join(parts)
    if text.startswith((*_FORMULA, "\r")) and not _plain_number(text):
        guarded = "'" + guarded
    return guarded


def _starts_a_formula(cell: str) -> bool:
    """Whether any line of the cell (the cell itself first) starts like a formula, unguarded."""
    if cell.startswith("\r") or (cell.startswith(_FORMULA) and not _plain_number(cell)):
        return True
    return any(line.startswith(_FORMULA) for line in _LINE_BREAK.split(cell)[2::2])


_tricky = st.sampled_from(
    ["=", "+", "-", "@", "\t", "\r", "\n", "\r\n", '"', "'", ",", " ", "1", "\x1b", "\u202e", "é"]
)
# Any character but those an import refuses: NUL, a byte order mark, a lone surrogate, and U+001F
# (it separates the elements of a tag list).
_any = st.characters(exclude_categories=("Cs",), exclude_characters="\x00\x1f\ufeff")
_text = st.lists(st.one_of(_tricky, _any), max_size=12).map("".join)


_example = itertools.count()


# Phones are stored in E.164 (SPEC §8, §14), so they are drawn from numbers in several spellings.
_phone = st.sampled_from(["", "+96891234567", "+968 9123 4568", "00968 9123 4569", "+1 617-555-0100"])


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.tuples(_text, _text, _phone, _text, st.lists(_text, max_size=3)), min_size=1, max_size=4))
def test_any_text_round_trips_through_a_csv_export_and_never_starts_a_formula(tmp_path, values):
    """Random text (any Unicode, controls, CR/LF, quotes, formula characters) in names, emails,
    a text attribute and tags, and phones (which start with +): csv.reader gives back exactly the customers' rows with the
    guard applied (or as stored, with --raw), and no line of any cell starts a formula unguarded.
    The examples share one database, so later exports hold every earlier example's customers."""
    db = str(tmp_path / "property.db")
    if not os.path.exists(db):
        assert run("--db", db, "attributes", "define", "note", "--type", "text").code == 0
        assert run("--db", db, "create", "All", "-w", "id is set").code == 0
    n = next(_example)
    columns = ["id", "name", "email", "phone", "note", "tags"]
    customers = [
        {"id": f"P{n}-{i}", "name": name, "email": email, "phone": phone, "note": note, "tags": tags}
        for i, (name, email, phone, note, tags) in enumerate(values)
    ]
    body = "".join(json.dumps(c, ensure_ascii=False) + "\n" for c in customers)
    imported = run("--db", db, "import", "-", "--format", "jsonl", stdin=body)
    assert imported.code == 0, imported
    # What was stored (the importer trims values), read back in a data format.
    members = run("--db", db, "members", "All", "-c", ",".join(columns), "--format", "jsonl")
    stored = [json.loads(line) for line in members.out.split("\n") if line]
    as_text = [[_as_cell(s[c]) for c in columns] for s in stored]

    exported = run("--db", db, "export", "All", "-o", "-", "-c", ",".join(columns), "--include-opted-out")
    assert exported.code == 0, exported
    rows = _rows(exported.out)
    assert rows == [columns, *([_reference_guard(v) for v in row] for row in as_text)]
    assert not any(_starts_a_formula(v) for row in rows for v in row)

    raw = run("--db", db, "export", "All", "-o", "-", "-c", ",".join(columns), "--include-opted-out", "--raw")
    assert _rows(raw.out) == [columns, *as_text]
    members_csv = run("--db", db, "members", "All", "-c", ",".join(columns), "--format", "csv")
    assert _rows(members_csv.out) == [columns, *as_text]


def _as_cell(value: object) -> str:
    return "" if value is None else ",".join(value) if isinstance(value, list) else str(value)
