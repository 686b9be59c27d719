"""OpenAI, and any OpenAI-compatible server (vLLM, llama.cpp server, LM Studio, mlx_lm.server).

Settings (config `providers: {vllm: {kind: openai, base_url: ..., api_key_env: VLLM_API_KEY}}`):
    base_url        the API root including `/v1` (default: $OPENAI_BASE_URL, else api.openai.com)
    api_key_env     the variable holding the key (default OPENAI_API_KEY); a compatible server
                    (any base_url other than api.openai.com) may have none: "not-needed" is sent
    organization    sent as OpenAI-Organization
    connect_timeout, read_timeout   seconds to connect (10) and to wait for the first byte and
                    each next piece (60; `timeout` is its older name): see providers/cloud.py
    max_retries     retries before the first token on 429, 5xx, connection errors (default 2)
    max_retry_wait  the longest retry-after we sleep through (default 30 s); a longer one fails
                    at once as RateLimited carrying retry_after, so a pipeline never hangs silently
    locality, privacy  override the guess from base_url (providers/manifest.py: loopback →
                    local-server, private network → local-network, public → cloud)
    models          {tier: model} catalogue; for compatible servers a live listing uses GET /models

Retries are ours, not the SDK's, and every wait is announced on stderr (providers/cloud.py).
`stream_chat()` lives in _openai_chat.py, shared with the Azure provider; errors go through
the shared map (providers/error_map.py). A rejected key while `api_key_env`'s variable is
unset says so.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from typing import Any

from convergio_llm.providers import cloud, manifest
from convergio_llm.providers._openai_chat import chat_kwargs, notice, stream_chat
from convergio_llm.providers.base import (
    AVAILABLE,
    Availability,
    Chunk,
    Completion,
    ModelInfo,
    Provider,
    Request,
    Tier,
)
from convergio_llm.providers.error_map import error_for_status as map_status
from convergio_llm.providers.errors import (
    AuthenticationError,
    ProviderError,
    ProviderUnavailable,
    register_secret_env,
)

OPENAI_HOST = manifest.OPENAI_HOST
_FACTS = manifest.MANIFEST["openai"]


class OpenAIProvider(Provider):
    kind = "openai"  # locality, keys, default models: providers/manifest.py

    def __init__(self, name: str | None = None, settings: Mapping[str, Any] | None = None):
        super().__init__(name, settings)
        # None means the SDK's own default, api.openai.com.
        self.base_url: str | None = self.settings.get("base_url") or os.environ.get(
            str(_FACTS.base_url_env)
        )
        self.host = manifest.host_of(self.kind, self.settings) or OPENAI_HOST
        self.key_env = str(self.settings.get("api_key_env") or _FACTS.key_env[0][0])
        self.secret_env = (self.key_env,)
        register_secret_env(self.key_env)
        self.locality = manifest.locality_of(self.kind, self.settings) or "cloud"
        self.privacy = self.settings.get("privacy") or manifest.PRIVACY_OF[self.locality]
        self._client: Any = None

    @property
    def on_this_side(self) -> bool:
        """A server on this machine or the user's network: probe it, it may be down."""
        return self.locality in ("local-server", "local-network")

    @property
    def official(self) -> bool:
        """api.openai.com itself: a key is required; reasoning models need max_completion_tokens."""
        return manifest.is_vendor_host(self.kind, self.host)

    def default_models(self) -> Mapping[Tier, str]:
        found = manifest.catalogue_of(self.kind, self.settings)  # a server has its own models
        return found or {}  # type: ignore[return-value]

    def _key(self) -> str | None:
        key = os.environ.get(self.key_env)
        return key or (None if self.official else "not-needed")

    def _key_missing(self) -> Availability | None:
        return manifest.openai_key_missing(self.settings)  # the rule route asks unimported

    def _key_hint(self) -> str:
        custom = self.key_env if self.settings.get("api_key_env") else None
        return manifest.hint_for_missing_key(self.kind, custom)

    def available(self) -> Availability:
        if (missing := self._key_missing()) is not None:
            return missing
        if not self.on_this_side:
            return AVAILABLE  # no network for cloud endpoints: the first call tells
        import requests

        try:
            requests.get(f"{self.base_url}/models", timeout=(0.5, 1.0))
        except requests.ReadTimeout:
            # It took the connection, so it is there: a server busy generating (or a loaded
            # machine) answers the probe late, which is no reason to call it unreachable.
            return AVAILABLE
        except requests.RequestException:
            return Availability(False, f"OpenAI-compatible server not reachable at {self.base_url}")
        return AVAILABLE

    def available_offline(self) -> Availability:
        return manifest.openai_offline_availability(self.settings)

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
            if response.status_code in (401, 403):  # a rejected key is news, not "no models"
                raise map_status(response.status_code, response.text, self.name, response.headers)
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
            manifest.require_modules(self.kind, self.name)
            key = self._key()
            if key is None:
                raise AuthenticationError(self._key_hint(), self.name)
            import openai

            self._client = openai.OpenAI(
                api_key=key,
                base_url=self.base_url,
                organization=self.settings.get("organization"),
                timeout=cloud.httpx_timeout(self.settings),
                max_retries=0,  # ours announce their waits: see providers/cloud.py
            )
        return self._client

    def stream(self, request: Request, model: str) -> Iterator[Chunk | Completion]:
        token_param = self.settings.get("token_param") or (
            "max_completion_tokens" if self.official else "max_tokens"
        )
        return stream_chat(self.client(), self, request, model, token_param=token_param)

    def map_error(self, exc: BaseException) -> ProviderError:
        error = super().map_error(exc)
        if error is exc or not isinstance(error, AuthenticationError):
            return error  # mapped already (the retry loop maps, then the base class)
        if os.environ.get(self.key_env):
            return error
        unset = f"{self.key_env}, the variable api_key_env names, is not set"
        return AuthenticationError(f"{error.args[0]} ({unset})", self.name, error.status)

    def wait_note(self) -> tuple[float, str] | None:
        return cloud.wait_note(self.name, self.settings)

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None


__all__ = [
    "OpenAIProvider",
    "chat_kwargs",
    "notice",
    "stream_chat",
]
