"""The one map from a failure to the error tree, shared by every backend.

Two tables decide: an error *code* named in the body (`context_length_exceeded`,
Anthropic's `overloaded_error`, Gemini's `API_KEY_INVALID`...) wins over the HTTP
*status*; a transport exception is classed by its type's name, so neither httpx2 nor
requests (nor any SDK) is imported here: this module is on the `llm route` path.

    refused / connect timeout          → ProviderUnavailable  (exit 3: nothing answered)
    read timeout                       → ProviderTimeout
    reset, malformed or partial answer → ServerError          (exit 5: a server answered badly)
    anything else an engine raises     → ServerError

The provider base class applies `map_exception` to whatever escapes a stream, and turns
the error into StreamInterrupted when text had already been yielded.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from convergio_llm.providers.errors import (
    AuthenticationError,
    BadRequest,
    ContentFiltered,
    ContextTooLong,
    ModelNotFound,
    Overloaded,
    ProviderError,
    ProviderTimeout,
    ProviderUnavailable,
    RateLimited,
    ServerError,
)

STATUS: dict[int, type[ProviderError]] = {
    400: BadRequest,
    401: AuthenticationError,
    403: AuthenticationError,
    404: ModelNotFound,
    408: ProviderTimeout,
    409: ServerError,
    413: ContextTooLong,
    429: RateLimited,
    499: ServerError,
    503: Overloaded,
    504: ProviderTimeout,
    529: Overloaded,
}
CODES: dict[str, type[ProviderError]] = {
    "context_length_exceeded": ContextTooLong,
    "content_filter": ContentFiltered,
    "invalid_api_key": AuthenticationError,
    "authentication_error": AuthenticationError,
    "permission_error": AuthenticationError,
    "API_KEY_INVALID": AuthenticationError,
    "model_not_found": ModelNotFound,
    "not_found_error": ModelNotFound,
    "DeploymentNotFound": ModelNotFound,
    "rate_limit_error": RateLimited,
    "rate_limit_exceeded": RateLimited,
    "insufficient_quota": RateLimited,
    "RESOURCE_EXHAUSTED": RateLimited,
    "overloaded_error": Overloaded,
    "UNAVAILABLE": Overloaded,
    "timeout_error": ProviderTimeout,
    "DEADLINE_EXCEEDED": ProviderTimeout,
}
# Said in words only, by several servers: a prompt over the context window, a bad key.
TOO_LONG = ("maximum context length", "prompt is too long", "context window", "exceeds the maximum")
BAD_KEY = ("api key not valid", "invalid api key", "incorrect api key", "invalid x-api-key")

_KEY_LIKE = re.compile(r"\b(sk-[A-Za-z0-9_*-]{3})[A-Za-z0-9_*-]+")

# Transport failures by exception type name (httpx2, requests, urllib3, the SDKs, the OS).
_UNREACHABLE = ("ConnectError", "ConnectTimeout", "NewConnectionError", "ConnectionRefusedError")
_TIMED_OUT = ("TimeoutException", "ReadTimeout", "ReadTimeoutError", "APITimeoutError")
_CUT = (
    "RemoteProtocolError",
    "ReadError",
    "ChunkedEncodingError",
    "ProtocolError",
    "IncompleteRead",
    "ConnectionResetError",
)


def describe(body: Any) -> tuple[list[str], str]:
    """The error codes and the message in any error body: OpenAI's, Anthropic's and Gemini's
    `{"error": {...}}`, Ollama's `{"error": "..."}`, FastAPI's `{"detail": ...}`, plain text,
    an HTML page."""
    if isinstance(body, bytes):
        body = body.decode("utf-8", errors="replace")
    if isinstance(body, str):
        text = body.strip()
        try:
            body = json.loads(text)
        except ValueError:
            return [], _html_title(text) if text.startswith("<") else text
    if isinstance(body, list) and body:
        return describe(body[0])
    if not isinstance(body, Mapping):
        return [], "" if body is None else str(body)
    error = body.get("error", body)
    if isinstance(error, str):
        return [], error
    if not isinstance(error, Mapping):
        error = body
    codes = [str(error[k]) for k in ("type", "code", "status") if error.get(k)]
    for detail in error.get("details") or ():
        if isinstance(detail, Mapping) and detail.get("reason"):
            codes.append(str(detail["reason"]))
    message = error.get("message") or body.get("detail") or body.get("message")
    if isinstance(message, list):  # FastAPI validation errors: [{"msg": ...}, ...]
        message = "; ".join(str(m.get("msg", m) if isinstance(m, Mapping) else m) for m in message)
    return codes, str(message) if message else json.dumps(body)[:200]


def _html_title(text: str) -> str:
    lower = text.lower()
    start, end = lower.find("<title>"), lower.find("</title>")
    title = text[start + 7 : end].strip() if 0 <= start < end else ""
    return f"an HTML page ({title})" if title else "an HTML page, not an API answer"


def error_for_status(
    status: int,
    body: Any,
    provider: str,
    headers: Mapping[str, str] | None = None,
) -> ProviderError:
    """An HTTP error answer (status, body, headers) as the error tree."""
    codes, message = describe(body)
    cls = next((CODES[c] for c in codes if c in CODES), None)
    lower = message.lower()
    if cls is None and any(phrase in lower for phrase in BAD_KEY):
        cls = AuthenticationError
    if cls is None and any(phrase in lower for phrase in TOO_LONG):
        cls = ContextTooLong
    if cls is None:
        cls = STATUS.get(status) or (BadRequest if 400 <= status < 500 else ServerError)
    # OpenAI echoes a masked key ("sk-abc***xyz") on 401; keep even that out of our output.
    message = _KEY_LIKE.sub(r"\1…", message)
    text = f"HTTP {status}: {message}" if status != 200 else message
    retry_after = retry_after_from_headers(headers) or _retry_delay(body)
    if cls is RateLimited:
        hint = f" (retry after {retry_after:g} s)" if retry_after is not None else ""
        error: ProviderError = RateLimited(text + hint, provider, status, retry_after)
        if "insufficient_quota" in codes:
            error.retryable = False  # billing, not load: waiting will not help
        return error
    error = cls(text, provider, status)
    if retry_after is not None and error.retryable:
        error.retry_after = retry_after  # type: ignore[attr-defined]
    return error


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


def _retry_delay(body: Any) -> float | None:
    """Gemini's RetryInfo detail (`"retryDelay": "30s"`) when there is no header."""
    error = body.get("error") if isinstance(body, Mapping) else None
    for detail in (error.get("details") if isinstance(error, Mapping) else None) or ():
        delay = str(detail.get("retryDelay") or "") if isinstance(detail, Mapping) else ""
        if delay.endswith("s"):
            try:
                return float(delay[:-1])
            except ValueError:
                pass
    return None


def _names(exc: BaseException) -> set[str]:
    """Type names of the exception and of what it wraps (cause, context, args)."""
    seen: set[str] = set()
    todo: list[BaseException] = [exc]
    while todo and len(seen) < 64:
        current = todo.pop()
        seen.update(cls.__name__ for cls in type(current).__mro__)
        todo += [e for e in (current.__cause__, current.__context__) if e is not None]
        todo += [a for a in current.args if isinstance(a, BaseException)]
        reason = getattr(current, "reason", None)  # urllib3's MaxRetryError
        if isinstance(reason, BaseException):
            todo.append(reason)
    return seen


def map_exception(exc: BaseException, provider: str) -> ProviderError:
    """Any exception a backend lets out (an SDK's, a transport's, an engine's) as the tree."""
    if isinstance(exc, ProviderError):
        return exc
    status = getattr(exc, "status_code", None)
    if not isinstance(status, int) and hasattr(exc, "details"):
        status = getattr(exc, "code", None)  # google-genai's APIError
    response = getattr(exc, "response", None)
    if isinstance(status, int):
        body = getattr(exc, "details", None) if hasattr(exc, "details") else None
        body = body if body is not None else getattr(exc, "body", None)
        if body is None and response is not None:
            body = _text(response)
        if body is None or body == {}:
            body = getattr(exc, "message", None) or str(exc)
        return error_for_status(status, body, provider, getattr(response, "headers", None))
    body = getattr(exc, "body", None)
    if isinstance(body, Mapping) and body:  # an error record inside a 200 stream
        return error_for_status(200, body, provider)
    names = _names(exc)
    detail = f"{type(exc).__name__}: {exc}"
    if names & set(_UNREACHABLE):
        return ProviderUnavailable(f"cannot connect ({detail})", provider)
    if names & set(_TIMED_OUT) or isinstance(exc, TimeoutError):
        return ProviderTimeout(f"no answer in time ({detail})", provider)
    if names & set(_CUT):
        return ServerError(f"connection lost ({detail})", provider)
    if "APIConnectionError" in names or isinstance(exc, ConnectionError):
        return ProviderUnavailable(f"cannot connect ({detail})", provider)
    if isinstance(exc, ValueError):  # JSONDecodeError and the SDKs' stream decoders
        return ServerError(f"malformed answer ({detail})", provider)
    return ServerError(detail, provider)


def _text(response: Any) -> str | None:
    try:
        return str(response.text)
    except Exception:  # a streamed response whose body was never read
        return None
