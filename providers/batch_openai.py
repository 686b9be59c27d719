"""OpenAI's Batch API: the lines go up as a JSONL file (`purpose=batch`), a batch is made
on `/v1/chat/completions`, and the answers come back as output and error files."""

from __future__ import annotations

import io
import json
from collections.abc import Mapping, Sequence
from typing import Any

from convergio_llm.providers._openai_chat import chat_kwargs
from convergio_llm.providers.base import Provider, Request, Usage
from convergio_llm.providers.batch import (
    CANCELLED,
    ENDED,
    EXPIRED,
    FAILED,
    IN_PROGRESS,
    BatchInfo,
    Result,
    completion,
    request_error,
    sdk_call,
)
from convergio_llm.providers.error_map import map_exception
from convergio_llm.providers.errors import LLMError, ProviderError

ENDPOINT = "/v1/chat/completions"
STATES = {
    "validating": IN_PROGRESS,
    "in_progress": IN_PROGRESS,
    "finalizing": IN_PROGRESS,
    "cancelling": IN_PROGRESS,
    "completed": ENDED,
    "failed": FAILED,
    "expired": EXPIRED,
    "cancelled": CANCELLED,
}


class OpenAIBatches:
    def submit(
        self, provider: Provider, model: str, requests: Sequence[tuple[str, Request]]
    ) -> str:
        client = provider.client()  # type: ignore[attr-defined]
        lines = [
            json.dumps(
                {
                    "custom_id": cid,
                    "method": "POST",
                    "url": ENDPOINT,
                    "body": _body(provider, r, model),
                }
            )
            for cid, r in requests
        ]
        data = ("\n".join(lines) + "\n").encode()
        upload = sdk_call(
            provider,
            lambda: client.files.create(file=("batch.jsonl", io.BytesIO(data)), purpose="batch"),
            lambda exc: map_exception(exc, provider.name),
        )
        batch = sdk_call(
            provider,
            lambda: client.batches.create(
                input_file_id=upload.id, endpoint=ENDPOINT, completion_window="24h"
            ),
            lambda exc: map_exception(exc, provider.name),
        )
        return str(batch.id)

    def status(self, provider: Provider, batch_id: str) -> BatchInfo:
        batch = self._batch(provider, batch_id)
        counts = batch.request_counts
        message = None
        errors = getattr(batch.errors, "data", None) or []
        if errors:
            message = "; ".join(str(e.message) for e in errors if e.message)
        return BatchInfo(
            batch.id,
            STATES.get(batch.status, IN_PROGRESS),
            batch.status,
            {
                "total": counts.total if counts else 0,
                "completed": counts.completed if counts else 0,
                "failed": counts.failed if counts else 0,
            },
            message,
        )

    def results(self, provider: Provider, batch_id: str, model: str) -> dict[str, Result]:
        batch = self._batch(provider, batch_id)
        found: dict[str, Result] = {}
        for file_id in (batch.output_file_id, batch.error_file_id):
            if file_id:
                for line in self._file(provider, file_id).splitlines():
                    if line.strip():
                        _read_line(provider, line, model, found)
        return found

    def _batch(self, provider: Provider, batch_id: str) -> Any:
        client = provider.client()  # type: ignore[attr-defined]
        return sdk_call(
            provider,
            lambda: client.batches.retrieve(batch_id),
            lambda exc: map_exception(exc, provider.name),
        )

    def _file(self, provider: Provider, file_id: str) -> str:
        client = provider.client()  # type: ignore[attr-defined]
        content = sdk_call(
            provider,
            lambda: client.files.content(file_id),
            lambda exc: map_exception(exc, provider.name),
        )
        return str(content.text)


def _read_line(provider: Provider, line: str, model: str, found: dict[str, Result]) -> None:
    """One line of a results file into `found`. A line that names no request (not JSON, no
    custom_id) answers nothing: its request is reported as not run. A line that names one
    but is malformed is that request's error: never an internal error, never a lost line."""
    try:
        obj = json.loads(line)
        custom_id = str(obj["custom_id"])
    except (ValueError, TypeError, KeyError, RecursionError):
        return
    try:
        found[custom_id] = _result(provider, obj, model)
    except (ValueError, TypeError, AttributeError, KeyError, IndexError) as exc:
        found[custom_id] = ProviderError(
            f"the batch's result for this request is malformed ({type(exc).__name__})",
            provider.name,
        )


def _body(provider: Provider, request: Request, model: str) -> dict[str, Any]:
    official = bool(getattr(provider, "official", False))
    token_param = provider.settings.get("token_param") or (
        "max_completion_tokens" if official else "max_tokens"
    )
    body = chat_kwargs(request, model, token_param=token_param)
    del body["stream"], body["stream_options"]  # a batch answers whole
    return body


def _result(provider: Provider, obj: Mapping[str, Any], model: str) -> Result:
    response = obj.get("response") or {}
    status = response.get("status_code")
    body = response.get("body") or {}
    if obj.get("error") or status != 200:
        error = obj.get("error") or body.get("error") or {}
        message = error.get("message") or f"request failed with status {status}"
        failed: LLMError = request_error(provider.name, status, str(message))
        return failed
    choice = (body.get("choices") or [{}])[0]
    usage = body.get("usage") or {}
    return completion(
        provider,
        str(body.get("model") or model),
        str((choice.get("message") or {}).get("content") or ""),
        choice.get("finish_reason"),
        Usage(
            input_tokens=int(usage.get("prompt_tokens") or 0),
            output_tokens=int(usage.get("completion_tokens") or 0),
            cached_input_tokens=int(
                (usage.get("prompt_tokens_details") or {}).get("cached_tokens") or 0
            ),
            reasoning_tokens=int(
                (usage.get("completion_tokens_details") or {}).get("reasoning_tokens") or 0
            ),
            source="provider",
        ),
        {"batch_request_id": obj.get("id"), "finish_reason": choice.get("finish_reason")},
    )
