"""`llm models`: every model of every backend, and whether it can be used now."""

from __future__ import annotations

import click

from convergio_llm.cli import options as opt
from convergio_llm.cli.context import Environment
from convergio_llm.cli.errors import finish, guard


@click.command()
@opt.json_option
@click.option("--offline", is_flag=True, help="Answer without any network probe.")
@click.option(
    "--provider", "-p", "providers", multiple=True, help="Only these providers (repeatable)."
)
@click.option("--available", "available_only", is_flag=True, help="Only models usable now.")
@click.option(
    "--preload", metavar="PROVIDER:MODEL", help="Load a model into memory (Ollama) and exit."
)
@click.option(
    "--unload", metavar="PROVIDER:MODEL", help="Unload a model from memory (Ollama) and exit."
)
@click.pass_obj
@guard
def models(
    env: Environment,
    json_out: bool,
    offline: bool,
    providers: tuple[str, ...],
    available_only: bool,
    preload: str | None,
    unload: str | None,
) -> None:
    """List every model of every provider, with availability and why not."""
    from convergio_llm.cli.models_impl import list_models, load_or_unload

    if preload or unload:
        finish(load_or_unload(env, preload, unload, json_out))
    finish(list_models(env, json_out, offline, list(providers), available_only))
