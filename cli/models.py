"""`llm models`: every model of every backend, and whether it can be used now."""

from __future__ import annotations

from typing import Annotated

import typer

from convergio_llm.cli import options as opt
from convergio_llm.cli.errors import guard


@guard
def models(
    ctx: typer.Context,
    json_out: opt.Json = False,
    offline: Annotated[
        bool, typer.Option("--offline", help="Answer without any network probe.")
    ] = False,
    provider: Annotated[
        list[str] | None,
        typer.Option(
            "--provider", "-p", help="Only these providers (repeatable).", show_default=False
        ),
    ] = None,
    available_only: Annotated[
        bool, typer.Option("--available", help="Only models that can be used now.")
    ] = False,
    preload: Annotated[
        str | None,
        typer.Option(
            "--preload",
            help="Load provider:model into memory (Ollama) and exit.",
            show_default=False,
        ),
    ] = None,
    unload: Annotated[
        str | None,
        typer.Option(
            "--unload",
            help="Unload provider:model from memory (Ollama) and exit.",
            show_default=False,
        ),
    ] = None,
) -> None:
    """List every model of every provider, with availability and why not."""
    from convergio_llm.cli.models_impl import list_models, load_or_unload

    if preload or unload:
        raise typer.Exit(load_or_unload(ctx.obj, preload, unload, json_out))
    raise typer.Exit(list_models(ctx.obj, json_out, offline, provider or [], available_only))
