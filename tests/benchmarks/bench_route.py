"""`llm route` speed: cold start in a shell loop, and decisions per second in-process.

    .venv/bin/pytest tests/benchmarks/bench_route.py -s -p no:cacheprovider
    python -m tests.benchmarks.bench_route              # the same figures
    python -m tests.benchmarks.bench_route --dump F     # every decision's JSON, to diff

Figures are printed, never asserted (targets: cold start <= 60 ms median, >= 20,000
decisions/s over 10,000 prompts). The prompts are varied on purpose: short chat, long
text, code, word problems, the dev sets' own prompts and PII of every kind, so each
scanner's slow path is exercised as often as a real mix would.

Last figures (2026-12-02, load ~12, so ~5x below a quiet machine; new vs previous build in
alternating processes): short chat 2,380-2,790/s vs 2,070-2,090/s; 1,400-char prompts
416-490/s vs 409-475/s, where privacy.scan alone runs ~840-980 long prompts/s (it is the
long-prompt bound) and ~55,000-64,000 short ones/s.
2026-12-03 05:47 UTC (BENCH_ROUNDS=3, load 0.4-0.8): mixed 3,236/s; short chat 9,422/s,
dev set 4,767/s, 1,400-char 1,563/s, code 6,320/s, word problem 9,918/s, with PII 6,176/s.
Short chat with the cloud targets up (bench_router): learned 7,233/s, heuristic 6,552/s, so
on this VM the pipeline, not the scorer, is what stays under the 20,000/s target: per
decision ~13 µs reading the line, ~70 µs deciding (the scorer ~16-33 of them), ~40 µs
encoding the JSON and ~13 µs writing it through the secret scrub.
2026-12-03 07:56 UTC, the same VM in a slower hour (BENCH_ROUNDS=3, load 1.1-1.4): one
process mixed 2,122/s and short chat 5,522/s; past the first thousand lines in 2 forked
workers (cli/route_parallel.py) mixed 3,378/s (1.59x) and short chat 6,779/s (1.23x). On
this 2-core VM the parent (reading, writing through the scrub, unpickling) shares the
cores with both workers; each further core adds a worker. 102,051 mixed lines through
`llm route --jsonl` (a file in, a file out, 07:28 UTC): 42.6 s and 41.1 s in one process,
27.9 s and 26.9 s with 2 workers (1.55x; CPU time 41 s -> 50 s, the cost of the pickling).
"""

from __future__ import annotations

import io
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import pytest

pytestmark = pytest.mark.benchmark

N = 10_000
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "5"))
RUNS = int(os.environ.get("BENCH_RUNS", "21"))
DATA = Path(__file__).parents[1] / "data"
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
    "report",
    "history",
    "budget",
    "analyse",
    "design",
    "the",
    "of",
    "and",
    "to",
    "in",
    "is",
    "that",
    "for",
    "it",
    "with",
    "as",
    "on",
]
CODE = (
    "```python\ndef {f}(xs):\n    total = 0\n    for x in xs:\n        total += x * {n}\n"
    "    return total / len(xs)\n```\nWhy does {f}([]) crash? Fix it and add unit tests."
)
MATH = (
    "A shop sells {a} apples at ${b} each and {c} pears at ${d} each. It spends {e} percent "
    "of the takings on rent. How much is left after {f} days?"
)
PII = (
    "mail me at {name}@example.com",
    "call me on +39 333 {n3} {n4}",
    "my card is 4111 1111 1111 1111",
    "IBAN DE89370400440532013000 please",
    "codice fiscale RSSMRA85T10A562S",
    "the server is at 192.168.{o}.{o2}",
    "password = hunter{n4}x",
    "SSN 123-45-{n4}",
    "version 1.2.{o} released on 2024-03-{o}",  # a look-alike, not PII
)


def _dev_texts() -> list[str]:
    rows = [json.loads(x) for x in (DATA / "complexity_dev.jsonl").read_text().splitlines() if x]
    cases = [json.loads(x) for x in (DATA / "privacy_cases.jsonl").read_text().splitlines() if x]
    return [r["prompt"] for r in rows] + [c["text"] for c in cases]


def prompts(n: int = N) -> list[str]:
    """`n` varied prompts, the same ones every run."""
    rng = random.Random(7)
    dev = _dev_texts()
    out = []
    for i in range(n):
        kind = i % 6
        if kind == 0:
            text = rng.choice(dev)
        elif kind == 1:
            text = " ".join(rng.choices(WORDS, k=rng.randint(2, 12))) + "?"
        elif kind == 2:  # long: several dev prompts and filler
            text = " ".join(rng.choices(dev, k=rng.randint(3, 8)))
            text += " " + " ".join(rng.choices(WORDS, k=rng.randint(50, 300)))
        elif kind == 3:
            text = CODE.format(f=rng.choice(["mean", "avg", "scale"]), n=rng.randint(2, 9))
        elif kind == 4:
            text = MATH.format(**{k: rng.randint(2, 99) for k in "abcdef"})
        else:
            pii = rng.choice(PII).format(
                name=rng.choice(["ada", "bob", "maria.rossi"]),
                n3=rng.randint(100, 999),
                n4=rng.randint(1000, 9999),
                o=rng.randint(1, 250),
                o2=rng.randint(1, 250),
            )
            text = " ".join(rng.choices(WORDS, k=rng.randint(3, 20))) + f" {pii}."
        out.append(text + (f" ({i})" if i % 3 == 0 else ""))
    return out


def _jsonl(texts: list[str]) -> bytes:
    return "".join(json.dumps({"prompt": p}) + "\n" for p in texts).encode()


CLOUD_UP = dict.fromkeys(("anthropic", "openai", "google"), True)


def run_route(lines: bytes, cloud: bool = False, workers: int = 1) -> tuple[float, list[str]]:
    """One full `route --jsonl` pass in-process: read lines, decide, write JSON. `cloud`
    pins the cloud providers as available and reachable, so medium and complex prompts
    leave the machine (without it a keyless machine keeps everything local). `workers` > 1
    decides the lines past the first thousand in that many forked processes."""
    from convergio_llm.cli.context import Environment
    from convergio_llm.cli.route_impl import route_command
    from convergio_llm.routing.decide import Policy

    env = Environment(
        stdin=io.BytesIO(lines),
        stdout=io.StringIO(),
        stderr=io.StringIO(),
        environ=dict(os.environ, CONVERGIO_LLM_WORKERS=str(workers)),
    )
    env.routing.facts["ollama_answers"] = False  # one fact a shell would find once anyway
    if cloud:
        env.routing.facts.update(available=dict(CLOUD_UP), reachable=dict(CLOUD_UP))
    started = time.perf_counter()
    status = route_command(env, None, {}, Policy(), jsonl=True, explain=False)
    elapsed = time.perf_counter() - started
    out = env.stdout.getvalue().splitlines()  # type: ignore[attr-defined]
    assert status == 0 and len(out) == lines.count(b"\n"), env.stderr.getvalue()  # type: ignore[attr-defined]
    return elapsed, out


def run_decide(texts: list[str]) -> float:
    from convergio_llm.cli.context import Environment
    from convergio_llm.providers.base import Request
    from convergio_llm.routing.decide import Policy, decide

    ctx = Environment().routing
    ctx.facts["ollama_answers"] = False
    requests = [Request.from_prompt(p) for p in texts]
    policy = Policy()
    started = time.perf_counter()
    for request in requests:
        decide(request, ctx, policy)
    return time.perf_counter() - started


def _rates(measure: Callable[[], float], n: int) -> str:
    rates = sorted(n / measure() for _ in range(ROUNDS))
    return (
        f"median {statistics.median(rates):8,.0f}/s  min {rates[0]:8,.0f}  "
        f"max {rates[-1]:8,.0f}  ({ROUNDS} rounds, load {os.getloadavg()[0]:.1f})"
    )


SHAPES = ("dev set", "short chat", "long (~1,400 chars)", "code", "word problem", "with PII")


def throughput_report() -> str:
    texts = prompts()
    lines = _jsonl(texts)
    from convergio_llm.cli.context import Environment
    from convergio_llm.cli.route_parallel import workers_for

    workers = pool = workers_for(Environment(environ={}))  # what a plain `llm route` uses
    chat = [t for i, t in enumerate(texts) if i % 6 == 1]
    chat_lines = _jsonl((chat * (N // len(chat) + 1))[:N])
    report = [
        f"decisions/s over {N:,} varied prompts, in-process:",
        f"  decide() alone        {_rates(lambda: run_decide(texts), N)}",
        f"  route --jsonl (full)  {_rates(lambda: run_route(lines)[0], N)}",
        f"  ... {workers} workers     {_rates(lambda: run_route(lines, workers=pool)[0], N)}",
        f"  short chat, 1 process {_rates(lambda: run_route(chat_lines)[0], N)}",
        f"  ... {workers} workers     {_rates(lambda: run_route(chat_lines, workers=pool)[0], N)}",
        f"route --jsonl by prompt shape ({N:,} prompts of one shape each, one process):",
    ]
    for shape, name in enumerate(SHAPES):
        # Every sixth prompt has the same shape; repeat them to N (each text still varies).
        same = [t for i, t in enumerate(texts) if i % 6 == shape]
        batch = _jsonl((same * (N // len(same) + 1))[:N])
        report.append(f"  {name:<20}  {_rates(lambda b=batch: run_route(b)[0], N)}")
    return "\n".join(report)


def _wall(argv: list[str], stdin: bytes, env: dict[str, str]) -> float:
    started = time.perf_counter()
    result = subprocess.run(argv, input=stdin, env=env, capture_output=True, check=False)
    elapsed = time.perf_counter() - started
    assert result.returncode == 0, result.stderr.decode()[-500:]
    return elapsed


def cold_start_report() -> str:
    llm = str(Path(sys.executable).with_name("llm"))
    commands = {
        "python -c pass": [sys.executable, "-c", "pass"],
        "echo p | llm route": [llm, "route"],
    }
    times: dict[str, list[float]] = {name: [] for name in commands}
    with tempfile.TemporaryDirectory() as home:
        env = dict(os.environ, XDG_CONFIG_HOME=home, XDG_DATA_HOME=home, XDG_CACHE_HOME=home)
        env.pop("CONVERGIO_LLM_CONFIG", None)
        env.pop("PYTHONDONTWRITEBYTECODE", None)  # installed packages have bytecode
        for i in range(RUNS + 1):  # interleaved; the first round writes bytecode, not counted
            for name, argv in commands.items():
                elapsed = _wall(argv, b"p\n", env)
                if i:
                    times[name].append(elapsed)
    lines = [f"cold start, {RUNS} interleaved runs, load {os.getloadavg()[0]:.1f}:"]
    for name, samples in times.items():
        ms = sorted(s * 1000 for s in samples)
        lines.append(
            f"  {name:<20} median {statistics.median(ms):6.1f} ms  min {ms[0]:6.1f}  "
            f"p90 {ms[int(len(ms) * 0.9)]:6.1f}  max {ms[-1]:6.1f}"
        )
    extra = statistics.median(times["echo p | llm route"]) - statistics.median(
        times["python -c pass"]
    )
    lines.append(f"  llm route minus interpreter start: {extra * 1000:.1f} ms")
    return "\n".join(lines)


def test_cold_start_route() -> None:
    print("\n" + cold_start_report())


def test_throughput() -> None:
    print("\n" + throughput_report())


if __name__ == "__main__":
    if sys.argv[1:2] == ["--dump"]:  # --dump FILE [--cloud]
        out = run_route(_jsonl(prompts()), cloud="--cloud" in sys.argv)[1]
        Path(sys.argv[2]).write_text("\n".join(out) + "\n")
    else:
        print(throughput_report())
        print(cold_start_report())
