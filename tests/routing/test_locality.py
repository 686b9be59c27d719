"""Routing by per-target locality and data residency (issue 14 items 3 and 6)."""

from __future__ import annotations

from typing import Any

from convergio_llm.providers.base import Request
from convergio_llm.providers.manifest import MANIFEST
from convergio_llm.providers.registry import Registry
from convergio_llm.routing.config import Config
from convergio_llm.routing.context import Context
from convergio_llm.routing.decide import Policy, decide
from convergio_llm.routing.decision import Decision
from convergio_llm.routing.environment import APPLE_SILICON
from tests.routing.conftest import make_context

COMPLEX = (
    "Implement a thread-safe LRU cache in Java with O(1) get and put, explain your locking "
    "strategy, and write unit tests that must cover eviction and concurrent access."
)
PRIVATE = "Email maria.rossi@example.org and ask her to prove the lemma step by step."
LAN = {"vllm": {"kind": "openai", "base_url": "http://gpu-box:8000/v1"}}


def route(prompt: str, policy: Policy | None = None, **ctx: Any) -> Decision:
    return decide(Request.from_prompt(prompt), make_context(**ctx), policy or Policy())


def skipped(decision: Decision) -> dict[str, str]:
    entry = next(t for t in decision.trace if t.rule == "complexity")
    return dict(entry.looked_at.get("skipped") or {})


def test_residency_keeps_only_cloud_targets_in_the_declared_region() -> None:
    config = {
        "privacy": {"residency": ["eu"]},
        "providers": {"azure": {"region": "westeurope"}, "google": {"region": "us-central1"}},
    }
    decision = route(COMPLEX, config=config, catalogue={"azure": {"quality": "gpt-5.2-pro"}})
    assert (decision.provider, decision.model) == ("azure", "gpt-5.2-pro")
    why = skipped(decision)
    assert why["anthropic"].startswith("residency: no region declared")
    assert why["google"] == "residency: region us-central1 is outside eu"
    assert [f.provider for f in decision.fallbacks] == ["llamacpp"]


def test_residency_with_no_region_declared_anywhere_stays_local() -> None:
    decision = route(COMPLEX, config={"privacy": {"residency": ["eu"]}})
    assert decision.provider == "llamacpp"
    # (azure has no catalogue model in these pinned facts, so it is no candidate at all)
    assert set(skipped(decision)) == {"anthropic", "openai", "google"}


def test_a_lan_server_is_not_this_machine_for_private_prompts() -> None:
    config = {"tiers": {"simple": "vllm:llama-3.1-8b"}, "providers": LAN}
    context = make_context(config=config)
    assert context.locality("vllm") == "local-network"
    assert not context.is_local("vllm")
    assert context.estimate_cost("vllm", "llama-3.1-8b", 1000, 1000) == 0.0  # own hardware
    decision = decide(Request.from_prompt(PRIVATE), context, Policy())
    assert decision.local_only and decision.provider == "llamacpp"
    assert "vllm" not in {f.provider for f in decision.fallbacks}


def test_a_trusted_lan_counts_as_local() -> None:
    config = {
        "tiers": {"simple": "vllm:llama-3.1-8b"},
        "providers": LAN,
        "privacy": {"trust_local_network": True},
    }
    decision = route(PRIVATE, config=config, available={"vllm": True, "llamacpp": True})
    assert (decision.provider, decision.local_only) == ("vllm", True)


def test_ollama_cloud_models_are_cloud_targets() -> None:
    context = make_context()
    assert context.locality("ollama", "gpt-oss:120b-cloud") == "cloud"
    assert not context.is_local("ollama", "gpt-oss:120b-cloud")
    assert context.is_local("ollama", "llama3.2:3b")
    remote = make_context(environ={"OLLAMA_HOST": "ollama.com"})
    assert remote.locality("ollama", "llama3.2:3b") == "cloud"


def test_route_and_run_pick_the_same_mlx_model_on_apple_silicon() -> None:
    config = Config()
    context = Context(config, Registry(config.providers, load_plugins=False))
    context.facts["platform"] = APPLE_SILICON
    decision = decide(Request.from_prompt("hi"), context, Policy())
    run_default = Registry(load_plugins=False).get("mlx").default_model()
    assert (decision.provider, decision.model) == ("mlx", run_default)
    assert run_default == MANIFEST["mlx"].tiers["simple"]
