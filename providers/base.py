"""The types every backend speaks, and the one interface a backend implements.

A backend subclasses `Provider` and implements `stream()`; everything else has a
default. A minimal backend::

    class Echo(Provider):
        kind = "echo"
        locality = "in-process"
        privacy = "maximum"

        def stream(self, request: Request, model: str) -> Iterator[Chunk | Completion]:
            clock = Stopwatch()
            text = request.messages[-1].content
            clock.first_token()
            yield Chunk(text)
            yield clock.completion(self, model, text, "stop",
                                   Usage.estimate(request, text))

Every stream yields zero or more `Chunk`s and ends with exactly one `Completion`.
"""

from __future__ import annotations

import time
from abc import ABC, abstractmethod
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from convergio_llm.providers import manifest
from convergio_llm.providers.manifest import Locality, Privacy
from convergio_llm.providers.values import (
    AVAILABLE,
    Availability,
    Message,
    Request,
    Role,
    estimate_tokens,
)

__all__ = [
    "AVAILABLE",
    "LOCALITIES",
    "TIERS",
    "Availability",
    "Chunk",
    "Completion",
    "Locality",
    "Message",
    "ModelInfo",
    "Privacy",
    "Provider",
    "Request",
    "Role",
    "Stopwatch",
    "Tier",
    "Timings",
    "Usage",
    "UsageSource",
    "estimate_tokens",
]

UsageSource = Literal["provider", "estimated"]
Tier = Literal["simple", "balanced", "quality"]

TIERS: tuple[Tier, ...] = ("simple", "balanced", "quality")
LOCALITIES: tuple[Locality, ...] = ("in-process", "local-server", "local-network", "cloud")


@dataclass(frozen=True)
class Chunk:
    text: str


@dataclass(frozen=True)
class Usage:
    input_tokens: int
    output_tokens: int
    cached_input_tokens: int = 0
    source: UsageSource = "provider"
    # Reasoning/thinking tokens are billed as output; kept apart so they can be shown.
    reasoning_tokens: int = 0

    @classmethod
    def estimate(cls, request: Request, text: str) -> Usage:
        return cls(
            input_tokens=estimate_tokens(request.prompt_text),
            output_tokens=estimate_tokens(text),
            source="estimated",
        )


@dataclass(frozen=True)
class Timings:
    ttft_s: float | None
    total_s: float
    load_s: float | None = None
    prompt_eval_s: float | None = None
    eval_s: float | None = None
    # When the stream produced its last content chunk, relative to its start.
    last_token_s: float | None = None


@dataclass(frozen=True)
class Completion:
    text: str
    finish_reason: str | None
    usage: Usage
    timings: Timings
    provider: str
    model: str
    # Whatever the engine reported about itself, unmodified (Ollama's nanosecond
    # durations, mlx-lm's tps and peak memory, llama.cpp's timings).
    raw_stats: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ModelInfo:
    provider: str
    name: str
    tier: Tier | None
    context_window: int | None
    locality: Locality
    privacy: Privacy
    loaded: bool | None = None
    details: Mapping[str, Any] = field(default_factory=dict)

    @property
    def ref(self) -> str:
        return f"{self.provider}:{self.name}"


class Stopwatch:
    """Measures one stream: start, first token, last token, end (time.perf_counter)."""

    def __init__(self) -> None:
        self.start = time.perf_counter()
        self.first: float | None = None
        self.last: float | None = None

    def token(self) -> None:
        """Call whenever a chunk with non-empty text is about to be yielded."""
        now = time.perf_counter()
        if self.first is None:
            self.first = now
        self.last = now

    def timings(self, **engine: float | None) -> Timings:
        end = time.perf_counter()
        return Timings(
            ttft_s=None if self.first is None else self.first - self.start,
            total_s=end - self.start,
            last_token_s=None if self.last is None else self.last - self.start,
            **engine,
        )

    def completion(
        self,
        provider: Provider,
        model: str,
        text: str,
        finish_reason: str | None,
        usage: Usage,
        raw_stats: Mapping[str, Any] | None = None,
        **engine: float | None,
    ) -> Completion:
        return Completion(
            text=text,
            finish_reason=finish_reason,
            usage=usage,
            timings=self.timings(**engine),
            provider=provider.name,
            model=model,
            raw_stats=dict(raw_stats or {}),
        )


class Provider(ABC):
    """One backend instance. `name` is the instance name (`vllm`), `kind` the backend (`openai`)."""

    kind: str = ""
    locality: Locality = "cloud"
    privacy: Privacy = "provider-dependent"
    # Environment variables holding this backend's credentials: never printed anywhere.
    secret_env: tuple[str, ...] = ()

    def __init_subclass__(cls, **kwargs: Any) -> None:
        """A built-in kind takes its facts from providers/manifest.py, not from its class body."""
        super().__init_subclass__(**kwargs)
        known = manifest.facts(cls.kind)
        if known is not None and "kind" in cls.__dict__:
            cls.locality, cls.privacy = known.locality, known.privacy
            cls.secret_env = manifest.secret_env_of(cls.kind)

    def __init__(self, name: str | None = None, settings: Mapping[str, Any] | None = None) -> None:
        self.name = name or self.kind
        self.settings: Mapping[str, Any] = dict(settings or {})

    def available(self) -> Availability:
        """Cheap check, no generation: package importable, platform right, key set, server up."""
        return AVAILABLE

    def available_offline(self) -> Availability:
        """Like `available()` but without any network probe (used by `models --offline`)."""
        return self.available()

    def catalogue(self) -> dict[Tier, str]:
        """The default model for each tier, merged with the config's `models:` override."""
        defaults = dict(self.default_models())
        overrides = self.settings.get("models") or {}
        defaults.update({k: v for k, v in overrides.items() if k in TIERS})
        return defaults

    def default_models(self) -> Mapping[Tier, str]:
        known = manifest.facts(self.kind)
        return known.tiers if known is not None else {}  # type: ignore[return-value]

    def default_model(self) -> str | None:
        cat = self.catalogue()
        return cat.get("simple") or cat.get("balanced") or cat.get("quality")

    def models(self, live: bool = True) -> list[ModelInfo]:
        """Every model this backend offers; `live=False` answers from the catalogue, no I/O."""
        return [self.model_info(model, tier) for tier, model in self.catalogue().items()]

    def model_info(self, model: str, tier: Tier | None = None, **extra: Any) -> ModelInfo:
        return ModelInfo(
            provider=self.name,
            name=model,
            tier=tier,
            context_window=extra.pop("context_window", None),
            locality=extra.pop("locality", self.locality),
            privacy=extra.pop("privacy", self.privacy),
            loaded=extra.pop("loaded", None),
            details=extra,
        )

    @abstractmethod
    def stream(self, request: Request, model: str) -> Iterator[Chunk | Completion]:
        """Yield text chunks as they arrive, then exactly one Completion."""

    def generate(self, request: Request, model: str) -> Completion:
        for item in self.stream(request, model):
            if isinstance(item, Completion):
                return item
        raise RuntimeError(f"{self.name}: stream ended without a Completion")

    def close(self) -> None:
        """Release clients and engines; called once at process end."""
