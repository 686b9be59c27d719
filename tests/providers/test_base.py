"""providers/base.py: its interface example runs, and the stream contract it keeps."""

from __future__ import annotations

import doctest
from collections.abc import Iterator

import pytest

from convergio_llm.providers import base
from convergio_llm.providers.base import Chunk, Completion, Provider, Request, Usage
from convergio_llm.providers.errors import ServerError, StreamInterrupted
from convergio_llm.providers.fake import FakeProvider


def test_the_interface_example_in_the_docstring_runs() -> None:
    results = doctest.testmod(base, raise_on_error=False)
    assert results.attempted >= 2 and results.failed == 0


class Engine(Provider):
    """An in-process engine whose library raises its own exceptions."""

    kind = "engine"
    locality = "in-process"
    privacy = "maximum"

    def __init__(self, fail_after: int | None, finish: str | None = "stop") -> None:
        super().__init__()
        self.fail_after = fail_after
        self.finish = finish

    def stream(self, request: Request, model: str) -> Iterator[Chunk | Completion]:
        clock = self.stopwatch()
        for i, word in enumerate(["one", " two"]):
            if i == self.fail_after:
                raise RuntimeError("GGML_ASSERT failed")
            clock.token()
            yield Chunk(word)
        usage = Usage(5, 2)
        yield clock.completion(self, model, "one two", self.finish, usage)


def test_an_engine_exception_before_text_is_a_provider_error_so_fallback_works() -> None:
    with pytest.raises(ServerError, match="RuntimeError: GGML_ASSERT failed"):
        list(Engine(fail_after=0).stream(Request.from_prompt("hi"), "m"))


def test_an_engine_exception_after_text_is_stream_interrupted_with_the_text() -> None:
    with pytest.raises(StreamInterrupted, match="GGML_ASSERT") as caught:
        list(Engine(fail_after=1).stream(Request.from_prompt("hi"), "m"))
    assert caught.value.text == "one"
    assert isinstance(caught.value.usage, Usage) and caught.value.usage.output_tokens > 0


def test_a_completion_without_finish_reason_is_incomplete_and_keeps_its_usage() -> None:
    with pytest.raises(StreamInterrupted, match="final event") as caught:
        list(Engine(fail_after=None, finish=None).stream(Request.from_prompt("hi"), "m"))
    assert caught.value.usage == Usage(5, 2)


class StepClock:
    """A clock that only moves when slept on, or by `step` on every reading."""

    def __init__(self, step: float = 0.0) -> None:
        self.t = 100.0
        self.step = step

    def now(self) -> float:
        self.t += self.step
        return self.t

    def sleep(self, seconds: float) -> None:
        self.t += seconds


def test_the_fake_provider_timings_are_exact_on_an_injected_clock() -> None:
    fake = FakeProvider(settings={"ttft_s": 0.25, "token_s": 0.5, "load_s": 2.0, "words": 3})
    fake.clock = StepClock()
    items = list(fake.stream(Request.from_prompt("hi"), "lorem"))
    done = items[-1]
    assert isinstance(done, Completion)
    assert done.timings.load_s == 2.0
    assert done.timings.ttft_s == 2.25  # load, then the wait for the first word
    assert done.timings.last_token_s == 3.25
    assert done.timings.total_s == 3.25


class NeedsAPackage(Provider):
    kind = "needs"

    def stream(self, request: Request, model: str) -> Iterator[Chunk | Completion]:
        import convergio_llm_no_such_sdk  # type: ignore[import-not-found]  # noqa: F401

        yield Chunk("never")


def test_a_missing_optional_dependency_is_unavailable_with_what_to_install() -> None:
    from convergio_llm.cli.exit_status import status_for
    from convergio_llm.providers.errors import ProviderUnavailable

    with pytest.raises(ProviderUnavailable) as caught:
        list(NeedsAPackage().stream(Request.from_prompt("hi"), "m"))
    assert "convergio_llm_no_such_sdk is not installed" in str(caught.value)
    assert "pip install 'convergio-llm[needs]'" in str(caught.value)
    assert int(status_for(caught.value)) == 3
