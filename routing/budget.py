"""Budgets from the config (`budgets:`), and what is left of them according to the ledger.

    budgets:
      monthly_usd: 20            # calendar month, local time
      daily_usd: 2               # calendar day, local time
      per_provider: {anthropic: {monthly_usd: 10, daily_usd: 1}}
      on_exceed: refuse          # or `local`: an over-budget cloud call falls through to local
      estimate_output_tokens: 512  # output assumed when a request sets no max_tokens

A call is checked before it is made, with its estimated cost: estimated input tokens
plus `max_tokens` (or `estimate_output_tokens`) of output, at the target's price.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal

from convergio_llm.providers.values import Request, estimate_tokens

if TYPE_CHECKING:
    from convergio_llm.routing.ledger import Window

Period = Literal["day", "month"]
DEFAULT_OUTPUT_ESTIMATE = 512


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


def on_exceed(config: Any) -> str:
    return str(_get(config, "budgets.on_exceed", "refuse"))
