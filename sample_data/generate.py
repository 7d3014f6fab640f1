"""A seeded generator of realistic customers, as CSV and JSONL.

    python sample_data/generate.py                 # rewrites sample_data/customers.{csv,jsonl}
    python sample_data/generate.py -n 100000 --out /tmp/big --anchor 2026-11-29T12:00:00Z

Dates are spread over three years before the anchor instant (the sample uses 2026-11-29T12:00:00Z,
so pass the same ``--now`` to get the counts in the README). Values are written in the many
spellings real exports use (``ar``, ``Arabic``, ``ar-OM``; ``OM``, ``OMN``, ``Oman``; ``yes``/``1``),
which is what the importer's normalization is for.
"""

from __future__ import annotations

import argparse
import csv
import json
import random
from datetime import UTC, datetime, timedelta
from pathlib import Path

ARABIC_FIRST = ["محمد", "أحمد", "فاطمة", "عائشة", "خالد", "مريم", "سالم", "نورة", "يوسف", "ليلى", "حمد", "سارة"]
ARABIC_LAST = ["البلوشي", "الحارثي", "الكندي", "الزدجالي", "الرواحي", "العامري", "الشامسي", "القحطاني"]
LATIN_FIRST = [
    "Mohammed",
    "Ahmed",
    "Fatima",
    "Aisha",
    "Khalid",
    "Maryam",
    "Salim",
    "Noura",
    "John",
    "Priya",
    "Elena",
    "Lucas",
    "Chloé",
    "Raj",
    "Sofia",
    "Omar",
    "Layla",
    "Hassan",
    "Zainab",
    "Émile",
]
LATIN_LAST = [
    "Al Balushi",
    "Al Harthy",
    "Al Kindi",
    "Smith",
    "Sharma",
    "García",
    "Müller",
    "Haddad",
    "Khan",
    "O'Brien",
    "Rossi",
    "Nakamura",
    "Al Amri",
    "Dubois",
]
# (weight, spellings) per language and country: skewed like a GCC business.
LANGUAGES = [
    (45, ["ar", "AR", "Arabic", "ar-OM", "ar-AE"]),
    (35, ["en", "English", "en-GB", "EN"]),
    (8, ["hi", "Hindi"]),
    (5, ["ur", "Urdu"]),
    (4, ["fr", "French"]),
    (3, ["es", "Spanish"]),
]
COUNTRIES = [
    (35, ["OM", "OMN", "Oman"]),
    (20, ["AE", "ARE", "United Arab Emirates"]),
    (15, ["SA", "SAU", "Saudi Arabia"]),
    (8, ["KW", "Kuwait"]),
    (6, ["QA", "Qatar"]),
    (5, ["BH", "Bahrain"]),
    (5, ["IN", "India"]),
    (3, ["GB", "United Kingdom"]),
    (3, ["US", "USA"]),
]
PLATFORMS = [(60, ["whatsapp", "WhatsApp"]), (25, ["instagram", "Instagram"]), (15, ["webchat", "Webchat"])]
TAGS = [
    "VIP",
    "lead",
    "customer",
    "returning",
    "wholesale",
    "newsletter",
    "complaint",
    "influencer",
    "b2b",
    "ramadan-2026",
    "eid-offer",
    "cart-abandoned",
    "loyalty",
    "beta",
    "referral",
    "support",
    "priority",
    "trial",
    "churn-risk",
    "Premium",
]
TIERS = [(15, "gold"), (30, "silver"), (40, "bronze"), (15, None)]
INTERESTS = [(20, "Enterprise"), (30, "SMB"), (30, "Retail"), (10, "Startup"), (10, None)]
PRODUCTS = ["perfume", "oud", "abaya", "dates", "coffee", "electronics", "gift-card", "watches"]
CITIES = ["Muscat", "Salalah", "Sohar", "Dubai", "Abu Dhabi", "Riyadh", "Jeddah", "Doha", "Kuwait City", "Manama"]

COLUMNS = [
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
    "tier",
    "interest",
    "lifetime_value",
    "last_purchase",
    "newsletter",
    "products",
    "city",
]


def _pick(rng: random.Random, weighted: list) -> object:
    total = sum(w for w, _ in weighted)
    x = rng.uniform(0, total)
    for w, v in weighted:
        x -= w
        if x <= 0:
            return v
    return weighted[-1][1]


def _stamp(rng: random.Random, when: datetime) -> str:
    style = rng.random()
    if style < 0.2:
        return when.date().isoformat()
    if style < 0.35:
        return (when + timedelta(hours=4)).replace(tzinfo=None).isoformat(timespec="seconds") + "+04:00"
    return when.strftime("%Y-%m-%dT%H:%M:%SZ")


def customer(rng: random.Random, n: int, anchor: datetime) -> dict:
    """One customer as a dict of column -> cell text (empty for missing)."""
    arabic_script = rng.random() < 0.3
    if arabic_script:
        name = f"{rng.choice(ARABIC_FIRST)} {rng.choice(ARABIC_LAST)}"
    else:
        name = f"{rng.choice(LATIN_FIRST)} {rng.choice(LATIN_LAST)}"
    country = _pick(rng, COUNTRIES)
    created = anchor - timedelta(seconds=rng.randint(0, 3 * 365 * 86400))
    if rng.random() < 0.03:  # a few brand-new customers, for "New This Week"
        created = anchor - timedelta(seconds=rng.randint(0, 6 * 86400))
    last = None
    if rng.random() > 0.1:
        last = created + timedelta(seconds=rng.randint(0, max(1, int((anchor - created).total_seconds()))))
    tags = rng.sample(TAGS, rng.choice([0, 1, 1, 2, 2, 3, 4]))
    if rng.random() < 0.12:
        tags.append("VIP")
    tags = list(dict.fromkeys(tags))
    phone = f"+968{rng.randint(90000000, 99999999)}" if rng.random() > 0.12 else ""
    email = ""
    if rng.random() > 0.25:
        local = "".join(c for c in name.lower() if c.isascii() and c.isalnum()) or f"user{n}"
        email = f"{local}{n}@{rng.choice(['gmail.com', 'outlook.com', 'example.om', 'company.ae'])}"
    opt = rng.random() < 0.08
    return {
        "id": f"C{n:06d}",
        "name": name if rng.random() > 0.02 else "",
        "email": email,
        "phone": phone,
        "language": rng.choice(_pick(rng, LANGUAGES)) if rng.random() > 0.05 else "",
        "platform": rng.choice(_pick(rng, PLATFORMS)),
        "country": rng.choice(country) if rng.random() > 0.03 else "",
        "tags": ",".join(tags),
        "created_at": _stamp(rng, created),
        "last_interaction_at": _stamp(rng, last) if last else "",
        "marketing_opt_out": rng.choice(["yes", "true", "1", "Y"]) if opt else rng.choice(["no", "false", "0", ""]),
        "tier": _pick(rng, TIERS) or "",
        "interest": _pick(rng, INTERESTS) or "",
        "lifetime_value": str(round(rng.lognormvariate(6, 1.5), 2)) if rng.random() > 0.15 else "",
        "last_purchase": (anchor - timedelta(days=rng.randint(0, 700))).date().isoformat()
        if rng.random() > 0.3
        else "",
        "newsletter": rng.choice(["true", "false"]) if rng.random() > 0.2 else "",
        "products": ",".join(rng.sample(PRODUCTS, rng.randint(0, 3))),
        "city": rng.choice(CITIES) if rng.random() > 0.3 else "",
    }


def as_json(row: dict) -> dict:
    """The same customer as a JSON object: real lists and booleans, attributes nested."""
    obj: dict = {k: (row[k] or None) for k in COLUMNS[:7]}
    obj["tags"] = [t for t in row["tags"].split(",") if t]
    obj["created_at"] = row["created_at"] or None
    obj["last_interaction_at"] = row["last_interaction_at"] or None
    obj["marketing_opt_out"] = row["marketing_opt_out"].lower() in ("yes", "true", "1", "y")
    attrs = {
        "tier": row["tier"] or None,
        "interest": row["interest"] or None,
        "lifetime_value": float(row["lifetime_value"]) if row["lifetime_value"] else None,
        "last_purchase": row["last_purchase"] or None,
        "newsletter": {"true": True, "false": False}.get(row["newsletter"]),
        "products": [p for p in row["products"].split(",") if p],
        "city": row["city"] or None,
    }
    obj["attributes"] = attrs
    return obj


def generate(n: int, out: Path, anchor: datetime, seed: int = 7, formats: tuple[str, ...] = ("csv", "jsonl")) -> None:
    rng = random.Random(seed)
    out.parent.mkdir(parents=True, exist_ok=True)
    files = {}
    if "csv" in formats:
        files["csv"] = open(out.with_suffix(".csv"), "w", encoding="utf-8", newline="")  # noqa: SIM115
        writer = csv.DictWriter(files["csv"], COLUMNS)
        writer.writeheader()
    if "jsonl" in formats:
        files["jsonl"] = open(out.with_suffix(".jsonl"), "w", encoding="utf-8")  # noqa: SIM115
    try:
        for i in range(1, n + 1):
            row = customer(rng, i, anchor)
            if "csv" in files:
                writer.writerow(row)
            if "jsonl" in files:
                files["jsonl"].write(json.dumps(as_json(row), ensure_ascii=False) + "\n")
    finally:
        for fh in files.values():
            fh.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("-n", type=int, default=300, help="how many customers (default 300)")
    parser.add_argument("--out", default=str(Path(__file__).parent / "customers"), help="path without extension")
    parser.add_argument("--anchor", default="2026-11-29T12:00:00Z", help="the 'now' the dates lead up to")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--formats", default="csv,jsonl")
    args = parser.parse_args()
    anchor = datetime.fromisoformat(args.anchor.replace("Z", "+00:00")).astimezone(UTC)
    generate(args.n, Path(args.out), anchor, args.seed, tuple(args.formats.split(",")))


if __name__ == "__main__":
    main()
