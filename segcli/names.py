"""Languages, countries and platforms by name: codes (``ar``, ``OMN``), English names from ISO
(pycountry), and names in any language that CLDR knows (``العربية``, ``Arabisch``, ``عُمان``,
``Omán``) through ``language_data``, the CLDR name data of the ``langcodes`` library.

Every lookup is exact, never a guess: a name that CLDR gives to two codes, or a prefix of a name,
is not a match. The name data (about 100,000 names) is loaded on first use, not when seg starts
(``seg count`` never needs it), and each distinct value is looked up once.
"""

from __future__ import annotations

import re
import unicodedata
from functools import cache, lru_cache

from .errors import InvalidValue

#: A language tag (BCP 47, or a POSIX locale as exports write it: ``en_US``).
_TAG = re.compile(r"[A-Za-z]{2,3}([-_][A-Za-z0-9]{1,8})*\Z")


def _key(text: str) -> str:
    """A name as the tables below hold it: case, accents and marks (``عُمان``), Arabic letter
    variants (``إ`` ``أ`` ``آ`` -> ``ا``, ``ى`` -> ``ي``, ``ة`` -> ``ه``), punctuation and
    spacing do not count."""
    text = unicodedata.normalize("NFKD", text.casefold())
    text = "".join(c for c in text if not unicodedata.combining(c) and unicodedata.category(c) != "Cf")
    text = text.translate(_ARABIC_VARIANTS)
    return " ".join(re.sub(r"[\W_]+", " ", text).split())


_ARABIC_VARIANTS = str.maketrans({"أ": "ا", "إ": "ا", "آ": "ا", "ٱ": "ا", "ى": "ي", "ة": "ه", "ـ": None})


@cache
def _iso_languages() -> dict[str, str]:
    """ISO 639: codes (2 and 3 letters) and English names of the languages that have a 2-letter code."""
    import pycountry  # imported on first use: it costs ~70 ms

    table: dict[str, str] = {}
    for lang in pycountry.languages:
        code = getattr(lang, "alpha_2", None)
        if not code:
            continue
        names = [lang.name, getattr(lang, "common_name", None), getattr(lang, "inverted_name", None)]
        for name in filter(None, names):
            for part in name.split(";"):
                table.setdefault(_key(part), code)
                table.setdefault(_key(re.sub(r"\s*\(.*\)$", "", part.strip())), code)
        table.setdefault(lang.alpha_3.lower(), code)
        if getattr(lang, "bibliographic", None):
            table.setdefault(lang.bibliographic.lower(), code)
        table[code] = code
    # Everyday English names that ISO 639 spells otherwise.
    table.update({"greek": "el", "farsi": "fa", "persian": "fa", "kyrgyz": "ky", "pashto": "ps"})
    return table


@cache
def _iso_countries() -> dict[str, str]:
    """ISO 3166: codes and English names (common and official: ``Sultanate of Oman``)."""
    import pycountry

    table: dict[str, str] = {}
    for country in pycountry.countries:
        code = country.alpha_2
        for name in (
            country.alpha_2,
            country.alpha_3,
            country.name,
            getattr(country, "common_name", None),
            getattr(country, "official_name", None),
        ):
            if name:
                table.setdefault(_key(name), code)
    table.update({"uk": "GB", "uae": "AE", "usa": "US", "ksa": "SA"})
    return table


@cache
def _cldr(category: str) -> dict[str, str]:
    """CLDR's names of every language or territory in every language it covers, by ``_key``;
    a key that two codes share is left out (it names neither for sure)."""
    from language_data.names import load_trie  # the CLDR name data that langcodes reads
    from language_data.util import data_filename

    trie = load_trie(data_filename(f"trie/und/name_to_{category}.marisa"))
    table: dict[str, str] = {}
    shared: set[str] = set()
    for name, code in trie.items():
        key = _key(name)
        value = code.decode("utf-8")
        if table.setdefault(key, value) != value:
            shared.add(key)
    for key in shared:
        del table[key]
    return table


@lru_cache(maxsize=4096)
def language_code(text: str) -> str:
    """The ISO 639-1 code of a language written as a code (``ar``, ``ara``), a tag (``ar-OM``,
    ``en_US``, ``iw``), or a name in any language CLDR knows (``Arabic``, ``العربية``,
    ``Arabisch``, ``English - United States``); InvalidValue if it is none of them."""
    found = _language(text.strip())
    if found is None:
        raise InvalidValue(
            f'"{text.strip()}" is not a known language (use an ISO 639-1 code like ar, or a name like Arabic)'
        )
    return found


def _language(text: str) -> str | None:
    iso = _iso_languages()
    key = _key(text)
    if key in iso:
        return iso[key]
    if _TAG.match(text):
        primary = re.split(r"[-_]", text.lower(), maxsplit=1)[0]  # ar-OM -> ar
        found = iso.get(primary) or _tag_language(text)  # langcodes for deprecated codes: iw -> he
        if found is not None:
            return found
    code = _cldr("language").get(key)
    if code is not None:
        return _two_letters(code)
    # A name with a qualifier, as CRMs write their language options: "English - United States",
    # "English (United States)", "Arabic, Gulf".
    head = re.split(r"\s+-\s+|\s*[(,،]", text, maxsplit=1)[0]
    if head and head != text:
        return _language(head)
    return None


def _tag_language(tag: str) -> str | None:
    """The language of a BCP 47 tag, with its deprecated codes replaced (``iw`` -> ``he``)."""
    import langcodes

    try:
        language = langcodes.Language.get(tag.replace("_", "-"), normalize=True).language
    except (ValueError, LookupError):
        return None
    return _two_letters(language) if language else None


def _two_letters(code: str) -> str | None:
    primary = code.split("-")[0].lower()
    if len(primary) == 2:
        return primary
    return _iso_languages().get(primary)  # ara -> ar; a language with no 2-letter code -> None


@lru_cache(maxsize=4096)
def country_code(text: str) -> str:
    """The ISO 3166-1 alpha-2 code of a country written as a code (``OM``, ``OMN``) or a name
    in any language CLDR knows (``Oman``, ``Sultanate of Oman``, ``عُمان``, ``Omán``);
    InvalidValue if it is none of them."""
    text = text.strip()
    key = _key(text)
    code = _iso_countries().get(key)
    if code is None:
        found = _cldr("territory").get(key)
        if found is not None and _iso_countries().get(found.lower()) == found:
            code = found  # a country, not a region of the world (CLDR's 419, EU)
    if code is None:
        raise InvalidValue(f'"{text}" is not a known country (use ISO 3166 codes like OM or OMN, or a name like Oman)')
    return code


PLATFORMS = ("whatsapp", "instagram", "webchat", "messenger", "telegram", "sms", "email")

#: How exports name the channels (SPEC §8): Chatwoot's inbox types, inbox tools' channel names.
#: Compared without case, spaces, ``-``, ``_``, ``:`` or ``.``.
PLATFORM_SYNONYMS = {
    "whatsapp": (
        "wa",
        "whatsapp business",
        "whatsapp business api",
        "whatsapp cloud api",
        "whatsapp cloud",
        "channel::whatsapp",
    ),
    "instagram": ("ig", "insta", "instagram direct", "instagram dm", "channel::instagram"),
    "webchat": (
        "web chat",
        "website chat",
        "live chat",
        "web widget",
        "website widget",
        "chat widget",
        "website",
        "channel::webwidget",
    ),
    "messenger": (
        "facebook messenger",
        "fb messenger",
        "facebook",
        "fb",
        "fbm",
        "facebook page",
        "channel::facebookpage",
    ),
    "telegram": ("tg", "channel::telegram"),
    "sms": ("text message", "text", "twilio sms", "channel::sms", "channel::twiliosms"),
    "email": ("e-mail", "mail", "channel::email"),
}


def _platform_key(text: str) -> str:
    return re.sub(r"[\s\-_:.]+", "", text.casefold())


@cache
def _platforms() -> dict[str, str]:
    table = {_platform_key(p): p for p in PLATFORMS}
    for platform, names in PLATFORM_SYNONYMS.items():
        table.update((_platform_key(name), platform) for name in names)
    return table


def platform_code(text: str) -> str:
    """A platform as stored (``whatsapp``), from its name or a synonym (``WhatsApp``, ``Web
    Chat``, ``Facebook Messenger``, ``IG``); InvalidValue otherwise."""
    found = _platforms().get(_platform_key(text.strip()))
    if found is None:
        raise InvalidValue(f'"{text.strip()}" is not a platform (one of {", ".join(PLATFORMS)})')
    return found
