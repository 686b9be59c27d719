"""The routing metrics, as RouteLLM defines them, on cases small enough to work by hand."""

from __future__ import annotations

import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from convergio_llm.routing import route_eval
from convergio_llm.routing.route_eval import (
    Interval,
    Row,
    bootstrap,
    compare,
    evaluate,
    parse_rows,
    quality_curve,
    random_curve,
)
from tests.routing.router_metrics import apgr as binary_apgr
from tests.routing.router_metrics import cpt as binary_cpt

# Four prompts: the strong model gains 1 on a and b, nothing on c and d.
ROWS = [Row("a", 0.0, 1.0), Row("b", 0.0, 1.0), Row("c", 1.0, 1.0), Row("d", 1.0, 1.0)]


def test_the_quality_curve_by_hand() -> None:
    curve = quality_curve([4, 3, 2, 1], [r.weak for r in ROWS], [r.strong for r in ROWS])
    assert curve == [(0.0, 0.5), (0.25, 0.75), (0.5, 1.0), (0.75, 1.0), (1.0, 1.0)]


def test_metrics_of_an_oracle_by_hand() -> None:
    m = evaluate([4, 3, 2, 1], ROWS)
    # PGR: 0, .5, 1, 1, 1 at 0, .25, .5, .75, 1 → area .0625 + .1875 + .25 + .25 = .75
    assert m.apgr == pytest.approx(0.75)
    assert m.cpt50 == pytest.approx(0.25)
    assert m.cpt80 == pytest.approx(0.4)  # PGR .8 lies 60% of the way from .25 to .5
    assert m.strong_share_95 == pytest.approx(0.45)  # quality .95 is reached at 0.45
    assert (m.weak_quality, m.strong_quality) == (0.5, 1.0)


def test_the_worst_order_and_a_constant_score() -> None:
    assert evaluate([1, 2, 3, 4], ROWS).apgr == pytest.approx(0.25)
    assert evaluate([0.5] * 4, ROWS).apgr == pytest.approx(0.5)  # a tie is random routing


def test_agrees_with_the_binary_definition_on_random_cases() -> None:
    """On 0/1 outcomes (weak 0 strong 1, or both 1) it is the binary APGR and CPT."""
    rng = random.Random(7)
    for _ in range(30):
        labels = [rng.random() < 0.4 for _ in range(60)]
        labels[0] = True
        scores = [round(rng.random(), 1) for _ in labels]  # rounded: many ties
        rows = [Row("p", 0.0 if y else 1.0, 1.0) for y in labels]
        m = evaluate(scores, rows)
        assert m.apgr == pytest.approx(binary_apgr(scores, [int(y) for y in labels]))
        assert m.cpt80 == pytest.approx(binary_cpt(scores, [int(y) for y in labels], 0.8))


def test_the_random_baseline_is_the_expectation_over_random_routers() -> None:
    rng = random.Random(3)
    rows = [Row(str(i), rng.random(), rng.random() + 0.5) for i in range(12)]
    expected = compare(rows, len).metrics["random"]
    assert expected.apgr == pytest.approx(0.5)
    assert expected.cpt50 == pytest.approx(0.5) and expected.cpt80 == pytest.approx(0.8)
    # The mean curve of many seeded random orders converges on the exact one.
    weak, strong = [r.weak for r in rows], [r.strong for r in rows]
    seeds = 4000
    sums = [0.0] * (len(rows) + 1)
    for seed in range(seeds):
        order = random.Random(seed)
        for k, (_, q) in enumerate(quality_curve([order.random() for _ in rows], weak, strong)):
            sums[k] += q / seeds
    (start, y0), (end, y1) = random_curve(rows)
    assert (start, end) == (0.0, 1.0)
    for k, mean in enumerate(sums):
        assert mean == pytest.approx(y0 + (y1 - y0) * k / len(rows), abs=0.01)


def test_a_strong_model_worse_somewhere_lets_pgr_pass_one() -> None:
    rows = [Row("a", 0.0, 1.0), Row("b", 0.0, 1.0), Row("c", 1.0, 0.0)]
    m = evaluate([3, 2, 1], rows)  # quality 1/3, 2/3, 1, then back to 2/3 when c goes strong
    assert m.strong_share_95 == pytest.approx(0.3)
    assert m.apgr == pytest.approx(7 / 6)
    assert evaluate([1, 2], rows[1:]).apgr == 1.0  # no gap overall: every order is as good


def test_bad_lines_are_reported_by_number_and_the_rest_go_on() -> None:
    lines = [
        '{"prompt": "ok", "weak": 0, "strong": 1, "split": "dev", "category": "x"}',
        "not json",
        '{"prompt": "", "weak": 0, "strong": 1}',
        '{"prompt": "p", "weak": 2, "strong": 1}',
        '{"prompt": "p", "weak": true, "strong": 1}',
        "[1]",
        "",
        '{"prompt": "train row", "weak": 0, "strong": 1, "split": "train"}',
    ]
    rows, problems = parse_rows(lines, split="dev", by="category")
    assert rows == [Row("ok", 0.0, 1.0, "x")]
    assert [p.split(":")[0] for p in problems] == ["line 2", "line 3", "line 4", "line 5", "line 6"]


# Outcomes on a coarse grid and scores with many ties: the cases where resampling and ties meet.
_outcome = st.sampled_from([0.0, 0.25, 0.5, 1.0])
_row = st.tuples(st.integers(0, 5), _outcome, _outcome)


@settings(max_examples=200, deadline=None)
@given(st.lists(_row, min_size=1, max_size=30), st.randoms(use_true_random=False))
def test_a_resample_scored_from_counts_is_the_resample_written_out(
    drawn: list[tuple[int, float, float]], rng: random.Random
) -> None:
    """The bootstrap's shortcut (counts over the original order) against `evaluate` on the
    resampled rows themselves, duplicates and all."""
    scores = [float(s) for s, _, _ in drawn]
    rows = [Row(str(i), w, s) for i, (_, w, s) in enumerate(drawn)]
    picked = rng.choices(range(len(rows)), k=len(rows))
    counts = [picked.count(i) for i in range(len(rows))]
    gain = [r.strong - r.weak for r in rows]
    fast = route_eval._apgr_of_counts(route_eval._blocks(scores), counts, gain)
    written_out = evaluate([scores[i] for i in picked], [rows[i] for i in picked])
    if written_out.strong_quality - written_out.weak_quality > 1e-9:
        assert fast == pytest.approx(written_out.apgr)
    else:  # no gap (up to rounding): every order is as good
        assert fast == 1.0 or written_out.apgr == pytest.approx(fast)


def _labelled(n: int, seed: int) -> tuple[list[Row], list[float]]:
    """n prompts whose weak-model failures the score predicts, with noise."""
    rng = random.Random(seed)
    rows, scores = [], []
    for i in range(n):
        score = rng.random()
        weak = 0.0 if rng.random() < score else 1.0
        rows.append(Row(str(i), weak, 1.0))
        scores.append(score)
    return rows, scores


def test_a_constant_score_is_random_routing_on_every_resample() -> None:
    rows, _ = _labelled(50, seed=1)
    spread = bootstrap(rows, {"router": [0.3] * 50}, resamples=200)
    assert spread.apgr["router"] == Interval(pytest.approx(0.5), pytest.approx(0.5))
    low, high = spread.lead["random"]
    assert abs(low) < 1e-12 and abs(high) < 1e-12


def test_a_router_that_knows_is_ahead_and_its_interval_holds_its_figure() -> None:
    rows, scores = _labelled(400, seed=2)
    length = [random.Random(i).random() for i in range(400)]  # a score that knows nothing
    spread = bootstrap(rows, {"router": scores, "length": length}, resamples=400)
    point = evaluate(scores, rows).apgr
    assert spread.apgr["router"].low < point < spread.apgr["router"].high
    assert spread.lead["random"].low > 0 and spread.lead["length"].low > 0
    # The uninformed score's interval holds random routing's 0.5.
    assert spread.apgr["length"].low < 0.5 < spread.apgr["length"].high


def test_intervals_narrow_as_the_file_grows_and_a_seed_repeats_them() -> None:
    small = bootstrap(*_one(100), resamples=300)
    large = bootstrap(*_one(1600), resamples=300)
    width = {
        k: u.apgr["router"].high - u.apgr["router"].low for k, u in (("s", small), ("l", large))
    }
    assert width["l"] < 0.5 * width["s"]  # about 1/4 in theory: 16x the rows
    assert bootstrap(*_one(100), resamples=300) == small
    assert bootstrap(*_one(100), resamples=300, seed=1) != small


def _one(n: int) -> tuple[list[Row], dict[str, list[float]]]:
    rows, scores = _labelled(n, seed=3)
    return rows, {"router": scores}


def test_one_resample_is_a_point() -> None:
    rows, scores = _labelled(20, seed=4)
    (low, high) = bootstrap(rows, {"router": scores}, resamples=1).apgr["router"]
    assert low == high
