"""`llm models`: every model of every backend, and whether it can be used now."""

# No `from __future__ import annotations`: Typer reads each parameter's annotation, and
# string annotations would be compiled and evaluated twice per command it builds.

from typing import Annotated

import typer

from convergio_llm.cli import options as opt
from convergio_llm.cli.errors import finish, guard

app = typer.Typer(**opt.APP_SETTINGS)


@app.command()
@guard
def models(
    ctx: typer.Context,
    json_out: opt.Json = False,
    offline: Annotated[
        bool, typer.Option("--offline", help="Answer without any network probe.")
    ] = False,
    providers: opt.Providers = None,
    available_only: Annotated[
        bool, typer.Option("--available", help="Only models usable now.")
    ] = False,
    preload: Annotated[
        str | None,
        typer.Option(
            "--preload",
            metavar="PROVIDER:MODEL",
            help="Load a model into memory (Ollama) and exit.",
        ),
    ] = None,
    unload: Annotated[
        str | None,
        typer.Option(
            "--unload",
            metavar="PROVIDER:MODEL",
            help="Unload a model from memory (Ollama) and exit.",
        ),
    ] = None,
) -> None:
    """List every model of every provider, with availability and why not."""
    from convergio_llm.cli.models_impl import list_models, load_or_unload

    if preload or unload:
        finish(load_or_unload(ctx.obj, preload, unload, json_out))
    only = list(opt.split_names(providers))
    finish(list_models(ctx.obj, json_out, offline, only, available_only))
