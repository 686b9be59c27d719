"""`llm route` speed: cold start in a shell loop, and decisions per second in-process.

Run on demand: `.venv/bin/pytest tests/benchmarks/bench_route.py -s -p no:cacheprovider`.
Figures are printed, never asserted (targets: cold start <= 60 ms median, >= 20,000
decisions/s over 10,000 prompts).
"""

from __future__ import annotations

import io
import json
import os
import random
import statistics
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.benchmark

RUNS = 21
WORDS = [
    "the",
    "a",
    "model",
    "prompt",
    "explain",
    "prove",
    "cache",
    "python",
    "list",
    "capital",
    "river",
    "seven",
    "total",
    "each",
]


def _wall(cmd: list[str], stdin: bytes, env: dict[str, str]) -> float:
    started = time.perf_counter()
    result = subprocess.run(cmd, input=stdin, env=env, capture_output=True, check=False)
    elapsed = time.perf_counter() - started
    assert result.returncode == 0, result.stderr.decode()[-500:]
    return elapsed


def _spread(samples: list[float]) -> str:
    ms = sorted(s * 1000 for s in samples)
    return (
        f"median {statistics.median(ms):6.1f} ms  min {ms[0]:6.1f}  "
        f"p90 {ms[int(len(ms) * 0.9)]:6.1f}  max {ms[-1]:6.1f}"
    )


def test_cold_start_route(tmp_path: Path) -> None:
    env = dict(os.environ)
    env.pop("CONVERGIO_LLM_CONFIG", None)
    llm = Path(sys.executable).with_name("llm")
    baseline = [_wall([sys.executable, "-c", "pass"], b"", env) for _ in range(RUNS)]
    route = [_wall([str(llm), "route"], b"p\n", env) for _ in range(RUNS)]
    print(f"\npython -c pass      {_spread(baseline)}")
    print(f"echo p | llm route  {_spread(route)}")
    extra = (statistics.median(route) - statistics.median(baseline)) * 1000
    print(f"llm route minus interpreter start: {extra:.1f} ms")


def _prompts(n: int) -> list[str]:
    rng = random.Random(7)
    out = []
    for i in range(n):
        words = rng.choices(WORDS, k=rng.randint(3, 40))
        if i % 10 == 0:
            words.append("mail me at someone@example.com")
        if i % 7 == 0:
            words.append(f"{rng.randint(2, 99)} apples cost {rng.randint(1, 9)} dollars each")
        out.append(" ".join(words) + "?")
    return out


def test_route_jsonl_throughput() -> None:
    from convergio_llm.cli.context import Environment
    from convergio_llm.cli.route_impl import route_command
    from convergio_llm.routing.decide import Policy

    lines = "".join(json.dumps({"prompt": p}) + "\n" for p in _prompts(10_000)).encode()
    env = Environment(stdin=io.BytesIO(lines), stdout=io.StringIO(), stderr=io.StringIO())
    env.routing.facts["ollama_answers"] = False  # one fact a shell would find once anyway
    started = time.perf_counter()
    status = route_command(env, None, {}, Policy(), jsonl=True, explain=False)
    elapsed = time.perf_counter() - started
    out = env.stdout.getvalue().splitlines()  # type: ignore[attr-defined]
    assert status == 0 and len(out) == 10_000
    rate = len(out) / elapsed
    print(f"\nroute --jsonl in-process: {rate:,.0f} decisions/s ({elapsed:.2f} s for 10,000)")


def test_decide_only_throughput() -> None:
    from convergio_llm.cli.context import Environment
    from convergio_llm.providers.base import Request
    from convergio_llm.routing.decide import Policy, decide

    env = Environment()
    ctx = env.routing
    ctx.facts["ollama_answers"] = False
    requests = [Request.from_prompt(p) for p in _prompts(10_000)]
    started = time.perf_counter()
    for request in requests:
        decide(request, ctx, Policy())
    elapsed = time.perf_counter() - started
    print(f"\ndecide() alone: {len(requests) / elapsed:,.0f} decisions/s")
