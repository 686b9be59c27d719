"""What the HTTP backends (openai, azure, anthropic, google, ollama) share: keys, timeouts, retries.

Retries are ours, not the SDKs': each SDK is built with its own retry loop off
(`max_retries=0`; google-genai retries nothing unless told), and `open_stream()` retries
the opening of a stream instead, because the SDKs disagree on how long to wait
(anthropic honours any `retry-after`, even an hour; openai ignores one over 120 s;
google-genai has none) and none of them says anything while it sleeps. Here:

* a retryable failure (429, 529/503, other 5xx, refused connection) before the first
  token is retried up to `max_retries` times (setting, default 2); a server that let
  our read time out is not asked again (it would hang again): the fallbacks move on;
* the wait is the server's `retry-after` when it gave one, else 0.5 s · 2ⁿ (at most 8 s);
* before each wait one line on stderr says what failed and how long it waits;
* a server that asks for more than `max_retry_wait` (setting, default 30 s) is not
  waited for: the error is raised at once, `retry_after` kept, so a shell pipeline or
  the routing fallbacks move on instead of hanging.

Settings read by every HTTP backend (config `providers: {<name>: {...}}`):
`base_url`, `connect_timeout` (seconds to open the connection, default 10),
`read_timeout` (seconds to wait for the first byte of the answer, and then for each next
piece of it; default 60, Ollama 300 because it loads the model first; `timeout` is an older
name for it), `max_retries` (default 2), `max_retry_wait` (default 30). While the first
piece is awaited, one line on stderr says so after `min(10 s, read_timeout / 2)`.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterator, Mapping
from itertools import chain, islice
from typing import Any, TypeVar

from convergio_llm.providers.errors import ProviderError, ProviderTimeout, RateLimited, scrub

T = TypeVar("T")

DEFAULT_TIMEOUT_S = 60.0
DEFAULT_CONNECT_TIMEOUT_S = 10.0
WAIT_NOTE_AFTER_S = 10.0
DEFAULT_MAX_RETRIES = 2
DEFAULT_MAX_RETRY_WAIT_S = 30.0
_BACKOFF_START_S = 0.5
_BACKOFF_MAX_S = 8.0


def setting(settings: Mapping[str, Any], key: str, default: float) -> float:
    value = settings.get(key)
    return default if value is None else float(value)


def timeouts(
    settings: Mapping[str, Any], read_default: float = DEFAULT_TIMEOUT_S
) -> tuple[float, float]:
    """(connect, read) seconds: `connect_timeout`, `read_timeout` (or its old name `timeout`)."""
    connect = setting(settings, "connect_timeout", DEFAULT_CONNECT_TIMEOUT_S)
    read = setting(settings, "read_timeout", setting(settings, "timeout", read_default))
    return connect, read


def httpx_timeout(settings: Mapping[str, Any]) -> Any:
    """The same bounds as an httpx2.Timeout, for the SDKs built on it."""
    import httpx2

    connect, read = timeouts(settings)
    return httpx2.Timeout(read, connect=connect)


def wait_note(
    provider: str, settings: Mapping[str, Any], read_default: float = DEFAULT_TIMEOUT_S
) -> tuple[float, str]:
    """What `Provider.wait_note()` answers for an HTTP backend."""
    read = timeouts(settings, read_default)[1]
    after = min(WAIT_NOTE_AFTER_S, read / 2)
    return after, (
        f"waiting for {provider}: no answer yet after {after:g} s "
        f"(gives up after {read:g} s: setting read_timeout)"
    )


def timed(make: Callable[[], object]) -> float | None:
    """Seconds `make()` took, or None when it was instant (a client already built)."""
    started = time.perf_counter()
    make()
    elapsed = time.perf_counter() - started
    return elapsed if elapsed > 0.001 else None


def retry_call(
    provider: str,
    settings: Mapping[str, Any],
    call: Callable[[], T],
    map_error: Callable[[BaseException], ProviderError],
) -> T:
    """`call()`, retrying retryable failures as described above (every wait announced)."""
    max_retries = int(setting(settings, "max_retries", DEFAULT_MAX_RETRIES))
    max_wait = setting(settings, "max_retry_wait", DEFAULT_MAX_RETRY_WAIT_S)
    attempt = 0
    while True:
        try:
            return call()
        except Exception as exc:
            error = exc if isinstance(exc, ProviderError) else map_error(exc)
            hung = isinstance(error, ProviderTimeout) and error.status is None
            if not error.retryable or hung or attempt >= max_retries:
                raise error from None
            wait = _wait_before_retry(error, attempt)
            if wait > max_wait:
                raise RateLimited(
                    f"{error}; the server asks to wait {wait:g} s, more than "
                    f"max_retry_wait ({max_wait:g}), so not retrying",
                    provider,
                    error.status,
                    retry_after=wait,
                ) from None
            attempt += 1
            note(f"{error}; retrying in {wait:.2g} s (retry {attempt} of {max_retries})")
            time.sleep(wait)


def open_stream(
    provider: str,
    settings: Mapping[str, Any],
    open_: Callable[[], Iterator[T]],
    map_error: Callable[[BaseException], ProviderError],
    wait: tuple[float, str] | None = None,
) -> Iterator[T]:
    """Open a stream and read its first item, retrying retryable failures (`retry_call`).

    Returns an iterator that yields that first item again, then the rest. Errors from
    the rest are never retried (by then output may have reached the user): they reach
    the provider base class, which maps them. `wait` (`Provider.wait_note()`) is said on
    stderr if an attempt's first item is slow to come.
    """

    def start() -> tuple[list[T], Iterator[T]]:
        waiting = _WaitNote(wait)
        try:
            items = open_()
            return list(islice(items, 1)), items
        finally:
            waiting.cancel()

    head, rest = retry_call(provider, settings, start, map_error)
    return chain(head, rest)


def _wait_before_retry(error: ProviderError, attempt: int) -> float:
    retry_after = getattr(error, "retry_after", None)
    if retry_after is not None:
        return float(retry_after)
    return float(min(_BACKOFF_START_S * 2**attempt, _BACKOFF_MAX_S))


def note(message: str) -> None:
    """One progress line on stderr (stdout carries only the answer)."""
    sys.stderr.write(f"llm: {scrub(message)}\n")
    sys.stderr.flush()


class _WaitNote:
    """One stderr line if the first piece has not come in time (a daemon timer)."""

    def __init__(self, spec: tuple[float, str] | None) -> None:
        self._timer: Any = None
        if spec is None:
            return
        import threading

        self._timer = threading.Timer(spec[0], note, (spec[1],))
        self._timer.daemon = True
        self._timer.start()

    def cancel(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
