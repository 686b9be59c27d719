"""The rule tree that turns a request and its context into a Decision.

Rules in the seed's priority order, each adding one trace entry, every one evaluated
even after an earlier one has decided (the first deciding rule wins):

    override    -m / --provider / --complexity / --platform     forced
    privacy     --private, config, or private data found          local-only
    offline     --offline, CONVERGIO_LLM_OFFLINE, config, probe   local-only
    budget      remaining budget under threshold, or profile free local-only
    platform    which local engine                                local:<engine>
    complexity  simple / medium / complex                         local | cloud-cheap | cloud-top
    quality     --quality or profile enterprise                   cloud-top

A request kept local by privacy, offline or budget has `local_only` set and a chain
with no cloud provider in it, so a failing local engine can never leak it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from convergio_llm.providers.base import Request, estimate_tokens
from convergio_llm.providers.errors import InputError, NoProviderAvailable
from convergio_llm.providers.registry import split_ref
from convergio_llm.routing.complexity import LABELS, Assessment, assess
from convergio_llm.routing.config import PROFILES
from convergio_llm.routing.context import Context
from convergio_llm.routing.decision import Decision, Target, TraceEntry
from convergio_llm.routing.environment import PLATFORMS
from convergio_llm.routing.tiers import cloud_chain, local_chain, local_engine

DEFAULT_LOW_THRESHOLD_USD = 0.10
# Expected answer length by complexity, capped by max_tokens: an estimate, not a limit.
OUTPUT_GUESS = {"simple": 200, "medium": 500, "complex": 1000}
VERDICT_FOR_TIER = {"simple": "local", "medium": "cloud-cheap", "complex": "cloud-top"}


@dataclass(frozen=True)
class Policy:
    """What the user asked for on the command line; None means "let the rules decide"."""

    model: str | None = None  # provider:model or provider, from -m / --provider
    private: bool | None = None
    offline: bool | None = None
    quality: bool = False
    profile: str | None = None
    complexity: str | None = None
    platform: str | None = None
    budget_remaining: float | None = None
    # Price every tier's model for the trace (what `--explain` shows), not only the chosen one.
    explain: bool = False


@dataclass(frozen=True)
class _Rule:
    entry: TraceEntry
    reason: str | None = None  # set when this rule keeps the request local


def decide(request: Request, context: Context, policy: Policy) -> Decision:
    _check_policy(policy)
    profile = policy.profile or context.config.profile
    platform = policy.platform or context.platform()
    assessment = _assessment(request, context, policy)
    tier = "complex" if (policy.quality or profile == "enterprise") else assessment.label

    privacy = _privacy(request, context, policy)
    budget = _budget(context, policy, profile)
    engine, platform_looked = local_engine(context, platform)
    local = local_chain(context, engine, platform)
    cloud, skipped = cloud_chain(context, tier) if tier != "simple" else ([], {})
    forced = policy.model is not None
    offline, cloud = _offline(context, policy, cloud, privacy.reason or budget.reason, forced)
    local_reason = privacy.reason or offline.reason or budget.reason

    tokens_in = estimate_tokens(request.prompt_text)
    tokens_out = min(request.max_tokens or 10**9, OUTPUT_GUESS[assessment.label])
    complexity = _complexity(
        context, assessment, policy, tier, skipped, local, tokens_in, tokens_out
    )
    trace = [privacy.entry, offline.entry, budget.entry]
    trace.append(TraceEntry("platform", platform_looked, f"local:{engine}"))
    trace += [complexity, _quality(policy, profile)]
    overrides = _overrides(policy)
    if overrides:
        trace.insert(0, TraceEntry("override", overrides, "forced"))

    if forced:
        target, fallbacks, reason = _forced(context, policy), [], "override: -m"
        served = None
    elif local_reason or tier == "simple" or not cloud:
        target, *fallbacks = local
        served, reason = "simple", local_reason or _local_reason(assessment, tier, skipped, policy)
    else:
        target, *rest = cloud
        fallbacks = rest + local
        served, reason = tier, _cloud_reason(assessment, tier, policy, profile)
    cost = context.estimate_cost(target.provider, target.model, tokens_in, tokens_out)
    return Decision(
        request=request,
        provider=target.provider,
        model=target.model,
        tier=served,
        reason=reason,
        complexity=assessment.to_json(),
        estimated_cost_usd=cost,
        fallbacks=tuple(fallbacks),
        trace=tuple(trace),
        local_only=bool(local_reason) and context.is_local(target.provider),
    )


def _check_policy(policy: Policy) -> None:
    if policy.profile is not None and policy.profile not in PROFILES:
        raise InputError(f"--profile must be one of {', '.join(PROFILES)} (got {policy.profile!r})")
    if policy.complexity is not None and policy.complexity not in LABELS:
        raise InputError(
            f"--complexity must be one of {', '.join(LABELS)} (got {policy.complexity!r})"
        )
    if policy.platform is not None and policy.platform not in PLATFORMS:
        raise InputError(
            f"--platform must be one of {', '.join(PLATFORMS)} (got {policy.platform!r})"
        )


def _assessment(request: Request, context: Context, policy: Policy) -> Assessment:
    text = "\n".join(m.content for m in request.messages if m.role != "system")
    found = assess(text, context.config.get("routing.thresholds"))
    if policy.complexity is not None:
        return Assessment(found.score, policy.complexity, found.features)
    return found


def _overrides(policy: Policy) -> dict[str, Any]:
    named = {
        "model": policy.model,
        "complexity": policy.complexity,
        "platform": policy.platform,
    }
    return {k: v for k, v in named.items() if v is not None}


def _privacy(request: Request, context: Context, policy: Policy) -> _Rule:
    config = context.config
    auto = bool(config.get("privacy.auto_detect", True))
    findings: list[dict[str, Any]] = []
    if auto:
        from convergio_llm.routing.privacy import scan

        found = scan(
            request.prompt_text,
            terms=config.get("privacy.terms") or (),
            patterns=context.privacy_patterns(),
            ignore=config.get("privacy.ignore") or (),
        )
        findings = [f.to_json() for f in found]
    looked: dict[str, Any] = {"flag": policy.private, "auto_detect": auto, "findings": findings}
    if policy.private:
        return _Rule(TraceEntry("privacy", looked, "local-only"), "privacy: --private")
    if policy.private is False:
        looked["note"] = "--no-private: cloud allowed"
        return _Rule(TraceEntry("privacy", looked, "pass"))
    if config.get("privacy.required"):
        looked["config"] = "privacy.required"
        return _Rule(TraceEntry("privacy", looked, "local-only"), "privacy: privacy.required")
    if findings:
        kinds = ", ".join(dict.fromkeys(f["kind"] for f in findings))
        return _Rule(TraceEntry("privacy", looked, "local-only"), f"privacy: {kinds} in prompt")
    return _Rule(TraceEntry("privacy", looked, "pass"))


def _offline(
    context: Context, policy: Policy, cloud: list[Target], already_local: str | None, forced: bool
) -> tuple[_Rule, list[Target]]:
    looked: dict[str, Any] = {"flag": policy.offline}
    if policy.offline:
        return _Rule(TraceEntry("offline", looked, "local-only"), "offline: --offline"), []
    if policy.offline is None and context.offline_from_env():
        looked["env"] = "CONVERGIO_LLM_OFFLINE"
        return _Rule(
            TraceEntry("offline", looked, "local-only"), "offline: CONVERGIO_LLM_OFFLINE"
        ), []
    if policy.offline is None and context.config.get("offline"):
        looked["config"] = "offline"
        return _Rule(TraceEntry("offline", looked, "local-only"), "offline: config offline"), []
    if policy.offline is False:
        looked["probe"] = "skipped: --online"
    elif forced:
        looked["probe"] = "skipped: -m names the model"
    elif already_local:
        looked["probe"] = "skipped: already local"
    elif not (remote := [t.provider for t in cloud if not context.is_local(t.provider)]):
        looked["probe"] = "skipped: only local candidates"
    else:
        answers = context.reachable(dict.fromkeys(remote))
        looked["reachable"] = answers
        cloud = [t for t in cloud if answers.get(t.provider, True)]
        if not any(answers.values()):
            reason = "offline: no cloud endpoint answered"
            return _Rule(TraceEntry("offline", looked, "local-only"), reason), []
    return _Rule(TraceEntry("offline", looked, "pass")), cloud


def _budget(context: Context, policy: Policy, profile: str) -> _Rule:
    threshold = float(context.config.get("budgets.low_threshold_usd", DEFAULT_LOW_THRESHOLD_USD))
    looked: dict[str, Any] = {"profile": profile, "threshold_usd": threshold}
    if profile == "free":
        return _Rule(
            TraceEntry("budget", looked, "local-only"), "budget: profile free is local only"
        )
    if policy.budget_remaining is not None:
        remaining: float | None = policy.budget_remaining
        looked["source"] = "--budget-remaining"
    else:
        remaining = context.budget_remaining()
        looked["source"] = "ledger" if remaining is not None else "no budget set"
    looked["remaining_usd"] = remaining
    if remaining is not None and remaining < threshold:
        reason = f"budget: ${remaining:.2f} left, under the ${threshold:.2f} threshold"
        return _Rule(TraceEntry("budget", looked, "local-only"), reason)
    return _Rule(TraceEntry("budget", looked, "pass"))


def _complexity(
    context: Context,
    assessment: Assessment,
    policy: Policy,
    tier: str,
    skipped: dict[str, str],
    local: list[Target],
    tokens_in: int,
    tokens_out: int,
) -> TraceEntry:
    looked: dict[str, Any] = {"score": assessment.score, "label": assessment.label}
    if policy.complexity is not None:
        looked["override"] = policy.complexity
    looked["tokens"] = {"input": tokens_in, "output": tokens_out}
    alternatives: dict[str, Any] = {}
    for label in LABELS if policy.explain else (tier,):
        chain = local if label == "simple" else cloud_chain(context, label)[0]
        if chain:
            t = chain[0]
            usd = context.estimate_cost(t.provider, t.model, tokens_in, tokens_out)
            alternatives[label] = {"target": t.ref, "usd": usd}
    looked["alternatives"] = alternatives
    if skipped and tier != "simple":
        looked["skipped"] = skipped
    return TraceEntry("complexity", looked, VERDICT_FOR_TIER[assessment.label])


def _quality(policy: Policy, profile: str) -> TraceEntry:
    looked: dict[str, Any] = {"flag": policy.quality, "profile": profile}
    wants = policy.quality or profile == "enterprise"
    return TraceEntry("quality", looked, "cloud-top" if wants else "pass")


def _forced(context: Context, policy: Policy) -> Target:
    assert policy.model is not None
    provider, model = split_ref(policy.model)
    flag = "--private" if policy.private else "--offline" if policy.offline else None
    if flag and not context.is_local(provider):
        raise InputError(
            f"{flag} keeps the request local, but -m names the cloud provider '{provider}'"
        )
    model = model or context.default_model(provider)
    if not model:
        raise NoProviderAvailable(f"provider '{provider}' has no default model; use -m")
    return Target(provider, model)


def _local_reason(
    assessment: Assessment, tier: str, skipped: dict[str, str], policy: Policy
) -> str:
    label = f"{assessment.label} ({assessment.score:.2f})"
    if tier == "simple":
        return f"complexity: {label} → local engine"
    why = "; ".join(f"{name}: {text}" for name, text in skipped.items()) or "none configured"
    return f"complexity: {label} wants the cloud, but no cloud provider is available ({why})"


def _cloud_reason(assessment: Assessment, tier: str, policy: Policy, profile: str) -> str:
    if tier == "complex" and policy.quality:
        return "quality: --quality → top cloud tier"
    if tier == "complex" and profile == "enterprise":
        return "quality: profile enterprise → top cloud tier"
    where = "top cloud tier" if tier == "complex" else "cheap cloud tier"
    return f"complexity: {assessment.label} ({assessment.score:.2f}) → {where}"
