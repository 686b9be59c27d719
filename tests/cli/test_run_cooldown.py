"""A provider that asked for a pause is left alone by the next process too (routing/cooldown.py)."""

from __future__ import annotations

import json
from pathlib import Path

from convergio_llm.routing.cooldown import cooldown_file, read
from tests.cli.test_run_concurrency import config_for, prompts, run
from tests.conftest import run_llm
from tests.servers.openai import rate_limited
from tests.servers.openai_gated import EchoServer


def write_config(path: Path, config: dict[str, object]) -> str:
    path.write_text(json.dumps(config))  # JSON is YAML
    return str(path)


def test_a_429_with_retry_after_is_honoured_by_a_second_process(tmp_path: Path) -> None:
    with EchoServer() as server:
        config = config_for(server)
        # 120 s is over max_retry_wait: the call fails at once and the provider is marked.
        server.failures.append(rate_limited(retry_after=120))
        status, out, _ = run(config, prompts(1), concurrency=1)
        assert status == 5 and out[0]["error"]["type"] == "ExecutionFailed"
        marked = read(cooldown_file())
        assert set(marked) == {"vllm"} and "retry-after 120" in marked["vllm"].reason
        calls = len(server.requests)

        path = write_config(tmp_path / "config.yaml", config)
        again = run_llm("--config", path, "run", "-m", "vllm:m", input="hello")
        assert again.returncode == 5
        assert b"cooling down until" in again.stderr and b"retry-after 120" in again.stderr
        assert len(server.requests) == calls  # the second process never called it

        # A piped decision with a fallback moves on at once, saying why.
        decision = {
            "schema": "convergio-llm/decision/v1",
            "request": {"messages": [{"role": "user", "content": "fall back"}]},
            "provider": "vllm",
            "model": "m",
            "fallbacks": [{"provider": "fake", "model": "echo"}],
        }
        piped = run_llm("--config", path, "run", "--json", input=json.dumps(decision))
        assert piped.returncode == 0, piped.stderr
        answer = json.loads(piped.stdout)
        assert answer["text"] == "fall back"
        first = answer["attempts"][0]
        assert first["error"]["type"] == "CoolingDown" and first["provider"] == "vllm"
        assert len(server.requests) == calls

        # --no-cooldown ignores the file.
        status, out, _ = run(config, prompts(1), concurrency=1, use_cooldown=False)
        assert status == 0 and out[0]["text"] == "answer 0"
        assert len(server.requests) == calls + 1


def test_after_the_first_429_later_lines_are_refused_without_a_call() -> None:
    with EchoServer() as server:
        server.failures.append(rate_limited(retry_after=300))
        status, out, _ = run(config_for(server), prompts(6), concurrency=1)
    assert len(server.requests) == 1
    assert status == 5
    assert all(o["schema"] == "convergio-llm/error/v1" for o in out)
    assert all("cooling down until" in o["error"]["message"] for o in out[1:])


def test_llm_models_shows_a_provider_cooling_down() -> None:
    import io

    from convergio_llm.cli.context import Environment
    from convergio_llm.cli.models_impl import list_models
    from convergio_llm.routing.cooldown import Cooldown, write

    write(cooldown_file(), [Cooldown("fake", 4_000_000_000.0, "529 overloaded")])
    for json_out in (True, False):
        env = Environment(stdout=io.StringIO(), environ={})
        list_models(
            env, json_out=json_out, offline=True, only=["fake", "ollama"], available_only=False
        )
        text = env.stdout.getvalue()  # type: ignore[attr-defined]
        if json_out:
            rows = json.loads(text)
            fake = [r["cooling_down"] for r in rows if r["provider"] == "fake"]
            assert fake and all(c["reason"] == "529 overloaded" for c in fake)
            assert all(r["cooling_down"] is None for r in rows if r["provider"] == "ollama")
        else:
            assert "cooling down until 2096-" in text and "(529 overloaded)" in text
