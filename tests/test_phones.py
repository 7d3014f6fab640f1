"""Phones in E.164 (SPEC §8, §14): at import, in filter literals, as the key of an import, in
databases written before, and the short path that skips the library's parse."""

from __future__ import annotations

import gc
import json
import sqlite3

import phonenumbers
import pytest
from conftest import db_path, query, run, snapshot, write
from hypothesis import given, settings
from hypothesis import strategies as st

import segcli
from segcli.errors import InvalidValue
from segcli.phones import normalize_phone
from segcli.store.migrations import SCHEMA_VERSION


def customer(cid: str) -> dict:
    return segcli.open().customer(cid)


@pytest.mark.parametrize(
    ("raw", "country", "stored"),
    [
        ("00968 9123 4567", "", "+96891234567"),
        ("+968-9123-4567", "", "+96891234567"),
        ("'+96891234567", "", "+96891234567"),  # Shopify's spreadsheet guard
        ("9123 4567", "OM", "+96891234567"),  # national, in the row's country
        ("(617) 234-5678", "US", "+16172345678"),
        ("97427051223", "OM", "+97427051223"),  # WhatsApp's id: not a number in Oman, + and its digits are
        ("96891234567", "OM", "+96891234567"),
        ("٩١٢٣٤٥٦٧", "OM", "+96891234567"),  # Arabic-Indic digits
    ],
)
def test_phones_are_stored_in_e164(tmp_path, raw, country, stored):
    r = run("import", str(write(tmp_path / "a.csv", f'id,country,phone\nc1,{country},"{raw}"\n')))
    assert r.code == 0, r
    assert customer("c1")["phone"] == stored


def test_a_value_that_is_no_possible_phone_is_an_invalid_value(tmp_path):
    r = run("import", str(write(tmp_path / "a.csv", "id,country,phone\nc1,OM,12\nc2,,9123 4567\nc3,OM,call me\n")))
    assert r.code == 1
    assert ':2:3: phone: "12" is not a phone number in OM' in r.err
    assert ':3:3: phone: "9123 4567" is not a phone number with its country code' in r.err
    assert ':4:3: phone: "call me" is not a phone number in OM' in r.err


def test_default_region_reads_national_numbers_at_import_and_in_filters(tmp_path):
    run("import", str(write(tmp_path / "a.csv", "id\nc0\n")))
    assert run("config", "set", "default_region", "OM").code == 0
    r = run("import", str(write(tmp_path / "b.csv", "id,phone\nc1,9123 4567\nc2,+44 7400 123456\n")))
    assert r.code == 0, r
    assert customer("c1")["phone"] == "+96891234567" and customer("c2")["phone"] == "+447400123456"
    for where in ('phone = "9123 4567"', "phone = 0096891234567", "phone = +968-9123-4567", "phone in (91234567)"):
        assert run("filter", "-w", where, "-f", "csv", "-c", "id").out == "id\nc1\n", where
    r = run("filter", "-w", "phone = 12")
    assert r.code == 2 and "is not a phone number" in r.err
    assert run("filter", "-w", "phone starts with +9689", "-f", "csv", "-c", "id").out == "id\nc1\n"


@pytest.mark.both_engines
def test_a_profile_default_region_beats_the_database_setting(tmp_path):
    run("import", str(write(tmp_path / "a.csv", "id\nc0\n")))
    run("config", "set", "default_region", "AE")
    profile = write(tmp_path / "p.yaml", "profile: omani\ndefault_region: OM\n")
    r = run("import", str(write(tmp_path / "b.csv", "id,phone\nc1,9123 4567\n")), "--profile", str(profile))
    assert r.code == 0, r
    assert customer("c1")["phone"] == "+96891234567"


# --- --key phone and --key email ----------------------------------------------------------------


@pytest.mark.both_engines
def test_key_phone_matches_rows_by_their_e164_phone(tmp_path):
    run("import", str(write(tmp_path / "a.csv", "id,phone,name\nC1,+96891234567,Ann\n")))
    r = run(
        "import",
        str(write(tmp_path / "b.csv", "phone,name\n+968 9123 4567,Annie\n00968 9123 4568,Bo\n+96891234568,Bob\n")),
        "--key",
        "phone",
    )
    assert r.code == 0, r
    assert "3 read, 1 created, 2 updated" in r.err  # Annie, then Bo as Bob
    assert "1 row had the phone of an earlier row: the same customer (the later row wins)" in r.err
    assert customer("C1")["name"] == "Annie"  # matched by its phone, written otherwise
    assert customer("+96891234568")["name"] == "Bob"  # new, without an id: its phone is its id


@pytest.mark.both_engines
def test_key_phone_refuses_an_empty_key_a_shared_key_and_a_different_id(tmp_path):
    run("import", str(write(tmp_path / "a.csv", "id,phone\nA,+96891234567\nB,+96891234567\nC,+96891234568\n")))
    before = snapshot()
    path = write(tmp_path / "b.csv", "id,phone,name\n,,x\n,+96891234567,y\nZ,+96891234568,z\n")
    r = run("import", str(path), "--key", "phone")
    assert r.code == 1
    assert ":2:1: phone: empty (customers are matched by phone: --key phone)" in r.err
    assert ':3:1: phone "+96891234567" is held by 2 customers (A, B): which one is meant?' in r.err
    assert ':4:1: id "Z" is not the id of the customer with phone +96891234568 ("C")' in r.err
    assert snapshot() == before


@pytest.mark.both_engines
def test_key_phone_problems_are_listed_in_line_order(tmp_path):
    run("import", str(write(tmp_path / "a.csv", "id,phone\nA,+96891234567\n")))
    # Line 3's problem is found when its phone is looked up, line 4's when it is read: shown 3, 4.
    path = write(tmp_path / "k1.csv", "id,phone\nB,+96891234568\nC,+96891234567\nD,\n")
    for options in ((), ("--dry-run",), ("--dry-run", "--skip-invalid")):
        r = run("import", str(path), "--key", "phone", *options)
        lines = [line for line in r.err.splitlines() if line.startswith(str(path) + ":")]
        assert [line.split(":")[1] for line in lines][:2] == ["3", "4"], (options, r.err)
    assert run("import", str(path), "--key", "phone", "--skip-invalid").code == 0
    rejects = (tmp_path / "k1.csv.rejects.csv").read_text(encoding="utf-8").splitlines()
    assert [row.split(",")[0] for row in rejects] == ["id", "C", "D"]


@pytest.mark.both_engines
def test_key_email_matches_folded_emails(tmp_path):
    run("import", str(write(tmp_path / "a.csv", "id,email\nC1,Ann@Example.om\n")))
    r = run(
        "import",
        str(write(tmp_path / "b.csv", "Email Address,name\nANN@example.OM,Ann\nbo@x.om,Bo\n")),
        "--key",
        "email",
    )
    assert r.code == 0, r
    assert customer("C1")["name"] == "Ann" and customer("bo@x.om")["name"] == "Bo"


# --- the migration of a database written before -------------------------------------------------


def _file_before_e164(path: str, engine: str = "sqlite") -> None:
    """A database as the seg before this change writes it: every migration up to the E.164 one
    (whatever its number once merged), phones as given, no profiles table. On PostgreSQL: a new
    database taken back to that version (its migrations before are this seg's)."""
    rows = _PHONES
    if engine == "postgresql":
        from segcli.store.postgres_schema import MIGRATIONS as PG_MIGRATIONS

        assert run("config", "set", "default_region", "OM").code == 0  # makes the database
        before = next(i for i, m in enumerate(PG_MIGRATIONS) if "E.164" in m.name)
        query("DROP TABLE profiles")
        query("UPDATE seg_meta SET value = ? WHERE name = 'schema_version'", (str(before),))
        for pk, (cid, (phone, country)) in enumerate(rows.items(), start=1):
            query(
                "INSERT INTO customers (pk, id, id_fold, phone, phone_fold, country) VALUES (?, ?, ?, ?, ?, ?)",
                (pk, cid, cid.lower(), phone, phone.lower(), country),
            )
        return
    from segcli.store.migrations import MIGRATIONS

    before = next(i for i, m in enumerate(MIGRATIONS) if "E.164" in m.name)
    conn = sqlite3.connect(path)
    for migration in MIGRATIONS[:before]:
        for step in migration.steps:
            step(conn) if callable(step) else conn.execute(step)
    conn.execute(f"PRAGMA user_version = {before}")
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("INSERT INTO settings (name, value) VALUES ('default_region', 'OM')")
    for pk, (cid, (phone, country)) in enumerate(rows.items(), start=1):
        conn.execute(
            "INSERT INTO customers (pk, id, id_fold, phone, phone_fold, country) VALUES (?, ?, ?, ?, ?, ?)",
            (pk, cid, cid.lower(), phone, phone.lower(), country),
        )
    conn.commit()
    conn.close()


_PHONES = {
    "C1": ("9123 4567", "AE"),  # in the customer's country
    "C2": ("00968 9123 4568", None),
    "C3": ("9123 4569", None),  # no country: default_region
    "C4": ("call me", None),  # kept as it was
    "C5": ("+968 9123 4570", None),
    "C6": ("+96891234571", "OM"),  # E.164 already: not rewritten
}


@pytest.mark.both_engines
def test_stored_phones_become_e164_and_those_unread_are_listed(engine):
    """Opening a file written before phones were E.164 migrates it: each phone read in its
    customer's country, else default_region; one it cannot read is kept and named in the note
    the first command prints."""
    _file_before_e164(db_path(), engine)
    r = run("filter", "-w", "id is set", "-f", "jsonl", "-c", "id,phone")
    assert r.code == 0, r
    phones = {c["id"]: c["phone"] for c in map(json.loads, r.out.splitlines())}
    assert phones == {
        "C1": "+97191234567",
        "C2": "+96891234568",
        "C3": "+96891234569",
        "C4": "call me",
        "C5": "+96891234570",
        "C6": "+96891234571",
    }
    assert "seg: note: phones now in E.164: 4 rewritten; 1 kept as they were" in r.err
    assert 'C4 "call me"' in r.err
    assert run("filter", "-w", "phone = +96891234570", "-f", "csv", "-c", "id").out == "id\nC5\n"  # folded again
    if engine == "postgresql":
        from segcli.store.postgres_schema import SCHEMA_VERSION as PG_VERSION

        assert query("SELECT value FROM seg_meta WHERE name = 'schema_version'") == [(str(PG_VERSION),)]
        assert query("SELECT count(*) FROM profiles") == [(0,)]
        return
    conn = sqlite3.connect(db_path())
    assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    conn.close()
    assert "note" not in run("filter", "-w", "id is set").err  # migrated once


# --- the short path ------------------------------------------------------------------------------


def _library(raw: str) -> str | None:
    """What phonenumbers itself says about a number written with +: E.164 if possible."""
    try:
        number = phonenumbers.parse(raw, None)
    except phonenumbers.NumberParseException:
        return None
    return (
        phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
        if phonenumbers.is_possible_number(number)
        else None
    )


@settings(max_examples=400, deadline=None)
@given(
    st.one_of(
        st.text("0123456789", min_size=6, max_size=16).map(lambda d: "+" + d),
        st.sampled_from(
            ["1", "7", "20", "33", "39", "44", "49", "52", "55", "61", "86", "91", "968", "971", "974"]
        ).flatmap(lambda code: st.text("0123456789", min_size=4, max_size=12).map(lambda d: f"+{code}{d}")),
    )
)
def test_the_short_path_gives_the_library_s_answer(raw):
    try:
        ours = normalize_phone(raw)
    except InvalidValue:
        ours = None
    assert ours == _library(raw)


def test_an_import_leaves_no_reference_cycles(tmp_path):
    """seg import runs with the cycle collector off: an import (valid, invalid and unreadable
    phones among them) must leave nothing only the collector could free."""
    rows = "".join(f"c{i},00968 9123 {i % 10000:04d},Klingonish{i % 3},+{i}\n" for i in range(3000))
    path = write(tmp_path / "a.csv", "id,phone,language,other\n" + rows)
    gc.collect()
    gc.disable()
    try:
        segcli.open().import_file(str(path), skip_invalid=True, rejects=str(tmp_path / "r.csv"))
        found = gc.collect()
    finally:
        gc.enable()
    assert found < 200, found
