"""`llm route`: stdin in, one decision per request out, --explain on stderr, and
`llm route | llm run` executing the decision (in-process) — with the privacy guarantee
watched in real subprocesses, where a connection attempt can be seen."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import assert_no_canary, llm, run_llm, site_hooks

COMPLEX = (
    "Implement a thread-safe LRU cache in Java with O(1) get and put, explain your locking "
    "strategy, and write unit tests that must cover eviction and concurrent access."
)


def write_config(tmp_path: Path, text: str) -> dict[str, str]:
    path = tmp_path / "config.yaml"
    path.write_text(text)
    return {"CONVERGIO_LLM_CONFIG": str(path)}


def decisions(stdout: bytes | str) -> list[dict[str, Any]]:
    text = stdout.decode() if isinstance(stdout, bytes) else stdout
    return [json.loads(line) for line in text.splitlines()]


def test_route_prints_one_decision_and_explains_on_stderr(tmp_path: Path) -> None:
    env = write_config(tmp_path, "tiers: {simple: 'fake:echo'}\n")
    result = llm("route", "--explain", stdin="What is the capital of France?\n", env=env)
    assert result.code == 0, result.stderr
    [decision] = decisions(result.stdout)
    assert decision["schema"] == "convergio-llm/decision/v1"
    assert (decision["provider"], decision["model"]) == ("fake", "echo")
    assert [t["rule"] for t in decision["trace"]] == [
        "privacy", "offline", "budget", "platform", "complexity", "quality"
    ]  # fmt: skip
    stderr = result.stderr
    assert "→ fake:echo" in stderr and "complexity" in stderr and "would cost" in stderr
    assert_no_canary(result.stdout, result.stderr)


def test_route_jsonl_keeps_ids_and_reports_bad_lines(tmp_path: Path) -> None:
    env = write_config(tmp_path, "tiers: {simple: 'fake:echo'}\n")
    lines = '{"id": "a", "prompt": "hi"}\nnot json\n{"prompt": "my ip is 10.1.2.3"}\n'
    result = llm("route", "--jsonl", stdin=lines, env=env)
    out = decisions(result.stdout)
    assert [o.get("id") for o in out] == ["a", "2", "3"]
    assert out[1]["schema"] == "convergio-llm/error/v1"
    assert out[2]["local_only"] is True and "ip-address" in out[2]["reason"]
    assert result.code == 2


def test_bad_profile_is_a_usage_error() -> None:
    result = llm("route", "--profile", "gold", stdin="hi")
    assert result.code == 2
    err = result.stderr
    assert "'gold' is not one of 'free', 'pro', 'enterprise'" in err and "Traceback" not in err
    assert len(err.splitlines()) == 1


def test_route_pipes_into_run(tmp_path: Path) -> None:
    env = write_config(tmp_path, "tiers: {simple: 'fake:echo'}\n")
    routed = llm("route", "--explain", stdin="hello there friend", env=env)
    ran = llm("run", stdin=routed.stdout, env=env)
    assert ran.code == 0, ran.stderr
    assert ran.stdout.strip() == "hello there friend"


SITECUSTOMIZE = """
import ipaddress, os, sys

_LOG = os.environ["CONNECT_LOG"]

def _local(host):
    if host in ("localhost", ""):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False

def _hook(event, args):
    if event == "socket.connect":
        address = args[1]
        if isinstance(address, tuple) and not _local(str(address[0])):
            with open(_LOG, "a") as f:
                f.write(f"connect {address[0]}:{address[1]}\\n")
            raise PermissionError("non-loopback connection refused by the test")
    elif event == "socket.getaddrinfo" and not _local(str(args[0])):
        with open(_LOG, "a") as f:
            f.write(f"resolve {args[0]}\\n")
        raise PermissionError("name lookup refused by the test")

sys.addaudithook(_hook)
"""


@pytest.mark.parametrize(
    ("flags", "prompt"),
    [
        (["--private"], COMPLEX),
        (["--offline"], COMPLEX),
        ([], COMPLEX + " Send the result to maria.rossi@example.org."),
    ],
)
def test_privacy_guarantee_no_connection_leaves_loopback(
    tmp_path: Path, flags: list[str], prompt: str
) -> None:
    """Cloud keys are set and the prompt is complex, so only privacy/offline keep it local.
    The local engine fails ('fail' model), the fallbacks run, and no socket leaves loopback."""
    hook = tmp_path / "connect_watch.py"
    hook.write_text(SITECUSTOMIZE)
    log = tmp_path / "connects.log"
    config = (
        "tiers: {simple: 'fake:fail'}\n"
        "providers: {backup: {kind: fake}}\n"
        "routing: {local_preference: [backup]}\n"
    )
    env = write_config(tmp_path, config)
    env.update({**site_hooks(hook), "CONNECT_LOG": str(log)})
    env.pop("CONVERGIO_LLM_OFFLINE", None)
    routed = run_llm("route", *flags, input=prompt, env=env)
    assert routed.returncode == 0, routed.stderr
    [decision] = decisions(routed.stdout)
    assert decision["local_only"] is True
    ran = run_llm("run", "--json", "--max-tokens", "4", input=routed.stdout, env=env)
    assert not log.exists(), log.read_text()
    result = json.loads(ran.stdout)
    attempts = result["attempts"]
    assert attempts[0]["provider"] == "fake" and attempts[0]["outcome"] == "error"
    # The next local target answered: the embedded engine when it is installed, else backup.
    assert attempts[-1]["outcome"] == "ok"
    assert {a["provider"] for a in attempts} <= {"fake", "llamacpp", "backup", "ollama", "mlx"}


def test_watcher_itself_catches_a_cloud_connection(tmp_path: Path) -> None:
    """The guard above is only worth something if it fires: a direct connect is recorded."""
    hook = tmp_path / "connect_watch.py"
    hook.write_text(SITECUSTOMIZE)
    log = tmp_path / "connects.log"
    import subprocess

    code = (
        "import socket\ntry:\n    socket.create_connection(('192.0.2.1', 443), 0.1)\n"
        "except OSError: pass"
    )
    env = {**os.environ, **site_hooks(hook), "CONNECT_LOG": str(log)}
    subprocess.run([sys.executable, "-c", code], env=env, check=True)
    assert "192.0.2.1" in log.read_text()
