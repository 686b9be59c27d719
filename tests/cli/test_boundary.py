"""The privacy/offline boundary holds where the request leaves (issue 14.1, 14.2, 14.4).

A decision on stdin is untrusted input: every check here is made at the loopback
Anthropic double, which records each request it receives, not only in the client.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import CANARY, assert_no_canary, run_in_process
from tests.servers.anthropic import AnthropicDouble

IBAN_PROMPT = "Please wire the rent to IBAN DE89370400440532013000 today"
CLEAN_PROMPT = "Write a haiku about autumn leaves"
CLOUD = {"provider": "anthropic", "model": "claude-haiku-4-5"}


@pytest.fixture
def double() -> Iterator[AnthropicDouble]:
    with AnthropicDouble(key=CANARY) as server:
        yield server


def _config(tmp_path: Path, double: AnthropicDouble, **extra: Any) -> Path:
    path = tmp_path / "config.yaml"
    settings = {"providers": {"anthropic": {"base_url": double.url, "max_retries": 0}}, **extra}
    path.write_text(yaml.safe_dump(settings))
    return path


def _decision(prompt: str, **fields: Any) -> str:
    obj: dict[str, Any] = {
        "schema": "convergio-llm/decision/v1",
        "request": {"messages": [{"role": "user", "content": prompt}]},
        **CLOUD,
        "local_only": False,
        "fallbacks": [],
    }
    obj.update(fields)
    return json.dumps(obj)


def _sent(double: AnthropicDouble) -> list[str]:
    return [r.path for r in double.requests if r.path.endswith("/messages")]


def test_a_clean_cloud_decision_reaches_the_cloud(tmp_path: Path, double: AnthropicDouble) -> None:
    # The control for every test below: this setup does reach the double.
    config = _config(tmp_path, double)
    result = run_in_process("--config", str(config), "run", input=_decision(CLEAN_PROMPT))
    assert result.returncode == 0, result.stderr
    assert result.stdout == b"Hello there!\n"
    assert _sent(double) == ["/v1/messages"]


@pytest.mark.parametrize("flag", ["--private", "--offline"])
def test_a_piped_cloud_decision_is_refused_under_private_and_offline(
    tmp_path: Path, double: AnthropicDouble, flag: str
) -> None:
    config = _config(tmp_path, double)
    result = run_in_process(
        "--config", str(config), "run", flag, "--json", input=_decision(IBAN_PROMPT)
    )
    assert result.returncode == 3, result.stderr
    assert _sent(double) == []
    obj = json.loads(result.stdout)
    assert [(a["provider"], a["outcome"], a["error"]["type"]) for a in obj["attempts"]] == [
        ("anthropic", "refused", "BoundaryRefused")
    ]
    assert flag in obj["error"]["message"]
    stderr = result.stderr.decode()
    assert stderr.count("\n") == 1 and "refused anthropic:claude-haiku-4-5" in stderr


def test_an_edited_fallback_cannot_widen_a_local_only_decision(
    tmp_path: Path, double: AnthropicDouble
) -> None:
    config = _config(tmp_path, double)
    decision = _decision(
        CLEAN_PROMPT,
        provider="fake",
        model="fail",
        local_only=True,
        fallbacks=[CLOUD, {"provider": "fake", "model": "echo"}],
    )
    result = run_in_process("--config", str(config), "run", "--json", input=decision)
    assert result.returncode == 0, result.stderr
    assert _sent(double) == []
    obj = json.loads(result.stdout)
    assert obj["text"] == CLEAN_PROMPT
    assert [a["outcome"] for a in obj["attempts"]] == ["error", "refused", "ok"]
    assert b"trying fake:echo" in result.stderr


def test_no_allowed_target_left_is_exit_3(tmp_path: Path, double: AnthropicDouble) -> None:
    config = _config(tmp_path, double)
    decision = _decision(CLEAN_PROMPT, provider="fake", model="fail", local_only=True)
    decision = json.dumps({**json.loads(decision), "fallbacks": [CLOUD]})
    result = run_in_process("--config", str(config), "run", input=decision)
    assert result.returncode == 3
    assert _sent(double) == []
    assert result.stdout == b""


@pytest.mark.parametrize(
    ("extra", "env", "why"),
    [
        ({"privacy": {"required": True}}, {}, "privacy.required"),
        ({"offline": True}, {}, "config offline"),
        ({}, {"CONVERGIO_LLM_OFFLINE": "1"}, "CONVERGIO_LLM_OFFLINE"),
    ],
)
def test_config_and_environment_boundaries_hold_for_piped_decisions(
    tmp_path: Path, double: AnthropicDouble, extra: dict[str, Any], env: dict[str, str], why: str
) -> None:
    config = _config(tmp_path, double, **extra)
    result = run_in_process("--config", str(config), "run", input=_decision(CLEAN_PROMPT), env=env)
    assert result.returncode == 3
    assert _sent(double) == []
    assert why in result.stderr.decode()


def test_private_data_in_a_piped_cloud_decision_falls_back_to_local(
    tmp_path: Path, double: AnthropicDouble
) -> None:
    config = _config(tmp_path, double)
    decision = _decision(IBAN_PROMPT, fallbacks=[{"provider": "fake", "model": "echo"}])
    result = run_in_process("--config", str(config), "run", input=decision)
    assert result.returncode == 0, result.stderr
    assert _sent(double) == []
    assert result.stdout.decode() == IBAN_PROMPT + "\n"
    assert b"private data (iban)" in result.stderr


def test_private_data_in_the_system_prompt_and_history_is_scanned(
    tmp_path: Path, double: AnthropicDouble
) -> None:
    config = _config(tmp_path, double)
    messages = [
        {"role": "system", "content": "Customer account: IBAN GB82 WEST 1234 5698 7654 32"},
        {"role": "user", "content": "hello"},
        {"role": "assistant", "content": "Hi! My number is (415) 555-0132 if needed."},
        {"role": "user", "content": CLEAN_PROMPT},
    ]
    request = {"messages": messages}
    decision = json.dumps({**json.loads(_decision(CLEAN_PROMPT)), "request": request})
    result = run_in_process("--config", str(config), "run", input=decision)
    assert result.returncode == 3
    assert _sent(double) == []
    assert b"iban" in result.stderr


@pytest.mark.parametrize(
    "args",
    [
        ["--no-private"],
        ["-m", "anthropic:claude-haiku-4-5"],
    ],
)
def test_an_explicit_cloud_choice_sends_with_a_one_line_notice(
    tmp_path: Path, double: AnthropicDouble, args: list[str]
) -> None:
    config = _config(tmp_path, double)
    stdin = _decision(IBAN_PROMPT) if args == ["--no-private"] else IBAN_PROMPT
    result = run_in_process("--config", str(config), "run", *args, input=stdin)
    assert result.returncode == 0, result.stderr
    assert _sent(double) == ["/v1/messages"]
    lines = result.stderr.decode().splitlines()
    assert len(lines) == 1
    assert "iban" in lines[0] and "anyway" in lines[0]
    assert_no_canary(result.stdout, result.stderr)


def test_auto_detect_off_sends_without_a_scan(tmp_path: Path, double: AnthropicDouble) -> None:
    config = _config(tmp_path, double, privacy={"auto_detect": False})
    result = run_in_process("--config", str(config), "run", input=_decision(IBAN_PROMPT))
    assert result.returncode == 0, result.stderr
    assert _sent(double) == ["/v1/messages"]
    assert result.stderr == b""
