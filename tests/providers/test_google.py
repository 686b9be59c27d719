"""The Gemini backend: the real google-genai SDK against the loopback Gemini API double."""

from __future__ import annotations

import gc

import pytest

from convergio_llm.providers.base import Chunk, Completion, Request
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
from convergio_llm.providers.google import GoogleProvider
from tests.conftest import CANARY
from tests.servers.google import GeminiDouble, gemini_double

__all__ = ["gemini_double"]  # the fixture, imported so pytest finds it

MODEL = "gemini-2.5-flash"


def provider(double: GeminiDouble, **settings: object) -> GoogleProvider:
    return GoogleProvider(settings={"base_url": double.url, "max_retries": 0, **settings})


def request(**params: object) -> Request:
    return Request.from_prompt("hi", system="be brief", **params)


def test_streams_text_then_one_completion_with_thoughts_billed_as_output(
    gemini_double: GeminiDouble,
) -> None:
    items = list(provider(gemini_double).stream(request(), MODEL))
    assert [i.text for i in items if isinstance(i, Chunk)] == ["Hello", " there!"]
    done = items[-1]
    assert isinstance(done, Completion) and done.text == "Hello there!"
    assert done.finish_reason == "stop"
    usage = done.usage
    assert (usage.input_tokens, usage.output_tokens, usage.reasoning_tokens) == (8, 3 + 24, 24)
    assert usage.source == "provider"
    assert done.timings.ttft_s is not None and 0 < done.timings.ttft_s <= done.timings.total_s


def test_request_on_the_wire(gemini_double: GeminiDouble) -> None:
    params = {"max_tokens": 50, "stop": ("END",), "temperature": 0.3}
    provider(gemini_double).generate(request(**params), MODEL)
    sent = gemini_double.requests[-1]
    assert sent.path == f"/v1/models/{MODEL}:streamGenerateContent"
    assert sent.query == {"alt": ["sse"]}
    assert sent.headers["x-goog-api-key"] == CANARY
    body = sent.json()
    assert body["contents"] == [{"parts": [{"text": "hi"}], "role": "user"}]
    assert body["systemInstruction"]["parts"] == [{"text": "be brief"}]
    config = body["generationConfig"]
    assert (config["maxOutputTokens"], config["stopSequences"], config["temperature"]) == (
        50,
        ["END"],
        0.3,
    )


def test_assistant_turns_are_sent_as_the_model_role(gemini_double: GeminiDouble) -> None:
    from convergio_llm.providers.base import Message

    turns = (Message("user", "a"), Message("assistant", "b"), Message("user", "c"))
    provider(gemini_double).generate(Request(messages=turns), MODEL)
    roles = [c["role"] for c in gemini_double.requests[-1].json()["contents"]]
    assert roles == ["user", "model", "user"]


def test_thought_parts_are_not_printed(gemini_double: GeminiDouble) -> None:
    gemini_double.reply.thought = "**Thinking about greetings**"
    done = provider(gemini_double).generate(request(), MODEL)
    assert done.text == "Hello there!"


def test_cached_prompt_tokens_are_reported_apart(gemini_double: GeminiDouble) -> None:
    gemini_double.reply.cached_tokens = 5
    usage = provider(gemini_double).generate(request(), MODEL).usage
    assert (usage.input_tokens, usage.cached_input_tokens) == (8, 5)


def test_v1beta_and_the_sdks_base_url_variable(
    gemini_double: GeminiDouble, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GOOGLE_GEMINI_BASE_URL", gemini_double.url + "/gw")
    GoogleProvider(settings={"api_version": "v1beta", "max_retries": 0}).generate(request(), MODEL)
    assert gemini_double.requests[-1].path == f"/gw/v1beta/models/{MODEL}:streamGenerateContent"


def test_the_client_outlives_garbage_collection(gemini_double: GeminiDouble) -> None:
    # google-genai closes its HTTP client in Client.__del__: the provider must hold it.
    gemini = provider(gemini_double)
    gemini.generate(request(), MODEL)
    gc.collect()
    assert gemini.generate(request(), MODEL).text == "Hello there!"


def test_max_tokens_finish_is_length(gemini_double: GeminiDouble) -> None:
    gemini_double.reply.finish_reason = "MAX_TOKENS"
    assert provider(gemini_double).generate(request(), MODEL).finish_reason == "length"


def test_a_blocked_prompt_is_content_filtered(gemini_double: GeminiDouble) -> None:
    gemini_double.reply.block_reason = "SAFETY"
    with pytest.raises(ContentFiltered, match="SAFETY"):
        provider(gemini_double).generate(request(), MODEL)


def test_a_safety_stop_is_content_filtered(gemini_double: GeminiDouble) -> None:
    gemini_double.reply.finish_reason = "SAFETY"
    with pytest.raises(ContentFiltered, match="SAFETY"):
        provider(gemini_double).generate(request(), MODEL)


@pytest.mark.parametrize(
    ("status", "message", "error"),
    [
        (400, "API key not valid. Please pass a valid API key.", AuthenticationError),
        (403, "Permission denied", AuthenticationError),
        (404, "models/gemini-nope is not found for API version v1", ModelNotFound),
        (
            400,
            "The input token count (2000000) exceeds the maximum number of tokens",
            ContextTooLong,
        ),
        (400, "Invalid value at 'generation_config.temperature'", BadRequest),
        (429, "Resource has been exhausted", RateLimited),
        (503, "The model is overloaded. Please try again later.", Overloaded),
        (500, "An internal error has occurred.", ServerError),
        (504, "Deadline exceeded", ProviderTimeout),
    ],
)
def test_http_errors_map_into_the_error_tree(
    gemini_double: GeminiDouble, status: int, message: str, error: type[ProviderError]
) -> None:
    gemini_double.fail(status, message)
    with pytest.raises(error) as caught:
        provider(gemini_double).generate(request(), MODEL)
    assert type(caught.value) is error and caught.value.status == status
    assert message in str(caught.value)


def test_rate_limit_keeps_the_retry_info_delay(gemini_double: GeminiDouble) -> None:
    gemini_double.fail("rate_limit")
    with pytest.raises(RateLimited) as caught:
        provider(gemini_double).generate(request(), MODEL)
    assert caught.value.retry_after == 0.001


def test_retries_say_so_on_stderr_then_succeed(
    gemini_double: GeminiDouble, capsys: pytest.CaptureFixture[str]
) -> None:
    gemini_double.fail("rate_limit", times=2)
    done = provider(gemini_double, max_retries=2).generate(request(), MODEL)
    assert done.text == "Hello there!" and len(gemini_double.requests) == 3
    notes = capsys.readouterr().err.splitlines()
    assert len(notes) == 2 and all("429" in n and "retrying in" in n for n in notes)


def test_an_error_body_echoing_the_key_is_scrubbed(gemini_double: GeminiDouble) -> None:
    gemini_double.fail(400, f"API key not valid: {CANARY}")
    with pytest.raises(AuthenticationError) as caught:
        provider(gemini_double).generate(request(), MODEL)
    assert CANARY not in str(caught.value)


def test_a_slow_server_is_a_timeout(gemini_double: GeminiDouble) -> None:
    gemini_double.reply.delay = 2.0  # after the first chunk: text was out, so no fallback
    with pytest.raises(StreamInterrupted, match="no answer in time"):
        provider(gemini_double, timeout=0.3).generate(request(), MODEL)


def test_connection_refused_is_unavailable() -> None:
    closed = GoogleProvider(settings={"base_url": "http://127.0.0.1:9", "max_retries": 0})
    with pytest.raises(ProviderUnavailable):
        closed.generate(request(), MODEL)


def test_without_a_key_it_says_which_variable_to_set(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GEMINI_API_KEY")
    monkeypatch.delenv("GOOGLE_API_KEY")
    keyless = GoogleProvider()
    availability = keyless.available()
    assert not availability and "GEMINI_API_KEY" in availability.reason
    with pytest.raises(AuthenticationError, match="GEMINI_API_KEY"):
        keyless.generate(request(), MODEL)


def test_catalogue_has_three_tiers() -> None:
    assert GoogleProvider().catalogue() == {
        "simple": "gemini-2.5-flash",
        "balanced": "gemini-2.5-pro",
        "quality": "gemini-3.1-pro-preview",
    }
