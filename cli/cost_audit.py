"""`llm cost audit`: which requests left the machine, to whom, and which rule allowed it.

Read from the ledger (schema 2 on: each attempt's locality and deciding rule). The ledger
holds no prompt text, so neither does the audit: a request is named by its hash. Attempts
recorded before schema 2 have no locality; they are counted apart, as unknown.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from convergio_llm.cli.context import Environment
from convergio_llm.cli.cost_impl import CostOptions, period_for

_CLOUD = """SELECT ts, provider, model, route_rule, route_label, route_score, outcome,
    cost_nusd, request_hash FROM attempts
    WHERE locality = 'cloud' AND ts >= ? AND ts < ? ORDER BY ts, id"""
_COUNTS = """SELECT COALESCE(locality, 'unknown'), COUNT(*) FROM attempts
    WHERE ts >= ? AND ts < ? GROUP BY 1"""


def audit_command(env: Environment, *, since: str | None, until: str | None, json_out: bool) -> int:
    from convergio_llm.routing.ledger import from_nano, open_ledger

    period = period_for(CostOptions(since=since, until=until))
    env.config  # noqa: B018 (no setting is read, but a broken config is said here too)
    ledger = open_ledger(create=False)
    cloud: list[tuple[Any, ...]] = []
    counts: dict[str, int] = {}
    if ledger is not None:
        try:
            cloud = ledger.query(_CLOUD, (period.start, period.end))
            counts = {k: int(n) for k, n in ledger.query(_COUNTS, (period.start, period.end))}
        finally:
            ledger.close()
    attempts = [
        {
            "time": datetime.fromtimestamp(ts).isoformat(timespec="seconds"),
            "provider": provider,
            "model": model,
            "rule": rule,
            "label": label,
            "score": score,
            "outcome": outcome,
            "cost_usd": from_nano(cost),
            "request_hash": request_hash,
        }
        for ts, provider, model, rule, label, score, outcome, cost, request_hash in cloud
    ]
    groups: dict[tuple[str, str, str], int] = {}
    for a in attempts:
        key = (a["provider"], a["model"], a["rule"] or "unknown")
        groups[key] = groups.get(key, 0) + 1
    summary: dict[str, Any] = {
        "period": {"since": period.since.isoformat(), "until": period.until.isoformat()},
        "attempts": {k: counts.get(k, 0) for k in ("local", "cloud", "unknown")},
        "cloud_by_target_and_rule": [
            {"provider": p, "model": m, "rule": r, "attempts": n}
            for (p, m, r), n in sorted(groups.items())
        ],
    }
    if json_out:
        env.stdout.write(json.dumps({**summary, "cloud_attempts": attempts}) + "\n")
        return 0
    c = summary["attempts"]
    lines = [
        f"{period.label}: {c['cloud']} attempts left the machine, {c['local']} stayed local"
        + (f", {c['unknown']} recorded before routing was logged" if c["unknown"] else "")
    ]
    for g in summary["cloud_by_target_and_rule"]:
        lines.append(f"  {g['attempts']:>6}  {g['provider']}:{g['model']}  allowed by {g['rule']}")
    env.stdout.write("\n".join(lines) + "\n")
    return 0
