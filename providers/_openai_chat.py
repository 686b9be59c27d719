"""Chat Completions over any OpenAI-SDK client (`OpenAI`, `AzureOpenAI`): one place for the
request arguments, the streamed answer, its usage, the error mapping and announced retries.

Used by providers/openai.py and providers/azure.py; `convergio_llm.providers.openai`
re-exports `map_openai_error` and `stream_chat`.

Retries are ours, not the SDK's (clients are built with max_retries=0): each wait is announced
on stderr with its reason and length, and a server asking for more than `max_wait` seconds is
not waited for (RateLimited carries its retry_after), so a pipeline never hangs silently.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any

from convergio_llm.providers.base import Chunk, Completion, Provider, Request, Stopwatch, Usage
from convergio_llm.providers.cloud import retry_after_from_headers
from convergio_llm.providers.errors import (
    AuthenticationError,
    BadRequest,
    ContentFiltered,
    ContextTooLong,
    LLMError,
    ModelNotFound,
    ProviderError,
    ProviderTimeout,
    ProviderUnavailable,
    RateLimited,
    ServerError,
    StreamInterrupted,
)
from convergio_llm.providers.request_parts import openai_messages, openai_response_format

_KEY_LIKE = re.compile(r"\b(sk-[A-Za-z0-9_*-]{3})[A-Za-z0-9_*-]+")


def notice(message: str) -> None:
    """A diagnostic for the user (stdout carries only answers)."""
    from convergio_llm.providers.cloud import note

    note(message)


# -- errors ----------------------------------------------------------------------------------


def _server_message(exc: Any) -> str:
    body = getattr(exc, "body", None)
    if isinstance(body, Mapping) and body.get("message"):
        text = str(body["message"])
    elif isinstance(body, str) and body:
        text = body
    else:
        text = str(getattr(exc, "message", None) or exc)
    # OpenAI echoes a masked key ("sk-abc***xyz") on 401; keep even that out of our output.
    return _KEY_LIKE.sub(r"\1…", text)


def map_openai_error(exc: Exception, provider_name: str) -> LLMError:
    """An openai SDK exception as the error tree of providers/errors.py."""
    import httpx2
    import openai

    if isinstance(exc, LLMError):
        return exc
    message = _server_message(exc)
    # Read timeouts and dropped connections while a stream is read arrive from httpx2 itself.
    if isinstance(exc, (openai.APITimeoutError, httpx2.TimeoutException)):
        return ProviderTimeout(f"request timed out: {message}", provider_name)
    if isinstance(exc, openai.APIConnectionError):
        where = exc.request.url if getattr(exc, "request", None) is not None else "the server"
        return ProviderUnavailable(f"cannot connect to {where}: {message}", provider_name)
    status = getattr(exc, "status_code", None)
    code = getattr(exc, "code", None)
    if code == "context_length_exceeded":
        return ContextTooLong(message, provider_name, status)
    if code == "content_filter":
        return ContentFiltered(message, provider_name, status)
    if isinstance(exc, (openai.AuthenticationError, openai.PermissionDeniedError)):
        return AuthenticationError(message, provider_name, status)
    if isinstance(exc, openai.NotFoundError):
        return ModelNotFound(message, provider_name, status)
    if isinstance(exc, openai.RateLimitError):
        retry_after = retry_after_from_headers(exc.response.headers)
        hint = f" (retry after {retry_after:g} s)" if retry_after is not None else ""
        error = RateLimited(message + hint, provider_name, status, retry_after)
        if code == "insufficient_quota":
            error.retryable = False  # billing, not load: waiting will not help
        return error
    if isinstance(status, int) and 400 <= status < 500 and status not in (408, 409):
        return BadRequest(message, provider_name, status)
    return ServerError(message, provider_name, status)


# -- streaming (shared with Azure) -----------------------------------------------------------


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


def create_with_retries(
    client: Any, kwargs: Mapping[str, Any], provider_name: str, max_retries: int, max_wait: float
) -> Any:
    """chat.completions.create, retried on retryable errors with every wait announced."""
    from convergio_llm.providers.cloud import retry_call

    settings = {"max_retries": max_retries, "max_retry_wait": max_wait}
    return retry_call(
        provider_name,
        settings,
        lambda: client.chat.completions.create(**kwargs),
        lambda exc: _provider_error(map_openai_error(exc, provider_name), provider_name),
    )


def _provider_error(error: LLMError, provider_name: str) -> ProviderError:
    return error if isinstance(error, ProviderError) else ServerError(str(error), provider_name)


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


def stream_chat(
    client: Any,
    provider: Provider,
    request: Request,
    model: str,
    token_param: str = "max_tokens",
    max_retries: int = 2,
    max_wait: float = 30.0,
) -> Iterator[Chunk | Completion]:
    """Stream one chat completion with any OpenAI-SDK client (OpenAI, AzureOpenAI)."""
    import httpx2
    import openai

    clock = Stopwatch()
    kwargs = chat_kwargs(request, model, token_param)
    stream = create_with_retries(client, kwargs, provider.name, max_retries, max_wait)
    pieces: list[str] = []
    finish: str | None = None
    usage: Usage | None = None
    stats: dict[str, Any] = {}
    try:
        for chunk in stream:
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
    except (openai.APIError, httpx2.HTTPError) as exc:
        error = map_openai_error(exc, provider.name)
        if pieces:
            raise StreamInterrupted(
                f"failed after output had started: {error}", provider.name
            ) from None
        raise error from None
    finally:
        stream.close()
    text = "".join(pieces)
    if finish == "content_filter" and not text:
        raise ContentFiltered("the answer was blocked by a content filter", provider.name)
    return_usage = usage or Usage.estimate(request, text)
    yield clock.completion(provider, model, text, finish, return_usage, raw_stats=stats)
