"""Run a decision: try its targets in order, stream the first that works, record every attempt.

A target that fails before its first token hands over to the next one. Once text has
reached the caller, switching models would splice two answers together, so a failure
after the first token ends the run (StreamInterrupted) instead.

Before anything is sent, every target (the primary and each fallback, whatever the
decision's JSON says) is checked against the boundary the request requires
(routing/boundary.py): a cloud target across it is refused, recorded as a `refused`
attempt, and the next target is tried; when none is allowed the run ends with
BoundaryRefused (exit 3, "no provider available").
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
    ProviderError,
    StreamInterrupted,
)
from convergio_llm.providers.registry import Registry
from convergio_llm.routing.boundary import Boundary, BoundaryRefused, private_kinds
from convergio_llm.routing.decision import Decision, Target


@dataclass
class Attempt:
    provider: str
    model: str
    outcome: str  # "ok" | "error" | "refused" (across the boundary: nothing sent)
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

    def before_attempt(self, target: Target, request: Request) -> Request | None:
        """Raise BudgetExceeded to refuse this target; return a request to send instead
        (max_tokens capped by a budget), or None to send this one."""

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

    def before_attempt(self, target: Target, request: Request) -> Request | None:
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
    boundary: Boundary | None = None,
    on_notice: Callable[[str], None] | None = None,
) -> Outcome:
    hooks = hooks or NoHooks()
    request = decision.request
    check = _BoundaryCheck(boundary or Boundary(), registry, request, on_notice)
    attempts: list[Attempt] = []
    errors: list[LLMError] = []
    targets = decision.targets
    for index, target in enumerate(targets):
        started = time.perf_counter()
        wrote = False
        try:
            check(target)
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
            sent = hooks.before_attempt(target, request) or request
            provider = registry.get(target.provider)
            completion: Completion | None = None
            for item in provider.stream(sent, target.model):
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
            outcome = "refused" if isinstance(error, BoundaryRefused) else "error"
            attempt = Attempt(
                target.provider, target.model, outcome, elapsed, type(error).__name__, str(error)
            )
            attempts.append(attempt)
            errors.append(error)
            if wrote:
                raise _failed(errors, attempts) from None
            if index + 1 < len(targets) and on_fallback is not None:
                on_fallback(attempt, targets[index + 1])
            continue
        except BaseException as exc:
            # Ctrl-C, SIGTERM (cli/run turns it into KeyboardInterrupt), a stdout that
            # cannot be written: the attempt still gets its ledger row, then the run ends.
            elapsed = time.perf_counter() - started
            stopped = Interrupted(f"{type(exc).__name__}: {exc}".rstrip(": "), target.provider)
            hooks.after_attempt(target, request, None, stopped, elapsed, False)
            raise
        elapsed = time.perf_counter() - started
        cost = hooks.after_attempt(target, request, completion, None, elapsed, False)
        attempts.append(Attempt(target.provider, target.model, "ok", elapsed))
        return Outcome(completion, attempts, cost_usd=cost)
    raise _failed(errors, attempts)


class Interrupted(ProviderError):
    """The run was stopped during this attempt (signal, or an output that failed)."""


def _is_cloud(target: Target, registry: Registry, trust_local_network: bool) -> bool:
    """Whether this target runs off this machine. The one place the executor asks, with the
    registry's per-target locality (providers/manifest.py: host, model name, remote flags):
    an Ollama `-cloud` model or a public OLLAMA_HOST is cloud, a LAN host is unless trusted."""
    where = registry.locality_of(target.provider, target.model)
    if where == "local-network":
        return not trust_local_network
    return where == "cloud"


class _BoundaryCheck:
    """Refuses a cloud target across the boundary; scans what is sent once per request."""

    def __init__(
        self,
        boundary: Boundary,
        registry: Registry,
        request: Request,
        on_notice: Callable[[str], None] | None,
    ) -> None:
        self.boundary = boundary
        self.registry = registry
        self.request = request
        self.on_notice = on_notice
        self._kinds: list[str] | None = None
        self._noticed = False

    def __call__(self, target: Target) -> None:
        boundary = self.boundary
        if boundary.local_only is None and boundary.privacy is None:
            return
        if not _is_cloud(target, self.registry, boundary.trust_local_network):
            return
        if boundary.local_only is not None:
            raise BoundaryRefused(
                f"refused {target.ref}: a cloud target, and this request must stay on this "
                f"machine ({boundary.local_only})"
            )
        if boundary.privacy is None:
            return
        if self._kinds is None:
            self._kinds = private_kinds(self.request, boundary.privacy)
        if not self._kinds:
            return
        kinds = ", ".join(self._kinds)
        if not boundary.explicit_cloud:
            raise BoundaryRefused(
                f"refused {target.ref}: the request holds private data ({kinds}); "
                "use --private for a local model, or -m / --no-private to send it anyway"
            )
        if not self._noticed and self.on_notice is not None:
            self._noticed = True
            self.on_notice(
                f"privacy: the request holds {kinds}; sending it to {target.ref} anyway "
                "(chosen with -m or --no-private)"
            )


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
