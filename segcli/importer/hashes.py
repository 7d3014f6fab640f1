"""Cells that hold several values: Chatwoot's hashes and Mailchimp's quoted tag lists.

Chatwoot writes a contact's ``custom_attributes`` and ``additional_attributes`` (JSON in its
database) with Ruby's ``Hash#inspect``: ``{"city" => "Muscat", "vip" => true, "x" => nil}``
(``{"city"=>"Muscat"}`` before Ruby 3.4). ``parse_hash`` reads that, and JSON, into a dict; a
nested hash becomes its JSON text (one attribute), a list an array.
"""

from __future__ import annotations

import csv
import json
import re

from ..errors import InvalidValue

# Ruby's inspect outside strings: "=>" for ":", nil for null; inside strings, escapes that JSON lacks.
_TOKEN = re.compile(r'"(?:[^"\\]|\\.)*"|=>|\bnil\b|[^"=n]+|.', re.DOTALL)
_RUBY_ESCAPES = {"\\#": "#", "\\e": "\\u001b", "\\a": "\\u0007", "\\v": "\\u000b", "\\s": " ", "\\'": "'"}
MAX_HASH = 1 << 20


def parse_hash(text: str) -> dict[str, object]:
    """The attributes a hash cell holds (``{}`` or empty: none). InvalidValue if it is not a
    hash as Ruby or JSON writes one."""
    text = text.strip()
    if not text:
        return {}
    if len(text) > MAX_HASH:
        raise InvalidValue("a hash of more than 1 MiB")
    try:
        value = json.loads(text)
    except (ValueError, RecursionError):
        value = _ruby(text)
    if not isinstance(value, dict):
        raise InvalidValue(f'"{text[:40]}" is not a hash of attributes ({{"key" => value}})')
    out: dict[str, object] = {}
    for key, item in value.items():
        if isinstance(item, dict):
            item = json.dumps(item, ensure_ascii=False, sort_keys=True) if item else None
        elif isinstance(item, list):
            item = [v if isinstance(v, str) else json.dumps(v, ensure_ascii=False) for v in item]
        out[str(key)] = item
    return out


def _ruby(text: str) -> object:
    parts = []
    for token in _TOKEN.findall(text):
        if token.startswith('"') and len(token) > 1:
            for ruby, js in _RUBY_ESCAPES.items():
                token = token.replace(ruby, js)
            parts.append(token)
        elif token == "=>":
            parts.append(":")
        elif token == "nil":
            parts.append("null")
        else:
            parts.append(token)
    try:
        return json.loads("".join(parts))
    except (ValueError, RecursionError):
        raise InvalidValue(f'"{text[:40]}" is not a hash of attributes ({{"key" => value}})') from None


def parse_quoted_list(text: str) -> list[str]:
    """Mailchimp's TAGS cell: ``"VIP","Eid 2026"`` (each name quoted, commas between) as a list;
    a plain ``a, b`` cell works too."""
    text = text.strip()
    if not text:
        return []
    row = next(csv.reader([text], skipinitialspace=True), [])
    return [item.strip() for item in row if item.strip()]
