"""A loopback double of the Gemini API (generativelanguage), answering as the service does.

`POST /{v1,v1beta}/models/{model}:generateContent` and `:streamGenerateContent?alt=sse`
(data-only SSE records, no `[DONE]`, a running `usageMetadata` on every chunk),
`GET /{v1,v1beta}/models`, auth by `x-goog-api-key`, errors
`{"error":{"code","message","status"}}`. Facts: shared/reference/provider-contracts.md §5.

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

STATUSES = {
    400: "INVALID_ARGUMENT",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    429: "RESOURCE_EXHAUSTED",
    500: "INTERNAL",
    503: "UNAVAILABLE",
    504: "DEADLINE_EXCEEDED",
}
# Gemini answers a bad key with 400 INVALID_ARGUMENT, not 401.
KINDS = {"auth": 400, "not_found": 404, "rate_limit": 429, "server": 500, "overloaded": 503}
MESSAGES = {
    "auth": "API key not valid. Please pass a valid API key.",
    "not_found": "models/{model} is not found for API version v1, "
    "or is not supported for generateContent.",
    "rate_limit": "Resource has been exhausted (e.g. check quota).",
    "server": "An internal error has occurred.",
    "overloaded": "The model is overloaded. Please try again later.",
}


@dataclass
class Reply:
    pieces: list[str] = field(default_factory=lambda: ["Hello", " there!"])
    prompt_tokens: int = 8
    candidates_tokens: int = 3
    thoughts_tokens: int = 24
    cached_tokens: int = 0
    finish_reason: str = "STOP"
    # A thinking summary sent as a `thought: true` part before the answer.
    thought: str | None = None
    # A blocked prompt: no candidates, only promptFeedback.blockReason (e.g. "SAFETY").
    block_reason: str | None = None
    delay: float = 0.0


class GeminiDouble(LoopbackServer):
    def malformed_record(self) -> bytes:
        return b'data: {"candidates": [{"content": \r\n\r\n'

    def error_body(self, status: int, message: str) -> Any:
        return {"error": {"code": status, "message": message, "status": STATUSES.get(status)}}

    def unstreamed(self, rec: Recorded) -> Recorded:
        # Without alt=sse the service answers one JSON array, not an event stream.
        query = {k: v for k, v in rec.query.items() if k != "alt"}
        return Recorded(rec.method, rec.path, query, rec.headers, rec.body)

    def __init__(self, key: str | None = None) -> None:
        super().__init__()
        self.key = key
        self.reply = Reply()
        self.failures: list[Response] = []
        # Poll for shutdown every 50 ms, not the default 500: tests stop a double each time.
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        prefix = r"/(?:[\w-]+/)*(v1|v1beta)/models/"
        self.route(
            "POST",
            prefix + r"(?P<model>[^/:]+):(?P<method>generateContent|streamGenerateContent)",
            self._generate,
        )
        self.route("GET", r"/(?:[\w-]+/)*(v1|v1beta)/models", self._models)

    @property
    def base_url(self) -> str:
        return self.url

    def fail(
        self,
        status: int | str,
        message: str | None = None,
        times: int = 1,
        headers: dict[str, str] | None = None,
    ) -> None:
        kind = status if isinstance(status, str) else None
        code = KINDS[status] if isinstance(status, str) else status
        text = message or MESSAGES.get(kind or "", STATUSES.get(code, "error"))
        details = None
        if kind == "auth":
            info = {"reason": "API_KEY_INVALID", "domain": "googleapis.com"}
            details = [{"@type": "type.googleapis.com/google.rpc.ErrorInfo", **info}]
        if code == 429:
            # The service says how long to wait in RetryInfo; tests must never wait for real.
            details = [
                {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "0.001s"}
            ]
        for _ in range(times):
            self.failures.append(
                _error(code, text.replace("{model}", "gemini-nope"), headers, details)
            )

    def _generate(self, rec: Recorded, match: re.Match[str]) -> Response:
        if self.failures:
            return self.failures.pop(0)
        given = rec.headers.get("x-goog-api-key")
        if not given or (self.key is not None and given != self.key):
            return _error(400, MESSAGES["auth"])
        model = match["model"]
        if model.startswith("gemini-nope"):
            return _error(404, MESSAGES["not_found"].replace("{model}", model))
        body = rec.json() or {}
        if not body.get("contents"):
            return _error(400, "* GenerateContentRequest.contents: contents is not specified")
        chunks = self._chunks(model)
        if match["method"] == "generateContent":
            return Response.json(_merge(chunks))
        if rec.query.get("alt") != ["sse"]:
            # Without alt=sse the service streams one JSON array; the SDK always asks for SSE.
            return Response.json(chunks)
        stream: list[bytes | float] = []
        for chunk in chunks:
            if self.reply.delay and stream:
                stream.append(self.reply.delay)
            stream.append(sse(chunk).replace(b"\n\n", b"\r\n\r\n"))
        return Response(200, {"Content-Type": "text/event-stream"}, stream=stream)

    def _chunks(self, model: str) -> list[dict[str, Any]]:
        r = self.reply
        common = {"modelVersion": model, "responseId": "mZglaa_AAbCd"}
        if r.block_reason:
            usage = {"promptTokenCount": r.prompt_tokens, "totalTokenCount": r.prompt_tokens}
            return [
                {
                    "promptFeedback": {"blockReason": r.block_reason},
                    "usageMetadata": usage,
                    **common,
                }
            ]
        out = []
        for i, piece in enumerate(r.pieces):
            last = i == len(r.pieces) - 1
            parts: list[dict[str, Any]] = [{"text": piece}]
            if i == 0 and r.thought:
                parts.insert(0, {"text": r.thought, "thought": True})
            candidate: dict[str, Any] = {"content": {"parts": parts, "role": "model"}, "index": 0}
            usage: dict[str, Any] = {
                "promptTokenCount": r.prompt_tokens,
                "thoughtsTokenCount": r.thoughts_tokens,
            }
            if r.cached_tokens:
                usage["cachedContentTokenCount"] = r.cached_tokens
            if last:
                candidate["finishReason"] = r.finish_reason
                usage["candidatesTokenCount"] = r.candidates_tokens
            usage["totalTokenCount"] = (
                r.prompt_tokens + r.thoughts_tokens + (r.candidates_tokens if last else 0)
            )
            out.append({"candidates": [candidate], "usageMetadata": usage, **common})
        return out

    def _models(self, rec: Recorded, match: re.Match[str]) -> Response:
        names = ["gemini-2.5-flash", "gemini-2.5-pro", "gemini-3.1-pro-preview"]
        return Response.json(
            {"models": [{"name": f"models/{n}", "inputTokenLimit": 1048576} for n in names]}
        )


def _merge(chunks: list[dict[str, Any]]) -> dict[str, Any]:
    """The non-streaming answer: the chunks' text joined, the last chunk's metadata."""
    last = dict(chunks[-1])
    if "candidates" in last:
        text = "".join(c["candidates"][0]["content"]["parts"][-1]["text"] for c in chunks)
        candidate = {
            **last["candidates"][0],
            "content": {"parts": [{"text": text}], "role": "model"},
        }
        last["candidates"] = [candidate]
    return last


def _error(
    code: int,
    message: str,
    headers: dict[str, str] | None = None,
    details: list[dict[str, Any]] | None = None,
) -> Response:
    error: dict[str, Any] = {
        "code": code,
        "message": message,
        "status": STATUSES.get(code, "UNKNOWN"),
    }
    if details:
        error["details"] = details
    body = {"error": error}
    return Response.json(body, code, headers)


@pytest.fixture
def gemini_double() -> Iterator[GeminiDouble]:
    """A running double that accepts only the canary key the tests put in GEMINI_API_KEY."""
    with GeminiDouble(key=CANARY) as double:
        yield double
