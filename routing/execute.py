"""Run a decision: try its targets in order, stream the first that works, record every attempt.

A target that fails before its first token hands over to the next one. Once text has
reached the caller, switching models would splice two answers together, so a failure
after the first token ends the run (StreamInterrupted) instead.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from convergio_llm.providers.base import Chunk, Completion, Request
from convergio_llm.providers.errors import (
    AllAttemptsFailed,
    LLMError,
    StreamInterrupted,
)
from convergio_llm.providers.registry import Registry
from convergio_llm.routing.decision import Decision, Target


@dataclass
class Attempt:
    provider: str
    model: str
    outcome: str  # "ok" | "error" | "skipped"
    elapsed_s: float
    error_type: str | None = None
    message: str | None = None
    cache_hit: bool = False

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "provider": self.provider,
            "model": self.model,
            "outcome": self.outcome,
            "elapsed_s": round(self.elapsed_s, 6),
        }
        if self.error_type:
            out["error"] = {"type": self.error_type, "message": self.message}
        if self.cache_hit:
            out["cache_hit"] = True
        return out


@dataclass
class Outcome:
    completion: Completion
    attempts: list[Attempt] = field(default_factory=list)
    cache_hit: bool = False
    cost_usd: float | None = None


class Hooks(Protocol):
    """What the ledger, budget and cache plug into (see routing/accounting.py)."""

    def cached(self, target: Target, request: Request) -> Completion | None: ...

    def before_attempt(self, target: Target, request: Request) -> None:
        """Raise BudgetExceeded to refuse this target."""

    def after_attempt(
        self,
        target: Target,
        request: Request,
        completion: Completion | None,
        error: LLMError | None,
        elapsed_s: float,
        cache_hit: bool,
    ) -> float | None:
        """Record the attempt; return its cost in USD when known."""


class NoHooks:
    def cached(self, target: Target, request: Request) -> Completion | None:
        return None

    def before_attempt(self, target: Target, request: Request) -> None:
        return None

    def after_attempt(
        self,
        target: Target,
        request: Request,
        completion: Completion | None,
        error: LLMError | None,
        elapsed_s: float,
        cache_hit: bool,
    ) -> float | None:
        return None


def execute(
    decision: Decision,
    registry: Registry,
    on_text: Callable[[str], None] | None = None,
    hooks: Hooks | None = None,
    on_fallback: Callable[[Attempt, Target], None] | None = None,
) -> Outcome:
    hooks = hooks or NoHooks()
    request = decision.request
    attempts: list[Attempt] = []
    errors: list[LLMError] = []
    targets = decision.targets
    for index, target in enumerate(targets):
        started = time.perf_counter()
        wrote = False
        try:
            cached = hooks.cached(target, request)
            if cached is not None:
                if on_text and cached.text:
                    on_text(cached.text)
                elapsed = time.perf_counter() - started
                cost = hooks.after_attempt(target, request, cached, None, elapsed, True)
                attempts.append(
                    Attempt(target.provider, target.model, "ok", elapsed, cache_hit=True)
                )
                return Outcome(cached, attempts, cache_hit=True, cost_usd=cost)
            hooks.before_attempt(target, request)
            provider = registry.get(target.provider)
            completion: Completion | None = None
            for item in provider.stream(request, target.model):
                if isinstance(item, Chunk):
                    if item.text and on_text:
                        on_text(item.text)
                        wrote = True
                    elif item.text:
                        wrote = True
                else:
                    completion = item
            if completion is None:
                raise StreamInterrupted("stream ended without a final answer", target.provider)
        except LLMError as exc:
            elapsed = time.perf_counter() - started
            error: LLMError = exc
            if wrote and not isinstance(exc, StreamInterrupted):
                error = StreamInterrupted(
                    f"failed after output had started: {exc}", target.provider
                )
            hooks.after_attempt(target, request, None, error, elapsed, False)
            attempt = Attempt(
                target.provider, target.model, "error", elapsed, type(error).__name__, str(error)
            )
            attempts.append(attempt)
            errors.append(error)
            if wrote:
                raise _failed(errors, attempts) from None
            if index + 1 < len(targets) and on_fallback is not None:
                on_fallback(attempt, targets[index + 1])
            continue
        elapsed = time.perf_counter() - started
        cost = hooks.after_attempt(target, request, completion, None, elapsed, False)
        attempts.append(Attempt(target.provider, target.model, "ok", elapsed))
        return Outcome(completion, attempts, cost_usd=cost)
    raise _failed(errors, attempts)


class ExecutionFailed(AllAttemptsFailed):
    """Every target failed; carries the attempts so `--json` can still report them."""

    def __init__(self, message: str, errors: list[LLMError], attempts: list[Attempt]) -> None:
        super().__init__(message, errors[-1] if errors else None)
        self.errors = errors
        self.attempts = attempts


def _failed(errors: list[LLMError], attempts: list[Attempt]) -> ExecutionFailed:
    if len(errors) == 1:
        message = str(errors[0])
    else:
        tried = "; ".join(f"{a.provider}:{a.model}: {a.message}" for a in attempts)
        message = f"all {len(attempts)} attempts failed ({tried})"
    return ExecutionFailed(message, errors, attempts)
