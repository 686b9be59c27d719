"""The `llm` app: wiring only. Each subcommand lives in its own module.

Subcommands load lazily: `llm route` imports and builds only the route command, so
a shell loop of `llm route` pays for one command, not five (start-up is a feature).
"""

from __future__ import annotations

import importlib
from typing import Annotated, Any

import click
import typer
from typer.core import TyperGroup

from convergio_llm.cli.context import Environment

VERSION = "0.1.0"

# name → module; each module defines a function of the same name (the command).
COMMANDS = {
    "route": "convergio_llm.cli.route",
    "run": "convergio_llm.cli.run",
    "models": "convergio_llm.cli.models",
    "cost": "convergio_llm.cli.cost",
    "bench": "convergio_llm.cli.bench",
}
_SETTINGS: dict[str, Any] = {
    "add_completion": False,
    "pretty_exceptions_enable": False,
    "rich_markup_mode": None,
}


def load_command(name: str) -> click.Command:
    func = getattr(importlib.import_module(COMMANDS[name]), name)
    single = typer.Typer(**_SETTINGS)
    single.command(name=name)(func)
    return typer.main.get_command(single)


class LazyGroup(TyperGroup):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in COMMANDS:
            return None
        command = load_command(cmd_name)
        command.name = cmd_name
        return command


app = typer.Typer(
    name="llm",
    cls=LazyGroup,
    help="Send a prompt to the right model: local when it must stay private, offline or free; "
    "cloud when it needs the quality.",
    no_args_is_help=True,
    context_settings={"help_option_names": ["-h", "--help"]},
    **_SETTINGS,
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"convergio-llm {VERSION}")
        raise typer.Exit()


@app.callback()
def root(
    ctx: typer.Context,
    config: Annotated[
        str | None,
        typer.Option(
            "--config",
            envvar="CONVERGIO_LLM_CONFIG",
            help="Config file (YAML).",
            show_default=False,
        ),
    ] = None,
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks.")] = False,
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_version, is_eager=True, help="Show the version and exit."
        ),
    ] = False,
) -> None:
    if debug:
        import os

        # Engines that log on their own (llama.cpp) read this to stop hiding their output.
        os.environ["CONVERGIO_LLM_DEBUG"] = "1"
    ctx.obj = Environment(config_path=config, debug=debug)


def main() -> None:
    import os

    if any(var.endswith("_COMPLETE") for var in os.environ):
        # Shell completion asked: register Typer's completion classes (kept out of
        # normal start-up, which must stay fast).
        from typer._completion_classes import completion_init

        completion_init()
    app(prog_name="llm")
