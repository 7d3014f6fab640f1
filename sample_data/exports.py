"""Sample exports of other systems, one per built-in profile, in their real layouts (SPEC §8).

    python sample_data/exports.py            # rewrites sample_data/exports/

Each file is written as the product writes it (README "Importing from other systems" names the
sources), with the mess real files have: Arabic and Latin names, Shopify's ``'`` guard on ids and
phones, phones with spaces, ``00`` or no ``+``, dates in several forms, Ruby hashes, quoted tag
lists. Seeded: the same files every time, so tests can check each customer against its row.

- ``shopify_customers_export.csv``: Shopify's current header set (with the WhatsApp consent and a
  metafield column); ``shopify_customers_export_legacy.csv``: the older set, without Customer ID.
- ``chatwoot_contacts.csv``: Chatwoot's contacts export, with a byte-order mark (since 2026-04).
- ``hubspot_contacts.csv``: HubSpot's contacts export as Excel re-saves it ("Unicode text":
  UTF-16 with a byte-order mark, tab-separated).
- ``mailchimp_subscribed.csv``, ``mailchimp_unsubscribed.csv``, ``mailchimp_cleaned.csv``:
  the three files of a Mailchimp audience export.
- ``whatsapp_inbox.csv`` and its profile file ``whatsapp-inbox.profile.yaml``: an inbox tool's
  contacts, ``;``-separated as a European Excel writes them.
"""

from __future__ import annotations

import argparse
import csv
import io
import random
from datetime import UTC, datetime, timedelta
from pathlib import Path

OUT = Path(__file__).resolve().parent / "exports"
ANCHOR = datetime(2026, 11, 29, 12, tzinfo=UTC)

ARABIC = [("محمد", "البلوشي"), ("فاطمة", "الكندي"), ("سالم", "الحارثي"), ("مريم", "الرواحي"), ("خالد", "العامري")]
LATIN = [("Sara", "Haddad"), ("John", "Smith"), ("Priya", "Sharma"), ("Chloé", "Dubois"), ("Omar", "Khan")]
#: Country, calling code, how its mobile numbers start, how many digits follow, a city.
PLACES = [
    ("OM", "968", "9", 7, "Muscat"),
    ("AE", "971", "50", 7, "Dubai"),
    ("SA", "966", "55", 7, "Riyadh"),
    ("GB", "44", "7400", 6, "London"),
    ("US", "1", "6172", 6, "Boston"),
]
TAGS = ["VIP", "Eid 2026", "wholesale", "newsletter", "b2b", "lead"]


def _person(rng: random.Random, n: int) -> dict:
    first, last = rng.choice(ARABIC if rng.random() < 0.5 else LATIN)
    country, code, start, digits, city = rng.choice(PLACES)
    national = start + "".join(rng.choice("0123456789") for _ in range(digits))
    email_local = "".join(c for c in f"{first}.{last}".lower() if c.isascii() and (c.isalnum() or c == ".")).strip(".")
    return {
        "n": n,
        "first": first,
        "last": last,
        "country": country,
        "code": code,
        "national": national,
        "city": city,
        "email": f"{email_local or 'customer'}{n}@example.{country.lower()}",
        "created": ANCHOR - timedelta(seconds=rng.randint(86400, 700 * 86400)),
        "tags": rng.sample(TAGS, rng.choice([0, 1, 1, 2])),
    }


def _spaced(national: str) -> str:
    return f"{national[:4]} {national[4:]}"


def _csv(rows: list[list[str]], delimiter: str = ",", quoting: int = csv.QUOTE_MINIMAL) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf, delimiter=delimiter, quoting=quoting, lineterminator="\n")
    writer.writerows(rows)
    return buf.getvalue()


def shopify(rng: random.Random) -> str:
    header = [
        "Customer ID",
        "First Name",
        "Last Name",
        "Email",
        "Accepts Email Marketing",
        "Default Address Company",
        "Default Address Address1",
        "Default Address Address2",
        "Default Address City",
        "Default Address Province Code",
        "Default Address Country Code",
        "Default Address Zip",
        "Default Address Phone",
        "Phone",
        "Accepts SMS Marketing",
        "Total Spent",
        "Total Orders",
        "Note",
        "Tax Exempt",
        "Tags",
        "Accepts WhatsApp Marketing",
        "Birth Date (customer.metafields.facts.birth_date)",
    ]
    rows = [header]
    for n in range(40):
        p = _person(rng, n)
        style = n % 5
        phone = ""
        address_phone = ""
        if style == 0:
            phone = f"'+{p['code']}{p['national']}"
        elif style == 1:
            address_phone = f"'{p['national']}" if p["country"] not in ("GB",) else f"'0{p['national']}"
        elif style == 2:
            phone = f"+{p['code']} {_spaced(p['national'])}"
        elif style == 3:
            address_phone = f"+{p['code']}-{p['national']}"
        rows.append(
            [
                f"'{7412345678900 + n}",
                p["first"],
                p["last"] if n % 7 else ".",
                p["email"] if n % 6 else "",
                rng.choice(["yes", "no"]),
                "Haddad Trading" if n % 9 == 0 else "",
                f"Way {rng.randint(100, 9999)}, Bldg {rng.randint(1, 99)}",
                "",
                p["city"],
                "MA" if p["country"] == "OM" else "",
                p["country"],
                str(rng.randint(100, 999)),
                address_phone,
                phone,
                rng.choice(["yes", "no", "no"]),
                f"{rng.randint(0, 900)}.{rng.randint(0, 999):03d}",
                str(rng.randint(0, 20)),
                "Prefers Arabic,\ncall after 5" if n % 8 == 0 else "",
                rng.choice(["yes", "no"]),
                ", ".join(p["tags"]),
                rng.choice(["yes", "no"]),
                f"{rng.randint(1960, 2005)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}" if n % 3 else "",
            ]
        )
    return _csv(rows)


def shopify_legacy(rng: random.Random) -> str:
    header = [
        "First Name",
        "Last Name",
        "Email",
        "Company",
        "Address1",
        "Address2",
        "City",
        "Province",
        "Province Code",
        "Country",
        "Country Code",
        "Zip",
        "Phone",
        "Accepts Marketing",
        "Total Spent",
        "Total Orders",
        "Tags",
        "Note",
        "Tax Exempt",
    ]
    names = {
        "OM": "Oman",
        "AE": "United Arab Emirates",
        "SA": "Saudi Arabia",
        "GB": "United Kingdom",
        "US": "United States",
    }
    rows = [header]
    for n in range(20):
        p = _person(rng, 100 + n)
        rows.append(
            [
                p["first"],
                p["last"],
                p["email"],
                "",
                f"{rng.randint(1, 99)} Main St",
                "",
                p["city"],
                "",
                "",
                names[p["country"]],
                p["country"],
                "",
                f"'+{p['code']}{p['national']}" if n % 3 else "",
                rng.choice(["yes", "no"]),
                f"{rng.randint(0, 500)}.00",
                str(rng.randint(0, 9)),
                ", ".join(p["tags"]),
                "",
                "no",
            ]
        )
    return _csv(rows)


def _ruby(value: object) -> str:
    """Ruby's Hash#inspect, as Chatwoot's CSV writes a jsonb column."""
    if isinstance(value, dict):
        return "{" + ", ".join(f"{_ruby(k)} => {_ruby(v)}" for k, v in value.items()) + "}"
    if value is None:
        return "nil"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return str(value)


def chatwoot(rng: random.Random) -> str:
    header = [
        "id",
        "name",
        "email",
        "phone_number",
        "identifier",
        "created_at",
        "last_activity_at",
        "country_code",
        "blocked",
        "labels",
        "custom_attributes",
        "additional_attributes",
    ]
    rows = [header]
    for n in range(30):
        p = _person(rng, 200 + n)
        has_phone = n % 4 != 3
        created = p["created"]
        last = created + timedelta(seconds=rng.randint(0, 90 * 86400)) if n % 5 else None
        custom: dict = {}
        if n % 2 == 0:
            custom["tier"] = rng.choice(["gold", "silver", "bronze"])
        if n % 3 == 0:
            custom["lifetime_value"] = rng.randint(0, 500)
        if n % 5 == 0:
            custom["vip"] = n % 10 == 0
        additional = {"city": p["city"], "country_code": p["country"]} if n % 2 else {}
        if n % 6 == 1:
            additional["social_profiles"] = {"facebook": "", "instagram": f"user{n}"}
        hashes = _ruby(custom) if custom else "{}"
        extra = _ruby(additional) if additional else "{}"
        if n % 4 == 0:  # Ruby before 3.4: no spaces around =>
            hashes, extra = hashes.replace(" => ", "=>"), extra.replace(" => ", "=>")
        rows.append(
            [
                str(1000 + n),
                f"{p['first']} {p['last']}" if n % 7 else (f"+{p['code']}{p['national']}" if has_phone else ""),
                p["email"] if n % 3 else "",
                f"+{p['code']}{p['national']}" if has_phone else "",
                "",
                created.strftime("%Y-%m-%d %H:%M:%S UTC"),
                last.strftime("%Y-%m-%d %H:%M:%S UTC") if last else "",
                p["country"] if n % 4 == 1 else "",
                "true" if n % 9 == 4 else "false",
                ",".join(t.lower().replace(" ", "-") for t in p["tags"]),
                hashes,
                extra,
            ]
        )
    return "\ufeff" + _csv(rows)


def hubspot(rng: random.Random) -> str:
    header = [
        "Record ID",
        "First Name",
        "Last Name",
        "Email",
        "Phone Number",
        "Contact owner",
        "Primary Associated Company ID",
        "Last Activity Date",
        "Lead Status",
        "Marketing contact status",
        "Create Date",
        "Associated Company",
        "Mobile Phone Number",
        "Country/Region",
        "Preferred language",
        "Unsubscribed from all email",
    ]
    countries = {
        "OM": ["Oman", "عُمان", "OM", "Sultanate of Oman"],
        "AE": ["United Arab Emirates", "الإمارات العربية المتحدة"],
        "SA": ["Saudi Arabia", "المملكة العربية السعودية"],
        "GB": ["United Kingdom"],
        "US": ["United States"],
    }
    languages = ["Arabic", "English", "العربية", "English - United States", "French", ""]
    rows = [header]
    for n in range(30):
        p = _person(rng, 300 + n)
        created = p["created"].replace(second=0)
        last = created + timedelta(minutes=rng.randint(0, 60 * 24 * 60)) if n % 4 else None
        phone = f"+{p['code']} {_spaced(p['national'])}" if n % 3 == 0 else ""
        mobile = f"+{p['code']}{p['national']}" if n % 3 == 1 else ""
        rows.append(
            [
                str(51234567000 + n),
                p["first"],
                p["last"] if n % 5 else "",
                p["email"],
                phone,
                rng.choice(["Huda Al Said", "Tom Reed", ""]),
                str(21098765 + n) if n % 2 else "",
                last.strftime("%Y-%m-%d %H:%M") if last else "",
                rng.choice(["New", "Open", "In Progress"]),
                rng.choice(["Marketing contact", "Non-marketing contact"]),
                created.strftime("%Y-%m-%d %H:%M"),
                "Muscat Pearl LLC" if n % 2 else "",
                mobile,
                rng.choice(countries[p["country"]]) if n % 6 else "",
                rng.choice(languages),
                ["true", "false", ""][n % 3],
            ]
        )
    text = _csv(rows, delimiter="\t", quoting=csv.QUOTE_ALL)
    return text


def mailchimp(rng: random.Random) -> dict[str, str]:
    common = [
        "Email Address",
        "First Name",
        "Last Name",
        "Address",
        "Phone Number",
        "Birthday",
        "MEMBER_RATING",
        "OPTIN_TIME",
        "OPTIN_IP",
        "CONFIRM_TIME",
        "CONFIRM_IP",
        "GMTOFF",
        "DSTOFF",
        "TIMEZONE",
        "CC",
        "REGION",
    ]
    tail = {
        "subscribed": ["LAST_CHANGED", "LEID", "EUID", "NOTES", "TAGS"],
        "unsubscribed": [
            "UNSUB_TIME",
            "UNSUB_CAMPAIGN_TITLE",
            "UNSUB_CAMPAIGN_ID",
            "UNSUB_REASON",
            "UNSUB_REASON_OTHER",
            "LEID",
            "EUID",
            "NOTES",
            "TAGS",
        ],
        "cleaned": ["CLEAN_TIME", "CLEAN_CAMPAIGN_TITLE", "CLEAN_CAMPAIGN_ID", "LEID", "EUID", "NOTES", "TAGS"],
    }
    people = [_person(rng, 400 + n) for n in range(30)]
    files = {}
    for kind, members in (("subscribed", people[:20]), ("unsubscribed", people[18:26]), ("cleaned", people[26:])):
        rows = [common + tail[kind]]
        for i, p in enumerate(members):
            optin = p["created"] if i % 4 else None
            confirm = p["created"] + timedelta(seconds=rng.randint(30, 600))
            changed = confirm + timedelta(days=rng.randint(1, 60))
            email = p["email"].upper() if kind == "unsubscribed" and i % 2 else p["email"]
            phone = ""
            if i % 3 == 1 and i % 5:  # national: read in the member's CC
                phone = ("0" if p["country"] == "GB" else "") + p["national"]
            elif i % 3 != 2:
                phone = f"+{p['code']} {_spaced(p['national'])}"
            tags = ",".join(f'"{t}"' for t in p["tags"])
            row = [
                email,
                p["first"],
                p["last"],
                f"{rng.randint(1, 99)} Way  {p['city']}    {p['country']}" if i % 2 else "",
                phone,
                f"{rng.randint(1, 12):02d}/{rng.randint(1, 28):02d}" if i % 3 else "",
                str(rng.randint(1, 5)),
                optin.strftime("%Y-%m-%d %H:%M:%S") if optin else "",
                "5.36.12.8" if optin else "",
                confirm.strftime("%Y-%m-%d %H:%M:%S"),
                "5.36.12.8",
                "4",
                "4",
                "Asia/Muscat",
                p["country"] if i % 5 else "",
                "",
            ]
            if kind == "subscribed":
                row += [
                    changed.strftime("%Y-%m-%d %H:%M:%S"),
                    str(55331253 + i),
                    f"{rng.getrandbits(40):010x}",
                    "",
                    tags,
                ]
            elif kind == "unsubscribed":
                row += [
                    changed.strftime("%Y-%m-%d %H:%M:%S"),
                    "Eid offers" if i % 2 else "",
                    "a1b2c3" if i % 2 else "",
                    "not_interested" if i % 2 else "N/A (Unsubscribed by an admin)",
                    "",
                    str(55331300 + i),
                    f"{rng.getrandbits(40):010x}",
                    "",
                    tags,
                ]
            else:
                row += [
                    changed.strftime("%Y-%m-%d %H:%M:%S"),
                    "",
                    "",
                    str(55331400 + i),
                    f"{rng.getrandbits(40):010x}",
                    "",
                    tags,
                ]
            rows.append(row)
        files[f"mailchimp_{kind}.csv"] = _csv(rows)
    return files


WHATSAPP_PROFILE = """\
# An inbox tool's contacts export (respond.io- or WATI-like: the layout of SPEC §8's example).
profile: whatsapp-inbox
description: A WhatsApp inbox tool's contacts export
key: phone                        # customers are matched by their E.164 phone
timezone: Asia/Muscat             # naive timestamps are local times there
dayfirst: true                    # 03/04/2026 is 3 April
default_region: OM                # phone numbers written without a country code
columns:
  id: Contact ID
  name: [First Name, Last Name]   # joined with a space, empty parts skipped
  phone: Phone
  language: {column: Language, values: {"عربي": ar}}
  platform: {column: Channel, values: {Web Chat: webchat}}
  marketing_opt_out: {column: Opted In, invert: true}
  created_at: {column: Created At, format: "%d/%m/%Y %H:%M"}
  last_interaction_at: {column: Last Interaction, format: epoch}
  lifetime_value: Lifetime Value (OMR)
skip: [Assigned Agent]
"""


def whatsapp(rng: random.Random) -> str:
    header = [
        "Contact ID",
        "First Name",
        "Last Name",
        "Phone",
        "Email",
        "Language",
        "Channel",
        "Tags",
        "Opted In",
        "Created At",
        "Last Interaction",
        "Lifetime Value (OMR)",
        "Country/Region",
        "Assigned Agent",
    ]
    arabic_digits = str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")
    rows = [header]
    for n in range(36):
        p = _person(rng, 500 + n)
        p["country"], p["code"] = "OM", "968"
        local = f"9{rng.randint(0, 9_999_999):07d}"
        style = n % 6
        phone = {
            0: f"968{local}",  # WhatsApp's own id: the country code, no +
            1: f"00968 {_spaced(local)}",
            2: f"+968 {_spaced(local)}",
            3: _spaced(local),  # national: default_region OM
            4: f"+968{local}".translate(arabic_digits),  # typed on an Arabic keyboard
            5: f"968{local}",
        }[style]
        created = p["created"].replace(second=0)
        local_created = created.astimezone(_muscat())
        created_text = local_created.strftime("%d/%m/%Y %H:%M") if n % 4 else local_created.strftime("%d/%m/%Y")
        last = created + timedelta(seconds=rng.randint(60, 60 * 86400)) if n % 5 else None
        last_text = ""
        if last:
            last_text = str(int(last.timestamp())) if n % 2 else str(int(last.timestamp()) * 1000)
        rows.append(
            [
                f"c_{88100 + n}",
                p["first"],
                p["last"] if n % 4 else "",
                phone,
                p["email"] if n % 3 == 0 else "",
                rng.choice(["عربي", "العربية", "English", "Arabic", "en"]),
                rng.choice(["WhatsApp", "Web Chat", "Facebook Messenger", "Instagram", "WhatsApp"]),
                ", ".join(t.lower() for t in p["tags"]),
                ["TRUE", "FALSE", ""][n % 3],
                created_text,
                last_text,
                f"{rng.randint(0, 400)}.{rng.randint(0, 999):03d}" if n % 4 != 2 else "",
                rng.choice(["عُمان", "Oman", "OM"]),
                rng.choice(["Huda", "Salim", ""]),
            ]
        )
    return _csv(rows, delimiter=";")


def _muscat():
    from zoneinfo import ZoneInfo

    return ZoneInfo("Asia/Muscat")


def generate_exports(out: Path = OUT) -> list[Path]:
    """Write every sample export (and the inbox tool's profile file) into ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    rng = random.Random(11)
    texts = {
        "shopify_customers_export.csv": (shopify(rng), "utf-8"),
        "shopify_customers_export_legacy.csv": (shopify_legacy(rng), "utf-8"),
        "chatwoot_contacts.csv": (chatwoot(rng), "utf-8"),
        "hubspot_contacts.csv": (hubspot(rng), "utf-16"),
        **{name: (text, "utf-8") for name, text in mailchimp(rng).items()},
        "whatsapp_inbox.csv": (whatsapp(rng), "utf-8"),
        "whatsapp-inbox.profile.yaml": (WHATSAPP_PROFILE, "utf-8"),
    }
    written = []
    for name, (text, encoding) in texts.items():
        path = out / name
        path.write_bytes(text.encode(encoding))  # utf-16: with its byte-order mark, as Excel writes it
        written.append(path)
    return written


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", default=str(OUT), help="the folder to write (default sample_data/exports)")
    args = parser.parse_args()
    for path in generate_exports(Path(args.out)):
        print(path)


if __name__ == "__main__":
    main()
