"""A deterministic backend with no I/O, so every command can be tried with nothing installed.

Models:
    echo    answers with the last user message, word by word
    lorem   answers with `words` words of filler (setting, 16 by default), cut at `max_tokens`
    fail    raises ProviderUnavailable before the first token
    break   yields one word, then fails (a stream that dies mid-way)

Settings (config `providers:` or the constructor) script the timing, for benchmarks:
`ttft_s` before the first word, `token_s` between words, `load_s` on first use, slept on
the provider's `clock` (a test sets a fake one and gets exact timings). `clock: virtual`
makes that clock one that only moves when slept on, in whatever process the fake runs
(a bench's child worker included): scripted timings then come out exact, on any machine.
For testing how callers survive failures, counted over this instance's `stream()` calls:
`fail_every: k` makes every k-th call raise ServerError before the first word, and
`abort_every: k` makes every k-th call abort the whole process (SIGABRT), as a
segfaulting engine would: only ever set it on a fake that runs in a child process.
Each word counts as one token and usage is reported as the provider's own.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping

from convergio_llm.providers.base import (
    Chunk,
    Completion,
    ModelInfo,
    Provider,
    Request,
    Tier,
    Usage,
)
from convergio_llm.providers.errors import (
    ConfigError,
    ModelNotFound,
    ProviderUnavailable,
    ServerError,
    StreamInterrupted,
)

LOREM = [
    "lorem",
    "ipsum",
    "dolor",
    "sit",
    "amet",
    "consectetur",
    "adipiscing",
    "elit",
    "sed",
    "do",
    "eiusmod",
    "tempor",
    "incididunt",
    "ut",
    "labore",
    "et",
    "dolore",
    "magna",
    "aliqua",
]
MODELS = ("echo", "lorem", "fail", "break")


class VirtualClock:
    """A clock that only moves when slept on: scripted delays, measured exactly."""

    def __init__(self) -> None:
        self.t = 0.0

    def now(self) -> float:
        return self.t

    def sleep(self, seconds: float) -> None:
        self.t += max(seconds, 0.0)


class FakeProvider(Provider):
    kind = "fake"  # locality and default models: providers/manifest.py

    def __init__(self, name: str | None = None, settings: Mapping[str, object] | None = None):
        super().__init__(name, settings)
        self._loaded = False
        self._calls = 0
        if self.settings.get("clock") == "virtual":
            self.clock = VirtualClock()
        elif self.settings.get("clock") not in (None, "system"):
            clock = self.settings["clock"]
            raise ConfigError(f"{self.name}: clock must be 'system' or 'virtual', not {clock!r}")

    def models(self, live: bool = True) -> list[ModelInfo]:
        return [self.model_info(m, _tier(m)) for m in MODELS]

    def _seconds(self, key: str) -> float:
        return float(self.settings.get(key) or 0.0)

    def _words(self, request: Request, model: str) -> list[str]:
        if model == "echo":
            user = [m.content for m in request.messages if m.role == "user"]
            return (user[-1] if user else "").split()
        if model in ("lorem", "break"):
            n = int(self.settings.get("words") or 16)
            return [LOREM[i % len(LOREM)] for i in range(n)]
        raise ModelNotFound(f"model '{model}' not found (fake has {', '.join(MODELS)})", self.name)

    def _every(self, key: str) -> bool:
        k = int(self.settings.get(key) or 0)
        return k > 0 and self._calls % k == 0

    def stream(self, request: Request, model: str) -> Iterator[Chunk | Completion]:
        clock = self.stopwatch()
        self._calls += 1
        if self._every("abort_every"):
            os.abort()
        if self._every("fail_every"):
            raise ServerError(f"fake failure on call {self._calls}", self.name)
        load_s = None
        if not self._loaded:
            load_s = self._seconds("load_s")
            self.clock.sleep(load_s)
            self._loaded = True
        if model == "fail":
            raise ProviderUnavailable("the fake 'fail' model always fails", self.name)
        words = self._words(request, model)
        limit = request.max_tokens if request.max_tokens is not None else len(words)
        finish = "length" if len(words) > limit else "stop"
        words = words[:limit]
        self.clock.sleep(self._seconds("ttft_s"))
        pieces: list[str] = []
        for i, word in enumerate(words):
            if i:
                self.clock.sleep(self._seconds("token_s"))
            piece = word if i == 0 else " " + word
            if request.stop and any(s in "".join(pieces) + piece for s in request.stop):
                finish = "stop"
                break
            clock.token()
            pieces.append(piece)
            yield Chunk(piece)
            if model == "break":
                raise StreamInterrupted("the fake 'break' model stops after one word", self.name)
        text = "".join(pieces)
        usage = Usage(
            input_tokens=sum(len(m.content.split()) for m in request.messages),
            output_tokens=len(pieces),
            source="provider",
        )
        yield clock.completion(self, model, text, finish, usage, load_s=load_s)


def _tier(model: str) -> Tier | None:
    tiers: dict[str, Tier] = {"echo": "simple", "lorem": "balanced"}
    return tiers.get(model)
