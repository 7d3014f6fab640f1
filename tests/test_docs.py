"""The README stays honest: every command is documented, and its Python example runs."""

from __future__ import annotations

import re
import shutil

from conftest import EXAMPLE_YAML, ROOT, SAMPLE_CSV

README = (ROOT / "README.md").read_text(encoding="utf-8")


def _commands() -> list[str]:
    import typer.main

    from segcli.cli.app import app

    group = typer.main.get_command(app)
    names = []
    for name, command in group.commands.items():
        sub = getattr(command, "commands", None)
        names.append(name)
        if sub:
            names += [f"{name} {s}" for s in sub]
    return names


def test_every_command_is_documented():
    missing = [c for c in _commands() if f"`seg {c}" not in README]
    assert not missing, f"commands missing from README.md: {missing}"


def test_quick_start_is_one_block_of_two_commands():
    section = README.split("## Quick start", 1)[1].split("\n#", 1)[0]
    blocks = re.findall(r"```\w*\n(.*?)```", section, re.S)
    assert len(blocks) == 1
    commands = [line for line in blocks[0].splitlines() if line.strip()]
    assert len(commands) == 2
    assert "pip install ." in commands[0] and "seg " in commands[0]
    assert "[test]" in commands[1] and commands[1].rstrip().endswith("pytest")


def test_python_api_example_runs(tmp_path, monkeypatch, capsys):
    block = README.split("## Python API", 1)[1].split("```python\n", 1)[1].split("```", 1)[0]
    (tmp_path / "sample_data").mkdir()
    shutil.copy(SAMPLE_CSV, tmp_path / "sample_data" / "customers.csv")
    shutil.copy(EXAMPLE_YAML, tmp_path / "segments.example.yaml")
    monkeypatch.chdir(tmp_path)
    exec(compile(block, "README.md", "exec"), {})
    out = capsys.readouterr().out
    assert "300 0" in out and "False" in out and "Omani leads" in out
    assert "matched by the segments" in out and (tmp_path / "audience.csv").exists()
