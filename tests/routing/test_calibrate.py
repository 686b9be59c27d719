"""Cut-offs for a cloud share: as near the share as the scores allow, ties kept together."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from convergio_llm.routing.calibrate import cloud_share, thresholds_for_share

# Few distinct values, so that most lists hold ties (real scores are rounded to 4 places).
SCORES = st.lists(st.sampled_from([0.05, 0.1174, 0.1175, 0.3, 0.5, 0.7, 0.9999]), min_size=1)
SHARES = st.floats(min_value=0.0, max_value=1.0)


def reachable_counts(scores: list[float]) -> list[int]:
    """How many prompts a threshold can send: none, or every prompt at or above a score."""
    return [0] + [sum(s >= v for s in scores) for v in set(scores)]


@given(SCORES, SHARES)
def test_the_share_sent_is_the_reachable_one_nearest_the_share_asked(
    scores: list[float], share: float
) -> None:
    thresholds = thresholds_for_share(scores, share)
    sent = sum(s >= thresholds["medium"] for s in scores)
    wanted = round(share * len(scores))
    nearest = min(reachable_counts(scores), key=lambda k: (abs(k - wanted), k))
    assert sent == nearest
    assert cloud_share(scores, thresholds) == sent / len(scores)
    assert thresholds["complex"] >= thresholds["medium"]


def test_a_tied_group_at_the_cut_is_not_sent_whole() -> None:
    # 60 greetings with one score and a proof: 30% cannot be met; 1 of 61 is nearer than 61.
    scores = [0.9] + [0.2] * 60
    thresholds = thresholds_for_share(scores, 0.30)
    assert [s >= thresholds["medium"] for s in scores].count(True) == 1
    assert thresholds_for_share(scores, 0.0)["medium"] > 0.9
    assert thresholds_for_share(scores, 1.0)["medium"] <= 0.2
