"""mlx-lm in-process: Metal on Apple Silicon, mlx's CPU backend elsewhere.

Models are local folders (`-m mlx:/path/to/model`) or Hugging Face ids already in the
local cache; nothing is ever downloaded. A model is loaded on first use and kept for the
life of the process, so a JSONL batch loads it once.

Sampling goes through `make_sampler` (mlx-lm takes no `temp=`); temperature None or 0
is greedy. Usage is the engine's own count: mlx-lm's `generation_tokens` includes the
end-of-sequence token when the model stopped by itself.

A model with no chat template is a base model, prompted as one (base_models.py): a
question/answer frame unless the prompt is a sentence to continue, and the stream ends
when the model starts repeating itself.

Settings: `models` (tier → name or path), `max_tokens` (256, when the request sets none).

Availability and loading share one resolution, `resolve_model()`: `llm models` says the
default model is available exactly when `llm run -m mlx` can load it.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from convergio_llm.providers import manifest
from convergio_llm.providers.base import (
    AVAILABLE,
    Availability,
    Chunk,
    Completion,
    ModelInfo,
    Provider,
    Request,
    Usage,
)
from convergio_llm.providers.base_models import RepetitionGuard, base_prompt, new_guard
from convergio_llm.providers.errors import BadRequest, ModelNotFound, ProviderUnavailable
from convergio_llm.providers.local_engines import (
    StopScanner,
    as_dicts,
)
from convergio_llm.providers.request_parts import refuse_unsupported

DEFAULT_MAX_TOKENS = 256
MODULES = manifest.MANIFEST["mlx"].modules


def hf_cache_dir(environ: Mapping[str, str] | None = None) -> Path:
    """The Hugging Face hub cache, found as huggingface_hub finds it (without importing it)."""
    env = os.environ if environ is None else environ
    explicit = env.get("HF_HUB_CACHE") or env.get("HUGGINGFACE_HUB_CACHE")
    if explicit:
        return Path(explicit).expanduser()
    cache = env.get("XDG_CACHE_HOME") or "~/.cache"
    home = env.get("HF_HOME") or os.path.join(cache, "huggingface")
    return Path(home).expanduser() / "hub"


def cached_snapshot(repo_id: str, environ: Mapping[str, str] | None = None) -> Path | None:
    """The cached snapshot folder of a Hugging Face model id (refs/main), if one is complete
    enough to load (it has config.json and weights); never a download, never a network call."""
    repo = hf_cache_dir(environ) / f"models--{repo_id.replace('/', '--')}"
    try:
        revision = (repo / "refs" / "main").read_text(encoding="utf-8").strip()
    except OSError:
        return None
    snapshot = repo / "snapshots" / revision
    if not (snapshot / "config.json").is_file() or not any(snapshot.glob("*.safetensors")):
        return None
    return snapshot


def resolve_model(model: str, provider: str = "mlx") -> Path:
    """A local folder, or a Hugging Face id found in the local cache; never a download.
    Raises ModelNotFound saying how to fetch it once."""
    path = Path(model).expanduser()
    if path.exists():
        return path
    if model.startswith(("/", ".", "~")) or model.count("/") != 1:
        raise ModelNotFound(f"no mlx model folder at {path}", provider)
    snapshot = cached_snapshot(model)
    if snapshot is None:
        raise ModelNotFound(
            f"'{model}' is not in the local Hugging Face cache (nothing is downloaded); "
            f"fetch it once with: hf download {model}",
            provider,
        )
    return snapshot


class MLXProvider(Provider):
    kind = "mlx"  # locality, default model, extra: providers/manifest.py

    def __init__(self, name: str | None = None, settings: Mapping[str, Any] | None = None) -> None:
        super().__init__(name, settings)
        self._loaded: dict[str, tuple[Any, Any]] = {}  # model name → (model, tokenizer)

    def available(self) -> Availability:
        return self.available_for(self.default_model() or "")

    def available_for(self, model: str) -> Availability:
        missing = manifest.importable(*MODULES)
        if missing:
            return Availability(False, manifest.hint_for_missing_package(self.kind, missing))
        if model and model not in self._loaded:
            try:
                resolve_model(model, self.name)
            except ModelNotFound as exc:
                return Availability(False, str(exc))
        return AVAILABLE

    def models(self, live: bool = True) -> list[ModelInfo]:
        return [
            self.model_info(model, tier, loaded=model in self._loaded)
            for tier, model in self.catalogue().items()
        ]

    def close(self) -> None:
        self._loaded.clear()

    def stream(self, request: Request, model: str) -> Iterator[Chunk | Completion]:
        clock = self.stopwatch()
        # mlx-lm has no JSON-Schema logits processor, and the text models here take no image.
        refuse_unsupported(request, self.name, images=False, schema=False)
        (engine, tokenizer), load_s = self._load(model)
        import mlx.core as mx
        from mlx_lm import stream_generate
        from mlx_lm.sample_utils import make_sampler

        if request.seed is not None:
            mx.random.seed(request.seed)
        prompt, stops, guard = self._prompt(tokenizer, request)
        scanner = StopScanner([*(request.stop or ()), *stops])  # the CLI may pass None
        pieces: list[str] = []
        last: Any = None
        for last in stream_generate(
            engine,
            tokenizer,
            prompt,
            max_tokens=self._max_tokens(request),
            sampler=make_sampler(temp=request.temperature or 0.0),
        ):
            text = scanner.feed(last.text)
            if guard:
                text = guard.feed(text)
            if text:
                clock.token()
                pieces.append(text)
                yield Chunk(text)
            if scanner.stopped or (guard and guard.stopped):
                break
        tail = scanner.flush()
        if guard:
            tail = guard.feed(tail) + guard.flush()
        if tail:
            clock.token()
            pieces.append(tail)
            yield Chunk(tail)
        if last is None:
            raise ProviderUnavailable("mlx-lm produced no output", self.name)
        finish = "stop" if scanner.stopped or (guard and guard.stopped) else last.finish_reason
        usage = Usage(
            input_tokens=last.prompt_tokens, output_tokens=last.generation_tokens, source="provider"
        )
        stats = {
            "prompt_tokens": last.prompt_tokens,
            "prompt_tps": last.prompt_tps,
            "generation_tokens": last.generation_tokens,
            "generation_tps": last.generation_tps,
            "peak_memory_gb": last.peak_memory,
            "device": str(mx.default_device()),
        }
        yield clock.completion(
            self,
            model,
            "".join(pieces),
            finish,
            usage,
            raw_stats=stats,
            load_s=load_s,
            prompt_eval_s=_seconds(last.prompt_tokens, last.prompt_tps),
            eval_s=_seconds(last.generation_tokens, last.generation_tps),
        )

    def _max_tokens(self, request: Request) -> int:
        limit = request.max_tokens
        if limit is None:
            limit = int(self.settings.get("max_tokens") or DEFAULT_MAX_TOKENS)
        if limit < 1:
            # mlx-lm raises ValueError on 0 and reads -1 as "unlimited": refuse both.
            raise BadRequest(f"max_tokens must be at least 1 (got {limit})", self.name)
        return limit

    def _prompt(
        self, tokenizer: Any, request: Request
    ) -> tuple[list[int] | str, tuple[str, ...], RepetitionGuard | None]:
        """Token ids from the model's chat template or, when it has none, the base-model
        frame as text, with its stop strings and its guard against loops."""
        if getattr(tokenizer, "has_chat_template", False):
            ids: list[int] = tokenizer.apply_chat_template(
                as_dicts(request.messages), add_generation_prompt=True
            )
            return ids, (), None
        text, stops = base_prompt(request.messages)
        return text, stops, new_guard(request, text, bool(stops))

    def _load(self, model: str) -> tuple[tuple[Any, Any], float | None]:
        """The loaded (model, tokenizer) and, on its first use only, how long loading took."""
        if model in self._loaded:
            return self._loaded[model], None
        missing = manifest.importable(*MODULES)
        if missing:
            raise ProviderUnavailable(
                manifest.hint_for_missing_package(self.kind, missing), self.name
            )
        path = resolve_model(model, self.name)
        from mlx_lm import load

        start = time.perf_counter()
        try:
            loaded = load(str(path))
        except (OSError, ValueError, FileNotFoundError) as exc:
            raise ModelNotFound(f"cannot load {path}: {exc}", self.name) from None
        load_s = time.perf_counter() - start
        self._loaded[model] = (loaded[0], loaded[1])
        return self._loaded[model], load_s


def _seconds(tokens: int, per_second: float) -> float | None:
    """mlx-lm reports rates, not durations; the duration is the count over the rate."""
    return tokens / per_second if per_second > 0 else None
