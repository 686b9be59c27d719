"""Chat Completions over any OpenAI-SDK client (`OpenAI`, `AzureOpenAI`): one place for the
request arguments, the streamed answer and its usage.

Used by providers/openai.py and providers/azure.py. Errors go through the shared map
(providers/error_map.py, applied by the Provider base class); the opening of the stream is
retried by `providers.cloud.open_stream`, which announces every wait on stderr (clients are
built with the SDK's own retries off).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from convergio_llm.providers import cloud
from convergio_llm.providers.base import Chunk, Completion, Provider, Request, Usage
from convergio_llm.providers.errors import ContentFiltered
from convergio_llm.providers.request_parts import openai_messages, openai_response_format


def notice(message: str) -> None:
    """A diagnostic for the user (stdout carries only answers)."""
    cloud.note(message)


def chat_kwargs(request: Request, model: str, token_param: str = "max_tokens") -> dict[str, Any]:
    """Chat Completions arguments; unset parameters are left out, not sent as defaults."""
    kwargs: dict[str, Any] = {
        "model": model,
        "messages": openai_messages(request),
        "stream": True,
        "stream_options": {"include_usage": True},
    }
    if request.max_tokens is not None:
        kwargs[token_param] = request.max_tokens
    if request.temperature is not None:  # GPT-5 reasoning models reject any explicit value
        kwargs["temperature"] = request.temperature
    if request.seed is not None:
        kwargs["seed"] = request.seed
    if request.stop:
        kwargs["stop"] = list(request.stop)
    if request.schema is not None:
        kwargs["response_format"] = openai_response_format(request.schema)
    return kwargs


def _usage(raw: Any) -> Usage:
    prompt = getattr(raw, "prompt_tokens_details", None)
    completion = getattr(raw, "completion_tokens_details", None)
    return Usage(
        input_tokens=int(raw.prompt_tokens or 0),
        output_tokens=int(raw.completion_tokens or 0),
        cached_input_tokens=int(getattr(prompt, "cached_tokens", None) or 0),
        reasoning_tokens=int(getattr(completion, "reasoning_tokens", None) or 0),
        source="provider",
    )


def _chunks(client: Any, kwargs: dict[str, Any]) -> Iterator[Any]:
    stream = client.chat.completions.create(**kwargs)
    try:
        yield from stream
    finally:
        stream.close()


def stream_chat(
    client: Any,
    provider: Provider,
    request: Request,
    model: str,
    token_param: str = "max_tokens",
) -> Iterator[Chunk | Completion]:
    """Stream one chat completion with any OpenAI-SDK client (OpenAI, AzureOpenAI).

    The finish reason is None unless a choice carried one: a stream cut short, `[DONE]`
    early, or a body that was not a stream at all (HTML, one JSON object) is incomplete.
    """
    clock = provider.stopwatch()
    kwargs = chat_kwargs(request, model, token_param)
    chunks = cloud.open_stream(
        provider.name,
        provider.settings,
        lambda: _chunks(client, kwargs),
        provider.map_error,
        provider.wait_note(),
    )
    pieces: list[str] = []
    finish: str | None = None
    usage: Usage | None = None
    stats: dict[str, Any] = {}
    for chunk in chunks:
        for key in ("id", "model", "system_fingerprint", "service_tier"):
            if getattr(chunk, key, None):
                stats[key] = getattr(chunk, key)
        if getattr(chunk, "usage", None) is not None:
            usage = _usage(chunk.usage)
        # Empty `choices` is normal: the usage chunk, Azure's prompt-filter chunk.
        for choice in chunk.choices or ():
            text = choice.delta.content if choice.delta is not None else None
            if text:
                clock.token()
                pieces.append(text)
                yield Chunk(text)
            if choice.finish_reason:
                finish = choice.finish_reason
    text = "".join(pieces)
    if finish == "content_filter" and not text:
        raise ContentFiltered("the answer was blocked by a content filter", provider.name)
    return_usage = usage or Usage.estimate(request, text)
    yield clock.completion(provider, model, text, finish, return_usage, raw_stats=stats)
