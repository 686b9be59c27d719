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
from typing import Any, NamedTuple

from convergio_llm.providers.errors import InputError, NoProviderAvailable
from convergio_llm.providers.registry import split_ref
from convergio_llm.providers.values import Request, estimate_tokens
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


# Small internal records are NamedTuples: a frozen dataclass costs ~0.5 ms to define,
# and `llm route` defines every class on every start.
class _Rule(NamedTuple):
    entry: TraceEntry
    reason: str | None = None  # set when this rule keeps the request local


class _Plan(NamedTuple):
    """The parts of a decision that depend only on the context and the policy, found once
    per pair: `llm route --jsonl` then spends its time on the prompt, not on the config.
    The four containers at the end are filled as requests need them; `_new_plan` gives
    each plan its own."""

    profile: str
    thresholds: Any
    privacy: _PrivacyConfig
    budget: _Rule
    engine: str
    platform: TraceEntry
    local: tuple[Target, ...]
    quality: TraceEntry
    override: TraceEntry | None
    forced: Target | None
    # By tier, and by (tier, already local).
    tiers: dict[str, _TierPlan]
    offline: dict[tuple[str, bool], tuple[_Rule, tuple[Target, ...]]]
    is_local: dict[str, bool]
    # The privacy rule for a prompt with nothing found: the same for every such prompt, so
    # one entry (and its JSON text) is shared, like the budget and platform entries.
    no_findings: list[_Rule]


class _PrivacyConfig(NamedTuple):
    auto: bool
    terms: Any
    patterns: Any
    ignore: Any
    required: bool


class _TierPlan(NamedTuple):
    """Per tier: the cloud chain, why providers were skipped, and the alternatives to price."""

    cloud: tuple[Target, ...]
    skipped: dict[str, str]
    alternatives: tuple[tuple[str, Target], ...]
    why_skipped: str


def _why_skipped(skipped: dict[str, str]) -> str:
    text = "; ".join(f"{name}: {why}" for name, why in skipped.items())
    return text or "none configured"


def decide(request: Request, context: Context, policy: Policy, id: str | None = None) -> Decision:
    plan = _plan(context, policy)
    assessment = _assessment(request, plan, policy)
    profile = plan.profile
    tier = "complex" if (policy.quality or profile == "enterprise") else assessment.label

    # The same text as request.prompt_text, without a join for the usual one message.
    messages = request.messages
    prompt_text = messages[0].content if len(messages) == 1 else request.prompt_text
    privacy = _privacy_once(prompt_text, plan, policy)
    budget = plan.budget
    tiers = _tier_plan(context, policy, plan, tier)
    forced = policy.model is not None
    offline, cloud = _offline_once(
        context, policy, plan, tier, tiers.cloud, bool(privacy.reason or budget.reason), forced
    )
    local_reason = privacy.reason or offline.reason or budget.reason

    tokens_in = estimate_tokens(prompt_text)
    tokens_out = min(request.max_tokens or 10**9, OUTPUT_GUESS[assessment.label])
    complexity = _complexity(context, assessment, policy, tier, tiers, tokens_in, tokens_out)
    trace: tuple[TraceEntry, ...] = (
        privacy.entry,
        offline.entry,
        budget.entry,
        plan.platform,
        complexity,
        plan.quality,
    )
    if plan.override is not None:
        trace = (plan.override, *trace)

    fallbacks: tuple[Target, ...]
    served: str | None
    if plan.forced is not None:
        target, fallbacks, reason = plan.forced, (), "override: -m"
        served = None
    elif local_reason or tier == "simple" or not cloud:
        target, fallbacks = plan.local[0], plan.local[1:]
        served = "simple"
        reason = local_reason or _local_reason(assessment, tier, tiers.why_skipped)
    else:
        target, fallbacks = cloud[0], cloud[1:] + plan.local
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
        fallbacks=fallbacks,
        trace=trace,
        local_only=bool(local_reason) and _is_local(context, plan, target.provider),
        id=id,
    )


def _plan(context: Context, policy: Policy) -> _Plan:
    last = context._memo.get("decide.last")
    if last is not None and last[0] is policy:  # the common case: one policy per process
        return last[1]  # type: ignore[no-any-return]
    key = ("decide.plan", policy)
    plan: _Plan | None = context._memo.get(key)
    if plan is not None:
        context._memo["decide.last"] = (policy, plan)
        return plan
    _check_policy(policy)
    config = context.config
    profile = policy.profile or config.profile
    platform = policy.platform or context.platform()
    auto = bool(config.get("privacy.auto_detect", True))
    privacy = _PrivacyConfig(
        auto=auto,
        terms=tuple(config.get("privacy.terms") or ()),
        patterns=tuple(context.privacy_patterns()) if auto else (),
        ignore=frozenset(config.get("privacy.ignore") or ()),
        required=bool(config.get("privacy.required")),
    )
    budget = _budget(context, policy, profile)
    engine, platform_looked = local_engine(context, platform)
    local = tuple(local_chain(context, engine, platform))
    overrides = _overrides(policy)
    plan = _Plan(
        profile=profile,
        thresholds=config.get("routing.thresholds"),
        privacy=privacy,
        budget=budget,
        engine=engine,
        platform=TraceEntry("platform", platform_looked, f"local:{engine}"),
        local=local,
        quality=_quality(policy, profile),
        override=TraceEntry("override", overrides, "forced") if overrides else None,
        forced=_forced(context, policy) if policy.model is not None else None,
        tiers={},
        offline={},
        is_local={},
        no_findings=[],
    )
    context._memo[key] = plan
    context._memo["decide.last"] = (policy, plan)
    return plan


def _is_local(context: Context, plan: _Plan, provider: str) -> bool:
    found = plan.is_local.get(provider)
    if found is None:
        found = plan.is_local[provider] = context.is_local(provider)
    return found


def _tier_plan(context: Context, policy: Policy, plan: _Plan, tier: str) -> _TierPlan:
    found = plan.tiers.get(tier)
    if found is not None:
        return found
    cloud, skipped = cloud_chain(context, tier) if tier != "simple" else ([], {})
    alternatives = []
    for label in LABELS if policy.explain else (tier,):
        chain = list(plan.local) if label == "simple" else cloud_chain(context, label)[0]
        if chain:
            alternatives.append((label, chain[0]))
    found = plan.tiers[tier] = _TierPlan(
        tuple(cloud), skipped, tuple(alternatives), _why_skipped(skipped)
    )
    return found


def _offline_once(
    context: Context,
    policy: Policy,
    plan: _Plan,
    tier: str,
    cloud: tuple[Target, ...],
    already_local: bool,
    forced: bool,
) -> tuple[_Rule, tuple[Target, ...]]:
    # Depends on the prompt only through "is it already local": probes are cached anyway.
    found = plan.offline.get((tier, already_local))
    if found is None:
        reason = "already local" if already_local else None
        rule, kept = _offline(context, policy, list(cloud), reason, forced)
        found = plan.offline[(tier, already_local)] = (rule, tuple(kept))
    return found


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


def _assessment(request: Request, plan: _Plan, policy: Policy) -> Assessment:
    messages = request.messages
    if len(messages) == 1 and messages[0].role != "system":
        text = messages[0].content
    else:
        text = "\n".join(m.content for m in messages if m.role != "system")
    found = assess(text, plan.thresholds)
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


def _privacy_once(text: str, plan: _Plan, policy: Policy) -> _Rule:
    """`_privacy`, with the rule for a prompt where nothing is found made once per plan."""
    config = plan.privacy
    found: list[Any] = []
    if config.auto:
        from convergio_llm.routing.privacy import scan

        found = scan(text, terms=config.terms, patterns=config.patterns, ignore=config.ignore)
    if found:
        return _privacy([f.to_json() for f in found], config, policy)
    if not plan.no_findings:
        plan.no_findings.append(_privacy([], config, policy))
    return plan.no_findings[0]


def _privacy(findings: list[dict[str, Any]], config: _PrivacyConfig, policy: Policy) -> _Rule:
    looked: dict[str, Any] = {
        "flag": policy.private,
        "auto_detect": config.auto,
        "findings": findings,
    }
    if policy.private:
        return _Rule(TraceEntry("privacy", looked, "local-only"), "privacy: --private")
    if policy.private is False:
        looked["note"] = "--no-private: cloud allowed"
        return _Rule(TraceEntry("privacy", looked, "pass"))
    if config.required:
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
    tiers: _TierPlan,
    tokens_in: int,
    tokens_out: int,
) -> TraceEntry:
    looked: dict[str, Any] = {"score": assessment.score, "label": assessment.label}
    if policy.complexity is not None:
        looked["override"] = policy.complexity
    looked["tokens"] = {"input": tokens_in, "output": tokens_out}
    looked["alternatives"] = {
        label: {
            "target": t.ref,
            "usd": context.estimate_cost(t.provider, t.model, tokens_in, tokens_out),
        }
        for label, t in tiers.alternatives
    }
    if tiers.skipped and tier != "simple":
        looked["skipped"] = tiers.skipped
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


def _local_reason(assessment: Assessment, tier: str, why_skipped: str) -> str:
    label = f"{assessment.label} ({assessment.score:.2f})"
    if tier == "simple":
        return f"complexity: {label} → local engine"
    return (
        f"complexity: {label} wants the cloud, but no cloud provider is available ({why_skipped})"
    )


def _cloud_reason(assessment: Assessment, tier: str, policy: Policy, profile: str) -> str:
    if tier == "complex" and policy.quality:
        return "quality: --quality → top cloud tier"
    if tier == "complex" and profile == "enterprise":
        return "quality: profile enterprise → top cloud tier"
    where = "top cloud tier" if tier == "complex" else "cheap cloud tier"
    return f"complexity: {assessment.label} ({assessment.score:.2f}) → {where}"
