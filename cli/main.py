"""The `llm` app: wiring only. Each subcommand lives in its own module.

Subcommands load lazily: `llm route` imports and builds only the route command, so a
shell loop of `llm route` pays for one command, not five. The CLI is plain click, not
Typer: Typer's own import and signature inspection cost ~20 ms of every start, a third
of the `llm route` budget (README, "Start-up").
"""

from __future__ import annotations

import importlib

import click

from convergio_llm.cli.context import Environment

VERSION = "0.1.0"

# name → module; each module defines a click command of the same name.
COMMANDS = {
    "route": "convergio_llm.cli.route",
    "run": "convergio_llm.cli.run",
    "models": "convergio_llm.cli.models",
    "cost": "convergio_llm.cli.cost",
    "bench": "convergio_llm.cli.bench",
}


class LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in COMMANDS:
            return None
        command = getattr(importlib.import_module(COMMANDS[cmd_name]), cmd_name)
        assert isinstance(command, click.Command)
        return command


@click.group(
    cls=LazyGroup,
    context_settings={"help_option_names": ["-h", "--help"]},
)
@click.option(
    "--config",
    envvar="CONVERGIO_LLM_CONFIG",
    metavar="FILE",
    help="Config file (YAML).  [env: CONVERGIO_LLM_CONFIG]",
)
@click.option("--debug", is_flag=True, help="Show tracebacks; let engines log.")
@click.version_option(
    VERSION, "--version", prog_name="convergio-llm", message="%(prog)s %(version)s"
)
@click.pass_context
def app(ctx: click.Context, config: str | None, debug: bool) -> None:
    """Send a prompt to the right model: local when it must stay private, offline or
    free; cloud when it needs the quality."""
    if debug:
        import os

        # Engines that log on their own (llama.cpp) read this to stop hiding their output.
        os.environ["CONVERGIO_LLM_DEBUG"] = "1"
    ctx.obj = Environment(config_path=config, debug=debug)


def main() -> None:
    """Run the app; click's own usage errors become one line, like every other error."""
    import sys

    # Undecodable bytes arrive as lone surrogates (surrogateescape): refuse before anything runs.
    for number, arg in enumerate(sys.argv[1:], 1):
        try:
            arg.encode("utf-8")
        except UnicodeEncodeError as exc:
            byte = len(arg[: exc.start].encode("utf-8"))
            click.echo(f"llm: error: argument {number} is not valid UTF-8 (byte {byte})", err=True)
            sys.exit(2)
    try:
        status = app.main(prog_name="llm", standalone_mode=False)
    except click.exceptions.NoArgsIsHelpError as exc:
        click.echo(exc.format_message(), err=True)  # bare `llm`: the help, as a usage error
        sys.exit(exc.exit_code)
    except click.ClickException as exc:
        hint = ""
        ctx = getattr(exc, "ctx", None)
        if isinstance(exc, click.UsageError) and ctx is not None:
            hint = f" (see '{ctx.command_path} --help')"
        click.echo(f"llm: error: {exc.format_message()}{hint}", err=True)
        sys.exit(exc.exit_code)
    except click.exceptions.Abort:
        click.echo("llm: interrupted", err=True)
        sys.exit(130)
    sys.exit(status if isinstance(status, int) else 0)
