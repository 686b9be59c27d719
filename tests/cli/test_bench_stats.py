"""Statistics and per-sample arithmetic of `llm bench`, against values computed by hand."""

from __future__ import annotations

import math

import pytest

from convergio_llm.cli.bench_measure import (
    Sample,
    Target,
    decode_rate,
    engine_decode_rate,
    engine_prompt_tokens,
)
from convergio_llm.cli.bench_stats import (
    first_is_slow,
    mad,
    outlier_indexes,
    paired_median_ratio,
    percentile,
    summarise,
)
from convergio_llm.cli.bench_summary import compare, summarise_target
from convergio_llm.cli.bench_warnings import collect
from convergio_llm.providers.base import Timings

NO_TIMINGS = Timings(ttft_s=None, total_s=1.0)


def test_percentile_interpolates_between_ranks() -> None:
    assert percentile([4, 1, 3, 2], 50) == 2.5
    # rank (5 − 1) × 0.9 = 3.6 → 4 + 0.6 × (5 − 4)
    assert percentile([1, 2, 3, 4, 5], 90) == pytest.approx(4.6)
    assert percentile([7], 99) == 7


def test_mad_is_the_median_of_absolute_deviations() -> None:
    # median 3; deviations 2, 1, 0, 1, 97 → median 1
    assert mad([1, 2, 3, 4, 100]) == 1


def test_outliers_follow_hyperfines_mad_rule() -> None:
    # median 11, MAD 1: 40 is 29 MADs out (> 14.826), 13 only 2
    assert outlier_indexes([10, 11, 12, 11, 10, 40]) == [5]
    assert outlier_indexes([10, 11, 12, 11, 10, 13]) == []


def test_outliers_need_a_real_relative_deviation_when_mad_is_zero() -> None:
    # MAD 0 makes any difference "infinitely" many MADs out; 5% is still not an outlier
    assert outlier_indexes([1.0, 1.0, 1.0, 1.0, 1.05]) == []
    assert outlier_indexes([1.0, 1.0, 1.0, 1.0, 2.0]) == [4]
    assert outlier_indexes([1.0, 9.0]) == []  # too few points to call anything an outlier


def test_first_run_is_slow_only_when_it_is_a_high_outlier() -> None:
    assert first_is_slow([5.0, 1.0, 1.0, 1.0, 1.0])
    assert not first_is_slow([1.0, 1.0, 1.0, 1.0, 5.0])
    assert not first_is_slow([1.0, 1.02, 0.99, 1.01])


def test_summary_has_tails_only_from_twenty_samples() -> None:
    small = summarise([1, 2, 3, 4])
    assert small is not None
    assert (small.median, small.min, small.max, small.mean) == (2.5, 1, 4, 2.5)
    assert small.stdev == pytest.approx(math.sqrt(5 / 3))  # sample stdev: Σ(x−x̄)² = 5, n − 1 = 3
    assert small.p90 is None and small.p99 is None
    big = summarise([float(x) for x in range(1, 21)])
    assert big is not None
    assert big.p90 == pytest.approx(18.1)  # rank 19 × 0.9 = 17.1
    assert big.p99 == pytest.approx(19.81)  # rank 19 × 0.99 = 18.81
    assert summarise([]) is None
    one = summarise([3.0])
    assert one is not None and one.stdev is None


def test_paired_ratio_of_a_constant_factor_has_no_spread() -> None:
    ratio = paired_median_ratio([(1.0, 2.0), (2.0, 4.0), (4.0, 8.0)])
    assert ratio is not None
    assert (ratio.median, ratio.low, ratio.high, ratio.pairs) == (2.0, 2.0, 2.0, 3)


def test_paired_ratio_bootstrap_is_deterministic_and_brackets_the_median() -> None:
    pairs = [(1.0, r) for r in (0.8, 0.9, 1.0, 1.1, 1.3, 0.95, 1.05, 1.2)]
    first = paired_median_ratio(pairs, seed=7)
    again = paired_median_ratio(pairs, seed=7)
    assert first == again
    assert first is not None
    assert first.median == pytest.approx(1.025)  # median of the eight ratios
    assert 0.8 <= first.low <= first.median <= first.high <= 1.3
    assert first.low < first.high
    assert paired_median_ratio([(0.0, 1.0)]) is None  # a zero baseline has no ratio


def test_decode_rate_leaves_the_first_token_out_of_the_window() -> None:
    # 11 tokens: the first at 50 ms, the last at 150 ms → 10 tokens in 0.1 s
    assert decode_rate(11, 0.05, 0.15) == pytest.approx(100.0)
    assert decode_rate(1, 0.05, 0.05) is None
    assert decode_rate(None, 0.05, 0.15) is None


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ({"eval_count": 100, "eval_duration": 2_000_000_000}, 50.0),  # Ollama, ns
        ({"generation_tps": 42.5, "prompt_tps": 300.0}, 42.5),  # mlx-lm
        ({"n_eval": 30, "t_eval_ms": 600.0}, 50.0),  # llama.cpp perf context
        ({"timings": {"predicted_per_second": 12.5}}, 12.5),  # llama-server
        ({}, None),
    ],
)
def test_engine_decode_rate_reads_each_engines_own_report(
    raw: dict[str, object], expected: float | None
) -> None:
    assert engine_decode_rate(raw, NO_TIMINGS, 10) == expected


def test_engine_prompt_tokens() -> None:
    assert engine_prompt_tokens({"prompt_eval_count": 5}) == 5
    assert engine_prompt_tokens({"n_p_eval": 7}) == 7
    assert engine_prompt_tokens({}) is None


def _ok(target: str, prompt: str, rep: int, **fields: object) -> Sample:
    values: dict[str, object] = {"ttft_s": 0.1, "decode_tps": 50.0, "e2e_s": 1.0}
    values.update(fields)
    return Sample(target, prompt, rep, ok=True, **values)  # type: ignore[arg-type]


def test_summary_counts_failures_only_in_the_error_rate() -> None:
    target = Target("a:m", "a", "m", "fake", "in-process")
    samples = [
        _ok("a:m", "p", 0, ttft_s=0.1),
        Sample("a:m", "p", 1, error="boom", error_type="ServerError"),
        _ok("a:m", "p", 2, ttft_s=0.3),
        Sample("a:m", "p", 3, error="boom", error_type="ServerError"),
    ]
    summary = summarise_target(target, samples)
    assert (summary["samples"], summary["ok"], summary["errors"]) == (4, 2, 2)
    assert summary["error_rate"] == 0.5
    assert summary["ttft_s"]["n"] == 2
    assert summary["ttft_s"]["median"] == pytest.approx(0.2)


def test_comparison_pairs_by_prompt_and_repetition() -> None:
    a = Target("a:m", "a", "m", "fake", "in-process")
    b = Target("b:m", "b", "m", "fake", "in-process")
    samples = [
        _ok("a:m", "short", 0, ttft_s=0.1),
        _ok("b:m", "short", 0, ttft_s=0.05),
        _ok("a:m", "long", 0, ttft_s=1.0),
        _ok("b:m", "long", 0, ttft_s=0.5),
        _ok("a:m", "long", 1, ttft_s=1.0),  # b's partner failed: left out, not mispaired
        Sample("b:m", "long", 1, error="x"),
    ]
    ttft = next(c for c in compare([a, b], samples, seed=0) if c["metric"] == "ttft_s")
    assert ttft["pairs"] == 2
    assert ttft["median_ratio"] == pytest.approx(0.5)


def test_warnings_name_contention_prefix_cache_and_early_stop() -> None:
    target = Target("llamacpp:g", "llamacpp", "g", "llamacpp", "in-process", True, threads=2)
    samples = [
        _ok(
            "llamacpp:g",
            "p",
            0,
            cpu_s=0.5,
            e2e_s=1.0,
            input_tokens=100,
            engine_prompt_tokens=4,
            finish_reason="stop",
            output_tokens=3,
            max_tokens=64,
        ),
    ]
    host = {"cores": 2, "load_start": 3.5, "load_end": 1.0}
    summary = {"llamacpp:g": summarise_target(target, samples)}
    kinds = [w["kind"] for w in collect([target], samples, host, summary, check_engine=True)]
    assert kinds.count("cpu-contention") == 2  # the host's load and the engine's CPU share
    assert "prefix-cache" in kinds
    assert "early-stop" in kinds
    assert "engine-check" in kinds  # it reported no decode speed of its own
