"""The `llm` app: wiring only. Each subcommand lives in its own module.

The CLI is Typer 0.28 (README, "Start-up", has the measurement that chose it: 0.29
validates every parameter through pydantic and starts ~100 ms slower). Subcommands load
lazily: `llm route` imports and builds only the route command, so a shell loop of
`llm route` pays for one command, not seven. Rich help and pretty tracebacks are off:
errors are one line (cli/errors.py), and rich is never imported at start-up.
"""

# No `from __future__ import annotations`: Typer reads each parameter's annotation, and
# string annotations would be compiled and evaluated twice per command it builds.

import importlib
from typing import Annotated

import typer
from typer.core import TyperGroup

from convergio_llm.cli.context import Environment
from convergio_llm.cli.options import APP_SETTINGS

VERSION = "0.1.0"
# What the generated completion scripts set to ask for candidates (completions/).
COMPLETE_VAR = "_LLM_COMPLETE"

# name → module; each module defines a Typer app named `app` with that one command.
COMMANDS = {
    "route": "convergio_llm.cli.route",
    "run": "convergio_llm.cli.run",
    "models": "convergio_llm.cli.models",
    "cost": "convergio_llm.cli.cost",
    "bench": "convergio_llm.cli.bench",
    "logs": "convergio_llm.cli.logs",
}


def build(module: str) -> typer.core.TyperCommand:
    """Import a command module and turn its Typer app into the command it declares."""
    command = typer.main.get_command(importlib.import_module(module).app)
    assert isinstance(command, typer.core.TyperCommand)
    return command


class LazyGroup(TyperGroup):
    def list_commands(self, ctx: typer.Context) -> list[str]:  # type: ignore[override]
        return list(COMMANDS)

    def get_command(self, ctx: typer.Context, cmd_name: str) -> typer.core.TyperCommand | None:  # type: ignore[override]
        if cmd_name not in COMMANDS:
            return None
        return build(COMMANDS[cmd_name])


def _version(value: bool) -> None:
    if value:
        typer.echo(f"convergio-llm {VERSION}")
        raise typer.Exit(0)


cli = typer.Typer(cls=LazyGroup, no_args_is_help=True, **APP_SETTINGS)


@cli.callback()
def app_callback(
    ctx: typer.Context,
    config: Annotated[
        str | None,
        typer.Option(
            "--config",
            envvar="CONVERGIO_LLM_CONFIG",
            metavar="FILE",
            show_envvar=False,
            help="Config file (YAML).  [env: CONVERGIO_LLM_CONFIG]",
        ),
    ] = None,
    debug: Annotated[
        bool, typer.Option("--debug", help="Show tracebacks; let engines log.")
    ] = False,
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_version, is_eager=True, help="Show the version and exit."
        ),
    ] = False,
) -> None:
    """Send a prompt to the right model: local when it must stay private, offline or
    free; cloud when it needs the quality."""
    if debug:
        import os

        # Engines that log on their own (llama.cpp) read this to stop hiding their output.
        os.environ["CONVERGIO_LLM_DEBUG"] = "1"
    if not isinstance(ctx.obj, Environment):  # tests hand in their own Environment
        ctx.obj = Environment()
    ctx.obj.config_path = config
    ctx.obj.debug = debug


app = typer.main.get_command(cli)


def invoke(args: list[str], env: Environment | None = None) -> int:
    """Run the app on `args`; click-style usage errors become one line on env's stderr.

    The one entry point for the real `llm` (main) and the in-process test helper.
    """
    from typer._click.exceptions import ClickException, NoArgsIsHelpError, UsageError

    env = env or Environment()
    if (bad := _undecodable(args)) is not None:
        env.stderr.write(f"llm: error: {bad}\n")
        env.stderr.flush()
        return 2
    if COMPLETE_VAR in env.environ:  # the shell asks for completions: register Typer's shells
        from typer._completion_classes import completion_init

        completion_init()
    try:
        status = app.main(args, prog_name="llm", standalone_mode=False, obj=env)
    except NoArgsIsHelpError as exc:
        env.stderr.write(exc.format_message() + "\n")  # bare `llm`: the help, as a usage error
        return exc.exit_code
    except ClickException as exc:
        hint = ""
        ctx = getattr(exc, "ctx", None)
        if isinstance(exc, UsageError) and ctx is not None:
            hint = f" (see '{ctx.command_path} --help')"
        env.stderr.write(f"llm: error: {exc.format_message()}{hint}\n")
        return exc.exit_code
    except typer.Abort:
        env.stderr.write("llm: interrupted\n")
        return 130
    finally:
        env.stderr.flush()
    return status if isinstance(status, int) else 0


def _undecodable(args: list[str]) -> str | None:
    """Undecodable bytes arrive as lone surrogates (surrogateescape): refuse them before
    anything runs, rather than print an answer and then fail on the ledger row."""
    for number, arg in enumerate(args, 1):
        try:
            arg.encode("utf-8")
        except UnicodeEncodeError as exc:
            byte = len(arg[: exc.start].encode("utf-8", "surrogateescape"))
            return f"argument {number} is not valid UTF-8 (byte {byte})"
    return None


def main() -> None:
    import sys

    sys.exit(invoke(sys.argv[1:]))
