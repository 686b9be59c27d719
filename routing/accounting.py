"""The hooks `execute()` calls around each attempt: cache lookup, budget check, ledger row.

Before a cloud call the budget reserves its estimated cost (refusing it with
BudgetExceeded when a limit would be crossed); after the call the ledger records the
real cost in the same transaction that drops the reservation. With
`budgets.on_exceed: refuse` (the default) a refused request is refused whole, so it
ends with exit 4; with `local`, only targets that cost money are refused, and the
decision's next (local) target answers instead.
"""

from __future__ import annotations

import time
from typing import Any

from convergio_llm.providers.base import Completion, Request, Usage
from convergio_llm.providers.errors import BudgetExceeded, LLMError, StreamInterrupted
from convergio_llm.routing import budget
from convergio_llm.routing.cache import ResponseCache, request_hash
from convergio_llm.routing.context import Context
from convergio_llm.routing.decision import Target
from convergio_llm.routing.ledger import Ledger, Row, open_ledger


class Accounting:
    def __init__(
        self, config: Any, ledger: Ledger | None = None, cache: ResponseCache | None = None
    ) -> None:
        self.config = config
        self.ledger = ledger
        self.cache = cache
        # The reservation held by the attempt in flight (attempts run one at a time).
        self._pending: tuple[Request, Target, int] | None = None
        self._refused: tuple[Request, BudgetExceeded] | None = None

    def cached(self, target: Target, request: Request) -> Completion | None:
        if self.cache is None:
            return None
        return self.cache.get(target.provider, target.model, request)

    def before_attempt(self, target: Target, request: Request) -> None:
        if self.ledger is None:
            return
        if self._refused is not None and self._refused[0] is request:
            raise self._refused[1]
        found = budget.limits(self.config, target.provider)
        if not found:
            return
        estimate = budget.estimated_cost(target.provider, target.model, request, self.config)
        # Free calls never bind a budget; an unknown price cannot be checked before the call.
        if not estimate:
            return
        try:
            held = self.ledger.reserve(target.provider, estimate, budget.windows(found))
        except BudgetExceeded as exc:
            if budget.on_exceed(self.config) != "local":
                self._refused = (request, exc)
            raise
        self._pending = (request, target, held)

    def after_attempt(
        self,
        target: Target,
        request: Request,
        completion: Completion | None,
        error: LLMError | None,
        elapsed_s: float,
        cache_hit: bool,
    ) -> float | None:
        reservation = None
        if self._pending is not None and self._pending[0] is request and self._pending[1] == target:
            reservation = self._pending[2]
            self._pending = None
        row, cost = self._row(target, request, completion, error, elapsed_s, cache_hit)
        if completion is not None and not cache_hit and self.cache is not None:
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
        }
        # A stream cut mid-way was billed for what it produced: its usage so far.
        usage: Usage | None = None if completion is None else completion.usage
        if isinstance(error, StreamInterrupted) and isinstance(error.usage, Usage):
            usage = error.usage
        if usage is None:
            outcome = "refused" if isinstance(error, BudgetExceeded) else "error"
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


def make_hooks(context: Context, use_cache: bool = True, use_ledger: bool = True) -> Accounting:
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
        )
    return Accounting(config, ledger, cache)
