"""A loopback double of Anthropic's Message Batches API (provider-contracts §3.6).

`POST /v1/messages/batches` takes `{"requests": [{"custom_id", "params"}]}` and answers a
`message_batch` in `in_progress`; `GET /v1/messages/batches/{id}` answers it again;
`finish(id, expired_from=None)` plays the service ending it: `processing_status` `ended`,
the counts filled in, and an absolute loopback `results_url` whose JSONL has one line per
request: `succeeded` with a message, `errored` (a prompt that says FAIL) with the API's
error body, `expired` from request `expired_from` on. Auth as the SDK sends it.
"""

from __future__ import annotations

import itertools
import json
import re
from typing import Any

from tests.conftest import CANARY
from tests.servers.base import LoopbackServer, Recorded, Response

_ids = itertools.count(1)
CREATED = "2026-12-01T10:00:00Z"
EXPIRES = "2026-12-02T10:00:00Z"


def _error(status: int, error_type: str, message: str) -> Response:
    body = {"type": "error", "error": {"type": error_type, "message": message}}
    return Response.json(body, status, {"request-id": "req_011CBatchDouble"})


class AnthropicBatchServer(LoopbackServer):
    def __init__(self) -> None:
        super().__init__()
        self.batches: dict[str, dict[str, Any]] = {}
        self.requests_of: dict[str, list[dict[str, Any]]] = {}
        self.results: dict[str, bytes] = {}
        self.route("POST", r"/v1/messages/batches", self._create)
        self.route("GET", r"/v1/messages/batches/(?P<id>\w+)", self._retrieve)
        self.route("GET", r"/v1/messages/batches/(?P<id>\w+)/results", self._results)

    def _denied(self, rec: Recorded) -> Response | None:
        sent = rec.headers.get("x-api-key") or rec.headers.get("authorization", "")
        if CANARY not in sent:
            return _error(401, "authentication_error", "invalid x-api-key")
        return None

    def _create(self, rec: Recorded, match: re.Match[str]) -> Response:
        if (denied := self._denied(rec)) is not None:
            return denied
        requests = rec.json()["requests"]
        batch_id = f"msgbatch_01Double{next(_ids):06d}"
        self.requests_of[batch_id] = requests
        counts = {"processing": len(requests), "succeeded": 0, "errored": 0}
        self.batches[batch_id] = {
            "id": batch_id,
            "type": "message_batch",
            "processing_status": "in_progress",
            "request_counts": {**counts, "canceled": 0, "expired": 0},
            "ended_at": None,
            "created_at": CREATED,
            "expires_at": EXPIRES,
            "archived_at": None,
            "cancel_initiated_at": None,
            "results_url": None,
        }
        return Response.json(self.batches[batch_id])

    def _retrieve(self, rec: Recorded, match: re.Match[str]) -> Response:
        if (denied := self._denied(rec)) is not None:
            return denied
        batch = self.batches.get(match["id"])
        if batch is None:
            return _error(404, "not_found_error", f"batch {match['id']} not found")
        return Response.json(batch)

    def _results(self, rec: Recorded, match: re.Match[str]) -> Response:
        if (denied := self._denied(rec)) is not None:
            return denied
        data = self.results.get(match["id"])
        if data is None:
            return _error(404, "not_found_error", "results are not available yet")
        return Response(200, {"Content-Type": "application/binary"}, data)

    def finish(self, batch_id: str, expired_from: int | None = None) -> None:
        lines = []
        counts = {"processing": 0, "succeeded": 0, "errored": 0, "canceled": 0, "expired": 0}
        for n, entry in enumerate(self.requests_of[batch_id]):
            params = entry["params"]
            prompt = params["messages"][-1]["content"]
            if expired_from is not None and n >= expired_from:
                result: dict[str, Any] = {"type": "expired"}
            elif "FAIL" in prompt:
                error = {"type": "invalid_request_error", "message": "messages: FAIL is refused"}
                result = {"type": "errored", "error": {"type": "error", "error": error}}
            else:
                result = {"type": "succeeded", "message": _message(params, f"answer to {prompt}")}
            counts[result["type"]] += 1
            lines.append(json.dumps({"custom_id": entry["custom_id"], "result": result}) + "\n")
        self.results[batch_id] = "".join(lines).encode()
        self.batches[batch_id].update(
            processing_status="ended",
            request_counts=counts,
            ended_at="2026-12-01T11:00:00Z",
            results_url=f"{self.url}/v1/messages/batches/{batch_id}/results",
        )


def _message(params: dict[str, Any], text: str) -> dict[str, Any]:
    return {
        "id": f"msg_01Double{next(_ids):06d}",
        "type": "message",
        "role": "assistant",
        "model": params["model"],
        "content": [{"type": "text", "text": text}],
        "stop_reason": "end_turn",
        "stop_sequence": None,
        "usage": {"input_tokens": 1000, "output_tokens": 2000},
    }
