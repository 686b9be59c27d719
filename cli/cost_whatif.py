"""`llm cost --what-if`: the seed's break-even, priced from the user's own ledger.

"1,000 requests/month: local $0, cloud $1–$100" (seed §3.3) becomes: this period's
answered requests, each with its real token counts, priced at every cloud provider's
simple / balanced / quality model, against what they actually cost.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from convergio_llm.cli.context import Environment
from convergio_llm.providers.errors import LLMError
from convergio_llm.providers.prices import Price, is_local, price_for
from convergio_llm.routing.ledger import NANO

DAYS_PER_MONTH = 30


@dataclass(frozen=True)
class CloudOption:
    provider: str
    model: str
    tiers: tuple[str, ...]
    price: Price

    @property
    def ref(self) -> str:
        return f"{self.provider}:{self.model}"


def cloud_options(env: Environment) -> list[CloudOption]:
    """Each cloud provider's tier models (its catalogue, config `models:` included) with a price."""
    config = env.config
    found: dict[tuple[str, str], list[str]] = {}
    for name in env.registry.names(include_plugins=False):
        if is_local(name, config):
            continue
        try:
            provider = env.registry.get(name)
        except LLMError:
            continue
        if provider.locality != "cloud":
            continue
        for tier, model in provider.catalogue().items():
            found.setdefault((name, model), []).append(tier)
    options = []
    for (name, model), tiers in found.items():
        price = price_for(name, model, config)
        if price is not None:
            options.append(CloudOption(name, model, tuple(tiers), price))
    return options


def what_if(
    env: Environment, traffic: Sequence[tuple[Any, ...]], observed_days: int, estimate: int | None
) -> dict[str, Any]:
    """`traffic` rows: (provider, model, input_tokens, output_tokens, count, cost_nusd)."""
    requests = sum(int(row[4]) for row in traffic)
    actual = sum(int(row[5]) for row in traffic) / NANO
    local = sum(int(row[4]) for row in traffic if is_local(str(row[0]), env.config))
    scale = DAYS_PER_MONTH / observed_days
    out: dict[str, Any] = {
        "requests": requests,
        "local_requests": local,
        "observed_days": observed_days,
        "actual_usd": actual,
        "actual_monthly_usd": actual * scale,
        "all_cloud": [],
    }
    if estimate is not None:
        out["estimate_requests_per_month"] = estimate
        out["estimate_at_observed_mix_usd"] = actual / requests * estimate if requests else None
    for option in cloud_options(env):
        would = sum(
            int(count) * option.price.cost(int(tokens_in), int(tokens_out))
            for _, _, tokens_in, tokens_out, count, _ in traffic
        )
        row: dict[str, Any] = {
            "model": option.ref,
            "tiers": list(option.tiers),
            "cost_usd": would,
            "saving_usd": would - actual,
            "monthly_cost_usd": would * scale,
            "monthly_saving_usd": (would - actual) * scale,
            "per_1000_requests_usd": would / requests * 1000 if requests else None,
        }
        if estimate is not None:
            row["estimate_usd"] = would / requests * estimate if requests else None
        out["all_cloud"].append(row)
    out["all_cloud"].sort(key=lambda r: r["cost_usd"])
    return out
