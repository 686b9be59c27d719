"""The router's judgement and cost: eval figures on public held-out rows, cold start, speed.

    .venv/bin/pytest tests/benchmarks/bench_router.py -s -p no:cacheprovider
    python -m tests.benchmarks.bench_router            # the same figures

Reads ../shared/routing-data (ROUTING_DATA=... elsewhere); the data are not shipped.
- eval: `llm route eval`'s metrics on the dev split of pairs.jsonl, overall and per source,
  for the learned router (the default), the hand-set heuristic, prompt length and random;
  and on the same dev prompts' second weak/strong pair (Mixtral vs a GPT-4-class model).
- cold start: `echo p | llm route` with `routing.router: learned` against the same build
  with `routing.router: heuristic` (both with a config file, so both pay for YAML alike).
- decisions/s: `route --jsonl` in-process on chat-length prompts, both routers.
- make router: the weights regenerated into a temporary file must equal the shipped ones.
Figures are printed; the one assertion is that regeneration is bit-for-bit.
"""

from __future__ import annotations

import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

import pytest

from convergio_llm.routing import scorer
from convergio_llm.routing.complexity import assess
from convergio_llm.routing.route_eval import (
    Metrics,
    Row,
    bootstrap,
    compare,
    evaluate,
    length_score,
)
from tests.benchmarks import bench_route

pytestmark = pytest.mark.benchmark

ROOT = Path(__file__).parents[2]
DATA = Path(os.environ.get("ROUTING_DATA", ROOT.parent / "shared" / "routing-data"))
RUNS = int(os.environ.get("BENCH_RUNS", "21"))


def _read(name: str) -> list[dict[str, object]]:
    with open(DATA / name, encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def _line(name: str, m: Metrics) -> str:
    return (
        f"    {name:<10} APGR {m.apgr:.3f}  CPT(50%) {m.cpt50:6.1%}  CPT(80%) {m.cpt80:6.1%}  "
        f"strong calls for 95% {m.strong_share_95:6.1%}"
    )


def _block(title: str, rows: list[Row]) -> list[str]:
    scores = [assess(r.prompt).score for r in rows]
    report = compare(rows, dict(zip((r.prompt for r in rows), scores, strict=True)).__getitem__)
    heuristic = [assess(r.prompt, router="heuristic").score for r in rows]
    metrics = {**report.metrics, "heuristic": evaluate(heuristic, rows)}
    best = max(("length", "random", "heuristic"), key=lambda k: metrics[k].apgr)
    mark = "router best" if metrics["router"].apgr > metrics[best].apgr else f"{best} best"
    # Paired bootstrap (as `llm route eval` prints it): is the lead more than noise?
    paired = {
        "router": scores,
        "heuristic": heuristic,
        "length": [length_score(r.prompt) for r in rows],
    }
    lead = bootstrap(rows, paired, resamples=1000).lead[best]
    diff = metrics["router"].apgr - metrics[best].apgr
    mark += f"; router - {best} {diff:+.3f}, 95% [{lead.low:+.3f}, {lead.high:+.3f}]"
    lines = [f"  {title} (n={len(rows)}; {mark})"]
    lines += [_line(name, metrics[name]) for name in ("router", "heuristic", "length", "random")]
    return lines


def eval_report() -> str:
    pairs = _read("pairs.jsonl")
    dev = [r for r in pairs if r["split"] == "dev"]
    by_source: dict[str, list[Row]] = defaultdict(list)
    for r in dev:
        row = Row(str(r["prompt"]), float(r["weak"]), float(r["strong"]))  # type: ignore[arg-type]
        by_source[str(r["src_dataset"])].append(row)
    everything = [row for rows in by_source.values() for row in rows]
    lines = ["pairs.jsonl, split dev:", *_block("all", everything)]
    for source in sorted(by_source):
        lines += _block(source, by_source[source])
    dev_prompts = {r["prompt"] for r in dev}
    second = [
        Row(str(r["prompt"]), float(r["weak"]), float(r["strong"]))  # type: ignore[arg-type]
        for r in _read("pairs_mixtral_vs_gpt4class.jsonl")
        if r["prompt"] in dev_prompts
    ]
    lines += ["the same dev prompts, Mixtral-8x7B vs a GPT-4-class model:"]
    lines += _block("all", second)
    return "\n".join(lines)


def _cpu(argv: list[str], stdin: bytes, env: dict[str, str]) -> float:
    """The child's CPU time (user + system): on a shared, loaded machine wall time mostly
    measures the neighbours, CPU time the work."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    result = subprocess.run(argv, input=stdin, env=env, capture_output=True, check=False)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    assert result.returncode == 0, result.stderr.decode()[-500:]
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def cold_start_report() -> str:
    llm = str(Path(sys.executable).with_name("llm"))
    times: dict[str, list[float]] = {"learned": [], "heuristic": []}
    cpu: dict[str, list[float]] = {"learned": [], "heuristic": []}
    with tempfile.TemporaryDirectory() as home:
        env = dict(os.environ, XDG_CONFIG_HOME=home, XDG_DATA_HOME=home, XDG_CACHE_HOME=home)
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        configs = {}
        for router in times:
            path = Path(home) / f"{router}.yaml"
            path.write_text(f"routing:\n  router: {router}\n")
            configs[router] = dict(env, CONVERGIO_LLM_CONFIG=str(path))
        for i in range(RUNS + 1):  # interleaved; the first round writes bytecode
            for router, router_env in configs.items():
                elapsed = bench_route._wall([llm, "route"], b"p\n", router_env)
                used = _cpu([llm, "route"], b"p\n", router_env)
                if i:
                    times[router].append(elapsed)
                    cpu[router].append(used)
    lines = [f"cold start of `echo p | llm route`, {RUNS} interleaved runs, load "]
    lines[0] += f"{os.getloadavg()[0]:.1f} (median):"
    for name, samples in (("wall", times), ("CPU", cpu)):
        learned, heuristic = (statistics.median(samples[k]) * 1000 for k in samples)
        lines.append(
            f"  {name:<4} learned {learned:6.1f} ms, heuristic {heuristic:6.1f} ms "
            f"({100 * (learned - heuristic) / heuristic:+.1f}%)"
        )
    return "\n".join(lines)


def throughput_report() -> str:
    texts = bench_route.prompts()
    chat = [t for i, t in enumerate(texts) if i % 6 == 1]
    batch = bench_route._jsonl((chat * (bench_route.N // len(chat) + 1))[: bench_route.N])
    lines = [f"route --jsonl, {bench_route.N:,} short chat prompts, in-process:"]
    with tempfile.TemporaryDirectory() as home:
        for router in ("learned", "heuristic"):
            path = Path(home) / f"{router}.yaml"
            path.write_text(f"routing:\n  router: {router}\n")
            old = os.environ.get("CONVERGIO_LLM_CONFIG")
            os.environ["CONVERGIO_LLM_CONFIG"] = str(path)
            try:
                wall = bench_route._rates(
                    lambda: bench_route.run_route(batch, cloud=True)[0], bench_route.N
                )
                cpu = bench_route._rates(lambda: _cpu_of(batch), bench_route.N)
            finally:
                if old is None:
                    os.environ.pop("CONVERGIO_LLM_CONFIG")
                else:
                    os.environ["CONVERGIO_LLM_CONFIG"] = old
            lines.append(f"  {router:<10} wall {wall}")
            lines.append(f"  {'':<10} CPU  {cpu}")
    return "\n".join(lines)


def _cpu_of(batch: bytes) -> float:
    """Seconds of this process's CPU time for one `route --jsonl` pass."""
    started = time.process_time()
    bench_route.run_route(batch, cloud=True)
    return time.process_time() - started


def regenerated_equals_shipped() -> bool:
    shipped = Path(scorer.__file__).with_name(scorer.WEIGHTS_FILE).read_bytes()
    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder) / "weights.json"
        subprocess.run(
            [
                sys.executable,
                str(ROOT / "tools" / "train_router.py"),
                "--data",
                str(DATA),
                "--out",
                str(out),
            ],
            check=True,
            capture_output=True,
        )
        return out.read_bytes() == shipped


def test_eval_figures() -> None:
    print("\n" + eval_report())


def test_cold_start() -> None:
    print("\n" + cold_start_report())


def test_throughput() -> None:
    print("\n" + throughput_report())


def test_make_router_is_bit_for_bit() -> None:
    assert regenerated_equals_shipped()


if __name__ == "__main__":
    print(eval_report())
    print(cold_start_report())
    print(throughput_report())
    print("make router regenerates the shipped weights bit for bit:", regenerated_equals_shipped())
