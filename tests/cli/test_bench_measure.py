"""One bench sample timed on an injected clock: the figures are asserted exactly."""

from __future__ import annotations

from collections.abc import Iterator

from convergio_llm.cli.bench_measure import Sample, measure
from convergio_llm.cli.bench_worker import LocalRunner
from convergio_llm.providers.base import Chunk, Completion, Request, Timings, Usage
from convergio_llm.providers.fake import FakeProvider


class Clock:
    """Seconds that pass only when the scripted provider says so."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


class ScriptedProvider(FakeProvider):
    """Streams `words` words: the first after `ttft_s`, each next one `token_s` later."""

    def __init__(self, clock: Clock, ttft_s: float, token_s: float, words: int) -> None:
        super().__init__("scripted")
        self.clock, self.ttft_s, self.token_s, self.words = clock, ttft_s, token_s, words

    def stream(self, request: Request, model: str) -> Iterator[Chunk | Completion]:
        yield Chunk("")  # a role-only first chunk is not a token
        for n in range(self.words):
            self.clock.now += self.ttft_s if n == 0 else self.token_s
            yield Chunk(f"w{n} ")
        self.clock.now += 0.25  # the trailer, after the last token
        usage = Usage(input_tokens=3, output_tokens=self.words)
        yield Completion("…", "stop", usage, Timings(None, 0.0), self.name, model)


def test_ttft_decode_rate_and_end_to_end_come_from_the_clock() -> None:
    clock = Clock()
    provider = ScriptedProvider(clock, ttft_s=0.5, token_s=0.25, words=5)
    sample = measure(provider, Request.from_prompt("hi"), "lorem", Sample("t", "p", 0), clock)
    assert sample.ok and sample.error is None
    assert sample.ttft_s == 0.5
    assert sample.last_token_s == 1.5  # 0.5 + 4 × 0.25
    assert sample.decode_tps == 4.0  # (5 − 1) tokens over 1.0 s
    assert sample.e2e_s == 1.75
    assert (sample.output_tokens, sample.token_source) == (5, "provider")


def test_the_local_runner_times_with_its_clock() -> None:
    clock = Clock()
    runner = LocalRunner(ScriptedProvider(clock, 0.125, 0.5, 3), "lorem", clock=clock)
    sample = runner.sample(Request.from_prompt("hi"), Sample("t", "p", 0))
    assert (sample.ttft_s, sample.decode_tps, sample.e2e_s) == (0.125, 2.0, 1.375)
