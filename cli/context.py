"""The process's streams, environment and configuration, passed to every command.

Commands never touch `sys.stdin`/`sys.stdout` directly: tests hand them an
Environment with their own streams, as httpie does. Secrets are scrubbed here, once, at
the output edge: every write to the Environment's stdout and stderr goes through
`scrub()`, so no call site has to remember it.
"""

from __future__ import annotations

import contextlib
import os
import re
import sys
from _thread import allocate_lock
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

    def flush_streams(self) -> None:
        """Write out what the streams hold back (a tail that might be half a secret)."""
        for stream in (self.stdout, self.stderr):
            # A closed or broken stream: the command has reported it, or will.
            with contextlib.suppress(OSError, ValueError):
                stream.flush()

    def close(self) -> None:
        self.flush_streams()
        if self._routing is not None:
            self._routing.registry.close()


def _stdout() -> IO[str]:
    """sys.stdout, or a stream that says it is closed (python started with stdout closed)."""
    if sys.stdout is not None:
        return sys.stdout
    from convergio_llm.cli.io import ClosedStream

    return ClosedStream("stdout")  # type: ignore[return-value]


class ScrubbedStream:
    """A text stream whose writes have every secret value replaced (the output edge).

    A provider streams an answer in pieces, so a secret may arrive split across two
    writes (`sk-ant-abc`, then `def…`), each piece too short to be recognised alone. The
    stream therefore holds back the shortest tail that could still grow into something the
    scrubber removes — a piece of a secret, or a URL whose password has not ended yet — and
    writes it with the next write, at flush() and at close. Text that is no such start
    goes through at once, so an ordinary answer still appears token by token.
    """

    def __init__(self, stream: IO[str]) -> None:
        self.stream = stream
        self._pending = ""
        self._lock = allocate_lock()  # the pending tail is shared state between threads

    def write(self, text: str) -> int:
        from convergio_llm.providers.errors import scrub

        with self._lock:
            if not self._pending and text.endswith("\n"):
                # A whole line (every JSONL and diagnostic write): nothing to hold, since a
                # URL cannot span a newline and an environment variable's secret holds none.
                # The common case, kept to one check: `route --jsonl` writes thousands a second.
                self.stream.write(scrub(text))
                return len(text)
            joined = self._pending + text
            cut = _held_from(joined)
            self._pending = joined[cut:]
            if cut:
                self.stream.write(scrub(joined[:cut]))
        return len(text)

    def writelines(self, lines: Iterable[str]) -> None:
        for line in lines:
            self.write(line)

    def flush(self) -> None:
        self._release()
        self.stream.flush()

    def flush_ready(self) -> None:
        """Flush what has been written, keeping the held tail: what a streamed answer calls
        after each token, so the tail still waits for the token that may complete it."""
        self.stream.flush()

    def close(self) -> None:
        self._release()
        self.stream.close()

    def _release(self) -> None:
        from convergio_llm.providers.errors import scrub

        with self._lock:
            pending, self._pending = self._pending, ""
            if pending:
                self.stream.write(scrub(pending))

    def __getattr__(self, name: str) -> Any:  # isatty, fileno, encoding…
        return getattr(self.stream, name)


# The start of `scheme:`, `scheme://user` or `scheme://user:pass` that has not reached the
# `@` yet: what the scrubber's URL-password rule could still match once more text comes.
# A pattern string: `re` compiles it on first use (whole lines, all `llm route` writes,
# never look), not at every start.
_URL_START = r"[a-zA-Z][\w+.-]*:(?:/(?:/[^/\s:@]*(?::[^/\s@]*)?)?)?\Z"
_URL_REACH = 4096  # a URL prefix longer than this is not held back (bounds the search)


def _held_from(text: str) -> int:
    """Where the tail that must wait for more text begins (len(text): nothing waits)."""
    from convergio_llm.providers.errors import secret_values

    cut = len(text)
    values = secret_values()
    if values:
        cut = _secret_tail(text, values)
    if ":" in text[-_URL_REACH:]:
        segment = max(len(text) - _URL_REACH, text.rfind(" ") + 1, text.rfind("\n") + 1)
        if (match := re.compile(_URL_START).search(text, segment)) is not None:  # re's cache
            cut = min(cut, match.start())
    return cut


def _secret_tail(text: str, values: list[str]) -> int:
    """The start of the longest tail of `text` that is a piece of a secret, moved back over
    any piece that straddles it — so no run the scrubber would join is cut in two."""

    def piece(lo: int, hi: int) -> bool:
        return any(text[lo:hi] in value for value in values)

    end = len(text)
    cut = end
    while cut > 0 and piece(cut - 1, end):
        cut -= 1
    if cut == end:
        return end  # the common case: the last character is in no secret
    while cut > 0 and piece(cut - 1, cut + 1):
        # A piece of a secret ends inside the held tail: hold it whole as well.
        start = cut - 1
        while start > 0 and piece(start - 1, cut + 1):
            start -= 1
        cut = start
    return cut


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
