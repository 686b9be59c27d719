"""The hooks `execute()` calls around each attempt: cache lookup, budget check, ledger row.

Before a priced call the budget reserves its cost at a `max_tokens` capped to what is
left (refusing it with BudgetExceeded when not even that fits); after the call the
ledger records the real cost in the same transaction that drops the reservation; an
interrupted call is recorded as `interrupted` at what it had reserved. With
`budgets.on_exceed: refuse` (the default) a refused request is refused whole, so it
ends with exit 4; with `local`, only targets that cost money are refused, and the
decision's next (local) target answers instead.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from convergio_llm.providers.base import Completion, Request, Usage
from convergio_llm.providers.errors import BudgetExceeded, LLMError, StreamInterrupted
from convergio_llm.routing import budget
from convergio_llm.routing.boundary import BoundaryRefused
from convergio_llm.routing.cache import ResponseCache, request_hash
from convergio_llm.routing.context import Context
from convergio_llm.routing.decision import Decision, Target
from convergio_llm.routing.execute import Interrupted
from convergio_llm.routing.ledger import Ledger, Row, open_ledger


class Accounting:
    def __init__(
        self,
        config: Any,
        ledger: Ledger | None = None,
        cache: ResponseCache | None = None,
        warn: Callable[[str], None] | None = None,
        is_local: Callable[[str, str], bool] | None = None,
    ) -> None:
        self.config = config
        self._is_local = is_local
        self.ledger = ledger
        self.cache = cache
        self.warn = warn
        # The reservation held by the attempt in flight (attempts run one at a time), and
        # whether its max_tokens was capped by the budget.
        self._pending: tuple[Request, Target, int, bool, float] | None = None
        self._refused: tuple[Request, BudgetExceeded] | None = None
        # How the request in flight was routed, for its ledger rows (see note_decision).
        self._route: tuple[Request, dict[str, Any], Target] | None = None

    def note_decision(self, decision: Decision) -> None:
        """Remember how `decision` was routed, so its attempts' rows say it: score, label,
        deciding rule (the reason's prefix) and, per target, local or cloud."""
        found = decision.complexity
        route = {
            "route_score": found.get("score"),
            "route_label": found.get("label"),
            "route_rule": decision.reason.partition(":")[0] or None,
        }
        self._route = (decision.request, route, Target(decision.provider, decision.model))

    def cached(self, target: Target, request: Request) -> Completion | None:
        if self.cache is None:
            return None
        return self.cache.get(target.provider, target.model, request)

    def before_attempt(self, target: Target, request: Request) -> Request | None:
        """Reserve what the call may cost; return the request with `max_tokens` capped to
        what the budget can pay (budget.py), or None to send it as it is."""
        if self.ledger is None:
            return None
        if self._refused is not None and self._refused[0] is request:
            raise self._refused[1]
        found = budget.limits(self.config, target.provider)
        if not found:
            return None
        plan = budget.call_plan(target.provider, target.model, request, self.config)
        # Free calls never bind a budget; an unknown price cannot be checked before the call.
        if plan is None:
            return None
        try:
            held = self.ledger.reserve(
                target.provider, plan.cost(plan.wanted), budget.windows(found), fit=plan.fit
            )
        except BudgetExceeded as exc:
            if budget.on_exceed(self.config) != "local":
                self._refused = (request, exc)
            raise
        capped = plan.chosen < plan.wanted
        self._pending = (request, target, held, capped, plan.cost(plan.chosen))
        if capped and self.warn is not None:
            self.warn(
                f"budget: max_tokens capped to {plan.chosen} (of {plan.wanted}): what is left "
                f"pays for no more at {target.ref}'s price"
            )
        if capped or request.max_tokens is None:
            return request.with_params(max_tokens=plan.chosen)
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
        reservation, capped, held_usd = None, False, 0.0
        if self._pending is not None and self._pending[0] is request and self._pending[1] == target:
            _, _, reservation, capped, held_usd = self._pending
            self._pending = None
        row, cost = self._row(target, request, completion, error, elapsed_s, cache_hit)
        if isinstance(error, Interrupted):
            # Stopped mid-call: what it cost is unknown, so it is charged what was reserved.
            row = replace(row, outcome="interrupted", cost_usd=held_usd)
        # An answer cut short by the budget's cap is not what the request asks for: not cached.
        if completion is not None and not cache_hit and not capped and self.cache is not None:
            self.cache.put(target.provider, target.model, request, completion)
        if self.ledger is not None:
            self.ledger.record(row, reservation)
        return cost

    def _row(
        self,
        target: Target,
        request: Request,
        completion: Completion | None,
        error: LLMError | None,
        elapsed_s: float,
        cache_hit: bool,
    ) -> tuple[Row, float | None]:
        common: dict[str, Any] = {
            "provider": target.provider,
            "model": target.model,
            "latency_s": elapsed_s,
            "request_hash": request_hash(request),
            "ts": time.time(),
            **self._routing_of(target, request),
        }
        # A stream cut mid-way was billed for what it produced: its usage so far.
        usage: Usage | None = None if completion is None else completion.usage
        if isinstance(error, StreamInterrupted) and isinstance(error.usage, Usage):
            usage = error.usage
        if usage is None:
            refused = isinstance(error, (BudgetExceeded, BoundaryRefused))
            outcome = "refused" if refused else "error"
            error_type = type(error).__name__ if error is not None else None
            # A call that failed before answering reported no usage: nothing is known billed.
            return Row(outcome=outcome, error_type=error_type, cost_usd=0.0, **common), 0.0
        from convergio_llm.providers.prices import price_for

        price = price_for(target.provider, target.model, self.config)
        if cache_hit:
            cost: float | None = 0.0
        elif price is not None:
            cost = price.cost(usage.input_tokens, usage.output_tokens, usage.cached_input_tokens)
        else:
            cost = None
        row = Row(
            outcome="ok" if completion is not None else "error",
            error_type=None if completion is not None else type(error).__name__,
            input_tokens=usage.input_tokens,
            output_tokens=usage.output_tokens,
            cached_input_tokens=usage.cached_input_tokens,
            reasoning_tokens=usage.reasoning_tokens,
            usage_source=usage.source,
            cost_usd=cost,
            ttft_s=completion.timings.ttft_s if completion is not None else None,
            cache_hit=cache_hit,
            price_version=None if price is None else price.version,
            **common,
        )
        return row, cost

    def _routing_of(self, target: Target, request: Request) -> dict[str, Any]:
        fields: dict[str, Any] = {}
        if self._is_local is not None:
            # An unknown provider: its own error is what the attempt reports, not this one.
            with contextlib.suppress(LLMError):
                fields["locality"] = (
                    "local" if self._is_local(target.provider, target.model) else "cloud"
                )
        if self._route is not None and self._route[0] is request:
            fields.update(self._route[1])
            if target != self._route[2] and fields.get("route_rule"):
                fields["route_rule"] = f"{fields['route_rule']} (fallback)"
        return fields


def make_hooks(
    context: Context,
    use_cache: bool = True,
    use_ledger: bool = True,
    warn: Callable[[str], None] | None = None,
) -> Accounting:
    """The hooks for one `llm run` process; opening a broken ledger fails here, in one line."""
    config = context.config
    ledger = None
    if use_ledger and config.get("ledger.enabled", True):
        ledger = open_ledger()
    cache = None
    if use_cache and config.get("cache.enabled", True):
        cache = ResponseCache(
            ttl_days=float(config.get("cache.ttl_days", 30)),
            deterministic_only=bool(config.get("cache.deterministic_only", True)),
            warn=warn,
        )
    return Accounting(config, ledger, cache, warn, is_local=context.is_local)
