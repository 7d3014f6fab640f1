"""Counts over time and counting many segments at once (SPEC §10): `seg snapshot`, `seg list` with the
change since the latest snapshot and a sparkline, `seg show --history`, counts reused only while
provably current, and `seg list`'s counts equal to `seg count`'s however they are made."""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime, timedelta

import pytest
from conftest import SAMPLE_CSV, db_path, independent_rows, query, run, write
from test_terminal import on_terminal

pytestmark = pytest.mark.both_engines  # every test here runs on SQLite and PostgreSQL, unless marked

DAYS = ["2026-11-20T00:00:00Z", "2026-11-25T00:00:00Z", "2026-11-29T12:00:00Z"]


def listed(*args: str) -> dict[str, dict]:
    r = run(*args, "list", "--json")
    assert r.code == 0, r
    return {s["name"]: s for s in json.loads(r.out)}


def test_snapshots_give_list_its_change_and_sparkline_and_show_its_history(sample_db):
    counts = []
    for day in DAYS:
        r = run("--now", day, "snapshot", "--json")
        assert r.code == 0, r
        taken = json.loads(r.out)
        assert taken["taken_at"] == day
        counts.append({c["name"]: c["count"] for c in taken["counts"]})
        assert counts[-1] == {name: s["count"] for name, s in listed("--now", day).items()}
    # Later, more customers arrive: the change is the count now minus the latest snapshot's.
    body = "id,created_at,last_interaction_at\nN1,2026-12-01,2026-12-01\nN2,2026-12-01,2026-10-01\n"
    assert run("import", str(write(sample_db / "n.csv", body))).code == 0
    later = "2026-12-02T00:00:00Z"
    now = {name: s["count"] for name, s in listed("--now", later).items()}
    start, end = datetime(2026, 11, 25, tzinfo=UTC), datetime(2026, 12, 2, tzinfo=UTC)
    fresh = sum(1 for c in independent_rows(SAMPLE_CSV) if c["created"] and start <= c["created"] <= end)
    assert now["New This Week"] == fresh + 2  # N1 and N2 too
    r = run("--now", later, "list")
    assert r.code == 0, r
    lines = {line.split("\t")[0]: line.split("\t") for line in r.out.splitlines()}
    assert lines["name"] == ["name", "count", "change", "trend", "filter", "description"]
    new = lines["New This Week"]
    expected_change = now["New This Week"] - counts[-1]["New This Week"]
    assert new[1] == str(now["New This Week"]) and new[2] == (
        f"+{expected_change}" if expected_change > 0 else str(expected_change)
    )
    assert len(new[3]) == 3 and set(new[3]) <= set("▁▂▃▄▅▆▇█")  # one block per snapshot
    series = [c["New This Week"] for c in counts]
    assert new[3][series.index(max(series))] == "█" and new[3][series.index(min(series))] == "▁"
    # Snapshots after `now` are not the past of that moment.
    early = {line.split("\t")[0]: line.split("\t") for line in run("--now", DAYS[0], "list").out.splitlines()}
    assert len(early["New This Week"][3]) == 1 and early["New This Week"][2] == "0"

    r = run("show", "New This Week", "--history", "--json")
    assert r.code == 0, r
    shown = json.loads(r.out)
    assert shown["history"] == [{"at": d, "count": c["New This Week"]} for d, c in zip(DAYS, counts, strict=True)]
    local = ["2026-11-20 00:00 +00:00", "2026-11-25 00:00 +00:00", "2026-11-29 12:00 +00:00"]  # human output
    assert run("show", "New This Week", "--history").out.splitlines()[1:] == [
        f"{d}\t{c['New This Week']}" for d, c in zip(local, counts, strict=True)
    ]
    # A renamed segment keeps its history (by identity); a deleted one takes it along.
    assert run("edit", "New This Week", "--rename", "Fresh").code == 0
    assert len(json.loads(run("show", "Fresh", "--history", "--json").out)["history"]) == 3
    assert run("delete", "Fresh", "--yes").code == 0
    assert query("SELECT count(*) FROM segment_counts") == [(3 * 5,)]


def test_list_json_gives_each_change_and_the_trend_of_the_last_30_snapshots(sample_db):
    """SPEC §10: seg list shows each count's change and a sparkline of the last 30 snapshots;
    --json gives them as ``change`` and ``trend`` (the counts, oldest first), beside the old keys."""
    customers = independent_rows(SAMPLE_CSV)
    days = [datetime(2026, 10, 20, 12, tzinfo=UTC) + timedelta(days=i) for i in range(33)]

    def new_this_week(at: datetime) -> int:
        return sum(1 for c in customers if c["created"] and at - timedelta(days=7) <= c["created"] <= at)

    for day in days:
        assert run("--now", day.strftime("%Y-%m-%dT%H:%M:%SZ"), "snapshot").code == 0
    assert run("create", "Unrecorded", "--where", "tier = gold").code == 0  # after every snapshot
    later = days[-1] + timedelta(days=1)
    r = run("--now", later.strftime("%Y-%m-%dT%H:%M:%SZ"), "list", "--json")
    assert r.code == 0, r
    items = {s["name"]: s for s in json.loads(r.out)}
    new = items["New This Week"]
    assert list(new) == ["name", "count", "filter", "description", "error", "change", "trend"]
    assert new["trend"] == [new_this_week(d) for d in days[-30:]]
    assert len(set(new["trend"])) > 1  # the counts move, so the order is checked
    assert new["count"] == new_this_week(later) and new["change"] == new["count"] - new_this_week(days[-1])
    assert items["Unrecorded"]["change"] is None and items["Unrecorded"]["trend"] == []


def test_a_snapshot_at_the_same_instant_replaces_the_earlier(sample_db):
    assert run("snapshot").code == 0
    assert run("import", str(write(sample_db / "n.csv", "id,created_at\nN1,2026-11-29\n"))).code == 0
    assert run("snapshot").code == 0
    history = json.loads(run("show", "New This Week", "--history", "--json").out)["history"]
    assert history == [{"at": "2026-11-29T12:00:00Z", "count": listed()["New This Week"]["count"]}]


def test_show_history_draws_a_chart_on_a_terminal(sample_db):
    name = "Evil [/] \u202e name"
    assert run("create", name, "-w", "tags contains VIP").code == 0
    assert run("snapshot").code == 0
    code, shown = on_terminal("show", name, "--history")
    assert code == 0, shown
    assert "┤" in shown and "└" in shown and "█" in shown and "2026-11-29 12:00 +00:00" in shown
    assert "\u202e" not in shown and "Evil [/] \\u202e name" in shown  # escaped, markup shown as text
    code, shown = on_terminal("show", "Gold Tier in Oman", "--history")
    assert code == 0 and "1 snapshot" in shown, shown


def test_show_history_writes_instants_in_the_zone_with_the_offset(sample_db):
    """Human output writes instants as local time with the offset (SPEC §9), the chart's labels
    and the piped lines alike; --json stays UTC."""
    for at in ("2026-11-20T00:00:00Z", "2026-11-29T04:00:00Z"):
        assert run("--now", at, "snapshot").code == 0
    counts = [p["count"] for p in json.loads(run("show", "New This Week", "--history", "--json").out)["history"]]
    piped = run("--tz", "Asia/Muscat", "show", "New This Week", "--history")
    assert piped.code == 0, piped
    assert piped.out.splitlines() == [
        "at\tcount",
        f"2026-11-20 04:00 +04:00\t{counts[0]}",
        f"2026-11-29 08:00 +04:00\t{counts[1]}",
    ]
    code, drawn = on_terminal("--tz", "Asia/Muscat", "show", "New This Week", "--history")
    assert code == 0 and "2026-11-20 04:00 +04:00" in drawn and "2026-11-29 08:00 +04:00" in drawn, drawn
    assert "Z" not in drawn.split("└")[1]
    as_json = json.loads(run("--tz", "Asia/Muscat", "show", "New This Week", "--history", "--json").out)
    assert [p["at"] for p in as_json["history"]] == ["2026-11-20T00:00:00Z", "2026-11-29T04:00:00Z"]


def test_list_counts_are_fresh_after_any_write_by_any_program(sample_db, engine):
    """Counts are reused only at the same data version and time boundaries (SPEC §10, §14): a
    write by another program changes the version (triggers), and a later `now` the boundaries."""
    from segcli.store.postgres import PostgresStore
    from segcli.store.sqlite import SQLiteStore

    store_class = PostgresStore if engine == "postgresql" else SQLiteStore
    calls: list[int] = []
    count_many = store_class.count_many

    def counting(self, wheres, params):
        calls.append(len(wheres))
        return count_many(self, wheres, params)

    first = listed()
    store_class.count_many = counting
    try:
        assert listed() == first and calls == []  # nothing changed: every count reused
        # another program: plain SQL, no seg
        omani = query("SELECT id FROM customers WHERE country = 'OM' AND attr_tier = 'gold'")[0][0]
        query("UPDATE customers SET country = 'AE' WHERE id = ?", (omani,))
        second = listed()
        assert second["Gold Tier in Oman"]["count"] == first["Gold Tier in Oman"]["count"] - 1
        assert calls == [6]
        query("DELETE FROM customers WHERE id = ?", (omani,))
        query(
            "INSERT INTO customers (pk, id, id_fold, country, attr_tier)"
            " SELECT max(pk) + 1, 'X1', 'x1', 'OM', 'gold' FROM customers"
        )
        assert listed()["Gold Tier in Oman"]["count"] == first["Gold Tier in Oman"]["count"]
        assert calls == [6, 6]
        # seg's own import changes the version too, with its triggers suspended.
        assert run("import", str(write(sample_db / "x.csv", "id,tier,country\nX2,gold,OM\n"))).code == 0
        assert listed()["Gold Tier in Oman"]["count"] == first["Gold Tier in Oman"]["count"] + 1
        assert calls == [6, 6, 6]
        # Another `now`, other boundaries: the relative-date segments are counted again, not the others.
        later = listed("--now", "2026-12-20T00:00:00Z")
        assert later["New This Week"]["count"] == 0 and calls == [6, 6, 6, 2]
    finally:
        store_class.count_many = count_many
    if engine == "sqlite":
        triggers = query("SELECT name FROM sqlite_master WHERE type = 'trigger' ORDER BY name")
        assert triggers == [
            ("customers_version_delete",),
            ("customers_version_insert",),
            ("customers_version_update",),
        ]  # back after seg's import


SEGMENTS = {
    "Arabic VIP or gold on WhatsApp": "tags contains any (VIP, loyalty) and language = Arabic or tier = gold and platform = WhatsApp",
    "Not Omani": "country != OM",
    "Spenders": "lifetime_value > 500 and country in (OM, AE)",
    "Recent": "created_at within last 30 days",
    "Old": "last_interaction older than 60 days",
    "Quiet or new": "last_interaction is not set or created_at within last 7 days",
    "Named A": "name starts with A and city is not set",
    "Gmail": "email ends with gmail.com",
    "No tags": "tags is not set",
    "Recent again": "created_at within last 30 days",
    "Sign-up anniversary": "created_at anniversary within next 30 days",  # each row's local day: seg_local_day
}


def test_list_counts_equal_single_counts_and_python(sample_db, monkeypatch):
    """However they are counted (one scan, an index alone; on SQLite also cut into ranges over
    several connections, below), the counts of `seg list` are those of `seg count` and of plain
    Python."""
    _list_counts_equal_single_counts_and_python(monkeypatch)


@pytest.mark.sqlite_only
def test_list_counts_in_ranges_over_several_connections_are_the_same(sample_db, monkeypatch):
    from segcli.store import sqlite_counts

    # the sample is small: cut it into ranges all the same, over three connections
    monkeypatch.setattr(sqlite_counts, "PARALLEL_MIN_ROWS", 0)
    monkeypatch.setattr(sqlite_counts, "workers", lambda: 3)
    _list_counts_equal_single_counts_and_python(monkeypatch)


def _list_counts_equal_single_counts_and_python(monkeypatch) -> None:
    monkeypatch.setenv("SEG_TZ", "Asia/Muscat")  # local days: each row's, on every connection
    for name, where in SEGMENTS.items():
        assert run("create", name, "-w", where).code == 0, name
    counts = {name: s["count"] for name, s in listed().items()}
    for name in counts:
        assert counts[name] == int(run("count", name).out), name
    rows = independent_rows(SAMPLE_CSV)
    assert counts["Not Omani"] == sum(1 for c in rows if c["country"] != "OM")
    assert counts["No tags"] == sum(1 for c in rows if not c["tags"])
    assert counts["Recent"] == counts["Recent again"] > 0
    assert counts["Spenders"] > 0 and counts["Arabic VIP or gold on WhatsApp"] > 0


@pytest.mark.sqlite_only
def test_parallel_counts_fall_back_when_the_data_changed_between_connections(sample_db, monkeypatch):
    """The connections that share a scan must read the caller's data: when another write lands
    between, the caller's connection counts alone, never a mix of two states."""
    from segcli.store import sqlite_counts
    from segcli.store.sqlite import SQLiteStore

    monkeypatch.setattr(sqlite_counts, "PARALLEL_MIN_ROWS", 0)
    monkeypatch.setattr(sqlite_counts, "workers", lambda: 2)
    assert run("create", "Everyone", "-w", "id is set").code == 0
    expected = {name: s["count"] for name, s in listed().items()}
    conn = sqlite3.connect(db_path())
    conn.execute("DELETE FROM count_cache")
    conn.commit()
    conn.close()
    reader = SQLiteStore.reader

    def late_reader(self):
        # Another program deletes a customer after the caller began reading, before this reader does.
        other = sqlite3.connect(db_path())
        other.execute("DELETE FROM customers WHERE pk = (SELECT max(pk) FROM customers)")
        other.commit()
        other.close()
        return reader(self)

    monkeypatch.setattr(SQLiteStore, "reader", late_reader)
    assert {name: s["count"] for name, s in listed().items()} == expected  # the caller's state, whole
    monkeypatch.setattr(SQLiteStore, "reader", reader)
    assert listed()["Everyone"]["count"] == expected["Everyone"] - 1  # and the next list sees the delete
