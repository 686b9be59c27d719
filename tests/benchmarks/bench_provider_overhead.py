"""What our provider path costs per request over calling the SDK directly (target: ≤ 2 ms).

    .venv/bin/pytest tests/benchmarks/bench_provider_overhead.py -s
    python tests/benchmarks/bench_provider_overhead.py

For each backend, against one loopback wire double: request i is sent twice, once through
`Provider.stream()` (retry wrapper, event mapping, Stopwatch, Completion) and once as a raw
SDK streaming call read to the end, in alternating order (ours first on even i, raw first on
odd i) so drift and warm-up hit both alike. The figure is the median of the per-pair
differences, with its interquartile range. Both sides share one SDK client configuration
(retries off) and the client is built before timing starts. No assertions: figures only.
"""

from __future__ import annotations

import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

REQUESTS = int(os.environ.get("BENCH_REQUESTS", "200"))
DUMMY_KEY = "sk-bench-loopback-only-000000"


def _paired(ours: Callable[[], object], raw: Callable[[], object], n: int) -> dict[str, float]:
    for _ in range(10):  # warm both paths: connections, lazy imports, pydantic caches
        ours()
        raw()
    diffs: list[float] = []
    ours_s: list[float] = []
    raw_s: list[float] = []
    for i in range(n):
        order = (ours, raw) if i % 2 == 0 else (raw, ours)
        took: dict[Callable[[], object], float] = {}
        for call in order:
            started = time.perf_counter()
            call()
            took[call] = time.perf_counter() - started
        ours_s.append(took[ours])
        raw_s.append(took[raw])
        diffs.append(took[ours] - took[raw])
    q1, _, q3 = statistics.quantiles(diffs, n=4)
    return {
        "ours_ms": statistics.median(ours_s) * 1e3,
        "raw_ms": statistics.median(raw_s) * 1e3,
        "overhead_ms": statistics.median(diffs) * 1e3,
        "q1_ms": q1 * 1e3,
        "q3_ms": q3 * 1e3,
    }


def _anthropic(n: int) -> dict[str, float]:
    import anthropic

    from convergio_llm.providers.anthropic import AnthropicProvider
    from convergio_llm.providers.base import Request
    from tests.servers.anthropic import AnthropicDouble

    request = Request.from_prompt("hi", system="be brief", max_tokens=64)
    with AnthropicDouble() as double:
        provider = AnthropicProvider(settings={"base_url": double.url, "max_retries": 0})
        provider.client()
        raw_client = anthropic.Anthropic(base_url=double.url, max_retries=0, timeout=120.0)

        def raw() -> str:
            stream = raw_client.messages.create(
                model="claude-haiku-4-5",
                max_tokens=64,
                system="be brief",
                messages=[{"role": "user", "content": "hi"}],
                stream=True,
            )
            text = []
            for event in stream:
                if event.type == "content_block_delta" and event.delta.type == "text_delta":
                    text.append(event.delta.text)
            return "".join(text)

        try:
            return _paired(lambda: provider.generate(request, "claude-haiku-4-5"), raw, n)
        finally:
            provider.close()
            raw_client.close()


def _google(n: int) -> dict[str, float]:
    from google import genai

    from convergio_llm.providers.base import Request
    from convergio_llm.providers.google import GoogleProvider
    from tests.servers.google import GeminiDouble

    request = Request.from_prompt("hi", system="be brief", max_tokens=64)
    with GeminiDouble() as double:
        provider = GoogleProvider(settings={"base_url": double.url, "max_retries": 0})
        provider.client()
        raw_client = genai.Client(http_options=genai.types.HttpOptions(base_url=double.url))
        config = genai.types.GenerateContentConfig(
            system_instruction="be brief", max_output_tokens=64
        )

        def raw() -> str:
            chunks = raw_client.models.generate_content_stream(
                model="gemini-2.5-flash", contents="hi", config=config
            )
            return "".join(chunk.text or "" for chunk in chunks)

        try:
            return _paired(lambda: provider.generate(request, "gemini-2.5-flash"), raw, n)
        finally:
            provider.close()
            raw_client.close()


def measure(n: int = REQUESTS) -> dict[str, dict[str, Any]]:
    saved = {
        k: os.environ.get(k) for k in ("ANTHROPIC_API_KEY", "GEMINI_API_KEY", "GOOGLE_API_KEY")
    }
    os.environ.update(ANTHROPIC_API_KEY=DUMMY_KEY, GEMINI_API_KEY=DUMMY_KEY)
    os.environ.pop("GOOGLE_API_KEY", None)
    try:
        return {"anthropic": _anthropic(n), "google": _google(n)}
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def report(results: dict[str, dict[str, Any]], n: int) -> str:
    lines = [f"provider overhead over the raw SDK, {n} paired streaming requests each:"]
    for name, r in results.items():
        lines.append(
            f"  {name:<10} overhead median {r['overhead_ms']:+.3f} ms "
            f"(IQR {r['q1_ms']:+.3f} .. {r['q3_ms']:+.3f}); "
            f"per request: ours {r['ours_ms']:.2f} ms, raw SDK {r['raw_ms']:.2f} ms"
        )
    return "\n".join(lines)


def test_provider_overhead_over_the_raw_sdk() -> None:
    print("\n" + report(measure(REQUESTS), REQUESTS))


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # for tests.servers
    print(report(measure(REQUESTS), REQUESTS))
