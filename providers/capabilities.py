"""What a model can take: its context window, images, structured output. One place to ask.

- Context windows of cloud models come from the shipped price table (providers/prices.yaml,
  read from LiteLLM's model table and the vendors' pages): one table, not a second copy.
- The in-process engines know their own: llama.cpp's window is the `n_ctx` it loads the
  model with (the GGUF's `<arch>.context_length` caps it, read from the file once loaded),
  mlx-lm's is not known before loading (None: not checked).
- Vision and structured output follow the API: every cloud API here takes images and a
  JSON Schema for the models we route to; llama.cpp takes a schema (as a grammar) and no
  image; mlx-lm neither; Ollama both (a text-only Ollama model says so in its own error).

None means "not known": routing never skips a target for what it does not know.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, NamedTuple


class Capabilities(NamedTuple):
    context_window: int | None
    vision: bool
    structured: bool


# By provider kind: (vision, structured output).
_BY_KIND: dict[str, tuple[bool, bool]] = {
    "openai": (True, True),
    "azure": (True, True),
    "anthropic": (True, True),
    "google": (True, True),
    "ollama": (True, True),
    "llamacpp": (False, True),
    "mlx": (False, False),
    "fake": (False, False),
}
# OpenAI models that take no image (the rest of the catalogue does).
_OPENAI_TEXT_ONLY = ("gpt-3.5", "o1-mini", "o3-mini")


def capabilities(
    kind: str, model: str, settings: Mapping[str, Any] | None = None, config: Any = None
) -> Capabilities:
    """What `model` on a provider of `kind` can take; unknown kinds are assumed able."""
    settings = settings or {}
    vision, structured = _BY_KIND.get(kind, (True, True))
    if kind in ("openai", "azure") and model.startswith(_OPENAI_TEXT_ONLY):
        vision = False
    return Capabilities(_window(kind, model, settings, config), vision, structured)


def _window(kind: str, model: str, settings: Mapping[str, Any], config: Any) -> int | None:
    if kind == "llamacpp":
        from convergio_llm.providers.llamacpp import DEFAULT_N_CTX

        return int(settings.get("n_ctx") or DEFAULT_N_CTX)
    if kind in ("mlx", "fake", "ollama"):
        return None  # Ollama's comes from /api/show, asked by OllamaProvider.models()
    from convergio_llm.providers.prices import price_for

    price = price_for(kind, model, config)
    return price.context_window if price is not None else None
