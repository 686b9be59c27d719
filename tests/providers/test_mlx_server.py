"""A real OpenAI-compatible server: `mlx_lm.server` on the tiny random model, used through `llm`.

The server is configured as an instance of the `openai` kind (`local`, base_url on loopback),
exactly as a user would point the CLI at their own vLLM / LM Studio / mlx_lm.server.
Its stream starts with `: keepalive` SSE comments and ends with a usage chunk whose `choices`
is empty (provider-contracts §2.4), which the provider must take in its stride.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from tests.conftest import assert_no_canary, run_in_process

pytestmark = pytest.mark.engine
READY_TIMEOUT_S = 90


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def mlx_server(tiny_mlx_model: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Base URL (with /v1) of a running mlx_lm.server, stopped after this module."""
    port = _free_port()
    home = tmp_path_factory.mktemp("mlx-server-home")
    env = dict(os.environ, HOME=str(home), HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1")
    log = (home / "server.log").open("wb")
    command = [sys.executable, "-m", "mlx_lm", "server", "--model", str(tiny_mlx_model)]
    command += ["--host", "127.0.0.1", "--port", str(port)]
    process = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        _wait_until_healthy(process, port, home / "server.log")
        yield f"http://127.0.0.1:{port}/v1"
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


def _wait_until_healthy(process: subprocess.Popen[bytes], port: int, log: Path) -> None:
    deadline = time.monotonic() + READY_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(
                f"mlx_lm.server exited with {process.returncode}:\n{log.read_text()[-2000:]}"
            )
        try:
            if requests.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(0.2)
    pytest.fail(f"mlx_lm.server not healthy after {READY_TIMEOUT_S} s:\n{log.read_text()[-2000:]}")


@pytest.fixture
def config(mlx_server: str, tmp_path: Path) -> str:
    path = tmp_path / "config.yaml"
    path.write_text(f"providers:\n  local: {{kind: openai, base_url: '{mlx_server}'}}\n")
    return str(path)


def test_llm_run_streams_text_and_json_from_mlx_lm_server(
    config: str, tiny_mlx_model: Path
) -> None:
    model = f"local:{tiny_mlx_model}"
    args = ("--config", config, "run", "--max-tokens", "8", "-t", "0", "-m", model)
    text = run_in_process(*args, "--no-cache", "hello world")
    as_json = run_in_process(*args, "--no-cache", "--json", "hello world")
    assert text.returncode == 0, text.stderr
    assert as_json.returncode == 0, as_json.stderr
    out = json.loads(as_json.stdout)
    # Random weights say nothing sensible (often spaces), but greedy decoding says it twice.
    assert out["text"]
    assert text.stdout.decode() == out["text"] + "\n"
    # mlx_lm.server honours stream_options.include_usage: its own counts, not estimates.
    assert out["usage"]["source"] == "provider"
    assert 0 < out["usage"]["output_tokens"] <= 8
    assert out["usage"]["input_tokens"] > 2  # the chat template adds tokens to the two words
    assert out["finish_reason"] in ("length", "stop")
    assert out["engine"]["system_fingerprint"]
    assert 0 < out["timings"]["ttft_s"] <= out["timings"]["total_s"]
    assert_no_canary(text.stdout, text.stderr, as_json.stdout, as_json.stderr)


def test_llm_models_sees_the_server_as_a_local_provider(
    mlx_server: str, tiny_mlx_model: Path, tmp_path: Path
) -> None:
    # With no Hugging Face cache, GET /v1/models answers an empty body and lists nothing:
    # name the model in the config, so there is a row to be available (no vacuous all()).
    path = tmp_path / "models.yaml"
    instance = f"{{kind: openai, base_url: '{mlx_server}', models: {{simple: '{tiny_mlx_model}'}}}}"
    path.write_text(f"providers:\n  local: {instance}\n")
    config = str(path)
    result = run_in_process("--config", config, "models", "--json", "-p", "local")
    assert result.returncode == 0, result.stderr
    rows = json.loads(result.stdout)
    assert [r["name"] for r in rows] == [str(tiny_mlx_model)]
    assert all(r["available"] and r["locality"] == "local-server" for r in rows)
    offline = json.loads(
        run_in_process("--config", config, "models", "--json", "--offline", "-p", "local").stdout
    )
    assert offline and all(not r["available"] for r in offline)
