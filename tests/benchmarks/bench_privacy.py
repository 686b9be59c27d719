"""The privacy scanner: recall on the held-out set, false alarms on ordinary prompts, speed.

    .venv/bin/pytest tests/benchmarks/bench_privacy.py -s -p no:cacheprovider
    python -m tests.benchmarks.bench_privacy            # the same figures

Figures are printed, never asserted. The ordinary prompts are the public routing prompts in
../shared/routing-data/pairs.jsonl (read in place, never copied): real requests people send
to a chat model, where a finding is almost always a false alarm. Each alarm is listed by
kind and prompt number, so a reader can look at it and judge.
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

pytestmark = pytest.mark.benchmark

DATA = Path(__file__).parents[1] / "data"
PAIRS = Path(__file__).parents[3] / "shared" / "routing-data" / "pairs.jsonl"
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "5"))


def _cases(name: str) -> list[dict[str, object]]:
    lines = (DATA / name).read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines if line.strip()]


def ordinary_prompts() -> list[str]:
    if not PAIRS.exists():
        return []
    rows = [json.loads(line) for line in PAIRS.read_text(encoding="utf-8").splitlines() if line]
    return [r["prompt"] for r in rows if isinstance(r.get("prompt"), str)]


def labelled_report(name: str) -> str:
    from convergio_llm.routing.privacy import scan

    tp = fp = fn = 0
    misses = []
    cases = _cases(name)
    for case in cases:
        got = {f.kind for f in scan(str(case["text"]), terms=case.get("terms", ()))}  # type: ignore[arg-type]
        expected = set(case["kinds"])  # type: ignore[call-overload]
        tp += len(got & expected)
        fp += len(got - expected)
        fn += len(expected - got)
        if got != expected:
            misses.append(f"    {sorted(expected)} got {sorted(got)}: {str(case['text'])[:60]!r}")
    positives = sum(1 for c in cases if c["kinds"])
    wrong_negatives = sum(1 for c in cases if not c["kinds"] and scan(str(c["text"])))
    head = (
        f"{name}: {len(cases)} cases ({positives} positive): recall {tp / max(1, tp + fn):.3f} "
        f"({tp}/{tp + fn} kinds), precision {tp / max(1, tp + fp):.3f}, "
        f"{wrong_negatives}/{len(cases) - positives} negatives flagged"
    )
    return "\n".join([head, *misses])


def false_alarm_report(prompts: list[str]) -> str:
    from convergio_llm.routing.privacy import scan

    if not prompts:
        return f"false alarms: {PAIRS} not found"
    kinds: Counter[str] = Counter()
    flagged = []
    for i, prompt in enumerate(prompts):
        found = scan(prompt)
        if found:
            flagged.append(i)
            kinds.update({f.kind for f in found})
    lines = [
        f"ordinary prompts flagged: {len(flagged)}/{len(prompts)} "
        f"({100 * len(flagged) / len(prompts):.2f}%) by kind {dict(kinds.most_common())}"
    ]
    for i in flagged[:40]:  # kind and span only: the prompt is public, but say where, not what
        spans = [(f.kind, f.start, f.end) for f in scan(prompts[i])]
        lines.append(f"    prompt {i}: {spans}")
    return "\n".join(lines)


def speed_report(prompts: list[str]) -> str:
    from convergio_llm.routing import privacy

    sample = prompts[:5000] or ["what is the capital of France?"] * 5000
    chars = sum(map(len, sample))
    rates = []
    for _ in range(ROUNDS):
        privacy._WORD_FLAGS.clear()  # each round pays for its first look at every word
        started = time.perf_counter()
        for text in sample:
            privacy.scan(text)
        rates.append(len(sample) / (time.perf_counter() - started))
    rates.sort()
    return (
        f"scan() over {len(sample):,} ordinary prompts ({chars / len(sample):,.0f} chars mean): "
        f"median {statistics.median(rates):,.0f}/s, min {rates[0]:,.0f}, max {rates[-1]:,.0f} "
        f"({ROUNDS} rounds, load {os.getloadavg()[0]:.1f})"
    )


def report() -> str:
    prompts = ordinary_prompts()
    return "\n".join(
        [
            labelled_report("privacy_heldout_fresh.jsonl"),
            labelled_report("privacy_cases.jsonl"),
            false_alarm_report(prompts),
            speed_report(prompts),
        ]
    )


def test_privacy_figures() -> None:
    print("\n" + report())


if __name__ == "__main__":
    print(report())
    sys.exit(0)
