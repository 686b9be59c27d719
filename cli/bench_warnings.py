"""The caveats a careful reader needs before trusting the figures, said plainly.

Each check looks at what was measured (never at what was intended) and yields
`{"target", "kind", "message"}`; the report prints them under the table and the
JSON record keeps them.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from convergio_llm.cli.bench_measure import Sample, Target
from convergio_llm.cli.bench_stats import first_is_slow, outlier_indexes

# An engine given T threads that gets less than this share of T cores was waiting for them.
CPU_SHARE_FLOOR = 0.75
# A prompt the engine evaluated less than this share of was mostly served from its cache.
PREFIX_CACHE_SHARE = 0.5
# --check-engine's tolerance between client-side and engine-reported decode speed.
ENGINE_TOLERANCE_PCT = 5.0

Warning_ = dict[str, Any]


def collect(
    targets: Sequence[Target],
    samples: Sequence[Sample],
    host: Mapping[str, Any],
    summaries: Mapping[str, Mapping[str, Any]],
    check_engine: bool,
) -> list[Warning_]:
    out = list(host_load(host))
    for target in targets:
        mine = [s for s in samples if s.target == target.ref]
        out += errors(target, mine)
        out += cpu_contention(target, mine)
        out += outliers(target, mine)
        out += slow_first_run(target, mine)
        out += prefix_cache(target, mine)
        out += early_stop(target, mine)
        out += estimated_tokens(target, mine)
        if check_engine:
            out += engine_disagrees(target, summaries[target.ref].get("engine_check"))
    return out


def _w(target: str | None, kind: str, message: str) -> Warning_:
    return {"target": target, "kind": kind, "message": message}


def host_load(host: Mapping[str, Any]) -> Iterator[Warning_]:
    cores = host.get("cores") or 1
    peak = max((x for x in (host.get("load_start"), host.get("load_end")) if x), default=None)
    if peak is not None and peak > cores:
        yield _w(
            None,
            "cpu-contention",
            f"load average {peak:.1f} is above the {cores} cores: other processes compete "
            "for the CPU, so local figures are slower and noisier than on a quiet machine",
        )


def errors(target: Target, samples: Sequence[Sample]) -> Iterator[Warning_]:
    failed = [s for s in samples if not s.ok]
    if failed:
        yield _w(
            target.ref,
            "errors",
            f"{target.ref}: {len(failed)} of {len(samples)} samples failed "
            f"(first: {failed[0].error_type}: {failed[0].error})",
        )


def cpu_contention(target: Target, samples: Sequence[Sample]) -> Iterator[Warning_]:
    threads = target.threads
    if not target.isolated or not threads:
        return
    shares = [s.cpu_s / s.e2e_s for s in samples if s.ok and s.cpu_s and s.e2e_s]
    if not shares:
        return
    used = statistics.median(shares)
    if used < CPU_SHARE_FLOOR * threads:
        yield _w(
            target.ref,
            "cpu-contention",
            f"{target.ref}: the engine kept {used:.1f} CPUs busy with {threads} threads "
            "(process CPU time ÷ wall time): its threads waited for cores",
        )


def _by_prompt(samples: Sequence[Sample]) -> dict[str, list[Sample]]:
    groups: dict[str, list[Sample]] = defaultdict(list)
    for s in sorted(samples, key=lambda s: s.rep):
        if s.ok:
            groups[s.prompt_id].append(s)
    return groups


def outliers(target: Target, samples: Sequence[Sample]) -> Iterator[Warning_]:
    """hyperfine's MAD rule, within each prompt (different prompts differ by design)."""
    for field, label in (("ttft_s", "TTFT"), ("decode_tps", "decode tok/s"), ("e2e_s", "time")):
        found = []
        for prompt_id, group in _by_prompt(samples).items():
            vals = [getattr(s, field) for s in group if getattr(s, field) is not None]
            found += [f"{prompt_id}#{i + 1}" for i in outlier_indexes(vals)]
        if found:
            yield _w(
                target.ref,
                "outliers",
                f"{target.ref}: {len(found)} {label} outlier(s) ({', '.join(found[:5])}): "
                "a background process or the system interfered; consider more repetitions",
            )


def slow_first_run(target: Target, samples: Sequence[Sample]) -> Iterator[Warning_]:
    for prompt_id, group in _by_prompt(samples).items():
        times = [s.e2e_s for s in group if s.e2e_s is not None]
        if group and group[0].rep == 0 and first_is_slow(times):
            yield _w(
                target.ref,
                "slow-first-run",
                f"{target.ref}: the first run of prompt {prompt_id} took {times[0]:.3f} s, far "
                f"above the median {statistics.median(times):.3f} s (caches or a model still "
                "loading): use --warmup",
            )
            return


def prefix_cache(target: Target, samples: Sequence[Sample]) -> Iterator[Warning_]:
    """Fewer prompt tokens evaluated than the prompt has: the rest came from a cache.

    Ollama reports the evaluated count as the prompt's size, so the yardstick is the
    largest count seen for the same prompt, or the character-based estimate if larger.
    """
    sizes: dict[str, int] = defaultdict(int)
    for s in samples:
        for size in (s.input_tokens, s.engine_prompt_tokens, s.estimated_input_tokens):
            sizes[s.prompt_id] = max(sizes[s.prompt_id], size or 0)
    hits = [s for s in samples if s.ok and _cache_hit(s, sizes[s.prompt_id])]
    if hits:
        yield _w(
            target.ref,
            "prefix-cache",
            f"{target.ref}: {len(hits)} of {len(samples)} samples reused a cached prompt prefix "
            "(the engine evaluated far fewer prompt tokens than the prompt has): their TTFT "
            "is not a cold prompt's",
        )


def _cache_hit(s: Sample, prompt_size: int) -> bool:
    if s.cached_input_tokens:
        return True
    evaluated = s.engine_prompt_tokens
    return evaluated is not None and evaluated < PREFIX_CACHE_SHARE * prompt_size


def early_stop(target: Target, samples: Sequence[Sample]) -> Iterator[Warning_]:
    early = [
        s
        for s in samples
        if s.ok
        and s.finish_reason == "stop"
        and s.max_tokens
        and (s.output_tokens or 0) < s.max_tokens
    ]
    if early:
        yield _w(
            target.ref,
            "early-stop",
            f"{target.ref}: {len(early)} of {len(samples)} samples hit end-of-sequence before "
            "--max-tokens: decode windows differ in length, so compare decode tok/s with care",
        )


def estimated_tokens(target: Target, samples: Sequence[Sample]) -> Iterator[Warning_]:
    if any(s.ok and s.token_source == "estimated" for s in samples):
        yield _w(
            target.ref,
            "estimated-tokens",
            f"{target.ref}: the backend reported no token counts; they are estimated "
            "(~4 characters a token), and so is its decode tok/s",
        )


def engine_disagrees(target: Target, check: Mapping[str, Any] | None) -> Iterator[Warning_]:
    if check is None:
        yield _w(target.ref, "engine-check", f"{target.ref}: the engine reports no decode speed")
    elif abs(check["difference_pct"]) > ENGINE_TOLERANCE_PCT:
        yield _w(
            target.ref,
            "engine-check",
            f"{target.ref}: client-side decode {check['client_decode_tps']:.1f} tok/s differs "
            f"from the engine's {check['engine_decode_tps']:.1f} tok/s by "
            f"{check['difference_pct']:+.1f}% (more than {ENGINE_TOLERANCE_PCT:.0f}%)",
        )
