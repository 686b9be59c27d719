"""How hard a prompt is: a score in [0, 1] that orders prompts by how likely a small
model is to fall short of a large one, a label from configurable thresholds, and the
features that drove it.

Two routers give the score (config `routing.router`):
- `learned` (the default): routing/scorer.py, a logistic regression trained on public
  weak/strong outcomes (routing/ROUTER_CARD.md); the score is the probability that the
  strong model is needed, and the features name the largest contributions up and down.
- `heuristic`: the hand-set score below, kept as a named alternative and measured beside
  the learned one (tests/benchmarks/bench_router.py).

The heuristic is a weighted sum of interpretable, domain-general signals (counted in
routing/complexity_features.py, imported only when the heuristic runs) squashed by a
logistic curve: chained steps, code, constraints, specialist vocabulary, a long answer
asked for. Its weights were set by hand and checked on a self-labelled dev set; on public
held-out outcomes it orders prompts no better than their length does.

Pure Python; no numpy, no model, no network.
"""

# Real annotations (no `from __future__ import annotations`): typing.NamedTuple would compile
# each string annotation of the records below at every start (tests/test_startup_imports.py).
import math
from collections.abc import Mapping
from typing import Any, NamedTuple

LABELS = ("simple", "medium", "complex")
ROUTERS = ("learned", "heuristic")
DEFAULT_ROUTER = "learned"
# The heuristic's thresholds; the learned router's come calibrated per local model
# (scorer.calibrated_thresholds), and `routing.thresholds` overrides either.
DEFAULT_THRESHOLDS = {"medium": 0.40, "complex": 0.68}

# Weights of the features (per unit, capped where noted). Set by hand from the labelling
# rule in tests/data/README.md, then checked on the dev set — not fitted to it.
_BIAS = -2.6
_CAP = 4


class Assessment(NamedTuple):  # a NamedTuple: cheap to define on every `llm route` start
    score: float
    label: str
    features: Mapping[str, Any]

    def to_json(self) -> dict[str, Any]:
        return {"score": self.score, "label": self.label, "features": dict(self.features)}


def _raw(f: Mapping[str, Any]) -> float:
    words: int = f["words"]
    numbers: int = f["numbers"]
    # A word problem: several quantities joined by rate/total words. Steps grow with
    # the quantities, so both count, and their product says "multi-step arithmetic".
    word_problem = min(numbers, 6) * min(f["math_cues"], 4) / 6.0
    x: float = _BIAS
    x += 0.45 * math.log1p(words)  # longer prompts carry more to get right
    x += 0.55 * min(f["reasoning_cues"], _CAP)
    x += 0.35 * min(f["code_cues"], _CAP) + (0.9 if f["code"] else 0.0)
    x += 0.45 * word_problem + 0.12 * min(numbers, 8)
    x += 0.25 * min(f["constraints"], 6)
    x += 0.35 * min(f["length_request"], 3)
    x += 0.40 * min(f["expert_words"], 5)
    x += 0.40 * min(f["sub_questions"], 3)
    x += 0.10 * min(f["symbols"], 10)
    x += 0.30 if f["choices"] >= 3 else 0.0  # an exam question: knowledge the model must hold
    x -= 0.55 * min(f["light_cues"], 2)
    x -= 0.9 if f["factual"] else 0.0
    return x


def assess(
    text: str, thresholds: Mapping[str, float] | None = None, router: str = DEFAULT_ROUTER
) -> Assessment:
    if router == "heuristic":
        return assess_heuristic(text, thresholds)
    from convergio_llm.routing import scorer

    probability, explained = scorer.assess(text)
    score = round(probability, 4)
    return Assessment(score, label_for(score, thresholds), {"router": "learned", **explained})


def features(text: str) -> dict[str, Any]:
    """The heuristic's interpretable signals, all small integers or booleans."""
    from convergio_llm.routing.complexity_features import features as counted

    return counted(text)


def assess_heuristic(text: str, thresholds: Mapping[str, float] | None = None) -> Assessment:
    f = features(text)
    score = round(1.0 / (1.0 + math.exp(-_raw(f))), 4)
    return Assessment(score, label_for(score, thresholds), f)


def label_for(score: float, thresholds: Mapping[str, float] | None = None) -> str:
    limits = {**DEFAULT_THRESHOLDS, **(thresholds or {})}
    if score >= limits["complex"]:
        return "complex"
    if score >= limits["medium"]:
        return "medium"
    return "simple"
