"""How well a score orders prompts for routing, measured as RouteLLM does (Ong et al., 2024).

Route the top share c of prompts (highest score first) to the strong model and the rest to
the weak one. Quality q(c) is the mean per-prompt outcome of whichever model answered.
- PGR(c) = (q(c) - q(0)) / (q(1) - q(0)): the share of the weak→strong gap recovered.
- APGR: the area under PGR as c goes 0 → 1 (0.5 for random routing, 1 - gap share / 2 for
  an oracle when outcomes are 0/1).
- CPT(x): the smallest c with PGR(c) >= x.
- strong share for 95% quality: the smallest c with q(c) >= 0.95 · q(1).
Ties in the score are broken at random in expectation: the curve is a straight line across
a block of equal scores, so a constant score gets APGR 0.5, as random routing does; the
random baseline is that expectation, exact (`random_curve`), not one seed's draw.

How sure a figure is: `bootstrap` resamples the rows with replacement and scores every router
on the same resamples (paired), so "router beats length" comes with an interval, not only two
numbers; on a few dozen prompts those intervals are wide, and the table says so.

Pure Python (no numpy): `llm route eval` must not need the training extras.
"""

from __future__ import annotations

import json
import math
import random
import statistics
from collections.abc import Callable, Iterable, Mapping, Sequence
from itertools import groupby, pairwise
from typing import NamedTuple


class Row(NamedTuple):
    prompt: str
    weak: float
    strong: float
    group: str | None = None  # the --by field's value (category, source...)


class Metrics(NamedTuple):
    n: int
    weak_quality: float
    strong_quality: float
    apgr: float
    cpt50: float
    cpt80: float
    strong_share_95: float  # share of strong calls for 95% of the strong model's quality

    def to_json(self) -> dict[str, float | int]:
        return {k: round(v, 4) if isinstance(v, float) else v for k, v in self._asdict().items()}


def quality_curve(
    scores: Sequence[float], weak: Sequence[float], strong: Sequence[float]
) -> list[tuple[float, float]]:
    """(share routed to strong, mean quality) at every score threshold, from 0 to 1."""
    n = len(scores)
    if n == 0:
        raise ValueError("no rows to evaluate")
    order = sorted(range(n), key=lambda i: -scores[i])
    total = math.fsum(weak)
    points = [(0.0, total / n)]
    routed = 0
    for _, block in groupby(order, key=lambda i: scores[i]):
        items = list(block)
        routed += len(items)
        total += math.fsum(strong[i] - weak[i] for i in items)
        points.append((routed / n, total / n))
    return points


_EPS = 1e-12  # a goal met exactly must count as met, whatever the rounding of the sums


def first_reaching(points: list[tuple[float, float]], goal: float) -> float:
    """The smallest share where the piecewise-linear curve reaches `goal`."""
    goal -= _EPS
    if points[0][1] >= goal:
        return 0.0
    for (x0, y0), (x1, y1) in pairwise(points):
        if y1 >= goal:
            return x0 + (x1 - x0) * max(0.0, goal - y0) / (y1 - y0)
    return 1.0


def metrics_of_curve(points: list[tuple[float, float]], n: int) -> Metrics:
    weak_q, strong_q = points[0][1], points[-1][1]
    gap = strong_q - weak_q
    area = math.fsum((x1 - x0) * (y0 + y1) / 2 for (x0, y0), (x1, y1) in pairwise(points))
    # With no gap (the weak model is as good overall) every router is as good as another.
    apgr = (area - weak_q) / gap if gap > 0 else 1.0
    cpt50 = first_reaching(points, weak_q + 0.5 * gap) if gap > 0 else 0.0
    cpt80 = first_reaching(points, weak_q + 0.8 * gap) if gap > 0 else 0.0
    share95 = first_reaching(points, 0.95 * strong_q)
    return Metrics(n, weak_q, strong_q, apgr, cpt50, cpt80, share95)


def evaluate(scores: Sequence[float], rows: Sequence[Row]) -> Metrics:
    weak = [r.weak for r in rows]
    strong = [r.strong for r in rows]
    return metrics_of_curve(quality_curve(scores, weak, strong), len(rows))


def random_curve(rows: Sequence[Row]) -> list[tuple[float, float]]:
    """The expected curve of a router that picks prompts uniformly at random, exactly: after
    routing any k of n prompts, each prompt has gone strong with probability k/n, so the
    expected quality is linear from weak-only to strong-only (APGR exactly 0.5, CPT(x) = x).
    The expectation over every random router, not one seed's draw."""
    n = len(rows)
    if n == 0:
        raise ValueError("no rows to evaluate")
    weak = math.fsum(r.weak for r in rows) / n
    strong = math.fsum(r.strong for r in rows) / n
    return [(0.0, weak), (1.0, strong)]


def length_score(prompt: str) -> float:
    return float(len(prompt))


class Report(NamedTuple):
    metrics: dict[str, Metrics]  # router name → metrics
    curves: dict[str, list[tuple[float, float]]]


def compare(rows: Sequence[Row], score: Callable[[str], float], name: str = "router") -> Report:
    """The router, the prompt-length baseline and the random baseline on the same rows."""
    weak = [r.weak for r in rows]
    strong = [r.strong for r in rows]
    curves = {
        name: quality_curve([score(r.prompt) for r in rows], weak, strong),
        "length": quality_curve([length_score(r.prompt) for r in rows], weak, strong),
        "random": random_curve(rows),
    }
    return Report({k: metrics_of_curve(c, len(rows)) for k, c in curves.items()}, curves)


class Interval(NamedTuple):
    low: float
    high: float

    def to_json(self) -> list[float]:
        return [round(self.low, 4), round(self.high, 4)]


class Uncertainty(NamedTuple):
    """Percentile intervals (95%) over paired bootstrap resamples of the rows."""

    apgr: dict[str, Interval]  # router name → its APGR's interval
    lead: dict[str, Interval]  # baseline → interval of the router's APGR minus the baseline's


def _blocks(scores: Sequence[float]) -> list[list[int]]:
    """Row indices grouped by equal score, highest score first: the curve's steps."""
    order = sorted(range(len(scores)), key=lambda i: -scores[i])
    return [list(block) for _, block in groupby(order, key=lambda i: scores[i])]


def _apgr_of_counts(blocks: list[list[int]], counts: Sequence[int], gain: Sequence[float]) -> float:
    """APGR on the rows taken counts[i] times each, as `metrics_of_curve` computes it on those
    rows written out, without sorting again (resampling does not reorder the blocks).

    In totals over m rows, with W the weak model's total, Y the gain routed before a block
    of k rows and d its own gain: area = sum of k·(2W + 2Y + d) / 2m², whose W part is the
    weak-only quality W/m, so APGR = (area - W/m) / (D/m) = sum of k·(2Y + d)/2 / (m·D)."""
    m = sum(counts)
    routed_gain = 0.0
    lifted = 0.0
    for block in blocks:
        k = 0
        d = 0.0
        for i in block:
            c = counts[i]
            if c:
                k += c
                d += c * gain[i]
        lifted += k * (2 * routed_gain + d) / 2
        routed_gain += d
    if routed_gain <= 0:  # no gap on this resample: every order is as good (metrics_of_curve)
        return 1.0
    return lifted / (m * routed_gain)


def bootstrap(
    rows: Sequence[Row],
    scores: Mapping[str, Sequence[float]],
    *,
    resamples: int = 1000,
    seed: int = 0,
    against: str = "router",
) -> Uncertainty:
    """Every router's APGR on the same `resamples` resamples of the rows (seeded, so a run is
    reproducible), and `against`'s lead over each other router and over random (0.5)."""
    n = len(rows)
    gain = [r.strong - r.weak for r in rows]
    blocks = {name: _blocks(s) for name, s in scores.items()}
    rng = random.Random(seed)
    samples: dict[str, list[float]] = {name: [] for name in scores}
    at_random: list[float] = []  # random routing's APGR on each resample: 0.5, or 1 with no gap
    for _ in range(resamples):
        counts = [0] * n
        for i in rng.choices(range(n), k=n):
            counts[i] += 1
        for name, b in blocks.items():
            samples[name].append(_apgr_of_counts(b, counts, gain))
        at_random.append(0.5 if sum(c * g for c, g in zip(counts, gain, strict=True)) > 0 else 1.0)
    base = samples[against]
    lead = {
        name: _interval([a - v for a, v in zip(base, values, strict=True)])
        for name, values in samples.items()
        if name != against
    }
    lead["random"] = _interval([a - r for a, r in zip(base, at_random, strict=True)])
    return Uncertainty({k: _interval(v) for k, v in samples.items()}, lead)


def _interval(values: list[float]) -> Interval:
    if len(values) < 2:  # one resample: a point, not a spread
        return Interval(values[0], values[0])
    cuts = statistics.quantiles(values, n=40, method="inclusive")  # 2.5%, 5%, ..., 97.5%
    return Interval(cuts[0], cuts[-1])


def parse_rows(
    lines: Iterable[str], *, split: str | None = None, by: str | None = None
) -> tuple[list[Row], list[str]]:
    """Labelled JSONL (`{"prompt", "weak", "strong"}`, outcomes in [0, 1]) → rows, and one
    problem per bad line, by number: a bad line is reported and the rest go on."""
    rows: list[Row] = []
    problems: list[str] = []
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            problems.append(f"line {number}: not JSON ({exc.msg})")
            continue
        if not isinstance(obj, dict):
            problems.append(f"line {number}: not a JSON object")
            continue
        prompt, weak, strong = obj.get("prompt"), obj.get("weak"), obj.get("strong")
        if not isinstance(prompt, str) or not prompt.strip():
            problems.append(f"line {number}: 'prompt' must be a non-empty string")
            continue
        if not all(_outcome(v) for v in (weak, strong)):
            problems.append(f"line {number}: 'weak' and 'strong' must be numbers in [0, 1]")
            continue
        if split is not None and obj.get("split") != split:
            continue
        group = None if by is None else str(obj.get(by))
        rows.append(Row(prompt, float(weak), float(strong), group))  # type: ignore[arg-type]
    return rows, problems


def _outcome(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and 0.0 <= value <= 1.0
