"""The capability rule: targets that cannot serve this request are skipped, with the reason
in the trace (an entry named "capabilities", placed before "complexity"):

- an image (-a) to a model with no vision, a --schema to one with no structured output;
- prompt + history + max_tokens that do not fit the model's context window.

A conversation whose history no longer fits any target is handled visibly, by config
`conversations.on_overflow`: `drop` (the default) drops its oldest turns until it fits,
with a one-line notice; `refuse` refuses the request. Nothing is cut silently.

Runs only for what `llm run` sends, after `decide()`, and only when something needs
checking, so `llm route` never pays for it.
"""

from __future__ import annotations

from collections.abc import Callable

from convergio_llm.providers.capabilities import Capabilities, capabilities
from convergio_llm.providers.errors import InputError, LLMError, NoProviderAvailable
from convergio_llm.providers.values import Request, estimate_tokens
from convergio_llm.routing.context import Context
from convergio_llm.routing.decision import Decision, Target, TraceEntry
from convergio_llm.routing.rules import Policy

UNKNOWN = Capabilities(None, True, True)  # nothing known: nothing skipped
DEFAULT_OUTPUT_TOKENS = 256  # what the engines generate when the request sets no max_tokens
# Below these, no window of that kind is too small, so the check is skipped: the cloud's
# come from a table, Ollama's cost a request to /api/show; llama.cpp's (a file header,
# kept) are always checked.
_SMALLEST_WINDOW = {"llamacpp": 0, "ollama": 2048}
_SMALLEST_CLOUD_WINDOW = 100_000


def needed_tokens(request: Request) -> int:
    return estimate_tokens(request.prompt_text) + (request.max_tokens or DEFAULT_OUTPUT_TOKENS)


def why_not(caps: Capabilities, request: Request, tokens: int) -> str | None:
    if request.attachments and not caps.vision:
        return "no vision: cannot take the image (-a)"
    if request.schema is not None and not caps.structured:
        return "no structured output (--schema)"
    if caps.context_window is not None and tokens > caps.context_window:
        return f"~{tokens} tokens do not fit its {caps.context_window}-token context window"
    return None


def _kind(context: Context, provider: str) -> str | None:
    try:
        return context.registry.kind_of(provider)
    except LLMError:
        return None  # an unknown provider fails when it is tried, as it always has


def _caps(context: Context, target: Target) -> Capabilities:
    kind = _kind(context, target.provider)
    if kind is None:
        return UNKNOWN
    settings = context.config.providers.get(target.provider) or {}
    # Ollama's facts come from its server: the registry's instance keeps its answers.
    provider = context.registry.get(target.provider) if kind == "ollama" else None
    return capabilities(kind, target.model, settings, context.config, provider)


def fit(
    decision: Decision,
    context: Context,
    history_turns: int = 0,
    notice: Callable[[str], None] | None = None,
    policy: Policy | None = None,
) -> Decision:
    """The decision with the targets that cannot serve it skipped (and the trace saying so).
    When none is left and the rules allow the cloud, the next tier's targets are tried."""
    request = decision.request
    tokens = needed_tokens(request)
    plain = not (request.attachments or request.schema is not None)
    smallest = min(
        _SMALLEST_WINDOW.get(_kind(context, t.provider) or "", _SMALLEST_CLOUD_WINDOW)
        for t in decision.targets
    )
    if plain and tokens < smallest:
        return decision
    skipped: dict[str, str] = {}
    kept: list[Target] = []
    for target in decision.targets:
        reason = why_not(_caps(context, target), request, tokens)
        if reason:
            skipped[target.ref] = reason
        else:
            kept.append(target)
    if not kept and policy is not None and not (policy.model or decision.local_only):
        wider = _next_tier(decision, context, policy)
        if wider is not None:
            return fit(wider, context, history_turns, notice, policy._replace(complexity="complex"))
    if not kept and history_turns:
        return _overflow(decision, context, history_turns, notice)
    if not kept:
        detail = "; ".join(f"{ref}: {why}" for ref, why in skipped.items())
        raise NoProviderAvailable(f"no target can serve this request ({detail})")
    looked = {
        "tokens": tokens,
        "image": bool(request.attachments),
        "schema": request.schema is not None,
    }
    entry = TraceEntry(
        "capabilities", {**looked, "skipped": skipped}, "skip" if skipped else "pass"
    )
    # A decision fitted before (by `llm route`, piped in) has its entry replaced, not doubled.
    trace = [t for t in decision.trace if t.rule != "capabilities"]
    at = next((i for i, t in enumerate(trace) if t.rule == "complexity"), len(trace))
    trace.insert(at, entry)
    first = kept[0]
    return decision._replace(
        provider=first.provider,
        model=first.model,
        fallbacks=tuple(kept[1:]),
        trace=tuple(trace),
    )


def _next_tier(decision: Decision, context: Context, policy: Policy) -> Decision | None:
    """The decision one tier up (simple → medium → complex), or None at the top."""
    from convergio_llm.routing.decide import decide

    tier = {"simple": "medium", "medium": "complex"}.get(decision.tier or "complex")
    if tier is None or policy.complexity == "complex":
        return None
    return decide(decision.request, context, policy._replace(complexity=tier))


def _overflow(
    decision: Decision, context: Context, turns: int, notice: Callable[[str], None] | None
) -> Decision:
    """History too long for every target: drop the oldest turns, or refuse, by config."""
    how = str(context.config.get("conversations.on_overflow", "drop"))
    request = decision.request
    if how == "refuse":
        raise InputError(
            f"the conversation (~{needed_tokens(request)} tokens) no longer fits the context "
            "window of any target; start a new one, or set conversations.on_overflow: drop"
        )
    system = tuple(m for m in request.messages if m.role == "system")
    rest = [m for m in request.messages if m.role != "system"]
    for dropped in range(1, turns + 1):
        rest = rest[2:]  # the oldest turn: the user's message and the answer
        shorter = decision._replace(request=request.with_params(messages=system + tuple(rest)))
        try:
            out = fit(shorter, context)
        except NoProviderAvailable:
            if dropped == turns:
                raise  # even the new turn alone does not fit
            continue
        if notice:
            notice(f"the conversation no longer fits: dropped its {dropped} oldest turn(s)")
        return out
    raise AssertionError("unreachable: turns >= 1")
