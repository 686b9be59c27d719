"""The edge where exceptions become one line on stderr and an exit status."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, NoReturn, TypeVar

import typer

F = TypeVar("F", bound=Callable[..., Any])


def finish(status: int) -> NoReturn:
    """End the command with this exit status (Typer's way, so tests and wrappers see it)."""
    raise typer.Exit(int(status))


def guard(func: F) -> F:
    """Wrap a command: known errors → one line + exit code; no traceback unless --debug.

    The command takes `ctx: typer.Context` as its first parameter; its `obj` is the
    Environment whose stderr gets the line (and whose streams scrub secrets). Each handler
    imports the exit codes itself: a command that succeeds never needs the enum (start-up).
    """

    @functools.wraps(func)
    def wrapper(ctx: typer.Context, *args: Any, **kwargs: Any) -> Any:
        from typer._click.exceptions import ClickException

        from convergio_llm.providers.errors import LLMError

        env = ctx.obj
        debug = bool(getattr(env, "debug", False))
        try:
            return func(ctx, *args, **kwargs)
        except (typer.Exit, typer.Abort, ClickException):
            raise
        except LLMError as exc:
            from convergio_llm.cli.exit_status import status_for

            if debug:
                raise
            _say(env, f"llm: error: {exc}")
            raise typer.Exit(int(status_for(exc))) from None
        except KeyboardInterrupt:
            from convergio_llm.cli.exit_status import ExitStatus

            _say(env, "llm: interrupted")
            raise typer.Exit(int(ExitStatus.INTERRUPTED)) from None
        except BrokenPipeError:
            from convergio_llm.cli.exit_status import ExitStatus

            _silence_broken_pipe()
            raise typer.Exit(int(ExitStatus.OK)) from None
        except OSError as exc:  # stdout on a full disk, /dev/full, or closed
            from convergio_llm.cli.exit_status import ExitStatus
            from convergio_llm.cli.io import output_error_line

            if debug:
                raise
            _say(env, f"llm: error: {output_error_line(exc)}")
            raise typer.Exit(int(ExitStatus.ERROR)) from None
        except Exception as exc:
            from convergio_llm.cli.exit_status import ExitStatus

            if debug:
                raise
            message = f"{type(exc).__name__}: {exc}".splitlines()[0]
            _say(env, f"llm: internal error: {message} (run with --debug for details)")
            raise typer.Exit(int(ExitStatus.ERROR)) from None
        finally:
            close = getattr(env, "close", None)
            if close is not None:
                close()

    return wrapper  # type: ignore[return-value]


def _say(env: Any, line: str) -> None:
    env.stderr.write(line + "\n")
    env.stderr.flush()


def _silence_broken_pipe() -> None:
    """`llm ... | head` closed our stdout: exit quietly, as other Unix tools do."""
    import contextlib
    import os
    import sys

    devnull = os.open(os.devnull, os.O_WRONLY)
    with contextlib.suppress(OSError, ValueError):
        os.dup2(devnull, sys.stdout.fileno())
