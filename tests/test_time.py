"""The business's time zone and calendar days (SPEC §9, §14), through the CLI: the zone in force and
where it comes from, calendar days in it, stored segments that stay relative, human output in local
time, the zone each export records, and every error with exit 2 pointing at its part."""

from __future__ import annotations

import csv
import io
import json
import os

import pytest
from conftest import query, run, snapshot, write

import segcli

pytestmark = pytest.mark.both_engines  # every test here runs on SQLite and PostgreSQL

# Customers of a shop in Oman (UTC+4): the instants are written with offsets, so they are the
# same whatever the zone in force when they are imported.
OMAN_CSV = """id,name,created_at,last_interaction_at,birthday
early,Early bird,2026-11-29T01:00:00+04:00,2026-11-28T23:30:00+04:00,1990-11-29
late,Night owl,2026-11-28T23:30:00+04:00,2026-11-22T08:00:00+04:00,1988-02-29
mid,Mid day,2026-11-29T12:00:00+04:00,,1995-12-01
none,Nobody,,,
"""


@pytest.fixture
def oman(seg_env, tmp_path):
    assert run("attributes", "define", "birthday", "--type", "date").code == 0
    r = run("import", str(write(tmp_path / "oman.csv", OMAN_CSV)))
    assert r.code == 0, r
    return tmp_path


def ids(*args: str, env: dict | None = None) -> list[str]:
    r = run(*args, "--columns", "id", "--format", "csv")
    assert r.code == 0, r
    return sorted(row["id"] for row in csv.DictReader(io.StringIO(r.out)))


def where(text: str, *globals_: str) -> list[str]:
    return ids(*globals_, "filter", "--where", text)


# --- the zone in force --------------------------------------------------------------------------


def test_the_oman_example_a_day_is_a_local_day(oman):
    """`created on 2026-11-29` in Muscat is 2026-11-28T20:00Z to 2026-11-29T20:00Z: the customer
    created at 01:00 Muscat time (21:00 UTC the day before) is in it, which UTC's day misses."""
    assert where("created_at = 2026-11-29") == ["mid"]  # UTC days: 'early' was the 28th in UTC
    assert run("config", "set", "timezone", "Asia/Muscat").code == 0
    assert where("created_at = 2026-11-29") == ["early", "mid"]
    assert where("created_at = today") == ["early", "mid"]  # now is 2026-11-29T12:00Z, 16:00 in Muscat
    assert where("created_at = yesterday") == ["late"]
    assert where("last_interaction between 7 days ago and yesterday") == ["early", "late"]


def test_tz_beats_seg_tz_which_beats_the_stored_setting(oman, monkeypatch):
    assert run("config", "set", "timezone", "Pacific/Pago_Pago").code == 0  # UTC-11: 'mid' is the 28th there
    assert where("created_at = 2026-11-29") == []
    monkeypatch.setenv("SEG_TZ", "Asia/Muscat")
    assert where("created_at = 2026-11-29") == ["early", "mid"]
    assert where("created_at = 2026-11-29", "--tz", "UTC") == ["mid"]
    assert run("create", "On the 29th", "--where", "created_at = 2026-11-29").code == 0
    assert run("--tz", "UTC", "count", "On the 29th").out == "1\n"  # the fast path reads --tz too
    assert run("count", "On the 29th").out == "2\n"
    monkeypatch.delenv("SEG_TZ")
    assert run("count", "On the 29th").out == "0\n"


@pytest.mark.parametrize(
    ("args", "env", "message"),
    [
        (["--tz", "Mars/Olympus", "count", "X"], None, '--tz: "Mars/Olympus" is not a time zone'),
        (["--tz", "Mars/Olympus", "members", "X"], None, '--tz: "Mars/Olympus" is not a time zone'),
        (["--tz=../../etc/passwd", "list"], None, "--tz: "),
        (["count", "X"], "Nowhere/Land", 'SEG_TZ: "Nowhere/Land" is not a time zone'),
        (["list"], "Nowhere/Land", 'SEG_TZ: "Nowhere/Land" is not a time zone'),
        (["list"], "", "SEG_TZ is set but empty"),
        (["config", "set", "timezone", "Mars/Olympus"], None, '"Mars/Olympus" is not a time zone'),
    ],
)
def test_an_unknown_zone_is_a_usage_error_naming_its_source(oman, monkeypatch, args, env, message):
    if env is not None:
        monkeypatch.setenv("SEG_TZ", env)
    before = snapshot()
    r = run(*args)
    assert r.code == 2 and message in r.err and "Traceback" not in r.err, r
    assert snapshot() == before


def test_week_start_decides_this_week(seg_env, tmp_path):
    # 2026-11-29 is a Sunday; 2026-11-28 a Saturday
    write(tmp_path / "w.csv", "id,created_at\nsat,2026-11-28T10:00:00Z\nsun,2026-11-29T10:00:00Z\n")
    assert run("import", str(tmp_path / "w.csv")).code == 0
    assert where("created_at during this week") == ["sat", "sun"]  # Monday 23rd to Sunday 29th
    assert run("config", "set", "week_start", "sunday").code == 0
    assert where("created_at during this week") == ["sun"]
    assert where("created_at during last week") == ["sat"]
    assert run("config", "set", "week_start", "saturday").code == 0
    assert where("created_at during this week") == ["sat", "sun"]
    r = run("config", "set", "week_start", "tuesday")
    assert r.code == 2 and json.loads(run("config", "--json").out)["week_start"] == "saturday"


def test_now_without_an_offset_is_utc_whatever_the_zone(oman):
    assert where("created_at = today", "--tz", "Asia/Muscat", "--now", "2026-11-29T20:30:00") == []  # 30 Nov there
    assert where("created_at = yesterday", "--tz", "Asia/Muscat", "--now", "2026-11-29T20:30:00") == ["early", "mid"]


# --- imports -----------------------------------------------------------------------------------


def test_naive_timestamps_are_read_in_the_zone_in_force(seg_env, tmp_path, monkeypatch):
    path = write(tmp_path / "local.csv", "id,created_at\nA,2026-11-29 08:00:00\nB,2026-11-29\nC,2026-11-29T08:00:00Z\n")

    def stored() -> dict:
        return dict(query("SELECT id, created_at FROM customers"))

    assert run("--tz", "Asia/Muscat", "import", str(path)).code == 0
    assert stored() == {"A": "2026-11-29T04:00:00Z", "B": "2026-11-28T20:00:00Z", "C": "2026-11-29T08:00:00Z"}
    assert run("config", "set", "timezone", "America/New_York").code == 0
    assert run("import", str(path)).code == 0  # the stored zone
    assert stored() == {"A": "2026-11-29T13:00:00Z", "B": "2026-11-29T05:00:00Z", "C": "2026-11-29T08:00:00Z"}
    monkeypatch.setenv("SEG_TZ", "UTC")
    assert run("import", str(path)).code == 0
    assert stored() == {"A": "2026-11-29T08:00:00Z", "B": "2026-11-29T00:00:00Z", "C": "2026-11-29T08:00:00Z"}


def test_changing_the_zone_moves_no_stored_instant(seg_env, tmp_path):
    assert run("config", "set", "timezone", "Asia/Muscat").code == 0
    assert run("import", str(write(tmp_path / "d.csv", "id,created_at\nA,2026-11-29\n"))).code == 0
    assert json.loads(run("customers", "show", "A", "--json").out)["created_at"] == "2026-11-28T20:00:00Z"
    assert run("config", "set", "timezone", "UTC").code == 0
    assert json.loads(run("customers", "show", "A", "--json").out)["created_at"] == "2026-11-28T20:00:00Z"
    assert "2026-11-28 20:00 +00:00" in run("customers", "show", "A").out
    assert where("created_at = 2026-11-29") == []  # its Muscat midnight is the 28th in UTC


# --- stored segments stay relative ----------------------------------------------------------------


def test_a_relative_segment_is_stored_relatively_and_moves_with_now(oman):
    assert run("create", "Recent", "--where", "created_at >= 1 day ago").code == 0
    assert run("count", "Recent").out == "3\n"
    assert run("--now", "2026-12-01T12:00:00Z", "count", "Recent").out == "0\n"
    shown = json.loads(run("show", "Recent", "--json").out)
    assert shown["filter"] == "created_at >= yesterday"
    model = json.loads(query("SELECT model FROM segments")[0][0])
    assert model == [[{"field": "created_at", "op": "ge", "values": [{"day": -1}]}]]
    dumped = run("dump")
    assert "created_at >= yesterday" in dumped.out
    before = snapshot()
    r = run("apply", "-", stdin=dumped.out)
    assert r.code == 0 and snapshot() == before, r


def test_parentheses_are_saved_as_groups(oman):
    r = run("create", "P", "--where", "name is set and (created_at = today or not last_interaction is set)")
    assert r.code == 0, r
    shown = json.loads(run("show", "P", "--json").out)
    assert shown["groups"] == [
        ["name is set", "created_at = today"],
        ["name is set", "last_interaction_at is not set"],
    ]
    assert shown["count"] == 2  # mid (created today, in UTC; no interaction), none (no interaction)


# --- every new form is the exact complement of its negation ------------------------------------

NEW_FORMS = [
    "created_at >= 2 days ago",
    "created_at = today",
    "last_interaction_at between 7 days ago and yesterday",
    "created_at during this week",
    "created_at during last month",
    "last_interaction_at within last 1 month",
    "last_interaction_at older than 1 year",
    "created_at within next 2 mo",
    "birthday anniversary = today",
    "birthday anniversary within next 30 days",
    "birthday anniversary during this month",
    "name starts with N",
    "(name = Nobody or created_at during this year) and not birthday is set",
]


@pytest.mark.parametrize("form", NEW_FORMS)
def test_not_is_the_exact_complement(oman, form):
    everyone = where("id is set", "--tz", "Asia/Muscat")
    matched = where(form, "--tz", "Asia/Muscat")
    unmatched = where(f"not ({form})", "--tz", "Asia/Muscat")
    assert sorted(matched + unmatched) == everyone
    assert not set(matched) & set(unmatched)


def test_anniversaries_by_local_month_and_day(oman):
    assert where("birthday anniversary = today", "--tz", "Asia/Muscat") == ["early"]
    # in UTC, a birthday imported as a Muscat date would be a day early; imported in UTC, it is not
    assert where("birthday anniversary = today") == ["early"]
    assert where("birthday anniversary within next 2 days") == ["early", "mid"]
    assert where("birthday anniversary = 2027-02-28") == ["late"]  # 29 February, in a common year
    assert where("birthday anniversary = 2028-02-28") == []
    assert where("birthday anniversary = 2028-02-29") == ["late"]


# --- human output in the zone; data in UTC -------------------------------------------------------


def test_human_output_is_local_time_with_offset_and_data_stays_utc(oman, tmp_path):
    assert run("config", "set", "timezone", "Asia/Muscat").code == 0
    table = run("filter", "--where", "id = early", "--columns", "id,created_at,birthday").out
    assert table.splitlines() == ["id\tcreated_at\tbirthday", "early\t2026-11-29 01:00 +04:00\t1990-11-29 04:00 +04:00"]
    as_csv = run("filter", "--where", "id = early", "--columns", "id,created_at", "--format", "csv").out
    assert as_csv.splitlines()[1] == "early,2026-11-28T21:00:00Z"
    as_json = json.loads(run("filter", "--where", "id = early", "-c", "id,created_at", "--format", "json").out)
    assert as_json == [{"id": "early", "created_at": "2026-11-28T21:00:00Z"}]
    shown = run("customers", "show", "early").out
    assert "2026-11-29 01:00 +04:00" in shown and "2026-11-28T21:00:00Z" not in shown
    assert json.loads(run("customers", "show", "early", "--json").out)["created_at"] == "2026-11-28T21:00:00Z"
    assert run("create", "Today", "--where", "created_at = today").code == 0
    why = run("why", "Today", "early").out
    assert "value: 2026-11-29 01:00 +04:00" in why
    # --tz moves the display too: New York was still on the 28th
    assert "2026-11-28 16:00 -05:00" in run("--tz", "America/New_York", "customers", "show", "early").out


def test_exports_and_history_record_the_zone(oman, tmp_path):
    assert run("create", "Today", "--where", "created_at = today").code == 0
    out = tmp_path / "a.csv"
    assert run("--tz", "Asia/Muscat", "export", "Today", "-o", str(out), "--include-opted-out").code == 0
    assert run("export", "Today", "-o", str(out), "--include-opted-out").code == 0
    records = json.loads(run("history", "--json").out)
    assert [r["zone"] for r in records] == ["UTC", "Asia/Muscat"]
    assert [r["count"] for r in records] == [1, 2]
    assert records[0]["options"]["week_start"] == "monday"
    assert records[0]["now"] == "2026-11-29T12:00:00Z"  # JSON stays UTC
    rows = run("--tz", "Asia/Muscat", "history").out.splitlines()
    assert rows[0].split("\t")[:3] == ["id", "exported_at", "zone"]
    assert rows[1].split("\t")[2] == "UTC" and "+04:00" in rows[1].split("\t")[1]
    with out.open(encoding="utf-8") as fh:
        assert next(csv.reader(fh))[0] == "id"


def test_a_database_with_exports_from_before_reads_them_as_utc(seg_env, tmp_path):
    assert run("import", str(write(tmp_path / "c.csv", "id\nA\n"))).code == 0
    assert run("create", "All", "--where", "id is set").code == 0
    assert run("export", "All", "-o", str(tmp_path / "o.csv")).code == 0
    query("UPDATE exports SET zone = NULL")  # as recorded before exports kept their zone
    assert json.loads(run("history", "--json").out)[0]["zone"] == "UTC"


# --- errors: exit 2, the part pointed at, nothing saved ------------------------------------------

FILTER_ERRORS = [
    ("created_at within last 8m", '"8m" is ambiguous: write 8min for minutes or 8mo for months', "8m", "^^"),
    ("created_at older than 3 M", '"3 M" is ambiguous', "3 M", "^^^"),
    ("created_at during this fortnight", 'unknown period "this fortnight"', "this fortnight", "^" * 14),
    ("created_at during summer", 'unknown period "summer"', "summer", "^" * 6),
    ("created_at not during next decade", 'unknown period "next decade"', "next decade", "^" * 11),
    ("created_at >= -3 days ago", "without a sign", "-3 days ago", "^" * 11),
    ("created_at >= 3 months ago", "a relative day counts days or weeks", "3 months ago", "^" * 12),
    ("name = in 3 days", "is a relative day, for dates", "in 3 days", "^" * 9),
    ("birthday anniversary > today", '"anniversary >" is not an operator', ">", "^"),
    ("birthday anniversary = 2026-11-29T10:00:00Z", "an anniversary is of a day", "2026", "^" * 20),
    ("birthday anniversary within next 12 hours", "counts days or weeks", "12 hours", "^" * 8),
    ("name during this month", '"during" does not apply to name', "name", None),
    ("created_at between tomorrow and yesterday", "the first bound is after the second", "created_at", None),
    ("created_at within last 0 mo", "an empty window", "0 mo", "^^^^"),
    ("(name = A or name = B", "the filter ends too soon", None, None),
    ("created_at during", "expected a period (this, last or next, then day, week", None, None),
    ("name = A and (", 'expected a condition (a field, "not" or "(")', None, None),
    ("name = A) ", 'unexpected ")"', ")", "^"),
]


@pytest.mark.parametrize(("text", "message", "part", "caret"), FILTER_ERRORS, ids=[e[0] for e in FILTER_ERRORS])
def test_filter_errors_exit_2_and_point_at_the_part(oman, text, message, part, caret):
    before = snapshot()
    for args in (["create", "Bad", "--where", text], ["filter", "--where", text]):
        r = run(*args)
        assert r.code == 2 and message in r.err and "Traceback" not in r.err, r
        lines = r.err.splitlines()
        assert lines[1] == f"  {text}"
        if part is not None:
            marks = lines[2]
            start = marks.index("^") - 2
            assert text[start:].startswith(part), r
        if caret is not None:
            assert lines[2].strip() == caret, r
    assert snapshot() == before


def _factors(n: int) -> str:
    return " and ".join(f"(name = a{i} or name = b{i})" for i in range(n))


def test_groups_are_counted_after_expansion(oman):
    hundred = "(name = a or name = b or name = c or name = d) and (ltv = 1 or ltv = 2 or ltv = 3 or ltv = 4 or ltv = 5)"
    hundred = hundred.replace("ltv", "id") + " and (id = x or id = y or id = z or id = w or id = v)"
    r = run("create", "Hundred", "--where", hundred)
    assert r.code == 0, r
    assert len(json.loads(run("show", "Hundred", "--json").out)["groups"]) == 100
    before = snapshot()
    for text in (_factors(7), _factors(40), f"not ({' or '.join(f'(name = a{i} and name = b{i})' for i in range(7))})"):
        r = run("create", "Too many", "--where", text)
        assert r.code == 2 and "more than 100 groups" in r.err and "once its parentheses are expanded" in r.err, r
        assert "^" in r.err.splitlines()[2]
    r = run("edit", "Hundred", "--or-where", "(name = q or name = r)")
    assert r.code == 2 and "100 are there already" in r.err, r
    assert snapshot() == before


def test_nesting_too_deep_is_an_error_not_a_crash(oman):
    for text in ("(" * 60 + "name = a" + ")" * 60, "not " * 60 + "name = a", "(" * 5000 + "name = a" + ")" * 5000):
        r = run("filter", "--where", text)
        assert r.code == 2 and "nested too deeply" in r.err and "Traceback" not in r.err, r


# --- the Python API ------------------------------------------------------------------------------


def test_the_api_takes_the_zone(oman, monkeypatch):
    with segcli.open(os.environ["SEG_DB"], tz="Asia/Muscat") as db:
        assert db.count_filter(db.parse("created_at = 2026-11-29")) == 2
        assert db.clock().zone_name == "Asia/Muscat"
    monkeypatch.setenv("SEG_TZ", "Pacific/Kiritimati")
    with segcli.open(os.environ["SEG_DB"]) as db:
        assert db.clock().zone_name == "Pacific/Kiritimati"
        assert db.count_filter(db.parse("created_at = 2026-11-29")) == 3  # 11:00, 09:30 and 22:00 there
    monkeypatch.delenv("SEG_TZ")
    with segcli.open(os.environ["SEG_DB"]) as db:
        db.settings.set("timezone", "Asia/Muscat")
        assert db.clock().zone_name == "Asia/Muscat"
    with pytest.raises(segcli.errors.UsageError, match="not a time zone"):
        segcli.open(os.environ["SEG_DB"], tz="Atlantis/Capital")


def test_a_day_and_an_instant_bound_a_range_in_the_zone(oman):
    """In Muscat, 29 November begins at 20:00 UTC on the 28th, so a range from that day to 22:00
    UTC on the 28th holds 'early' (21:00 UTC); a between is refused as inverted only when that does
    not depend on the zone."""
    text = "created_at between 2026-11-29 and 2026-11-28T22:00:00Z"
    assert where(text, "--tz", "Asia/Muscat") == ["early"]  # 2026-11-28T21:00Z
    assert where(text) == []  # in UTC the day begins after the instant: nothing, and no error
