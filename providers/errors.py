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
process knows of, and the CLI applies it to everything it prints.
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


class ProviderError(LLMError):
    retryable = False

    def __init__(self, message: str, provider: str = "", status: int | None = None) -> None:
        super().__init__(scrub(message))
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
    pass


class ServerError(ProviderError):
    retryable = True


class AllAttemptsFailed(LLMError):
    def __init__(self, message: str, last: LLMError | None = None) -> None:
        super().__init__(message)
        self.last = last


# Variables whose values are secrets even when no provider declared them.
_SECRET_NAME = re.compile(r"(API_KEY|_TOKEN|_SECRET|PASSWORD)$|^(AZURE_OPENAI_AD_TOKEN)$")
_extra_secrets: set[str] = set()


def register_secret_env(*names: str) -> None:
    """Declare more variables whose values must never be printed (e.g. `api_key_env`)."""
    _extra_secrets.update(names)
    _secret_names.cache_clear()


@functools.lru_cache(maxsize=4)
def _secret_names(environ_size: int) -> tuple[str, ...]:
    # Which variables hold secrets changes rarely; matching every name on every
    # write cost ~0.1 ms a line in `route --jsonl`. Keyed on the environment's size
    # (a variable added or removed) and cleared when more names are registered.
    return tuple(name for name in os.environ if name in _extra_secrets or _SECRET_NAME.search(name))


def secret_values() -> list[str]:
    names = _secret_names(len(os.environ))
    values = {value for name in names if len(value := os.environ.get(name, "")) >= 6}
    # Longest first, so a key that contains another is removed whole.
    return sorted(values, key=len, reverse=True)


def scrub(text: str) -> str:
    for value in secret_values():
        if value in text:
            text = text.replace(value, "[redacted]")
    return text
