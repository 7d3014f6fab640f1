"""The Typer application: global options, then the commands of each group (one module each).

Commands hold no logic of their own: options in, one API call, render out. The database is the
command's ``Session`` (``ctx.obj``), opened on first use and closed as a click context resource.
"""

from __future__ import annotations

from typing import Annotated

import typer

from .. import __version__
from . import analysis, audiences, code, config, customers, exports, profiles, segments
from .options import GLOBAL
from .session import Session

app = typer.Typer(
    help="Customer segments in SQLite: who is in this segment right now?",
    no_args_is_help=True,
    add_completion=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version(value: bool) -> None:
    if value:
        print(f"seg {__version__}")
        raise typer.Exit()


_DB, _NOW, _TZ = GLOBAL["db"], GLOBAL["now"], GLOBAL["tz"]


@app.callback()
def global_options(
    ctx: typer.Context,
    db: Annotated[str | None, typer.Option(*_DB.flags, envvar=_DB.env, help=_DB.help)] = None,
    now: Annotated[str | None, typer.Option(*_NOW.flags, envvar=_NOW.env, help=_NOW.help)] = None,
    tz: Annotated[str | None, typer.Option(*_TZ.flags, envvar=_TZ.env, help=_TZ.help)] = None,
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version.")
    ] = False,
) -> None:
    # Bad settings are usage errors before anything runs, naming where they came from. ``ctx.obj``
    # arrives as the entry point's list of what the command commits.
    session = Session(
        db,
        now,
        tz,
        db_source=_source(ctx, "db", "--db", "SEG_DB"),
        now_source=_source(ctx, "now", "--now", "SEG_NOW"),
        tz_source=_source(ctx, "tz", "--tz", "SEG_TZ"),
        committed=ctx.obj,
    )
    ctx.obj = ctx.with_resource(session)


def _source(ctx: typer.Context, param: str, option: str, variable: str) -> str:
    """The option or the variable, whichever gave the parameter its value."""
    source = ctx.get_parameter_source(param)  # Typer's own copy of click's ParameterSource
    return variable if getattr(source, "name", None) == "ENVIRONMENT" else option


for _group in (customers, segments, code, exports, config, profiles, analysis, audiences):
    _group.register(app)
