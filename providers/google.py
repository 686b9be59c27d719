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
`max_retry_wait` 30, `read_timeout` 60: google-genai takes one timeout, for connecting
and for each read), honouring the RetryInfo delay of a 429, with one line on stderr per
retry. Errors go through the shared map (providers/error_map.py). A stream whose last
chunk carries no finish reason is incomplete; its usage so far is kept.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any

from convergio_llm.providers import cloud, manifest
from convergio_llm.providers.base import (
    Availability,
    Chunk,
    Completion,
    Provider,
    Request,
    Usage,
)
from convergio_llm.providers.errors import AuthenticationError, ContentFiltered

if TYPE_CHECKING:
    import logging

    from google import genai

FINISH_REASONS = {"STOP": "stop", "MAX_TOKENS": "length"}
FILTERED = {"SAFETY", "BLOCKLIST", "PROHIBITED_CONTENT", "SPII", "RECITATION", "IMAGE_SAFETY"}


class GoogleProvider(Provider):
    kind = "google"  # locality, keys, default models: providers/manifest.py

    def __init__(self, name: str | None = None, settings: Mapping[str, Any] | None = None) -> None:
        super().__init__(name, settings)
        self._client: genai.Client | None = None

    def available(self) -> Availability:
        return manifest.availability(self.kind, self.settings)

    def client(self) -> genai.Client:
        if self._client is None:
            manifest.require_modules(self.kind, self.name)
            if not manifest.key_set(self.kind):
                raise AuthenticationError(manifest.hint_for_missing_key(self.kind), self.name)
            from google import genai

            timeout_s = cloud.timeouts(self.settings)[1]
            options = genai.types.HttpOptions(
                base_url=self.settings.get("base_url") or None,
                api_version=self.settings.get("api_version") or None,
                timeout=int(timeout_s * 1000),  # milliseconds
            )
            # With both keys set the SDK logs a warning on every client; stdout/stderr are ours.
            # logging is imported here, not at the top: `llm route` loads this module to ask
            # for its availability, and logging alone costs ~5 ms of its start-up.
            import logging

            logging.getLogger("google_genai._api_client").addFilter(_not_both_keys_warning)
            self._client = genai.Client(http_options=options)
        return self._client

    def stream(self, request: Request, model: str) -> Iterator[Chunk | Completion]:
        load_s = cloud.timed(self.client)  # the SDK import and client, once: not part of TTFT
        clock = self.stopwatch()
        chunks = cloud.open_stream(
            self.name,
            self.settings,
            lambda: self._chunks(request, model),
            self.map_error,
            self.wait_note(),
        )
        pieces: list[str] = []
        usage: Any = None
        finish: str | None = None
        try:
            for chunk in chunks:
                usage = chunk.usage_metadata or usage
                feedback = chunk.prompt_feedback
                if feedback is not None and feedback.block_reason:
                    reason = _name(feedback.block_reason)
                    raise ContentFiltered(f"prompt blocked ({reason})", self.name)
                for candidate in chunk.candidates or []:
                    for part in (candidate.content.parts if candidate.content else None) or []:
                        if part.text and not part.thought:
                            clock.token()
                            pieces.append(part.text)
                            yield Chunk(part.text)
                    if candidate.finish_reason:
                        finish = _name(candidate.finish_reason)
        except Exception as exc:
            exc.usage = _usage(usage) if usage is not None else None  # type: ignore[attr-defined]
            raise
        if finish in FILTERED:
            raise ContentFiltered(f"answer blocked (finish reason {finish})", self.name)
        text = "".join(pieces)
        yield clock.completion(
            self,
            model,
            text,
            FINISH_REASONS.get(finish, finish.lower()) if finish else None,
            _usage(usage),
            {"finish_reason": finish},
            load_s=load_s,
        )

    def _chunks(self, request: Request, model: str) -> Iterator[Any]:
        contents, config = contents_and_config(request)
        yield from self.client().models.generate_content_stream(
            model=model, contents=contents, config=config
        )

    def wait_note(self) -> tuple[float, str] | None:
        return cloud.wait_note(self.name, self.settings)

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None


def contents_and_config(request: Request) -> tuple[list[Any], Any]:
    """The generate_content arguments for a request (streamed, or inlined in a batch)."""
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
    return contents, config


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
