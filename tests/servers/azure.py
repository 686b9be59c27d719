"""A loopback double of Azure OpenAI's chat completions, answering as the service does.

Both URL styles: `POST /openai/deployments/{deployment}/chat/completions?api-version=...`
(auth `api-key`) and the v1 API `POST /openai/v1/chat/completions` (`Authorization: Bearer`;
either header is accepted on both). Streams are data-only SSE ending in `data: [DONE]`,
and the first chunk has empty `choices` and only `prompt_filter_results`, as Azure sends.
Errors use `error.code` and often no `type`; a blocked prompt is HTTP 400 with code
`content_filter`. Facts: shared/reference/provider-contracts.md §6.

A test sets `reply` to script the answer and queues failures with `fail()`; each queued
failure answers one request, in order, before normal answers resume.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from tests.conftest import CANARY
from tests.servers.base import LoopbackServer, Recorded, Response, sse

DEPLOYMENTS = ("gpt-5-mini", "gpt-5.2", "gpt-5.2-pro")
KINDS = {"auth": 401, "not_found": 404, "rate_limit": 429, "server": 500, "overloaded": 503}
CODES = {
    401: ("401", "Access denied due to invalid subscription key or wrong API endpoint."),
    404: (
        "DeploymentNotFound",
        "The API deployment for this resource does not exist. If you created the deployment "
        "within the last 5 minutes, please wait a moment and try again.",
    ),
    429: ("429", "Requests to the ChatCompletions_Create Operation have exceeded the rate limit."),
    500: ("InternalServerError", "The server had an error while processing your request."),
    503: ("ServiceUnavailable", "The service is temporarily unable to process your request."),
}
SAFE = {"filtered": False, "severity": "safe"}
FILTER_RESULTS = dict.fromkeys(("hate", "self_harm", "sexual", "violence"), SAFE)


@dataclass
class Reply:
    pieces: list[str] = field(default_factory=lambda: ["Hello", " there!"])
    prompt_tokens: int = 12
    completion_tokens: int = 4
    cached_tokens: int = 0
    reasoning_tokens: int = 0
    finish_reason: str = "stop"
    # Block the prompt: HTTP 400, code content_filter.
    block_prompt: bool = False
    delay: float = 0.0


class AzureDouble(LoopbackServer):
    def __init__(self, key: str | None = None) -> None:
        super().__init__()
        # Poll for shutdown every 50 ms, not the default 500: tests stop a double each time.
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self.key = key
        self.reply = Reply()
        self.failures: list[Response] = []
        self.route(
            "POST", r"/openai/deployments/(?P<deployment>[^/]+)/chat/completions", self._chat
        )
        self.route("POST", r"/openai/v1/chat/completions", self._chat)

    def fail(
        self,
        status: int | str,
        message: str | None = None,
        times: int = 1,
        headers: dict[str, str] | None = None,
    ) -> None:
        status = KINDS[status] if isinstance(status, str) else status
        code, default = CODES.get(status, (str(status), "error"))
        extra = {"retry-after-ms": "1"} if status == 429 else {}
        extra.update(headers or {})
        for _ in range(times):
            self.failures.append(_error(status, code, message or default, extra))

    def _authorised(self, rec: Recorded) -> bool:
        given = rec.headers.get("api-key")
        bearer = rec.headers.get("authorization", "")
        if given is None and bearer.startswith("Bearer "):
            given = bearer[len("Bearer ") :]
        return bool(given) and (self.key is None or given == self.key)

    def _chat(self, rec: Recorded, match: re.Match[str]) -> Response:
        if self.failures:
            return self.failures.pop(0)
        if not self._authorised(rec):
            return _error(401, *CODES[401])
        classic = "deployment" in match.groupdict()
        if classic and not rec.query.get("api-version"):
            return _error(404, "404", "Resource not found")
        body = rec.json()
        deployment = match["deployment"] if classic else body.get("model")
        if deployment not in DEPLOYMENTS:
            return _error(404, *CODES[404])
        if self.reply.block_prompt:
            return _blocked()
        if not body.get("stream"):
            return Response.json(self._completion(deployment))
        chunks = [sse(c) for c in self._chunks(deployment, body)] + [sse("[DONE]")]
        stream: list[bytes | float] = []
        for piece in chunks:
            if self.reply.delay and stream:
                stream.append(self.reply.delay)
            stream.append(piece)
        return Response(200, {"Content-Type": "text/event-stream; charset=utf-8"}, stream=stream)

    def _usage(self) -> dict[str, Any]:
        r = self.reply
        return {
            "prompt_tokens": r.prompt_tokens,
            "completion_tokens": r.completion_tokens,
            "total_tokens": r.prompt_tokens + r.completion_tokens,
            "prompt_tokens_details": {"cached_tokens": r.cached_tokens, "audio_tokens": 0},
            "completion_tokens_details": {"reasoning_tokens": r.reasoning_tokens},
        }

    def _completion(self, deployment: str) -> dict[str, Any]:
        message = {"role": "assistant", "content": "".join(self.reply.pieces), "refusal": None}
        choice = {
            "index": 0,
            "message": message,
            "finish_reason": self.reply.finish_reason,
            "content_filter_results": FILTER_RESULTS,
        }
        return {
            **_head(deployment, "chat.completion"),
            "choices": [choice],
            "usage": self._usage(),
            "prompt_filter_results": [_prompt_filter()],
        }

    def _chunks(self, deployment: str, body: dict[str, Any]) -> list[dict[str, Any]]:
        head = _head(deployment, "chat.completion.chunk")
        # Azure's first chunk: no choices, only the prompt's filter results, blank id and model.
        out: list[dict[str, Any]] = [
            {
                "id": "",
                "object": "",
                "created": 0,
                "model": "",
                "choices": [],
                "prompt_filter_results": [_prompt_filter()],
            }
        ]
        role = {"index": 0, "delta": {"role": "assistant", "content": ""}, "finish_reason": None}
        out.append({**head, "choices": [role], "usage": None})
        for piece in self.reply.pieces:
            choice = {
                "index": 0,
                "delta": {"content": piece},
                "finish_reason": None,
                "content_filter_results": FILTER_RESULTS,
            }
            out.append({**head, "choices": [choice], "usage": None})
        end = {"index": 0, "delta": {}, "finish_reason": self.reply.finish_reason}
        out.append({**head, "choices": [end], "usage": None})
        if (body.get("stream_options") or {}).get("include_usage"):
            out.append({**head, "choices": [], "usage": self._usage()})
        return out


def _head(deployment: str, obj: str) -> dict[str, Any]:
    return {
        "id": "chatcmpl-AzureDouble",
        "object": obj,
        "created": 1764133200,
        "model": f"{deployment}-2025-08-07",
        "system_fingerprint": "fp_azure",
    }


def _prompt_filter() -> dict[str, Any]:
    results = {**FILTER_RESULTS, "jailbreak": {"filtered": False, "detected": False}}
    return {"prompt_index": 0, "content_filter_results": results}


def _blocked() -> Response:
    results = {**FILTER_RESULTS, "violence": {"filtered": True, "severity": "medium"}}
    error = {
        "message": "The response was filtered due to the prompt triggering Azure OpenAI's "
        "content management policy. Please modify your prompt and retry.",
        "type": None,
        "param": "prompt",
        "code": "content_filter",
        "status": 400,
        "innererror": {"code": "ResponsibleAIPolicyViolation", "content_filter_result": results},
    }
    return Response.json({"error": error}, 400)


def _error(status: int, code: str, message: str, headers: dict[str, str] | None = None) -> Response:
    return Response.json({"error": {"code": code, "message": message}}, status, headers)


@pytest.fixture
def azure_double() -> Iterator[AzureDouble]:
    """A running double that accepts only the canary key the tests put in AZURE_OPENAI_API_KEY."""
    with AzureDouble(key=CANARY) as double:
        yield double
