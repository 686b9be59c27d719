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

# Real annotations (no `from __future__ import annotations`): typing.NamedTuple would compile
# each string annotation of the records below at every start (tests/test_startup_imports.py).
from typing import Any, NamedTuple

from convergio_llm.providers.errors import InputError, NoProviderAvailable
from convergio_llm.providers.registry import split_ref
from convergio_llm.providers.values import Message, Request, estimate_tokens
from convergio_llm.routing.complexity import DEFAULT_ROUTER, LABELS, Assessment, assess
from convergio_llm.routing.context import Context
from convergio_llm.routing.decision import Decision, Target, TraceEntry
from convergio_llm.routing.rules import (
    VERDICT_FOR_TIER,
    Policy,
    PrivacyConfig,
    Rule,
    budget_rule,
    check_policy,
    cloud_reason,
    local_reason_for,
    offline_rule,
    overrides_of,
    privacy_config,
    privacy_rule,
    quality_entry,
)
from convergio_llm.routing.tiers import cloud_chain, local_chain, local_engine

__all__ = ["Policy", "decide"]

# Expected answer length by complexity, capped by max_tokens: an estimate, not a limit.
OUTPUT_GUESS = {"simple": 200, "medium": 500, "complex": 1000}


class _TierPlan(NamedTuple):
    """Per tier: the cloud chain, why providers were skipped, and the alternatives to price."""

    cloud: tuple[Target, ...]
    skipped: dict[str, str]
    alternatives: tuple[tuple[str, Target], ...]
    why_skipped: str


class _Plan(NamedTuple):
    """The parts of a decision that depend only on the context and the policy, found once
    per pair: `llm route --jsonl` then spends its time on the prompt, not on the config.
    The four containers at the end are filled as requests need them; `_new_plan` gives
    each plan its own."""

    profile: str
    thresholds: Any
    router: str
    privacy: PrivacyConfig
    budget: Rule
    engine: str
    platform: TraceEntry
    local: tuple[Target, ...]
    quality: TraceEntry
    override: TraceEntry | None
    forced: Target | None
    # By tier, and by (tier, already local).
    tiers: dict[str, _TierPlan]
    offline: dict[tuple[str, bool], tuple[Rule, tuple[Target, ...]]]
    is_local: dict[tuple[str, str], bool]
    # The privacy rule for a prompt with nothing found: the same for every such prompt, so
    # one entry (and its JSON text) is shared, like the budget and platform entries.
    no_findings: list[Rule]


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
        reason = local_reason or local_reason_for(assessment, tier, tiers.why_skipped)
    else:
        target, fallbacks = cloud[0], cloud[1:] + plan.local
        served, reason = tier, cloud_reason(assessment, tier, policy, profile)
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
        local_only=bool(local_reason) and _is_local(context, plan, target.provider, target.model),
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
    check_policy(policy)
    config = context.config
    profile = policy.profile or config.profile
    platform = policy.platform or context.platform()
    privacy = privacy_config(context)
    budget = budget_rule(context, policy, profile)
    engine, platform_looked = local_engine(context, platform)
    local = tuple(local_chain(context, engine, platform))
    overrides = overrides_of(policy)
    router = str(config.get("routing.router") or DEFAULT_ROUTER)
    plan = _Plan(
        profile=profile,
        thresholds=_thresholds(config.get("routing.thresholds"), router, local),
        router=router,
        privacy=privacy,
        budget=budget,
        engine=engine,
        platform=TraceEntry("platform", platform_looked, f"local:{engine}"),
        local=local,
        quality=quality_entry(policy, profile),
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


def _thresholds(configured: Any, router: str, local: tuple[Target, ...]) -> Any:
    """`routing.thresholds` over the learned router's calibration for the local model
    that would answer (a 270M model and an 8B one deserve different cut-offs)."""
    if router != "learned" or not local:
        return configured
    from convergio_llm.routing.scorer import calibrated_thresholds

    return {**calibrated_thresholds(local[0].model), **(configured or {})}


def _is_local(context: Context, plan: _Plan, provider: str, model: str) -> bool:
    found = plan.is_local.get((provider, model))
    if found is None:
        found = plan.is_local[provider, model] = context.is_local(provider, model)
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
) -> tuple[Rule, tuple[Target, ...]]:
    # Depends on the prompt only through "is it already local": probes are cached anyway.
    found = plan.offline.get((tier, already_local))
    if found is None:
        reason = "already local" if already_local else None
        rule, kept = offline_rule(context, policy, list(cloud), reason, forced)
        found = plan.offline[(tier, already_local)] = (rule, tuple(kept))
    return found


def _assessment(request: Request, plan: _Plan, policy: Policy) -> Assessment:
    messages = request.messages
    if len(messages) == 1 and messages[0].role != "system":
        text = messages[0].content
    else:
        text = asked_text(messages)
    found = assess(text, plan.thresholds, plan.router)
    if policy.complexity is not None:
        return Assessment(found.score, policy.complexity, found.features)
    return found


def asked_text(messages: tuple[Message, ...]) -> str:
    """What the complexity score reads of a conversation: the user's turns, joined.

    Both scorers were made for text a person wrote (the learned one was trained on single
    user prompts only). An assistant's answer in the history is model prose, code and lists
    that neither learned to read: it would move the score with the answer's length and its
    code blocks, not with the task (a code answer in the history took a follow-up asking
    for a proof from 0.34 to 0.17). Privacy and cost still read every message."""
    asked = [m.content for m in messages if m.role == "user"]
    if not asked:  # no user turn at all: read what there is, as before
        asked = [m.content for m in messages if m.role != "system"]
    return "\n".join(asked)


def _privacy_once(text: str, plan: _Plan, policy: Policy) -> Rule:
    """`privacy_rule`, with the rule for a prompt where nothing is found made once per plan."""
    config = plan.privacy
    found: list[Any] = []
    if config.auto:
        from convergio_llm.routing.privacy import scan

        found = scan(text, terms=config.terms, patterns=config.patterns, ignore=config.ignore)
    if found:
        return privacy_rule([f.to_json() for f in found], config, policy)
    if not plan.no_findings:
        plan.no_findings.append(privacy_rule([], config, policy))
    return plan.no_findings[0]


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
    if policy.explain:  # what pushed the score up or down, for --explain to name
        found = assessment.features
        looked["why"] = {"up": found.get("up") or {}, "down": found.get("down") or {}}
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


def _forced(context: Context, policy: Policy) -> Target:
    assert policy.model is not None
    provider, model = split_ref(policy.model)
    flag = "--private" if policy.private else "--offline" if policy.offline else None
    model = model or context.default_model(provider)
    if flag and not context.is_local(provider, model):
        where = f"target '{provider}:{model}'" if model else f"provider '{provider}'"
        raise InputError(f"{flag} keeps the request local, but -m names the cloud {where}")
    if not model:
        raise NoProviderAvailable(f"provider '{provider}' has no default model; use -m")
    return Target(provider, model)
