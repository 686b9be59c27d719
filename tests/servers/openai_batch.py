"""A loopback double of OpenAI's Batch API (provider-contracts §4.6), for the real SDK.

`POST /v1/files` (multipart, `purpose=batch`) stores the JSONL; `POST /v1/batches` makes a
batch (`validating`); `GET /v1/batches/{id}` answers the Batch object; `finish(id, how)`
plays the service ending it: `completed` (an output file, and an error file for lines
whose prompt says FAIL, as a 400 inside the file), `expired` (the lines after the first
`ran` are in the error file with code `batch_expired`, as the service writes them), or
`failed` (validation errors, no files). `GET /v1/files/{id}/content` serves a file.
"""

from __future__ import annotations

import email.parser
import email.policy
import itertools
import json
import re
import time
from typing import Any

from tests.conftest import CANARY
from tests.servers.base import LoopbackServer, Recorded, Response
from tests.servers.openai import openai_error

_ids = itertools.count(1)


class OpenAIBatchServer(LoopbackServer):
    def __init__(self) -> None:
        super().__init__()
        self.files: dict[str, bytes] = {}
        self.batches: dict[str, dict[str, Any]] = {}
        self.route("POST", r"/v1/files", self._upload)
        self.route("GET", r"/v1/files/(?P<id>[\w-]+)/content", self._content)
        self.route("POST", r"/v1/batches", self._create)
        self.route("GET", r"/v1/batches/(?P<id>[\w-]+)", self._retrieve)

    def _authorized(self, rec: Recorded) -> Response | None:
        if rec.headers.get("authorization") != f"Bearer {CANARY}":
            return openai_error(401, "Incorrect API key provided", code="invalid_api_key")
        return None

    def _upload(self, rec: Recorded, match: re.Match[str]) -> Response:
        if (denied := self._authorized(rec)) is not None:
            return denied
        head = f"Content-Type: {rec.headers['content-type']}\r\n\r\n".encode()
        message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(head + rec.body)
        fields = {
            part.get_param("name", header="content-disposition"): part
            for part in message.iter_parts()  # type: ignore[attr-defined]
        }
        if fields["purpose"].get_content().strip() != "batch":
            return openai_error(400, "purpose must be batch", param="purpose")
        data = fields["file"].get_payload(decode=True)
        file_id = f"file-{next(_ids):06d}"
        self.files[file_id] = data
        return Response.json(self._file_object(file_id, "batch.jsonl", "batch"))

    def _file_object(self, file_id: str, name: str, purpose: str) -> dict[str, Any]:
        return {
            "id": file_id,
            "object": "file",
            "bytes": len(self.files[file_id]),
            "created_at": int(time.time()),
            "filename": name,
            "purpose": purpose,
            "status": "processed",
        }

    def _content(self, rec: Recorded, match: re.Match[str]) -> Response:
        data = self.files.get(match["id"])
        if data is None:
            return openai_error(404, f"No such File object: {match['id']}", param="id")
        return Response(200, {"Content-Type": "application/octet-stream"}, data)

    def _create(self, rec: Recorded, match: re.Match[str]) -> Response:
        if (denied := self._authorized(rec)) is not None:
            return denied
        body = rec.json()
        if body.get("input_file_id") not in self.files:
            return openai_error(400, "input_file_id not found", param="input_file_id")
        batch_id = f"batch_{next(_ids):06d}"
        self.batches[batch_id] = {
            "id": batch_id,
            "object": "batch",
            "endpoint": body["endpoint"],
            "input_file_id": body["input_file_id"],
            "completion_window": body["completion_window"],
            "status": "validating",
            "created_at": int(time.time()),
            "output_file_id": None,
            "error_file_id": None,
            "errors": None,
            "request_counts": {"total": 0, "completed": 0, "failed": 0},
            "metadata": body.get("metadata"),
        }
        return Response.json(self.batches[batch_id])

    def _retrieve(self, rec: Recorded, match: re.Match[str]) -> Response:
        batch = self.batches.get(match["id"])
        if batch is None:
            return openai_error(404, f"No batch found with id '{match['id']}'.", param="id")
        if batch["status"] == "validating":
            batch["status"] = "in_progress"  # the next look finds it running, as in life
            lines = self._lines(batch)
            batch["request_counts"] = {"total": len(lines), "completed": 0, "failed": 0}
        return Response.json(batch)

    def _lines(self, batch: dict[str, Any]) -> list[dict[str, Any]]:
        data = self.files[batch["input_file_id"]].decode()
        return [json.loads(line) for line in data.splitlines() if line.strip()]

    def finish(self, batch_id: str, how: str = "completed", ran: int = 0) -> None:
        batch = self.batches[batch_id]
        lines = self._lines(batch)
        if how == "failed":
            error = {"code": "invalid_request", "message": "model not found", "line": 1}
            batch.update(status="failed", errors={"object": "list", "data": [error]})
            return
        output, errors = [], []
        for n, line in enumerate(lines):
            if how == "expired" and n >= ran:
                errors.append(_expired(line))
            elif "FAIL" in line["body"]["messages"][-1]["content"]:
                errors.append(_bad_request(line))
            else:
                output.append(_answer(line))
        for key, rows in (("output_file_id", output), ("error_file_id", errors)):
            if rows:
                file_id = f"file-{next(_ids):06d}"
                self.files[file_id] = "".join(json.dumps(r) + "\n" for r in rows).encode()
                batch[key] = file_id
        failed = sum(1 for r in errors if r["error"] is None)
        counts = {"total": len(lines), "completed": len(output), "failed": failed}
        batch.update(status=how, request_counts=counts)


def _answer(line: dict[str, Any]) -> dict[str, Any]:
    prompt = line["body"]["messages"][-1]["content"]
    text = f"answer to {prompt}"
    body = {
        "id": f"chatcmpl-{next(_ids)}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": line["body"]["model"],
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": text},
                "finish_reason": "stop",
            }
        ],
        "usage": {"prompt_tokens": 1000, "completion_tokens": 2000, "total_tokens": 3000},
    }
    response = {"status_code": 200, "request_id": f"req_{next(_ids)}", "body": body}
    return {
        "id": f"batch_req_{next(_ids)}",
        "custom_id": line["custom_id"],
        "response": response,
        "error": None,
    }


def _bad_request(line: dict[str, Any]) -> dict[str, Any]:
    error = {
        "message": "Invalid 'messages': FAIL is not allowed here.",
        "type": "invalid_request_error",
    }
    body = {"error": {**error, "param": "messages", "code": None}}
    response = {"status_code": 400, "request_id": f"req_{next(_ids)}", "body": body}
    return {
        "id": f"batch_req_{next(_ids)}",
        "custom_id": line["custom_id"],
        "response": response,
        "error": None,
    }


def _expired(line: dict[str, Any]) -> dict[str, Any]:
    error = {
        "code": "batch_expired",
        "message": "This request could not be executed before the completion window expired.",
    }
    return {
        "id": f"batch_req_{next(_ids)}",
        "custom_id": line["custom_id"],
        "response": None,
        "error": error,
    }
