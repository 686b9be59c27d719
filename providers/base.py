"""The types every backend speaks, and the one interface a backend implements.

A backend subclasses `Provider` and implements `stream()`; everything else has a
default. A minimal backend (tests/providers/test_base.py runs this example)::

    >>> class Echo(Provider):
    ...     kind = "echo"
    ...     locality = "in-process"
    ...     privacy = "maximum"
    ...
    ...     def stream(self, request: Request, model: str) -> Iterator[Chunk | Completion]:
    ...         clock = self.stopwatch()
    ...         text = request.messages[-1].content
    ...         clock.token()
    ...         yield Chunk(text)
    ...         yield clock.completion(self, model, text, "stop", Usage.estimate(request, text))
    >>> [item.text for item in Echo().stream(Request.from_prompt("hi"), "echo")]
    ['hi', 'hi']

Every stream yields zero or more `Chunk`s and ends with exactly one `Completion` whose
`finish_reason` is set: the backend saw the answer's final event. The base class makes
every backend keep that contract the same way (`_checked`): whatever a stream raises goes
through `map_error()` into the error tree (providers/error_map.py), and a failure or a
missing final event after text was yielded becomes StreamInterrupted, carrying the text
and the usage reported so far. So a backend reports `finish_reason=None` when the stream
ended early and lets the base class decide.
"""

from __future__ import annotations

import functools
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, Protocol

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

if TYPE_CHECKING:
    from convergio_llm.providers.errors import ProviderError

__all__ = [
    "AVAILABLE",
    "LOCALITIES",
    "SYSTEM_CLOCK",
    "TIERS",
    "Availability",
    "Chunk",
    "Clock",
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


class Clock(Protocol):
    """What a stopwatch reads and a scripted backend sleeps on; tests pass a fake one."""

    def now(self) -> float: ...

    def sleep(self, seconds: float) -> None: ...


class _SystemClock:
    def now(self) -> float:
        return time.perf_counter()

    def sleep(self, seconds: float) -> None:
        if seconds > 0:
            time.sleep(seconds)


SYSTEM_CLOCK: Clock = _SystemClock()


class Stopwatch:
    """Measures one stream: start, first token, last token, end (on `clock`)."""

    def __init__(self, clock: Clock = SYSTEM_CLOCK) -> None:
        self.clock = clock
        self.start = clock.now()
        self.first: float | None = None
        self.last: float | None = None

    def token(self) -> None:
        """Call whenever a chunk with non-empty text is about to be yielded."""
        now = self.clock.now()
        if self.first is None:
            self.first = now
        self.last = now

    def timings(self, **engine: float | None) -> Timings:
        end = self.clock.now()
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
    # What stopwatches read (and the fake backend sleeps on); a test sets a fake clock.
    clock: Clock = SYSTEM_CLOCK
    # The package extra that installs this backend's SDK, when it is not named like `kind`.
    extra: str | None = None

    def __init_subclass__(cls, **kwargs: Any) -> None:
        """A built-in kind takes its facts from providers/manifest.py, not from its class
        body; and every backend's stream() gets the same failure handling, plugins included."""
        super().__init_subclass__(**kwargs)
        known = manifest.facts(cls.kind)
        if known is not None and "kind" in cls.__dict__:
            cls.locality, cls.privacy = known.locality, known.privacy
            cls.secret_env = manifest.secret_env_of(cls.kind)
        own = cls.__dict__.get("stream")
        if own is not None and not getattr(own, "_checked", False):
            cls.stream = _checking(own)  # type: ignore[method-assign,assignment]

    def __init__(self, name: str | None = None, settings: Mapping[str, Any] | None = None) -> None:
        self.name = name or self.kind
        self.settings: Mapping[str, Any] = dict(settings or {})

    def available(self) -> Availability:
        """Cheap check, no generation: package importable, platform right, key set, server up."""
        return AVAILABLE

    def available_offline(self) -> Availability:
        """Like `available()` but without any network probe (used by `models --offline`)."""
        return self.available()

    def available_for(self, model: str) -> Availability:
        """Can `model` in particular run now? `available()` answers for the default model;
        a backend whose models are local files (mlx) checks the one asked for."""
        return self.available()

    def catalogue(self) -> dict[Tier, str]:
        """The default model for each tier, merged with the config's `models:` override."""
        return manifest.with_overrides(self.default_models(), self.settings)  # type: ignore[return-value]

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

    def stopwatch(self) -> Stopwatch:
        return Stopwatch(self.clock)

    def map_error(self, exc: BaseException) -> ProviderError:
        """Any exception out of `stream()` as the error tree (providers/error_map.py)."""
        from convergio_llm.providers.error_map import map_exception

        if isinstance(exc, ImportError):  # an optional dependency is missing: exit 3
            from convergio_llm.providers.errors import ProviderUnavailable

            if manifest.facts(self.kind) is not None:  # a built-in kind: the one wording
                hint = manifest.hint_for_missing_package(self.kind, exc.name)
                return ProviderUnavailable(hint, self.name)
            extra = self.extra or self.kind
            missing = exc.name or str(exc)
            hint = f"pip install 'convergio-llm[{extra}]'"
            return ProviderUnavailable(f"{missing} is not installed: {hint}", self.name)
        return map_exception(exc, self.name)

    def wait_note(self) -> tuple[float, str] | None:
        """(after how many seconds, what to say) on stderr while the server's first piece is
        awaited (providers/cloud.py's `open_stream`); None: say nothing (in-process engines)."""
        return None

    def generate(self, request: Request, model: str) -> Completion:
        for item in self.stream(request, model):
            if isinstance(item, Completion):
                return item
        raise RuntimeError(f"{self.name}: stream ended without a Completion")

    def close(self) -> None:
        """Release clients and engines; called once at process end."""


StreamMethod = Callable[[Provider, Request, str], Iterator[Chunk | Completion]]


def _checking(stream: StreamMethod) -> StreamMethod:
    @functools.wraps(stream)
    def checked(self: Provider, request: Request, model: str) -> Iterator[Chunk | Completion]:
        return _checked(self, request, lambda: stream(self, request, model))

    checked._checked = True  # type: ignore[attr-defined]
    return checked


def _checked(
    provider: Provider, request: Request, open_: Callable[[], Iterator[Chunk | Completion]]
) -> Iterator[Chunk | Completion]:
    """The stream contract, kept once for every backend (see the module docstring)."""
    from convergio_llm.providers import errors

    pieces: list[str] = []
    items: Iterator[Chunk | Completion] | None = None
    try:
        items = open_()
        for item in items:
            if isinstance(item, Completion):
                if item.finish_reason is None:
                    raise _ended_early(provider, item.usage)
                yield item
                return
            if item.text:
                pieces.append(item.text)
            yield item
        raise _ended_early(provider, None)
    except GeneratorExit:
        raise
    except Exception as exc:
        error = provider.map_error(exc)
        # A filter's verdict is not a broken stream: it keeps its own class (and exit code).
        keep = (errors.StreamInterrupted, errors.ContentFiltered)
        if pieces and not isinstance(error, keep):
            error = errors.StreamInterrupted(
                f"failed after output had started: {error}", provider.name, error.status
            )
        if isinstance(error, errors.StreamInterrupted):
            text = "".join(pieces)
            error.text = error.text or text
            reported = error.usage or getattr(exc, "usage", None)
            error.usage = reported or Usage.estimate(request, text)
        raise error from None
    finally:
        # Release the backend's connection now, not when its generator is collected.
        close = getattr(items, "close", None)
        if close is not None:
            close()


def _ended_early(provider: Provider, usage: Usage | None) -> Exception:
    from convergio_llm.providers.errors import ServerError

    error = ServerError(
        "the answer stopped before its final event (no finish reason): it is incomplete",
        provider.name,
    )
    error.usage = usage  # type: ignore[attr-defined]
    return error
