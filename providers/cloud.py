"""What the cloud SDK backends (anthropic, google, azure) share: keys, timeouts, retries.

Retries are ours, not the SDKs': each SDK is built with its own retry loop off
(`max_retries=0`; google-genai retries nothing unless told), and `open_stream()` retries
the opening of a stream instead, because the SDKs disagree on how long to wait
(anthropic honours any `retry-after`, even an hour; openai ignores one over 120 s;
google-genai has none) and none of them says anything while it sleeps. Here:

* a retryable failure (429, 529/503, other 5xx, timeout, refused connection) before the
  first token is retried up to `max_retries` times (setting, default 2);
* the wait is the server's `retry-after` when it gave one, else 0.5 s · 2ⁿ (at most 8 s);
* before each wait one line on stderr says what failed and how long it waits;
* a server that asks for more than `max_retry_wait` (setting, default 30 s) is not
  waited for: the error is raised at once, `retry_after` kept, so a shell pipeline or
  the routing fallbacks move on instead of hanging.

Settings read by every cloud backend (config `providers: {<name>: {...}}`):
`base_url`, `timeout` (seconds, default 120: the longest wait for an answer or the next
streamed piece), `connect_timeout` (default 5), `max_retries` (default 2), `max_retry_wait`
(default 30). The names are the OpenAI backend's, which follows the same rules.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable, Iterator, Mapping
from itertools import chain, islice
from typing import Any, TypeVar

from convergio_llm.providers.base import Availability
from convergio_llm.providers.errors import ProviderError, RateLimited, scrub
from convergio_llm.providers.values import key_hint

T = TypeVar("T")

DEFAULT_TIMEOUT_S = 120.0
DEFAULT_CONNECT_TIMEOUT_S = 5.0
DEFAULT_MAX_RETRIES = 2
DEFAULT_MAX_RETRY_WAIT_S = 30.0
_BACKOFF_START_S = 0.5
_BACKOFF_MAX_S = 8.0


def setting(settings: Mapping[str, Any], key: str, default: float) -> float:
    value = settings.get(key)
    return default if value is None else float(value)


def key_availability(package: str, *alternatives: tuple[str, ...]) -> Availability:
    """Available when `package` is installed and one group of variables is all set.

    Looks the package up without importing it, so `llm models` stays fast.
    """
    from importlib.util import find_spec

    if find_spec(package) is None:
        return Availability(False, f"package '{package}' is not installed")
    for group in alternatives:
        if all(os.environ.get(var) for var in group):
            return Availability(True)
    return Availability(False, key_hint(*(" + ".join(g) for g in alternatives)), needs_key=True)


def timed(make: Callable[[], object]) -> float | None:
    """Seconds `make()` took, or None when it was instant (a client already built)."""
    started = time.perf_counter()
    make()
    elapsed = time.perf_counter() - started
    return elapsed if elapsed > 0.001 else None


def retry_after_from_headers(headers: Mapping[str, str] | None) -> float | None:
    """Seconds from `retry-after-ms` or `retry-after` (numeric form only), as servers send them."""
    if not headers:
        return None
    for name, scale in (("retry-after-ms", 0.001), ("retry-after", 1.0)):
        raw = headers.get(name)
        if raw is None:
            continue
        try:
            return max(0.0, float(raw) * scale)
        except ValueError:
            continue
    return None


def with_retry_after(error: ProviderError, headers: Mapping[str, str] | None) -> ProviderError:
    """Keep the server's `retry-after` on any retryable error (429, 529, 503)."""
    seconds = retry_after_from_headers(headers)
    if seconds is not None:
        setattr(error, "retry_after", seconds)  # noqa: B010 - only RateLimited declares it
    return error


def retry_call(
    provider: str,
    settings: Mapping[str, Any],
    call: Callable[[], T],
    map_error: Callable[[Exception], ProviderError],
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
            if not error.retryable or attempt >= max_retries:
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
    map_error: Callable[[Exception], ProviderError],
) -> Iterator[T]:
    """Open a stream and read its first item, retrying retryable failures (`retry_call`).

    Returns an iterator that yields that first item again, then the rest. Errors from
    the rest are mapped too, never retried: by then output may have reached the user.
    """

    def start() -> tuple[list[T], Iterator[T]]:
        items = open_()
        return list(islice(items, 1)), items

    head, rest = retry_call(provider, settings, start, map_error)
    return _mapped(chain(head, rest), map_error)


def _wait_before_retry(error: ProviderError, attempt: int) -> float:
    retry_after = getattr(error, "retry_after", None)
    if retry_after is not None:
        return float(retry_after)
    return float(min(_BACKOFF_START_S * 2**attempt, _BACKOFF_MAX_S))


def _mapped(items: Iterator[T], map_error: Callable[[Exception], ProviderError]) -> Iterator[T]:
    try:
        yield from items
    except ProviderError:
        raise
    except Exception as exc:
        raise map_error(exc) from None


def transport_error(exc: Exception, provider: str) -> ProviderError | None:
    """The httpx2 errors every SDK lets through mid-stream (timeouts, dropped connections)."""
    import httpx2

    from convergio_llm.providers.errors import ProviderTimeout, ProviderUnavailable

    if isinstance(exc, httpx2.TimeoutException):
        return ProviderTimeout(f"no answer in time ({type(exc).__name__})", provider)
    if isinstance(exc, httpx2.TransportError):
        return ProviderUnavailable(f"connection failed ({type(exc).__name__}: {exc})", provider)
    return None


def note(message: str) -> None:
    """One progress line on stderr (stdout carries only the answer)."""
    sys.stderr.write(f"llm: {scrub(message)}\n")
    sys.stderr.flush()
