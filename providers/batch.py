"""Cloud batch APIs (OpenAI Batch, Anthropic Message Batches, Gemini batch mode): one
small adapter per backend, behind the same three calls.

    submit(provider, model, requests)  -> the provider's batch id
    status(provider, batch_id)         -> BatchInfo (state normalised, counts as the API gives)
    results(provider, batch_id, model) -> {custom_id: Completion | LLMError}

A request that the batch never ran (expired, cancelled, or the whole batch failed) has
no entry in `results()`: the caller turns the missing ids into per-line errors, as it
knows which lines it sent. The SDK is imported by each adapter, never at module top.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, NamedTuple, Protocol, TypeVar

from convergio_llm.providers.base import Completion, Provider, Request, Timings, Usage
from convergio_llm.providers.errors import (
    BadRequest,
    LLMError,
    ProviderError,
    RateLimited,
    ServerError,
)

# Our states: the adapters map each API's own names onto these.
IN_PROGRESS = "in_progress"
ENDED = "ended"  # finished: results can be fetched (some lines may have failed)
FAILED = "failed"  # the whole batch was rejected (validation): no line ran
EXPIRED = "expired"  # the window closed; lines that finished before have results
CANCELLED = "cancelled"

T = TypeVar("T")
Result = Completion | LLMError


class BatchInfo(NamedTuple):
    id: str
    state: str
    provider_state: str  # the API's own word, shown as it is
    counts: Mapping[str, int]
    message: str | None = None  # why a failed batch failed

    @property
    def finished(self) -> bool:
        return self.state != IN_PROGRESS

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "state": self.state,
            "provider_state": self.provider_state,
            "counts": dict(self.counts),
            "message": self.message,
        }


class BatchAdapter(Protocol):
    def submit(
        self, provider: Provider, model: str, requests: Sequence[tuple[str, Request]]
    ) -> str: ...

    def status(self, provider: Provider, batch_id: str) -> BatchInfo: ...

    def results(self, provider: Provider, batch_id: str, model: str) -> dict[str, Result]: ...


def sdk_call(
    provider: Provider, call: Callable[[], T], map_error: Callable[[Exception], LLMError]
) -> T:
    """Run one SDK call; its exception becomes our error tree (one clear line, no traceback)."""
    try:
        return call()
    except LLMError:
        raise
    except Exception as exc:
        raise map_error(exc) from None


def request_error(provider: str, status: int | None, message: str) -> ProviderError:
    """A request inside a batch that the API answered with an error."""
    if status == 429:
        return RateLimited(message, provider, status=status)
    if status is not None and status >= 500:
        return ServerError(message, provider, status=status)
    return BadRequest(message, provider, status=status)


def completion(
    provider: Provider,
    model: str,
    text: str,
    finish: str | None,
    usage: Usage,
    raw: Mapping[str, Any],
) -> Completion:
    """A batch answer: no stream, so no time to first token; nothing timed on our side."""
    return Completion(
        text=text,
        finish_reason=finish,
        usage=usage,
        timings=Timings(ttft_s=None, total_s=0.0),
        provider=provider.name,
        model=model,
        raw_stats=dict(raw),
    )
