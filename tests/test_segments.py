"""Segments through the CLI: create, edit, delete, list, show, count, members, filter, why (SPEC §4),
and filter errors (SPEC §3: exit 2, a message that points at the part, nothing saved)."""

from __future__ import annotations

import csv
import json
import re
from datetime import datetime, timedelta

import pytest
from conftest import NOW, SAMPLE_CSV, db_path, independent_rows, run, snapshot, write

pytestmark = pytest.mark.both_engines  # every test here runs on SQLite and PostgreSQL

NOW_DT = datetime.fromisoformat(NOW.replace("Z", "+00:00"))


def _sample_rows() -> list[dict]:
    return independent_rows(SAMPLE_CSV)


EXPECTED = {
    "VIP Arabic Speakers": lambda c: "vip" in c["tags"] and c["language"] == "ar",
    "Inactive 30+ Days": lambda c: c["last"] is not None and c["last"] < NOW_DT - timedelta(days=30),
    "Gold Tier in Oman": lambda c: c["tier"] == "gold" and c["country"] == "OM",
    "WhatsApp Opted-In": lambda c: c["platform"] == "whatsapp" and not c["opted_out"],
    "New This Week": lambda c: c["created"] is not None and NOW_DT - timedelta(days=7) <= c["created"] <= NOW_DT,
    "Enterprise Leads": lambda c: c["interest"] == "enterprise" and "lead" in c["tags"],
}


@pytest.mark.parametrize("name", list(EXPECTED))
def test_the_six_examples_on_the_sample_data(sample_db, name):
    rows = _sample_rows()
    want = sorted(c["id"] for c in rows if EXPECTED[name](c))
    assert want, f"the sample data should have members for {name}"
    r = run("count", name)
    assert r.code == 0 and r.out == f"{len(want)}\n"
    r = run("members", name, "--format", "csv", "--columns", "id")
    assert r.out.splitlines() == ["id", *want]


def test_list_shows_live_counts(sample_db):
    data = json.loads(run("list", "--json").out)
    assert {d["name"] for d in data} == set(EXPECTED)
    for d in data:
        assert d["count"] == int(run("count", d["name"]).out)
    # Counts are computed when asked: a day later, New This Week has changed.
    later = json.loads(run("--now", "2026-12-20T00:00:00Z", "list", "--json").out)
    assert {d["name"]: d["count"] for d in later}["New This Week"] == 0


def test_count_union_and_exclusion(sample_db):
    rows = _sample_rows()
    a, b, x = EXPECTED["VIP Arabic Speakers"], EXPECTED["Gold Tier in Oman"], EXPECTED["Inactive 30+ Days"]
    union = {c["id"] for c in rows if a(c) or b(c)}
    assert int(run("count", "VIP Arabic Speakers", "Gold Tier in Oman").out) == len(union)
    left = {c["id"] for c in rows if (a(c) or b(c)) and not x(c)}
    r = run("count", "VIP Arabic Speakers", "gold tier in oman", "--exclude", "Inactive 30+ Days")
    assert int(r.out) == len(left)
    r = run(
        "members",
        "VIP Arabic Speakers",
        "Gold Tier in Oman",
        "-x",
        "Inactive 30+ Days",
        "--format",
        "jsonl",
        "-c",
        "id",
    )
    ids = [json.loads(line)["id"] for line in r.out.splitlines()]
    assert ids == sorted(left)  # each once, sorted by id
    assert json.loads(run("count", "VIP Arabic Speakers", "--json").out)["count"] == int(
        run("count", "VIP Arabic Speakers").out
    )


def test_create_edit_rename_describe_delete(sample_db):
    r = run("create", "Omanis", "--where", "country = Oman", "--description", "In Oman")
    assert r.code == 0, r
    assert run("create", "OMANIS", "--where", "country = OM").code == 1  # names unique, any case
    oman = int(run("count", "Omanis").out)
    r = run("edit", "omanis", "--or-where", "country = AE")
    assert r.code == 0 and "country = OM or country = AE" in r.err
    both = int(run("count", "Omanis").out)
    assert both > oman
    assert run("edit", "Omanis", "--where", "country = AE", "--rename", "Emiratis", "-d", "UAE").code == 0
    shown = json.loads(run("show", "Emiratis", "--json").out)
    assert shown["filter"] == "country = AE" and shown["description"] == "UAE"
    assert shown["count"] == both - oman
    assert run("count", "Omanis").code == 1
    before_customers = snapshot()["customers"]
    r = run("delete", "Emiratis", "--yes")
    assert r.code == 0 and "deleted Emiratis" in r.err
    assert snapshot()["customers"] == before_customers  # never customers
    assert run("count", "Emiratis").code == 1


def test_several_where_are_joined_with_or(sample_db):
    assert run("create", "Two", "-w", "country = OM", "-w", "country = AE").code == 0
    assert json.loads(run("show", "Two", "--json").out)["groups"] == [["country = OM"], ["country = AE"]]


def test_unknown_segment_suggests_the_nearest(sample_db):
    r = run("count", "VIP Arabic Speaker")
    assert r.code == 1 and 'no segment named "VIP Arabic Speaker"' in r.err and "VIP Arabic Speakers" in r.err


FILTER_ERRORS = [
    ("teir = gold", "unknown field \"teir\" (did you mean 'tier'?)", "^^^^"),
    ("tags = VIP", '"=" does not apply to tags, a list field', "^^^^^^^^^^"),
    ("country > OM", '">" does not apply to country, a country field', None),
    ("lifetime_value > abc", 'lifetime_value: "abc" is not a number', "^^^"),
    ("tier = platinum", 'tier: "platinum" is not one of gold, silver, bronze', "^^^^^^^^"),
    ("language = Klingon", 'language: "Klingon" is not a known language', None),
    ("country = Atlantis", 'country: "Atlantis" is not a known country', None),
    ("created_at > someday", 'created_at: "someday" is not an ISO 8601 date', None),  # yesterday is a day (§9)
    ("tier = gold and", "the filter ends too soon", None),
    ("tier = gold silver", 'unexpected "silver"', None),
    ("name = 'unclosed", "unclosed quote", None),
    ("created_at within last 3 fortnights", '"3 fortnights" is not a duration', None),
    ("", "the filter is empty", None),
    ("tier in ()", 'unexpected ")": expected a value', None),
    ("tags contains any ()", 'unexpected ")": expected a value', None),
    ("name starts with", "the filter ends too soon: expected a value", None),
    ("tier > gold", '">" does not apply to tier, an enum field', None),
]


def test_filter_errors_speak_the_users_words_not_the_grammars(sample_db):
    """No grammar token names (DAYS_AGO, IN_DAYS, WORD, $END...) and the right article."""
    broken = ["tier in ()", "tags contains all (a,", "name starts with", "created_at before", "tier =", "tier"]
    broken += ["tier > gold", "tags > 3", "created_at between 2026-01-01", "tier in (a b)", "(tier = gold"]
    for where in broken:
        r = run("filter", "--where", where)
        assert r.code == 2, (where, r)
        message = r.err.splitlines()[0].lower()
        for token in ("days_ago", "in_days", "word", "string", "$end", "lpar", "rpar", "comma", '"op"'):
            assert token not in message, (where, message)
        assert not re.search(r"\ba [aeiou]", message), (where, message)


@pytest.mark.parametrize(("where", "message", "caret"), FILTER_ERRORS, ids=[f[0] or "empty" for f in FILTER_ERRORS])
def test_bad_filters_exit_2_point_at_the_part_and_save_nothing(sample_db, where, message, caret):
    before = snapshot()
    for args in (["create", "Bad", "--where", where], ["filter", "--where", where, "--save-as", "Bad"]):
        r = run(*args)
        assert r.code == 2, r
        assert message in r.err
        assert "Traceback" not in r.err + r.out
        if where:
            assert f"  {where}" in r.err  # the filter is quoted
        if caret:
            assert caret in r.err
    assert snapshot() == before


def test_members_formats_columns_sort_limit(sample_db):
    r = run("members", "Gold Tier in Oman", "--format", "csv", "--columns", "id,name,tier,tags,lifetime_value")
    lines = list(csv.reader(r.out.splitlines()))
    assert lines[0] == ["id", "name", "tier", "tags", "lifetime_value"]
    assert all(row[2] == "gold" for row in lines[1:])
    r = run(
        "members",
        "Gold Tier in Oman",
        "--format",
        "json",
        "--columns",
        "id,lifetime_value",
        "--sort",
        "-lifetime_value",
    )
    data = json.loads(r.out)
    values = [d["lifetime_value"] for d in data if d["lifetime_value"] is not None]
    assert values == sorted(values, reverse=True) and len(data) == int(run("count", "Gold Tier in Oman").out)
    r = run("members", "Gold Tier in Oman", "--limit", "2", "--format", "jsonl")
    assert len(r.out.splitlines()) == 2
    r = run("members", "Gold Tier in Oman", "--columns", "id,tier,nope")
    assert r.code == 2 and 'unknown column "nope"' in r.err


@pytest.mark.parametrize(
    "command",
    [["members", "Gold Tier in Oman"], ["filter", "--where", "tier = gold"], ["history"]],
    ids=["members", "filter", "history"],
)
@pytest.mark.parametrize("limit", ["99999999999999999999", "9223372036854775808", "-1"])
def test_an_out_of_range_limit_is_a_usage_error_naming_it(sample_db, command, limit):
    """--limit past a 64-bit signed integer, or negative, is exit 2 naming the option: never a
    "datatype mismatch" from the database or an internal OverflowError."""
    r = run(*command, "--limit", limit)
    assert r.code == 2 and "--limit" in r.err, r
    assert "database error" not in r.err and "internal error" not in r.err
    assert run(*command, "--limit", "9223372036854775807").code == 0  # the largest is fine


@pytest.mark.parametrize("limit", [2**63, -1, True, 2.5])
def test_the_api_refuses_a_limit_the_engine_cannot_take(sample_db, limit):
    """The Python API bounds ``limit`` as the options do: a UsageError, not an OverflowError."""
    import segcli
    from segcli.errors import UsageError

    with segcli.open(db_path()) as db:
        with pytest.raises(UsageError, match="limit"):
            list(db.members(["VIP Arabic Speakers"], limit=limit))
        with pytest.raises(UsageError, match="limit"):
            db.history(limit=limit)
        assert len(list(db.members(["VIP Arabic Speakers"], limit=2**63 - 1))) > 0


def test_filter_counts_lists_and_saves(sample_db):
    r = run(
        "filter",
        "--where",
        "tags contains VIP and language = Arabic",
        "--format",
        "csv",
        "-c",
        "id",
        "--save-as",
        "VIP AR",
    )
    assert r.code == 0
    n = int(run("count", "VIP Arabic Speakers").out)
    assert f"{n} customers match" in r.err and len(r.out.splitlines()) == n + 1
    assert int(run("count", "VIP AR").out) == n


def test_why_explains_each_condition(sample_db):
    rows = {c["id"]: c for c in _sample_rows()}
    member = next(i for i, c in rows.items() if EXPECTED["Gold Tier in Oman"](c))
    outsider = next(i for i, c in rows.items() if c["tier"] != "gold" and c["country"] == "OM")
    report = json.loads(run("why", "Gold Tier in Oman", member, "--json").out)
    assert report["matched"] is True
    report = json.loads(run("why", "Gold Tier in Oman", outsider, "--json").out)
    assert report["matched"] is False
    conditions = report["groups"][0]["conditions"]
    assert [c["matched"] for c in conditions] == [False, True]
    assert conditions[1]["value"] == "OM"
    text = run("why", "Gold Tier in Oman", outsider).out
    assert "✗ tier = gold" in text and "✓ country = OM" in text and "NOT in the segment" in text


def test_show_sql_prints_parameters_not_values_in_sql(sample_db, engine):
    r = run("show", "VIP Arabic Speakers", "--sql")
    assert r.code == 0
    sql = r.out.split("SQL:")[1].split("parameters:")[0]
    assert (
        ("%(p1)s" if engine == "postgresql" else ":p1") in sql and "vip" not in sql.lower() and "'ar'" not in sql
    )  # values are bound
    params = r.out.split("parameters:")[1].split("plan:")[0]
    assert "vip" in params and "'ar'" in params
    r = run("show", "New This Week", "--sql")
    assert "customers_created_at" in r.out.split("plan:")[1]  # the date index is used


def test_customers_show_lists_segments(sample_db):
    rows = _sample_rows()
    cid = next(c["id"] for c in rows if EXPECTED["VIP Arabic Speakers"](c))
    data = json.loads(run("customers", "show", cid, "--json").out)
    assert "VIP Arabic Speakers" in data["segments"]
    want = {name for name, pred in EXPECTED.items() if pred(next(c for c in rows if c["id"] == cid))}
    assert set(data["segments"]) == want


def test_complement_counts_add_up(sample_db):
    total = len(_sample_rows())
    for positive, negative in [
        ("tags contains VIP", "tags not contains VIP"),
        ("email is set", "email is not set"),
        ("tier = gold", "tier != gold"),
        ("language in (ar, en)", "language not in (ar, en)"),
        ("lifetime_value = 0", "lifetime_value != 0"),
    ]:
        a = int(run("filter", "-w", positive, "-f", "csv", "-c", "id").err.split()[0])
        b = int(run("filter", "-w", negative, "-f", "csv", "-c", "id").err.split()[0])
        assert a + b == total, (positive, a, b)


def test_delete_refuses_unknown_names_and_deletes_nothing(sample_db):
    before = snapshot()
    r = run("delete", "VIP Arabic Speakers", "No Such Segment", "--yes")
    assert r.code == 1 and "No Such Segment" in r.err
    assert snapshot() == before


def test_bad_now_is_a_usage_error(sample_db, monkeypatch):
    r = run("--now", "tomorrow", "count", "VIP Arabic Speakers")
    assert r.code == 2 and "--now" in r.err  # the message names where the bad value came from
    monkeypatch.setenv("SEG_NOW", "tomorrow")
    r = run("count", "VIP Arabic Speakers")
    assert r.code == 2 and "SEG_NOW" in r.err


def test_tab_completion_offers_segment_names(sample_db, monkeypatch):
    import shlex

    def complete(word: str) -> list[str]:  # as bash asks (see test_completion.py)
        monkeypatch.setenv("_SEG_COMPLETE", "complete_bash")
        monkeypatch.setenv("COMP_WORDS", f"seg\ncount\n{word}")
        monkeypatch.setenv("COMP_CWORD", "2")
        return [line for line in run().out.splitlines() if line]

    assert complete("vip") == ["VIP\\ Arabic\\ Speakers"]
    words = [shlex.split(c) for c in complete("")]
    assert all(len(w) == 1 for w in words) and sorted(w[0] for w in words) == sorted(EXPECTED)  # one word each
    assert complete("zzz") == []


def test_an_impossible_range_or_window_is_an_error_not_an_empty_result(sample_db):
    for where, message in [
        ("lifetime_value between 5 and 1", "the first bound is after the second"),
        ("created_at between 2026-02-01 and 2026-01-01", "the first bound is after the second"),
        ("created_at within last 0 days", "at least a minute"),
    ]:
        r = run("filter", "-w", where)
        assert r.code == 2 and message in r.err, (where, r)
    r = run("filter", "-w", "created_at between 2026-01-01 and 2026-01-01", "-f", "csv", "-c", "id")
    assert r.code == 0  # one whole day is a fine range


def test_ids_and_names_sort_in_code_point_order_whatever_the_collation(tmp_path):
    """SPEC §12: as in SQLite, whatever the server's collation (the test server's is ICU en-US,
    where "_b" < "a" < "B" < "é" < "Z"): upper case before lower, punctuation and accents by code."""
    ids = ["b", "B", "a", "_b", "é", "Z", "a-1", "a1", "A2", "ä", "10", "9", "ß"]
    rows = "".join(f"{cid},{cid.upper()}x\n" for cid in ids)
    tmp_path.joinpath("c.csv").write_text("id,name\n" + rows, encoding="utf-8")
    assert run("import", str(tmp_path / "c.csv")).code == 0
    assert run("create", "All", "-w", "id is set").code == 0
    out = run("members", "All", "-f", "csv", "-c", "id").out.splitlines()[1:]
    assert out == sorted(ids)
    names = run("members", "All", "-f", "csv", "-c", "name", "--sort", "-name").out.splitlines()[1:]
    assert names == sorted((cid.upper() + "x" for cid in ids), key=lambda n: n.casefold(), reverse=True)


def test_an_attribute_that_becomes_an_enum_keeps_the_segments_that_use_it(tmp_path):
    """Text compares ignoring case, an enum by its declared spelling: a saved `city = doha` is
    written again as `city = Doha` when city becomes an enum, and still counts the same; a segment
    the enum could not express refuses the change, naming it, rather than silently matching nobody."""
    assert run("import", str(write(tmp_path / "c.csv", "id,city\nc1,Doha\nc2,muscat\n"))).code == 0
    assert run("create", "D", "--where", "city = doha").code == 0
    assert run("create", "Both", "--where", "city in (doha, MUSCAT)").code == 0
    assert run("attributes", "define", "city", "--type", "enum", "--values", "Muscat,Doha").code == 0
    assert run("count", "D").out == "1\n"
    assert run("count", "Both").out == "2\n"
    assert json.loads(run("show", "D", "--json").out)["groups"] == [["city = Doha"]]

    assert run("import", str(write(tmp_path / "t.csv", "id,town\nc1,Doha\n"))).code == 0
    assert run("create", "Oh", "--where", "town contains oh").code == 0
    before = snapshot()
    r = run("attributes", "define", "town", "--type", "enum", "--values", "Doha")
    assert r.code == 1 and 'segment "Oh"' in r.err and "contains" in r.err, r
    assert snapshot() == before
    assert run("attributes", "define", "city", "--type", "enum", "--values", "Muscat").code == 1  # Doha is held
