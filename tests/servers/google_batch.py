"""A loopback double of the Gemini API's batch mode, for google-genai's `client.batches`.

`POST /v1beta/models/{model}:batchGenerateContent` (or `/v1/`, as this SDK sends) takes
`{"batch": {"displayName", "inputConfig": {"requests": {"requests": [{"request", "metadata"}]}}}}`
and answers the long-running operation (`name` `batches/...`, the batch in `metadata`,
state `BATCH_STATE_PENDING`); `GET /v1beta/batches/{id}` answers it again.
`finish(id, state)` plays the service ending it: `BATCH_STATE_SUCCEEDED` puts the answers
inlined in `metadata.output.inlinedResponses.inlinedResponses` (and in `response`), in
request order with each request's metadata, an `error` (400 INVALID_ARGUMENT) for a
prompt that says FAIL; `BATCH_STATE_EXPIRED` / `_FAILED` / `_CANCELLED` carry no output.
"""

from __future__ import annotations

import itertools
import re
from typing import Any

from tests.conftest import CANARY
from tests.servers.base import LoopbackServer, Recorded, Response

_ids = itertools.count(1)
BATCH_TYPE = "type.googleapis.com/google.ai.generativelanguage.v1main.GenerateContentBatch"
OUTPUT_TYPE = "type.googleapis.com/google.ai.generativelanguage.v1main.GenerateContentBatchOutput"


def _error(code: int, status: str, message: str) -> Response:
    return Response.json({"error": {"code": code, "message": message, "status": status}}, code)


class GeminiBatchServer(LoopbackServer):
    def __init__(self) -> None:
        super().__init__()
        self.operations: dict[str, dict[str, Any]] = {}
        self.requests_of: dict[str, list[dict[str, Any]]] = {}
        self.route(
            "POST", r"/v1(?:beta)?/models/(?P<model>[\w.-]+):batchGenerateContent", self._create
        )
        self.route("GET", r"/v1(?:beta)?/batches/(?P<id>[\w-]+)", self._get)

    def _denied(self, rec: Recorded) -> Response | None:
        if rec.headers.get("x-goog-api-key") != CANARY:
            return _error(
                400, "INVALID_ARGUMENT", "API key not valid. Please pass a valid API key."
            )
        return None

    def _create(self, rec: Recorded, match: re.Match[str]) -> Response:
        if (denied := self._denied(rec)) is not None:
            return denied
        batch = rec.json()["batch"]
        requests = batch["inputConfig"]["requests"]["requests"]
        name = f"batches/double{next(_ids):06d}"
        self.requests_of[name] = requests
        count = str(len(requests))
        self.operations[name] = {
            "name": name,
            "metadata": {
                "@type": BATCH_TYPE,
                "model": f"models/{match['model']}",
                "displayName": batch.get("displayName", ""),
                "createTime": "2026-12-01T10:00:00.000000Z",
                "updateTime": "2026-12-01T10:00:00.000000Z",
                "batchStats": {"requestCount": count, "pendingRequestCount": count},
                "state": "BATCH_STATE_PENDING",
                "name": name,
            },
        }
        return Response.json(self.operations[name])

    def _get(self, rec: Recorded, match: re.Match[str]) -> Response:
        if (denied := self._denied(rec)) is not None:
            return denied
        operation = self.operations.get(f"batches/{match['id']}")
        if operation is None:
            return _error(404, "NOT_FOUND", f"Batch batches/{match['id']} not found.")
        return Response.json(operation)

    def finish(self, name: str, state: str = "BATCH_STATE_SUCCEEDED") -> None:
        operation = self.operations[name]
        meta = operation["metadata"]
        meta.update(state=state, endTime="2026-12-01T11:00:00.000000Z")
        operation["done"] = True
        if state != "BATCH_STATE_SUCCEEDED":
            return
        answers = [_answer(entry) for entry in self.requests_of[name]]
        failed = sum(1 for a in answers if "error" in a)
        meta["batchStats"] = {
            "requestCount": str(len(answers)),
            "successfulRequestCount": str(len(answers) - failed),
            "failedRequestCount": str(failed),
        }
        output = {"inlinedResponses": {"inlinedResponses": answers}}
        meta["output"] = output
        operation["response"] = {"@type": OUTPUT_TYPE, **output}


def _answer(entry: dict[str, Any]) -> dict[str, Any]:
    prompt = entry["request"]["contents"][-1]["parts"][0]["text"]
    if "FAIL" in prompt:
        error = {"code": 400, "message": "FAIL is not a valid prompt", "status": "INVALID_ARGUMENT"}
        return {"error": error, "metadata": entry.get("metadata", {})}
    response = {
        "candidates": [
            {
                "content": {"parts": [{"text": f"answer to {prompt}"}], "role": "model"},
                "finishReason": "STOP",
                "index": 0,
            }
        ],
        "usageMetadata": {
            "promptTokenCount": 1000,
            "candidatesTokenCount": 2000,
            "totalTokenCount": 3000,
        },
        "modelVersion": "gemini-2.5-flash",
        "responseId": f"double-{next(_ids)}",
    }
    return {"response": response, "metadata": entry.get("metadata", {})}
