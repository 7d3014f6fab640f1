"""Text compares by its NFKC_Casefold (SPEC §2, §13): case, how Unicode spells the same text (NFC or
NFD, full-width forms) and default-ignorable characters (zero-width joiners, bidi marks) do not
matter, in values, filter literals, list elements and segment names."""

from __future__ import annotations

import json
import shutil
import sqlite3
import subprocess
import unicodedata

import pytest
from conftest import db_path, run, write
from hypothesis import given, settings
from hypothesis import strategies as st

from segcli.store.migrations import SCHEMA_VERSION
from segcli.values import _fold_by_character, fold

NFC, NFD = "caf\u00e9", "cafe\u0301"
ZWJ, ZWNJ, LRM, RLI, PDI, SHY, VS16 = "\u200d", "\u200c", "\u200e", "\u2067", "\u2069", "\u00ad", "\ufe0f"


@pytest.mark.parametrize(
    ("text", "folded"),
    [
        (NFC, "café"),
        (NFD, "café"),
        ("CAFE\u0301", "café"),
        ("ＶＩＰ", "vip"),  # full-width
        ("ｖｉｐ", "vip"),
        (f"v{ZWJ}ip", "vip"),
        (f"{LRM}vip{RLI}{PDI}", "vip"),
        (f"v{SHY}i{ZWNJ}p{VS16}", "vip"),
        ("Straße", "strasse"),
        ("ÉLITE", "élite"),
        ("ﬁ", "fi"),  # a compatibility ligature
        ("①", "1"),
        ("Ⅻ", "xii"),
        ("ᾳ\u0f75", "αι\u0f71\u0f74"),  # the iota subscript folds to a letter before the Tibetan marks
        ("\u0391\u0345\u0301", "αί"),  # ... and takes the accent that follows it, as Unicode says
        ("محمد", "محمد"),
        ("Ahmed Al-Balushi", "ahmed al-balushi"),
    ],
)
def test_fold_is_nfkc_casefold(text, folded):
    assert fold(text) == folded


def test_the_ascii_shortcut_is_nfkc_casefold():
    """ASCII text folds by ``lower()``: NFKC leaves ASCII alone, its case fold is its lower case
    and none of it is default-ignorable. Checked against the general path, character by character."""
    for code in range(128):
        assert fold(chr(code)) == _fold_by_character(chr(code)), hex(code)


@settings(max_examples=400, deadline=None)
@given(st.text(max_size=12))
def test_fold_ignores_normalization_and_is_stable(text):
    assert fold(unicodedata.normalize("NFC", text)) == fold(unicodedata.normalize("NFD", text)) == fold(text)
    assert fold(fold(text)) == fold(text)
    assert fold(text) == _fold_by_character(text)  # the shortcut equals Unicode's per-character definition


# Unicode's own NFKC_Casefold table, as Perl's Unicode::UCD gives it (DerivedNormalizationProps.txt):
# each code point that changes, and what it becomes.
_PERL_TABLE = r"""
use Unicode::UCD qw(prop_invmap);
print Unicode::UCD::UnicodeVersion(), "\n";
my ($list, $map, $format, $default) = prop_invmap("NFKC_Casefold");
for my $i (0 .. $#$list) {
    my ($start, $m) = ($list->[$i], $map->[$i]);
    my $end = $i < $#$list ? $list->[$i + 1] - 1 : 0x10FFFF;
    next if !ref($m) && $m ne "" && $m eq $default;
    for my $cp ($start .. $end) {
        my $to = ref($m) ? join(" ", @$m) : $m eq "" ? "" : $m + ($cp - $start);
        print "$cp;$to\n";
    }
}
"""


@pytest.fixture(scope="module")
def unicode_table() -> dict[int, str]:
    if shutil.which("perl") is None:
        pytest.skip("perl is not installed: no reference table")
    proc = subprocess.run(["perl", "-e", _PERL_TABLE], capture_output=True, text=True)
    if proc.returncode != 0:
        pytest.skip(f"perl has no Unicode::UCD: {proc.stderr.strip()}")
    version, *lines = proc.stdout.splitlines()
    if version != unicodedata.unidata_version:
        pytest.skip(f"perl knows Unicode {version}, Python {unicodedata.unidata_version}")
    table = {}
    for line in lines:
        code, _, to = line.partition(";")
        table[int(code)] = "".join(chr(int(c)) for c in to.split())
    assert len(table) > 10_000  # the table is really there
    return table


def _by_the_table(table: dict[int, str], text: str) -> str:
    """toNFKC_Casefold(X) as the Unicode Standard defines it: each character mapped, then NFC."""
    return unicodedata.normalize("NFC", "".join(table.get(ord(c), c) for c in text))


def test_fold_agrees_with_unicode_for_every_character(unicode_table):
    for code in [*unicode_table, *range(0x3000)]:
        if not 0xD800 <= code <= 0xDFFF:
            char = chr(code)
            assert fold(char) == _by_the_table(unicode_table, char), hex(code)


_MARKS = st.sampled_from(["\u0301", "\u0308", "\u0345", "\u037a", "\u0f71", "\u0f74", "\u05b0", ZWJ, VS16, "\u034f"])


@settings(max_examples=500, deadline=None)
@given(
    st.lists(st.one_of(st.characters(blacklist_categories=("Cs",)), _MARKS, st.sampled_from("ᾳᾄΣςΐǰİẞ")), max_size=8)
)
def test_fold_agrees_with_unicode_for_strings(unicode_table, chars):
    text = "".join(chars)
    assert fold(text) == _by_the_table(unicode_table, text)


# --- through the command line -------------------------------------------------------------------


def _ids(where: str) -> list[str]:
    r = run("filter", "--where", where, "-c", "id", "-f", "csv")
    assert r.code == 0, r
    return r.out.splitlines()[1:]


def test_spellings_of_the_same_text_match_each_other(tmp_path):
    rows = [
        ("N1", NFC, NFC),
        ("N2", NFD, NFD),
        ("W1", "x", "ｖｉｐ"),
        ("Z1", "y", f"v{ZWJ}ip"),
        ("P1", "z", "VIP"),
        ("B1", f"{RLI}café{PDI}", "lead"),
    ]
    write(tmp_path / "u.csv", "id,name,tags\n" + "".join(f"{i},{n},{t}\n" for i, n, t in rows))
    assert run("import", str(tmp_path / "u.csv")).code == 0
    assert _ids("tags contains vip") == ["P1", "W1", "Z1"]
    assert _ids("tags contains ＶＩＰ") == ["P1", "W1", "Z1"]
    assert _ids(f"tags contains {NFC}") == ["N1", "N2"]
    assert _ids(f"tags contains {NFD}") == ["N1", "N2"]
    assert _ids(f"name = {NFD}") == ["B1", "N1", "N2"]
    assert _ids(f"name in ({NFC}, x)") == ["B1", "N1", "N2", "W1"]
    assert _ids("name starts with CAF") == ["B1", "N1", "N2"]
    assert _ids(f"name ends with {NFD.upper()}") == ["B1", "N1", "N2"]


def test_list_elements_that_fold_alike_collapse_to_the_first(tmp_path):
    path = write(tmp_path / "t.jsonl", json.dumps({"id": "A", "tags": [NFD, NFC, "ＶＩＰ", f"v{ZWJ}ip", "vip"]}) + "\n")
    assert run("import", str(path)).code == 0
    shown = json.loads(run("customers", "show", "A", "--json").out)
    assert shown["tags"] == [NFD, "ＶＩＰ"]
    write(tmp_path / "t.csv", f'id,tags\nB,"{NFC},{NFD},vip,ｖｉｐ"\n')
    assert run("import", str(tmp_path / "t.csv")).code == 0
    assert json.loads(run("customers", "show", "B", "--json").out)["tags"] == [NFC, "vip"]


def test_segment_names_are_unique_however_unicode_spells_them():
    assert run("create", NFC, "--where", "tags contains vip").code == 0
    r = run("create", NFD.upper(), "--where", "tags contains x")
    assert r.code == 1 and "already exists" in r.err, r
    assert run("create", f"Caf{ZWJ}é", "--where", "tags contains x").code == 1
    assert json.loads(run("show", NFD, "--json").out)["name"] == NFC


# --- the migration of a database written with str.casefold ---------------------------------------


def _old_fold_items(elements: list[str]) -> str | None:
    return "\x1f" + "\x1f".join(e.casefold() for e in elements) + "\x1f" if elements else None


def test_a_database_folded_with_casefold_is_refolded_when_opened(tmp_path):
    """A file written by seg before NFKC_Casefold (schema 3: fold columns made by ``str.casefold``,
    lists that kept NFC and NFD spellings of one tag, two segments whose names fold alike now)
    opens migrated: every fold column recomputed, lists collapsed as an import would, the later
    segment renamed rather than the migration failing, and the same file re-imports unchanged."""
    csv_path = write(
        tmp_path / "c.csv",
        f'id,name,tags,note,langs\nU1,{NFC},"{NFC},VIP",Ｆｕｌｌ,"ar,AR"\n'
        f'U2,{NFD},"{NFD},vip",n{ZWJ}ote,\nＵ3,x,ｖｉｐ,,\n',
    )
    assert run("attributes", "define", "langs", "--type", "array").code == 0
    assert run("import", str(csv_path)).code == 0
    assert run("create", "By name", "--where", f"name = {NFC}").code == 0
    assert run("create", NFC, "--where", "tags contains vip").code == 0

    # Make it the file seg wrote before (schema 3): casefold folds, a list holding both spellings.
    conn = sqlite3.connect(db_path())
    conn.execute("UPDATE customers SET tags = ? WHERE id = 'U2'", (json.dumps([NFD, NFC, "vip"], ensure_ascii=False),))
    for pk, cid, name, tags, note, langs in conn.execute(
        "SELECT pk, id, name, tags, attr_note, attr_langs FROM customers"
    ).fetchall():
        conn.execute(
            "UPDATE customers SET id_fold = ?, name_fold = ?, tags_fold = ?, attr_note__fold = ?, attr_langs__fold = ? WHERE pk = ?",
            (
                cid.casefold(),
                name.casefold(),
                _old_fold_items(json.loads(tags)),
                note and note.casefold(),
                _old_fold_items(json.loads(langs)) if langs else None,
                pk,
            ),
        )
    conn.execute("UPDATE segments SET name_key = lower(name)")
    conn.execute(
        "INSERT INTO segments (name, name_key, filter, model, created_at, updated_at)"
        " SELECT ?, ?, filter, model, created_at, updated_at FROM segments WHERE name = ?",
        (NFD, NFD.casefold(), NFC),
    )
    conn.execute("DROP TABLE settings")  # schema 3 had none
    conn.execute("PRAGMA user_version = 3")
    conn.commit()
    conn.close()

    listed = json.loads(run("list", "--json").out)
    assert [s["name"] for s in listed] == ["By name", NFC, f"{NFD} (2)"]
    assert [s["count"] for s in listed] == [2, 3, 3]
    assert _ids("tags contains vip") == ["U1", "U2", "Ｕ3"]
    assert _ids(f"tags contains {NFD}") == ["U1", "U2"]
    assert _ids("note = full") == ["U1"]
    assert _ids("note = note") == ["U2"]
    assert _ids("id = u3") == ["Ｕ3"]
    assert json.loads(run("customers", "show", "U2", "--json").out)["tags"] == [NFD, "vip"]
    assert run("count", f"{NFD} (2)").out == "3\n"
    conn = sqlite3.connect(db_path())
    assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION  # the latest, whatever it is
    conn.close()
    r = run("import", str(csv_path))
    assert "0 created, 0 updated, 3 unchanged" in r.err, r
