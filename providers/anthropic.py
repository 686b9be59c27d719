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
`max_retries` 2, `max_retry_wait` 30, `read_timeout` 60, `connect_timeout` 10), with
one line on stderr per retry. Errors go through the shared map (providers/error_map.py):
Anthropic's 529 and `overloaded_error` become Overloaded. A stream without its
`message_delta` (the stop reason) is incomplete; the usage `message_start` reported is
kept when a stream is cut.

A refusal (`stop_reason: "refusal"`) with no text raises ContentFiltered; after some text
it is finish reason `content_filter`: the rule OpenAI-style backends follow too.
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
    kind = "anthropic"  # locality, keys, default models: providers/manifest.py

    def __init__(self, name: str | None = None, settings: Mapping[str, Any] | None = None) -> None:
        super().__init__(name, settings)
        self._client: anthropic.Anthropic | None = None

    def available(self) -> Availability:
        return manifest.availability(self.kind, self.settings)

    def client(self) -> anthropic.Anthropic:
        if self._client is None:
            manifest.require_modules(self.kind, self.name)
            if not manifest.key_set(self.kind):
                raise AuthenticationError(manifest.hint_for_missing_key(self.kind), self.name)
            import anthropic

            self._client = anthropic.Anthropic(
                base_url=self.settings.get("base_url") or None,
                timeout=cloud.httpx_timeout(self.settings),
                max_retries=0,
            )
        return self._client

    def stream(self, request: Request, model: str) -> Iterator[Chunk | Completion]:
        load_s = cloud.timed(self.client)  # the SDK import and client, once: not part of TTFT
        clock = self.stopwatch()
        events = cloud.open_stream(
            self.name,
            self.settings,
            lambda: self._events(request, model),
            self.map_error,
            self.wait_note(),
        )
        pieces: list[str] = []
        usage: dict[str, int] = {}
        stop_reason: str | None = None
        try:
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
                    usage.update(_counts(event.usage))  # cumulative: later replace earlier
        except Exception as exc:
            exc.usage = _usage(usage) if usage else None  # type: ignore[attr-defined]
            raise
        text = "".join(pieces)
        if stop_reason == "refusal" and not text:
            # Nothing to show: fail as Azure's filter and Gemini's SAFETY do. With text
            # already streamed, it is out: the finish reason says it was cut short.
            raise ContentFiltered("the model refused to answer (stop_reason refusal)", self.name)
        finish = FINISH_REASONS.get(stop_reason, stop_reason) if stop_reason else None
        yield clock.completion(
            self, model, text, finish, _usage(usage), {"stop_reason": stop_reason}, load_s=load_s
        )

    def _events(self, request: Request, model: str) -> Iterator[Any]:
        params = {**message_params(request, model, self.settings), "stream": True}
        stream = self.client().messages.create(**params)
        try:
            yield from stream
        finally:
            stream.close()

    def wait_note(self) -> tuple[float, str] | None:
        return cloud.wait_note(self.name, self.settings)

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None


def message_params(request: Request, model: str, settings: Mapping[str, Any]) -> dict[str, Any]:
    """The Messages API parameters for a request (streamed, or inside a message batch)."""
    params: dict[str, Any] = {
        "model": model,
        "max_tokens": request.max_tokens or int(settings.get("max_tokens") or DEFAULT_MAX_TOKENS),
        "messages": anthropic_messages(request),
    }
    if request.schema is not None:
        params["output_config"] = anthropic_output_config(request.schema)
    system = "\n\n".join(m.content for m in request.messages if m.role == "system")
    if system:
        params["system"] = system
    if request.stop:
        params["stop_sequences"] = list(request.stop)
    return params


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
