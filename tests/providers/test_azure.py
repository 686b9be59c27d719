"""The Azure backend: the real openai SDK (`AzureOpenAI`, and `OpenAI` for the v1 API)
against the loopback Azure OpenAI double."""

from __future__ import annotations

import pytest

from convergio_llm.providers.azure import AzureOpenAIProvider
from convergio_llm.providers.base import Chunk, Completion, Request
from convergio_llm.providers.errors import (
    AuthenticationError,
    ContentFiltered,
    ModelNotFound,
    ProviderError,
    RateLimited,
    ServerError,
)
from tests.conftest import CANARY
from tests.servers.azure import AzureDouble, azure_double

__all__ = ["azure_double"]  # the fixture, imported so pytest finds it

DEPLOYMENT = "gpt-5-mini"
CLASSIC = "2024-10-21"


def provider(
    double: AzureDouble, api_version: str = CLASSIC, **settings: object
) -> AzureOpenAIProvider:
    return AzureOpenAIProvider(
        settings={"base_url": double.url, "api_version": api_version, "max_retries": 0, **settings}
    )


def request(**params: object) -> Request:
    return Request.from_prompt("hi", system="be brief", **params)


def test_streams_past_the_prompt_filter_chunk_to_one_completion(azure_double: AzureDouble) -> None:
    azure_double.cached_tokens = 2
    items = list(provider(azure_double).stream(request(), DEPLOYMENT))
    assert [i.text for i in items if isinstance(i, Chunk)] == ["Hello", " there!"]
    done = items[-1]
    assert isinstance(done, Completion) and done.text == "Hello there!"
    assert done.finish_reason == "stop" and done.provider == "azure"
    usage = done.usage
    # The double counts words + 3 per message: (2 + 3) + (1 + 3), plus the 2 cached.
    assert (usage.input_tokens, usage.output_tokens, usage.cached_input_tokens) == (11, 2, 2)
    assert usage.source == "provider"
    assert done.timings.ttft_s is not None and 0 < done.timings.ttft_s <= done.timings.total_s


def test_classic_deployment_url_with_api_key_header(azure_double: AzureDouble) -> None:
    provider(azure_double).generate(request(max_tokens=20, stop=("END",)), DEPLOYMENT)
    sent = azure_double.requests[-1]
    assert sent.path == f"/openai/deployments/{DEPLOYMENT}/chat/completions"
    assert sent.query["api-version"] == [CLASSIC]
    assert sent.headers["api-key"] == CANARY
    body = sent.json()
    assert body["messages"][0] == {"role": "system", "content": "be brief"}
    assert body["max_completion_tokens"] == 20 and body["stop"] == ["END"]


def test_v1_api_path_with_bearer_and_no_version_query(azure_double: AzureDouble) -> None:
    provider(azure_double, api_version="v1").generate(request(), DEPLOYMENT)
    sent = azure_double.requests[-1]
    assert sent.path == "/openai/v1/chat/completions" and "api-version" not in sent.query
    assert sent.headers["authorization"] == f"Bearer {CANARY}"
    assert sent.json()["model"] == DEPLOYMENT


def test_endpoint_and_version_from_the_sdks_variables(
    azure_double: AzureDouble, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AZURE_OPENAI_ENDPOINT", azure_double.url)
    monkeypatch.setenv("OPENAI_API_VERSION", "2025-04-01-preview")
    AzureOpenAIProvider(settings={"max_retries": 0}).generate(request(), DEPLOYMENT)
    assert azure_double.requests[-1].query["api-version"] == ["2025-04-01-preview"]


def test_a_blocked_prompt_is_content_filtered(azure_double: AzureDouble) -> None:
    azure_double.block_prompt()
    with pytest.raises(ContentFiltered, match="content management policy"):
        provider(azure_double).generate(request(), DEPLOYMENT)


def test_a_filtered_answer_is_content_filtered(azure_double: AzureDouble) -> None:
    azure_double.reply = ""
    azure_double.finish_reason = "content_filter"
    with pytest.raises(ContentFiltered):
        provider(azure_double).generate(request(), DEPLOYMENT)


@pytest.mark.parametrize(
    ("status", "error"),
    [(401, AuthenticationError), (404, ModelNotFound), (429, RateLimited), (500, ServerError)],
)
def test_http_errors_map_into_the_error_tree(
    azure_double: AzureDouble, status: int, error: type[ProviderError]
) -> None:
    azure_double.fail(status)
    with pytest.raises(error) as caught:
        provider(azure_double).generate(request(), DEPLOYMENT)
    assert type(caught.value) is error and caught.value.status == status


def test_an_unknown_deployment_is_model_not_found(azure_double: AzureDouble) -> None:
    with pytest.raises(ModelNotFound, match="deployment"):
        provider(azure_double).generate(request(), "my-missing-deployment")


def test_retries_say_so_on_stderr_then_succeed(
    azure_double: AzureDouble, capsys: pytest.CaptureFixture[str]
) -> None:
    azure_double.fail(429)
    done = provider(azure_double, max_retries=1).generate(request(), DEPLOYMENT)
    assert done.text == "Hello there!" and len(azure_double.requests) == 2
    assert "retrying in" in capsys.readouterr().err


def test_without_key_or_endpoint_it_says_which_variables_to_set(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("AZURE_OPENAI_API_KEY")
    monkeypatch.delenv("AZURE_OPENAI_ENDPOINT", raising=False)
    availability = AzureOpenAIProvider().available()
    assert not availability
    assert "AZURE_OPENAI_API_KEY" in availability.reason
    assert "AZURE_OPENAI_ENDPOINT" in availability.reason
    with pytest.raises(AuthenticationError, match="AZURE_OPENAI_API_KEY"):
        AzureOpenAIProvider().generate(request(), DEPLOYMENT)


def test_deployments_come_from_the_config() -> None:
    azure = AzureOpenAIProvider(settings={"models": {"simple": "my-mini", "quality": "my-big"}})
    assert azure.catalogue()["simple"] == "my-mini" and azure.default_model() == "my-mini"
