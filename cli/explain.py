"""`--explain`: the decision's own trace, rendered for a person."""

from __future__ import annotations

import json

from convergio_llm.routing.decision import Decision


def render(decision: Decision, color: bool = False) -> str:
    bold, dim, reset = ("\033[1m", "\033[2m", "\033[0m") if color else ("", "", "")
    lines = [f"{bold}→ {decision.provider}:{decision.model}{reset}  ({decision.reason})"]
    for entry in decision.trace:
        looked = json.dumps(dict(entry.looked_at), ensure_ascii=False, default=str)
        lines.append(f"  {entry.rule:<11} {entry.verdict:<14} {dim}{looked}{reset}")
    if decision.fallbacks:
        lines.append("  fallbacks   " + ", ".join(t.ref for t in decision.fallbacks))
    return "\n".join(lines) + "\n"
