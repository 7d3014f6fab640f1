"""Tab completion of segment names: one shell word per name, whatever it holds, from the database
that ``--db`` earlier on the line names. Checked through the protocol Typer's completion scripts
speak, and end to end in a real interactive bash on a pseudo-terminal."""

from __future__ import annotations

import os
import pty
import subprocess
import sys

import pytest
from conftest import read_terminal, run, write

SEGMENTS = {  # name -> filter; each matches a different number of customers
    "VIP Arabic Speakers": "id = C1",
    "Women's Day": "id in (C1, C2)",
    'Say "hi"': "id in (C1, C2, C3)",
    "Women's Night": "id in (C1, C2, C3, C4, C5)",
    "Gold Tier": "id is set",
}


@pytest.fixture
def names(tmp_path):
    """The segments above in the default database (SEG_DB); "Bravo Team" (4) only in other.db."""
    body = "".join(f'{{"id": "C{i}"}}\n' for i in range(1, 7))
    assert run("import", str(write(tmp_path / "c.jsonl", body))).code == 0
    for name, where in SEGMENTS.items():
        assert run("create", name, "-w", where).code == 0
    other = str(tmp_path / "other.db")
    assert run("--db", other, "import", str(tmp_path / "c.jsonl")).code == 0
    assert run("--db", other, "create", "Bravo Team", "-w", "id in (C1, C2, C3, C4)").code == 0
    return other


def complete(monkeypatch, shell: str, *words: str, fresh: bool = False) -> list[str]:
    """What seg prints for completing the last of ``words`` (as typed), as the installed script
    asks: bash passes its words joined with newlines and the word's index; zsh the line. With
    ``fresh``, in a new process, as a shell runs it (nothing left from an earlier command)."""
    monkeypatch.setenv("_SEG_COMPLETE", f"complete_{shell}")
    monkeypatch.setenv("COMP_WORDS", "\n".join(words))
    monkeypatch.setenv("COMP_CWORD", str(len(words) - 1))
    monkeypatch.setenv("_TYPER_COMPLETE_ARGS", " ".join(words))
    if fresh:
        code = "from segcli.cli import main; main()"
        result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
        assert result.returncode == 0, result
        out = result.stdout
    else:
        result = run()
        assert result.code == 0, result
        out = result.out
    return [line for line in out.splitlines() if line]


def test_bash_gets_each_name_as_one_shell_word(names, monkeypatch):
    assert complete(monkeypatch, "bash", "seg", "count", "VI") == ["VIP\\ Arabic\\ Speakers"]
    assert complete(monkeypatch, "bash", "seg", "count", "VIP\\ A") == ["VIP\\ Arabic\\ Speakers"]
    assert complete(monkeypatch, "bash", "seg", "members", "x", "--exclude", "women\\'s\\ d") == ["Women\\'s\\ Day"]
    assert complete(monkeypatch, "bash", "seg", "show", "Sa") == ['Say\\ \\"hi\\"']
    # In a word begun with a quote, the name is written for inside that quote.
    assert complete(monkeypatch, "bash", "seg", "count", "'Wo") == ["Women'\\''s Day", "Women'\\''s Night"]
    # Only the part after a quote left open is replaced: bash's own shortest common part of two
    # names can leave one there ('Women'\''s ).
    assert complete(monkeypatch, "bash", "seg", "count", "'Women'\\''s D") == ["s Day"]
    assert complete(monkeypatch, "bash", "seg", "count", "VIP' A") == [" Arabic Speakers"]
    assert complete(monkeypatch, "bash", "seg", "count", '"Sa') == ['Say \\"hi\\""']  # readline won't close it
    assert complete(monkeypatch, "bash", "seg", "count", "Nothing") == []


def test_completion_reads_the_database_given_with_db(names, monkeypatch):
    assert complete(monkeypatch, "bash", "seg", "--db", names, "count", "Br", fresh=True) == ["Bravo\\ Team"]
    assert complete(monkeypatch, "bash", "seg", "count", "Br", fresh=True) == []  # SEG_DB's has no Bravo
    zsh = complete(monkeypatch, "zsh", "seg", "--db", names, "count", "Br", fresh=True)
    assert zsh == ["""_arguments '*: :(("Bravo Team"))'"""]
    assert complete(monkeypatch, "zsh", "seg", "count", "VI") == ["""_arguments '*: :(("VIP Arabic Speakers"))'"""]


def test_completion_in_a_real_bash(names, tmp_path, monkeypatch):
    """Type lines with <Tab> in an interactive bash that sourced seg's completion script, and run
    them: each must count the segment it completed to (so the name arrived as one word)."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    launcher = write(
        bin_dir / "seg", f'#!/bin/sh\nexec "{sys.executable}" -c "from segcli.cli import main; main()" "$@"\n'
    )
    launcher.chmod(0o755)
    with monkeypatch.context() as patch:
        patch.setenv("_SEG_COMPLETE", "source_bash")
        script = write(tmp_path / "seg.bash", run().out)
    typed = [
        "seg count VI\t",  # VIP\ Arabic\ Speakers: 1
        "seg count 'Wo\tD\t",  # 'Women'\''s  (common to two names), then 'Women'\''s Day': 2
        'seg count "Sa\t',  # "Say \"hi\"": 3
        f"seg --db {names} count Br\t",  # Bravo\ Team: 4
        "seg count Wo\tN\t",  # Women\'s\  (common to two names), then Women\'s\ Night: 5
    ]
    shown = in_bash([f"source {script}", *typed], {"PATH": f"{bin_dir}:{os.environ['PATH']}"})
    assert "seg count VIP\\ Arabic\\ Speakers \r\n" in shown, shown
    assert [line for line in shown.split("\r\n") if line.isdigit()] == ["1", "2", "3", "4", "5"], shown
    assert "error" not in shown, shown


def in_bash(lines: list[str], env: dict[str, str]) -> str:
    """Everything an interactive bash on a pseudo-terminal showed for the typed ``lines``."""
    leader, follower = pty.openpty()
    env = {**os.environ, **env, "PS1": "$ ", "TERM": "dumb", "HISTFILE": "/dev/null", "INPUTRC": "/dev/null"}
    proc = subprocess.Popen(
        ["bash", "--norc", "--noprofile", "-i"], stdin=follower, stdout=follower, stderr=follower, env=env
    )
    os.close(follower)
    os.write(leader, "".join(line + "\n" for line in [*lines, "exit"]).encode())
    text = read_terminal(leader)
    proc.kill()
    proc.wait()
    return text
