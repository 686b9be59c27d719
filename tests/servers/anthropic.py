"""A loopback double of Anthropic's Messages API, answering as the service does.

`POST /v1/messages` (plain JSON or SSE with `event:` lines and a `ping`), `GET /v1/models`,
auth by `x-api-key` or `Authorization: Bearer` (SDK 2.x sends Bearer), error bodies
`{"type":"error","error":{"type","message"},"request_id"}` with a `request-id` header.
Facts: shared/reference/provider-contracts.md §3.

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

ERROR_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    429: "rate_limit_error",
    500: "api_error",
    504: "timeout_error",
    529: "overloaded_error",
}
# Failure kinds every double in tests/servers/ understands, for the shared CLI tests.
KINDS = {"auth": 401, "not_found": 404, "rate_limit": 429, "server": 500, "overloaded": 529}


@dataclass
class Reply:
    pieces: list[str] = field(default_factory=lambda: ["Hello", " there!"])
    input_tokens: int = 12
    output_tokens: int = 6
    cache_read: int = 0
    cache_creation: int = 0
    stop_reason: str = "end_turn"
    # An `event: error` record sent after the first piece (e.g. "overloaded_error").
    mid_stream_error: str | None = None
    delay: float = 0.0


class AnthropicDouble(LoopbackServer):
    first_text = 3  # after message_start, content_block_start, ping
    final_records = 3  # content_block_stop, message_delta, message_stop

    def malformed_record(self) -> bytes:
        return b'event: content_block_delta\ndata: {"type": "content_block_delta", "delta": \n\n'

    def error_body(self, status: int, message: str) -> Any:
        error_type = ERROR_TYPES.get(status, "api_error")
        return {"type": "error", "error": {"type": error_type, "message": message}}

    def __init__(self, key: str | None = None) -> None:
        super().__init__()
        self.key = key
        self.reply = Reply()
        self.failures: list[Response] = []
        # Poll for shutdown every 50 ms, not the default 500: tests stop a double each time.
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self.route("POST", r"/(?:[\w-]+/)*v1/messages", self._messages)
        self.route("GET", r"/(?:[\w-]+/)*v1/models", self._models)

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
        status = KINDS[status] if isinstance(status, str) else status
        error_type = ERROR_TYPES.get(status, "api_error")
        body = {
            "type": "error",
            "error": {"type": error_type, "message": message or error_type.replace("_", " ")},
            "request_id": "req_011CTestDouble",
        }
        # The SDK would honour any retry-after; tests must never wait for real.
        extra = {"retry-after-ms": "1"} if status in (429, 529) else {}
        extra.update(headers or {})
        extra["request-id"] = "req_011CTestDouble"
        for _ in range(times):
            self.failures.append(Response.json(body, status, extra))

    def _authorised(self, rec: Recorded) -> bool:
        given = rec.headers.get("x-api-key")
        bearer = rec.headers.get("authorization", "")
        if given is None and bearer.startswith("Bearer "):
            given = bearer[len("Bearer ") :]
        return bool(given) and (self.key is None or given == self.key)

    def _messages(self, rec: Recorded, match: re.Match[str]) -> Response:
        if self.failures:
            return self.failures.pop(0)
        if not self._authorised(rec):
            return _error(401, "authentication_error", "invalid x-api-key")
        body = rec.json()
        missing = [k for k in ("model", "max_tokens", "messages") if k not in body]
        if missing:
            return _error(400, "invalid_request_error", f"{missing[0]}: Field required")
        if "temperature" in body:
            # API version 2026-10-21 rejects sampling parameters, even at default values.
            return _error(
                400, "invalid_request_error", "temperature: Extra inputs are not permitted"
            )
        if body["model"].startswith("claude-nope"):
            return _error(404, "not_found_error", f"model: {body['model']}")
        if body.get("stream"):
            return Response(
                200,
                {"Content-Type": "text/event-stream; charset=utf-8", "request-id": "req_stream"},
                stream=self._events(body["model"]),
            )
        return Response.json(self._message(body["model"]), headers={"request-id": "req_plain"})

    def _usage(self) -> dict[str, Any]:
        r = self.reply
        return {
            "input_tokens": r.input_tokens,
            "output_tokens": r.output_tokens,
            "cache_creation_input_tokens": r.cache_creation,
            "cache_read_input_tokens": r.cache_read,
            "service_tier": "standard",
        }

    def _message(self, model: str) -> dict[str, Any]:
        return {
            "id": "msg_01XFDUDYJgAACzvnptvVoYEL",
            "type": "message",
            "role": "assistant",
            "model": model,
            "content": [{"type": "text", "text": "".join(self.reply.pieces)}],
            "stop_reason": self.reply.stop_reason,
            "stop_sequence": None,
            "usage": self._usage(),
        }

    def _events(self, model: str) -> list[bytes | float]:
        r = self.reply
        start = {**self._message(model), "content": [], "stop_reason": None}
        start["usage"] = {**self._usage(), "output_tokens": 1}
        out: list[bytes | float] = [
            _event({"type": "message_start", "message": start}),
            _event(
                {
                    "type": "content_block_start",
                    "index": 0,
                    "content_block": {"type": "text", "text": ""},
                }
            ),
            _event({"type": "ping"}),
        ]
        for i, piece in enumerate(r.pieces):
            if r.delay:
                out.append(r.delay)
            delta = {"type": "text_delta", "text": piece}
            out.append(_event({"type": "content_block_delta", "index": 0, "delta": delta}))
            if i == 0 and r.mid_stream_error:
                error = {
                    "type": r.mid_stream_error,
                    "message": r.mid_stream_error.replace("_", " "),
                }
                out.append(_event({"type": "error", "error": error}))
                return out
        stop_sequence = "END" if r.stop_reason == "stop_sequence" else None
        out += [
            _event({"type": "content_block_stop", "index": 0}),
            _event(
                {
                    "type": "message_delta",
                    "delta": {"stop_reason": r.stop_reason, "stop_sequence": stop_sequence},
                    "usage": {"output_tokens": r.output_tokens},
                }
            ),
            _event({"type": "message_stop"}),
        ]
        return out

    def _models(self, rec: Recorded, match: re.Match[str]) -> Response:
        if not self._authorised(rec):
            return _error(401, "authentication_error", "invalid x-api-key")
        ids = [
            "claude-haiku-4-5-20251001",
            "claude-sonnet-4-5-20250929",
            "claude-opus-4-5-20251101",
        ]
        data = [
            {"type": "model", "id": i, "display_name": i, "created_at": "2025-10-01T00:00:00Z"}
            for i in ids
        ]
        return Response.json(
            {"data": data, "has_more": False, "first_id": ids[0], "last_id": ids[-1]}
        )


def _event(data: dict[str, Any]) -> bytes:
    # The SDK drops any SSE record without an `event:` line.
    return sse(data, event=data["type"])


def _error(status: int, error_type: str, message: str) -> Response:
    body = {
        "type": "error",
        "error": {"type": error_type, "message": message},
        "request_id": "req_err",
    }
    return Response.json(body, status, {"request-id": "req_err"})


@pytest.fixture
def anthropic_double() -> Iterator[AnthropicDouble]:
    """A running double that accepts only the canary key the tests put in ANTHROPIC_API_KEY."""
    with AnthropicDouble(key=CANARY) as double:
        yield double
