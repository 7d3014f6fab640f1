"""`seg overlap`, `seg fields` and `db.sqlite_utils()` (SPEC §11), checked against plain Python."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
from conftest import NOW, ROOT, SAMPLE_CSV, independent_rows, run

import segcli

NOW_DT = datetime.fromisoformat(NOW.replace("Z", "+00:00"))

#: The example segments, read from SPEC §3 by hand.
EXAMPLES = {
    "VIP Arabic Speakers": lambda r: "vip" in r["tags"] and r["language"] == "ar",
    "Inactive 30+ Days": lambda r: r["last"] is not None and r["last"] < NOW_DT - timedelta(days=30),
    "Gold Tier in Oman": lambda r: r["tier"] == "gold" and r["country"] == "OM",
    "WhatsApp Opted-In": lambda r: r["platform"] == "whatsapp" and not r["opted_out"],
    "New This Week": lambda r: r["created"] is not None and NOW_DT - timedelta(days=7) <= r["created"] <= NOW_DT,
    "Enterprise Leads": lambda r: r["interest"] == "enterprise" and "lead" in r["tags"],
}


@pytest.mark.both_engines
def test_overlap_counts_every_pair(sample_db):
    rows = independent_rows(SAMPLE_CSV)
    members = {name: {r["id"] for r in rows if holds(r)} for name, holds in EXAMPLES.items()}
    names = list(EXAMPLES)
    r = run("overlap", *names, "--json")
    assert r.code == 0, r
    data = json.loads(r.out)
    assert data == {
        "segments": names,
        "counts": [[len(members[a] & members[b]) for b in names] for a in names],
    }
    assert all(data["counts"][i][i] > 0 for i in range(len(names)))  # not a matrix of zeros
    assert any(0 < data["counts"][i][j] < data["counts"][i][i] for i in range(6) for j in range(6))


@pytest.mark.both_engines
def test_overlap_as_a_table_shows_shares_of_the_row(sample_db):
    r = run("overlap", "vip arabic speakers", "Inactive 30+ Days")
    assert r.code == 0, r
    rows = [line.split("\t") for line in r.out.splitlines()]
    assert rows[0] == ["segment", "VIP Arabic Speakers", "Inactive 30+ Days"]
    vip, inactive = run("count", "VIP Arabic Speakers").out.strip(), run("count", "Inactive 30+ Days").out.strip()
    both = json.loads(run("overlap", "VIP Arabic Speakers", "Inactive 30+ Days", "--json").out)["counts"][0][1]
    assert rows[1] == ["VIP Arabic Speakers", f"{vip} (100%)", f"{both} ({both / int(vip):.0%})"]
    assert rows[2] == ["Inactive 30+ Days", f"{both} ({both / int(inactive):.0%})", f"{inactive} (100%)"]


@pytest.mark.both_engines
def test_overlap_errors(sample_db):
    assert run("overlap", "VIP Arabic Speakers").code == 2  # a pair at least
    r = run("overlap", "VIP Arabic Speakers", "Gold Tier")
    assert r.code == 1 and "Gold Tier in Oman" in r.err


def test_overlap_counts_in_one_pass(sample_db, monkeypatch):
    from segcli.store.sqlite import SQLiteStore

    statements = []
    original = SQLiteStore.count_many

    def counting(self, wheres, params):
        statements.append(len(wheres))
        return original(self, wheres, params)

    monkeypatch.setattr(SQLiteStore, "count_many", counting)
    monkeypatch.setattr(SQLiteStore, "count_where", lambda *a: (_ for _ in ()).throw(AssertionError("a scan")))
    assert run("overlap", *EXAMPLES).code == 0
    assert statements == [6 + 15]  # the diagonal and every pair, in one statement


@pytest.mark.both_engines
def test_fields_counts_and_top_values(sample_db):
    rows = independent_rows(SAMPLE_CSV)
    r = run("fields", "--json")
    assert r.code == 0, r
    fields = {f["name"]: f for f in json.loads(r.out)}
    assert list(fields)[:11] == [
        "id",
        "name",
        "email",
        "phone",
        "language",
        "platform",
        "country",
        "tags",
        "created_at",
        "last_interaction_at",
        "marketing_opt_out",
    ]
    assert set(fields) >= {"tier", "lifetime_value", "products", "interest"}
    for f in fields.values():
        assert set(f) == {"name", "type", "aliases", "operators", "count", "top_values"}
    assert fields["language"]["count"] == sum(r["language"] is not None for r in rows)
    assert fields["tags"]["count"] == sum(bool(r["tags"]) for r in rows)
    assert fields["last_interaction_at"]["count"] == sum(r["last"] is not None for r in rows)
    assert fields["marketing_opt_out"]["count"] == len(rows)
    assert fields["tier"]["count"] == sum(bool(r["tier"]) for r in rows)
    languages = Counter(r["language"] for r in rows if r["language"])
    assert fields["language"]["top_values"] == [
        {"value": v, "count": n} for v, n in sorted(languages.items(), key=lambda kv: (-kv[1], kv[0]))[:5]
    ]
    tags = Counter(t for r in rows for t in r["tags"])
    assert [(v["value"].casefold(), v["count"]) for v in fields["tags"]["top_values"]] == sorted(
        tags.items(), key=lambda kv: (-kv[1], kv[0])
    )[:5]
    opt = Counter(r["opted_out"] for r in rows)
    assert fields["marketing_opt_out"]["top_values"] == [
        {"value": v, "count": n} for v, n in sorted(opt.items(), key=lambda kv: -kv[1])
    ]
    days = Counter(r["created"].astimezone(UTC).date().isoformat() for r in rows if r["created"])
    top = fields["created_at"]["top_values"]
    assert all(days[v["value"]] == v["count"] for v in top) and top[0]["count"] == max(days.values())
    assert fields["id"]["top_values"] == []  # ids are unique
    assert fields["created_at"]["aliases"] == ["date_created", "created"]
    assert fields["tier"]["operators"] == ["= X", "!= X", "in (a, b)", "not in (a, b)", "is set", "is not set"]
    assert "within last N days" in fields["created_at"]["operators"]
    assert "contains any (a, b)" in fields["tags"]["operators"] and "= X" not in fields["tags"]["operators"]
    assert (fields["tier"]["type"], fields["tags"]["type"], fields["country"]["type"]) == ("enum", "array", "country")


@pytest.mark.both_engines
def test_fields_as_a_table(sample_db):
    r = run("fields")
    assert r.code == 0
    header, *lines = r.out.splitlines()
    assert header.split("\t") == ["name", "type", "aliases", "count", "top values", "operators"]
    tier = next(line.split("\t") for line in lines if line.startswith("tier\t"))
    assert tier[1] == "enum" and tier[4].startswith("bronze (") and "in (a, b)" in tier[5]


@pytest.mark.both_engines
def test_fields_needs_a_database():
    assert run("fields").code == 1


def test_sqlite_utils_for_analysts_own_tables(sample_db):
    db = segcli.open(os.environ["SEG_DB"])
    sdb = db.sqlite_utils()
    assert sdb["customers"].count == 300
    sdb["campaign_costs"].insert_all([{"country": "OM", "cost": 5}, {"country": "AE", "cost": 7}])
    rows = list(
        sdb.query(
            "SELECT k.country, count(*) AS n, k.cost FROM customers c JOIN campaign_costs k USING (country)"
            " GROUP BY k.country ORDER BY k.country"
        )
    )
    assert [(r["country"], r["cost"]) for r in rows] == [("AE", 7), ("OM", 5)] and rows[1]["n"] > 0
    db.close()
    assert run("count", "Gold Tier in Oman").code == 0  # seg is happy with a table of the analyst's


def test_sqlite_utils_stays_off_the_paths_of_count_members_and_export(sample_db, tmp_path):
    script = """
import sys
from segcli.cli import main
for argv in (["count", "Gold Tier in Oman"], ["members", "Gold Tier in Oman", "--format", "csv"],
             ["export", "Gold Tier in Oman", "-o", sys.argv[1]], ["list"]):
    sys.argv = ["seg", *argv]
    try:
        main()
    except SystemExit as exc:
        assert not exc.code, exc.code
sys.stderr.write("LOADED" if "sqlite_utils" in sys.modules else "NOT LOADED")
"""
    done = subprocess.run(
        [sys.executable, "-c", script, str(tmp_path / "a.csv")],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ},
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert done.stderr.endswith("NOT LOADED"), done.stderr
    assert (tmp_path / "a.csv").exists()


def test_overlap_on_a_terminal_is_shaded_and_shows_names_as_text(sample_db):
    from test_terminal import RAW, on_terminal

    evil = "evil[/]name\u202e[bold]"
    assert run("create", evil, "--where", "tags contains VIP").code == 0
    code, shown = on_terminal("overlap", evil, "VIP Arabic Speakers", "Gold Tier in Oman")
    assert code == 0, shown
    assert "evil[/]name\\u202e[bold]" in shown and [raw for raw in RAW if raw in shown] == []
    assert "29 (100%)" in shown and "\x1b[" in shown and ";48;" in shown  # cells have a background
