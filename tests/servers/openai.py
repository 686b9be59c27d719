"""A loopback double of the OpenAI Chat Completions API (provider-contracts §4, §8.2).

`POST /v1/chat/completions` streams data-only SSE (`data: {...}` records, a usage chunk with
`choices: []` only when `stream_options.include_usage`, then `data: [DONE]`) or answers one JSON
object; `GET /v1/models` lists models; `Authorization: Bearer <api_key>` is checked; errors use
OpenAI's `{"error": {"message", "type", "param", "code"}}` shape.

Built to be subclassed (tests/servers/azure.py does): the paths are class attributes and the
request-specific parts are methods: `authorized()`, `model_of()`, `first_chunks()`,
`chunk_extra()`, `completion_extra()`.

Failures a test sets: push a `Response` onto `failures` (see `openai_error()`, `rate_limited()`);
each generation request takes the first one. `mid_stream_error` is sent as a `data: {"error": ...}`
record after `mid_stream_after` tokens. `keepalive_comment` starts the stream with an SSE comment
as mlx_lm.server does; `send_usage = False` plays a server that never reports usage.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Sequence
from typing import Any

import pytest

from tests.conftest import CANARY
from tests.servers.base import LoopbackServer, Recorded, Response, sse

DEFAULT_MODELS = ("gpt-5-mini", "gpt-5.2", "gpt-5.2-pro", "gpt-4o-mini")
DEFAULT_REPLY = "Hello there, how can I help you today?"
FINGERPRINT = "fp_560af6e559"


def openai_error(
    status: int,
    message: str,
    type: str = "invalid_request_error",
    code: str | None = None,
    param: str | None = None,
    headers: dict[str, str] | None = None,
) -> Response:
    body = {"error": {"message": message, "type": type, "param": param, "code": code}}
    return Response.json(body, status=status, headers=headers)


def rate_limited(retry_after: float | None = 0.01) -> Response:
    headers = {} if retry_after is None else {"retry-after": f"{retry_after:g}"}
    message = "Rate limit reached for requests. Please try again later."
    return openai_error(429, message, "requests", "rate_limit_exceeded", headers=headers)


def context_too_long(limit: int = 128000) -> Response:
    message = (
        f"This model's maximum context length is {limit} tokens. "
        "However, your messages resulted in 200000 tokens."
    )
    return openai_error(400, message, code="context_length_exceeded", param="messages")


def server_error() -> Response:
    return openai_error(
        500, "The server had an error while processing your request.", "server_error"
    )


def masked(key: str) -> str:
    """How OpenAI echoes a rejected key: a few characters at each end."""
    return f"{key[:6]}{'*' * max(0, len(key) - 10)}{key[-4:]}"


class OpenAIServer(LoopbackServer):
    chat_path = r"/v1/chat/completions"
    models_path = r"/v1/models"
    first_text = 1  # after the role chunk
    final_records = 3  # the finish chunk, the usage chunk, [DONE]

    def __init__(
        self,
        api_key: str | None = CANARY,
        models: Sequence[str] | None = DEFAULT_MODELS,
        reply: str = DEFAULT_REPLY,
        token_delay_s: float = 0.0,
    ) -> None:
        super().__init__()
        self._httpd.RequestHandlerClass.disable_nagle_algorithm = True  # type: ignore[attr-defined]
        self.api_key = api_key
        self.models = None if models is None else list(models)  # None: any model is served
        self.reply = reply
        self.token_delay_s = token_delay_s
        self.cached_tokens = 0
        self.reasoning_tokens = 0
        self.send_usage = True
        self.keepalive_comment = False
        self.failures: list[Response] = []
        self.mid_stream_error: dict[str, Any] | None = None
        self.mid_stream_after = 1
        self.route("POST", self.chat_path, self._chat)
        self.route("GET", self.models_path, self._models)

    # -- hooks for subclasses -----------------------------------------------------------------

    def authorized(self, rec: Recorded) -> Response | None:
        """None when the request may proceed, else the error to send."""
        if self.api_key is None:
            return None
        header = rec.headers.get("authorization", "")
        if header == f"Bearer {self.api_key}":
            return None
        given = header.removeprefix("Bearer ")
        message = (
            f"Incorrect API key provided: {masked(given)}. "
            "You can find your API key at https://platform.openai.com/account/api-keys."
        )
        return openai_error(401, message, code="invalid_api_key")

    def model_of(self, rec: Recorded, match: re.Match[str], body: dict[str, Any]) -> str:
        return str(body.get("model") or "")

    def first_chunks(self, model: str) -> list[dict[str, Any]]:
        """Chunks sent before the role chunk (Azure: the prompt-filter chunk)."""
        return []

    def chunk_extra(self, model: str) -> dict[str, Any]:
        return {"system_fingerprint": FINGERPRINT, "service_tier": "default"}

    def completion_extra(self, model: str) -> dict[str, Any]:
        return {"system_fingerprint": FINGERPRINT, "service_tier": "default"}

    # -- routes -------------------------------------------------------------------------------

    def _models(self, rec: Recorded, match: re.Match[str]) -> Response:
        if (denied := self.authorized(rec)) is not None:
            return denied
        data = [
            {"id": m, "object": "model", "created": 1764133200, "owned_by": "system"}
            for m in self.models or ()
        ]
        return Response.json({"object": "list", "data": data})

    def _chat(self, rec: Recorded, match: re.Match[str]) -> Response:
        if (denied := self.authorized(rec)) is not None:
            return denied
        try:
            body = json.loads(rec.body)
        except ValueError:
            return openai_error(400, "We could not parse the JSON body of your request.")
        if self.failures:
            return self.failures.pop(0)
        model = self.model_of(rec, match, body)
        if self.models is not None and model not in self.models:
            message = f"The model `{model}` does not exist or you do not have access to it."
            return openai_error(404, message, code="model_not_found")
        tokens = self._tokens(body)
        if body.get("stream"):
            include_usage = bool((body.get("stream_options") or {}).get("include_usage"))
            stream = self._stream(model, body, tokens, include_usage and self.send_usage)
            return Response(
                200, {"Content-Type": "text/event-stream; charset=utf-8"}, stream=stream
            )
        return Response.json(
            self._completion(model, body, tokens), headers={"x-request-id": "req_1"}
        )

    # -- shapes -------------------------------------------------------------------------------

    def _tokens(self, body: dict[str, Any]) -> list[str]:
        words = self.reply.split()
        tokens = [w if i == 0 else " " + w for i, w in enumerate(words)]
        limit = body.get("max_completion_tokens", body.get("max_tokens"))
        return tokens[:limit] if isinstance(limit, int) else tokens

    def _finish(self, tokens: list[str]) -> str:
        return "length" if len(tokens) < len(self.reply.split()) else "stop"

    def usage(self, body: dict[str, Any], tokens: list[str]) -> dict[str, Any]:
        prompt = sum(len(str(m.get("content", "")).split()) + 3 for m in body.get("messages", []))
        prompt += self.cached_tokens
        completion = len(tokens) + self.reasoning_tokens
        return {
            "prompt_tokens": prompt,
            "completion_tokens": completion,
            "total_tokens": prompt + completion,
            "prompt_tokens_details": {"cached_tokens": self.cached_tokens, "audio_tokens": 0},
            "completion_tokens_details": {
                "reasoning_tokens": self.reasoning_tokens,
                "audio_tokens": 0,
                "accepted_prediction_tokens": 0,
                "rejected_prediction_tokens": 0,
            },
        }

    def _head(self, model: str, object: str = "chat.completion.chunk") -> dict[str, Any]:
        return {
            "id": "chatcmpl-B9MHDbslfkBeAs8l4bebGdFOJ6PeG",
            "object": object,
            "created": 1764133200,
            "model": model,
        }

    def _chunk(
        self, model: str, delta: dict[str, Any], finish: str | None = None
    ) -> dict[str, Any]:
        choice = {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}
        return self._head(model) | self.chunk_extra(model) | {"choices": [choice], "usage": None}

    def _stream(
        self, model: str, body: dict[str, Any], tokens: list[str], include_usage: bool
    ) -> Iterator[bytes | float]:
        if self.keepalive_comment:
            yield b": keepalive 1/1\n\n"
        for extra in self.first_chunks(model):
            yield sse(extra)
        yield sse(self._chunk(model, {"role": "assistant", "content": "", "refusal": None}))
        for i, token in enumerate(tokens):
            if self.mid_stream_error is not None and i == self.mid_stream_after:
                yield sse({"error": self.mid_stream_error})
                return
            if i and self.token_delay_s:
                yield self.token_delay_s
            yield sse(self._chunk(model, {"content": token}))
        yield sse(self._chunk(model, {}, self._finish(tokens)))
        if include_usage:
            usage_chunk = self._head(model) | self.chunk_extra(model)
            yield sse(usage_chunk | {"choices": [], "usage": self.usage(body, tokens)})
        yield sse("[DONE]")

    def _completion(self, model: str, body: dict[str, Any], tokens: list[str]) -> dict[str, Any]:
        message = {
            "role": "assistant",
            "content": "".join(tokens),
            "refusal": None,
            "annotations": [],
        }
        choice = {
            "index": 0,
            "message": message,
            "logprobs": None,
            "finish_reason": self._finish(tokens),
        }
        head = self._head(model, "chat.completion")
        return (
            head
            | {"choices": [choice], "usage": self.usage(body, tokens)}
            | self.completion_extra(model)
        )


@pytest.fixture
def openai_server(monkeypatch: pytest.MonkeyPatch) -> Iterator[OpenAIServer]:
    """A running double; OPENAI_BASE_URL points the default `openai` provider at it."""
    with OpenAIServer() as server:
        monkeypatch.setenv("OPENAI_BASE_URL", server.url + "/v1")
        yield server
