"""The same user-level tests for every backend that has a wire double: `llm run` through the
real entry point (a subprocess), the real SDK inside it, the double on loopback.

Each backend is pointed at its double by a config file (`providers: {<name>: {base_url}}`),
as a user would point it at a proxy. The canary key must never reach any output.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from convergio_llm.providers.anthropic import AnthropicProvider
from convergio_llm.providers.azure import AzureOpenAIProvider
from convergio_llm.providers.base import Provider, Request, Usage
from convergio_llm.providers.errors import (
    Overloaded,
    ProviderError,
    ProviderTimeout,
    ProviderUnavailable,
    RateLimited,
    ServerError,
    StreamInterrupted,
)
from convergio_llm.providers.google import GoogleProvider
from convergio_llm.providers.ollama import OllamaProvider
from convergio_llm.providers.openai import OpenAIProvider
from tests.conftest import CANARY, assert_no_canary, run_in_process
from tests.servers.anthropic import AnthropicDouble
from tests.servers.azure import AzureDouble
from tests.servers.base import Fault, LoopbackServer
from tests.servers.google import GeminiDouble
from tests.servers.ollama import DEFAULT_REPLY as OLLAMA_REPLY
from tests.servers.ollama import OllamaServer, not_found_message
from tests.servers.openai import DEFAULT_REPLY as OPENAI_REPLY
from tests.servers.openai import OpenAIServer, openai_error, rate_limited, server_error

SDKS = ("anthropic", "google.genai", "openai")
# Enough queued failures to outlast every retry (config below allows one).
TIMES = 3


@dataclass(frozen=True)
class Backend:
    name: str
    model: str
    reply: str
    sdk: str | None  # the vendor SDK this backend imports, if any
    make: Callable[[], LoopbackServer]
    settings: Callable[[Any], dict[str, Any]]
    fail: Callable[[Any, str], None]  # kind: auth | not_found | rate_limit | server
    slow: Callable[[Any, float], None]  # a delay between streamed pieces


def _fail_queued(double: Any, kind: str) -> None:
    double.fail(kind, times=TIMES)


def _slow_reply(double: Any, seconds: float) -> None:
    double.reply.delay = seconds


def _openai_fail(double: OpenAIServer, kind: str) -> None:
    if kind == "auth":
        double.api_key = "sk-some-other-key-0000"
        return
    make = {
        "not_found": lambda: openai_error(404, "The model does not exist", code="model_not_found"),
        "rate_limit": lambda: rate_limited(0.001),
        "server": server_error,
    }[kind]
    double.failures.extend(make() for _ in range(TIMES))


def _ollama_fail(double: OllamaServer, kind: str) -> None:
    status = {"auth": 401, "not_found": 404, "rate_limit": 429, "server": 500}[kind]
    message = not_found_message("llama3.2:3b") if kind == "not_found" else "failed"
    double.fail_before = (status, message)


def _token_delay(double: Any, seconds: float) -> None:
    double.token_delay_s = seconds


BACKENDS = [
    Backend(
        "anthropic",
        "claude-haiku-4-5",
        "Hello there!",
        "anthropic",
        lambda: AnthropicDouble(key=CANARY),
        lambda d: {"base_url": d.url},
        _fail_queued,
        _slow_reply,
    ),
    Backend(
        "google",
        "gemini-2.5-flash",
        "Hello there!",
        "google.genai",
        lambda: GeminiDouble(key=CANARY),
        lambda d: {"base_url": d.url},
        _fail_queued,
        _slow_reply,
    ),
    Backend(
        "azure",
        "gpt-5-mini",
        "Hello there!",
        "openai",
        AzureDouble,
        lambda d: {"base_url": d.url, "api_version": "2024-10-21"},
        _fail_queued,
        _token_delay,
    ),
    Backend(
        "openai",
        "gpt-5-mini",
        OPENAI_REPLY,
        "openai",
        OpenAIServer,
        lambda d: {"base_url": d.url + "/v1"},
        _openai_fail,
        _token_delay,
    ),
    Backend(
        "ollama",
        "llama3.2:3b",
        OLLAMA_REPLY,
        None,
        OllamaServer,
        lambda d: {"host": d.url},
        _ollama_fail,
        _token_delay,
    ),
]


@dataclass
class Running:
    backend: Backend
    double: Any
    config: Path

    def run(self, *args: str, input: str = "hi") -> subprocess.CompletedProcess[bytes]:
        ref = f"{self.backend.name}:{self.backend.model}"
        env = {"OLLAMA_HOST": self.double.url} if self.backend.name == "ollama" else {}
        return run_in_process(
            "--config", str(self.config), "run", "-m", ref, *args, input=input, env=env
        )


@pytest.fixture(params=BACKENDS, ids=[b.name for b in BACKENDS])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Running]:
    spec: Backend = request.param
    with spec.make() as double:
        settings = {**spec.settings(double), "max_retries": 1}
        config = tmp_path / "config.yaml"
        config.write_text(yaml.safe_dump({"providers": {spec.name: settings}}))
        yield Running(spec, double, config)


def test_json_answer_has_text_provider_usage_and_timings(backend: Running) -> None:
    result = backend.run("--json")
    assert_no_canary(result.stdout, result.stderr)
    assert result.returncode == 0, result.stderr.decode()
    answer = json.loads(result.stdout)
    assert answer["text"] == backend.backend.reply
    assert answer["provider"] == backend.backend.name
    assert answer["usage"]["source"] == "provider" and answer["usage"]["input_tokens"] > 0
    timings = answer["timings"]
    assert 0 < timings["ttft_s"] <= timings["total_s"]


def test_text_mode_streams_each_piece_as_it_arrives(backend: Running) -> None:
    backend.backend.slow(backend.double, 0.3)
    ref = f"{backend.backend.name}:{backend.backend.model}"
    env = dict(os.environ)
    if backend.backend.name == "ollama":
        env["OLLAMA_HOST"] = backend.double.url
    command = [sys.executable, "-m", "convergio_llm.cli", "--config", str(backend.config)]
    process = subprocess.Popen(
        [*command, "run", "-m", ref, "hi"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
    )
    assert process.stdout is not None
    first = os.read(process.stdout.fileno(), 1)  # blocks until the first piece is written
    still_running = process.poll() is None
    rest, err = process.communicate(timeout=60)
    assert first and still_running, "the first piece came only when the answer was complete"
    assert (first + rest).decode() == backend.backend.reply + "\n"
    assert_no_canary(first, rest, err)


ERRORS = [("auth", 6), ("not_found", 2), ("rate_limit", 5), ("server", 5)]
# Every backend meets every error it can produce; a local Ollama takes no key, so no "auth".
ERROR_CASES = [
    pytest.param(spec, kind, status, id=f"{spec.name}-{kind}-{status}")
    for spec in BACKENDS
    for kind, status in ERRORS
    if not (spec.name == "ollama" and kind == "auth")
]


@pytest.mark.parametrize(("backend", "kind", "status"), ERROR_CASES, indirect=["backend"])
def test_errors_exit_with_their_status_and_one_error_line(
    backend: Running, kind: str, status: int
) -> None:
    backend.backend.fail(backend.double, kind)
    result = backend.run("--json")
    assert_no_canary(result.stdout, result.stderr)
    assert result.returncode == status, result.stderr.decode()
    lines = result.stderr.decode().splitlines()
    assert lines and all(line.startswith("llm: ") for line in lines), lines  # no traceback
    assert [line for line in lines if "retrying" not in line] == [lines[-1]]
    assert "error" in lines[-1]


@pytest.mark.parametrize("name", ["anthropic", "google", "azure"])
def test_an_error_body_echoing_the_key_never_reaches_the_output(name: str, tmp_path: Path) -> None:
    spec = next(b for b in BACKENDS if b.name == name)
    with spec.make() as double:
        double.fail("auth", message=f"invalid key {CANARY}", times=TIMES)
        config = tmp_path / "config.yaml"
        config.write_text(yaml.safe_dump({"providers": {name: spec.settings(double)}}))
        for mode in ("--json", "--jsonl"):
            stdin = '{"prompt": "hi"}\n' if mode == "--jsonl" else "hi"
            ref = f"{name}:{spec.model}"
            result = run_in_process("--config", str(config), "run", "-m", ref, mode, input=stdin)
            assert result.returncode == 6
            assert_no_canary(result.stdout, result.stderr)


def test_a_missing_key_names_the_variable_and_exits_6(tmp_path: Path) -> None:
    env = {"ANTHROPIC_API_KEY": ""}
    result = run_in_process("run", "-m", "anthropic:claude-haiku-4-5", input="hi", env=env)
    assert result.returncode == 6
    assert b"ANTHROPIC_API_KEY" in result.stderr


def test_models_lists_cloud_models_unavailable_with_the_variable_to_set() -> None:
    env = dict.fromkeys(("ANTHROPIC_API_KEY", "GEMINI_API_KEY", "GOOGLE_API_KEY"), "")
    env |= {"AZURE_OPENAI_API_KEY": "", "AZURE_OPENAI_ENDPOINT": ""}
    result = run_in_process("models", "--json", "--offline", env=env)
    assert result.returncode == 0, result.stderr.decode()
    rows = {(r["provider"], r["name"]): r for r in json.loads(result.stdout)}
    wanted = {
        ("anthropic", "claude-opus-4-5"): "ANTHROPIC_API_KEY",
        ("google", "gemini-3.1-pro-preview"): "GEMINI_API_KEY",
        ("azure", "gpt-5-mini"): "AZURE_OPENAI_ENDPOINT",
    }
    for key, variable in wanted.items():
        assert rows[key]["available"] is False and variable in rows[key]["reason"]


_PROBE = textwrap.dedent(
    """
    import json, runpy, sys
    sdks = {sdks!r}
    if sys.argv[1] == "import":
        import convergio_llm.cli.main
    else:
        sys.argv = ["llm", *sys.argv[1:]]
        try:
            runpy.run_module("convergio_llm.cli", run_name="__main__")
        except SystemExit:
            pass
    with open({out!r}, "w") as f:
        json.dump(sorted(m for m in sdks if m in sys.modules), f)
    """
)


def _sdks_loaded(tmp_path: Path, *args: str, env: dict[str, str] | None = None) -> list[str]:
    out = tmp_path / f"loaded-{time.monotonic_ns()}.json"
    script = _PROBE.format(sdks=SDKS, out=str(out))
    subprocess.run(
        [sys.executable, "-c", script, *args],
        input=b"hi",
        capture_output=True,
        env={**os.environ, **(env or {})},
        timeout=120,
        check=False,
    )
    loaded: list[str] = json.loads(out.read_text())
    return loaded


def test_importing_the_cli_imports_no_sdk(tmp_path: Path) -> None:
    assert _sdks_loaded(tmp_path, "import") == []


@pytest.mark.parametrize("name", ["anthropic", "google", "azure"])
def test_a_run_imports_only_its_own_sdk(name: str, tmp_path: Path) -> None:
    spec = next(b for b in BACKENDS if b.name == name)
    with spec.make() as double:
        config = tmp_path / "config.yaml"
        config.write_text(yaml.safe_dump({"providers": {name: spec.settings(double)}}))
        ref = f"{name}:{spec.model}"
        loaded = _sdks_loaded(tmp_path, "--config", str(config), "run", "-m", ref)
    assert loaded == [spec.sdk]


# -- the fault table: every fault, every backend, in-process (the real SDK, the double) ------

PROVIDERS: dict[str, Callable[..., Provider]] = {
    "anthropic": AnthropicProvider,
    "google": GoogleProvider,
    "azure": AzureOpenAIProvider,
    "openai": OpenAIProvider,
    "ollama": OllamaProvider,
}
# A stream record index relative to the double's first text record, or from its end.
BEFORE_TEXT, AFTER_TEXT, WITHOUT_FINAL = "before", "after", "final"


@dataclass(frozen=True)
class Case:
    fault: str
    status: int = 500
    at: str | None = None
    retry_after: float | None = None
    error: type[ProviderError] | None = None  # None: the answer arrives whole after a retry
    exit: int = 5


FAULT_TABLE = {
    "refused": Case("refused", error=ProviderUnavailable, exit=3),
    "reset-before-text": Case("reset", at=BEFORE_TEXT, error=ServerError),
    "reset-mid-stream": Case("reset", at=AFTER_TEXT, error=StreamInterrupted),
    "hang": Case("hang", error=ProviderTimeout),
    "429-short-retry-after": Case("status", 429, retry_after=0.01),
    "429-long-retry-after": Case("status", 429, retry_after=3600, error=RateLimited),
    "500": Case("status", 500, error=ServerError),
    "502": Case("status", 502, error=ServerError),
    "503": Case("status", 503, error=Overloaded),
    "529": Case("status", 529, error=Overloaded),
    "html-body": Case("html", error=ServerError),
    "empty-body": Case("empty_body", error=ServerError),
    "malformed-before-text": Case("malformed", at=BEFORE_TEXT, error=ServerError),
    "malformed-after-text": Case("malformed", at=AFTER_TEXT, error=StreamInterrupted),
    "no-final-event": Case("cut", at=WITHOUT_FINAL, error=StreamInterrupted),
    "empty-stream": Case("cut", error=ServerError),
    "json-body-to-a-stream": Case("json_body", error=ServerError),
    "oversized-error-body": Case("oversized", 502, error=ServerError),
}


def _fault(case: Case, double: LoopbackServer) -> Fault:
    at = {
        None: 0,
        BEFORE_TEXT: double.first_text,
        AFTER_TEXT: double.first_text + 1,
        WITHOUT_FINAL: -double.final_records,
    }[case.at]
    return Fault(case.fault, case.status, at, case.retry_after)


@pytest.mark.parametrize("case", FAULT_TABLE.values(), ids=FAULT_TABLE.keys())
@pytest.mark.parametrize("spec", BACKENDS, ids=[b.name for b in BACKENDS])
def test_every_fault_ends_the_same_way_on_every_backend(
    spec: Backend, case: Case, capsys: pytest.CaptureFixture[str]
) -> None:
    from convergio_llm.cli.exit_status import status_for

    with spec.make() as double:
        settings = {**spec.settings(double), "max_retries": 1, "read_timeout": 1.0}
        if case.fault == "refused":
            double.stop()  # nothing listens on the port any more
        else:
            # Twice when it must fail: the one retry allowed meets the same fault.
            double.faults += [_fault(case, double)] * (1 if case.error is None else 2)
        provider = PROVIDERS[spec.name](spec.name, settings)
        seen: list[str] = []
        try:
            for item in provider.stream(Request.from_prompt("hi"), spec.model):
                seen.append(item.text)
        except ProviderError as exc:
            error: ProviderError | None = exc
        else:
            error = None
        finally:
            provider.close()
    err = capsys.readouterr().err
    assert_no_canary(str(error).encode(), err.encode())
    if case.error is None:
        assert error is None and seen[-1] == spec.reply and "retrying" in err
        return
    assert type(error) is case.error, f"{type(error).__name__}: {error}"
    assert int(status_for(error)) == case.exit
    message = str(error)
    assert "\n" not in message and len(message) <= 420, message
    if case.fault == "hang":
        assert "waiting for" in err and "read_timeout" in err  # said while it waited
    if isinstance(error, StreamInterrupted):
        assert error.text and spec.reply.startswith(error.text)
        assert isinstance(error.usage, Usage) and error.usage.output_tokens > 0


def test_a_stream_cut_mid_way_keeps_the_reported_usage_in_the_ledger(tmp_path: Path) -> None:
    import sqlite3

    from convergio_llm.routing.ledger import ledger_path

    spec = next(b for b in BACKENDS if b.name == "anthropic")
    with spec.make() as double:
        double.faults.append(Fault("reset", at=double.first_text + 1))
        config = tmp_path / "config.yaml"
        # A proxy's base_url is unpriced unless the config says what it costs.
        price = {"input_per_mtok": 1.0, "output_per_mtok": 5.0}
        settings = {
            "providers": {"anthropic": spec.settings(double)},
            "prices": {f"anthropic:{spec.model}": price},
        }
        config.write_text(yaml.safe_dump(settings))
        result = run_in_process(
            "--config", str(config), "run", "-m", f"anthropic:{spec.model}", "hi"
        )
    assert result.returncode == 5, result.stderr.decode()
    assert result.stdout.decode().startswith("Hello")
    db = sqlite3.connect(ledger_path())
    sql = "SELECT outcome, error_type, input_tokens, cost_nusd FROM attempts"
    rows = db.execute(sql).fetchall()
    db.close()
    # message_start had reported the 12 input tokens: billed, so counted, not 0 and $0.
    [(outcome, error_type, input_tokens, cost_nusd)] = rows
    assert (outcome, error_type, input_tokens) == ("error", "StreamInterrupted", 12)
    assert cost_nusd > 0


def test_a_password_in_a_base_url_never_reaches_the_output(tmp_path: Path) -> None:
    with LoopbackServer() as closed:
        port = closed.port  # nothing listens once it stops
    url = f"http://user:S3cretPassw0rd@127.0.0.1:{port}/v1"
    config = tmp_path / "config.yaml"
    config.write_text(yaml.safe_dump({"providers": {"vllm": {"kind": "openai", "base_url": url}}}))
    for args in (("run", "-m", "vllm:any", "hi"), ("models", "-p", "vllm")):
        result = run_in_process("--config", str(config), *args)
        out = result.stdout + result.stderr
        assert b"S3cretPassw0rd" not in out, out
        assert_no_canary(result.stdout, result.stderr)
    assert result.returncode == 0 and b"vllm" in result.stdout
