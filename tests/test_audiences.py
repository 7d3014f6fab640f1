"""Saved audiences and what changes between their exports (SPEC §10, §14), through the CLI, against
an independent reading of the data in plain Python."""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import SAMPLE_CSV, independent_rows, query, run, snapshot, write

pytestmark = pytest.mark.both_engines  # every test here runs on SQLite and PostgreSQL

COLUMNS = "id,name,phone,country"


@pytest.fixture
def shop(sample_db):
    """The sample data, three segments and a saved audience over them; returns the customers as
    plain Python reads them."""
    for name, where in (
        ("Omanis", "country = OM"),
        ("VIP", "tags contains VIP"),
        ("Instagram", "platform = instagram"),
    ):
        assert run("create", name, "-w", where).code == 0
    r = run(
        "audience", "create", "Nightly", "--segment", "Omanis", "-s", "VIP", "--exclude", "Instagram",
        "--require", "phone", "--columns", COLUMNS, "-d", "the nightly WhatsApp sync",
    )  # fmt: skip
    assert r.code == 0, r
    return {c["id"]: c for c in independent_rows(SAMPLE_CSV)}


def members(customers: dict) -> set[str]:
    """The audience "Nightly", read from the customers in Python (SPEC §5 and §10)."""
    return {
        cid
        for cid, c in customers.items()
        if (c["country"] == "OM" or "vip" in c["tags"])
        and c["platform"] != "instagram"
        and not c["opted_out"]
        and c["phone"]
    }


def rows(path: Path) -> list[dict]:
    return list(csv.DictReader(path.open(encoding="utf-8")))


def ids(path: Path) -> list[str]:
    return [r["id"] for r in rows(path)]


def test_create_list_show_and_delete(shop):
    listed = json.loads(run("audience", "list", "--json").out)
    assert listed == [
        {
            "name": "Nightly",
            "description": "the nightly WhatsApp sync",
            "segments": ["Omanis", "VIP"],
            "exclude": ["Instagram"],
            "require": ["phone"],
            "unique": None,
            "include_opted_out": False,
            "columns": ["id", "name", "phone", "country"],
            "created_at": listed[0]["created_at"],
            "updated_at": listed[0]["updated_at"],
        }
    ]
    assert "Nightly" in run("audience", "list").out
    shown = json.loads(run("audience", "show", "nightly", "--json").out)  # names ignore case
    assert shown["waterfall"][-1] == {"step": "after --require phone", "count": len(members(shop))}
    assert shown["exports"] == []
    r = run("audience", "show", "Nightly")
    assert r.code == 0 and f"{len(members(shop))} customers now" in r.out and "Instagram" in r.out, r

    for args, code, message in (
        (["audience", "create", "Nightly", "-s", "VIP"], 1, 'an audience named "Nightly" already exists'),
        (["audience", "create", "Other", "-s", "VIPs"], 1, 'no segment named "VIPs" (did you mean'),
        (["audience", "create", "Other", "-s", "VIP", "--unique", "fax"], 2, "--unique takes phone or email"),
        (["audience", "create", "Other", "-s", "VIP", "--require", "phon"], 2, 'unknown field for --require "phon"'),
        (["audience", "create", "Other", "-s", "VIP", "-c", "id,nope"], 2, 'unknown column "nope"'),
        (["audience", "create", "Other", "-s", "VIP", "-s", "vip"], 2, 'the segment "VIP" is given twice'),
        (["audience", "create", "  ", "-s", "VIP"], 2, "an audience name cannot be empty"),
        (["audience", "show", "Nighty"], 1, "no audience named \"Nighty\" (did you mean 'Nightly'?)"),
    ):
        before = snapshot()
        r = run(*args)
        assert (r.code, message in r.err) == (code, True), (args, r)
        assert snapshot() == before
    assert run("audience", "delete", "Nightly", "--yes").code == 0
    assert json.loads(run("audience", "list", "--json").out) == []
    assert run("audience", "delete", "Nightly").code == 1


def test_a_renamed_segment_keeps_its_audiences_and_a_used_one_is_not_deleted(shop, tmp_path):
    assert run("edit", "Omanis", "--rename", "Customers in Oman").code == 0
    assert json.loads(run("audience", "list", "--json").out)[0]["segments"] == ["Customers in Oman", "VIP"]
    target = tmp_path / "a.csv"
    assert run("export", "--audience", "Nightly", "-o", str(target)).code == 0
    assert sorted(ids(target)) == sorted(members(shop))

    before = snapshot()
    r = run("delete", "Customers in Oman", "VIP", "--yes")
    assert r.code == 1 and 'segment "Customers in Oman" is used by the audience "Nightly"' in r.err, r
    assert snapshot() == before  # all or nothing: VIP is not deleted either
    assert run("audience", "delete", "Nightly").code == 0
    assert run("delete", "Customers in Oman", "--yes").code == 0


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["VIP", "--audience", "Nightly"], "--audience takes only -o, --format, --raw and --changes; segment names"),
        (["--audience", "Nightly", "--exclude", "VIP"], "--exclude come from the saved audience"),
        (["--audience", "Nightly", "--unique", "phone"], "--unique come from the saved audience"),
        (["--audience", "Nightly", "--include-opted-out"], "--include-opted-out come from"),
        (["--audience", "Nightly", "-c", "id"], "--columns come from"),
        (["--audience", "Nightly", "--require", "email"], "--require come from"),
        (["VIP", "--changes"], "--changes needs --audience NAME"),
    ],
)
def test_an_audience_export_takes_only_output_options(shop, tmp_path, args, message):
    before = snapshot()
    r = run("export", *args, "-o", str(tmp_path / "a.csv"))
    assert r.code == 2 and message in r.err, r
    assert snapshot() == before and not (tmp_path / "a.csv").exists()


def test_changes_to_stdout_are_a_usage_error(shop):
    before = snapshot()
    r = run("export", "--audience", "Nightly", "--changes", "-o", "-")
    assert r.code == 2 and "give -o FILE, not -o -" in r.err and r.out == "", r
    assert snapshot() == before


def test_change_files_are_checked_before_any_work(shop, tmp_path):
    """SPEC §13: a change file that would be a folder (or the database) is refused, exit 2, before
    anything is written or recorded; the export's own file included."""
    (tmp_path / "a.added.csv").mkdir()
    before = snapshot()
    r = run("export", "--audience", "Nightly", "-o", str(tmp_path / "a.csv"), "--changes")
    assert r.code == 2 and "a.added.csv: it is a folder" in r.err, r
    assert snapshot() == before and sorted(p.name for p in tmp_path.iterdir() if p.name.startswith("a.")) == [
        "a.added.csv"
    ]
    r = run("export", "--audience", "Nightly", "-o", str(tmp_path / "x"), "--changes")
    assert r.code == 0, r
    assert (tmp_path / "x.added").exists() and (tmp_path / "x.removed").exists()  # no extension: .added, .removed


def _import(tmp_path: Path, name: str, text: str) -> None:
    r = run("import", str(write(tmp_path / name, text)))
    assert r.code == 0, r


def test_added_removed_and_unchanged_after_data_changes_and_opt_outs(shop, tmp_path):
    target = tmp_path / "audience.csv"
    added_file, removed_file = tmp_path / "audience.added.csv", tmp_path / "audience.removed.csv"
    before = members(shop)
    r = run("export", "--audience", "Nightly", "-o", str(target), "--changes", "--json")
    assert r.code == 0, r
    # The first export: everyone is added, nobody removed.
    assert ids(target) == sorted(before) and ids(added_file) == sorted(before)
    assert added_file.read_bytes() == target.read_bytes() and rows(removed_file) == []
    assert removed_file.read_text(encoding="utf-8") == COLUMNS + "\n"
    result = json.loads(r.out)
    assert result["changes"] == {"added": len(before), "removed": 0, "unchanged": 0}
    assert [w["step"] for w in result["waterfall"]][-4:] == ["written", "added", "removed", "unchanged"]
    assert "added" in r.err and "unchanged" in r.err  # the waterfall on stderr ends with them

    # Change the data: an opt-out, a move to Instagram, a phone cleared, an opt-in, a new Omani,
    # and a customer deleted by another program.
    in_audience = sorted(before)
    opted_out, to_instagram, no_phone, deleted = in_audience[:4]
    opted_in = sorted(
        cid
        for cid, c in shop.items()
        if c["opted_out"] and c["country"] == "OM" and c["phone"] and c["platform"] != "instagram"
    )[0]
    _import(tmp_path, "optout.csv", f"id,marketing_opt_out\n{opted_out},yes\n{opted_in},no\n")
    _import(tmp_path, "moves.csv", f"id,platform\n{to_instagram},Instagram\n")
    _import(tmp_path, "phone.csv", f"id,phone\n{no_phone},\n")
    _import(tmp_path, "new.csv", "id,name,phone,country,platform\nN001,New Omani,+96891230000,OM,whatsapp\n")
    query("DELETE FROM customers WHERE id = ?", (deleted,))  # another program: plain SQL, no seg
    shop[opted_out]["opted_out"] = True
    shop[opted_in]["opted_out"] = False
    shop[to_instagram]["platform"] = "instagram"
    shop[no_phone]["phone"] = None
    shop["N001"] = {"country": "OM", "tags": set(), "platform": "whatsapp", "opted_out": False, "phone": "+96891230000"}
    del shop[deleted]
    after = members(shop)
    assert after - before == {opted_in, "N001"} and before - after == {opted_out, to_instagram, no_phone, deleted}

    # seg audience diff says what an export would change, without exporting.
    diff = json.loads(run("audience", "diff", "Nightly", "--json").out)
    assert diff == {
        "added": sorted(after - before),
        "removed": sorted(before - after),
        "unchanged": len(before & after),
    }
    r = run("audience", "diff", "Nightly")
    assert r.out.splitlines() == [f"+ {i}" for i in sorted(after - before)] + [f"- {i}" for i in sorted(before - after)]
    assert f"2 added, 4 removed, {len(before & after)} unchanged" in r.err

    r = run("export", "--audience", "Nightly", "-o", str(target), "--changes", "--json")
    assert r.code == 0, r
    assert ids(target) == sorted(after)
    assert ids(added_file) == sorted(after - before)
    assert ids(removed_file) == sorted(before - after)
    removed = {row["id"]: row for row in rows(removed_file)}
    # A removed customer who still exists is written as they are now; one who no longer exists keeps its id.
    assert removed[no_phone]["phone"] == "" and removed[no_phone]["name"]
    assert removed[to_instagram]["name"] and removed[to_instagram]["country"]
    assert removed[deleted] == {"id": deleted, "name": "", "phone": "", "country": ""}
    assert json.loads(r.out)["changes"] == {"added": 2, "removed": 4, "unchanged": len(before & after)}

    # The history records the changes; an export with no change since adds and removes nobody.
    history = json.loads(run("history", "--json").out)
    assert [h["changes"] for h in history] == [
        {"added": 2, "removed": 4, "unchanged": len(before & after)},
        {"added": len(before), "removed": 0, "unchanged": 0},
    ]
    assert history[0]["audience"] == "Nightly" and "+2 -4" in run("history").out
    assert run("export", "--audience", "Nightly", "-o", str(target), "--changes").code == 0
    assert rows(added_file) == [] and rows(removed_file) == []
    assert json.loads(run("audience", "diff", "Nightly", "--json").out) == {
        "added": [],
        "removed": [],
        "unchanged": len(after),
    }
    # A plain export of the same segments is not an export of the audience: it records no changes.
    assert (
        run("export", "Omanis", "VIP", "-x", "Instagram", "--require", "phone", "-o", str(tmp_path / "p.csv")).code == 0
    )
    assert json.loads(run("history", "--json", "--limit", "1").out)[0]["changes"] is None


def test_every_export_of_an_audience_keeps_its_membership_and_jsonl_changes_too(shop, tmp_path):
    """Without --changes the membership is still kept: the next --changes compares with it. JSONL
    change files sit beside a JSONL export."""
    assert run("export", "--audience", "Nightly", "-o", "-").code == 0  # stdout: recorded too
    _import(tmp_path, "new.csv", "id,name,phone,country\nN001,New Omani,+96891230000,OM\n")
    target = tmp_path / "sync.jsonl"
    r = run("export", "--audience", "Nightly", "-o", str(target), "--format", "jsonl", "--changes")
    assert r.code == 0, r
    added = [json.loads(line) for line in (tmp_path / "sync.added.jsonl").read_text(encoding="utf-8").splitlines()]
    assert added == [{"id": "N001", "name": "New Omani", "phone": "+96891230000", "country": "OM"}]
    assert (tmp_path / "sync.removed.jsonl").read_text(encoding="utf-8") == ""


def test_retention_keeps_the_newest_memberships(shop, tmp_path):
    assert run("config", "set", "audience_keep", "2").code == 0
    target = tmp_path / "a.csv"
    for n in range(4):
        _import(tmp_path, f"n{n}.csv", f"id,phone,country\nN00{n},+9689123000{n},OM\n")
        assert run("export", "--audience", "Nightly", "-o", str(target)).code == 0
    exports = json.loads(run("audience", "show", "Nightly", "--json").out)["exports"]
    assert [e["membership_kept"] for e in exports] == [True, True, False, False]  # newest first
    kept = {r[0] for r in query("SELECT DISTINCT export_pk FROM audience_memberships")}
    assert kept == {exports[0]["id"], exports[1]["id"]}
    # The diff compares with the newest: N003 was in it.
    assert json.loads(run("audience", "diff", "Nightly", "--json").out)["added"] == []
    r = run("config", "set", "audience_keep", "0")
    assert r.code == 2, r


def test_unique_keeps_the_lowest_id_and_drops_numbers_held_by_opted_out_customers(tmp_path):
    """--unique phone|email (SPEC §10, §14): one row per number, the lowest id in code-point order,
    customers with no value all kept, and a number any opted-out customer holds never written."""
    people = [
        # id, phone, email, opted out
        ("b2", "+96891000001", "Sara@Example.com", False),
        ("a9", "+96891000001", "sara@example.com", False),  # same number as b2: a9 < b2 wins
        ("B1", "+96891000001", "other@example.com", False),  # "B1" < "a9" in code-point order
        ("c1", "+96891000002", "c@example.com", False),
        ("c2", "+96891000002", None, True),  # opted out: +96891000002 is never written
        ("d1", None, "d@example.com", False),  # no phone: kept
        ("d2", None, "D@EXAMPLE.COM", False),  # no phone: kept
        ("e1", "+96891000003", "e@example.com", False),
        ("x0", "+96891000004", None, True),  # opted out, and alone with its number
    ]
    body = "".join(f"{i},{p or ''},{e or ''},{'yes' if o else 'no'}\n" for i, p, e, o in people)
    assert run("import", str(write(tmp_path / "p.csv", "id,phone,email,opt_out\n" + body))).code == 0
    assert run("create", "All", "-w", "id is set").code == 0
    opted_phones = {p for _, p, _, o in people if o and p}
    opted_emails = {e.casefold() for _, _, e, o in people if o and e}

    def expected(key: int, include_opted_out: bool) -> list[str]:
        kept, seen = [], set()
        for person in sorted(people, key=lambda p: p[0]):  # str order is code-point order
            value = person[key].casefold() if person[key] else None
            if person[3] and not include_opted_out:
                continue
            if value is None:
                kept.append(person[0])
            elif value not in seen:
                seen.add(value)
                if include_opted_out or value not in (opted_phones if key == 1 else opted_emails):
                    kept.append(person[0])
        return sorted(kept)

    for field, key in (("phone", 1), ("email", 2)):
        for include in (False, True):
            target = tmp_path / f"{field}{include}.csv"
            args = ["export", "All", "--unique", field, "-o", str(target), "-c", "id", "--json"]
            r = run(*args, *(["--include-opted-out"] if include else []))
            assert r.code == 0, r
            assert ids(target) == expected(key, include), (field, include)
            waterfall = json.loads(r.out)["waterfall"]
            assert waterfall[-2] == {"step": f"after --unique {field}", "count": len(expected(key, include))}
    assert expected(1, False) == ["B1", "d1", "d2", "e1"]  # the case the SPEC is about
    # A saved audience keeps --unique, and a count in the waterfall per step.
    assert run("audience", "create", "WA", "-s", "All", "--unique", "phone").code == 0
    r = run("export", "--audience", "WA", "-o", str(tmp_path / "wa.csv"))
    assert r.code == 0 and ids(tmp_path / "wa.csv") == ["B1", "d1", "d2", "e1"] and "after --unique phone" in r.err, r


def test_yaml_audiences_apply_dump_and_prune_within_the_sections_present(shop, tmp_path):
    doc = write(
        tmp_path / "a.yaml",
        """segments:
  - name: Omanis
    where: country = OM
  - name: VIP
    where: tags contains VIP
  - name: Instagram
    where: platform = instagram
audiences:
  - name: Nightly
    description: the nightly WhatsApp sync
    segments: [Omanis, VIP]
    exclude: [Instagram]
    require: [phone]
    columns: [id, name, phone, country]
  - name: Emails
    segments: [VIP]
    unique: email
    include_opted_out: true
""",
    )
    r = run("apply", str(doc))
    assert r.code == 0 and r.out.splitlines() == ["+ audience Emails: VIP"], r
    dumped = run("dump").out
    assert "audiences:" in dumped and "unique: email" in dumped and "include_opted_out: true" in dumped
    r = run("apply", "-", stdin=dumped)  # seg dump | seg apply - changes nothing
    assert r.code == 0 and r.out == "" and "0 changes" in r.err, r

    # A file without audiences: prunes no audience; one without segments: prunes no segment.
    segments_only = write(tmp_path / "s.yaml", doc.read_text(encoding="utf-8").split("audiences:")[0])
    assert run("apply", str(segments_only), "--prune").code == 0
    assert len(json.loads(run("audience", "list", "--json").out)) == 2
    r = run(
        "apply",
        "-",
        "--prune",
        stdin="audiences:\n  - name: Emails\n    segments: [VIP]\n    unique: email\n    include_opted_out: true\n",
    )
    assert r.code == 0 and r.out.splitlines() == ["- audience Nightly"], r
    assert [s["name"] for s in json.loads(run("list", "--json").out)] != []

    # Pruning a segment that a remaining audience uses is refused, naming it; nothing changes.
    before = snapshot()
    r = run("apply", "-", "--prune", stdin="segments:\n  - name: Omanis\n    where: country = OM\n")
    assert r.code == 1 and 'segment "VIP" is used by the audience "Emails"' in r.err, r
    assert snapshot() == before

    for text, message in (
        ("audiences:\n  - name: X\n    segments: [Nope]\n", 'a.yaml:2: audience "X": no segment named "Nope"'),
        ("audiences:\n  - name: X\n    segments: [VIP]\n    unique: fax\n", "--unique takes phone or email"),
        ("audiences:\n  - name: X\n    segment: [VIP]\n", 'unknown key "segment" in an audience'),
        ("audiences:\n  - name: X\n", 'audience "X" needs segments'),
        ("audiences:\n  - name: X\n    segments: [VIP]\n    include_opted_out: maybe\n", "true or false"),
    ):
        r = run("apply", str(write(tmp_path / "a.yaml", text)))
        assert r.code == 2 and message in r.err, (text, r)
        assert snapshot() == before


@pytest.mark.slow
@pytest.mark.parametrize("point", ["before-rename", "after-rename-1", "after-rename-2", "after-rename-3"])
def test_a_killed_export_with_changes_loses_no_change(shop, tmp_path, point):
    """kill -9 during an export with --changes (SPEC §14): each file is the earlier one, byte for
    byte, or the complete new one; nothing is recorded, so the next export repeats the changes."""
    target = tmp_path / "audience.csv"
    paths = [target, tmp_path / "audience.added.csv", tmp_path / "audience.removed.csv"]
    assert run("export", "--audience", "Nightly", "-o", str(target), "--changes").code == 0
    earlier = [p.read_bytes() for p in paths]
    gone = sorted(members(shop))[0]
    _import(tmp_path, "change.csv", f"id,name,phone,country,opt_out\nN001,New,+96891230000,OM,no\n{gone},,,,yes\n")
    before = snapshot()
    command = ["export", "--audience", "Nightly", "-o", str(target), "--changes"]
    proc = subprocess.run(
        [sys.executable, "-c", "from segcli.cli import main; main()", *command],
        capture_output=True,
        env={**os.environ, "SEG_FAULT": f"export:{point}"},
    )
    assert proc.returncode == -signal.SIGKILL, proc.stderr
    renamed = 0 if point == "before-rename" else int(point[-1])
    expected_ids = [sorted(members(shop) - {gone} | {"N001"}), ["N001"], [gone]]
    for n, path in enumerate(paths):
        if n < renamed:
            assert ids(path) == expected_ids[n]  # complete: the rename is atomic
        else:
            assert path.read_bytes() == earlier[n]  # the earlier file, byte for byte
    assert snapshot() == before  # nothing recorded: neither the export nor its membership
    r = run("export", "--audience", "Nightly", "-o", str(target), "--changes", "--json")
    assert r.code == 0, r
    assert [ids(p) for p in paths] == expected_ids  # the changes are repeated, not lost
    assert json.loads(r.out)["changes"]["added"] == 1
