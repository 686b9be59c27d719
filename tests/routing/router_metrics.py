"""APGR and CPT for a router that sends the highest-scoring prompts to the strong model.

As in RouteLLM (Ong et al., 2024): route the top fraction c of prompts (by score) to the
strong model and the rest to the weak one. Quality q(c) is the mean per-prompt score of
whichever model answered. PGR(c) = (q(c) - q_weak) / (q_strong - q_weak): the share of the
gap recovered. APGR is the area under PGR over c in [0, 1]; CPT(x) is the smallest c with
PGR(c) >= x. Ties in the score are broken at random in expectation (the curve is linear
across a block of equal scores), so a constant score gets APGR 0.5, as random routing does.

Here each prompt carries one label: y = 1 when the weak model falls short of the strong
one (weak 0, strong 1), y = 0 when it does as well (both 1).
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import groupby, pairwise


def pgr_curve(scores: Sequence[float], labels: Sequence[int]) -> list[tuple[float, float]]:
    """(fraction routed to strong, PGR) at each score threshold, from 0 to 1."""
    n = len(scores)
    gap = sum(labels)
    if n == 0 or gap == 0:
        raise ValueError("need prompts where the weak model falls short")
    order = sorted(zip(scores, labels, strict=True), key=lambda p: -p[0])
    points = [(0.0, 0.0)]
    routed = recovered = 0
    for _, block in groupby(order, key=lambda p: p[0]):
        items = list(block)
        routed += len(items)
        recovered += sum(y for _, y in items)
        points.append((routed / n, recovered / gap))
    return points


def apgr(scores: Sequence[float], labels: Sequence[int]) -> float:
    points = pgr_curve(scores, labels)
    return sum((x1 - x0) * (y0 + y1) / 2 for (x0, y0), (x1, y1) in pairwise(points))


def cpt(scores: Sequence[float], labels: Sequence[int], target: float = 0.95) -> float:
    """Smallest share of strong-model calls that recovers `target` of the gap."""
    points = pgr_curve(scores, labels)
    for (x0, y0), (x1, y1) in pairwise(points):
        if y1 >= target:
            return x0 + (x1 - x0) * (target - y0) / (y1 - y0) if y1 > y0 else x1
    return 1.0
