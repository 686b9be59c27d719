"""Anthropic's Message Batches: every line goes in one `POST /v1/messages/batches`; the
results are a JSONL stream at the batch's `results_url`, one object per `custom_id`."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from convergio_llm.providers.anthropic import (
    FINISH_REASONS,
    _counts,
    _usage,
    message_params,
)
from convergio_llm.providers.base import Provider, Request
from convergio_llm.providers.batch import (
    ENDED,
    IN_PROGRESS,
    BatchInfo,
    Result,
    completion,
    request_error,
    sdk_call,
)
from convergio_llm.providers.error_map import map_exception

COUNTS = ("processing", "succeeded", "errored", "canceled", "expired")


class AnthropicBatches:
    def submit(
        self, provider: Provider, model: str, requests: Sequence[tuple[str, Request]]
    ) -> str:
        entries = [
            {"custom_id": cid, "params": message_params(r, model, provider.settings)}
            for cid, r in requests
        ]
        batch = self._call(provider, lambda c: c.messages.batches.create(requests=entries))
        return str(batch.id)

    def status(self, provider: Provider, batch_id: str) -> BatchInfo:
        batch = self._call(provider, lambda c: c.messages.batches.retrieve(batch_id))
        counts = {name: int(getattr(batch.request_counts, name, 0) or 0) for name in COUNTS}
        state = ENDED if batch.processing_status == "ended" else IN_PROGRESS
        return BatchInfo(batch.id, state, batch.processing_status, counts)

    def results(self, provider: Provider, batch_id: str, model: str) -> dict[str, Result]:
        entries = self._call(provider, lambda c: list(c.messages.batches.results(batch_id)))
        found: dict[str, Result] = {}
        for entry in entries:
            result = entry.result
            if result.type == "succeeded":
                found[entry.custom_id] = _completion(provider, result.message, model)
            elif result.type == "errored":
                error = getattr(result.error, "error", None)
                kind = str(getattr(error, "type", "") or "error")
                message = f"{kind}: {getattr(error, 'message', '') or 'request failed'}"
                status = 529 if kind == "overloaded_error" else 500 if kind == "api_error" else 400
                found[entry.custom_id] = request_error(provider.name, status, message)
            # "expired" and "canceled" never ran: left out, the caller says so per line
        return found

    def _call(self, provider: Provider, call: Any) -> Any:
        client = provider.client()  # type: ignore[attr-defined]
        return sdk_call(
            provider, lambda: call(client), lambda exc: map_exception(exc, provider.name)
        )


def _completion(provider: Provider, message: Any, model: str) -> Result:
    text = "".join(b.text for b in message.content if getattr(b, "type", "") == "text")
    stop = message.stop_reason
    return completion(
        provider,
        str(message.model or model),
        text,
        FINISH_REASONS.get(stop or "", stop),
        _usage(_counts(message.usage)),
        {"stop_reason": stop},
    )
