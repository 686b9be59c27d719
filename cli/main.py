"""The `llm` app: wiring only. Each subcommand lives in its own module."""

from __future__ import annotations

from typing import Annotated

import typer
from convergio_llm.cli.bench import bench
from convergio_llm.cli.context import Environment
from convergio_llm.cli.cost import cost
from convergio_llm.cli.models import models
from convergio_llm.cli.route import route
from convergio_llm.cli.run import run

VERSION = "0.1.0"

app = typer.Typer(
    name="llm",
    help="Send a prompt to the right model: local when it must stay private, offline or free; "
    "cloud when it needs the quality.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
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
    ctx.obj = Environment(config_path=config, debug=debug)


for command in (route, run, models, cost, bench):
    app.command()(command)


def main() -> None:
    import os

    if any(var.endswith("_COMPLETE") for var in os.environ):
        # Shell completion asked: register Typer's completion classes (kept out of
        # normal start-up, which must stay fast).
        from typer.completion import completion_init

        completion_init()
    app(prog_name="llm")
