"""`llm bench` on real in-process engines, each in its own child process.

The decode speeds depend on the machine (and on whatever else runs on it), so the
test checks what holds anywhere: every sample succeeds, targets interleave, and the
client-side decode speed agrees with the engine's own report.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import run_in_process

pytestmark = pytest.mark.engine

GEMMA = "llamacpp:gemma-3-270m"


def test_llamacpp_and_mlx_interleaved_with_engine_check(
    tmp_path: Path, tiny_mlx_model: Path, embedded_model_cached: Path
) -> None:
    prompts = tmp_path / "prompts.txt"
    prompts.write_text("The capital of France is\nOnce upon a time, in a small village,\n")
    tiny = f"mlx:{tiny_mlx_model}"
    result = run_in_process(
        "bench",
        "--json",
        "-m",
        GEMMA,
        "-m",
        tiny,
        "--prompts",
        str(prompts),
        "-n",
        "2",
        "--max-tokens",
        "24",
        "--check-engine",
    )
    assert result.returncode == 0, result.stderr.decode()
    record: dict[str, Any] = json.loads(result.stdout)
    assert [s["target"] for s in record["samples"]] == [GEMMA, tiny] * 4
    for summary in record["summaries"]:
        assert summary["ok"] == 4, record["warnings"]
        assert summary["token_source"] == "provider"
        assert summary["load_state"] == "cold" and summary["load_s"] > 0
        assert summary["peak_rss_mb"] > 50  # an engine and its weights, in the child
    gemma = record["summaries"][0]
    check = gemma["engine_check"]
    assert check is not None and check["pairs"] == 4
    # llama.cpp times the same decode loop the client watches: a few % apart at most
    assert abs(check["difference_pct"]) < 10, check
    assert record["samples"][0]["engine"]["n_eval"] > 0  # llama.cpp's perf data, raw
    assert "generation_tps" in record["samples"][1]["engine"]  # mlx-lm's, raw
