"""`llm bench` against the Ollama wire double, whose engine figures are set by the test.

The double reports `eval_duration = eval_ns_per_token × eval_count`, so the engine's own
decode speed is exactly 1e9 / eval_ns_per_token; its real token delay makes the client
side see nearly the same speed.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import llm
from tests.servers.ollama import OllamaServer

MODEL = "llama3.2:3b"


class CachingOllama(OllamaServer):
    """Reports, after the first request, that only 2 prompt tokens were evaluated."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.generations = 0

    def _stats(self, body: dict[str, Any], tokens: list[str]) -> dict[str, Any]:
        stats = super()._stats(body, tokens)
        self.generations += 1
        if self.generations > 1:
            stats["prompt_eval_count"] = 2
        return stats


@pytest.fixture
def one_prompt(tmp_path: Path) -> Path:
    path = tmp_path / "prompts.txt"
    path.write_text("why is the sky blue? answer in a few plain words please\n")
    return path


def bench(server: OllamaServer, *args: str) -> dict[str, Any]:
    result = llm("bench", "--json", "-m", f"ollama:{MODEL}", *args, env={"OLLAMA_HOST": server.url})
    assert result.code == 0, result.stderr
    record: dict[str, Any] = json.loads(result.stdout)
    return record


def test_engine_figures_from_known_durations(one_prompt: Path) -> None:
    # 50 tok/s as the engine reports it; 20 ms between streamed tokens as the client sees it
    with OllamaServer(
        load_ns=2_500_000_000,
        eval_ns_per_token=20_000_000,
        first_token_delay_s=0.03,
        token_delay_s=0.02,
    ) as server:
        record = bench(server, "--prompts", str(one_prompt), "-n", "3", "--check-engine")
    summary = record["summaries"][0]
    assert summary["ok"] == 3
    check = summary["engine_check"]
    assert check["engine_decode_tps"] == pytest.approx(50.0)
    # The double's delays are floors (sleeps never return early); a busy machine only adds.
    assert 0 < check["client_decode_tps"] <= 50.5
    assert summary["ttft_s"]["median"] >= 0.030
    # the double's reply has 12 words, each one token (eval_count), below --max-tokens
    assert summary["output_tokens"] == 12 and summary["token_source"] == "provider"
    # load: Ollama's load_duration of the first request; /api/ps said the model was not loaded
    assert summary["load_s"] == pytest.approx(2.5)
    assert summary["load_state"] == "cold"
    sample = record["samples"][0]
    assert sample["engine"]["eval_duration"] == 12 * 20_000_000  # kept raw, in nanoseconds
    assert summary["peak_rss_mb"] is None  # a server's memory is not ours to measure
    assert any(w["kind"] == "early-stop" for w in record["warnings"])


def test_a_model_already_loaded_is_warm(one_prompt: Path) -> None:
    with OllamaServer() as server:
        server.loaded[MODEL] = time.time() + 3600
        record = bench(server, "--prompts", str(one_prompt), "-n", "1", "--warmup", "0")
    assert record["summaries"][0]["load_state"] == "warm"


def test_prefix_cache_hits_are_flagged(one_prompt: Path) -> None:
    with CachingOllama() as server:
        record = bench(server, "--prompts", str(one_prompt), "-n", "3")
    warnings = [w for w in record["warnings"] if w["kind"] == "prefix-cache"]
    assert len(warnings) == 1
    assert "3 of 3 samples" in warnings[0]["message"]  # the warm-up took the only cold prompt
