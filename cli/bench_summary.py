"""From samples to figures: per-target summaries and paired comparisons.

Failed samples count toward the error rate and nowhere else; every other figure is
computed over the samples that succeeded.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from typing import Any

from convergio_llm.cli.bench_measure import Sample, Target
from convergio_llm.cli.bench_stats import finite, fraction, paired_median_ratio, summarise

# What is summarised and compared, and how to read it: (key, sample field, higher is better).
METRICS: tuple[tuple[str, str, bool], ...] = (
    ("ttft_s", "ttft_s", False),
    ("decode_tps", "decode_tps", True),
    ("e2e_s", "e2e_s", False),
)


def values(samples: Sequence[Sample], field: str) -> list[float]:
    return finite([getattr(s, field) for s in samples if s.ok])


def summarise_target(target: Target, samples: Sequence[Sample]) -> dict[str, Any]:
    ok = [s for s in samples if s.ok]
    out: dict[str, Any] = {
        "target": target.ref,
        "samples": len(samples),
        "ok": len(ok),
        "errors": len(samples) - len(ok),
        "error_rate": fraction(len(samples) - len(ok), len(samples)),
    }
    for key, field, _ in METRICS:
        summary = summarise(values(samples, field))
        out[key] = summary.to_json() if summary else None
    out["input_tokens"] = _median(values(samples, "input_tokens"))
    out["output_tokens"] = _median(values(samples, "output_tokens"))
    sources = {s.token_source for s in ok}
    out["token_source"] = sources.pop() if len(sources) == 1 else ("mixed" if sources else None)
    produced = sum(s.output_tokens or 0 for s in ok)
    out["throughput_tps"] = produced / target.busy_s if target.busy_s > 0 and produced else None
    out["load_s"] = target.load_s
    out["load_state"] = target.load_state
    rss = values(samples, "peak_rss_mb")
    out["peak_rss_mb"] = max(rss) if rss else None
    costs = [s.cost_usd for s in ok]
    known = finite(costs)
    out["cost_usd"] = {
        "total": sum(known) if known and len(known) == len(costs) else None,
        "per_request": _median(known),
    }
    out["engine_check"] = engine_check(samples)
    return out


def engine_check(samples: Sequence[Sample]) -> dict[str, Any] | None:
    """Client-side decode tok/s against what the engine reported for the same samples."""
    pairs = [
        (s.decode_tps, s.engine_decode_tps)
        for s in samples
        if s.ok and s.decode_tps and s.engine_decode_tps
    ]
    if not pairs:
        return None
    client = statistics.median(c for c, _ in pairs)
    engine = statistics.median(e for _, e in pairs)
    return {
        "pairs": len(pairs),
        "client_decode_tps": client,
        "engine_decode_tps": engine,
        "difference_pct": (client / engine - 1.0) * 100.0,
    }


def compare(
    targets: Sequence[Target], samples: Sequence[Sample], seed: int
) -> list[dict[str, Any]]:
    """Every target against the first, paired by (prompt, repetition), per metric."""
    if len(targets) < 2:
        return []
    by_key = {(s.target, s.prompt_id, s.rep): s for s in samples if s.ok}
    base = targets[0].ref
    out = []
    for target in targets[1:]:
        for key, field, higher_better in METRICS:
            pairs = _pairs(by_key, base, target.ref, field)
            ratio = paired_median_ratio(pairs, seed=seed)
            out.append(
                {
                    "baseline": base,
                    "target": target.ref,
                    "metric": key,
                    "higher_is_better": higher_better,
                    "median_ratio": None if ratio is None else ratio.median,
                    "ci_low": None if ratio is None else ratio.low,
                    "ci_high": None if ratio is None else ratio.high,
                    "confidence": None if ratio is None else ratio.confidence,
                    "pairs": 0 if ratio is None else ratio.pairs,
                }
            )
    return out


def _pairs(
    by_key: dict[tuple[str, str, int], Sample],
    base: str,
    other: str,
    field: str,
) -> list[tuple[float, float]]:
    pairs = []
    for (ref, prompt_id, rep), sample in by_key.items():
        if ref != base:
            continue
        partner = by_key.get((other, prompt_id, rep))
        a = getattr(sample, field)
        b = None if partner is None else getattr(partner, field)
        if a is not None and b is not None:
            pairs.append((a, b))
    return pairs


def _median(vals: list[float]) -> float | None:
    return statistics.median(vals) if vals else None
