"""The OpenAI backend: the real openai SDK against the loopback OpenAI double, and through `llm`."""

from __future__ import annotations

import json
import socket
from pathlib import Path
from typing import Any

import pytest

from convergio_llm.providers.base import Chunk, Completion, Request
from convergio_llm.providers.errors import (
    AuthenticationError,
    BadRequest,
    ContentFiltered,
    ContextTooLong,
    ModelNotFound,
    ProviderTimeout,
    ProviderUnavailable,
    RateLimited,
    ServerError,
    StreamInterrupted,
)
from convergio_llm.providers.openai import OpenAIProvider
from tests.conftest import CANARY, assert_no_canary, run_in_process
from tests.servers.base import Response, sse
from tests.servers.openai import (
    DEFAULT_REPLY,
    OpenAIServer,
    context_too_long,
    openai_error,
    openai_server,
    rate_limited,
    server_error,
)

__all__ = ["openai_server"]  # the fixture, imported so pytest finds it
WORDS = DEFAULT_REPLY.split()


def compatible(server: OpenAIServer, **settings: Any) -> OpenAIProvider:
    return OpenAIProvider("vllm", {"base_url": server.url + "/v1", **settings})


def collect(provider: OpenAIProvider, request: Request, model: str) -> tuple[list[str], Completion]:
    items = list(provider.stream(request, model))
    assert isinstance(items[-1], Completion)
    chunks = [i.text for i in items[:-1] if isinstance(i, Chunk)]
    assert len(chunks) == len(items) - 1
    return chunks, items[-1]


def test_stream_yields_text_and_the_servers_usage() -> None:
    with OpenAIServer() as server:
        server.cached_tokens, server.reasoning_tokens = 64, 5
        chunks, done = collect(compatible(server), Request.from_prompt("say hello"), "gpt-5-mini")
        sent = server.requests[-1]
    assert chunks == [WORDS[0]] + [" " + w for w in WORDS[1:]]
    assert done.text == DEFAULT_REPLY
    assert done.finish_reason == "stop"
    assert done.usage.source == "provider"
    assert done.usage.input_tokens == len(["say", "hello"]) + 3 + 64
    assert done.usage.cached_input_tokens == 64
    assert done.usage.output_tokens == len(WORDS) + 5
    assert done.usage.reasoning_tokens == 5
    assert done.raw_stats["system_fingerprint"] == "fp_560af6e559"
    assert done.raw_stats["id"].startswith("chatcmpl-")
    assert sent.headers["authorization"] == f"Bearer {CANARY}"
    body = sent.json()
    assert body["stream"] is True
    assert body["stream_options"] == {"include_usage": True}
    assert "temperature" not in body and "max_tokens" not in body and "seed" not in body


def test_parameters_use_max_tokens_for_compatible_servers() -> None:
    request = Request.from_prompt("hi", max_tokens=3, temperature=0.5, seed=1, stop=("\n",))
    with OpenAIServer() as server:
        chunks, done = collect(compatible(server), request, "gpt-5-mini")
        body = server.requests[-1].json()
    assert (body["max_tokens"], body["temperature"], body["seed"], body["stop"]) == (
        3,
        0.5,
        1,
        ["\n"],
    )
    assert "max_completion_tokens" not in body
    assert len(chunks) == 3
    assert done.finish_reason == "length"


def test_official_openai_gets_max_completion_tokens(monkeypatch: pytest.MonkeyPatch) -> None:
    with OpenAIServer() as server:
        provider = OpenAIProvider()
        assert provider.official and provider.locality == "cloud"
        provider.base_url = server.url + "/v1"  # the real endpoint, redirected to the double
        collect(provider, Request.from_prompt("hi", max_tokens=4), "gpt-5.2")
        body = server.requests[-1].json()
    assert body["max_completion_tokens"] == 4
    assert "max_tokens" not in body


def test_no_usage_from_the_server_is_estimated_not_counted() -> None:
    with OpenAIServer() as server:
        server.send_usage = False
        chunks, done = collect(compatible(server), Request.from_prompt("hi"), "gpt-5-mini")
    assert done.usage.source == "estimated"
    assert done.usage.output_tokens == (len(DEFAULT_REPLY) + 3) // 4  # ~4 characters a token
    assert done.usage.output_tokens != len(chunks)


class FilteringServer(OpenAIServer):
    """Azure-style: an empty-choices chunk first, and an SSE comment line."""

    def first_chunks(self, model: str) -> list[dict[str, Any]]:
        return [
            {
                "id": "",
                "object": "",
                "created": 0,
                "model": "",
                "choices": [],
                "prompt_filter_results": [],
            }
        ]


def test_empty_choices_and_comment_lines_are_skipped() -> None:
    with FilteringServer() as server:
        server.keepalive_comment = True
        chunks, done = collect(compatible(server), Request.from_prompt("hi"), "gpt-5-mini")
    assert "".join(chunks) == DEFAULT_REPLY
    assert done.usage.source == "provider"


@pytest.mark.parametrize(
    ("failure", "error"),
    [
        (openai_error(404, "The model `x` does not exist", code="model_not_found"), ModelNotFound),
        (context_too_long(), ContextTooLong),
        (openai_error(400, "filtered", code="content_filter", param="prompt"), ContentFiltered),
        (
            openai_error(400, "Unsupported value: 'temperature'", code="unsupported_value"),
            BadRequest,
        ),
        (openai_error(403, "Project does not have access"), AuthenticationError),
        (server_error(), ServerError),
        (rate_limited(retry_after=None), RateLimited),
    ],
)
def test_http_errors_map_to_the_tree(failure: Response, error: type[Exception]) -> None:
    with OpenAIServer() as server:
        server.failures.append(failure)
        provider = compatible(server, max_retries=0)
        with pytest.raises(error) as info:
            list(provider.stream(Request.from_prompt("hi"), "gpt-5-mini"))
    assert type(info.value) is error
    assert json.loads(failure.body or b"")["error"]["message"] in str(info.value)


def test_rejected_key_is_an_authentication_error_that_never_shows_the_key() -> None:
    with (
        OpenAIServer(api_key="sk-the-right-key-0000") as server,
        pytest.raises(AuthenticationError) as info,
    ):
        list(compatible(server).stream(Request.from_prompt("hi"), "gpt-5-mini"))
    assert "Incorrect API key" in str(info.value)
    assert "sk-can" in str(info.value)  # the masked prefix the server echoed, cut short
    assert_no_canary(str(info.value))
    assert "4b2d" not in str(info.value)


def test_rate_limit_is_retried_with_a_notice_on_stderr(capsys: pytest.CaptureFixture[str]) -> None:
    with OpenAIServer() as server:
        server.failures += [rate_limited(0.05), server_error()]
        _, done = collect(compatible(server), Request.from_prompt("hi"), "gpt-5-mini")
        tries = len(server.requests)
    assert done.text == DEFAULT_REPLY
    assert tries == 3
    notices = capsys.readouterr().err.splitlines()
    assert len(notices) == 2
    assert "Rate limit reached" in notices[0] and "retrying in 0.05 s (retry 1 of 2)" in notices[0]
    assert "retrying in" in notices[1] and "(retry 2 of 2)" in notices[1]


def test_a_long_retry_after_fails_at_once_instead_of_hanging() -> None:
    with OpenAIServer() as server:
        server.failures.append(rate_limited(600))
        with pytest.raises(RateLimited) as info:
            list(compatible(server).stream(Request.from_prompt("hi"), "gpt-5-mini"))
        tries = len(server.requests)
    assert tries == 1
    assert info.value.retry_after == 600
    assert "retry after 600 s" in str(info.value)


def test_retries_are_bounded() -> None:
    with OpenAIServer() as server:
        server.failures += [rate_limited(0.01)] * 5
        with pytest.raises(RateLimited):
            list(compatible(server, max_retries=2).stream(Request.from_prompt("hi"), "gpt-5-mini"))
        assert len(server.requests) == 3


def test_error_record_after_text_is_stream_interrupted() -> None:
    with OpenAIServer() as server:
        server.mid_stream_error = {
            "message": "overloaded",
            "type": "server_error",
            "param": None,
            "code": None,
        }
        server.mid_stream_after = 2
        received: list[str] = []
        with pytest.raises(StreamInterrupted, match="overloaded"):
            for item in compatible(server).stream(Request.from_prompt("hi"), "gpt-5-mini"):
                assert isinstance(item, Chunk)
                received.append(item.text)
    assert received == [WORDS[0], " " + WORDS[1]]


def test_error_record_before_text_is_not_an_interruption() -> None:
    with OpenAIServer() as server:
        server.mid_stream_error = {
            "message": "boom",
            "type": "server_error",
            "param": None,
            "code": None,
        }
        server.mid_stream_after = 0
        with pytest.raises(ServerError) as info:
            list(compatible(server).stream(Request.from_prompt("hi"), "gpt-5-mini"))
    assert not isinstance(info.value, StreamInterrupted)


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_unreachable_server_is_provider_unavailable() -> None:
    url = f"http://127.0.0.1:{_closed_port()}/v1"
    provider = OpenAIProvider("vllm", {"base_url": url, "max_retries": 0})
    with pytest.raises(ProviderUnavailable):
        list(provider.stream(Request.from_prompt("hi"), "m"))
    availability = provider.available()
    assert not availability and url in availability.reason


def test_a_server_that_takes_the_connection_but_answers_late_is_available() -> None:
    """A busy server (or a loaded machine) answers the probe after its 1 s read timeout;
    it is up, so it stays a target. No answer at all is the slowest case of that."""
    with socket.socket() as listening:
        listening.bind(("127.0.0.1", 0))
        listening.listen()  # the kernel completes the handshake; nothing ever answers
        url = f"http://127.0.0.1:{listening.getsockname()[1]}/v1"
        availability = OpenAIProvider("vllm", {"base_url": url}).available()
    assert availability, availability.reason


def test_a_stalled_stream_is_a_timeout() -> None:
    with OpenAIServer() as server:
        server.failures.append(
            Response(200, {"Content-Type": "text/event-stream"}, stream=[2.0, b""])
        )
        provider = compatible(server, timeout=0.3, max_retries=0)
        with pytest.raises(ProviderTimeout):
            list(provider.stream(Request.from_prompt("hi"), "gpt-5-mini"))


def test_key_rules_and_availability(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OPENAI_API_KEY")
    cloud = OpenAIProvider()
    assert cloud.available().reason == "no API key: set OPENAI_API_KEY"
    assert cloud.available_offline().reason == "no API key: set OPENAI_API_KEY"
    with pytest.raises(AuthenticationError, match="no API key: set OPENAI_API_KEY"):
        list(cloud.stream(Request.from_prompt("hi"), "gpt-5-mini"))
    with OpenAIServer(api_key="not-needed") as server:
        local = compatible(server, api_key_env="VLLM_API_KEY")
        assert local.available()
        assert not local.available_offline()
        chunks, _ = collect(local, Request.from_prompt("hi"), "gpt-5-mini")
    assert chunks


@pytest.mark.parametrize(
    ("base_url", "locality", "privacy"),
    [
        (None, "cloud", "provider-dependent"),
        ("http://127.0.0.1:8000/v1", "local-server", "high"),
        ("http://localhost:1234/v1", "local-server", "high"),
        ("http://192.168.1.20:8000/v1", "local-network", "high"),
        ("http://gpu-box:8000/v1", "local-network", "high"),
        ("https://gpu.example.com/v1", "cloud", "provider-dependent"),
    ],
)
def test_locality_follows_the_base_url(base_url: str | None, locality: str, privacy: str) -> None:
    provider = OpenAIProvider("x", {"base_url": base_url} if base_url else {})
    assert (provider.locality, provider.privacy) == (locality, privacy)


def test_settings_override_locality_and_privacy() -> None:
    provider = OpenAIProvider(
        "x",
        {"base_url": "https://gpu.example.com/v1", "locality": "local-server", "privacy": "high"},
    )
    assert (provider.locality, provider.privacy) == ("local-server", "high")


def test_models_cloud_catalogue_and_compatible_listing() -> None:
    cloud = OpenAIProvider()
    assert {m.tier: m.name for m in cloud.models()} == {
        "simple": "gpt-5-mini",
        "balanced": "gpt-5.2",
        "quality": "gpt-5.2-pro",
    }
    with OpenAIServer(models=["qwen3-32b", "llama-70b"]) as server:
        provider = compatible(server, models={"simple": "qwen3-32b"})
        listed = {m.name: m.tier for m in provider.models()}
        assert server.requests[-1].path == "/v1/models"
    assert listed == {"qwen3-32b": "simple", "llama-70b": None}


def test_the_double_answers_the_sdks_non_streaming_call() -> None:
    import openai

    with OpenAIServer() as server:
        client = openai.OpenAI(api_key=CANARY, base_url=server.url + "/v1", max_retries=0)
        answer = client.chat.completions.create(
            model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}]
        )
        client.close()
    assert answer.choices[0].message.content == DEFAULT_REPLY
    assert answer.usage is not None and answer.usage.completion_tokens == len(WORDS)
    assert answer._request_id == "req_1"


# -- through the `llm` entry point -------------------------------------------------------------


def _config(tmp_path: Path, server: OpenAIServer, **settings: Any) -> str:
    instance = {
        "kind": "openai",
        "base_url": server.url + "/v1",
        "api_key_env": "VLLM_API_KEY",
        **settings,
    }
    path = tmp_path / "config.yaml"
    path.write_text(json.dumps({"providers": {"vllm": instance}}))  # JSON is YAML
    return str(path)


def test_llm_run_with_a_configured_compatible_instance(tmp_path: Path) -> None:
    with OpenAIServer(api_key="vllm-secret-key-123", models=None) as server:
        config = _config(tmp_path, server)
        env = {"VLLM_API_KEY": "vllm-secret-key-123"}
        text = run_in_process("--config", config, "run", "-m", "vllm:my-model", "hi", env=env)
        as_json = run_in_process(
            "--config", config, "run", "--json", "-m", "vllm:my-model", "hi", env=env
        )
    assert text.returncode == 0, text.stderr
    assert text.stdout.decode().strip() == DEFAULT_REPLY
    out = json.loads(as_json.stdout)
    assert out["provider"] == "vllm" and out["model"] == "my-model"
    assert out["usage"]["source"] == "provider"
    assert out["engine"]["system_fingerprint"] == "fp_560af6e559"
    assert out["timings"]["ttft_s"] is not None
    assert_no_canary(text.stdout, text.stderr, as_json.stdout, as_json.stderr)
    assert b"vllm-secret-key-123" not in text.stderr + as_json.stderr


def test_llm_run_openai_through_openai_base_url(openai_server: OpenAIServer) -> None:
    result = run_in_process("run", "-m", "openai:gpt-5-mini", "hi")
    assert result.returncode == 0, result.stderr
    assert result.stdout.decode().strip() == DEFAULT_REPLY
    assert_no_canary(result.stdout, result.stderr)


@pytest.mark.parametrize(
    ("failure", "code"),
    [
        (
            openai_error(401, "Incorrect API key provided: sk-can***4b2d.", code="invalid_api_key"),
            6,
        ),
        (openai_error(404, "The model `gpt-nope` does not exist", code="model_not_found"), 2),
        (rate_limited(600), 5),
        (server_error(), 5),
    ],
    ids=["auth", "model-not-found", "rate-limited", "server-error"],
)
def test_llm_run_errors_exit_with_the_documented_code(
    tmp_path: Path, failure: Response, code: int
) -> None:
    with OpenAIServer(api_key=None) as server:
        server.failures.append(failure)
        result = run_in_process(
            "--config",
            _config(tmp_path, server, max_retries=0),
            "run",
            "-m",
            "vllm:gpt-5-mini",
            "hi",
        )
    assert result.returncode == code, result.stderr
    assert result.stdout == b""
    assert len(result.stderr.decode().strip().splitlines()) == 1
    assert_no_canary(result.stdout, result.stderr)


def test_llm_run_without_a_key_exits_6_naming_the_variable() -> None:
    result = run_in_process("run", "-m", "openai:gpt-5-mini", "hi", env={"OPENAI_API_KEY": ""})
    assert result.returncode == 6, result.stderr
    assert "no API key: set OPENAI_API_KEY" in result.stderr.decode()


@pytest.mark.parametrize(
    ("failure", "error", "detail"),
    [
        (Response.json({"detail": "Invalid API key"}, status=401), AuthenticationError, ""),
        (Response.json({"error": "model 'x' not loaded"}, status=404), ModelNotFound, ""),
        (Response.text("Method Not Allowed", 405), BadRequest, ""),
        (
            Response.json({"detail": [{"msg": "field required", "loc": ["body", "model"]}]}, 422),
            BadRequest,
            "",
        ),
    ],
    ids=["fastapi-detail", "plain-error-string", "plain-text", "fastapi-validation"],
)
def test_error_details_in_non_openai_bodies_are_kept(
    failure: Response, error: type[Exception], detail: str
) -> None:
    body = (failure.body or b"").decode()
    wanted = json.loads(body) if body.startswith("{") else body
    if isinstance(wanted, dict):
        wanted = wanted.get("error") or wanted["detail"]
        wanted = wanted[0]["msg"] if isinstance(wanted, list) else wanted
    with OpenAIServer() as server:
        server.failures.append(failure)
        with pytest.raises(error) as info:
            list(compatible(server, max_retries=0).stream(Request.from_prompt("hi"), "gpt-5-mini"))
    assert f"HTTP {failure.status}: {wanted}" in str(info.value)


def test_a_rejected_request_says_when_api_key_env_names_an_unset_variable(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("VLLM_API_KEY", raising=False)
    with OpenAIServer(api_key=None) as server:
        server.failures.append(Response.json({"detail": "Invalid API key"}, status=401))
        provider = compatible(server, max_retries=0, api_key_env="VLLM_API_KEY")
        with pytest.raises(AuthenticationError) as info:
            list(provider.stream(Request.from_prompt("hi"), "gpt-5-mini"))
    assert "Invalid API key" in str(info.value)
    assert "VLLM_API_KEY" in str(info.value) and "not set" in str(info.value)


def _models_rows(config: Path, *args: str) -> list[dict[str, Any]]:
    result = run_in_process("--config", str(config), "models", "--json", "-p", "vllm", *args)
    assert result.returncode == 0, result.stderr.decode()
    assert_no_canary(result.stdout, result.stderr)
    rows: list[dict[str, Any]] = json.loads(result.stdout)
    return rows


@pytest.mark.parametrize("situation", ["server-down", "offline", "empty-listing", "key-rejected"])
def test_models_shows_a_compatible_instance_without_models_and_says_why(
    situation: str, tmp_path: Path
) -> None:
    with OpenAIServer(models=[] if situation == "empty-listing" else None) as server:
        if situation == "key-rejected":
            server.api_key = "sk-another-key-00000000"
        url = server.url + "/v1"
        config = tmp_path / "config.yaml"
        config.write_text(f"providers:\n  vllm:\n    kind: openai\n    base_url: {url}\n")
        if situation == "server-down":
            server.stop()
        rows = _models_rows(config, *(["--offline"] if situation == "offline" else []))
        if situation != "server-down":
            server.stop()
    assert [(r["provider"], r["available"]) for r in rows] == [("vllm", False)]
    reason = rows[0]["reason"]
    wanted = {
        "server-down": "not reachable",
        "offline": "--offline",
        "empty-listing": "lists no models",
        "key-rejected": "HTTP 401",
    }[situation]
    assert wanted in reason, reason


def test_done_before_the_finish_reason_is_an_interrupted_stream_not_an_answer() -> None:
    with OpenAIServer() as server:
        model = "gpt-5-mini"
        role = server._chunk(model, {"role": "assistant", "content": ""})
        records = [sse(role), sse(server._chunk(model, {"content": "Hello"})), sse("[DONE]")]
        server.failures.append(Response(200, {"Content-Type": "text/event-stream"}, stream=records))
        with pytest.raises(StreamInterrupted, match="final event") as caught:
            list(compatible(server, max_retries=0).stream(Request.from_prompt("hi"), model))
    assert caught.value.text == "Hello"
