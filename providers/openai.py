"""OpenAI, and any OpenAI-compatible server (vLLM, llama.cpp server, LM Studio, mlx_lm.server).

Settings (config `providers: {vllm: {kind: openai, base_url: ..., api_key_env: VLLM_API_KEY}}`):
    base_url        the API root including `/v1` (default: $OPENAI_BASE_URL, else api.openai.com)
    api_key_env     the variable holding the key (default OPENAI_API_KEY); a compatible server
                    (any base_url other than api.openai.com) may have none: "not-needed" is sent
    organization    sent as OpenAI-Organization
    timeout         seconds per request and per streamed read (default 120)
    max_retries     retries before the first token on 429, 5xx, connection errors (default 2)
    max_retry_wait  the longest retry-after we sleep through (default 30 s); a longer one fails
                    at once as RateLimited carrying retry_after, so a pipeline never hangs silently
    locality, privacy  override the guess from base_url (loopback/private → local-server/high)
    models          {tier: model} catalogue; for compatible servers a live listing uses GET /models

Retries are ours, not the SDK's (its max_retries is 0): every wait is announced on stderr with
its reason and length, and a server asking for more than max_retry_wait is not waited for.

`map_openai_error()` and `stream_chat()` are shared with the Azure provider (same SDK).
"""

from __future__ import annotations

import ipaddress
import os
import re
import sys
import time
from collections.abc import Iterator, Mapping
from typing import Any
from urllib.parse import urlsplit

from convergio_llm.providers.base import (
    AVAILABLE,
    Availability,
    Chunk,
    Completion,
    ModelInfo,
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
    LLMError,
    ModelNotFound,
    ProviderTimeout,
    ProviderUnavailable,
    RateLimited,
    ServerError,
    StreamInterrupted,
    register_secret_env,
)

OPENAI_HOST = "api.openai.com"
_KEY_LIKE = re.compile(r"\b(sk-[A-Za-z0-9_*-]{3})[A-Za-z0-9_*-]+")


def notice(message: str) -> None:
    """A diagnostic for the user (stdout carries only answers)."""
    sys.stderr.write(f"llm: {message}\n")
    sys.stderr.flush()


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


def _retry_after(headers: Any) -> float | None:
    if headers is None:
        return None
    for name, scale in (("retry-after-ms", 0.001), ("retry-after", 1.0)):
        try:
            return float(headers.get(name)) * scale
        except (TypeError, ValueError):
            continue
    return None


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
        retry_after = _retry_after(exc.response.headers)
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
        "messages": [{"role": m.role, "content": m.content} for m in request.messages],
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
    return kwargs


def create_with_retries(
    client: Any, kwargs: Mapping[str, Any], provider_name: str, max_retries: int, max_wait: float
) -> Any:
    """chat.completions.create, retried on retryable errors with every wait announced."""
    for attempt in range(max_retries + 1):
        try:
            return client.chat.completions.create(**kwargs)
        except Exception as exc:
            error = map_openai_error(exc, provider_name)
            if not getattr(error, "retryable", False) or attempt >= max_retries:
                raise error from None
            retry_after = getattr(error, "retry_after", None)
            if retry_after is not None and retry_after > max_wait:
                raise error from None
            wait = retry_after if retry_after is not None else min(0.5 * 2**attempt, 8.0)
            notice(f"{error}; retrying in {wait:g} s ({attempt + 1} of {max_retries})")
            time.sleep(wait)
    raise AssertionError("unreachable")


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


# -- the provider ----------------------------------------------------------------------------


def is_local_host(host: str) -> bool:
    """Loopback, private or link-local addresses, and `localhost`: traffic stays on site."""
    if host == "localhost" or host.endswith((".localhost", ".local")):
        return True
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        return False
    return ip.is_loopback or ip.is_private or ip.is_link_local


class OpenAIProvider(Provider):
    kind = "openai"
    secret_env = ("OPENAI_API_KEY",)

    def __init__(self, name: str | None = None, settings: Mapping[str, Any] | None = None):
        super().__init__(name, settings)
        self.base_url: str | None = self.settings.get("base_url") or os.environ.get(
            "OPENAI_BASE_URL"
        )
        self.host = (urlsplit(self.base_url).hostname or "") if self.base_url else OPENAI_HOST
        self.key_env = str(self.settings.get("api_key_env") or "OPENAI_API_KEY")
        self.secret_env = (self.key_env,)
        register_secret_env(self.key_env)
        local = is_local_host(self.host)
        self.locality = self.settings.get("locality") or ("local-server" if local else "cloud")
        self.privacy = self.settings.get("privacy") or ("high" if local else "provider-dependent")
        self._client: Any = None

    @property
    def official(self) -> bool:
        """api.openai.com itself: a key is required; reasoning models need max_completion_tokens."""
        return self.host == OPENAI_HOST

    def default_models(self) -> Mapping[Tier, str]:
        if self.official:
            return {"simple": "gpt-5-mini", "balanced": "gpt-5.2", "quality": "gpt-5.2-pro"}
        return {}

    def _key(self) -> str | None:
        key = os.environ.get(self.key_env)
        return key or (None if self.official else "not-needed")

    def available(self) -> Availability:
        if self._key() is None:
            return Availability(False, f"{self.key_env} not set")
        if not is_local_host(self.host):
            return AVAILABLE  # no network for cloud endpoints: the first call tells
        import requests

        try:
            requests.get(f"{self.base_url}/models", timeout=(0.5, 1.0))
        except requests.RequestException:
            return Availability(False, f"OpenAI-compatible server not reachable at {self.base_url}")
        return AVAILABLE

    def available_offline(self) -> Availability:
        if self._key() is None:
            return Availability(False, f"{self.key_env} not set")
        if is_local_host(self.host):
            return Availability(
                False, f"not probed (--offline); server would be at {self.base_url}"
            )
        return AVAILABLE

    def models(self, live: bool = True) -> list[ModelInfo]:
        listed = self._listed_models() if live and not self.official else []
        tiers = {model: tier for tier, model in self.catalogue().items()}
        infos = [self.model_info(m, tiers.pop(m, None)) for m in listed]
        return infos + [self.model_info(m, t) for m, t in tiers.items()]

    def _listed_models(self) -> list[str]:
        import requests

        headers = {"Authorization": f"Bearer {self._key()}"}
        try:
            response = requests.get(f"{self.base_url}/models", headers=headers, timeout=(1.0, 5.0))
            data = response.json().get("data") or [] if response.ok and response.content else []
        except requests.RequestException as exc:
            raise ProviderUnavailable(
                f"cannot list models at {self.base_url}: {exc}", self.name
            ) from None
        except (ValueError, AttributeError):
            return []  # mlx_lm.server answers an empty body when it has no model cache
        return [str(m["id"]) for m in data if isinstance(m, Mapping) and m.get("id")]

    def client(self) -> Any:
        """One SDK client per instance, kept for the process (connection reuse)."""
        if self._client is None:
            key = self._key()
            if key is None:
                raise AuthenticationError(f"{self.key_env} not set", self.name)
            import openai

            self._client = openai.OpenAI(
                api_key=key,
                base_url=self.base_url,
                organization=self.settings.get("organization"),
                timeout=float(self.settings.get("timeout", 120.0)),
                max_retries=0,  # ours announce their waits: see create_with_retries
            )
        return self._client

    def stream(self, request: Request, model: str) -> Iterator[Chunk | Completion]:
        token_param = self.settings.get("token_param") or (
            "max_completion_tokens" if self.official else "max_tokens"
        )
        return stream_chat(
            self.client(),
            self,
            request,
            model,
            token_param=token_param,
            max_retries=int(self.settings.get("max_retries", 2)),
            max_wait=float(self.settings.get("max_retry_wait", 30.0)),
        )

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None


__all__ = [
    "OpenAIProvider",
    "chat_kwargs",
    "create_with_retries",
    "is_local_host",
    "map_openai_error",
    "notice",
    "stream_chat",
]
