"""Thresholds that fit the user's traffic: the score cut-offs that send a chosen share of
prompts to the cloud, or the share a labelled file needs for a chosen quality.

A prompt is `medium` (cloud) when its score is >= thresholds["medium"], and `complex` (top
cloud tier) when >= thresholds["complex"]. Calibrating for a cloud share c puts the medium
cut-off between the scores ranked c·n and c·n + 1, and the complex one at half that share.
"""

from __future__ import annotations

from collections.abc import Sequence

from convergio_llm.providers.errors import InputError
from convergio_llm.routing.route_eval import Row, evaluate, first_reaching, quality_curve

TOP_TIER_FRACTION = 0.5  # of the prompts sent to the cloud, the share that goes to the top tier


def parse_share(text: str, flag: str) -> float:
    """ "30%" or "0.3" → 0.3; anything else, or outside [0, 1], is a usage error."""
    raw = text.strip()
    try:
        value = float(raw[:-1]) / 100 if raw.endswith("%") else float(raw)
    except ValueError:
        raise InputError(f"{flag} must be a share such as 30% or 0.3 (got {text!r})") from None
    if not 0.0 <= value <= 1.0:
        raise InputError(f"{flag} must be between 0% and 100% (got {text!r})")
    return value


def _cut(descending: list[float], k: int) -> float:
    """A threshold with the first k scores at or above it, or as near k as ties allow.

    Prompts with the same score go the same way, so when a tied group straddles k the cut
    goes above the group or below it, whichever sends nearer k prompts (the fewer when
    both are as near): never through it, which would send the whole group."""
    n = len(descending)
    if 0 < k < n and descending[k - 1] == descending[k]:
        tied = descending[k]
        above = descending.index(tied)  # prompts scoring higher than the group
        through = above + descending.count(tied)
        k = above if k - above <= through - k else through
    if k <= 0:
        return 1.000001  # above every score: nothing is sent
    if k >= n:
        return 0.0
    return round((descending[k - 1] + descending[k]) / 2, 6)


def thresholds_for_share(scores: Sequence[float], cloud_share: float) -> dict[str, float]:
    if not scores:
        raise InputError("no prompts to calibrate on")
    descending = sorted(scores, reverse=True)
    n = len(descending)
    medium = _cut(descending, round(cloud_share * n))
    complex_ = _cut(descending, round(cloud_share * TOP_TIER_FRACTION * n))
    return {"medium": medium, "complex": max(complex_, medium)}


def share_for_quality(scores: Sequence[float], rows: Sequence[Row], quality: float) -> float:
    """The smallest cloud share whose quality is `quality` of the strong model's."""
    curve = quality_curve(scores, [r.weak for r in rows], [r.strong for r in rows])
    return first_reaching(curve, quality * curve[-1][1])


def cloud_share(scores: Sequence[float], thresholds: dict[str, float]) -> float:
    """The share of prompts the thresholds send to the cloud (medium or complex)."""
    return sum(1 for s in scores if s >= thresholds["medium"]) / len(scores) if scores else 0.0


def quality_under(scores: Sequence[float], rows: Sequence[Row], medium: float) -> float:
    """Mean quality when prompts scoring >= medium go to the strong model."""
    picked = [r.strong if s >= medium else r.weak for s, r in zip(scores, rows, strict=True)]
    return sum(picked) / len(picked) if picked else 0.0


__all__ = [
    "cloud_share",
    "evaluate",
    "parse_share",
    "quality_under",
    "share_for_quality",
    "thresholds_for_share",
]
