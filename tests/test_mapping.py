"""`seg import` of files shaped like other systems' exports (SPEC §8, §14): headers mapped by
the auto synonyms, profiles and --map, consent, values in real-world forms, every problem of a
row, the --dry-run preview, delimiters and encodings."""

from __future__ import annotations

import csv
import json
import os

import pytest
from conftest import db_path, query, run, snapshot, write

import segcli


def customer(cid: str) -> dict:
    c = segcli.open().customer(cid)
    return {**c, **c["attributes"]}


def imported(path, *options) -> str:
    r = run("import", str(path), *options)
    assert r.code == 0, r
    return r.err


# --- headers ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("header", "field", "cell", "stored"),
    [
        ("Customer ID", "id", "c1", "c1"),
        ("Contact ID", "id", "c1", "c1"),
        ("Record ID", "id", "c1", "c1"),
        ("Email Address", "email", "a@x.om", "a@x.om"),
        ("E-mail", "email", "a@x.om", "a@x.om"),
        ("Phone Number", "phone", "+968 9123 4567", "+96891234567"),
        ("Mobile", "phone", "+968 9123 4567", "+96891234567"),
        ("WhatsApp Number", "phone", "96891234567", "+96891234567"),
        ("Country Code", "country", "om", "OM"),
        ("Country/Region", "country", "Oman", "OM"),
        ("Channel", "platform", "Web Chat", "webchat"),
        ("Source channel", "platform", "FB Messenger", "messenger"),
        ("Preferred language", "language", "العربية", "ar"),
        ("Locale", "language", "ar-OM", "ar"),
        ("Created At", "created_at", "2026-01-13 09:09:32 UTC", "2026-01-13T09:09:32Z"),
        ("Create Date", "created_at", "2026-01-13", "2026-01-13T00:00:00Z"),
        ("Signup date", "created_at", "2026-01-13", "2026-01-13T00:00:00Z"),
        ("Last Seen", "last_interaction_at", "2026-01-13 09:09", "2026-01-13T09:09:00Z"),
        ("Last Activity", "last_interaction_at", "2026-01-13", "2026-01-13T00:00:00Z"),
        ("Last Interaction", "last_interaction_at", "2026-01-13", "2026-01-13T00:00:00Z"),
        ("CREATED-AT", "created_at", "2026-01-13", "2026-01-13T00:00:00Z"),  # case, spaces, - and _ ignored
        ("Unsubscribed", "marketing_opt_out", "true", True),
        ("Opted Out", "marketing_opt_out", "yes", True),
        ("Opted In", "marketing_opt_out", "TRUE", False),
        ("Subscribed", "marketing_opt_out", "no", True),
        ("Accepts Marketing", "marketing_opt_out", "yes", False),
    ],
)
def test_auto_maps_the_synonyms_of_real_exports(tmp_path, header, field, cell, stored):
    has_id = field != "id"
    text = ("id," if has_id else "") + f'"{header}"\n' + ("c1," if has_id else "") + f'"{cell}"\n'
    imported(write(tmp_path / "a.csv", text))
    assert customer("c1")[field] == stored
    assert segcli.open().attributes.list() == []  # no attribute made of it


def test_first_and_last_name_are_joined_and_created_at_is_the_field(tmp_path):
    # The issue's Shopify-like file: Created At became an attribute and created_at stayed empty.
    path = write(tmp_path / "a.csv", "Customer ID,First Name,Last Name,Created At\nc1,Ann,Lee,2026-01-13\nc2,,Bo,\n")
    imported(path)
    assert customer("c1")["name"] == "Ann Lee" and customer("c2")["name"] == "Bo"
    assert run("filter", "-w", "created_at is set", "-f", "csv", "-c", "id").out == "id\nc1\n"


@pytest.mark.both_engines
def test_a_header_that_names_a_stored_attribute_keeps_going_there(tmp_path):
    assert run("attributes", "define", "Created At", "--type", "text").code == 0
    err = imported(write(tmp_path / "a.csv", "id,Created At\nc1,yesterday\n"))
    assert 'Created At: kept for the existing attribute "Created At", not read as created_at' in err
    c = customer("c1")
    assert c["Created At"] == "yesterday" and c["created_at"] is None


def test_phone_and_mobile_give_the_first_non_empty_in_header_order(tmp_path):
    path = write(tmp_path / "a.csv", "id,Mobile,Phone\nc1,,+96891234567\nc2,+96891234568,+96891234569\n")
    imported(path)
    assert customer("c1")["phone"] == "+96891234567" and customer("c2")["phone"] == "+96891234568"


@pytest.mark.both_engines
def test_any_header_is_an_attribute_named_as_written(tmp_path):
    path = write(tmp_path / "a.csv", 'id,Lifetime Value (OMR),"Country/Region",Tier ★\nc1,12.5,Oman,gold\n')
    imported(path)
    c = customer("c1")
    assert c["Lifetime Value (OMR)"] == 12.5 and c["Tier ★"] == "gold" and c["country"] == "OM"
    for where in ('"Lifetime Value (OMR)" > 10', "lifetime_value_omr > 10", '"Tier ★" = gold', "tier = GOLD"):
        assert run("filter", "-w", where, "-f", "csv", "-c", "id").out == "id\nc1\n", where
    assert sorted(r[0] for r in query("SELECT column_name FROM attributes")) == [
        "attr_lifetime_value_omr",
        "attr_tier",
    ]


@pytest.mark.both_engines
def test_two_headers_with_one_slug_are_an_error(tmp_path):
    before = snapshot()
    r = run("import", str(write(tmp_path / "a.csv", "id,Lifetime Value (OMR),lifetime value omr\n1,2,3\n")))
    assert r.code == 1 and "are the same attribute (lifetime_value_omr)" in r.err
    assert snapshot() == before


def test_a_chatwoot_hash_fills_an_empty_column_and_a_different_value_is_a_problem(tmp_path):
    header = "id,name,country_code,custom_attributes,additional_attributes\n"
    path = write(
        tmp_path / "contacts.csv",
        header + 'c1,Ann,,{},"{""country_code"" => ""AE"", ""city"" => ""Dubai""}"\n'
        'c2,Bo,OM,{},"{""country_code"" => ""om""}"\n'  # the same code, spelled in lower case
        'c3,Cy,,"{""tier"" => ""gold""}",{}\n',
    )
    imported(path, "--profile", "chatwoot")
    assert customer("c1")["country_code"] == "AE" and customer("c1")["city"] == "Dubai"
    assert customer("c2")["country_code"] == "OM"
    # Only the hashes hold the attribute: it is created from them.
    path = write(tmp_path / "b.csv", header + 'c4,Di,,"{""vip"" => true}",{}\n')
    imported(path, "--profile", "chatwoot")
    assert customer("c4")["vip"] is True
    # Two values for one attribute: the row is invalid, both named, nothing chosen.
    before = snapshot()
    path = write(
        tmp_path / "c.csv",
        header + 'c5,Ed,US,{},"{""country_code"" => ""AE""}"\n'
        'c6,Fa,,"{""tier"" => ""gold""}","{""tier"" => ""silver""}"\n',
    )
    r = run("import", str(path), "--profile", "chatwoot")
    assert r.code == 1, r
    assert 'c.csv:2:5: country_code: the column country_code says "US" but additional_attributes says "AE"' in r.err, (
        r.err
    )
    assert 'c.csv:3:5: tier: the hash custom_attributes says "gold" but additional_attributes says "silver"' in r.err
    assert snapshot() == before
    r = run("import", str(path), "--profile", "chatwoot", "--skip-invalid")
    assert r.code == 0 and "2 rejected" in r.err


def test_map_and_skip(tmp_path):
    path = write(tmp_path / "a.csv", "Ref,Lang,Agent,Score\nc1,عربي,Huda,7\n")
    imported(path, "--map", "Ref=id", "--map", "Lang=language", "--map", "Score=points", "--skip", "Agent")
    c = customer("c1")
    assert c["language"] == "ar" and c["points"] == 7 and "Agent" not in c and "Score" not in c
    r = run("import", str(path), "--map", "Ref")
    assert r.code == 2 and "'HEADER=FIELD'" in r.err


# --- consent (SPEC §8, §14: conservative) ------------------------------------------------------


def test_an_opt_in_column_that_is_empty_or_false_opts_out(tmp_path):
    imported(write(tmp_path / "a.csv", "id,Opted In\nyes1,TRUE\nno1,FALSE\nnone1,\n"))
    assert [customer(c)["marketing_opt_out"] for c in ("yes1", "no1", "none1")] == [False, True, True]


@pytest.mark.both_engines
def test_an_import_opts_back_in_only_through_an_explicit_cell(tmp_path):
    imported(write(tmp_path / "a.csv", "id,opt_out\nc1,yes\nc2,yes\nc3,yes\nc4,yes\n"))
    imported(write(tmp_path / "b.csv", "id,name\nc1,Ann\n"))  # an absent column
    imported(write(tmp_path / "c.csv", "id,opt_out\nc2,\n"))  # an empty cell
    imported(write(tmp_path / "d.csv", "id,opt_out\nc3,no\n"))  # an explicit no: opted back in
    imported(write(tmp_path / "e.csv", "id,Opted In\nc4,yes\n"))  # an explicit opt-in
    assert [customer(c)["marketing_opt_out"] for c in ("c1", "c2", "c3", "c4")] == [True, True, False, False]
    imported(write(tmp_path / "f.csv", "id,Unsubscribed\nc3,TRUE\n"))  # an opt-out at any time
    assert customer("c3")["marketing_opt_out"] is True


def test_shopify_consent_is_accepts_sms_marketing(tmp_path):
    path = write(
        tmp_path / "s.csv",
        "Customer ID,Email,Accepts Email Marketing,Phone,Accepts SMS Marketing\n"
        "'1,a@x.om,yes,'+96891234567,no\n'2,b@x.om,no,'+96891234568,yes\n",
    )
    imported(path, "--profile", "shopify")
    one, two = customer("1"), customer("2")
    assert (one["marketing_opt_out"], one["Accepts Email Marketing"]) == (True, True)  # email consent: an attribute
    assert (two["marketing_opt_out"], two["phone"]) == (False, "+96891234568")


def test_the_issue_vips_who_never_agreed_are_not_exported(tmp_path):
    """The issue's worst case: a tool's Opted In = FALSE stayed an attribute and seg export sent
    to people who never agreed."""
    rows = "".join(f"v{i},+9689123{i:04d},{'TRUE' if i % 3 == 0 else 'FALSE'},VIP\n" for i in range(59))
    imported(write(tmp_path / "t.csv", "Contact ID,WhatsApp Number,Opted In,Tags\n" + rows))
    assert run("create", "VIPs", "-w", "tags contains VIP").code == 0
    r = run("export", "VIPs", "-o", str(tmp_path / "out.csv"))
    assert r.code == 0
    assert len(list(csv.DictReader((tmp_path / "out.csv").open(encoding="utf-8")))) == 20


# --- values -------------------------------------------------------------------------------------


def test_values_in_real_world_forms(tmp_path):
    path = write(
        tmp_path / "a.csv",
        "id,language,country,platform,created_at,score\n"
        "c1,العربية,عُمان,Web Chat,2026-01-13 09:09:32 UTC,١٢٫٥\n"
        "c2,Arabisch,Sultanate of Oman,Facebook Messenger,18/11/2026 21:53,３\n"
        "c3,English - United States,Omán,IG,٢٠٢٦-٠١-١٣,4\n",
    )
    imported(path)
    c1, c2, c3 = customer("c1"), customer("c2"), customer("c3")
    assert (c1["language"], c1["country"], c1["platform"], c1["created_at"]) == (
        "ar",
        "OM",
        "webchat",
        "2026-01-13T09:09:32Z",
    )
    assert (c2["language"], c2["country"], c2["platform"]) == ("ar", "OM", "messenger")
    assert c2["created_at"] == "2026-11-18T21:53:00Z"  # 18 can only be a day
    assert (c3["language"], c3["country"], c3["platform"], c3["created_at"]) == (
        "en",
        "OM",
        "instagram",
        "2026-01-13T00:00:00Z",
    )
    assert [c1["score"], c2["score"], c3["score"]] == [12.5, 3, 4]


def test_a_slashed_date_that_could_be_either_order_names_the_options(tmp_path):
    path = write(tmp_path / "a.csv", "id,created_at\nc1,03/04/2026\n")
    r = run("import", str(path))
    assert r.code == 1 and "could be 3 April or 4 March" in r.err and "--dayfirst or --monthfirst" in r.err
    imported(path, "--dayfirst")
    assert customer("c1")["created_at"] == "2026-04-03T00:00:00Z"
    imported(path, "--monthfirst")
    assert customer("c1")["created_at"] == "2026-03-04T00:00:00Z"
    assert run("import", str(path), "--dayfirst", "--monthfirst").code == 2


def test_a_given_order_is_obeyed_even_when_a_part_is_over_12(tmp_path):
    path = write(tmp_path / "a.csv", "id,created_at,seen\nc1,13/04/2026,13/04/2026\nc2,04/13/2026,04/13/2026\n")
    r = run("import", str(path), "--monthfirst")
    assert r.code == 1 and not os.path.exists(db_path())
    assert 'a.csv:2:2: created_at: "13/04/2026" is not a date when read month first' in r.err, r.err
    assert "there is no month 13" in r.err
    # A new attribute's column is a date column all the same: its value is the invalid one, not the column.
    assert 'a.csv:2:3: seen: "13/04/2026" is not a date when read month first' in r.err
    assert "a.csv:3:" not in r.err
    r = run("import", str(path), "--dayfirst")
    assert r.code == 1 and 'a.csv:3:2: created_at: "04/13/2026" is not a date when read day first' in r.err, r.err
    assert "a.csv:2:" not in r.err
    profile = write(tmp_path / "p.yaml", "profile: us-tool\ndayfirst: false\n")  # a profile gives the order too
    r = run("import", str(path), "--profile", str(profile))
    assert r.code == 1 and 'a.csv:2:2: created_at: "13/04/2026" is not a date when read month first' in r.err
    # Without an order given, a value that shows it is read so (as before).
    imported(write(tmp_path / "b.csv", "id,created_at\nc3,13/04/2026\nc4,04/13/2026\n"))
    assert customer("c3")["created_at"] == customer("c4")["created_at"] == "2026-04-13T00:00:00Z"


def test_naive_times_are_read_in_the_stored_zone_and_a_profile_zone_wins(tmp_path):
    run("config", "set", "timezone", "Asia/Muscat")
    imported(write(tmp_path / "a.csv", "id,created_at\nc1,2026-01-13 09:00\nc2,2026-01-13 09:00 UTC\n"))
    assert customer("c1")["created_at"] == "2026-01-13T05:00:00Z"  # Muscat is UTC+4
    assert customer("c2")["created_at"] == "2026-01-13T09:00:00Z"  # UTC is never moved
    profile = write(tmp_path / "p.yaml", "profile: utc-tool\ntimezone: UTC\n")
    imported(write(tmp_path / "b.csv", "id,created_at\nc3,2026-01-13 09:00\n"), "--profile", str(profile))
    assert customer("c3")["created_at"] == "2026-01-13T09:00:00Z"


def test_inference_uses_the_value_forms_and_keeps_codes_as_text(tmp_path):
    path = write(
        tmp_path / "a.csv",
        "id,zip,card,visit,when,either\n"
        "c1,01234,1234567890123456,13/02/2026,2026-01-13 09:09:32 UTC,13/02/2026\n"
        "c2,99,1,01/03/2026,,02/13/2026\n",
    )
    err = imported(path)
    types = {a["name"]: a["type"] for a in segcli.open().attributes.list()}
    assert types == {"zip": "text", "card": "text", "visit": "date", "when": "date", "either": "text"}
    assert customer("c2")["visit"] == "2026-03-01T00:00:00Z"  # the column is day first: 13/02 says so
    assert customer("c2")["either"] == "02/13/2026"  # 13/02 and 02/13: no one order, so text
    assert "new attribute zip: text" in err


# --- problems -----------------------------------------------------------------------------------


def test_every_problem_of_a_row_is_reported_and_rejected_together(tmp_path):
    path = write(tmp_path / "a.csv", "id,language,phone,created_at\nc1,Klingonish,12,2026-13-45\nc2,ar,,\n")
    r = run("import", str(path))
    assert r.code == 1
    for problem in (":2:2: language:", ":2:3: phone:", ":2:4: created_at:"):
        assert problem in r.err, problem
    r = run("import", str(path), "--skip-invalid")
    assert r.code == 0
    rejected = list(csv.DictReader((tmp_path / "a.csv.rejects.csv").open(encoding="utf-8")))
    assert len(rejected) == 1
    problems = rejected[0]["_error"].split("; ")
    assert [p.split(":")[0] for p in problems] == ["language", "phone", "created_at"]


def test_problems_past_twenty_lines_are_summarized_by_kind(tmp_path):
    rows = "".join(f"c{i},Klingonish,+96891234567\n" for i in range(201)) + "c9999,ar,12\n"
    r = run("import", str(write(tmp_path / "a.csv", "id,language,phone\n" + rows)))
    assert r.code == 1
    assert (
        'language: "Klingonish" is not a known language (use an ISO 639-1 code like ar, or a name like Arabic)' in r.err
    )
    assert "— 201 rows, first at line 2" in r.err
    assert 'phone: "12" is not a phone number — 1 row, first at line 203' in r.err
    assert r.err.count("Klingonish") == 20 + 1  # the first 20 lines, then one line for the kind


# --- the preview, and what a failure leaves ------------------------------------------------------


def test_dry_run_previews_the_mapping_and_creates_no_database(tmp_path):
    path = write(
        tmp_path / "a.csv",
        "Customer ID,First Name,Last Name,Phone Number,Lifetime Value (OMR),Agent\nc1,Ann,Lee,+968 9123 4567,12.5,Huda\n",
    )
    r = run("import", str(path), "--dry-run", "--skip", "Agent")
    assert r.code == 0, r
    lines = r.out.splitlines()
    assert lines[1].split() == ["Customer", "ID", "->", "id", "[c1]"]
    assert "First Name" in lines[2] and "-> name (joined: First Name + Last Name)" in lines[2] and "[Ann]" in lines[2]
    assert "-> phone" in lines[4] and "[+968 9123 4567]" in lines[4]
    assert "-> new attribute Lifetime Value (OMR) (number)" in lines[5]
    assert "Agent" in lines[6] and "-> skipped" in lines[6]
    assert "fields nothing maps to: email, language, platform, country, tags, created_at, last" in r.out
    assert "dry run, nothing written" in r.err and "1 created" in r.err
    assert not os.path.exists(db_path()) and os.listdir(tmp_path) == ["a.csv"]


def test_a_failed_import_creates_no_database_file(tmp_path):
    r = run("import", str(write(tmp_path / "a.csv", "id,language\nc1,Klingonish\n")))
    assert r.code == 1 and not os.path.exists(db_path()) and os.listdir(tmp_path) == ["a.csv"]
    r = run("import", str(write(tmp_path / "b.csv", "name\nAnn\n")))
    assert r.code == 1 and "no id column" in r.err and not os.path.exists(db_path())


@pytest.mark.both_engines
def test_dry_run_on_a_database_changes_nothing(tmp_path):
    imported(write(tmp_path / "a.csv", "id,name\nc1,Ann\n"))
    before = snapshot()
    r = run("import", str(write(tmp_path / "b.csv", "id,name,tier\nc1,Bo,gold\n")), "--dry-run", "--json")
    assert r.code == 0 and json.loads(r.out)["mapping"][2] == {
        "header": "tier",
        "became": "new attribute tier (text)",
        "samples": ["gold"],
    }
    assert snapshot() == before


# --- delimiters and encodings -------------------------------------------------------------------


def test_delimiters_are_sniffed(tmp_path):
    imported(write(tmp_path / "a.csv", "id;name;phone\nc1;Ann;+96891234567\n"))
    imported(write(tmp_path / "b.csv", "id\tname\nc2\tBo\n"))
    imported(write(tmp_path / "c.csv", 'id|name\nc3|"Cy|rus"\n'))
    assert [customer(c)["name"] for c in ("c1", "c2", "c3")] == ["Ann", "Bo", "Cy|rus"]
    r = run("import", str(tmp_path / "a.csv"), "--delimiter", ",")
    assert r.code == 1 and "no id column" in r.err and "--delimiter ';'" in r.err
    assert run("import", str(tmp_path / "a.csv"), "--delimiter", "x").code == 2


def test_utf16_is_detected_and_windows_1256_or_latin1_read_when_asked(tmp_path):
    imported(write(tmp_path / "a.csv", "\ufeffid\tname\nc1\tسالم\n".encode("utf-16-le")))
    imported(write(tmp_path / "b.csv", "\ufeffid,name\nc2,فاطمة\n".encode("utf-16-be")))
    assert customer("c1")["name"] == "سالم" and customer("c2")["name"] == "فاطمة"
    arabic = write(tmp_path / "c.csv", "id,name\nc3,مريم\n".encode("cp1256"))
    r = run("import", str(arabic))
    assert r.code == 1 and "--encoding cp1256" in r.err
    imported(arabic, "--encoding", "cp1256")
    imported(write(tmp_path / "d.csv", "id,name\nc4,Chloé\n".encode("latin-1")), "--encoding", "latin-1")
    assert customer("c3")["name"] == "مريم" and customer("c4")["name"] == "Chloé"


# --- the Python API -----------------------------------------------------------------------------


@pytest.mark.both_engines
def test_import_rows_takes_dicts_through_a_profile(tmp_path):
    from datetime import date

    db = segcli.open()
    rows = (
        {
            "Customer ID": f"'{i}",
            "First Name": "Ann",
            "Phone": "'+96891234567" if i == 1 else None,
            "Since": date(2026, 1, i),
        }
        for i in (1, 2)
    )
    summary = db.import_rows(rows, profile="shopify")
    assert summary.created == 2 and summary.path == "rows"
    c = customer("1")
    assert (c["name"], c["phone"], c["Since"]) == ("Ann", "+96891234567", "2026-01-01T00:00:00Z")
    with pytest.raises(segcli.errors.ImportFailed) as failed:
        db.import_rows([{"id": "x", "language": "Klingonish"}])
    assert "rows:1:" in "\n".join(failed.value.problems)


@pytest.mark.both_engines
def test_consent_rules_hold_a_column_at_a_time_too(tmp_path):
    """Chunks of 5,000 valid rows take the column-at-a-time path: an empty opt-out cell keeps a
    stored opt-out there too, and is false for a new customer."""
    n = 5000
    opted = "".join(f"c{i},yes\n" for i in range(n))
    imported(write(tmp_path / "a.csv", "id,opt_out\n" + opted))
    empty = "".join(f"c{i},\n" for i in range(n + n))  # the same customers, then as many new ones
    err = imported(write(tmp_path / "b.csv", "id,opt_out\n" + empty))
    assert f"{n} created, 0 updated, {n} unchanged" in err
    assert run("filter", "-w", "opt_out = true", "--limit", "0").err.startswith(f"{n} customers match")
    assert customer(f"c{n + 1}")["marketing_opt_out"] is False
