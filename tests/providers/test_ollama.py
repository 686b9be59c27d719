"""The Ollama backend with real `requests` against the loopback Ollama double, and through `llm`."""

from __future__ import annotations

import json
import re
import socket

import pytest
from hypothesis import given
from hypothesis import strategies as st

from convergio_llm.providers import _ollama_host
from convergio_llm.providers._ollama_host import parse_ollama_host
from convergio_llm.providers.base import Chunk, Completion, Request
from convergio_llm.providers.errors import (
    BadRequest,
    ModelNotFound,
    Overloaded,
    ProviderTimeout,
    ProviderUnavailable,
    RateLimited,
    ServerError,
    StreamInterrupted,
)
from convergio_llm.providers.ollama import OllamaProvider
from tests.conftest import assert_no_canary, run_in_process
from tests.servers.base import Response
from tests.servers.ollama import DEFAULT_REPLY, OllamaServer, not_found_message, ollama_server

__all__ = ["ollama_server"]  # the fixture, imported so pytest finds it

# (OLLAMA_HOST, the URL a client connects to), as Ollama's envconfig.ConnectableHost() gives it.
HOSTS = [
    ("", "http://127.0.0.1:11434"),
    ("   ", "http://127.0.0.1:11434"),
    ('"127.0.0.1:8080"', "http://127.0.0.1:8080"),
    ("1.2.3.4", "http://1.2.3.4:11434"),
    ("1.2.3.4:56789", "http://1.2.3.4:56789"),
    ("example.com", "http://example.com:11434"),
    ("example.com:56789", "http://example.com:56789"),
    ("http://1.2.3.4", "http://1.2.3.4:80"),
    ("https://1.2.3.4", "https://1.2.3.4:443"),
    ("http://example.com", "http://example.com:80"),
    ("https://example.com:56789", "https://example.com:56789"),
    ("https://example.com/path", "https://example.com:443/path"),
    ("example.com/ollama/", "http://example.com:11434/ollama"),
    ("ollama.com", "https://ollama.com:443"),
    ("::1", "http://[::1]:11434"),
    ("[::1]", "http://[::1]:11434"),
    ("[::1]:56789", "http://[::1]:56789"),
    ("0.0.0.0", "http://127.0.0.1:11434"),
    ("0.0.0.0:8080", "http://127.0.0.1:8080"),
    ("::", "http://[::1]:11434"),
    ("[::]:8080", "http://[::1]:8080"),
    (":56789", "http://127.0.0.1:56789"),
    ("example.com:99999", "http://example.com:11434"),
    ("https://example.com:port", "https://example.com:443"),
]


@pytest.mark.parametrize(("raw", "url"), HOSTS)
def test_ollama_host_is_parsed_as_ollama_does(raw: str, url: str) -> None:
    assert parse_ollama_host(raw).url == url


# The rules the string checks in _ollama_host.py implement, as the regexes they replaced.
PORT_NUMBER = r"[+-]?[0-9]+"
OCTET = r"(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"
CANONICAL_IPV4 = rf"{OCTET}(?:\.{OCTET}){{3}}"
# Digits, signs, dots and what int() would also take (blanks, `_`, other scripts' digits).
HOST_CHARS = st.text(alphabet="0123456789.+-_ \n\u0661\u00b2", max_size=20)
QUADS = st.lists(st.integers(0, 300).map(str), min_size=3, max_size=5).map(".".join)


@given(st.one_of(HOST_CHARS, QUADS, st.integers(-70000, 70000).map(str)))
def test_host_checks_match_the_patterns_they_stand_for(text: str) -> None:
    assert _ollama_host._is_port_number(text) == bool(re.fullmatch(PORT_NUMBER, text))
    assert _ollama_host._is_canonical_ipv4(text) == bool(re.fullmatch(CANONICAL_IPV4, text))


def test_host_comes_from_settings_before_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OLLAMA_HOST", "10.0.0.1:1")
    assert OllamaProvider().host.url == "http://10.0.0.1:1"
    assert OllamaProvider(settings={"host": "gpu-box"}).host.url == "http://gpu-box:11434"
    assert OllamaProvider(settings={"base_url": "https://x.test"}).host.url == "https://x.test:443"


def _collect(
    provider: OllamaProvider, request: Request, model: str
) -> tuple[list[str], Completion]:
    items = list(provider.stream(request, model))
    assert isinstance(items[-1], Completion)
    assert all(isinstance(i, Chunk) for i in items[:-1])
    return [i.text for i in items[:-1] if isinstance(i, Chunk)], items[-1]


def test_stream_yields_chunks_then_ollamas_own_usage_and_durations() -> None:
    with OllamaServer(
        load_ns=2_500_000_000, prompt_eval_ns=120_000_000, eval_ns_per_token=10_000_000
    ) as server:
        provider = OllamaProvider(settings={"host": server.url})
        chunks, done = _collect(
            provider, Request.from_prompt("why is the sky blue?"), "llama3.2:3b"
        )
    words = DEFAULT_REPLY.split()
    assert chunks == [words[0]] + [" " + w for w in words[1:]]
    assert done.text == DEFAULT_REPLY
    assert done.finish_reason == "stop"
    assert done.usage.source == "provider"
    assert done.usage.output_tokens == len(words)
    assert done.usage.input_tokens == len(["why", "is", "the", "sky", "blue?"]) + 4
    assert done.timings.load_s == 2.5
    assert done.timings.prompt_eval_s == 0.12
    assert done.timings.eval_s == pytest.approx(0.01 * len(words))
    assert done.timings.ttft_s is not None and done.timings.ttft_s <= done.timings.total_s
    assert done.raw_stats["load_duration"] == 2_500_000_000
    assert done.raw_stats["eval_count"] == len(words)
    assert isinstance(done.raw_stats["total_duration"], int)


def test_request_parameters_reach_the_wire() -> None:
    request = Request.from_prompt(
        "hi",
        system="be brief",
        max_tokens=3,
        temperature=0.2,
        seed=7,
        stop=("\n",),
        metadata={"keep_alive": "10m"},
    )
    with OllamaServer() as server:
        provider = OllamaProvider(settings={"host": server.url, "keep_alive": "1m"})
        chunks, done = _collect(provider, request, "llama3.2:3b")
        sent = server.requests[-1]
    assert sent.path == "/api/chat"
    body = sent.json()
    assert body["messages"] == [
        {"role": "system", "content": "be brief"},
        {"role": "user", "content": "hi"},
    ]
    assert body["stream"] is True
    assert body["options"] == {"temperature": 0.2, "num_predict": 3, "seed": 7, "stop": ["\n"]}
    assert body["keep_alive"] == "10m"  # the request's own wins over the setting
    assert len(chunks) == 3
    assert done.finish_reason == "length"


def test_setting_keep_alive_is_sent_when_the_request_has_none() -> None:
    with OllamaServer() as server:
        provider = OllamaProvider(settings={"host": server.url, "keep_alive": -1})
        _collect(provider, Request.from_prompt("hi"), "llama3.2:3b")
        assert server.requests[-1].json()["keep_alive"] == -1
        assert "options" not in server.requests[-1].json()


@pytest.mark.parametrize("variant", ["lookup", "scheduler"])
def test_missing_model_is_model_not_found(variant: str) -> None:
    with OllamaServer() as server:
        server.not_found_variant = variant
        provider = OllamaProvider(settings={"host": server.url})
        with pytest.raises(ModelNotFound) as info:
            list(provider.stream(Request.from_prompt("hi"), "llama9"))
    assert not_found_message("llama9", variant) in str(info.value)
    assert info.value.status == 404


@pytest.mark.parametrize(
    ("status", "message", "error"),
    [
        (429, "too many requests", RateLimited),
        (503, "server busy, please try again.  maximum pending requests exceeded", Overloaded),
        (400, "top_logprobs must be between 0 and 20", BadRequest),
        (500, "llama runner process has terminated", ServerError),
    ],
)
def test_errors_before_the_first_byte_map_to_the_tree(
    status: int, message: str, error: type[Exception]
) -> None:
    with OllamaServer() as server:
        server.fail_before = (status, message)
        provider = OllamaProvider(settings={"host": server.url})
        with pytest.raises(error) as info:
            list(provider.stream(Request.from_prompt("hi"), "llama3.2:3b"))
    assert message in str(info.value)
    assert type(info.value) is error


def test_error_line_after_text_is_stream_interrupted() -> None:
    with OllamaServer() as server:
        server.mid_stream_error = "an error was encountered while running the model"
        server.mid_stream_after = 2
        provider = OllamaProvider(settings={"host": server.url})
        received: list[str] = []
        with pytest.raises(StreamInterrupted, match="error was encountered"):
            for item in provider.stream(Request.from_prompt("hi"), "llama3.2:3b"):
                assert isinstance(item, Chunk)
                received.append(item.text)
    assert received == ["The", " sky"]


def test_error_line_before_any_text_is_server_error() -> None:
    with OllamaServer() as server:
        server.mid_stream_error = "model runner crashed"
        server.mid_stream_after = 0
        provider = OllamaProvider(settings={"host": server.url})
        with pytest.raises(ServerError, match="model runner crashed") as info:
            list(provider.stream(Request.from_prompt("hi"), "llama3.2:3b"))
    assert not isinstance(info.value, StreamInterrupted)


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_refused_connection_names_the_host_and_the_variable() -> None:
    provider = OllamaProvider(settings={"host": f"127.0.0.1:{_closed_port()}"})
    with pytest.raises(ProviderUnavailable) as info:
        list(provider.stream(Request.from_prompt("hi"), "llama3.2:3b"))
    assert provider.host.url in str(info.value)
    assert "OLLAMA_HOST" in str(info.value)
    availability = provider.available()
    assert not availability
    assert availability.reason == f"Ollama not reachable at {provider.host.url} (set OLLAMA_HOST)"


def test_a_silent_server_is_a_timeout() -> None:
    with OllamaServer(first_token_delay_s=1.0) as server:
        provider = OllamaProvider(settings={"host": server.url, "read_timeout": 0.2})
        with pytest.raises(ProviderTimeout):
            list(provider.stream(Request.from_prompt("hi"), "llama3.2:3b"))


def test_available_probes_the_version_and_offline_does_not() -> None:
    with OllamaServer() as server:
        provider = OllamaProvider(settings={"host": server.url})
        assert provider.available()
        offline = provider.available_offline()
        assert [r.path for r in server.requests] == ["/api/version"]
    assert not offline
    assert "not probed" in offline.reason


def test_one_connection_serves_many_requests() -> None:
    with OllamaServer() as server:
        provider = OllamaProvider(settings={"host": server.url})
        for _ in range(3):
            _collect(provider, Request.from_prompt("hi"), "llama3.2:3b")
        pool = provider.session().get_adapter(server.url).poolmanager
        connections = [p.num_connections for p in pool.pools._container.values()]
    assert connections == [1]


def test_preload_unload_and_the_loaded_flag() -> None:
    with OllamaServer() as server:
        provider = OllamaProvider(settings={"host": server.url})
        loaded = provider.preload("qwen2.5:7b")
        # "stream": false, or Ollama answers NDJSON that a single-JSON read cannot parse
        wanted = {"model": "qwen2.5:7b", "keep_alive": -1, "stream": False}
        assert server.requests[-1].json() == wanted
        flags = {m.name: m.loaded for m in provider.models()}
        unloaded = provider.unload("qwen2.5:7b")
        after = {m.name: m.loaded for m in provider.models()}
    assert loaded["done_reason"] == "load"
    assert unloaded["done_reason"] == "unload"
    assert flags["qwen2.5:7b"] is True
    assert flags["llama3.2:3b"] is False
    assert after["qwen2.5:7b"] is False


def test_models_lists_pulled_models_and_the_catalogue() -> None:
    with OllamaServer(models=["llama3.2:3b", "phi4:latest"]) as server:
        models = {m.name: m for m in OllamaProvider(settings={"host": server.url}).models()}
    assert models["llama3.2:3b"].tier == "simple"
    assert models["phi4"].tier is None
    assert models["phi4"].details["quantization_level"] == "Q4_K_M"
    assert models["qwen2.5:7b"].details == {"pulled": False}
    offline = OllamaProvider().models(live=False)
    assert [m.name for m in offline] == ["llama3.2:3b", "qwen2.5:7b", "qwen2.5:14b"]


def test_the_double_speaks_ollamas_wire_format() -> None:
    import requests

    with OllamaServer() as server:
        head = requests.head(server.url + "/", timeout=5)
        whole = requests.post(
            server.url + "/api/chat",
            json={
                "model": "llama3.2:3b",
                "messages": [{"role": "user", "content": "hi"}],
                "stream": False,
            },
            timeout=5,
        )
        streamed = requests.post(
            server.url + "/api/generate", json={"model": "llama3.2:3b", "prompt": "hi"}, timeout=5
        )
        unknown = requests.get(server.url + "/api/nope", timeout=5)
    assert head.status_code == 200 and head.content == b""
    assert whole.headers["content-type"] == "application/json; charset=utf-8"
    assert whole.content.startswith(b'{"model":"llama3.2:3b","created_at":"')
    assert whole.json()["message"]["content"] == DEFAULT_REPLY
    assert whole.json()["done"] is True
    assert streamed.headers["content-type"] == "application/x-ndjson"
    assert streamed.headers["transfer-encoding"] == "chunked"
    lines = [json.loads(line) for line in streamed.content.splitlines()]
    assert "".join(line["response"] for line in lines) == DEFAULT_REPLY
    assert [line["done"] for line in lines] == [False] * (len(lines) - 1) + [True]
    assert (unknown.status_code, unknown.text) == (404, "404 page not found")


# -- through the `llm` entry point -------------------------------------------------------------


def test_llm_run_streams_text_from_ollama(ollama_server: OllamaServer) -> None:
    result = run_in_process("run", "-m", "ollama:llama3.2:3b", "why is the sky blue?")
    assert result.returncode == 0, result.stderr
    assert result.stdout.decode().strip() == DEFAULT_REPLY
    assert_no_canary(result.stdout, result.stderr)


def test_llm_run_json_reports_ollamas_usage_and_engine_stats(ollama_server: OllamaServer) -> None:
    result = run_in_process("run", "--json", "-m", "ollama:llama3.2:3b", "hi")
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout)
    assert out["usage"]["source"] == "provider"
    assert out["usage"]["output_tokens"] == len(DEFAULT_REPLY.split())
    assert out["timings"]["load_s"] == ollama_server.load_ns / 1e9
    assert out["timings"]["prompt_eval_s"] == ollama_server.prompt_eval_ns / 1e9
    assert out["engine"]["eval_count"] == len(DEFAULT_REPLY.split())
    assert out["engine"]["load_duration"] == ollama_server.load_ns


@pytest.mark.parametrize(
    ("setup", "code"),
    [
        (lambda s: setattr(s, "not_found_variant", "scheduler"), 2),
        (lambda s: setattr(s, "fail_before", (429, "slow down")), 5),
        (lambda s: setattr(s, "fail_before", (500, "runner died")), 5),
    ],
    ids=["model-not-found", "rate-limited", "server-error"],
)
def test_llm_run_errors_exit_with_the_documented_code(
    ollama_server: OllamaServer, setup: object, code: int
) -> None:
    setup(ollama_server)  # type: ignore[operator]
    model = "llama9" if code == 2 else "llama3.2:3b"
    result = run_in_process("run", "-m", f"ollama:{model}", "hi")
    assert result.returncode == code, result.stderr
    assert result.stdout == b""
    lines = result.stderr.decode().strip().splitlines()
    # 429 and 5xx are retried as on every HTTP backend, each wait announced on its own line.
    assert [line for line in lines if "retrying" not in line] == [lines[-1]]
    assert lines[-1].startswith("llm: error: ")
    assert_no_canary(result.stdout, result.stderr)


def test_llm_run_with_ollama_down_exits_3_naming_the_host() -> None:
    result = run_in_process(
        "run", "-m", "ollama:llama3.2:3b", "hi", env={"OLLAMA_HOST": f"127.0.0.1:{_closed_port()}"}
    )
    assert result.returncode == 3, result.stderr
    lines = result.stderr.decode().strip().splitlines()
    assert len(lines) == 1
    assert "OLLAMA_HOST" in lines[0]


def test_llm_run_keep_alive_reaches_ollama_as_a_number(ollama_server: OllamaServer) -> None:
    result = run_in_process("run", "--keep-alive", "-1", "-m", "ollama:llama3.2:3b", "hi")
    assert result.returncode == 0, result.stderr
    assert ollama_server.requests[-1].json()["keep_alive"] == -1
    result = run_in_process("run", "--keep-alive", "10m", "-m", "ollama:llama3.2:3b", "hi")
    assert ollama_server.requests[-1].json()["keep_alive"] == "10m"


def test_llm_models_shows_loaded_ollama_models(ollama_server: OllamaServer) -> None:
    ollama_server.loaded["gemma3:270m"] = 4102444800.0
    result = run_in_process("models", "--json", "-p", "ollama")
    assert result.returncode == 0, result.stderr
    rows = {r["name"]: r for r in json.loads(result.stdout)}
    assert rows["gemma3:270m"]["loaded"] is True
    assert rows["llama3.2:3b"]["loaded"] is False
    assert all(r["available"] for r in rows.values())


def test_llm_models_preload_and_unload(ollama_server: OllamaServer) -> None:
    result = run_in_process("models", "--preload", "ollama:qwen2.5:7b")
    assert result.returncode == 0, result.stderr
    assert "qwen2.5:7b" in ollama_server.loaded
    result = run_in_process("models", "--unload", "ollama:qwen2.5:7b")
    assert result.returncode == 0, result.stderr
    assert "qwen2.5:7b" not in ollama_server.loaded


@pytest.mark.parametrize(
    "text",
    ["127.0.0.1", "0.0.0.0", "255.255.255.255", "10.0.0.256", "127.000.000.001", "01.2.3.4",
     "1.2.3", "1.2.3.4.5", "::1", "::ffff:10.0.0.1", "localhost", "192.168.1.20"],
)  # fmt: skip
def test_dotted_quad_shortcut_agrees_with_ipaddress(text: str) -> None:
    import ipaddress

    from convergio_llm.providers._ollama_host import _normalise_ip

    try:
        ip = ipaddress.ip_address(text)
    except ValueError:
        expected = None
    else:
        mapped = getattr(ip, "ipv4_mapped", None)
        expected = str(mapped) if mapped is not None else str(ip)
    assert _normalise_ip(text) == expected


def test_models_keeps_the_pulled_models_when_api_ps_fails() -> None:
    with OllamaServer() as server:
        server.route("GET", r"/api/ps", lambda rec, match: Response.text("boom", 500))
        names = {m.name for m in OllamaProvider(settings={"host": server.url}).models()}
    assert {"llama3.2:3b", "qwen2.5:7b", "gemma3:270m"} <= names


def test_a_server_that_takes_the_connection_but_answers_late_is_available() -> None:
    """Ollama loading a model (or a loaded machine) may answer /api/version after the probe's
    1 s; it took the connection, so it is there. A closed port stays unavailable."""
    with socket.socket() as listening:
        listening.bind(("127.0.0.1", 0))
        listening.listen()  # the kernel completes the handshake; nothing ever answers
        port = listening.getsockname()[1]
        assert OllamaProvider(settings={"host": f"127.0.0.1:{port}"}).available()
    closed = OllamaProvider(settings={"host": f"127.0.0.1:{port}"}).available()
    assert not closed and f"127.0.0.1:{port}" in closed.reason
