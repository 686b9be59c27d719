"""The llamacpp provider against real llama-cpp-python with the Gemma 3 270M GGUF."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from convergio_llm.providers.base import Chunk, Completion, Request
from convergio_llm.providers.errors import BadRequest, ModelNotFound, ProviderUnavailable
from convergio_llm.providers.llamacpp import (
    LlamaCppProvider,
    amx_hazard,
    cpu_flags,
    refuse_amx,
)
from tests.conftest import run_in_process, run_llm

PROMPT = "The capital of France is"
# What Gemma 3's tokenizer makes of PROMPT: <bos> The capital of France is.
PROMPT_TOKENS = 6
NATIVE_BUILD_INFO = "CPU : SSE3 = 1 | AVX2 = 1 | AVX512 = 1 | AMX_INT8 = 1 | OPENMP = 1 | "
PORTABLE_BUILD_INFO = "CPU : SSE3 = 1 | AVX = 1 | AVX2 = 1 | F16C = 1 | FMA = 1 | OPENMP = 1 | "


@pytest.fixture(scope="module")
def llama() -> LlamaCppProvider:
    """One provider for the module, so the model loads once, as in a real process."""
    return LlamaCppProvider(settings={"n_ctx": 512})


def run(provider: LlamaCppProvider, model: Path, **params: object) -> tuple[list[str], Completion]:
    chunks: list[str] = []
    for item in provider.stream(Request.from_prompt(PROMPT, **params), str(model)):
        if isinstance(item, Chunk):
            chunks.append(item.text)
        else:
            return chunks, item
    raise AssertionError("stream ended without a Completion")


# --- the AMX guard, with injected facts --------------------------------------------


@pytest.mark.parametrize(
    ("info", "flags", "hazard"),
    [
        (NATIVE_BUILD_INFO, {"avx512f", "hypervisor"}, True),  # our VMs: CPUID says AMX
        (NATIVE_BUILD_INFO, {"amx_tile", "amx_int8"}, True),  # bare metal with AMX
        (NATIVE_BUILD_INFO, {"avx2"}, False),  # AMX compiled in, no AMX CPU, no VM
        (PORTABLE_BUILD_INFO, {"amx_tile", "hypervisor"}, False),  # the Makefile's build
        (NATIVE_BUILD_INFO.replace("AMX_INT8 = 1", "AMX_INT8 = 0"), {"hypervisor"}, False),
    ],
)
def test_amx_hazard(info: str, flags: set[str], hazard: bool) -> None:
    assert amx_hazard(info, frozenset(flags)) is hazard


def test_cpu_flags_are_read_from_cpuinfo(tmp_path: Path) -> None:
    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text("processor\t: 0\nflags\t\t: fpu avx2 amx_tile hypervisor\n\nflags : other\n")
    assert cpu_flags(cpuinfo) == {"fpu", "avx2", "amx_tile", "hypervisor"}
    assert cpu_flags(tmp_path / "absent") == frozenset()


def test_amx_build_is_refused_with_the_fix() -> None:
    with pytest.raises(ProviderUnavailable, match="GGML_NATIVE=OFF") as caught:
        refuse_amx(NATIVE_BUILD_INFO, frozenset({"hypervisor"}), "llamacpp")
    assert "allow_amx: true" in str(caught.value)
    refuse_amx(PORTABLE_BUILD_INFO, frozenset({"hypervisor"}), "llamacpp")


# --- real llama.cpp ----------------------------------------------------------------


@pytest.mark.engine
def test_greedy_output_is_deterministic(llama: LlamaCppProvider, gemma_gguf: Path) -> None:
    chunks, first = run(llama, gemma_gguf, max_tokens=12, temperature=0)
    _, again = run(llama, gemma_gguf, max_tokens=12, temperature=0)
    _, fresh = run(LlamaCppProvider(settings={"n_ctx": 512}), gemma_gguf, max_tokens=12)
    assert first.text == "".join(chunks)
    assert len(first.text.split()) >= 3
    assert again.text == first.text
    assert fresh.text == first.text  # temperature None is greedy too, and a new load agrees


@pytest.mark.engine
def test_usage_and_timings_come_from_the_engine(llama: LlamaCppProvider, gemma_gguf: Path) -> None:
    _, done = run(llama, gemma_gguf, max_tokens=8)
    assert done.finish_reason == "length"
    assert (done.usage.input_tokens, done.usage.output_tokens) == (PROMPT_TOKENS, 8)
    assert done.usage.source == "provider"
    assert done.provider == "llamacpp"
    stats = done.raw_stats
    # llama.cpp decodes each sampled token but the last (7), plus the prompt's last token
    # again when the whole prompt was still in its KV cache from an earlier call (8).
    assert stats["n_eval"] in (7, 8)
    assert stats["n_p_eval"] >= 1
    assert stats["n_threads"] >= 1
    assert done.timings.eval_s is not None and done.timings.eval_s > 0
    assert done.timings.prompt_eval_s is not None
    assert done.timings.ttft_s is not None and done.timings.ttft_s <= done.timings.total_s


@pytest.mark.engine
def test_stop_string_and_seeded_sampling(llama: LlamaCppProvider, gemma_gguf: Path) -> None:
    _, full = run(llama, gemma_gguf, max_tokens=12, temperature=0)
    stop = full.text.split()[2]
    _, cut = run(llama, gemma_gguf, max_tokens=12, temperature=0, stop=(stop,))
    assert cut.text == full.text[: full.text.find(stop)]
    assert cut.finish_reason == "stop"
    hot = [run(llama, gemma_gguf, max_tokens=12, temperature=1.0, seed=5)[1].text for _ in "ab"]
    assert hot[0] == hot[1]


@pytest.mark.engine
def test_model_loads_once(gemma_gguf: Path) -> None:
    provider = LlamaCppProvider(settings={"n_ctx": 512})
    first = run(provider, gemma_gguf, max_tokens=1)[1]
    second = run(provider, gemma_gguf, max_tokens=1)[1]
    assert first.timings.load_s is not None and first.timings.load_s > 0
    assert second.timings.load_s is None
    provider.close()


@pytest.mark.engine
def test_jsonl_batch_through_the_cli_loads_once_and_stays_quiet(gemma_gguf: Path) -> None:
    lines = "".join(json.dumps({"prompt": f"{PROMPT} {i}", "id": f"q{i}"}) + "\n" for i in range(3))
    result = run_llm(
        "run", "--jsonl", "--max-tokens", "4", "-m", f"llamacpp:{gemma_gguf}", input=lines
    )
    assert result.returncode == 0, result.stderr
    assert result.stderr == b""  # llama.cpp's own logs are dropped unless asked for
    answers = [json.loads(line) for line in result.stdout.splitlines()]
    assert [a["id"] for a in answers] == ["q0", "q1", "q2"]
    loads = [a["timings"]["load_s"] for a in answers]
    assert loads[0] > 0
    assert loads[1:] == [None, None]
    assert [a["usage"]["output_tokens"] for a in answers] == [4, 4, 4]


@pytest.mark.engine
def test_missing_file_names_the_path(tmp_path: Path) -> None:
    absent = tmp_path / "absent.gguf"
    result = run_in_process("run", "-m", f"llamacpp:{absent}", input=PROMPT)
    assert result.returncode == 2
    assert str(absent).encode() in result.stderr
    with pytest.raises(ModelNotFound, match="unknown model 'nonsense'"):
        list(LlamaCppProvider().stream(Request.from_prompt("hi"), "nonsense"))


@pytest.mark.engine
def test_zero_max_tokens_is_refused(llama: LlamaCppProvider, gemma_gguf: Path) -> None:
    with pytest.raises(BadRequest, match="max_tokens"):
        run(llama, gemma_gguf, max_tokens=0)
