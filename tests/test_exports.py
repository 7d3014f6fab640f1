"""Each sample export (sample_data/exports/, in its product's real layout) imports with its
built-in profile, and every customer holds what its row says, computed here from the raw file
with plain csv and hand-written rules, nothing of seg's (SPEC §8, issue 11)."""

from __future__ import annotations

import csv
import io
import json
import re
import sys
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from conftest import ROOT, run, snapshot, write

import segcli

pytestmark = pytest.mark.both_engines  # every test here runs on SQLite and PostgreSQL

EXPORTS = ROOT / "sample_data" / "exports"
MUSCAT = ZoneInfo("Asia/Muscat")

CALLING = {"OM": "968", "AE": "971", "SA": "966", "GB": "44", "US": "1"}
COUNTRIES = {
    "oman": "OM",
    "عُمان": "OM",
    "sultanate of oman": "OM",
    "united arab emirates": "AE",
    "الإمارات العربية المتحدة": "AE",
    "saudi arabia": "SA",
    "المملكة العربية السعودية": "SA",
    "united kingdom": "GB",
    "united states": "US",
    **{code.lower(): code for code in CALLING},
}
LANGUAGES = {"arabic": "ar", "العربية": "ar", "عربي": "ar", "english": "en", "english - united states": "en"}
LANGUAGES |= {"french": "fr", "en": "en"}
PLATFORMS = {"whatsapp": "whatsapp", "web chat": "webchat", "facebook messenger": "messenger", "instagram": "instagram"}
ARABIC_DIGITS = str.maketrans("٠١٢٣٤٥٦٧٨٩", "0123456789")


def e164(raw: str, region: str | None) -> str | None:
    """A phone as the samples write it, in E.164, by hand: + or 00 and a country code, a
    WhatsApp id (a country code without +: more than 10 digits), else national in ``region``."""
    text = raw.strip().lstrip("'").translate(ARABIC_DIGITS)
    digits = re.sub(r"\D", "", text)
    if not digits:
        return None
    if text.startswith("+"):
        return "+" + digits
    if digits.startswith("00"):
        return "+" + digits[2:]
    if len(digits) > 10 and any(digits.startswith(code) for code in CALLING.values()):
        return "+" + digits
    return "+" + CALLING[region] + digits.lstrip("0")


def utc(text: str, fmt: str, zone=UTC) -> str | None:
    if not text:
        return None
    return datetime.strptime(text, fmt).replace(tzinfo=zone).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def joined(*parts: str) -> str | None:
    return " ".join(p.strip() for p in parts if p.strip()) or None


def tag_list(items: list[str]) -> list[str]:
    out: list[str] = []
    for item in (i.strip() for i in items):
        if item and item.casefold() not in {o.casefold() for o in out}:
            out.append(item)
    return out


def rows(name: str, *, delimiter: str = ",", encoding: str = "utf-8") -> list[dict]:
    text = (EXPORTS / name).read_bytes().decode(encoding)
    return list(csv.DictReader(io.StringIO(text.removeprefix("\ufeff"), newline=""), delimiter=delimiter))


def stored(cid: str) -> dict:
    customer = segcli.open().customer(cid)
    return {**{k: v for k, v in customer.items() if k != "attributes"}, **customer["attributes"]}


def imported(name: str, profile: str, *options: str) -> str:
    r = run("import", str(EXPORTS / name), "--profile", profile, *options)
    assert r.code == 0, r
    return r.err


def test_the_samples_are_what_the_generator_writes(tmp_path):
    sys.path.insert(0, str(ROOT / "sample_data"))
    from exports import generate_exports

    for path in generate_exports(tmp_path):
        assert path.read_bytes() == (EXPORTS / path.name).read_bytes(), path.name


def test_shopify_current_export():
    imported("shopify_customers_export.csv", "shopify")
    for row in rows("shopify_customers_export.csv"):
        country = row["Default Address Country Code"]
        phone = row["Phone"] or row["Default Address Phone"]
        c = stored(row["Customer ID"].lstrip("'"))
        expected = {
            "name": joined(row["First Name"], row["Last Name"]),
            "email": row["Email"] or None,
            "phone": e164(phone, country) if phone else None,
            "country": country,
            "tags": tag_list(row["Tags"].split(",")),
            "marketing_opt_out": row["Accepts SMS Marketing"] != "yes",  # consent for messages to phones
            "Accepts Email Marketing": row["Accepts Email Marketing"] == "yes",  # an attribute
            "Total Spent": float(row["Total Spent"]),
            "Note": row["Note"] or None,
            "Birth Date (customer.metafields.facts.birth_date)": (
                row["Birth Date (customer.metafields.facts.birth_date)"] + "T00:00:00Z"
            )
            if row["Birth Date (customer.metafields.facts.birth_date)"]
            else None,
        }
        assert {k: c[k] for k in expected} == expected, row["Customer ID"]
        assert c["language"] is None and c["platform"] is None and c["created_at"] is None


def test_shopify_older_export_is_keyed_by_email_and_nobody_consented():
    err = imported("shopify_customers_export_legacy.csv", "shopify")
    assert "nobody consented" in err
    for row in rows("shopify_customers_export_legacy.csv"):
        c = stored(row["Email"].lower())  # no Customer ID: keyed by email, its folded form the id
        assert c["email"] == row["Email"]
        assert c["name"] == joined(row["First Name"], row["Last Name"])
        assert c["country"] == row["Country Code"]
        assert c["Country"] == row["Country"]  # the country's name is an attribute, not a clash
        assert c["phone"] == (e164(row["Phone"], row["Country Code"]) if row["Phone"] else None)
        assert c["marketing_opt_out"] is True  # no Accepts SMS Marketing column: no consent (SPEC §14)
        assert c["Accepts Marketing"] == (row["Accepts Marketing"] == "yes")


def _matching(where: str) -> set[str]:
    r = run("filter", "--where", where, "--format", "jsonl", "--columns", "id")
    assert r.code == 0, (where, r)
    return {json.loads(line)["id"] for line in r.out.splitlines()}


def test_the_older_shopify_country_attribute_is_reached_by_its_slug(tmp_path):
    """The older export's Country is an attribute (SPEC §8) whose slug is attr_country (§14):
    the slug reaches it everywhere, while the name Country stays the built-in field."""
    imported("shopify_customers_export_legacy.csv", "shopify")
    # two customers with a built-in country and no Country attribute, to tell the two apart
    write(tmp_path / "more.csv", "id,country\nx1,Oman\nx2,GB\n")
    assert run("import", str(tmp_path / "more.csv")).code == 0
    raw = rows("shopify_customers_export_legacy.csv")

    def having(test) -> set[str]:
        return {r["Email"].lower() for r in raw if test(r)}

    everyone = having(lambda r: True) | {"x1", "x2"}
    expected = {
        'attr_country = "United Kingdom"': having(lambda r: r["Country"] == "United Kingdom"),
        "attr_country starts with united": having(lambda r: r["Country"].lower().startswith("united")),
        'attr_country in (Oman, "saudi arabia")': having(lambda r: r["Country"] in ("Oman", "Saudi Arabia")),
        "attr_country is set": having(lambda r: r["Country"] != ""),
        "attr_country is not set": {"x1", "x2"},
        'not attr_country = "United Kingdom"': everyone - having(lambda r: r["Country"] == "United Kingdom"),
        # the name, like the built-in's, is the built-in field (its value read as a country)
        'Country = "United Kingdom"': having(lambda r: r["Country Code"] == "GB") | {"x2"},
        "country is set": everyone,
    }
    for where, ids in expected.items():
        assert _matching(where) == ids, where
    assert len(expected['attr_country = "United Kingdom"']) == 4

    # saved, shown and read back, it still means the attribute
    assert run("create", "UK", "--where", 'attr_country = "United Kingdom"').code == 0
    shown = run("show", "UK", "--sql")
    assert 'attr_country = "United Kingdom"' in shown.out and "c.attr_attr_country" in shown.out, shown
    assert "c.country" not in shown.out
    assert run("count", "UK").out == "4\n"
    members = run("members", "UK", "--columns", "id,attr_country,country", "--format", "json")
    by_email = {r["Email"].lower(): r for r in raw}
    listed = json.loads(members.out)  # keyed by the name that reads back, beside the built-in country
    assert [(m["attr_country"], m["country"]) for m in listed] == [
        (by_email[m["id"]]["Country"], by_email[m["id"]]["Country Code"]) for m in listed
    ]
    assert {m["attr_country"] for m in listed} == {"United Kingdom"} and len(listed) == 4

    # seg fields lists the name that reaches it, beside the built-in
    fields = {f["name"]: f for f in json.loads(run("fields", "--json").out)}
    assert fields["attr_country"]["type"] == "text" and "Country" not in fields
    assert fields["attr_country"]["count"] == len(raw) and fields["country"]["type"] == "country"

    # --require and a saved audience's columns and requirements mean the attribute too
    assert run("create", "Anyone", "--where", "country is set").code == 0
    sent = run(
        "export", "Anyone", "-o", "-", "--include-opted-out", "--require", "attr_country", "-c", "id,attr_country"
    )
    assert sent.code == 0 and "after --require attr_country" in sent.err, sent
    written = list(csv.DictReader(io.StringIO(sent.out)))
    assert {(w["id"], w["attr_country"]) for w in written} == {(r["Email"].lower(), r["Country"]) for r in raw}
    made = run("audience", "create", "A", "--segment", "Anyone", "--require", "attr_country")
    assert made.code == 0, made
    assert run("audience", "create", "B", "--segment", "Anyone", "--columns", "id,attr_country").code == 0
    for audience in ("A", "B"):
        sent = run("export", "--audience", audience, "-o", "-")
        assert sent.code == 0, sent
    shown = json.loads(run("audience", "show", "A", "--json").out)
    assert shown["require"] == ["attr_country"], shown

    # the attribute may become an enum: segments on the built-in country are not its to rewrite
    assert run("create", "GB", "--where", "country = GB").code == 0
    values = ",".join(sorted({r["Country"] for r in raw}))
    made = run("attributes", "define", "attr_country", "--type", "enum", "--values", values)
    assert made.code == 0 and "updated" in made.out + made.err, made
    assert json.loads(run("show", "GB", "--json").out)["filter"] == "country = GB"
    assert run("count", "UK").out == "4\n" and run("count", "GB").out == "5\n"

    # seg dump | seg apply - changes nothing, and the dump reads back as the same attribute elsewhere
    dumped = run("dump")
    assert dumped.code == 0 and "  attr_country:\n    type: enum\n" in dumped.out, dumped
    before = snapshot()
    applied = run("apply", "-", stdin=dumped.out)
    assert applied.code == 0 and "0 changes" in applied.out + applied.err, applied
    assert snapshot() == before
    other = str(tmp_path / "other.db")
    assert run("--db", other, "apply", "-", stdin=dumped.out).code == 0
    r = run("--db", other, "import", str(EXPORTS / "shopify_customers_export_legacy.csv"), "--profile", "shopify")
    assert r.code == 0, r
    assert run("--db", other, "count", "UK").out == "4\n"
    assert run("--db", other, "dump").out == dumped.out


def _ruby_hash(text: str) -> dict:
    """Chatwoot's Ruby hash, read by hand: => is :, nil is null."""
    return json.loads(re.sub(r"\s*=>\s*", ": ", text).replace("nil", "null")) if text.strip() else {}


def test_chatwoot_export_with_its_byte_order_mark():
    assert (EXPORTS / "chatwoot_contacts.csv").read_bytes().startswith(b"\xef\xbb\xbf")
    run("config", "set", "timezone", "Asia/Muscat")  # Chatwoot's times say UTC: never moved
    imported("chatwoot_contacts.csv", "chatwoot")
    for row in rows("chatwoot_contacts.csv"):
        c = stored(row["id"])
        expected = {
            "name": row["name"] or None,
            "email": row["email"] or None,
            "phone": row["phone_number"] or None,
            "tags": tag_list(row["labels"].split(",")),
            "created_at": utc(row["created_at"], "%Y-%m-%d %H:%M:%S UTC"),
            "last_interaction_at": utc(row["last_activity_at"], "%Y-%m-%d %H:%M:%S UTC"),
            "marketing_opt_out": row["blocked"] == "true",
            "language": None,  # a contact has no language unless --map says so
            "country": None,  # country_code is an attribute (no synonyms)
        }
        hashes = {**_ruby_hash(row["custom_attributes"]), **_ruby_hash(row["additional_attributes"])}
        for key, value in hashes.items():
            expected[key] = json.dumps(value, sort_keys=True) if isinstance(value, dict) else value
        # The file's own column and the hash key of that name agree, or one of them is empty.
        expected["country_code"] = row["country_code"] or hashes.get("country_code")
        assert {k: c[k] for k in expected} == expected, row["id"]


def test_hubspot_export_resaved_by_excel_as_utf16_tab_separated():
    assert (EXPORTS / "hubspot_contacts.csv").read_bytes()[:2] == b"\xff\xfe"
    run("config", "set", "timezone", "Asia/Muscat")  # HubSpot's naive times are in the zone in force
    imported("hubspot_contacts.csv", "hubspot")
    for row in rows("hubspot_contacts.csv", delimiter="\t", encoding="utf-16"):
        country = COUNTRIES.get(row["Country/Region"].lower()) if row["Country/Region"] else None
        phone = row["Phone Number"] or row["Mobile Phone Number"]
        c = stored(row["Record ID"])
        expected = {
            "name": joined(row["First Name"], row["Last Name"]),
            "email": row["Email"],
            "phone": e164(phone, None) if phone else None,
            "country": country,
            "language": LANGUAGES.get(row["Preferred language"].lower()),
            "created_at": utc(row["Create Date"], "%Y-%m-%d %H:%M", MUSCAT),
            "last_interaction_at": utc(row["Last Activity Date"], "%Y-%m-%d %H:%M", MUSCAT),
            "marketing_opt_out": row["Unsubscribed from all email"] == "true",  # empty is false
            "Lead Status": row["Lead Status"],
            "Contact owner": row["Contact owner"] or None,
        }
        assert {k: c[k] for k in expected} == expected, row["Record ID"]


def test_mailchimp_subscribed_unsubscribed_and_cleaned_exports():
    run("config", "set", "timezone", "Asia/Muscat")  # a profile's zone beats the database's: UTC here
    consent: dict[str, bool] = {}
    last_row: dict[str, tuple[str, dict]] = {}  # a member in two files: the later file's row wins
    for kind in ("subscribed", "unsubscribed", "cleaned"):
        imported(f"mailchimp_{kind}.csv", "mailchimp")
        for row in rows(f"mailchimp_{kind}.csv"):
            key = row["Email Address"].lower()  # keyed by the folded email, even in upper case
            consent[key] = kind != "subscribed" or consent.get(key, False)
            last_row[key] = (kind, row)
    for key, (kind, row) in last_row.items():
        c = stored(key)
        expected = {
            "name": joined(row["First Name"], row["Last Name"]),
            "phone": e164(row["Phone Number"], row["CC"] or None) if row["Phone Number"] else None,
            "country": row["CC"] or None,
            "tags": tag_list(next(csv.reader([row["TAGS"]])) if row["TAGS"] else []),
            "created_at": utc(row["OPTIN_TIME"] or row["CONFIRM_TIME"], "%Y-%m-%d %H:%M:%S"),
            "last_interaction_at": None,  # LAST_CHANGED is not an interaction
            "marketing_opt_out": consent[key],
        }
        if kind == "subscribed":
            expected["LAST_CHANGED"] = utc(row["LAST_CHANGED"], "%Y-%m-%d %H:%M:%S")
        assert {k: c[k] for k in expected} == expected, key
    # Re-importing the subscribed export opts nobody back in: a profile's default is no consent cell.
    before = {k: stored(k)["marketing_opt_out"] for k in consent}
    imported("mailchimp_subscribed.csv", "mailchimp")
    assert {k: stored(k)["marketing_opt_out"] for k in consent} == before
    assert any(before.values()) and not all(before.values())


def test_whatsapp_inbox_export_through_its_profile_file():
    profile = str(EXPORTS / "whatsapp-inbox.profile.yaml")
    imported("whatsapp_inbox.csv", profile)
    for row in rows("whatsapp_inbox.csv", delimiter=";"):
        phone = e164(row["Phone"], "OM")
        c = stored(row["Contact ID"])
        created_fmt = "%d/%m/%Y %H:%M" if ":" in row["Created At"] else "%d/%m/%Y"
        last = row["Last Interaction"]
        seconds = int(last) // 1000 if len(last) == 13 else int(last or 0)
        expected = {
            "phone": phone,
            "name": joined(row["First Name"], row["Last Name"]),
            "email": row["Email"] or None,
            "language": LANGUAGES[row["Language"].lower()],
            "platform": PLATFORMS[row["Channel"].lower()],
            "country": COUNTRIES[row["Country/Region"].lower()],
            "tags": tag_list(row["Tags"].split(",")),
            "marketing_opt_out": row["Opted In"] != "TRUE",  # FALSE and empty: no consent
            "created_at": utc(row["Created At"], created_fmt, MUSCAT),
            "last_interaction_at": datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
            if last
            else None,
            "lifetime_value": float(row["Lifetime Value (OMR)"]) if row["Lifetime Value (OMR)"] else None,
        }
        assert {k: c[k] for k in expected} == expected, row["Contact ID"]
    assert "Assigned Agent" not in json.dumps(segcli.open().attributes.list())  # skipped


@pytest.mark.parametrize(
    ("name", "profile", "options"),
    [
        ("shopify_customers_export.csv", "shopify", ()),
        ("chatwoot_contacts.csv", "chatwoot", ()),
        ("hubspot_contacts.csv", "hubspot", ()),
        ("mailchimp_subscribed.csv", "mailchimp", ()),
        ("whatsapp_inbox.csv", str(EXPORTS / "whatsapp-inbox.profile.yaml"), ()),
    ],
)
def test_reimporting_an_export_changes_nothing(name, profile, options):
    imported(name, profile, *options)
    err = imported(name, profile, *options)
    assert " 0 created, 0 updated, " in err, err
