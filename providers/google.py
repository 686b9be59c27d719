"""Google's Gemini API through the official `google-genai` SDK.

Key: `GEMINI_API_KEY` or `GOOGLE_API_KEY` (the SDK prefers GOOGLE_API_KEY when both are
set; its warning about that is filtered out), read by the SDK and sent as `x-goog-api-key`.
Base URL: setting `base_url`, else the SDK's `GOOGLE_GEMINI_BASE_URL`, else
generativelanguage.googleapis.com.
API version: setting `api_version`, else the SDK's `GOOGLE_GENAI_API_VERSION`, else the
SDK's default (`v1` in google-genai 3.x, not `v1beta`).

The `genai.Client` is kept for the provider's whole life: it closes its HTTP client in
`__del__`, so a temporary client fails its first request.

Usage: `input_tokens` is `promptTokenCount` (cached tokens included), `cached_input_tokens`
is `cachedContentTokenCount`; thinking tokens (`thoughtsTokenCount`) are billed as output,
so `output_tokens` = candidates + thoughts and `reasoning_tokens` = thoughts. Thought
parts are never printed. A blocked prompt (`promptFeedback.blockReason`) or a
SAFETY-like finish reason raises ContentFiltered.

Retries and timeouts: google-genai retries nothing unless told; the opening of each
stream is retried by `providers.cloud.open_stream` (settings `max_retries` 2,
`max_retry_wait` 30, `timeout` 120), honouring the RetryInfo delay of a 429, with
one line on stderr per retry.
"""

from __future__ import annotations

import logging
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
    RateLimited,
    ServerError,
)

if TYPE_CHECKING:
    from google import genai

FINISH_REASONS = {"STOP": "stop", "MAX_TOKENS": "length"}
FILTERED = {"SAFETY", "BLOCKLIST", "PROHIBITED_CONTENT", "SPII", "RECITATION", "IMAGE_SAFETY"}


class GoogleProvider(Provider):
    kind = "google"
    locality = "cloud"
    privacy = "provider-dependent"
    secret_env = ("GEMINI_API_KEY", "GOOGLE_API_KEY")

    def __init__(self, name: str | None = None, settings: Mapping[str, Any] | None = None) -> None:
        super().__init__(name, settings)
        self._client: genai.Client | None = None

    def default_models(self) -> Mapping[Tier, str]:
        return {
            "simple": "gemini-2.5-flash",
            "balanced": "gemini-2.5-pro",
            "quality": "gemini-3.1-pro-preview",
        }

    def available(self) -> Availability:
        return cloud.key_availability("google.genai", ("GEMINI_API_KEY",), ("GOOGLE_API_KEY",))

    def client(self) -> genai.Client:
        if self._client is None:
            if not self.available():
                raise AuthenticationError("no API key: set GEMINI_API_KEY", self.name)
            from google import genai

            timeout_s = cloud.setting(self.settings, "timeout", cloud.DEFAULT_TIMEOUT_S)
            options = genai.types.HttpOptions(
                base_url=self.settings.get("base_url") or None,
                api_version=self.settings.get("api_version") or None,
                timeout=int(timeout_s * 1000),  # milliseconds
            )
            # With both keys set the SDK logs a warning on every client; stdout/stderr are ours.
            logging.getLogger("google_genai._api_client").addFilter(_not_both_keys_warning)
            self._client = genai.Client(http_options=options)
        return self._client

    def stream(self, request: Request, model: str) -> Iterator[Chunk | Completion]:
        load_s = cloud.timed(self.client)  # the SDK import and client, once: not part of TTFT
        clock = Stopwatch()
        chunks = cloud.open_stream(
            self.name, self.settings, lambda: self._chunks(request, model), self.map_error
        )
        pieces: list[str] = []
        usage: Any = None
        finish: str | None = None
        for chunk in chunks:
            usage = chunk.usage_metadata or usage
            feedback = chunk.prompt_feedback
            if feedback is not None and feedback.block_reason:
                raise ContentFiltered(f"prompt blocked ({_name(feedback.block_reason)})", self.name)
            for candidate in chunk.candidates or []:
                for part in (candidate.content.parts if candidate.content else None) or []:
                    if part.text and not part.thought:
                        clock.token()
                        pieces.append(part.text)
                        yield Chunk(part.text)
                if candidate.finish_reason:
                    finish = _name(candidate.finish_reason)
        if finish in FILTERED:
            raise ContentFiltered(f"answer blocked (finish reason {finish})", self.name)
        text = "".join(pieces)
        yield clock.completion(
            self,
            model,
            text,
            FINISH_REASONS.get(finish or "", finish and finish.lower()),
            _usage(usage),
            {"finish_reason": finish},
            load_s=load_s,
        )

    def _chunks(self, request: Request, model: str) -> Iterator[Any]:
        from google.genai import types

        turns = [m for m in request.messages if m.role != "system"]
        last_user = max((i for i, m in enumerate(turns) if m.role == "user"), default=-1)
        contents = [
            types.Content(
                role="model" if m.role == "assistant" else "user",
                parts=[
                    types.Part(text=m.content),
                    # Images (-a) go inline with the turn they came with.
                    *(
                        types.Part.from_bytes(data=a.data, mime_type=a.media_type)
                        for a in (request.attachments if i == last_user else ())
                    ),
                ],
            )
            for i, m in enumerate(turns)
        ]
        system = "\n\n".join(m.content for m in request.messages if m.role == "system")
        config = types.GenerateContentConfig(
            system_instruction=system or None,
            max_output_tokens=request.max_tokens,
            stop_sequences=list(request.stop or ()) or None,
            temperature=request.temperature,
            seed=request.seed,
            response_mime_type="application/json" if request.schema is not None else None,
            response_json_schema=dict(request.schema) if request.schema is not None else None,
        )
        yield from self.client().models.generate_content_stream(
            model=model, contents=contents, config=config
        )

    def map_error(self, exc: Exception) -> ProviderError:
        return map_google_error(exc, self.name)

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None


def _not_both_keys_warning(record: logging.LogRecord) -> bool:
    return "Both GOOGLE_API_KEY and GEMINI_API_KEY" not in record.getMessage()


def _name(value: Any) -> str:
    return str(getattr(value, "value", value))


def _usage(meta: Any) -> Usage:
    if meta is None:
        return Usage(0, 0, source="provider")
    thoughts = meta.thoughts_token_count or 0
    return Usage(
        input_tokens=meta.prompt_token_count or 0,
        output_tokens=(meta.candidates_token_count or 0) + thoughts,
        cached_input_tokens=meta.cached_content_token_count or 0,
        reasoning_tokens=thoughts,
        source="provider",
    )


def map_google_error(exc: Exception, provider: str) -> ProviderError:
    """A google-genai (or its httpx2 transport) exception → our error tree."""
    from google.genai import errors

    if (transport := cloud.transport_error(exc, provider)) is not None:
        return transport
    if not isinstance(exc, errors.APIError):
        return ProviderError(f"{type(exc).__name__}: {exc}", provider)
    code, status, message = int(exc.code or 0), str(exc.status or ""), str(exc.message or "")
    text = f"HTTP {code} {status}: {message}"
    if code in (401, 403) or "API_KEY_INVALID" in str(exc.details) or "API key" in message:
        return AuthenticationError(text, provider, code)
    if code == 404:
        return ModelNotFound(text, provider, code)
    if code == 429:
        return RateLimited(text, provider, code, retry_after=_retry_delay(exc))
    if code == 503:
        headers = getattr(getattr(exc, "response", None), "headers", None)
        return cloud.with_retry_after(Overloaded(text, provider, code), headers)
    if code in (408, 504):
        return ProviderTimeout(text, provider, code)
    if code == 400 and ("token" in message and ("exceed" in message or "too long" in message)):
        return ContextTooLong(text, provider, code)
    if 400 <= code < 500:
        return BadRequest(text, provider, code)
    return ServerError(text, provider, code)


def _retry_delay(exc: Any) -> float | None:
    """The wait a 429 asks for: a `retry-after` header, else the RetryInfo detail ("30s")."""
    headers = getattr(getattr(exc, "response", None), "headers", None)
    seconds = cloud.retry_after_from_headers(headers)
    if seconds is not None:
        return seconds
    error = exc.details.get("error", {}) if isinstance(exc.details, dict) else {}
    for detail in error.get("details") or []:
        delay = str(detail.get("retryDelay") or "") if isinstance(detail, dict) else ""
        if delay.endswith("s"):
            try:
                return float(delay[:-1])
            except ValueError:
                pass
    return None
