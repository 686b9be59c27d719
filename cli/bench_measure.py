"""One benchmark sample: stream a request and time it from the client's side.

Definitions (the report's column headings mean exactly these):
- TTFT: from calling `stream()` to the first chunk with non-empty text (a role-only
  or empty first chunk is not a token).
- decode tok/s: (output tokens − 1) ÷ (last token time − first token time); the first
  token belongs to the prompt's prefill, so it is not in the decode window.
- output tokens: what the backend reported (`Usage.source == "provider"`) or the
  estimate it fell back to — never the number of chunks, which is the framing's choice.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field, fields
from typing import Any

from convergio_llm.providers.base import Completion, Provider, Request, Timings
from convergio_llm.providers.base_models import RAW_STREAM


@dataclass
class Sample:
    target: str
    prompt_id: str
    rep: int
    ok: bool = False
    error: str | None = None
    error_type: str | None = None
    ttft_s: float | None = None
    last_token_s: float | None = None
    e2e_s: float | None = None
    decode_tps: float | None = None
    input_tokens: int | None = None
    output_tokens: int | None = None
    cached_input_tokens: int | None = None
    # ~4 characters a token: a tokenizer-free yardstick for spotting prefix-cache hits.
    estimated_input_tokens: int | None = None
    token_source: str | None = None
    finish_reason: str | None = None
    max_tokens: int | None = None
    load_s: float | None = None
    cpu_s: float | None = None
    peak_rss_mb: float | None = None
    cost_usd: float | None = None
    engine_decode_tps: float | None = None
    engine_prompt_tokens: int | None = None
    # The provider's own Timings and the engine's raw report, unmodified.
    timings: dict[str, Any] = field(default_factory=dict)
    engine: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, obj: Mapping[str, Any]) -> Sample:
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in obj.items() if k in names})


def decode_rate(
    output_tokens: int | None, first_s: float | None, last_s: float | None
) -> float | None:
    """(tokens − 1) ÷ decode window; None when there is no window to divide by."""
    if output_tokens is None or first_s is None or last_s is None or output_tokens < 2:
        return None
    window = last_s - first_s
    return (output_tokens - 1) / window if window > 0 else None


def measure(
    provider: Provider,
    request: Request,
    model: str,
    sample: Sample,
    clock: Callable[[], float] = time.perf_counter,
) -> Sample:
    """Fill `sample` from one streamed request; a failure becomes the sample's error.

    `clock` reads the time (seconds); a test passes the one its scripted provider
    advances, so TTFT, decode rate and end-to-end are asserted exactly.
    """
    # The engine's own stream: no base-model repetition guard holding text back or ending it.
    request = request.with_params(metadata={**request.metadata, RAW_STREAM: True})
    cpu_start = time.process_time()
    start = clock()
    first: float | None = None
    last: float | None = None
    completion: Completion | None = None
    try:
        for item in provider.stream(request, model):
            now = clock()
            if isinstance(item, Completion):
                completion = item
            elif item.text:
                first = now if first is None else first
                last = now
        if completion is None:
            raise RuntimeError("the stream ended without a Completion")
    except Exception as exc:
        from convergio_llm.providers.errors import scrub

        sample.error = scrub(str(exc)).splitlines()[0] if str(exc) else type(exc).__name__
        sample.error_type = type(exc).__name__
        return sample
    end = clock()
    sample.cpu_s = time.process_time() - cpu_start
    fill_from_completion(sample, completion, start, first, last, end)
    return sample


def fill_from_completion(
    sample: Sample,
    completion: Completion,
    start: float,
    first: float | None,
    last: float | None,
    end: float,
) -> None:
    usage = completion.usage
    sample.ok = True
    sample.e2e_s = end - start
    sample.ttft_s = None if first is None else first - start
    sample.last_token_s = None if last is None else last - start
    sample.input_tokens = usage.input_tokens
    sample.output_tokens = usage.output_tokens
    sample.cached_input_tokens = usage.cached_input_tokens
    sample.token_source = usage.source
    sample.decode_tps = decode_rate(usage.output_tokens, sample.ttft_s, sample.last_token_s)
    sample.finish_reason = completion.finish_reason
    sample.load_s = completion.timings.load_s
    sample.timings = asdict(completion.timings)
    sample.engine = _jsonable(completion.raw_stats)
    sample.engine_decode_tps = engine_decode_rate(
        completion.raw_stats, completion.timings, usage.output_tokens
    )
    sample.engine_prompt_tokens = engine_prompt_tokens(completion.raw_stats)


def engine_decode_rate(
    raw: Mapping[str, Any], timings: Timings, output_tokens: int | None
) -> float | None:
    """Decode tokens/s as the engine itself reported it, in whichever form it uses."""
    try:
        if raw.get("generation_tps"):  # mlx-lm GenerationResponse
            return float(raw["generation_tps"])
        if raw.get("eval_count") and raw.get("eval_duration"):  # Ollama, nanoseconds
            return float(raw["eval_count"]) / (float(raw["eval_duration"]) / 1e9)
        if raw.get("n_eval") and raw.get("t_eval_ms"):  # llama.cpp llama_perf_context
            return float(raw["n_eval"]) / (float(raw["t_eval_ms"]) / 1e3)
        nested = raw.get("timings")
        if isinstance(nested, Mapping) and nested.get("predicted_per_second"):  # llama-server
            return float(nested["predicted_per_second"])
    except (TypeError, ValueError, ZeroDivisionError):
        return None
    if timings.eval_s and output_tokens and output_tokens > 1:
        return (output_tokens - 1) / timings.eval_s
    return None


def engine_prompt_tokens(raw: Mapping[str, Any]) -> int | None:
    """How many prompt tokens the engine actually evaluated (fewer than sent: a cache hit)."""
    for key in ("prompt_eval_count", "n_p_eval"):
        value = raw.get(key)
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    nested = raw.get("timings")
    if isinstance(nested, Mapping) and isinstance(nested.get("prompt_n"), int):
        return int(nested["prompt_n"])
    return None


def peak_rss_mb() -> float | None:
    """This process's peak resident set size, in MiB (ru_maxrss is KiB on Linux, bytes on macOS)."""
    try:
        import resource
    except ImportError:  # Windows
        return None
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024


def _jsonable(raw: Mapping[str, Any]) -> dict[str, Any]:
    import json

    out: dict[str, Any] = {}
    for key, value in raw.items():
        try:
            json.dumps(value)
            out[str(key)] = value
        except (TypeError, ValueError):
            out[str(key)] = repr(value)
    return out


def cpu_count() -> int:
    return os.cpu_count() or 1


@dataclass
class Target:
    """One backend and model under test, and what was learnt about it outside the samples."""

    ref: str
    provider: str
    model: str
    kind: str
    locality: str
    isolated: bool = False
    # The engine's thread count when its settings name one (for the CPU-contention check).
    threads: int | None = None
    load_s: float | None = None
    # "cold": the model was loaded for this run; "warm": it was already loaded.
    load_state: str | None = None
    busy_s: float = 0.0
    engine_starts: int = 0

    def to_json(self) -> dict[str, Any]:
        return asdict(self)
