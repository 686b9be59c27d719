"""llama.cpp in-process through llama-cpp-python: GGUF files, loaded once per process per model.

Models: `gemma-3-270m` (the embedded default, see embedded.py) or a path to a `.gguf`
file (`-m llamacpp:/models/x.gguf`).

Prompt format. A GGUF that carries a chat template (`tokenizer.chat_template`) gets it
applied. One without is a base model, prompted as one (base_models.py): a sentence to
continue as it is, anything else in a question/answer frame, and the stream ends when the
model starts repeating itself. The embedded Gemma 3 270M is the *pretrained* model, not the
`-it` one: its GGUF has no chat template.

Sampling: temperature None or 0 is greedy (same prompt, same text), as in mlx-lm.

Settings (config `providers: {llamacpp: {...}}`): `n_ctx` (4096), `n_threads` (physical
cores), `max_tokens` (256, when the request sets none), `verbose` (false: llama.cpp's
own logs are dropped), `allow_amx` (false, see `amx_hazard`).
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, NamedTuple

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
from convergio_llm.providers.embedded import (
    EMBEDDED_MODEL,
    INSTALL_HINT,
    EmbeddedModelMissing,
    embedded_model_path,
    is_ready,
)
from convergio_llm.providers.errors import (
    BadRequest,
    ContextTooLong,
    ModelNotFound,
    ProviderUnavailable,
)
from convergio_llm.providers.local_engines import (
    as_dicts,
    physical_cores,
)
from convergio_llm.providers.request_parts import refuse_unsupported

DEFAULT_N_CTX = 4096  # Gemma 3 allows 32768, but its KV cache would cost ~8x the memory.
DEFAULT_MAX_TOKENS = 256
REINSTALL = (
    'CMAKE_ARGS="-DGGML_NATIVE=OFF -DGGML_AVX2=ON -DGGML_AMX_TILE=OFF -DGGML_AMX_INT8=OFF '
    '-DGGML_AMX_BF16=OFF" pip install --force-reinstall --no-cache-dir llama-cpp-python'
)
_AMX_COMPILED = re.compile(r"\bAMX\w*\s*=\s*1")
_drop_logs: Any = None  # the ctypes callback must outlive every call llama.cpp makes to it


def amx_hazard(system_info: str, cpu_flags: frozenset[str]) -> bool:
    """Would this llama.cpp build crash here? True when its AMX matmul path is compiled in and
    the CPU advertises AMX, or runs under a hypervisor.

    A -march=native build on a VM whose CPUID reports AMX compiles ggml's AMX kernels in,
    and they fault at `ldtilecfg` in the first decode (measured on this project's VMs,
    whose kernel does not even list `amx_tile`). Bare metal with AMX may be fine:
    `allow_amx: true` says so.
    """
    if not _AMX_COMPILED.search(system_info):
        return False
    return any(f.startswith("amx") for f in cpu_flags) or "hypervisor" in cpu_flags


def cpu_flags(cpuinfo: Path = Path("/proc/cpuinfo")) -> frozenset[str]:
    try:
        with cpuinfo.open(encoding="utf-8", errors="replace") as lines:
            for line in lines:
                if line.startswith("flags"):
                    return frozenset(line.partition(":")[2].split())
    except OSError:
        pass
    return frozenset()


def refuse_amx(system_info: str, flags: frozenset[str], provider: str) -> None:
    """Raise ProviderUnavailable, with the reinstall command, when `amx_hazard` says so."""
    if amx_hazard(system_info, flags):
        raise ProviderUnavailable(
            "this llama-cpp-python build uses ggml's AMX kernels, which crash on this CPU "
            f"(e.g. a VM that advertises AMX). Reinstall it without them: {REINSTALL} "
            "(or set providers.llamacpp.allow_amx: true if AMX works here)",
            provider,
        )


class _TokenCounter:
    """Counts sampled tokens (the end-of-generation token included) as a stopping criterion
    that never stops. llama-cpp-python calls it once per sampled token and once more after
    the loop, hence `count - 1`."""

    def __init__(self) -> None:
        self.calls = 0

    def __call__(self, input_ids: Any, logits: Any) -> bool:
        self.calls += 1
        return False

    @property
    def tokens(self) -> int:
        return max(0, self.calls - 1)


class LlamaCppProvider(Provider):
    kind = "llamacpp"  # locality, default model, extra: providers/manifest.py

    def __init__(self, name: str | None = None, settings: Mapping[str, Any] | None = None) -> None:
        super().__init__(name, settings)
        self._engines: dict[str, Any] = {}

    def available(self) -> Availability:
        if missing := manifest.importable(*manifest.MANIFEST["llamacpp"].modules):
            return Availability(False, manifest.hint_for_missing_package(self.kind, missing))
        if self.default_model() == EMBEDDED_MODEL and not is_ready():
            return Availability(False, f"the embedded model is not installed: {INSTALL_HINT}")
        return AVAILABLE

    def models(self, live: bool = True) -> list[ModelInfo]:
        infos = []
        for tier, model in self.catalogue().items():
            facts = model_facts(model)
            details = {} if facts is None else {"base_model": not facts.chat_template}
            window = context_window(model, self.settings)
            infos.append(
                self.model_info(
                    model, tier, context_window=window, loaded=model in self._engines, **details
                )
            )
        return infos

    def close(self) -> None:
        for engine in self._engines.values():
            engine.close()
        self._engines.clear()

    def stream(self, request: Request, model: str) -> Iterator[Chunk | Completion]:
        clock = self.stopwatch()
        engine, load_s = self._engine(model)
        import llama_cpp

        refuse_unsupported(request, self.name, images=False)
        prompt, stops, guard = self._prompt(engine, request)
        n_ctx = engine.n_ctx()
        if len(prompt) >= n_ctx:
            raise ContextTooLong(
                f"prompt is {len(prompt)} tokens; the context holds {n_ctx} (setting n_ctx)",
                self.name,
            )
        counter = _TokenCounter()
        llama_cpp.llama_perf_context_reset(engine.ctx)
        pieces: list[str] = []
        finish: str | None = None
        for chunk in engine.create_completion(
            prompt,
            max_tokens=self._max_tokens(request),
            temperature=request.temperature or 0.0,
            seed=request.seed,
            stop=stops,
            stream=True,
            stopping_criteria=llama_cpp.StoppingCriteriaList([counter]),
            grammar=_grammar(llama_cpp, request.schema),
        ):
            choice = chunk["choices"][0]
            finish = choice["finish_reason"] or finish
            text = guard.feed(choice["text"]) if guard else choice["text"]
            if text:
                clock.token()
                pieces.append(text)
                yield Chunk(text)
            if guard and guard.stopped:
                finish = "stop"
                break
        tail = guard.flush() if guard else ""
        if tail:
            clock.token()
            pieces.append(tail)
            yield Chunk(tail)
        perf = llama_cpp.llama_perf_context(engine.ctx)
        stats = {field: getattr(perf, field) for field, _ in perf._fields_}
        stats.update(n_threads=engine.n_threads, n_ctx=n_ctx)
        usage = Usage(input_tokens=len(prompt), output_tokens=counter.tokens, source="provider")
        yield clock.completion(
            self,
            model,
            "".join(pieces),
            finish,
            usage,
            raw_stats=stats,
            load_s=load_s,
            prompt_eval_s=perf.t_p_eval_ms / 1000,
            eval_s=perf.t_eval_ms / 1000,
        )

    def _max_tokens(self, request: Request) -> int:
        limit = request.max_tokens
        if limit is None:
            limit = int(self.settings.get("max_tokens") or DEFAULT_MAX_TOKENS)
        if limit < 1:
            # llama-cpp-python reads 0 as "until the context is full": refuse instead.
            raise BadRequest(f"max_tokens must be at least 1 (got {limit})", self.name)
        return limit

    def _prompt(
        self, engine: Any, request: Request
    ) -> tuple[list[int], list[str], RepetitionGuard | None]:
        """Prompt tokens, stop strings and, for a base model, the guard against loops:
        the GGUF's chat template if any, else the base-model frame."""
        stops = list(request.stop or ())  # the CLI may pass None
        template = engine.metadata.get("tokenizer.chat_template")
        if not template:
            text, frame_stops = base_prompt(request.messages)
            tokens = engine.tokenize(text.encode(), add_bos=True, special=True)
            if request.schema is not None:
                # The grammar ends the answer with the JSON: a blank line in it is no new turn.
                frame_stops = ()
            return tokens, stops + list(frame_stops), new_guard(request, text, bool(frame_stops))
        from llama_cpp.llama_chat_format import Jinja2ChatFormatter

        def token_text(token: int) -> str:
            return engine.detokenize([token], special=True).decode() if token >= 0 else ""

        formatter = Jinja2ChatFormatter(
            template,
            eos_token=token_text(engine.token_eos()),
            bos_token=token_text(engine.token_bos()),
        )
        messages: Any = as_dicts(request.messages)
        rendered = formatter(messages=messages)
        # The template writes the BOS token itself when the model wants one.
        tokens = engine.tokenize(rendered.prompt.encode(), add_bos=False, special=True)
        return tokens, stops + [s for s in rendered.stop or [] if s], None

    def _engine(self, model: str) -> tuple[Any, float | None]:
        """The loaded model and, on its first use only, how long loading took."""
        if model in self._engines:
            return self._engines[model], None
        try:
            import llama_cpp
        except ImportError:
            raise ProviderUnavailable(
                manifest.hint_for_missing_package(self.kind, "llama_cpp"), self.name
            ) from None
        path = self._resolve(model)
        if not self.settings.get("allow_amx"):
            info = llama_cpp.llama_print_system_info().decode(errors="replace")
            refuse_amx(info, cpu_flags(), self.name)
        # --debug (CONVERGIO_LLM_DEBUG=1) also lets the engine speak.
        verbose = bool(self.settings.get("verbose")) or os.environ.get("CONVERGIO_LLM_DEBUG") == "1"
        if not verbose:
            _silence_logs(llama_cpp)
        threads = int(self.settings.get("n_threads") or physical_cores())
        start = time.perf_counter()
        try:
            engine = llama_cpp.Llama(
                model_path=str(path),
                n_ctx=context_window(model, self.settings),
                n_threads=threads,
                n_threads_batch=threads,
                verbose=verbose,
            )
        except ValueError as exc:
            raise ModelNotFound(f"cannot load {path}: {exc}", self.name) from None
        load_s = time.perf_counter() - start
        self._engines[model] = engine
        return engine, load_s

    def _resolve(self, model: str) -> Path:
        return resolve_model(model, self.name)


class GgufFacts(NamedTuple):
    """What a GGUF file says of its model: the window it was trained for, and whether it
    carries a chat template (an instruct model) or not (a base model, base_models.py)."""

    context_length: int | None
    chat_template: bool


def model_facts(model: str) -> GgufFacts | None:
    """The model's own facts, from its GGUF header (weights not loaded; kept per file);
    None when the file is missing or unreadable: then nothing is known."""
    from convergio_llm.providers.gguf_header import NotGGUF, read_metadata

    try:
        metadata = read_metadata(resolve_model(model, "llamacpp"))
    except (ProviderUnavailable, ModelNotFound, NotGGUF, OSError):
        return None
    arch = metadata.get("general.architecture")
    length = metadata.get(f"{arch}.context_length")
    return GgufFacts(
        length if isinstance(length, int) and length > 0 else None,
        bool(metadata.get("tokenizer.chat_template")),
    )


def context_window(model: str, settings: Mapping[str, Any]) -> int:
    """The window a request has: the `n_ctx` it is loaded with, capped by what the model
    was trained for (llama.cpp would run past it, and answer badly)."""
    n_ctx = int(settings.get("n_ctx") or DEFAULT_N_CTX)
    facts = model_facts(model)
    if facts is None or facts.context_length is None:
        return n_ctx
    return min(n_ctx, facts.context_length)


def resolve_model(model: str, provider: str) -> Path:
    if model == EMBEDDED_MODEL:
        try:
            return embedded_model_path()
        except EmbeddedModelMissing as exc:
            raise ProviderUnavailable(str(exc), provider) from None
    path = Path(model).expanduser()
    if path.is_file():
        return path
    if path.suffix == ".gguf" or "/" in model:
        raise ModelNotFound(f"no GGUF file at {path}", provider)
    raise ModelNotFound(
        f"unknown model '{model}': use {EMBEDDED_MODEL} or a path to a .gguf file", provider
    )


def _grammar(llama_cpp: Any, schema: Mapping[str, Any] | None) -> Any:
    """--schema as a GBNF grammar: sampling can then only produce JSON that matches it."""
    if schema is None:
        return None
    import json

    try:
        return llama_cpp.LlamaGrammar.from_json_schema(json.dumps(schema), verbose=False)
    except (ValueError, RuntimeError, KeyError) as exc:
        raise BadRequest(
            f"llama.cpp cannot turn this --schema into a grammar: {exc}", "llamacpp"
        ) from None


def _silence_logs(llama_cpp: Any) -> None:
    """Drop llama.cpp's log lines: they would land on our stderr between the answer's lines."""
    import ctypes

    global _drop_logs
    if _drop_logs is None:

        @llama_cpp.llama_log_callback  # type: ignore[untyped-decorator]
        def drop(level: int, text: bytes, user_data: Any) -> None:
            return None

        _drop_logs = drop
    llama_cpp.llama_log_set(_drop_logs, ctypes.c_void_p(0))
