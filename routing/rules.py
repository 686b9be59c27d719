"""The rules of the decision tree, one function each: what a rule looked at, its verdict,
and (for the rules that can keep a request local) why. `decide.py` runs them in order;
the module docstring there draws the tree.
"""

# Real annotations (no `from __future__ import annotations`): typing.NamedTuple would compile
# each string annotation of the records below at every start (tests/test_startup_imports.py).
from typing import Any, NamedTuple

from convergio_llm.providers.errors import InputError
from convergio_llm.routing.complexity import LABELS, Assessment
from convergio_llm.routing.config import PROFILES
from convergio_llm.routing.context import Context
from convergio_llm.routing.decision import Target, TraceEntry
from convergio_llm.routing.environment import PLATFORMS

DEFAULT_LOW_THRESHOLD_USD = 0.10
VERDICT_FOR_TIER = {"simple": "local", "medium": "cloud-cheap", "complex": "cloud-top"}


class Policy(NamedTuple):
    """What the user asked for on the command line; None means "let the rules decide".

    A NamedTuple like the other records of a decision (see decision.py): change one with
    `policy._replace(...)`."""

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


# Small internal records are NamedTuples too.
class Rule(NamedTuple):
    entry: TraceEntry
    reason: str | None = None  # set when this rule keeps the request local


class PrivacyConfig(NamedTuple):
    auto: bool
    terms: Any
    patterns: Any
    ignore: Any
    required: bool


def privacy_config(context: Context) -> PrivacyConfig:
    """The privacy settings from the config, as routing and the executor's scan use them."""
    config = context.config
    auto = bool(config.get("privacy.auto_detect", True))
    return PrivacyConfig(
        auto=auto,
        terms=tuple(config.get("privacy.terms") or ()),
        patterns=tuple(context.privacy_patterns()) if auto else (),
        ignore=frozenset(config.get("privacy.ignore") or ()),
        required=bool(config.get("privacy.required")),
    )


def check_policy(policy: Policy) -> None:
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


def overrides_of(policy: Policy) -> dict[str, Any]:
    named = {
        "model": policy.model,
        "complexity": policy.complexity,
        "platform": policy.platform,
    }
    return {k: v for k, v in named.items() if v is not None}


def privacy_rule(findings: list[dict[str, Any]], config: PrivacyConfig, policy: Policy) -> Rule:
    looked: dict[str, Any] = {
        "flag": policy.private,
        "auto_detect": config.auto,
        "findings": findings,
    }
    if policy.private:
        return Rule(TraceEntry("privacy", looked, "local-only"), "privacy: --private")
    if policy.private is False:
        looked["note"] = "--no-private: cloud allowed"
        return Rule(TraceEntry("privacy", looked, "pass"))
    if config.required:
        looked["config"] = "privacy.required"
        return Rule(TraceEntry("privacy", looked, "local-only"), "privacy: privacy.required")
    if findings:
        kinds = ", ".join(dict.fromkeys(f["kind"] for f in findings))
        return Rule(TraceEntry("privacy", looked, "local-only"), f"privacy: {kinds} in prompt")
    return Rule(TraceEntry("privacy", looked, "pass"))


def offline_rule(
    context: Context, policy: Policy, cloud: list[Target], already_local: str | None, forced: bool
) -> tuple[Rule, list[Target]]:
    looked: dict[str, Any] = {"flag": policy.offline}
    if policy.offline:
        return Rule(TraceEntry("offline", looked, "local-only"), "offline: --offline"), []
    if policy.offline is None and context.offline_from_env():
        looked["env"] = "CONVERGIO_LLM_OFFLINE"
        return Rule(
            TraceEntry("offline", looked, "local-only"), "offline: CONVERGIO_LLM_OFFLINE"
        ), []
    if policy.offline is None and context.config.get("offline"):
        looked["config"] = "offline"
        return Rule(TraceEntry("offline", looked, "local-only"), "offline: config offline"), []
    if policy.offline is False:
        looked["probe"] = "skipped: --online"
    elif forced:
        looked["probe"] = "skipped: -m names the model"
    elif already_local:
        looked["probe"] = "skipped: already local"
    elif not (remote := [t.provider for t in cloud if not context.is_local(t.provider)]):
        looked["probe"] = "skipped: only local candidates"
    else:
        # Providers cooling down after a 429/529/5xx are left out before any probe.
        cooling = context.cooling_down(remote)
        if cooling:
            looked["cooling_down"] = {name: c.to_json() for name, c in cooling.items()}
            cloud = [t for t in cloud if t.provider not in cooling]
            remote = [name for name in remote if name not in cooling]
            if not remote:
                return Rule(TraceEntry("offline", looked, "pass")), cloud
        answers = context.reachable(dict.fromkeys(remote))
        looked["reachable"] = answers
        cloud = [t for t in cloud if answers.get(t.provider, True)]
        if not any(answers.values()):
            reason = "offline: no cloud endpoint answered"
            return Rule(TraceEntry("offline", looked, "local-only"), reason), []
    return Rule(TraceEntry("offline", looked, "pass")), cloud


def budget_rule(context: Context, policy: Policy, profile: str) -> Rule:
    threshold = float(context.config.get("budgets.low_threshold_usd", DEFAULT_LOW_THRESHOLD_USD))
    looked: dict[str, Any] = {"profile": profile, "threshold_usd": threshold}
    if profile == "free":
        return Rule(
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
        return Rule(TraceEntry("budget", looked, "local-only"), reason)
    return Rule(TraceEntry("budget", looked, "pass"))


def quality_entry(policy: Policy, profile: str) -> TraceEntry:
    looked: dict[str, Any] = {"flag": policy.quality, "profile": profile}
    wants = policy.quality or profile == "enterprise"
    return TraceEntry("quality", looked, "cloud-top" if wants else "pass")


def local_reason_for(assessment: Assessment, tier: str, why_skipped: str) -> str:
    label = f"{assessment.label} ({assessment.score:.2f})"
    if tier == "simple":
        return f"complexity: {label} → local engine"
    return (
        f"complexity: {label} wants the cloud, but no cloud provider is available ({why_skipped})"
    )


def cloud_reason(assessment: Assessment, tier: str, policy: Policy, profile: str) -> str:
    if tier == "complex" and policy.quality:
        return "quality: --quality → top cloud tier"
    if tier == "complex" and profile == "enterprise":
        return "quality: profile enterprise → top cloud tier"
    where = "top cloud tier" if tier == "complex" else "cheap cloud tier"
    return f"complexity: {assessment.label} ({assessment.score:.2f}) → {where}"
