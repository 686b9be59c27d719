"""The process's streams, environment and configuration, passed to every command.

Commands never touch `sys.stdin`/`sys.stdout` directly: tests hand them an
Environment with their own streams, as httpie does. Secrets are scrubbed here, once, at
the output edge: every write to the Environment's stdout and stderr goes through
`scrub()`, so no call site has to remember it.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable, Mapping
from typing import IO, TYPE_CHECKING, Any

if TYPE_CHECKING:
    from convergio_llm.providers.registry import Registry
    from convergio_llm.routing.config import Config
    from convergio_llm.routing.context import Context


class Environment:
    # A plain class, not a dataclass: defining one costs ~1 ms of every start (README).
    def __init__(
        self,
        stdin: IO[bytes] | None = None,
        stdout: IO[str] | None = None,
        stderr: IO[str] | None = None,
        environ: Mapping[str, str] | None = None,
        config_path: str | None = None,
        debug: bool = False,
        _config: Config | None = None,
        _routing: Context | None = None,
    ) -> None:
        self.stdin: IO[bytes] = stdin if stdin is not None else sys.stdin.buffer
        self.stdout: IO[str] = _scrubbed(stdout if stdout is not None else _stdout())
        self.stderr: IO[str] = _scrubbed(stderr if stderr is not None else sys.stderr)
        self.environ: Mapping[str, str] = environ if environ is not None else os.environ
        self.config_path = config_path
        self.debug = debug
        self._config = _config
        self._routing = _routing

    def with_streams(self, stdout: IO[str], stderr: IO[str]) -> Environment:
        """The same environment (config, routing context, registry) writing elsewhere: what
        each line of a concurrent run writes into before it is put in order."""
        return Environment(
            self.stdin,
            stdout,
            stderr,
            self.environ,
            self.config_path,
            self.debug,
            self._config,
            self._routing,
        )

    @property
    def stdin_isatty(self) -> bool:
        return _isatty(self.stdin)

    @property
    def stdout_isatty(self) -> bool:
        return _isatty(self.stdout)

    @property
    def stderr_isatty(self) -> bool:
        return _isatty(self.stderr)

    @property
    def config(self) -> Config:
        if self._config is None:
            from convergio_llm.routing.config import load_config

            self._config = load_config(self.config_path)
        return self._config

    @property
    def routing(self) -> Context:
        if self._routing is None:
            from convergio_llm.routing.context import Context

            self._routing = Context.create(self.config)
        return self._routing

    @property
    def registry(self) -> Registry:
        return self.routing.registry

    def warn(self, message: str) -> None:
        self.stderr.write(f"llm: {message}\n")
        self.stderr.flush()

    def close(self) -> None:
        if self._routing is not None:
            self._routing.registry.close()


def _stdout() -> IO[str]:
    """sys.stdout, or a stream that says it is closed (python started with stdout closed)."""
    if sys.stdout is not None:
        return sys.stdout
    from convergio_llm.cli.io import ClosedStream

    return ClosedStream("stdout")  # type: ignore[return-value]


class ScrubbedStream:
    """A text stream whose writes have every secret value replaced (the output edge)."""

    def __init__(self, stream: IO[str]) -> None:
        self.stream = stream

    def write(self, text: str) -> int:
        from convergio_llm.providers.errors import scrub

        return self.stream.write(scrub(text))

    def writelines(self, lines: Iterable[str]) -> None:
        for line in lines:
            self.write(line)

    def __getattr__(self, name: str) -> Any:  # flush, isatty, fileno, encoding…
        return getattr(self.stream, name)


def _scrubbed(stream: IO[str]) -> IO[str]:
    if isinstance(stream, ScrubbedStream):
        return stream
    return ScrubbedStream(stream)  # type: ignore[return-value]


def _isatty(stream: object) -> bool:
    isatty = getattr(stream, "isatty", None)
    try:
        return bool(isatty and isatty())
    except (ValueError, OSError):
        return False
