"""Gemini batch mode: `client.batches.create(model=..., src=[inlined requests])`; when the
job has succeeded its answers come back inlined in the job itself, in request order,
each carrying the metadata it was sent with (our `custom_id` under `key`)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from convergio_llm.providers.base import Provider, Request
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
from convergio_llm.providers.errors import ContentFiltered
from convergio_llm.providers.google import (
    FILTERED,
    FINISH_REASONS,
    _name,
    _usage,
    contents_and_config,
)

STATES = {
    "JOB_STATE_PENDING": IN_PROGRESS,
    "JOB_STATE_QUEUED": IN_PROGRESS,
    "JOB_STATE_RUNNING": IN_PROGRESS,
    "JOB_STATE_SUCCEEDED": ENDED,
    "JOB_STATE_FAILED": FAILED,
    "JOB_STATE_CANCELLED": CANCELLED,
    "JOB_STATE_EXPIRED": EXPIRED,
}


class GoogleBatches:
    def submit(
        self, provider: Provider, model: str, requests: Sequence[tuple[str, Request]]
    ) -> str:
        from google.genai import types

        inlined = []
        for cid, request in requests:
            contents, config = contents_and_config(request)
            inlined.append(
                types.InlinedRequest(contents=contents, config=config, metadata={"key": cid})
            )
        job = self._call(
            provider,
            lambda c: c.batches.create(
                model=model, src=inlined, config={"display_name": "convergio-llm"}
            ),
        )
        return str(job.name)

    def status(self, provider: Provider, batch_id: str) -> BatchInfo:
        job = self._job(provider, batch_id)
        state = _name(job.state)
        responses = (job.dest.inlined_responses if job.dest else None) or []
        failed = sum(1 for r in responses if r.error is not None)
        counts = {"succeeded": len(responses) - failed, "failed": failed}
        message = job.error.message if job.error is not None else None
        return BatchInfo(str(job.name), STATES.get(state, IN_PROGRESS), state, counts, message)

    def results(self, provider: Provider, batch_id: str, model: str) -> dict[str, Result]:
        job = self._job(provider, batch_id)
        found: dict[str, Result] = {}
        for response in (job.dest.inlined_responses if job.dest else None) or []:
            key = (response.metadata or {}).get("key")
            if key is None:
                continue  # an answer we cannot place is no answer: the line reports it missing
            if response.error is not None:
                error = response.error
                found[key] = request_error(provider.name, error.code, error.message or "failed")
            else:
                found[key] = _completion(provider, response.response, model)
        return found

    def _job(self, provider: Provider, batch_id: str) -> Any:
        return self._call(provider, lambda c: c.batches.get(name=batch_id))

    def _call(self, provider: Provider, call: Any) -> Any:
        client = provider.client()  # type: ignore[attr-defined]
        return sdk_call(
            provider, lambda: call(client), lambda exc: map_exception(exc, provider.name)
        )


def _completion(provider: Provider, response: Any, model: str) -> Result:
    candidate = (response.candidates or [None])[0] if response is not None else None
    finish = _name(candidate.finish_reason) if candidate and candidate.finish_reason else None
    if finish in FILTERED:
        return ContentFiltered(f"answer blocked (finish reason {finish})", provider.name)
    parts = (candidate.content.parts if candidate and candidate.content else None) or []
    text = "".join(p.text for p in parts if p.text and not p.thought)
    return completion(
        provider,
        model,  # what was asked and priced, as a normal run reports it
        text,
        FINISH_REASONS.get(finish or "", finish and finish.lower()),
        _usage(response.usage_metadata if response is not None else None),
        {"finish_reason": finish},
    )
