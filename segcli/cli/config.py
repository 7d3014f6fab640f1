"""Settings kept in the database: `seg config`, `seg config get|set|unset`."""

from __future__ import annotations

from typing import Annotated

import typer

from ..render import note, print_json, say, table
from .common import seg


def config_list(ctx: typer.Context, json_: Annotated[bool, typer.Option("--json")] = False) -> None:
    """List the settings: name, value (the default if not set), and what each is for."""
    if ctx.invoked_subcommand:
        return
    rows = seg(ctx).settings.list()
    if json_:
        print_json({r["name"]: r["value"] for r in rows})
        return
    table(
        [{**r, "value": r["value"] or "", "set": "set" if r["set"] else "default"} for r in rows],
        ["name", "value", "set", "help"],
    )


def config_get(ctx: typer.Context, name: str) -> None:
    """Print one setting's value (its default if it is not set)."""
    say([seg(ctx).settings.get(name) or ""])


def config_set(ctx: typer.Context, name: str, value: str) -> None:
    """Store a setting in the database."""
    stored = seg(ctx).settings.set(name, value)
    note(f"{name.strip().lower()} = {stored}")


def config_unset(ctx: typer.Context, name: str) -> None:
    """Remove a setting, so that its default applies."""
    seg(ctx).settings.unset(name)
    note(f"{name.strip().lower()}: back to its default")


def register(app: typer.Typer) -> None:
    config = typer.Typer(help="Settings kept in the database: list them (no subcommand), get, set, unset.")
    config.callback(invoke_without_command=True)(config_list)
    config.command("get")(config_get)
    config.command("set")(config_set)
    config.command("unset")(config_unset)
    app.add_typer(config, name="config")
