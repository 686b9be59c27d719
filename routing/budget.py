"""Budgets from the config (`budgets:`), and what is left of them according to the ledger.

    budgets:
      monthly_usd: 20            # calendar month, local time
      daily_usd: 2               # calendar day, local time
      per_provider: {anthropic: {monthly_usd: 10, daily_usd: 1}}
      on_exceed: refuse          # or `local`: an over-budget cloud call falls through to local
      estimate_output_tokens: 4096 # max_tokens of a budgeted call that sets none

A budgeted call cannot spend more than is left: before it is made, `max_tokens` (or
`estimate_output_tokens` when the request sets none) is capped to what the remaining
budget can pay at the target's price, and that cap is reserved in the ledger in the same
transaction that reads the spend (so parallel processes cannot overspend together); the
real cost replaces the reservation when the call ends. Input tokens are estimated
(~4 characters a token), so only a prompt far longer in tokens than that could overrun.

A cloud batch (`llm run --jsonl --batch`) is priced whole at submit, at the batch price,
and reserved with a hold that outlives the process (`batch_plan`, BATCH_HOLD_S); a batch
the budget cannot pay is refused before anything is sent, and collecting its results
replaces the hold with what the answers cost.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal

from convergio_llm.providers.values import Request, estimate_tokens

if TYPE_CHECKING:
    from convergio_llm.providers.prices import Price
    from convergio_llm.routing.ledger import Window

Period = Literal["day", "month"]
# Anthropic's own default max_tokens: a budgeted call with no max_tokens is sent this.
DEFAULT_OUTPUT_ESTIMATE = 4096


@dataclass(frozen=True)
class Limit:
    period: Period
    usd: float
    provider: str | None = None

    @property
    def label(self) -> str:
        scope = f"{self.provider} " if self.provider else ""
        return f"{scope}{'daily' if self.period == 'day' else 'monthly'}"


def _get(config: Any, dotted: str, default: Any = None) -> Any:
    return default if config is None else config.get(dotted, default)


def limits(config: Any, provider: str | None = None) -> list[Limit]:
    """The limits a call to `provider` must respect (overall ones only when provider is None)."""
    found: list[Limit] = []
    sections: list[tuple[str | None, Any]] = [(None, _get(config, "budgets") or {})]
    if provider is not None:
        per = (_get(config, "budgets.per_provider") or {}).get(provider) or {}
        sections.append((provider, per))
    for scope, section in sections:
        for period, key in (("month", "monthly_usd"), ("day", "daily_usd")):
            if section.get(key) is not None:
                found.append(Limit(period, float(section[key]), scope))  # type: ignore[arg-type]
    return found


def period_start(period: Period, now: float | None = None) -> float:
    """Epoch seconds at the start of the current local day or month."""
    moment = datetime.fromtimestamp(time.time() if now is None else now)
    start = moment.replace(hour=0, minute=0, second=0, microsecond=0)
    if period == "month":
        start = start.replace(day=1)
    return start.timestamp()


def windows(found: list[Limit], now: float | None = None) -> list[Window]:
    from convergio_llm.routing.ledger import Window

    return [
        Window(lim.label, period_start(lim.period, now), lim.usd, lim.provider) for lim in found
    ]


def remaining_budget(config: Any, provider: str | None = None) -> float | None:
    """USD left in the tightest budget that applies (month/day, overall/provider).

    None when no budget is configured. An unreadable ledger leaves the spend unknown, which
    reads as nothing left: routing keeps requests local rather than spend blind (`llm run`
    with the ledger on reports the damaged file itself, and `--no-ledger` is never blocked).
    """
    found = limits(config, provider)
    if not found:
        return None
    # Imported here: sqlite3 is not needed by a `llm route` without budgets.
    from convergio_llm.routing.ledger import LedgerError, open_ledger

    try:
        ledger = open_ledger(create=False)
    except LedgerError:
        return 0.0
    if ledger is None:
        return min(lim.usd for lim in found)
    try:
        left = [w.usd - ledger.spent(w.since, w.provider) for w in windows(found)]
    finally:
        ledger.close()
    return max(0.0, min(left))


def output_estimate(request: Request, config: Any) -> int:
    if request.max_tokens is not None:
        return request.max_tokens
    return int(_get(config, "budgets.estimate_output_tokens", DEFAULT_OUTPUT_ESTIMATE))


def estimated_cost(provider: str, model: str, request: Request, config: Any) -> float | None:
    """What the call may cost, priced before it is made; None when the price is unknown."""
    from convergio_llm.providers.prices import estimate_cost

    return estimate_cost(
        provider,
        model,
        estimate_tokens(request.prompt_text),
        output_estimate(request, config),
        config,
    )


class CallPlan:
    """A priced call: the output it asks for, and how much of it a budget can pay for."""

    def __init__(self, price: Price, input_tokens: int, wanted: int) -> None:
        self.price = price
        self.input_tokens = input_tokens
        self.wanted = wanted
        self.chosen = wanted  # set by fit()

    def cost(self, output_tokens: int) -> float:
        return self.price.cost(self.input_tokens, output_tokens)

    def fit(self, headroom_usd: float) -> float:
        """The most output (≤ wanted, ≥ 1) that `headroom_usd` pays for, kept in `chosen`;
        its cost is what to reserve. When not even one token fits, that one token's cost
        is returned, and the ledger refuses it, naming the budget (BudgetExceeded)."""
        low, high = 1, self.wanted  # the largest n with cost(n) <= headroom (cost grows with n)
        while low < high:
            mid = (low + high + 1) // 2
            if self.cost(mid) <= headroom_usd:
                low = mid
            else:
                high = mid - 1
        self.chosen = low
        return self.cost(low)


def call_plan(provider: str, model: str, request: Request, config: Any) -> CallPlan | None:
    """The plan for a call that a budget must check; None when it is free or unpriced (an
    unknown price cannot be checked before the call)."""
    from convergio_llm.providers.prices import price_for

    price = price_for(provider, model, config)
    if price is None:
        return None
    plan = CallPlan(price, estimate_tokens(request.prompt_text), output_estimate(request, config))
    return plan if plan.cost(plan.wanted) > 0 else None


def on_exceed(config: Any) -> str:
    return str(_get(config, "budgets.on_exceed", "refuse"))


# A batch's hold lasts until its results are collected, or this long at most: the providers
# keep results for about a month, and a batch nobody collects must not hold budget for ever.
BATCH_HOLD_S = 30 * 86400.0


def batch_plan(
    provider: str, model: str, requests: list[Request], config: Any
) -> tuple[float | None, list[Request]]:
    """What a batch of requests may cost at the batch price, and the requests to send: each
    one without max_tokens gets the output estimate as its cap, so the estimate bounds what
    the batch can cost. (None, the requests unchanged) when the price is unknown or free."""
    from convergio_llm.providers.prices import price_for

    price = price_for(provider, model, config)
    if price is None:
        return None, requests
    total = 0.0
    capped = []
    for request in requests:
        wanted = max(1, output_estimate(request, config))  # as CallPlan.fit: one token at least
        total += price.cost(estimate_tokens(request.prompt_text), wanted, batch=True)
        fixed = request.max_tokens is not None
        capped.append(request if fixed else request.with_params(max_tokens=wanted))
    return (total, capped) if total > 0 else (None, requests)
