"""A Context built from pinned facts, so routing tests never depend on which backends are
installed, which keys are set, or the network."""

from __future__ import annotations

from typing import Any

from convergio_llm.providers.registry import Registry
from convergio_llm.routing.config import Config
from convergio_llm.routing.context import Context

CLOUD = ("anthropic", "openai", "google", "azure")
CATALOGUES = {
    "openai": {"balanced": "gpt-5-mini", "quality": "gpt-5"},
    "google": {"balanced": "gemini-2.5-flash", "quality": "gemini-2.5-pro"},
    "azure": {},
    "anthropic": {"balanced": "claude-sonnet-4-5", "quality": "claude-opus-4-5"},
    "llamacpp": {"simple": "gemma-3-270m"},
    "ollama": {"simple": "llama3.2:3b"},
    "mlx": {"simple": "mlx-community/Qwen3-0.6B-4bit"},
}


def make_context(
    config: dict[str, Any] | None = None,
    keys: tuple[str, ...] = CLOUD,
    online: bool = True,
    ollama: bool = False,
    platform: str = "other",
    local: tuple[str, ...] = ("llamacpp",),
    budget: float | None = None,
    environ: dict[str, str] | None = None,
    **facts: Any,
) -> Context:
    cfg = Config(data=config or {})
    available = {name: name in keys for name in CLOUD}
    available.update({name: name in local for name in ("llamacpp", "ollama", "mlx")})
    available["fake"] = True
    pinned: dict[str, Any] = {
        "platform": platform,
        "available": available,
        "ollama_answers": ollama,
        "reachable": dict.fromkeys(CLOUD, online),
        "catalogue": CATALOGUES,
        "budget_remaining": budget,
        "endpoints": {},
    }
    pinned.update(facts)
    return Context(cfg, Registry(cfg.providers, load_plugins=False), pinned, environ or {})
