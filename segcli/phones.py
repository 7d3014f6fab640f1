"""Phone numbers in E.164 (``+96891234567``), through Google's ``phonenumbers`` (SPEC §8, §14).

A number is read in the region of its row (its country) or, failing that, the source's default
region; ``+`` (or ``00``) and a country code need neither. If the regional reading is not a valid
number but ``+`` followed by the same digits is (WhatsApp's ``97427051223``), that is the
reading. A value that is not a *possible* number (too short or too long for its country, no
country to read it in) is an invalid value; a possible one that is not valid (a new range the
library does not know yet) is kept, in the region's reading, else (when the digits cannot be a
number of the region at all) as ``+`` and its digits.

Numbers already in E.164, which most exports write, take a short path that gives the library's
answer without its full parse (a differential test holds it to that); ``phonenumbers`` itself is
imported on first use, not when seg starts.
"""

from __future__ import annotations

import re
import traceback
from functools import cache

from .errors import InvalidValue

#: ``+``, then 8 to 15 digits: a number in E.164 (the short path's candidates).
_E164 = re.compile(r"\+([1-9][0-9]{7,14})\Z")
_DIGITS = re.compile(r"[0-9]+")
#: Arabic-Indic, Extended Arabic-Indic and full-width digits, read as ASCII digits.
_ASCII_DIGITS = str.maketrans(
    {chr(base + i): str(i) for base in (0x660, 0x6F0, 0xFF10) for i in range(10)} | {"＋": "+"}
)
MAX_PHONE_TEXT = 64


def normalize_phone(raw: str, region: str | None = None) -> str:
    """``raw`` in E.164, read in ``region`` (ISO 3166 alpha-2) if it has no country code;
    InvalidValue if it is not a possible phone number."""
    text = raw.strip().lstrip("'").strip()  # "'" is a spreadsheet's guard, as Shopify writes ids and phones
    match = _E164.match(text)
    if match is not None:
        fast = _e164_as_is(match.group(1))
        if fast is not None:
            return text
    return _parse(text, region)


def _parse(text: str, region: str | None) -> str:
    import phonenumbers

    if len(text) > MAX_PHONE_TEXT:
        raise InvalidValue(f'"{text[:30]}..." is not a phone number (longer than {MAX_PHONE_TEXT} characters)')
    text = text.translate(_ASCII_DIGITS)
    digits = "".join(_DIGITS.findall(text))
    if text.startswith("+"):
        number = _read(text, None)
        if number is not None and phonenumbers.is_possible_number(number):
            return _e164(number)
        raise InvalidValue(f'"{text}" is not a phone number')
    regional = _read(text, region) if region else None
    if regional is not None and phonenumbers.is_valid_number(regional):
        return _e164(regional)
    # WhatsApp writes the country code without "+" (97427051223); "00" dials out almost everywhere.
    for candidate in ("+" + digits[2:] if digits.startswith("00") else "", "+" + digits):
        number = _read(candidate, None) if len(candidate) > 1 else None
        if number is not None and phonenumbers.is_valid_number(number):
            return _e164(number)
    if regional is not None and phonenumbers.is_possible_number(regional):
        return _e164(regional)
    if region:  # a number that cannot be one in the region: "+" and its digits, if that is a whole number
        number = _read("+" + digits, None)
        if number is not None and phonenumbers.is_possible_number_with_reason(number) == 0:  # IS_POSSIBLE
            return _e164(number)
    if not region and len(digits) >= 6 and not digits.startswith("00"):
        raise InvalidValue(
            f'"{text}" is not a phone number with its country code (write it as +968..., or give the '
            "country: the row's country, the profile's default_region, or seg config set default_region)"
        )
    raise InvalidValue(f'"{text}" is not a phone number{f" in {region}" if region else ""}')


def _read(text: str, region: str | None):
    """The library's reading of ``text`` (None if it has none). Without a region, only a number
    that starts with + has one: the library is not asked (it would raise)."""
    import phonenumbers

    if region is None and not text.lstrip().startswith("+"):
        return None
    try:
        return phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException as exc:
        # phonenumbers keeps an exception in a local of its parse frame: a reference cycle that
        # holds every caller's frame (a chunk of rows) until the cycle collector runs, and the
        # import command turns that collector off. Clearing the frames breaks the cycle.
        traceback.clear_frames(exc.__traceback__)
        return None


def _e164(number) -> str:
    import phonenumbers

    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def _e164_as_is(digits: str) -> str | None:
    """``+digits`` if ``phonenumbers`` would read it as that same number and find it possible,
    else None (then the full parse decides). It would when the digits start with a country
    calling code, the rest does not begin with what that country's numbers drop as a national
    prefix or with a 0, and its length is a possible one there (which depends on the length only)."""
    for size in (1, 2, 3):
        info = _calling_code(digits[:size])
        if info is not None:
            national = digits[size:]
            prefix, lengths = info
            if national[:1] == "0" or (prefix is not None and prefix.match(national)):
                return None
            return digits if len(national) in lengths else None
    return None


@cache
def _calling_code(code: str) -> tuple[re.Pattern | None, frozenset[int]] | None:
    """For a country calling code: the pattern of its national prefix (as ``phonenumbers``
    strips it when parsing) and the lengths of its possible national numbers; None if no
    country has that code."""
    import phonenumbers
    from phonenumbers.phonemetadata import PhoneMetadata

    number = int(code)
    if number not in phonenumbers.COUNTRY_CODE_TO_REGION_CODE:
        return None
    region = phonenumbers.region_code_for_country_code(number)
    metadata = PhoneMetadata.metadata_for_region_or_calling_code(number, region)
    if metadata is None:
        return None
    prefix = metadata.national_prefix_for_parsing
    lengths = frozenset(
        n
        for n in range(2, 18)
        if phonenumbers.is_possible_number(phonenumbers.PhoneNumber(country_code=number, national_number=int("9" * n)))
    )
    return (re.compile(prefix) if prefix else None), lengths


def phone_column(cells: list[str], regions: list[str | None] | None, default_region: str | None) -> list:
    """``[normalize_phone(c, region) for each cell]`` for a column of CSV cells (an empty cell is
    missing: None), each read in its row's region if ``regions`` gives one, else ``default_region``.
    InvalidValue if any cell is not a phone number."""
    out: list[str | None] = []
    match = _E164.match
    for i, raw in enumerate(cells):
        m = match(raw)
        if m is not None and _e164_as_is(m.group(1)) is not None:
            out.append(raw)
        elif not raw.strip():
            out.append(None)
        else:
            region = regions[i] if regions is not None and regions[i] else default_region
            out.append(normalize_phone(raw, region))
    return out
