"""The process's streams, environment and configuration, passed to every command.

Commands never touch `sys.stdin`/`sys.stdout` directly: tests hand them an
Environment with their own streams, as httpie does.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import IO, TYPE_CHECKING

if TYPE_CHECKING:
    from convergio_llm.providers.registry import Registry
    from convergio_llm.routing.config import Config
    from convergio_llm.routing.context import Context


@dataclass
class Environment:
    stdin: IO[bytes] = field(default_factory=lambda: sys.stdin.buffer)
    stdout: IO[str] = field(default_factory=lambda: sys.stdout or _closed("stdout"))
    stderr: IO[str] = field(default_factory=lambda: sys.stderr)
    environ: Mapping[str, str] = field(default_factory=lambda: os.environ)
    config_path: str | None = None
    debug: bool = False
    _config: Config | None = None
    _routing: Context | None = None

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
        from convergio_llm.providers.errors import scrub

        self.stderr.write(f"llm: {scrub(message)}\n")
        self.stderr.flush()

    def close(self) -> None:
        if self._routing is not None:
            self._routing.registry.close()


def _closed(name: str) -> IO[str]:
    from convergio_llm.cli.io import ClosedStream

    return ClosedStream(name)  # type: ignore[return-value]


def _isatty(stream: object) -> bool:
    isatty = getattr(stream, "isatty", None)
    try:
        return bool(isatty and isatty())
    except (ValueError, OSError):
        return False
