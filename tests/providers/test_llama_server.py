"""The openai backend's user-level tests against a real OpenAI-compatible server:
llama-cpp-python's (tests/servers/llama_server.py), configured as a user would
(`providers: {local: {kind: openai, base_url}}`), through `llm` itself."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import assert_no_canary, run_in_process
from tests.servers.llama_server import MODEL_ALIAS

pytestmark = pytest.mark.engine
MODEL = f"local:{MODEL_ALIAS}"


@pytest.fixture
def config(llama_server: str, tmp_path: Path) -> str:
    path = tmp_path / "config.yaml"
    path.write_text(f"providers:\n  local: {{kind: openai, base_url: '{llama_server}'}}\n")
    return str(path)


def test_json_and_text_answers_are_whole(config: str) -> None:
    args = ("--config", config, "run", "--no-cache", "--max-tokens", "8", "-t", "0", "-m", MODEL)
    as_json = run_in_process(*args, "--json", "The capital of France is")
    text = run_in_process(*args, "The capital of France is")
    assert as_json.returncode == 0, as_json.stderr
    assert text.returncode == 0, text.stderr
    out = json.loads(as_json.stdout)
    # Greedy, yet this server did not answer the same twice in a row here: wholeness only.
    assert out["text"] and text.stdout.decode().strip()
    assert out["provider"] == "local"
    assert out["finish_reason"] in ("length", "stop")
    assert 0 < out["usage"]["output_tokens"] <= 8
    assert 0 < out["timings"]["ttft_s"] <= out["timings"]["total_s"]
    assert_no_canary(as_json.stdout, as_json.stderr, text.stdout, text.stderr)


def test_an_unknown_model_is_a_clear_error_line(config: str) -> None:
    result = run_in_process("--config", config, "run", "--no-cache", "-m", "local:", "hi")
    assert result.returncode != 0
    lines = result.stderr.decode().splitlines()
    assert lines and all(line.startswith("llm: ") for line in lines), lines


def test_models_lists_the_served_model_as_local_and_available(config: str) -> None:
    result = run_in_process("--config", config, "models", "--json", "-p", "local")
    assert result.returncode == 0, result.stderr
    rows = json.loads(result.stdout)
    assert [(r["name"], r["available"], r["locality"]) for r in rows] == [
        (MODEL_ALIAS, True, "local-server")
    ]
