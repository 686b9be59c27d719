"""Anthropic's Messages API through the official `anthropic` SDK (2.x).

Key: `ANTHROPIC_API_KEY` (or `ANTHROPIC_AUTH_TOKEN`), read by the SDK itself; the SDK
2.x sends it as `Authorization: Bearer`. Base URL: setting `base_url`, else the SDK's
`ANTHROPIC_BASE_URL`, else api.anthropic.com (without `/v1`: the SDK appends it).

Temperature is never sent: API version 2026-10-21, which SDK 2.x speaks, rejects
`temperature`/`top_p`/`top_k` with HTTP 400 even at default values, and
`messages.create()` no longer takes them. `Request.temperature` is ignored here.

`max_tokens` is required by the API: the request's, else setting `max_tokens` (default 4096).
Usage: `input_tokens` is the whole prompt (uncached + cache writes + cache reads);
`cached_input_tokens` is the cache reads.

Retries and timeouts: the SDK's own retry loop is off (`max_retries=0`) because it
honours any `retry-after` without a cap and says nothing while it sleeps; the
opening of each stream is retried by `providers.cloud.open_stream` instead (settings
`max_retries` 2, `max_retry_wait` 30, `timeout` 120, `connect_timeout` 5), with
one line on stderr per retry. Anthropic's 529 becomes Overloaded.

A refusal (`stop_reason: "refusal"`) with no text raises ContentFiltered; after some text
it is finish reason `content_filter`: the rule OpenAI-style backends follow too.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any

from convergio_llm.providers import cloud
from convergio_llm.providers.base import (
    Availability,
    Chunk,
    Completion,
    Provider,
    Request,
    Stopwatch,
    Tier,
    Usage,
)
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
from convergio_llm.providers.request_parts import anthropic_messages, anthropic_output_config

if TYPE_CHECKING:
    import anthropic

DEFAULT_MAX_TOKENS = 4096
FINISH_REASONS = {
    "end_turn": "stop",
    "stop_sequence": "stop",
    "max_tokens": "length",
    "model_context_window_exceeded": "length",
    "refusal": "content_filter",
}


class AnthropicProvider(Provider):
    kind = "anthropic"
    locality = "cloud"
    privacy = "provider-dependent"
    secret_env = ("ANTHROPIC_API_KEY", "ANTHROPIC_AUTH_TOKEN")

    def __init__(self, name: str | None = None, settings: Mapping[str, Any] | None = None) -> None:
        super().__init__(name, settings)
        self._client: anthropic.Anthropic | None = None

    def default_models(self) -> Mapping[Tier, str]:
        return {
            "simple": "claude-haiku-4-5",
            "balanced": "claude-sonnet-4-5",
            "quality": "claude-opus-4-5",
        }

    def available(self) -> Availability:
        return cloud.key_availability(
            "anthropic", ("ANTHROPIC_API_KEY",), ("ANTHROPIC_AUTH_TOKEN",)
        )

    def client(self) -> anthropic.Anthropic:
        if self._client is None:
            if not self.available():
                raise AuthenticationError("no API key: set ANTHROPIC_API_KEY", self.name)
            import anthropic
            import httpx2

            timeout = httpx2.Timeout(
                cloud.setting(self.settings, "timeout", cloud.DEFAULT_TIMEOUT_S),
                connect=cloud.setting(
                    self.settings, "connect_timeout", cloud.DEFAULT_CONNECT_TIMEOUT_S
                ),
            )
            self._client = anthropic.Anthropic(
                base_url=self.settings.get("base_url") or None, timeout=timeout, max_retries=0
            )
        return self._client

    def stream(self, request: Request, model: str) -> Iterator[Chunk | Completion]:
        load_s = cloud.timed(self.client)  # the SDK import and client, once: not part of TTFT
        clock = Stopwatch()
        events = cloud.open_stream(
            self.name, self.settings, lambda: self._events(request, model), self.map_error
        )
        pieces: list[str] = []
        usage: dict[str, int] = {}
        stop_reason: str | None = None
        for event in events:
            if event.type == "message_start":
                usage.update(_counts(event.message.usage))
            elif event.type == "content_block_delta" and event.delta.type == "text_delta":
                if event.delta.text:
                    clock.token()
                    pieces.append(event.delta.text)
                    yield Chunk(event.delta.text)
            elif event.type == "message_delta":
                stop_reason = event.delta.stop_reason or stop_reason
                usage.update(_counts(event.usage))  # cumulative: later counts replace earlier
        text = "".join(pieces)
        if stop_reason == "refusal" and not text:
            # Nothing to show: fail as Azure's filter and Gemini's SAFETY do. With text
            # already streamed, it is out: the finish reason says it was cut short.
            raise ContentFiltered("the model refused to answer (stop_reason refusal)", self.name)
        finish = FINISH_REASONS.get(stop_reason or "", stop_reason)
        yield clock.completion(
            self, model, text, finish, _usage(usage), {"stop_reason": stop_reason}, load_s=load_s
        )

    def _events(self, request: Request, model: str) -> Iterator[Any]:
        params: dict[str, Any] = {
            "model": model,
            "max_tokens": request.max_tokens
            or int(self.settings.get("max_tokens") or DEFAULT_MAX_TOKENS),
            "messages": anthropic_messages(request),
            "stream": True,
        }
        if request.schema is not None:
            params["output_config"] = anthropic_output_config(request.schema)
        system = "\n\n".join(m.content for m in request.messages if m.role == "system")
        if system:
            params["system"] = system
        if request.stop:
            params["stop_sequences"] = list(request.stop)
        stream = self.client().messages.create(**params)
        try:
            yield from stream
        finally:
            stream.close()

    def map_error(self, exc: Exception) -> ProviderError:
        return map_anthropic_error(exc, self.name)

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None


def _counts(usage: Any) -> dict[str, int]:
    names = (
        "input_tokens",
        "output_tokens",
        "cache_read_input_tokens",
        "cache_creation_input_tokens",
    )
    return {n: int(v) for n in names if (v := getattr(usage, n, None)) is not None}


def _usage(counts: Mapping[str, int]) -> Usage:
    cache_read = counts.get("cache_read_input_tokens", 0)
    cache_write = counts.get("cache_creation_input_tokens", 0)
    return Usage(
        input_tokens=counts.get("input_tokens", 0) + cache_read + cache_write,
        output_tokens=counts.get("output_tokens", 0),
        cached_input_tokens=cache_read,
        source="provider",
    )


def map_anthropic_error(exc: Exception, provider: str) -> ProviderError:
    """An anthropic SDK exception → our error tree (the message is scrubbed by ProviderError)."""
    import anthropic

    if isinstance(exc, anthropic.APITimeoutError):
        return ProviderTimeout(f"no answer in time ({exc})", provider)
    if isinstance(exc, anthropic.APIConnectionError):
        return ProviderUnavailable(f"cannot connect ({exc})", provider)
    if (transport := cloud.transport_error(exc, provider)) is not None:
        return transport
    if not isinstance(exc, anthropic.APIStatusError):
        return ProviderError(f"{type(exc).__name__}: {exc}", provider)
    status = exc.status_code
    error_type, message = _error_body(exc)
    text = f"HTTP {status} {error_type}: {message}"
    if error_type == "overloaded_error" or status in (503, 529):
        return cloud.with_retry_after(Overloaded(text, provider, status), exc.response.headers)
    if error_type == "rate_limit_error" or status == 429:
        retry_after = cloud.retry_after_from_headers(exc.response.headers)
        return RateLimited(text, provider, status, retry_after=retry_after)
    if status in (401, 403) or error_type in ("authentication_error", "permission_error"):
        return AuthenticationError(text, provider, status)
    if status == 404:
        return ModelNotFound(text, provider, status)
    if status in (408, 504) or error_type == "timeout_error":
        return ProviderTimeout(text, provider, status)
    if status == 413 or "prompt is too long" in message or "context window" in message:
        return ContextTooLong(text, provider, status)
    if 400 <= status < 500:
        return BadRequest(text, provider, status)
    return ServerError(text, provider, status)


def _error_body(exc: Any) -> tuple[str, str]:
    body = exc.body if isinstance(exc.body, dict) else {}
    error = body.get("error", body) if isinstance(body, dict) else {}
    if not isinstance(error, dict):
        error = {}
    return str(error.get("type") or "error"), str(error.get("message") or exc.message)
