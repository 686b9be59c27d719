"""The Anthropic backend: the real anthropic SDK against the loopback Messages API double."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from convergio_llm.providers.anthropic import AnthropicProvider
from convergio_llm.providers.base import Chunk, Completion, Request, Usage
from convergio_llm.providers.errors import (
    AuthenticationError,
    BadRequest,
    ContentFiltered,
    ContextTooLong,
    ModelNotFound,
    Overloaded,
    ProviderError,
    ProviderTimeout,
    ProviderUnavailable,
    RateLimited,
    ServerError,
    StreamInterrupted,
)
from tests.conftest import CANARY, assert_no_canary, run_in_process
from tests.servers.anthropic import AnthropicDouble, anthropic_double

__all__ = ["anthropic_double"]  # the fixture, imported so pytest finds it

MODEL = "claude-haiku-4-5"


_made: list[AnthropicProvider] = []


@pytest.fixture(autouse=True)
def close_providers() -> Iterator[None]:
    """Close every provider a test made: its SDK client keeps a pooled socket open."""
    yield
    while _made:
        _made.pop().close()


def provider(double: AnthropicDouble, **settings: object) -> AnthropicProvider:
    made = AnthropicProvider(settings={"base_url": double.url, "max_retries": 0, **settings})
    _made.append(made)
    return made


def request(**params: object) -> Request:
    return Request.from_prompt("hi", system="be brief", **params)


def test_streams_text_then_one_completion_with_provider_usage(
    anthropic_double: AnthropicDouble,
) -> None:
    anthropic_double.reply.pieces = ["Hel", "lo", " there!"]
    items = list(provider(anthropic_double).stream(request(), MODEL))
    assert [i.text for i in items if isinstance(i, Chunk)] == ["Hel", "lo", " there!"]
    done = items[-1]
    assert isinstance(done, Completion) and done.text == "Hello there!"
    assert done.finish_reason == "stop" and done.raw_stats["stop_reason"] == "end_turn"
    assert (done.usage.input_tokens, done.usage.output_tokens, done.usage.source) == (
        12,
        6,
        "provider",
    )
    assert done.timings.ttft_s is not None and 0 < done.timings.ttft_s <= done.timings.total_s
    assert (done.provider, done.model) == ("anthropic", MODEL)


def test_request_on_the_wire_has_key_version_system_stop_and_no_temperature(
    anthropic_double: AnthropicDouble,
) -> None:
    provider(anthropic_double).generate(
        request(max_tokens=50, stop=("END",), temperature=0.3), MODEL
    )
    sent = anthropic_double.requests[-1]
    assert sent.path == "/v1/messages"
    assert sent.headers["authorization"] == f"Bearer {CANARY}"
    assert sent.headers["anthropic-version"]
    body = sent.json()
    assert body["system"] == "be brief"
    assert body["messages"] == [{"role": "user", "content": "hi"}]
    assert body["max_tokens"] == 50 and body["stop_sequences"] == ["END"] and body["stream"] is True
    assert "temperature" not in body


def test_max_tokens_defaults_from_settings_because_the_api_requires_it(
    anthropic_double: AnthropicDouble,
) -> None:
    provider(anthropic_double, max_tokens=321).generate(request(), MODEL)
    assert anthropic_double.requests[-1].json()["max_tokens"] == 321


def test_cached_input_counts_as_input_and_is_reported_apart(
    anthropic_double: AnthropicDouble,
) -> None:
    anthropic_double.reply.cache_read = 100
    anthropic_double.reply.cache_creation = 20
    usage = provider(anthropic_double).generate(request(), MODEL).usage
    assert (usage.input_tokens, usage.cached_input_tokens) == (132, 100)


@pytest.mark.parametrize(
    ("stop_reason", "finish"), [("max_tokens", "length"), ("stop_sequence", "stop")]
)
def test_stop_reason_becomes_a_finish_reason(
    anthropic_double: AnthropicDouble, stop_reason: str, finish: str
) -> None:
    anthropic_double.reply.stop_reason = stop_reason
    assert provider(anthropic_double).generate(request(), MODEL).finish_reason == finish


def test_a_refusal_with_no_text_is_content_filtered(anthropic_double: AnthropicDouble) -> None:
    anthropic_double.reply.pieces = []
    anthropic_double.reply.stop_reason = "refusal"
    with pytest.raises(ContentFiltered, match="refus"):
        provider(anthropic_double).generate(request(), MODEL)


def test_a_refusal_after_some_text_keeps_the_text(anthropic_double: AnthropicDouble) -> None:
    # the text has been streamed already: the finish reason says the answer was cut short
    anthropic_double.reply.pieces = ["I can help with", " part"]
    anthropic_double.reply.stop_reason = "refusal"
    done = provider(anthropic_double).generate(request(), MODEL)
    assert done.text == "I can help with part" and done.finish_reason == "content_filter"


def test_llm_run_on_a_refusal_exits_1_with_one_line(
    anthropic_double: AnthropicDouble, tmp_path: Path
) -> None:
    anthropic_double.reply.pieces = []
    anthropic_double.reply.stop_reason = "refusal"
    config = tmp_path / "config.yaml"
    config.write_text(f"providers:\n  anthropic: {{base_url: '{anthropic_double.url}'}}\n")
    result = run_in_process("--config", str(config), "run", "-m", f"anthropic:{MODEL}", "hi")
    assert_no_canary(result.stdout, result.stderr)
    assert result.returncode == 1, result.stderr.decode()
    assert result.stdout == b""
    lines = result.stderr.decode().splitlines()
    assert len(lines) == 1 and lines[0].startswith("llm: ") and "refus" in lines[0], lines


def test_base_url_from_the_sdks_own_variable(
    anthropic_double: AnthropicDouble, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ANTHROPIC_BASE_URL", anthropic_double.url + "/proxy")
    AnthropicProvider(settings={"max_retries": 0}).generate(request(), MODEL)
    assert anthropic_double.requests[-1].path == "/proxy/v1/messages"


@pytest.mark.parametrize(
    ("status", "message", "error"),
    [
        (401, "invalid x-api-key", AuthenticationError),
        (403, "permission denied", AuthenticationError),
        (404, "model: claude-nope", ModelNotFound),
        (400, "prompt is too long: 250000 tokens > 200000 maximum", ContextTooLong),
        (400, "max_tokens: must be positive", BadRequest),
        (429, "rate limited", RateLimited),
        (529, "Overloaded", Overloaded),
        (500, "internal", ServerError),
        (504, "gateway timeout", ProviderTimeout),
    ],
)
def test_http_errors_map_into_the_error_tree(
    anthropic_double: AnthropicDouble, status: int, message: str, error: type[ProviderError]
) -> None:
    anthropic_double.fail(status, message)
    with pytest.raises(error) as caught:
        provider(anthropic_double).generate(request(), MODEL)
    assert type(caught.value) is error and caught.value.status == status
    assert message in str(caught.value)


def test_an_error_body_echoing_the_key_is_scrubbed(anthropic_double: AnthropicDouble) -> None:
    anthropic_double.fail(401, f"invalid x-api-key {CANARY}")
    with pytest.raises(AuthenticationError) as caught:
        provider(anthropic_double).generate(request(), MODEL)
    assert CANARY not in str(caught.value)


def test_rate_limit_keeps_the_servers_retry_after(anthropic_double: AnthropicDouble) -> None:
    anthropic_double.fail(429, headers={"retry-after-ms": "7000"})
    with pytest.raises(RateLimited) as caught:
        provider(anthropic_double).generate(request(), MODEL)
    assert caught.value.retry_after == 7.0


def test_retries_say_so_on_stderr_then_succeed(
    anthropic_double: AnthropicDouble, capsys: pytest.CaptureFixture[str]
) -> None:
    anthropic_double.fail(429)
    anthropic_double.fail(529)
    done = provider(anthropic_double, max_retries=2).generate(request(), MODEL)
    assert done.text == "Hello there!"
    assert len(anthropic_double.requests) == 3
    notes = capsys.readouterr().err.splitlines()
    assert len(notes) == 2 and all("retrying in" in n for n in notes)
    assert "429" in notes[0] and "529" in notes[1]


def test_a_long_retry_after_is_not_waited_for(anthropic_double: AnthropicDouble) -> None:
    # The SDK itself would sleep an hour here; we give up at once and keep the figure.
    anthropic_double.fail(429, headers={"retry-after-ms": "3600000"}, times=3)
    with pytest.raises(RateLimited) as caught:
        provider(anthropic_double, max_retries=2, max_retry_wait=5).generate(request(), MODEL)
    assert caught.value.retry_after == 3600.0 and "max_retry_wait" in str(caught.value)
    assert len(anthropic_double.requests) == 1


def test_an_error_event_mid_stream_raises_after_the_text_so_far(
    anthropic_double: AnthropicDouble,
) -> None:
    anthropic_double.reply.mid_stream_error = "overloaded_error"
    seen: list[str] = []
    # After text, the base class turns any failure into StreamInterrupted (no fallback).
    with pytest.raises(StreamInterrupted, match="overloaded") as caught:
        for item in provider(anthropic_double).stream(request(), MODEL):
            assert isinstance(item, Chunk)
            seen.append(item.text)
    assert seen == ["Hello"]
    assert caught.value.text == "Hello"
    # message_start reported 12 input tokens: a cut answer keeps them, not 0.
    assert caught.value.usage == Usage(12, 1, source="provider")


def test_a_slow_server_is_a_timeout(anthropic_double: AnthropicDouble) -> None:
    anthropic_double.reply.delay = 2.0
    with pytest.raises(ProviderTimeout):
        provider(anthropic_double, timeout=0.3).generate(request(), MODEL)


def test_connection_refused_is_unavailable() -> None:
    slow = AnthropicProvider(settings={"base_url": "http://127.0.0.1:9", "max_retries": 0})
    with pytest.raises(ProviderUnavailable):
        slow.generate(request(), MODEL)


def test_without_a_key_it_says_which_variable_to_set(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ANTHROPIC_API_KEY")
    monkeypatch.delenv("ANTHROPIC_AUTH_TOKEN", raising=False)
    keyless = AnthropicProvider()
    availability = keyless.available()
    assert not availability and "ANTHROPIC_API_KEY" in availability.reason
    with pytest.raises(AuthenticationError, match="ANTHROPIC_API_KEY"):
        keyless.generate(request(), MODEL)


def test_catalogue_has_three_tiers_and_config_overrides_them() -> None:
    assert AnthropicProvider().catalogue() == {
        "simple": "claude-haiku-4-5",
        "balanced": "claude-sonnet-4-5",
        "quality": "claude-opus-4-5",
    }
    custom = AnthropicProvider(settings={"models": {"quality": "claude-opus-5"}})
    assert custom.catalogue()["quality"] == "claude-opus-5"
