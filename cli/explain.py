"""`--explain`: the decision's own trace, rendered for a person, rule by rule.

It reads only the Decision, so the explanation cannot say anything the decision did not
record. Values a rule looked at are summarised; findings show kind and position only.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from convergio_llm.cli.width import fit_line
from convergio_llm.routing.decision import Decision, TraceEntry

# Where a rule's summary starts: "  " + rule (11) + " " + verdict (14) + " ".
SUMMARY_COLUMN = 29


def render(decision: Decision, color: bool = False, width: int | None = None) -> str:
    """The explanation; lines wider than `width` (a terminal's) break between facts."""
    bold, dim, green, yellow, reset = (
        ("\033[1m", "\033[2m", "\033[32m", "\033[33m", "\033[0m") if color else ("",) * 5
    )
    head = f"{bold}→ {decision.provider}:{decision.model}{reset}"
    if decision.id is not None:
        head = f"[{decision.id}] {head}"
    lines = [f"{head}  {decision.reason}"]
    for entry in decision.trace:
        paint = dim if entry.verdict == "pass" else yellow
        lines.append(f"  {entry.rule:<11} {paint}{entry.verdict:<14}{reset} {_summary(entry)}")
    cost = decision.estimated_cost_usd
    lines.append(f"  {'cost':<11} {green}{_usd(cost):<14}{reset} estimated for this request")
    if decision.fallbacks:
        lines.append(f"  {'fallbacks':<11} " + " → ".join(t.ref for t in decision.fallbacks))
    if decision.local_only:
        lines.append(f"  {dim}local only: no fallback leaves this machine{reset}")
    fitted = [part for line in lines for part in fit_line(line, width, SUMMARY_COLUMN)]
    return "\n".join(fitted) + "\n"


def _usd(value: Any) -> str:
    if value is None:
        return "unknown"
    return "free" if value == 0 else f"${value:.4f}"


def _summary(entry: TraceEntry) -> str:
    looked = dict(entry.looked_at)
    summarise = _SUMMARIES.get(entry.rule)
    if summarise is not None:
        return summarise(looked)
    return json.dumps(looked, ensure_ascii=False, default=str)


def _privacy(looked: Mapping[str, Any]) -> str:
    findings = looked.get("findings") or []
    found = ", ".join(f"{f['kind']} at {f['start']}-{f['end']}" for f in findings)
    parts = [f"found {found}" if found else "nothing private found"]
    if looked.get("flag") is not None:
        parts.append("--private" if looked["flag"] else "--no-private")
    if looked.get("config"):
        parts.append(f"config {looked['config']}")
    if not looked.get("auto_detect", True):
        parts.append("auto-detect off")
    return "; ".join(parts)


def _offline(looked: Mapping[str, Any]) -> str:
    if looked.get("flag"):
        return "--offline"
    if looked.get("env"):
        return f"{looked['env']} is set"
    if looked.get("config"):
        return "config offline: true"
    if "reachable" in looked:
        answers = looked["reachable"]
        return "probe: " + ", ".join(f"{k} {'up' if ok else 'down'}" for k, ok in answers.items())
    return str(looked.get("probe", ""))


def _budget(looked: Mapping[str, Any]) -> str:
    if looked.get("profile") == "free":
        return "profile free: local only"
    remaining = looked.get("remaining_usd")
    left = "no budget set" if remaining is None else f"${remaining:.2f} left"
    return f"{left} (threshold ${looked.get('threshold_usd', 0):.2f}, from {looked.get('source')})"


def _platform(looked: Mapping[str, Any]) -> str:
    text = f"platform {looked.get('platform')}"
    if "ollama_answers" in looked:
        text += "; ollama " + ("answers" if looked["ollama_answers"] else "not answering")
    return text


def _complexity(looked: Mapping[str, Any]) -> str:
    text = f"score {looked.get('score')} → {looked.get('label')}"
    if looked.get("override"):
        text += f" (forced by --complexity {looked['override']})"
    why = looked.get("why") or {}
    for direction in ("up", "down"):
        if why.get(direction):
            terms = ", ".join(f"{name} {value:+.2f}" for name, value in why[direction].items())
            text += f"; {direction}: {terms}"
    tokens = looked.get("tokens") or {}
    if tokens:
        text += f"; ~{tokens.get('input')} in / ~{tokens.get('output')} out tokens"
    alternatives = looked.get("alternatives") or {}
    if alternatives:
        text += "; would cost: " + ", ".join(
            f"{tier} {alt['target']} {_usd(alt.get('usd'))}" for tier, alt in alternatives.items()
        )
    skipped = looked.get("skipped") or {}
    if skipped:
        text += "; skipped " + ", ".join(f"{name} ({why})" for name, why in skipped.items())
    return text


def _quality(looked: Mapping[str, Any]) -> str:
    return f"--quality {'on' if looked.get('flag') else 'off'}; profile {looked.get('profile')}"


def _override(looked: Mapping[str, Any]) -> str:
    return ", ".join(f"{k}={v}" for k, v in looked.items())


_SUMMARIES = {
    "privacy": _privacy,
    "offline": _offline,
    "budget": _budget,
    "platform": _platform,
    "complexity": _complexity,
    "quality": _quality,
    "override": _override,
}
