"""`seg views` (SPEC §11, §14): one SQL view per segment, equal to `seg members` (zone UTC, no
months or anniversaries), kept in step with create, edit, delete and apply, readable by plain
sqlite3 and by Datasette; on PostgreSQL, plain views in the database's schema, read by psql's SQL."""

from __future__ import annotations

import asyncio
import json
import os
import sqlite3
from datetime import UTC, datetime, timedelta

import pytest
from conftest import EXAMPLE_YAML, is_postgres, query, run, write

pytestmark = pytest.mark.both_engines  # every test here runs on SQLite and PostgreSQL

#: Filters that together use every operator, negations, quotes in values, lists, and dates both
#: fixed and relative to now.
FILTERS = [
    "tags contains VIP and language = Arabic",
    "last_interaction older than 30 days",
    "created_at within last 7 days",
    "last_interaction within last 36 hours or tier is not set",
    "name contains \"O'Brien\" or name starts with 'al ' or name ends with ' khan'",
    "email not contains example and phone is set",
    "country in (OM, AE, SA) and platform != whatsapp",
    "country not in (OM) and tags not contains any (VIP, lead)",
    "tags contains all (VIP, lead) or products contains any (dates, perfume)",
    "lifetime_value between 100 and 500.5 or lifetime_value < -1",
    "lifetime_value in (0, 42) or lifetime_value >= 1000",
    "newsletter is true and opt_out = false",
    "last_purchase before 2026-01-01 or last_purchase = 2026-03-28",
    "created_at after 2026-11-01T00:00:00+04:00 and created_at <= 2026-11-25",
    "city = muscat or city != doha and interest = enterprise",
    'name = "Ann\'s" or tags contains "it\'s" or name = "x\'; DROP VIEW customer_tags; --"',
    # calendar days, periods, future windows, anniversaries, parentheses and not (SPEC §9), in UTC
    "created_at >= 3 days ago or last_interaction between 20 days ago and yesterday",
    "created_at during this week or last_interaction_at during last month",
    "not (created_at during this month) and last_interaction_at not during this quarter",
    "created_at = today or created_at < in 2 days and tier = gold or last_interaction within next 1 day",
    "created_at anniversary within next 10 days or last_purchase anniversary during this quarter",
    "(tier = gold or tier = silver) and not created_at after 5 days ago",
]


def _customers(now: datetime) -> str:
    """Customers whose dates sit hours away from every edge the filters draw from the clock."""
    lines = [
        "id,name,email,phone,language,platform,country,tags,created_at,last_interaction_at,marketing_opt_out,"
        "tier,interest,lifetime_value,last_purchase,newsletter,products,city"
    ]
    names = ["Sean O'Brien", "Al Harthy", "Imran Khan", "Ann's", "Ünal", "", "AL SAID"]
    tags = ['"VIP,lead"', "VIP", '"lead,it\'s"', "", "vip", '"b2b,VIP"']
    for i in range(60):
        created = now - timedelta(days=i % 12, hours=5)
        last = "" if i % 9 == 0 else (now - timedelta(days=(i * 7) % 45, hours=3)).strftime("%Y-%m-%dT%H:%M:%SZ")
        lines.append(
            ",".join(
                [
                    f"C{i:03d}",
                    names[i % len(names)],
                    ["a@example.com", "b@shop.om", ""][i % 3],
                    ["+96891234567", ""][i % 2],
                    ["ar", "en", "ar-OM", ""][i % 4],
                    ["whatsapp", "instagram", "webchat"][i % 3],
                    ["OM", "AE", "SA", "KW", ""][i % 5],
                    tags[i % len(tags)],
                    created.strftime("%Y-%m-%dT%H:%M:%SZ"),
                    last,
                    ["false", "true", ""][i % 3],
                    ["gold", "silver", "bronze", ""][i % 4],
                    ["Enterprise", "SMB", ""][i % 3],
                    ["150", "42", "-5", "1000", "", "500.5", "0"][i % 7],
                    ["2025-12-31", "2026-03-28", "", "2026-06-01"][i % 4],
                    ["true", "false", ""][i % 3],
                    ['"dates,perfume"', "coffee", ""][i % 3],
                    ["Muscat", "Doha", ""][i % 3],
                ]
            )
        )
    return "\n".join(lines) + "\n"


@pytest.fixture
def clocked(tmp_path, monkeypatch):
    """The example attributes and the customers above, with seg's now set to the real clock: a
    view reads the database's clock, so `seg members` must be asked at the same time."""
    now = datetime.now(UTC).replace(microsecond=0)
    monkeypatch.setenv("SEG_NOW", now.strftime("%Y-%m-%dT%H:%M:%SZ"))
    assert run("apply", str(EXAMPLE_YAML)).code == 0
    assert run("import", str(write(tmp_path / "c.csv", _customers(now)))).code == 0, "import"
    for i, where in enumerate(FILTERS):
        r = run("create", f"Filter {i}", "--where", where)
        assert r.code == 0, r
    return now


def members(name: str) -> list[str]:
    r = run("members", name, "--columns", "id", "--format", "csv")
    assert r.code == 0, r
    return r.out.split()[1:]


def view_ids(view: str) -> list[str]:
    """The ids in a view, through a plain connection: no function of seg's."""
    return [r[0] for r in query(f'SELECT id FROM "{view}" ORDER BY id')]


def view_names() -> set[str]:
    """Every view in the database (its schema, on PostgreSQL) but seg's customer_tags."""
    if is_postgres():
        rows = query("SELECT viewname FROM pg_views WHERE schemaname = current_schema()")
    else:
        rows = query("SELECT name FROM sqlite_master WHERE type = 'view'")
    return {r[0] for r in rows} - {"customer_tags"}


def test_each_view_equals_seg_members(clocked):
    r = run("views", "--json")
    assert r.code == 0, r
    made = json.loads(r.out)
    assert len(made) == 6 + len(FILTERS)
    nonempty = 0
    for v in made:
        ids = members(v["segment"])
        assert view_ids(v["view"]) == ids, v
        nonempty += bool(ids) and len(ids) < 60
    assert nonempty >= len(made) - 2  # the views are compared on something
    notes = {v["segment"]: v["notes"] for v in made}
    assert notes["Inactive 30+ Days"] == ["relative dates: the database's clock when read, in UTC"]
    assert notes["Gold Tier in Oman"] == []


@pytest.mark.sqlite_only
def test_datasette_reads_a_segments_view(clocked):
    from datasette.app import Datasette  # the test extra installs it

    run("views")
    path = os.environ["SEG_DB"]

    async def read() -> list[dict]:
        ds = Datasette([path])
        await ds.invoke_startup()
        database = os.path.splitext(os.path.basename(path))[0]
        response = await ds.client.get(f"/{database}/segment_vip_arabic_speakers.json?_shape=array&_size=max")
        assert response.status_code == 200, response.text
        return response.json()

    rows = asyncio.run(read())
    assert sorted(r["id"] for r in rows) == members("VIP Arabic Speakers") != []
    assert {"id", "name", "tags", "tier", "lifetime_value"} <= set(rows[0])  # fields and attributes by name


def test_views_are_kept_in_step_with_every_change(clocked, tmp_path):
    run("views")
    views = view_names
    query("CREATE VIEW segment_mine AS SELECT 1 AS one")  # an analyst's own view is left alone
    assert run("create", "Big spenders", "--where", "lifetime_value > 100").code == 0
    assert "segment_big_spenders" in views()
    assert view_ids("segment_big_spenders") == members("Big spenders") != []
    assert run("edit", "Big spenders", "--where", "lifetime_value > 999").code == 0
    assert view_ids("segment_big_spenders") == members("Big spenders")
    assert run("edit", "Big spenders", "--rename", "Whales").code == 0
    assert "segment_big_spenders" not in views() and "segment_whales" in views()
    assert run("delete", "Whales", "--yes").code == 0
    assert "segment_whales" not in views()
    path = write(tmp_path / "s.yaml", "segments:\n  - name: Omanis\n    where: country = OM\n")
    assert run("apply", str(path), "--prune").code == 0
    assert views() == {"segment_omanis", "segment_mine"}
    assert view_ids("segment_omanis") == members("Omanis")
    # an enum that was text: the column its view compared goes, and the view follows
    assert run("create", "Doha", "--where", "city = Doha").code == 0
    assert run("attributes", "define", "city", "--type", "enum", "--values", "Muscat,Doha").code == 0
    assert view_ids("segment_doha") == members("Doha") != []
    # --off drops seg's views and stops keeping them
    assert run("views", "--off").code == 0
    assert views() == {"segment_mine"}
    assert run("create", "Later", "--where", "country = AE").code == 0
    assert views() == {"segment_mine"}


def test_view_names_are_slugs_and_clashes_are_numbered(seg_env):
    for name, where in [
        ("VIP!", "tags contains VIP"),
        ("vip?", "tags contains vip"),
        ("  Inactive 30+ Days ", "last_interaction older than 30 days"),
        ("عملاء مميزون", "tags contains VIP"),
        ("!!!", "country = OM"),
    ]:
        assert run("create", name, "--where", where).code == 0
    made = {v["segment"]: v["view"] for v in json.loads(run("views", "--json").out)}
    assert made == {
        "VIP!": "segment_vip",
        "vip?": "segment_vip_2",
        "Inactive 30+ Days": "segment_inactive_30_days",
        "عملاء مميزون": "segment_عملاء_مميزون",
        "!!!": "segment_unnamed",
    }
    assert view_ids("segment_عملاء_مميزون") == []
    r = run("views")
    assert r.out.splitlines()[0].split("\t") == ["view", "segment", "notes"] and "5 views" in r.err


class _Clocked:
    """A connection of the test's engine on which a dialect's SQL reads a given clock instead of
    the engine's own (``'now'`` in SQLite, ``now()`` in PostgreSQL), with ``?`` parameters."""

    def __init__(self, engine: str) -> None:
        from segcli.dialects import DIALECTS

        self.engine = engine
        self.dialect = DIALECTS[engine]
        if engine == "postgresql":
            from conftest import pg_connect

            self.conn, schema = pg_connect()
            self.conn.execute(f'CREATE SCHEMA "{schema}"')  # the test's own: seg has not written yet
            self.conn.execute("CREATE TABLE customers (created_at TEXT)")
        else:
            self.conn = sqlite3.connect(":memory:")
            self.conn.execute("CREATE TABLE customers (created_at TEXT)")

    def at(self, sql: str, now: str) -> str:
        if self.engine == "postgresql":
            return sql.replace("now()", f"timestamptz '{now}+00'")
        return sql.replace("'now'", f"'{now}'")

    def rows(self, sql: str, params: dict | None = None) -> list[tuple]:
        if self.engine == "postgresql":
            return [tuple(r) for r in self.conn.execute(sql, params).fetchall()]
        return self.conn.execute(sql, params or {}).fetchall()

    def insert(self, values: list[str]) -> None:
        if self.engine == "postgresql":
            with self.conn.cursor() as cur:
                cur.executemany("INSERT INTO customers VALUES (%s)", [(v,) for v in values])
        else:
            self.conn.executemany("INSERT INTO customers VALUES (?)", [(v,) for v in values])


@pytest.mark.parametrize("week_start", ["monday", "sunday", "saturday"])
def test_a_views_boundaries_are_seg_own_in_utc(week_start, engine):
    """Each time boundary a view computes from the engine's clock (``Dialect.moment``) is the instant
    seg computes for the same clock in UTC (``timeutil.resolve``): days, weeks from each
    week_start, months, quarters, years, at month, quarter and year ends, a Sunday, 29 February.
    (Months as a duration are the exception that views say they are, on SQLite.)"""
    from segcli.timeutil import Clock, DayStart, Period, PeriodStart, RelativeDay, Shifted, resolve

    clocked = _Clocked(engine)
    dialect, conn = clocked.dialect, clocked.conn
    boundaries = [Shifted(seconds=-86400), Shifted(seconds=7200), Shifted()]
    boundaries += [DayStart(RelativeDay(n), extra) for n in (-30, -1, 0, 2) for extra in (0, 1)]
    boundaries += [
        PeriodStart(Period(unit, offset), shift)
        for unit in ("day", "week", "month", "quarter", "year")
        for offset in (-1, 0, 1)
        for shift in (0, 1)
    ]
    for now in (
        "2026-11-29 12:00:00",
        "2026-03-31 23:59:59",
        "2026-12-31 00:00:00",
        "2028-02-29 06:00:00",
        "2026-07-01 00:00:00",
        "2027-01-04 10:00:00",
        "2026-11-28 01:00:00",
    ):
        clock = Clock(datetime.fromisoformat(now).replace(tzinfo=UTC), UTC, week_start)
        for b in boundaries:
            sql = clocked.at(dialect.moment(b, week_start), now)
            assert clocked.rows(f"SELECT {sql}")[0][0] == resolve(b, clock), (now, b)
        if engine == "postgresql":  # months as a duration clamp to the month's end there, as seg's do
            for months in (-1, 1, -13):
                sql = clocked.at(dialect.moment(Shifted(months=months), week_start), now)
                assert clocked.rows(f"SELECT {sql}")[0][0] == resolve(Shifted(months=months), clock), (now, months)
    conn.close()


def test_a_views_anniversaries_are_seg_own_in_utc(engine):
    """An anniversary in a view (its window computed by the engine from its clock) holds the same
    days as seg's for the same clock in UTC: every day of a common and a leap year, windows across
    the year's end and 29 February."""
    from segcli.compile import compile_audience, compile_view
    from segcli.fields import FieldRegistry
    from segcli.parse import parse_filter
    from segcli.timeutil import Clock

    clocked = _Clocked(engine)
    conn = clocked.conn
    days = [datetime(2023, 1, 1, 10, tzinfo=UTC) + timedelta(days=i) for i in range(731)]
    clocked.insert([d.strftime("%Y-%m-%dT%H:%M:%SZ") for d in days])
    registry = FieldRegistry()
    forms = ["= today", "= yesterday", "within next 40 days", "within next 1 day", "within next 400 days"]
    forms += [f"during {w} {u}" for w in ("last", "this", "next") for u in ("day", "week", "month", "quarter", "year")]
    for now in ("2026-12-20 12:00:00", "2027-02-27 00:00:00", "2028-02-28 23:00:00", "2027-02-28 08:00:00"):
        clock = Clock(datetime.fromisoformat(now).replace(tzinfo=UTC), UTC, "sunday")
        for form in forms:
            flt = parse_filter(f"created_at anniversary {form}", registry)
            view = clocked.at(compile_view(registry, clock, flt, clocked.dialect).sql, now)
            seg = compile_audience(registry, clock, [flt], dialect=clocked.dialect)
            query = "SELECT created_at FROM customers c WHERE {} ORDER BY 1"
            assert clocked.rows(query.format(view)) == clocked.rows(query.format(seg.sql), seg.params), (now, form)
    conn.close()


def test_a_view_says_how_it_differs_from_seg_members(seg_env):
    """SPEC §11, §14: a view reads relative dates from the database's clock in UTC; it says so,
    and says when its months, anniversaries or calendar days cannot be seg's."""
    assert run("config", "set", "timezone", "Asia/Muscat").code == 0
    for name, where in [
        ("Fixed", "country = OM"),
        ("Window", "last_interaction within last 7 days"),
        ("Months", "last_interaction within last 2 months"),
        ("Birthdays", "created_at anniversary during this month"),
        ("On a day", "created_at = 2026-11-29"),
    ]:
        assert run("create", name, "--where", where).code == 0
    notes = {v["segment"]: v["notes"] for v in json.loads(run("views", "--json").out)}
    clock = "relative dates: the database's clock when read, in UTC"
    days = "calendar days: UTC days, not Asia/Muscat's"
    assert notes == {
        "Fixed": [],
        "Window": [clock],
        "Months": [clock, "months and years: SQLite's arithmetic (31 March minus a month is 3 March)", days],
        "Birthdays": [clock, "anniversaries: by the UTC date", days],
        "On a day": [days],
    }
    for view in ("segment_fixed", "segment_window", "segment_months", "segment_birthdays", "segment_on_a_day"):
        view_ids(view)  # a plain connection reads each: no function of seg's in any
