"""Which model each tier means here: the local engine chain and the cloud chains.

simple  → the platform's local engine (mlx on Apple Silicon; else ollama if it answers,
          else the embedded llama.cpp with gemma-3-270m), then the other local engines;
medium  → the cheap cloud tier (config `tiers.medium`, default anthropic:claude-haiku-4-5);
complex → the top cloud tier (config `tiers.complex`, default anthropic:claude-opus-4-5).
A cloud provider without a key is skipped for the next in `routing.cloud_preference`, using
that provider's own catalogue model for the tier (balanced for medium, quality for complex).
With `privacy.residency` set, a cloud target whose region is not in it is skipped too, and
the reason is in the trace. Model names and preferences are providers/manifest.py's.
"""

from __future__ import annotations

from typing import Any

from convergio_llm.providers import manifest
from convergio_llm.providers.errors import LLMError
from convergio_llm.providers.registry import split_ref
from convergio_llm.routing.context import Context
from convergio_llm.routing.decision import Target
from convergio_llm.routing.environment import APPLE_SILICON

# What a provider's lookup may legitimately raise: unknown name or bad config (LLMError), a
# plugin that cannot be imported, an OS error while probing. Anything else is a bug and shows.
_EXPECTED = (LLMError, ImportError, OSError)

DEFAULT_TIERS = {tier: manifest.default_ref(tier) for tier in manifest.DEFAULT_TIERS}
CLOUD_PREFERENCE = manifest.CLOUD_PREFERENCE
CATALOGUE_TIER = {"simple": "simple", "medium": "balanced", "complex": "quality"}


def local_engine(ctx: Context, platform: str) -> tuple[str, dict[str, Any]]:
    """The platform rule: which local engine answers simple prompts, and what it looked at."""
    looked: dict[str, Any] = {"platform": platform}
    if platform == APPLE_SILICON:
        return "mlx", looked
    looked["ollama_answers"] = ctx.ollama_answers()
    return ("ollama" if looked["ollama_answers"] else "llamacpp"), looked


def _local_model(ctx: Context, engine: str) -> str:
    """Config `providers.<engine>.models.simple`, else the manifest's, else the engine's own
    default: the same model `llm run -m <engine>` picks, and `llm route` on a simple prompt
    never imports an engine module to find it."""
    pinned = ctx.facts.get("catalogue", {}).get(engine)
    configured = ((ctx.config.providers.get(engine) or {}).get("models") or {}).get("simple")
    builtin = manifest.catalogue_of(engine, ctx.config.providers.get(engine) or {}, ctx.environ)
    model = (pinned or {}).get("simple") or configured or (builtin or {}).get("simple")
    if not model:
        try:
            model = ctx.default_model(engine)
        except _EXPECTED:  # an engine module that fails to load still gets a name
            model = None
    return model or "default"


def local_chain(ctx: Context, engine: str, platform: str) -> list[Target]:
    """Configured simple tier (when local), the platform's engine, then other local engines
    that are available; never a cloud provider."""
    key = ("local_chain", engine, platform)
    if key in ctx._memo:
        return list(ctx._memo[key])
    chain: list[Target] = []
    configured = ctx.config.get("tiers.simple")
    if configured:
        target = _target(ctx, configured)
        if target is not None and ctx.is_local(target.provider, target.model):
            chain.append(target)
    chain.append(Target(engine, _local_model(ctx, engine)))
    others = ctx.config.get("routing.local_preference") or manifest.LOCAL_PREFERENCE
    for name in others:
        if name == engine or (name == "mlx" and platform != APPLE_SILICON):
            continue
        if name == "ollama" and not ctx.ollama_answers():
            continue
        if not _local_ok(ctx, name):
            continue
        chain.append(Target(name, _local_model(ctx, name)))
    chain = _dedupe(chain)
    ctx._memo[key] = chain
    return list(chain)


def _local_ok(ctx: Context, name: str) -> bool:
    try:
        return ctx.is_local(name) and bool(ctx.available(name))
    except _EXPECTED:
        return False


def cloud_chain(ctx: Context, tier: str) -> tuple[list[Target], dict[str, str]]:
    """Cloud targets for `medium` or `complex`, best first, and why others were skipped."""
    key = ("cloud_chain", tier)
    if key in ctx._memo:
        memo_chain, memo_skipped = ctx._memo[key]
        return list(memo_chain), dict(memo_skipped)
    chain: list[Target] = []
    skipped: dict[str, str] = {}
    configured = ctx.config.get(f"tiers.{tier}") or DEFAULT_TIERS.get(tier)
    candidates: list[Target] = []
    if configured:
        target = _target(ctx, configured)
        if target is not None:
            candidates.append(target)
    preference = ctx.config.get("routing.cloud_preference") or CLOUD_PREFERENCE
    for name in preference:
        if any(c.provider == name for c in candidates):
            continue
        model = _catalogue_model(ctx, name, tier)
        if model:
            candidates.append(Target(name, model))
    for target in candidates:
        ok, why = _cloud_ok(ctx, target)
        if ok:
            chain.append(target)
        else:
            skipped[target.provider] = why
    chain = _dedupe(chain)
    ctx._memo[key] = (chain, skipped)
    return list(chain), dict(skipped)


def _catalogue_model(ctx: Context, name: str, tier: str) -> str | None:
    try:
        return ctx.catalogue(name).get(CATALOGUE_TIER[tier])
    except _EXPECTED:
        return None


def _cloud_ok(ctx: Context, target: Target) -> tuple[bool, str]:
    name = target.provider
    try:
        if ctx.is_local(name, target.model):
            return True, ""
        refused = ctx.residency_refusal(name, target.model)
        if refused:
            return False, refused
        availability = ctx.available(name)
    except _EXPECTED as exc:
        return False, str(exc) or type(exc).__name__
    return bool(availability), availability.reason or "unavailable"


def _target(ctx: Context, ref: str) -> Target | None:
    provider, model = split_ref(ref)
    if model is None:
        try:
            model = ctx.default_model(provider)
        except _EXPECTED:
            return None
    return Target(provider, model) if model else None


def _dedupe(targets: list[Target]) -> list[Target]:
    return list(dict.fromkeys(targets))
