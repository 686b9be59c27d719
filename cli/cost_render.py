"""`llm cost` as text tables (tabulate), from the same object `--json` prints."""

from __future__ import annotations

from typing import Any


def usd(value: float | None) -> str:
    """Dollars with the precision small sums need: $12.34, $0.0123, $0."""
    if value is None:
        return "unknown"
    if value == 0:
        return "$0"
    sign = "-" if value < 0 else ""
    value = abs(value)
    return f"{sign}${value:,.2f}" if value >= 1 else f"{sign}${value:.4f}"


def _table(rows: list[list[Any]], headers: list[str], width: int | None) -> str:
    from convergio_llm.cli.width import table

    return table(rows, headers, width) + "\n"


def _spend_rows(groups: list[dict[str, Any]], key: str) -> list[list[Any]]:
    return [
        [
            g[key],
            g["requests"],
            g["failed_attempts"],
            g["input_tokens"],
            g["output_tokens"],
            usd(g["cost_usd"]),
            # No answered request, no average (unknown would read as an unknown price).
            usd(g["avg_cost_per_request_usd"]) if g["requests"] else "-",
        ]
        for g in groups
    ]


def render(result: dict[str, Any], width: int | None = None) -> str:
    """The report as text; tables wrap to `width` (a terminal's), None for full width."""
    period = result["period"]
    total = result["totals"]
    parts = [f"Spend for {period['label']} ({period['since']} to {period['until']})\n"]
    # "failed": attempts that ended without an answer (a fallback took over, or none did).
    columns = ["requests", "failed", "tokens in", "tokens out", "cost", "avg/request"]
    parts.append(_table(_spend_rows([{"total": "total", **total}], "total"), ["", *columns], width))
    if total["requests_with_unknown_price"]:
        parts.append(
            f"{total['requests_with_unknown_price']} request(s) used a model with no known "
            "price: add it under `prices:` in the config.\n"
        )
    for title, key in (("day", "by_day"), ("provider", "by_provider"), ("model", "by_model")):
        if result[key]:
            parts.append(f"\nBy {title}\n")
            parts.append(_table(_spend_rows(result[key], title), [title, *columns], width))
    if result["budgets"]:
        parts.append("\nBudgets\n")
        rows = [
            [b["budget"], usd(b["limit_usd"]), usd(b["used_usd"]), usd(b["left_usd"])]
            for b in result["budgets"]
        ]
        parts.append(_table(rows, ["budget", "limit", "used", "left"], width))
    if "what_if" in result:
        parts.append(render_what_if(result["what_if"], width))
    return "".join(parts)


def render_what_if(w: dict[str, Any], width: int | None = None) -> str:
    parts = [
        f"\nWhat if: {w['requests']} answered request(s) over {w['observed_days']} day(s), "
        f"{w['local_requests']} of them local, actually cost {usd(w['actual_usd'])} "
        f"({usd(w['actual_monthly_usd'])} a month at this rate)\n"
    ]
    estimate = w.get("estimate_requests_per_month")
    if estimate is not None:
        parts.append(
            f"{estimate:,} requests a month at the observed mix: "
            f"{usd(w['estimate_at_observed_mix_usd'])}\n"
        )
    if not w["all_cloud"]:
        parts.append("No priced cloud model is configured to compare with.\n")
        return "".join(parts)
    headers = ["all cloud at", "tier", "would cost", "saving", "a month", "saving a month"]
    headers.append("per 1,000 requests")
    if estimate is not None:
        headers.append(f"{estimate:,}/month")
    rows = []
    for r in w["all_cloud"]:
        row = [
            r["model"],
            "/".join(r["tiers"]),
            usd(r["cost_usd"]),
            usd(r["saving_usd"]),
            usd(r["monthly_cost_usd"]),
            usd(r["monthly_saving_usd"]),
            usd(r["per_1000_requests_usd"]),
        ]
        if estimate is not None:
            row.append(usd(r["estimate_usd"]))
        rows.append(row)
    parts.append(_table(rows, headers, width))
    return "".join(parts)
