"""The errors a backend raises; only `cli/` turns them into messages and exit codes.

    LLMError
    ├── ConfigError                  bad config file or value
    ├── InputError                   bad request from the user (empty prompt, bad JSON line)
    ├── UnknownProvider              no backend registered under that name
    ├── NoProviderAvailable          routing found nothing it may use
    ├── BudgetExceeded               the call would go over a budget
    ├── AllAttemptsFailed            every attempt of a decision failed (wraps the last error)
    └── ProviderError                raised by a backend; `.provider`, `.retryable`
        ├── ProviderUnavailable      package missing, server unreachable, connection refused
        ├── AuthenticationError      key missing or rejected
        ├── ModelNotFound
        ├── RateLimited              `.retry_after` as the server gave it, in seconds
        ├── Overloaded               Anthropic 529, HTTP 503
        ├── ProviderTimeout
        ├── BadRequest
        │   └── ContextTooLong
        ├── ContentFiltered          Azure content filter, Gemini safety block
        ├── StreamInterrupted        failed after output had started: never retried elsewhere
        └── ServerError              any other 5xx or malformed answer

Messages never contain credentials: `scrub()` removes every secret value the
process knows of (and any run of 8 or more of its characters, so a key echoed cut
short is caught too) and the password of any `scheme://user:password@host`; the CLI
applies it to everything it prints. A ProviderError's message is also one line, at
most `MESSAGE_LIMIT` characters, whatever the server sent.
"""

from __future__ import annotations

import functools
import os
import re


class LLMError(Exception):
    """Base of every error this package raises on purpose."""


class ConfigError(LLMError):
    pass


class InputError(LLMError):
    pass


class UnknownProvider(LLMError):
    pass


class NoProviderAvailable(LLMError):
    pass


class BudgetExceeded(LLMError):
    pass


MESSAGE_LIMIT = 400


# Pattern strings here and below, not compiled patterns, where `llm route` does not need
# them: `re` compiles each on first use (and caches it), not at every start.
_LINE_BREAKS = r"\s*[\r\n\f\v]+\s*"


def one_line(text: str, limit: int = MESSAGE_LIMIT) -> str:
    """Line breaks (and the blanks around them) as one space, cut at `limit` characters."""
    line = re.sub(_LINE_BREAKS, " ", text[: limit * 4]).strip()
    return line if len(line) <= limit else line[: limit - 1] + "…"


class ProviderError(LLMError):
    retryable = False

    def __init__(self, message: str, provider: str = "", status: int | None = None) -> None:
        super().__init__(one_line(scrub(message)))
        self.provider = provider
        self.status = status

    def __str__(self) -> str:
        message = super().__str__()
        return f"{self.provider}: {message}" if self.provider else message


class ProviderUnavailable(ProviderError):
    retryable = True


class AuthenticationError(ProviderError):
    pass


class ModelNotFound(ProviderError):
    pass


class RateLimited(ProviderError):
    retryable = True

    def __init__(
        self,
        message: str,
        provider: str = "",
        status: int | None = 429,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message, provider, status)
        self.retry_after = retry_after


class Overloaded(ProviderError):
    retryable = True


class ProviderTimeout(ProviderError):
    retryable = True


class BadRequest(ProviderError):
    pass


class ContextTooLong(BadRequest):
    pass


class ContentFiltered(ProviderError):
    pass


class StreamInterrupted(ProviderError):
    """`.text` is what had been streamed; `.usage` what the provider had reported by then
    (a `Usage`), else an estimate, so the ledger never records a cut answer as free."""

    text: str = ""
    usage: object = None


class ServerError(ProviderError):
    retryable = True


class AllAttemptsFailed(LLMError):
    def __init__(self, message: str, last: LLMError | None = None) -> None:
        super().__init__(message)
        self.last = last


# Variables whose values are secrets even when no provider declared them, by how their
# names end (AZURE_OPENAI_AD_TOKEN among them): a suffix test, where a regex would be
# compiled at every start.
_SECRET_SUFFIXES = ("API_KEY", "_TOKEN", "_SECRET", "PASSWORD")
_extra_secrets: set[str] = set()


def _is_secret_name(name: str) -> bool:
    # A trailing newline aside, as `$` reads an end: `X_TOKEN\n` is a secret's name too.
    return name.removesuffix("\n").endswith(_SECRET_SUFFIXES)


def register_secret_env(*names: str) -> None:
    """Declare more variables whose values must never be printed (e.g. `api_key_env`)."""
    _extra_secrets.update(names)
    _secret_names.cache_clear()


@functools.lru_cache(maxsize=4)
def _secret_names(environ_names: tuple[str | bytes, ...]) -> tuple[str, ...]:
    # Which variables hold secrets changes rarely; matching every name on every
    # write cost ~0.1 ms a line in `route --jsonl`. Keyed on the names themselves (a
    # variable added, removed or swapped for another: the size alone missed a swap)
    # and cleared when more names are registered.
    return tuple(name for name in os.environ if name in _extra_secrets or _is_secret_name(name))


def _environ_names() -> tuple[str | bytes, ...]:
    # CPython keeps the encoded names in `_data`: reading them is ~1 µs, where
    # decoding every name through os.environ costs ~20 µs a write.
    data = getattr(os.environ, "_data", None)
    return tuple(data) if isinstance(data, dict) else tuple(os.environ)


def secret_values() -> list[str]:
    names = _secret_names(_environ_names())
    values = {value for name in names if len(value := os.environ.get(name, "")) >= 6}
    # Longest first, so a key that contains another is removed whole.
    return sorted(values, key=len, reverse=True)


# A run this long of a secret's characters is redacted wherever it appears.
MIN_RUN = 8
_GRAM = MIN_RUN // 2
_BLOCKS = f"(?s).{{{_GRAM}}}"  # with a secret set only
_URL_PASSWORD = r"([a-zA-Z][\w+.-]*://[^/\s:@]*):[^/\s@]+@"


@functools.lru_cache(maxsize=8)
def _grams(values: tuple[str, ...]) -> frozenset[str]:
    return frozenset(v[i : i + _GRAM] for v in values for i in range(len(v) - _GRAM + 1))


def _longest_run(text: str, start: int, end: int, values: tuple[str, ...]) -> tuple[int, int]:
    """Widen text[start:end] (a piece of some secret) while it stays a piece of one."""
    best = (start, start)
    for value in values:
        if text[start:end] not in value:
            continue
        lo, hi = start, end
        while lo > 0 and text[lo - 1 : hi] in value:
            lo -= 1
        while hi < len(text) and text[lo : hi + 1] in value:
            hi += 1
        if hi - lo > best[1] - best[0]:
            best = (lo, hi)
    return best


def scrub(text: str) -> str:
    """Remove secrets: whole values, runs of MIN_RUN of their characters, URL passwords.

    Cheap on the common path: a run of 8 covers at least one aligned 4-character block,
    so only every 4th position of the text is looked up in a set of the secrets' 4-grams.
    """
    if "://" in text and "@" in text:
        text = re.sub(_URL_PASSWORD, r"\1:[redacted]@", text)
    values = tuple(secret_values())
    if not values or len(text) < 6:
        return text
    for value in values:
        if value in text:
            text = text.replace(value, "[redacted]")
    grams = _grams(values)
    if grams.isdisjoint(re.findall(_BLOCKS, text)):
        return text  # the common case, decided in C
    spans: list[tuple[int, int]] = []
    reach = 0
    for i in range(0, len(text) - _GRAM + 1, _GRAM):
        if i < reach or text[i : i + _GRAM] not in grams:
            continue
        lo, hi = _longest_run(text, i, i + _GRAM, values)
        lo = max(lo, reach)
        if hi - lo >= MIN_RUN:
            spans.append((lo, hi))
            reach = hi
    for lo, hi in reversed(spans):
        text = text[:lo] + "[redacted]" + text[hi:]
    return text
