"""`llm logs`: the conversation log, newest first."""

# No `from __future__ import annotations`: Typer reads each parameter's annotation, and
# string annotations would be compiled and evaluated twice per command it builds.

from typing import Annotated

import typer

from convergio_llm.cli import options as opt
from convergio_llm.cli.errors import finish, guard

app = typer.Typer(**opt.APP_SETTINGS)


@app.command()
@guard
def logs(
    ctx: typer.Context,
    cid: Annotated[
        str | None,
        typer.Argument(metavar="[CID]", help="Show this conversation (default: list them)."),
    ] = None,
    json_out: opt.Json = False,
    limit: Annotated[
        int, typer.Option("--limit", "-n", min=1, metavar="N", help="At most N entries.")
    ] = 20,
) -> None:
    """Show logged conversations, or one conversation's exchanges."""
    from convergio_llm.cli.logs_impl import logs_command

    finish(logs_command(ctx.obj, cid, json_out=json_out, limit=limit))
