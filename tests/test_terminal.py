"""Terminal output never interprets data (SPEC §13): rich markup in names and descriptions is shown
as text, and control characters are shown escaped. Run under a real pseudo-terminal, as a person
would see them; JSON, JSONL and CSV keep the data as it is."""

from __future__ import annotations

import json
import os
import pty
import subprocess
import sys

import pytest
from conftest import read_terminal, run, write

HOSTILE = {
    "M1": "[/]",
    "M2": "[link=https://evil.example]click me[/link]",
    "M3": "Sara\x1b]0;pwned\x07\x1b[2J",  # OSC: set the window title; then clear the screen
    "M4": "abc\u202edef\x9b31m",  # a right-to-left override, a C1 control sequence introducer
}
# What must never reach the terminal from the data above (rich's own styling uses other sequences).
RAW = ("\x07", "\x1b]", "\x1b[2J", "\u202e", "\x9b", "\x1b]8;")
ESCAPED = ("Sara\\x1b]0;pwned\\x07\\x1b[2J", "abc\\u202edef\\x9b31m")


def on_terminal(*args: str, code: str = "from segcli.cli import main; main()") -> tuple[int, str]:
    """Run ``seg ARGS`` (or other Python ``code``) with stdout and stderr on a pseudo-terminal: its
    exit status and everything it showed."""
    leader, follower = pty.openpty()
    env = {**os.environ, "COLUMNS": "250", "TERM": "xterm-256color"}
    proc = subprocess.Popen(
        [sys.executable, "-c", code, *args],
        stdin=subprocess.DEVNULL,
        stdout=follower,
        stderr=follower,
        env=env,
    )
    os.close(follower)
    text = read_terminal(leader)
    return proc.wait(), text


@pytest.fixture
def hostile(tmp_path):
    body = "".join(json.dumps({"id": k, "name": v}) + "\n" for k, v in HOSTILE.items())
    assert run("import", str(write(tmp_path / "c.jsonl", body))).code == 0
    description = "desc [bold]x[/bold] \x1b[2J \u202e"
    assert run("create", "evil[/]name", "-w", "name is set", "-d", description).code == 0


def test_markup_in_names_and_descriptions_is_shown_as_text(hostile):
    code, shown = on_terminal("members", "evil[/]name")
    assert code == 0, shown
    assert "[/]" in shown and "[link=https://evil.example]click me[/link]" in shown
    assert "\x1b]8;" not in shown  # no hyperlink drawn

    code, shown = on_terminal("customers", "show", "M1")
    assert code == 0 and "[/]" in shown and "evil[/]name" in shown, shown

    code, shown = on_terminal("list")
    assert code == 0 and "evil[/]name" in shown and "desc [bold]x[/bold]" in shown, shown


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (("members", "evil[/]name"), ESCAPED),
        (("filter", "-w", "name is set"), ESCAPED),
        (("customers", "show", "M3"), ESCAPED[:1]),
        (("customers", "show", "M4"), ESCAPED[1:]),
        (("list",), ("desc [bold]x[/bold] \\x1b[2J \\u202e",)),
        (("show", "evil[/]name"), ("desc [bold]x[/bold] \\x1b[2J \\u202e",)),
        (("why", "evil[/]name", "M3"), ESCAPED[:1]),
        (("why", "evil[/]name", "M4"), ESCAPED[1:]),
    ],
)
def test_control_characters_in_data_are_shown_escaped(hostile, args, expected):
    code, shown = on_terminal(*args)
    assert code == 0, shown
    assert [raw for raw in RAW if raw in shown] == [], shown
    assert [e for e in expected if e not in shown] == [], shown


def test_names_and_values_in_notes_and_errors_are_shown_escaped(hostile, tmp_path):
    code, shown = on_terminal("create", "odd\u202ename", "-w", 'name = "x\u202ey"')
    assert code == 0 and "created odd\\u202ename: name = " in shown and "\u202e" not in shown, shown

    code, shown = on_terminal("show", "missing\u202e\x9b")
    assert code == 1 and "missing\\u202e\\x9b" in shown and "\u202e" not in shown and "\x9b" not in shown, shown

    code, shown = on_terminal("customers", "show", "C\x1b[2J")
    assert code == 1 and "C\\x1b[2J" in shown and "\x1b[2J" not in shown, shown

    code, shown = on_terminal("create", "y", "-w", "name = 'a\x1b[2J'")  # refused: a control character
    assert code == 2 and "\x1b[2J" not in shown, shown
    assert "  name = 'a\\x1b[2J'\r\n" + " " * 11 + "^^^^\r\n" in shown  # the mark under the escaped ESC

    path = write(tmp_path / "odd\x1b[2J.jsonl", '{"id": "Z1"}\n')
    code, shown = on_terminal("import", str(path))
    assert code == 0 and "odd\\x1b[2J.jsonl: 1 read" in shown and "\x1b[2J" not in shown, shown


def test_piped_human_output_is_escaped_but_data_formats_keep_the_data(hostile):
    """Piped, a table is tab-separated text: a tab, line break or control character inside a value
    is escaped, so each row stays one line of cells. JSONL and CSV are data: kept as they are."""
    out = run("members", "evil[/]name", "-c", "id,name").out
    assert out.splitlines()[1:] == [f"{k}\t{v}" for k, v in zip(HOSTILE, ("[/]", HOSTILE["M2"], *ESCAPED), strict=True)]
    why = run("why", "evil[/]name", "M3").out
    assert ESCAPED[0] in why and "\x1b" not in why
    lines = [
        json.loads(line)
        for line in run("members", "evil[/]name", "-c", "id,name", "-f", "jsonl").out.split("\n")
        if line
    ]
    assert {r["id"]: r["name"] for r in lines} == HOSTILE
    assert HOSTILE["M3"] in run("members", "evil[/]name", "-c", "id,name", "-f", "csv").out


def test_a_file_name_in_the_progress_bar_is_shown_as_text():
    """The bar's label is read as rich markup: a file name is escaped before it gets there."""
    code = (
        "import sys; from segcli.render import ExportProgress\n"
        "bar = ExportProgress(sys.argv[1]); bar.started -= 5; bar(1, 10); bar(5, 10); bar.close()"
    )
    status, shown = on_terminal("[/][/]a\x1b[2J.csv", code=code)
    assert status == 0 and "exporting to [/][/]a\\x1b[2J.csv" in shown and "\x1b[2J" not in shown, shown
