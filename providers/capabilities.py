"""What a model can take: its context window, images, structured output. One place to ask.

- Context windows of cloud models come from the shipped price table (providers/prices.yaml,
  read from LiteLLM's model table and the vendors' pages): one table, not a second copy.
- Local models report their own: llama.cpp's window is the `n_ctx` it loads the model
  with, capped by the GGUF's `<arch>.context_length` (read from the file's header, weights
  not loaded, kept per file: llamacpp.model_facts); Ollama's is `/api/show`'s
  `model_info["<arch>.context_length"]`, and its vision is `"vision"` in that answer's
  `capabilities` (asked once per model, short timeout; the server down: unknown).
  mlx-lm's window is not known before loading (None: not checked).
- Vision and structured output follow the API: every cloud API here takes images and a
  JSON Schema for the models we route to; llama.cpp takes a schema (as a grammar) and no
  image; mlx-lm neither; Ollama a schema always, images where the model says "vision".

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
    kind: str,
    model: str,
    settings: Mapping[str, Any] | None = None,
    config: Any = None,
    provider: Any = None,
) -> Capabilities:
    """What `model` on a provider of `kind` can take; unknown kinds are assumed able.
    `provider`, an Ollama provider instance, lets its answers and connection be reused."""
    settings = settings or {}
    vision, structured = _BY_KIND.get(kind, (True, True))
    if kind in ("openai", "azure") and model.startswith(_OPENAI_TEXT_ONLY):
        vision = False
    if kind == "ollama":
        return _ollama(model, settings, provider)
    return Capabilities(_window(kind, model, settings, config), vision, structured)


def _ollama(model: str, settings: Mapping[str, Any], provider: Any) -> Capabilities:
    from convergio_llm.providers.ollama import OllamaProvider

    if isinstance(provider, OllamaProvider):
        facts = provider.model_facts(model)
    else:
        own = OllamaProvider(settings=settings)
        try:
            facts = own.model_facts(model)
        finally:
            own.close()
    if facts is None:
        return Capabilities(None, True, True)  # not known: not skipped
    return Capabilities(facts.context_length, facts.vision, True)


def _window(kind: str, model: str, settings: Mapping[str, Any], config: Any) -> int | None:
    if kind == "llamacpp":
        from convergio_llm.providers.llamacpp import context_window

        return context_window(model, settings)
    if kind in ("mlx", "fake"):
        return None
    from convergio_llm.providers.prices import price_for

    price = price_for(kind, model, config)
    return price.context_window if price is not None else None
