"""Filters at the edges (SPEC §13, §9): dates at the ends of the calendar and durations longer than
it are evaluated exactly; what cannot be evaluated (an instant out of range, more than 100 groups, a
filter beyond the engine's limits) is refused when saved, exit 2, pointing at the part; large
filters and large combinations of segments never reach SQLite's expression-depth limit; and a
segment saved by an older seg that this one cannot evaluate is still listed and shown."""

from __future__ import annotations

import json
import sqlite3

import pytest
from conftest import db_path, run, write

from segcli.model import Condition, Filter, Group

EDGE_CUSTOMERS = (
    "id,created_at,tags\n"
    "first,0001-01-01T00:00:00Z,vip\n"
    "early,0001-01-01T23:59:59Z,\n"
    "mid,2026-01-05T10:00:00Z,vip\n"
    "last-day,9999-12-31T00:00:00Z,\n"
    "last,9999-12-31T23:59:59Z,vip\n"
    "none,,\n"
)


@pytest.fixture
def edge_db(tmp_path):
    assert run("import", str(write(tmp_path / "e.csv", EDGE_CUSTOMERS))).code == 0


def _ids(where: str) -> list[str]:
    r = run("filter", "--where", where, "-c", "id", "-f", "csv")
    assert r.code == 0, r
    return sorted(r.out.splitlines()[1:])


@pytest.mark.parametrize(
    ("where", "ids"),
    [
        ("created_at between 0001-01-01 and 9999-12-31", ["early", "first", "last", "last-day", "mid"]),
        ("created_at = 9999-12-31", ["last", "last-day"]),
        ("created_at <= 9999-12-31", ["early", "first", "last", "last-day", "mid"]),
        ("created_at > 9999-12-31", []),
        ("created_at after 9999-12-31", []),
        ("created_at >= 9999-12-31", ["last", "last-day"]),
        ("created_at = 0001-01-01", ["early", "first"]),
        ("created_at < 0001-01-01", []),
        ("created_at before 0001-01-02", ["early", "first"]),
        ("created_at != 9999-12-31", ["early", "first", "mid", "none"]),
        ("created_at = 9999-12-31T23:59:59Z", ["last"]),
        ("created_at within last 1000000 days", ["early", "first", "mid"]),  # before 9999: now is 2026
        ("created_at within last 9999999999 weeks", ["early", "first", "mid"]),
        ("created_at older than 1000000 days", []),
        ("created_at older than 739000 days", ["early", "first"]),
        ("created_at older than 9999999999 weeks", []),
    ],
)
def test_dates_at_the_ends_of_the_calendar_are_evaluated_exactly(edge_db, where, ids):
    """These were saved, then made `seg list` and `customers show` fail for everyone (OverflowError)."""
    assert _ids(where) == ids
    r = run("create", "Edge", "--where", where)
    assert r.code == 0, r
    assert run("count", "Edge").out == f"{len(ids)}\n"
    listed = json.loads(run("list", "--json").out)
    assert listed == [
        {
            "name": "Edge",
            "count": len(ids),
            "filter": listed[0]["filter"],
            "description": None,
            "error": None,
            "change": None,  # no snapshot yet
            "trend": [],
        }
    ]
    assert run("customers", "show", "first").code == 0


def test_the_last_day_works_with_a_clock_at_the_end_of_time(edge_db):
    r = run(
        "--now", "9999-12-31T23:59:59Z", "filter", "--where", "created_at within last 1 day", "-c", "id", "-f", "csv"
    )
    assert r.code == 0 and sorted(r.out.splitlines()[1:]) == ["last", "last-day"], r


@pytest.mark.parametrize(
    ("where", "message", "caret"),
    [
        ("created_at > 0001-01-01T00:00:00+14:00", "out of range", "0001-01-01T00:00:00+14:00"),
        ("created_at = 9999-12-31T23:00:00-05:00", "out of range", "9999-12-31T23:00:00-05:00"),
        ("created_at within last 99999999999 days", "too long a duration", "99999999999 days"),
        ("created_at within last " + "9" * 5000 + " days", "too long a duration", "9" * 5000 + " days"),
        ("score = 99999999999999999999999", "out of range for a whole number", "99999999999999999999999"),
        ("score in (1, " + "9" * 5000 + ")", "out of range for a whole number", "9" * 5000),
        ("score between 1e-999 and 5", "too close to 0", "1e-999"),
    ],
)
def test_a_filter_that_cannot_be_evaluated_is_refused_pointing_at_the_part(where, message, caret):
    assert run("attributes", "define", "score", "--type", "number").code == 0
    for args in (["create", "X", "--where", where], ["filter", "--where", where]):
        r = run(*args)
        assert r.code == 2, r
        assert message in r.err and "internal error" not in r.err, r
        lines = r.err.splitlines()
        text, marks = lines[-2][2:], lines[-1][2:]
        assert text[marks.index("^") : len(marks)] == caret
    assert json.loads(run("list", "--json").out) == []


# --- more than 100 groups --------------------------------------------------------------------------


def _groups(n: int, start: int = 0) -> str:
    return " or ".join(f"name = n{i}" for i in range(start, start + n))


def test_a_filter_of_more_than_100_groups_is_refused_when_saved(tmp_path):
    """999 groups used to save, then fail with "Expression tree is too large", exit 1."""
    assert run("create", "Hundred", "--where", _groups(100)).code == 0
    for args in (
        ["create", "X", "--where", _groups(101)],
        ["create", "X", "--where", _groups(999)],
        ["filter", "--where", _groups(101)],
    ):
        r = run(*args)
        assert r.code == 2 and "more than 100 groups" in r.err, r
        text, marks = (line[2:] for line in r.err.splitlines()[-2:])
        assert text[marks.index("^") :].startswith("name = n100")  # the caret starts at group 101
    r = run("create", "X", "--where", _groups(60), "--where", _groups(60, 60))
    assert r.code == 2 and "60 are there already" in r.err, r
    r = run("edit", "Hundred", "--or-where", "name = extra")
    assert r.code == 2 and "100 are there already" in r.err, r
    yaml = "segments:\n  - name: Y\n    groups:\n" + "".join(f"      - [name = n{i}]\n" for i in range(101))
    r = run("apply", "-", stdin=yaml)
    assert r.code == 2 and "more than 100 groups" in r.err and 'segment "Y"' in r.err, r
    assert [s["name"] for s in json.loads(run("list", "--json").out)] == ["Hundred"]


# --- large filters never nest too deeply for SQLite --------------------------------------------------


def _chain_group(k: int, n: int) -> str:
    """``n`` conditions, two of them with lists of ``n`` values."""
    items = ", ".join(f"t{j}" for j in range(n - 1))
    conditions = [f"tags contains any ({items}, vip)", f"tags not contains all ({items}, vip)"]
    conditions += [f"name != z{k}-{j}" for j in range(n - 2)]
    return " and ".join(conditions)


def test_the_largest_filters_and_combinations_stay_within_sqlite_limits(tmp_path):
    """SQLite refuses an expression nested more than 1,000 deep (999 groups were a chain of 999
    ORs) and a parser stack over 100 deep, so long chains are flattened into a CASE past 64 terms.
    The deepest filters are then those of 64-term chains at every level (groups, conditions, list
    values); with 100 groups and longer lists, the CASE forms. Counted, listed, explained and
    exported together, with exclusions and --require: nothing is too deep."""
    rows = "".join(f"c{i},Name {i},{'vip' if i % 2 else 'lead'},+9689{i:07d}\n" for i in range(20))
    assert run("import", str(write(tmp_path / "c.csv", "id,name,tags,phone\n" + rows))).code == 0
    nobody = [f"name = nobody{k}" for k in range(99)]  # the depth is that of the deepest group
    deepest = " or ".join([*nobody[:63], _chain_group(0, 64)])
    widest = " or ".join(
        [*nobody, _chain_group(0, 3) + f" and tags contains any ({', '.join(f't{j}' for j in range(80))}, vip)"]
    )
    longest = _chain_group(0, 1200)  # a chain of 1,200 would be nested 1,200 deep
    for name, where in (("Deepest", deepest), ("Widest", widest), ("Longest", longest)):
        r = run("create", name, "--where", where)
        assert r.code == 0, r
        assert run("count", name).out == "10\n"  # the vip ones: nothing else leaves anybody out
    assert run("count", "Deepest", "Widest", "Longest").out == "10\n"
    assert run("count", "Deepest", "Widest", "--exclude", "Longest", "--exclude", "Deepest").out == "0\n"
    assert run("show", "Longest", "--sql").code == 0
    assert [s["count"] for s in json.loads(run("list", "--json").out)] == [10] * 3
    r = run(
        "export",
        "Deepest",
        "Widest",
        "--exclude",
        "Longest",
        "--require",
        "phone",
        "--require",
        "name",
        "-o",
        str(tmp_path / "a.csv"),
    )
    assert r.code == 0 and "wrote 0 rows" in r.err, r
    assert run("customers", "show", "c1").code == 0
    assert run("why", "Deepest", "c1").code == 0


def test_flattened_chains_mean_the_same_as_short_ones(tmp_path):
    """Past 64 terms an OR or AND becomes a CASE: it must match exactly the same customers."""
    rows = "".join(f"c{i},n{i},{'vip' if i % 3 else ''}\n" for i in range(120))
    assert run("import", str(write(tmp_path / "c.csv", "id,name,tags\n" + rows))).code == 0
    assert _ids(_groups(90)) == _ids(f"name in ({', '.join(f'n{i}' for i in range(90))})")
    long_and = " and ".join(f"name != n{i}" for i in range(80))
    assert _ids(f"tags contains vip and {long_and}") == _ids(
        f"tags contains vip and name not in ({', '.join(f'n{i}' for i in range(80))})"
    )
    many = ", ".join(f"t{i}" for i in range(80))
    assert _ids(f"tags contains any ({many}, vip)") == _ids("tags contains vip")
    assert _ids(f"tags not contains any ({many}, vip)") == _ids("tags not contains vip")
    assert _ids(f"tags contains all ({many}, vip)") == []
    assert _ids(f"tags not contains all ({many}, vip)") == _ids("name is set")


def test_a_filter_beyond_the_engines_limits_is_refused_when_saved(tmp_path, monkeypatch):
    """SQLite's limits depend on how it was built (bound parameters: 250,000 here, 32,766 in
    others). A filter beyond them is refused when saved, exit 2; segments that are fine alone but
    too large together are a usage error naming the reason, not an internal error."""
    from segcli.store.sqlite import SQLiteStore as Store

    opened = Store.open

    def small_engine(*args, **kwargs):
        store = opened(*args, **kwargs)
        store.conn.setlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER, 50)
        return store

    monkeypatch.setattr(Store, "open", classmethod(lambda cls, *a, **k: small_engine(*a, **k)))
    assert run("import", str(write(tmp_path / "c.csv", "id,name\nc1,a\n"))).code == 0
    r = run("create", "X", "--where", f"name in ({', '.join(f'v{i}' for i in range(60))})")
    assert r.code == 2 and "cannot be evaluated" in r.err and "too many SQL variables" in r.err, r
    for name, start in (("A", 0), ("B", 30)):
        values = ", ".join(f"v{i}" for i in range(start, start + 30))
        assert run("create", name, "--where", f"name in ({values})").code == 0
    r = run("count", "A", "B")
    assert r.code == 2 and "too large for SQLite" in r.err and "internal error" not in r.err, r


# --- segments saved by an older seg ---------------------------------------------------------------


def _save_as_an_older_seg_did(name: str, flt: Filter) -> None:
    conn = sqlite3.connect(db_path())
    conn.execute(
        "INSERT INTO segments (name, name_key, description, filter, model, created_at, updated_at)"
        " VALUES (?, ?, NULL, ?, ?, '2026-01-01T00:00:00Z', '2026-01-01T00:00:00Z')",
        (name, name.casefold(), flt.to_text(), flt.dumps()),
    )
    conn.commit()
    conn.close()


def test_segments_saved_before_these_checks_are_still_listed_and_shown(edge_db):
    """An older seg saved filters this one refuses. Those it can evaluate now (the ends of the
    calendar, 999 groups) count; one it cannot (a number beyond SQLite's integers) shows its error
    instead of a count, and every command still lists and shows everything, then exits 1."""
    assert run("attributes", "define", "score", "--type", "number").code == 0
    _save_as_an_older_seg_did("Huge", Filter((Group((Condition("score", "eq", (10**23,)),)),)))
    _save_as_an_older_seg_did(
        "Forever", Filter((Group((Condition("created_at", "between", ("0001-01-01", "9999-12-31")),)),))
    )
    many = [Group((Condition("id", "eq", (f"x{i}",)),)) for i in range(998)]
    _save_as_an_older_seg_did("Many", Filter((*many, Group((Condition("id", "eq", ("mid",)),)))))
    _save_as_an_older_seg_did("Broken", Filter(()))
    conn = sqlite3.connect(db_path())
    conn.execute("UPDATE segments SET model = '[[{\"oops\": 1}]]' WHERE name = 'Broken'")
    conn.commit()
    conn.close()

    r = run("list", "--json")
    assert r.code == 1, r
    listed = {s["name"]: s for s in json.loads(r.out)}
    assert listed["Forever"]["count"] == 5 and listed["Forever"]["error"] is None
    assert listed["Many"]["count"] == 1
    assert listed["Huge"]["count"] is None and "out of range for a whole number" in listed["Huge"]["error"]
    assert listed["Broken"]["count"] is None and "cannot be read" in listed["Broken"]["error"]
    assert '"Huge"' in r.err and '"Broken"' in r.err and "internal error" not in r.err
    r = run("list")
    assert r.code == 1 and "Forever" in r.out and "(error)" in r.out, r

    r = run("show", "Huge", "--json")
    assert r.code == 1, r
    shown = json.loads(r.out)
    assert shown["count"] is None and shown["groups"] == [["score = 100000000000000000000000"]]
    r = run("show", "Huge")
    assert r.code == 1 and "Huge: cannot be counted" in r.out and "seg edit" in r.err, r
    assert run("show", "Broken").code == 1
    r = run("show", "Forever", "--sql")
    assert r.code == 0 and "Forever: 5 customers" in r.out, r

    r = run("customers", "show", "mid", "--json")
    assert r.code == 1, r
    customer = json.loads(r.out)
    assert customer["segments"] == ["Forever", "Many"]
    assert [e["segment"] for e in customer["segment_errors"]] == ["Broken", "Huge"]
    r = run("customers", "show", "mid")
    assert r.code == 1 and "Forever" in r.out, r

    for args in (
        ["count", "Huge"],
        ["members", "Huge"],
        ["why", "Huge", "mid"],
        ["export", "Huge", "-o", "x.csv"],
        ["export", "Forever", "--exclude", "Huge", "-o", "x.csv"],
    ):
        r = run(*args)
        assert r.code == 1 and 'segment "Huge" cannot be evaluated' in r.err and "internal error" not in r.err, (
            args,
            r,
        )
    r = run("edit", "Huge", "--or-where", "score = 1")
    assert r.code == 2 and "cannot be evaluated" in r.err, r
    r = run("dump")
    assert r.code == 0 and "name: Broken" in r.out and "name: Huge" in r.out, r
    assert run("edit", "Huge", "--where", "score = 1").code == 0  # the way out
    assert run("delete", "Broken", "--yes").code == 0
    assert run("list").code == 0
