"""Azure OpenAI through the official `openai` SDK: `AzureOpenAI`, or the v1 API.

Credentials, read from the environment only:
    AZURE_OPENAI_API_KEY     the key (sent as `api-key`; as `Authorization: Bearer` on v1)
    AZURE_OPENAI_ENDPOINT    the resource, e.g. https://my-resource.openai.azure.com
    OPENAI_API_VERSION       e.g. 2024-10-21: deployment URLs,
                             `/openai/deployments/{deployment}/chat/completions?api-version=...`

Settings (config `providers: {azure: {...}}`):
    base_url      the resource endpoint, instead of AZURE_OPENAI_ENDPOINT
    api_version   instead of OPENAI_API_VERSION; `v1` selects the newer API,
                  `{endpoint}/openai/v1/chat/completions`, with no api-version query. With
                  neither set, `v1` is used: it is the API Azure now recommends.
    models        {tier: deployment}. Azure calls a model by the deployment name its owner
                  chose; the defaults are the OpenAI model names, which is how the portal
                  names a deployment unless told otherwise.
    token_param   `max_completion_tokens` (default; what reasoning models require) or `max_tokens`
    connect_timeout, read_timeout, max_retries, max_retry_wait   as for every HTTP backend
                  (10 s, 60 s, 2, 30 s: providers/cloud.py)

Streaming is the OpenAI backend's (`stream_chat`), errors go through the shared map
(providers/error_map.py), retries are providers/cloud.py's: the SDK's own retry loop is
off, each retry before the first token is announced on stderr, and a retry-after longer
than `max_retry_wait` is not waited for.
Azure specifics they handle: a first stream chunk with empty `choices` carrying only
`prompt_filter_results`; a prompt blocked by the content filter (HTTP 400, code
`content_filter`) and an answer cut by it (finish reason `content_filter`) → ContentFiltered;
`DeploymentNotFound` (404) → ModelNotFound.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from typing import Any

from convergio_llm.providers import cloud, manifest
from convergio_llm.providers.base import (
    Availability,
    Chunk,
    Completion,
    Provider,
    Request,
)
from convergio_llm.providers.errors import AuthenticationError, ConfigError

KEY_ENV = manifest.MANIFEST["azure"].key_env[0][0]
ENDPOINT_ENV = str(manifest.MANIFEST["azure"].base_url_env)
VERSION_ENV = "OPENAI_API_VERSION"
V1 = "v1"


class AzureOpenAIProvider(Provider):
    kind = "azure"  # locality, keys, default models: providers/manifest.py

    def __init__(self, name: str | None = None, settings: Mapping[str, Any] | None = None) -> None:
        super().__init__(name, settings)
        self._client: Any = None

    @property
    def endpoint(self) -> str | None:
        return self.settings.get("base_url") or os.environ.get(ENDPOINT_ENV) or None

    @property
    def api_version(self) -> str:
        return str(self.settings.get("api_version") or os.environ.get(VERSION_ENV) or V1)

    def available(self) -> Availability:
        return manifest.azure_availability(self.name, self.settings)

    def client(self) -> Any:
        """One SDK client for the provider's life (connection reuse)."""
        if self._client is not None:
            return self._client
        manifest.require_modules(self.kind, self.name)
        key = os.environ.get(KEY_ENV)
        if not key:
            raise AuthenticationError(manifest.hint_for_missing_key(self.kind), self.name)
        endpoint = self.endpoint
        if not endpoint:
            raise ConfigError(f"{self.name}: no endpoint: set {ENDPOINT_ENV} or base_url")
        import openai

        common: dict[str, Any] = {
            "api_key": key,
            "timeout": cloud.httpx_timeout(self.settings),
            "max_retries": 0,  # ours announce their waits: see providers/openai.py
        }
        if self.api_version == V1:
            base = endpoint.rstrip("/") + "/openai/v1/"
            self._client = openai.OpenAI(base_url=base, **common)
        else:
            self._client = openai.AzureOpenAI(
                azure_endpoint=endpoint, api_version=self.api_version, **common
            )
        return self._client

    def stream(self, request: Request, model: str) -> Iterator[Chunk | Completion]:
        from convergio_llm.providers.openai import stream_chat

        token_param = str(self.settings.get("token_param") or "max_completion_tokens")
        return stream_chat(self.client(), self, request, model, token_param=token_param)

    def wait_note(self) -> tuple[float, str] | None:
        return cloud.wait_note(self.name, self.settings)

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None
