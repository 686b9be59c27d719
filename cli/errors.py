"""The edge where exceptions become one line on stderr and an exit status."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, NoReturn, TypeVar

import click

from convergio_llm.cli.exit_status import ExitStatus, status_for

F = TypeVar("F", bound=Callable[..., Any])


def finish(status: int) -> NoReturn:
    """End the command with this exit status (click's way, so tests and wrappers see it)."""
    raise click.exceptions.Exit(int(status))


def guard(func: F) -> F:
    """Wrap a command: known errors → one line + exit code; no traceback unless --debug."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        from convergio_llm.providers.errors import LLMError, scrub

        ctx = click.get_current_context()
        env = ctx.obj
        debug = bool(getattr(env, "debug", False))
        try:
            return func(*args, **kwargs)
        except (click.exceptions.Exit, click.ClickException, click.exceptions.Abort):
            raise
        except LLMError as exc:
            if debug:
                raise
            click.echo(f"llm: error: {scrub(str(exc))}", err=True)
            raise click.exceptions.Exit(int(status_for(exc))) from None
        except KeyboardInterrupt:
            click.echo("llm: interrupted", err=True)
            raise click.exceptions.Exit(int(ExitStatus.INTERRUPTED)) from None
        except BrokenPipeError:
            _silence_broken_pipe()
            raise click.exceptions.Exit(int(ExitStatus.OK)) from None
        except OSError as exc:  # stdout on a full disk, /dev/full, or closed
            from convergio_llm.cli.io import output_error_line

            if debug:
                raise
            click.echo(f"llm: error: {scrub(output_error_line(exc))}", err=True)
            raise click.exceptions.Exit(int(ExitStatus.ERROR)) from None
        except Exception as exc:
            if debug:
                raise
            message = scrub(f"{type(exc).__name__}: {exc}").splitlines()[0]
            click.echo(f"llm: internal error: {message} (run with --debug for details)", err=True)
            raise click.exceptions.Exit(int(ExitStatus.ERROR)) from None
        finally:
            close = getattr(env, "close", None)
            if close is not None:
                close()

    return wrapper  # type: ignore[return-value]


def _silence_broken_pipe() -> None:
    """`llm ... | head` closed our stdout: exit quietly, as other Unix tools do."""
    import contextlib
    import os
    import sys

    devnull = os.open(os.devnull, os.O_WRONLY)
    with contextlib.suppress(OSError, ValueError):
        os.dup2(devnull, sys.stdout.fileno())
