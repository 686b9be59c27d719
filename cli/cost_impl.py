"""The body of `llm cost`: read the ledger, total it, price the what-if, print table or JSON.

The what-if takes every answered request in the period with its real token counts and
prices it at each cloud provider's simple/balanced/quality model (cached-input
discounts left out: a local engine's prompt cache says nothing about a vendor's). The
monthly figures scale the period's traffic to 30 days; `--estimate N` scales the
observed mix to N requests a month.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from convergio_llm.cli.context import Environment
from convergio_llm.cli.io import write_json
from convergio_llm.providers.errors import InputError
from convergio_llm.routing import budget
from convergio_llm.routing.ledger import NANO, Ledger, open_ledger

SCHEMA = "convergio-llm/cost/v1"
DAYS_PER_MONTH = 30
_GROUPED = """SELECT date(ts, 'unixepoch', 'localtime'), provider, model,
    SUM(outcome = 'ok'), SUM(outcome != 'ok'), SUM(cache_hit), SUM(input_tokens),
    SUM(output_tokens), SUM(cached_input_tokens), COALESCE(SUM(cost_nusd), 0),
    SUM(outcome = 'ok' AND cost_nusd IS NULL)
    FROM attempts WHERE ts >= ? AND ts < ? GROUP BY 1, 2, 3 ORDER BY 1, 2, 3"""
_TRAFFIC = """SELECT provider, model, input_tokens, output_tokens, COUNT(*),
    COALESCE(SUM(cost_nusd), 0) FROM attempts
    WHERE outcome = 'ok' AND ts >= ? AND ts < ? GROUP BY 1, 2, 3, 4"""


@dataclass(frozen=True)
class CostOptions:
    since: str | None = None
    until: str | None = None
    today: bool = False
    month: bool = False
    what_if: bool = False
    estimate: int | None = None
    json_out: bool = False


@dataclass(frozen=True)
class Period:
    since: date
    until: date  # inclusive
    label: str

    @property
    def start(self) -> float:
        return _epoch(self.since)

    @property
    def end(self) -> float:
        return _epoch(self.until + timedelta(days=1))

    @property
    def observed_days(self) -> int:
        """Days of the period that have begun: what the monthly projection scales from."""
        seconds = min(self.end, time.time()) - self.start
        return max(1, math.ceil(seconds / 86400))


def _epoch(day: date) -> float:
    return datetime(day.year, day.month, day.day).timestamp()


def _parse_day(text: str, option: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise InputError(f"{option} '{text}' is not a date (expected YYYY-MM-DD)") from None


def period_for(options: CostOptions, today: date | None = None) -> Period:
    today = today or date.today()
    chosen = [options.today, options.month, bool(options.since or options.until)]
    if sum(chosen) > 1:
        raise InputError("choose one of --today, --month, or --since/--until")
    if options.today:
        return Period(today, today, "today")
    if options.since or options.until:
        since = _parse_day(options.since, "--since") if options.since else date(1970, 1, 2)
        until = _parse_day(options.until, "--until") if options.until else today
        if until < since:
            raise InputError("--until is before --since")
        return Period(since, until, f"{options.since or 'start'} to {until.isoformat()}")
    first = today.replace(day=1)
    last = (first + timedelta(days=32)).replace(day=1) - timedelta(days=1)
    return Period(first, last, first.strftime("%Y-%m"))


@dataclass
class Tally:
    requests: int = 0
    failed: int = 0
    cache_hits: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    cached_input_tokens: int = 0
    cost_nusd: int = 0
    unpriced: int = 0

    def add(self, values: Iterable[Any]) -> None:
        for name, value in zip(_TALLY_FIELDS, values, strict=True):
            setattr(self, name, getattr(self, name) + int(value or 0))

    def to_json(self) -> dict[str, Any]:
        priced = self.requests - self.unpriced
        return {
            "requests": self.requests,
            "failed_attempts": self.failed,
            "cache_hits": self.cache_hits,
            "input_tokens": self.input_tokens,
            "output_tokens": self.output_tokens,
            "cached_input_tokens": self.cached_input_tokens,
            "cost_usd": self.cost_nusd / NANO,
            "avg_cost_per_request_usd": self.cost_nusd / NANO / priced if priced else None,
            "requests_with_unknown_price": self.unpriced,
        }


_TALLY_FIELDS = tuple(Tally.__dataclass_fields__)


@dataclass
class Report:
    total: Tally = field(default_factory=Tally)
    by_day: dict[str, Tally] = field(default_factory=dict)
    by_provider: dict[str, Tally] = field(default_factory=dict)
    by_model: dict[str, Tally] = field(default_factory=dict)


def spend(ledger: Ledger | None, period: Period) -> Report:
    report = Report()
    rows = [] if ledger is None else ledger.query(_GROUPED, (period.start, period.end))
    for day, provider, model, *values in rows:
        for group, key in (
            (report.by_day, day),
            (report.by_provider, provider),
            (report.by_model, f"{provider}:{model}"),
        ):
            group.setdefault(key, Tally()).add(values)
        report.total.add(values)
    return report


def budgets(config: Any, ledger: Ledger | None) -> list[dict[str, Any]]:
    """Every configured limit as it stands now, whatever period the report covers."""
    found = budget.limits(config)
    for provider in sorted(config.get("budgets.per_provider", {}) or {}):
        found += [lim for lim in budget.limits(config, provider) if lim.provider]
    out = []
    for lim, window in zip(found, budget.windows(found), strict=True):
        used = 0.0 if ledger is None else ledger.spent(window.since, window.provider)
        out.append(
            {
                "budget": lim.label,
                "limit_usd": lim.usd,
                "used_usd": round(used, 9),
                "left_usd": round(max(0.0, lim.usd - used), 9),
            }
        )
    return out


def cost_command(env: Environment, options: CostOptions) -> int:
    period = period_for(options)
    ledger = open_ledger(create=False)
    try:
        report = spend(ledger, period)
        result: dict[str, Any] = {
            "schema": SCHEMA,
            "period": {
                "label": period.label,
                "since": period.since.isoformat(),
                "until": period.until.isoformat(),
            },
            "totals": report.total.to_json(),
            "by_day": _rows(report.by_day, "day"),
            "by_provider": _rows(report.by_provider, "provider"),
            "by_model": _rows(report.by_model, "model"),
            "budgets": budgets(env.config, ledger),
        }
        if options.what_if or options.estimate:
            from convergio_llm.cli.cost_whatif import what_if

            traffic = [] if ledger is None else ledger.query(_TRAFFIC, (period.start, period.end))
            result["what_if"] = what_if(env, traffic, period.observed_days, options.estimate)
    finally:
        if ledger is not None:
            ledger.close()
    if options.json_out:
        write_json(env.stdout, result)
    else:
        from convergio_llm.cli.cost_render import render
        from convergio_llm.cli.width import terminal_width

        env.stdout.write(render(result, terminal_width(env.stdout)))
    env.stdout.flush()
    return 0


def _rows(groups: dict[str, Tally], key: str) -> list[dict[str, Any]]:
    return [{key: name, **tally.to_json()} for name, tally in groups.items()]
