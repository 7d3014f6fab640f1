"""Import profiles: `seg profiles` and `seg profiles show NAME|FILE`."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from ..render import print_json, table
from .common import seg


def profiles_list(ctx: typer.Context, json_: Annotated[bool, typer.Option("--json")] = False) -> None:
    """List import profiles: the built-in ones and those saved by seg apply."""
    if ctx.invoked_subcommand:
        return
    profiles = seg(ctx).catalog.profiles.list()
    rows = [
        {
            "name": p.name,
            "source": "built-in" if p.builtin else "saved",
            "key": " else ".join(p.key),
            "columns": ", ".join(f"{c.target} <- {' + '.join(c.headers)}" for c in p.columns),
            "description": p.description or "",
        }
        for p in profiles
    ]
    if json_:
        print_json(
            [{**r, "columns": {c.target: c.to_dict() for c in p.columns}} for r, p in zip(rows, profiles, strict=True)]
        )
        return
    table(rows, ["name", "source", "key", "description"])


def profiles_show(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(metavar="NAME|FILE", help="A profile's name, or a profile file.")],
) -> None:
    """Print a profile as a profile file (YAML): a start for your own."""
    import yaml

    profile = seg(ctx).profile(name)
    text = yaml.safe_dump(
        profile.to_dict(standalone=True), sort_keys=False, allow_unicode=True, width=100, default_flow_style=False
    )
    if profile.builtin:
        extra = []
        if profile.opt_in:
            extra.append(f"# built in: a file without the {profile.opt_in[0]} column: nobody consented (opted out)")
        if profile.hashes:
            extra.append(f"# built in: the hashes in {', '.join(profile.hashes)} become attributes named by their keys")
        if profile.file_consent:
            extra.append("# built in: an export with UNSUB_* or CLEAN_* columns opts everyone out")
        if any(c.guard for c in profile.columns):
            extra.append("# built in: the spreadsheet guard ' is stripped from ids and phones")
        text = "".join(line + "\n" for line in extra) + text
    sys.stdout.write(text)


def register(app: typer.Typer) -> None:
    profiles = typer.Typer(help="Import profiles: list them (no subcommand) or show one as YAML.")
    profiles.callback(invoke_without_command=True)(profiles_list)
    profiles.command("show")(profiles_show)
    app.add_typer(profiles, name="profiles")
