"""Small, exact statistics for `llm bench`: stdlib only, every function unit-tested by hand.

Robust figures first (median, MAD), because a benchmark on a shared machine has a
long right tail; the mean and standard deviation are reported beside them, never
instead of them.
"""

from __future__ import annotations

import math
import random
import statistics
from collections.abc import Callable, Sequence
from dataclasses import dataclass

# hyperfine's rule (src/outlier_detection.rs): a point is an outlier when its modified
# z-score |x − median| / MAD exceeds 1.4826 × 10, i.e. ten standard deviations.
OUTLIER_THRESHOLD = 1.4826 * 10.0
# ... and, because the MAD of five nearly equal samples is almost zero, only when it is
# also this far from the median in relative terms (2 ms of jitter is not an outlier).
MIN_RELATIVE_DEVIATION = 0.10
# Tail percentiles from fewer samples than this are noise dressed as precision.
PERCENTILES_MIN_N = 20
BOOTSTRAP_RESAMPLES = 2000


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile (0–100) with linear interpolation between ranks (numpy's default)."""
    if not values:
        raise ValueError("percentile of no values")
    ordered = sorted(values)
    rank = (len(ordered) - 1) * q / 100.0
    low = math.floor(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def mad(values: Sequence[float]) -> float:
    """Median absolute deviation from the median (unscaled)."""
    centre = statistics.median(values)
    return statistics.median(abs(v - centre) for v in values)


def outlier_indexes(values: Sequence[float]) -> list[int]:
    """Indexes of the points hyperfine would call outliers, less those within 10% of the median."""
    if len(values) < 3:
        return []
    centre = statistics.median(values)
    spread = mad(values) or 1e-12  # hyperfine divides by machine epsilon when MAD is 0
    out = []
    for i, v in enumerate(values):
        deviation = abs(v - centre)
        relative = deviation / abs(centre) if centre else math.inf
        if deviation / spread > OUTLIER_THRESHOLD and relative > MIN_RELATIVE_DEVIATION:
            out.append(i)
    return out


@dataclass(frozen=True)
class Summary:
    n: int
    median: float
    min: float
    max: float
    mean: float
    stdev: float | None
    p90: float | None = None
    p99: float | None = None

    def to_json(self) -> dict[str, float | int | None]:
        return {
            "n": self.n,
            "median": self.median,
            "min": self.min,
            "max": self.max,
            "mean": self.mean,
            "stdev": self.stdev,
            "p90": self.p90,
            "p99": self.p99,
        }


def summarise(values: Sequence[float]) -> Summary | None:
    """Median, range, mean ± sample stdev; p90/p99 only from 20 samples up. None when empty."""
    if not values:
        return None
    tails = len(values) >= PERCENTILES_MIN_N
    return Summary(
        n=len(values),
        median=statistics.median(values),
        min=min(values),
        max=max(values),
        mean=statistics.fmean(values),
        stdev=statistics.stdev(values) if len(values) > 1 else None,
        p90=percentile(values, 90) if tails else None,
        p99=percentile(values, 99) if tails else None,
    )


@dataclass(frozen=True)
class Ratio:
    """median(candidate_i / baseline_i) over pairs, with a percentile bootstrap interval."""

    median: float
    low: float
    high: float
    pairs: int
    confidence: float


def paired_median_ratio(
    pairs: Sequence[tuple[float, float]],
    seed: int = 0,
    resamples: int = BOOTSTRAP_RESAMPLES,
    confidence: float = 0.95,
) -> Ratio | None:
    """Median of candidate/baseline over (baseline, candidate) pairs and its bootstrap CI.

    Pairing by prompt and repetition cancels what the two runs share (prompt length,
    the machine's state at that moment), so the ratio's spread is the backends' own.
    The RNG is seeded: the same samples always give the same interval.
    """
    ratios = [c / b for b, c in pairs if b > 0]
    if not ratios:
        return None
    point = statistics.median(ratios)
    if len(ratios) == 1:
        return Ratio(point, point, point, 1, confidence)
    rng = random.Random(seed)
    boots = sorted(statistics.median(rng.choices(ratios, k=len(ratios))) for _ in range(resamples))
    tail = (1.0 - confidence) / 2 * 100
    return Ratio(
        point, percentile(boots, tail), percentile(boots, 100 - tail), len(ratios), confidence
    )


def first_is_slow(values: Sequence[float]) -> bool:
    """hyperfine's 'first run significantly slower': the first point is a (high) outlier."""
    return bool(values) and 0 in outlier_indexes(values) and values[0] > statistics.median(values)


def fraction(part: int, whole: int) -> float:
    return part / whole if whole else 0.0


def finite(
    values: Sequence[float | None], keep: Callable[[float], bool] | None = None
) -> list[float]:
    """The values that were measured (not None, not NaN), optionally filtered."""
    out = [v for v in values if v is not None and not math.isnan(v)]
    return [v for v in out if keep(v)] if keep else out
