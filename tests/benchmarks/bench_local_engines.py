"""Generation speed of our in-process providers against the raw engines they wrap.

    .venv/bin/pytest tests/benchmarks/bench_local_engines.py -s

llamacpp: our provider's stream vs `Llama.create_completion(stream=True)` on the same
loaded Gemma 3 270M, prompt, thread count and token budget (greedy). mlx: our provider
vs `mlx_lm.stream_generate` on the same loaded tiny model. Runs are paired and
interleaved (A B B A ...) so machine noise hits both alike. Speed is the tokens the
engine generated over the whole stream's time (the short prompt's evaluation included),
timed the same way for both.
Target: ours >= 95% of raw. Also: load time, and peak RSS and TTFT of one cold
`llm run -m llamacpp:gemma-3-270m` process. No assertions: figures only.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from convergio_llm.providers.base import Request
from convergio_llm.providers.llamacpp import LlamaCppProvider
from convergio_llm.providers.mlx import MLXProvider
from tests.servers.tiny_mlx import tiny_mlx_model  # noqa: F401  (a fixture)

PAIRS = int(os.environ.get("BENCH_PAIRS", "7"))
PROMPT = "The capital of France is"


def tokens_per_second(stream: Iterable[Any], count: Callable[[Any], int]) -> float:
    """Tokens the engine reports for the stream (from its last item), over the stream's time."""
    start = time.perf_counter()
    *_, last = stream
    return count(last) / (time.perf_counter() - start)


def paired(ours: Callable[[], float], raw: Callable[[], float]) -> tuple[list[float], list[float]]:
    a: list[float] = []
    b: list[float] = []
    ours(), raw()  # warm-up: caches, first-call allocations
    for i in range(PAIRS):
        order = [(ours, a), (raw, b)] if i % 2 == 0 else [(raw, b), (ours, a)]
        for run, into in order:
            into.append(run())
    return a, b


def summary(name: str, ours: list[float], raw: list[float]) -> str:
    ratios = sorted(o / r for o, r in zip(ours, raw, strict=True))
    return (
        f"  {name}: ours {statistics.median(ours):7.1f} tok/s (min {min(ours):.1f}, "
        f"max {max(ours):.1f})  raw {statistics.median(raw):7.1f} tok/s (min {min(raw):.1f}, "
        f"max {max(raw):.1f})  ours/raw median {statistics.median(ratios):.3f} "
        f"[{ratios[0]:.3f}..{ratios[-1]:.3f}]  (target >= 0.95)"
    )


def output_tokens(completion: Any) -> int:
    return int(completion.usage.output_tokens)


def test_llamacpp_vs_raw_llama_cpp() -> None:
    provider = LlamaCppProvider(settings={"n_ctx": 1024})
    budget = 64
    request = Request.from_prompt(PROMPT, max_tokens=budget, temperature=0)
    load = provider.generate(request.with_params(max_tokens=1), "gemma-3-270m").timings.load_s
    engine = provider._engines["gemma-3-270m"]

    def ours() -> float:
        return tokens_per_second(provider.stream(request, "gemma-3-270m"), output_tokens)

    def raw() -> float:
        # The raw stream reports no usage: greedy from this prompt always runs to the budget.
        chunks = engine.create_completion(PROMPT, max_tokens=budget, temperature=0, stream=True)
        return tokens_per_second(chunks, lambda last: budget)

    a, b = paired(ours, raw)
    print(
        f"\nllama.cpp, gemma-3-270m Q4_K_M, {engine.n_threads} threads, {budget} tokens, "
        f"{PAIRS} pairs, load avg {os.getloadavg()}, load {load:.2f} s"
    )
    print(summary("generation", a, b))
    print(cold_cli_run())


def test_mlx_vs_raw_mlx_lm(tiny_mlx_model: Path) -> None:  # noqa: F811
    from mlx_lm import stream_generate
    from mlx_lm.sample_utils import make_sampler

    provider = MLXProvider()
    budget = 128
    model = str(tiny_mlx_model)
    request = Request.from_prompt(PROMPT, max_tokens=budget, temperature=0)
    load = provider.generate(request.with_params(max_tokens=1), model).timings.load_s
    engine, tokenizer = provider._loaded[model]
    ids = tokenizer.apply_chat_template(
        [{"role": "user", "content": PROMPT}], add_generation_prompt=True
    )

    def ours() -> float:
        return tokens_per_second(provider.stream(request, model), output_tokens)

    def raw() -> float:
        stream = stream_generate(
            engine, tokenizer, ids, max_tokens=budget, sampler=make_sampler(temp=0.0)
        )
        return tokens_per_second(stream, lambda last: last.generation_tokens)

    a, b = paired(ours, raw)
    print(f"\nmlx-lm ({load=:.3f} s), tiny random llama, {budget} tokens, {PAIRS} pairs")
    made = provider.generate(request, model).usage.output_tokens
    print(f"  (greedy; each run generates {made} tokens, end of sequence included)")
    print(summary("generation", a, b))


def cold_cli_run() -> str:
    """One cold `llm run` process: its peak RSS (from a fresh parent) and its own timings."""
    probe = (
        "import resource, subprocess, sys\n"
        "out = subprocess.run(sys.argv[1:], input=b'The capital of France is', "
        "capture_output=True)\n"
        "sys.stdout.write(out.stdout.decode())\n"
        "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)\n"
    )
    llm = Path(sys.executable).with_name("llm")
    argv = [
        str(llm),
        "run",
        "-m",
        "llamacpp:gemma-3-270m",
        "--json",
        "--no-cache",
        "--max-tokens",
        "64",
    ]
    with tempfile.TemporaryDirectory() as home:
        # Keep the user's assembled model: only config and data are made empty.
        env = dict(os.environ, XDG_CONFIG_HOME=home, XDG_DATA_HOME=home)
        out = subprocess.run(
            [sys.executable, "-c", probe, *argv], capture_output=True, env=env, check=False
        )
    *answer, rss_kib = out.stdout.decode().splitlines()
    if not answer:
        return f"  cold `llm run` failed: {out.stderr.decode()[-300:]}"
    timings = json.loads(answer[0])["timings"]
    return (
        f"  cold `llm run -m llamacpp:gemma-3-270m`: peak RSS {int(rss_kib) / 1024:.0f} MiB, "
        f"load {timings['load_s']:.2f} s, ttft {timings['ttft_s'] * 1000:.0f} ms "
        f"(includes load), total {timings['total_s']:.2f} s"
    )
