"""Exit codes: the only place they are defined (README's table is generated from this)."""

from __future__ import annotations

from enum import IntEnum


class ExitStatus(IntEnum):
    OK = 0
    ERROR = 1
    USAGE = 2
    NO_PROVIDER = 3
    BUDGET_EXCEEDED = 4
    PROVIDER_FAILED = 5
    AUTHENTICATION = 6
    INTERRUPTED = 130


DESCRIPTIONS = {
    ExitStatus.OK: "success",
    ExitStatus.ERROR: "error: request rejected by the provider, content filtered, internal error",
    ExitStatus.USAGE: "usage: bad option, bad input (empty stdin, invalid UTF-8, malformed JSON), "
    "bad config, unknown provider or model",
    ExitStatus.NO_PROVIDER: "no provider available (package missing, server unreachable)",
    ExitStatus.BUDGET_EXCEEDED: "budget exceeded",
    ExitStatus.PROVIDER_FAILED: "provider failed after retries and fallbacks, or mid-stream",
    ExitStatus.AUTHENTICATION: "authentication: API key missing or rejected",
    ExitStatus.INTERRUPTED: "interrupted (Ctrl-C)",
}


def status_for(error: BaseException) -> ExitStatus:
    from convergio_llm.providers import errors as e

    if isinstance(error, e.AllAttemptsFailed):
        nested = getattr(error, "errors", None) or ([error.last] if error.last else [])
        codes = {status_for(x) for x in nested}
        return codes.pop() if len(codes) == 1 else ExitStatus.PROVIDER_FAILED
    table: list[tuple[type[BaseException], ExitStatus]] = [
        (e.InputError, ExitStatus.USAGE),
        (e.ConfigError, ExitStatus.USAGE),
        (e.UnknownProvider, ExitStatus.USAGE),
        (e.ModelNotFound, ExitStatus.USAGE),
        (e.NoProviderAvailable, ExitStatus.NO_PROVIDER),
        (e.ProviderUnavailable, ExitStatus.NO_PROVIDER),
        (e.BudgetExceeded, ExitStatus.BUDGET_EXCEEDED),
        (e.AuthenticationError, ExitStatus.AUTHENTICATION),
        (e.StreamInterrupted, ExitStatus.PROVIDER_FAILED),
        (e.RateLimited, ExitStatus.PROVIDER_FAILED),
        (e.Overloaded, ExitStatus.PROVIDER_FAILED),
        (e.ProviderTimeout, ExitStatus.PROVIDER_FAILED),
        (e.ServerError, ExitStatus.PROVIDER_FAILED),
        (KeyboardInterrupt, ExitStatus.INTERRUPTED),
    ]
    for cls, status in table:
        if isinstance(error, cls):
            return status
    return ExitStatus.ERROR
