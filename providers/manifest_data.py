"""The table of built-in provider kinds: what providers/manifest.py knows about each.

One row per kind (import path, locality, default model per tier, key and base-URL
variables, default host, the extra that installs it). Read it through manifest.py, which
re-exports these names and holds the rules built on them (availability, hints, locality).
"""

# Real annotations (no `from __future__ import annotations`): typing.NamedTuple would compile
# each string annotation of the records below at every start (tests/test_startup_imports.py).
from collections.abc import Mapping
from typing import Literal, NamedTuple

Locality = Literal["in-process", "local-server", "local-network", "cloud"]
Privacy = Literal["maximum", "high", "provider-dependent"]
# Where traffic from each locality stays, and so how private it is.
PRIVACY_OF: dict[str, Privacy] = {
    "in-process": "maximum",
    "local-server": "high",
    "local-network": "high",
    "cloud": "provider-dependent",
}


class KindFacts(NamedTuple):  # a NamedTuple: cheap to define on every `llm route` start
    target: str  # "module:Class", imported only when the backend is first used
    locality: Locality  # where it runs with its default host
    tiers: Mapping[str, str]  # default model per tier: simple / balanced / quality
    key_env: tuple[tuple[str, ...], ...] = ()  # any one group, all set, is a key
    base_url_env: str | None = None  # the variable that moves its endpoint
    default_base_url: str | None = None
    extra: str | None = None  # `pip install 'convergio-llm[<extra>]'` installs it
    modules: tuple[str, ...] = ()  # what must be importable for it to work
    host_decides: bool = False  # locality follows the host (self-hostable servers)
    secret_env: tuple[str, ...] = ()  # credentials beyond key_env, never printed

    @property
    def privacy(self) -> Privacy:
        return PRIVACY_OF[self.locality]


_OPENAI_MODELS = {"simple": "gpt-5-mini", "balanced": "gpt-5.2", "quality": "gpt-5.2-pro"}
OPENAI_HOST = "api.openai.com"
OLLAMA_CLOUD_SUFFIXES = ("-cloud", ":cloud")
# The tiers of a catalogue, cheapest first (providers/base.py's TIERS, typed there).
CATALOGUE_TIERS = ("simple", "balanced", "quality")

MANIFEST: dict[str, KindFacts] = {
    "fake": KindFacts(
        "convergio_llm.providers.fake:FakeProvider",
        "in-process",
        {"simple": "echo", "balanced": "lorem", "quality": "lorem"},
    ),
    "llamacpp": KindFacts(
        "convergio_llm.providers.llamacpp:LlamaCppProvider",
        "in-process",
        {"simple": "gemma-3-270m"},
        extra="local",
        modules=("llama_cpp",),
    ),
    "mlx": KindFacts(
        "convergio_llm.providers.mlx:MLXProvider",
        "in-process",
        {"simple": "mlx-community/Llama-3.2-3B-Instruct-4bit"},
        extra="mlx",
        modules=("mlx", "mlx_lm"),
    ),
    "ollama": KindFacts(
        "convergio_llm.providers.ollama:OllamaProvider",
        "local-server",
        # Small enough for a laptop at each step: 2 GB, 4.7 GB and 9 GB at Q4_K_M.
        {"simple": "llama3.2:3b", "balanced": "qwen2.5:7b", "quality": "qwen2.5:14b"},
        base_url_env="OLLAMA_HOST",
        default_base_url="http://127.0.0.1:11434",
        host_decides=True,
    ),
    "openai": KindFacts(
        "convergio_llm.providers.openai:OpenAIProvider",
        "cloud",
        _OPENAI_MODELS,  # api.openai.com only: a compatible server has its own models
        key_env=(("OPENAI_API_KEY",),),
        base_url_env="OPENAI_BASE_URL",
        default_base_url=f"https://{OPENAI_HOST}/v1",
        extra="openai",
        modules=("openai",),
        host_decides=True,
    ),
    "azure": KindFacts(
        "convergio_llm.providers.azure:AzureOpenAIProvider",
        "cloud",
        # Azure calls a model by its deployment's name; the portal's default is the model's.
        _OPENAI_MODELS,
        key_env=(("AZURE_OPENAI_API_KEY",),),
        base_url_env="AZURE_OPENAI_ENDPOINT",
        extra="openai",
        modules=("openai",),
        secret_env=("AZURE_OPENAI_AD_TOKEN",),
    ),
    "anthropic": KindFacts(
        "convergio_llm.providers.anthropic:AnthropicProvider",
        "cloud",
        {
            "simple": "claude-haiku-4-5",
            "balanced": "claude-sonnet-4-5",
            "quality": "claude-opus-4-5",
        },
        key_env=(("ANTHROPIC_API_KEY",), ("ANTHROPIC_AUTH_TOKEN",)),
        base_url_env="ANTHROPIC_BASE_URL",
        default_base_url="https://api.anthropic.com",
        extra="anthropic",
        modules=("anthropic",),
    ),
    "google": KindFacts(
        "convergio_llm.providers.google:GoogleProvider",
        "cloud",
        {
            "simple": "gemini-2.5-flash",
            "balanced": "gemini-2.5-pro",
            "quality": "gemini-3.1-pro-preview",
        },
        key_env=(("GEMINI_API_KEY",), ("GOOGLE_API_KEY",)),
        base_url_env="GOOGLE_GEMINI_BASE_URL",
        default_base_url="https://generativelanguage.googleapis.com",
        extra="google",
        modules=("google.genai",),
    ),
}

# Routing's defaults, as references into the catalogues above (not repeated model names).
DEFAULT_TIERS = {"medium": ("anthropic", "simple"), "complex": ("anthropic", "quality")}
CLOUD_PREFERENCE = ("anthropic", "openai", "google", "azure")
LOCAL_PREFERENCE = ("ollama", "llamacpp", "mlx")
