"""The rule tree that turns a request and its context into a Decision."""

from __future__ import annotations

from dataclasses import dataclass

from convergio_llm.providers.base import Request
from convergio_llm.providers.errors import NoProviderAvailable
from convergio_llm.providers.registry import split_ref
from convergio_llm.routing.context import Context
from convergio_llm.routing.decision import Decision, TraceEntry

EMBEDDED_DEFAULT = "llamacpp"


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


def decide(request: Request, context: Context, policy: Policy) -> Decision:
    if policy.model:
        provider_name, model = split_ref(policy.model)
        provider = context.registry.get(provider_name)
        model = model or provider.default_model()
        if not model:
            raise NoProviderAvailable(f"provider '{provider_name}' has no default model; use -m")
        trace = (TraceEntry("override", {"model": f"{provider_name}:{model}"}, "forced"),)
        return Decision(request, provider_name, model, reason="override: -m", trace=trace)
    ref = context.config.get("default_model")
    provider_name, model = split_ref(ref) if ref else (EMBEDDED_DEFAULT, None)
    provider = context.registry.get(provider_name)
    model = model or provider.default_model()
    if not model:
        raise NoProviderAvailable(f"provider '{provider_name}' has no default model")
    return Decision(request, provider_name, model, reason="default model")
