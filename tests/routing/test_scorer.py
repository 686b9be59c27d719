"""The learned scorer: what its score is, what explains it, and which thresholds apply."""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from convergio_llm.providers.values import Request
from convergio_llm.routing import scorer
from convergio_llm.routing.complexity import assess
from convergio_llm.routing.decide import Policy, decide
from tests.routing.conftest import make_context

WEIGHTS = json.loads((Path(scorer.__file__).parent / scorer.WEIGHTS_FILE).read_text())
WORDS = WEIGHTS["weights"]
UP = max((w for w in WORDS if not w.startswith("#")), key=WORDS.__getitem__)
DOWN = min((w for w in WORDS if not w.startswith("#")), key=WORDS.__getitem__)


def by_hand(text: str) -> float:
    """The model card's formula, from the JSON file alone: σ(bias + Σ weights / √n + dense)."""
    tokens = text.split()
    total = 0.0
    for token in tokens:
        key = token.lower().strip(scorer.STRIP)
        total += WORDS.get(key, 0.0)
        total += WORDS.get("#digit", 0.0) * any(c.isdigit() for c in token)
        total += WORDS.get("#symbol", 0.0) * any(c in "=+*/^<>{}[];`\\|$%#@&~" for c in token)
        total += WORDS.get("#long", 0.0) * (len(key) >= 10)
        total += WORDS.get("#cap", 0.0) * token[:1].isupper()
    dense = WEIGHTS["dense"]
    z = WEIGHTS["bias"] + (total / math.sqrt(len(tokens)) if tokens else 0.0)
    z += dense["log_words"] * math.log1p(len(tokens))
    z += dense["log_lines"] * math.log1p(text.count("\n"))
    z += dense["questions"] * min(text.count("?"), 5) / 5
    z += dense["code_fence"] * ("```" in text)
    # How many numbers: runs of digits, a decimal part ("2.5", "1,000") counted with its number.
    z += dense["log_numbers"] * math.log1p(len(re.findall(r"[0-9]+(?:[.,][0-9]+)?", text)))
    return 1 / (1 + math.exp(-z))


@pytest.mark.parametrize(
    "text",
    [
        "Prove that sqrt(2) is irrational",
        "Hi there!",
        "```python\ndef f(x):\n    return x\n```\nWhy does f(3) == 3? And f(4)?",
        f"{UP} {DOWN} The 3 Committees reviewed 1,000 applications.",
        "Tom has 3 apples and buys 12 more at $0.50 each; he gives 4.5 kg away. 7 left?",
        "",
    ],
)
def test_the_score_is_the_documented_formula(text: str) -> None:
    assert assess(text).score == round(by_hand(text), 4)


_PIECES = [UP, DOWN, "the", "The", "x=2", "3.5%", "Extraordinarily", "why?", "```", "\n", "é"]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from(_PIECES), max_size=30), st.sampled_from([" ", "\n", "  "]))
def test_the_token_cache_gives_what_the_uncached_model_gives(pieces: list[str], sep: str) -> None:
    text = sep.join(pieces)
    cached = scorer.assess(text)
    uncached = scorer.assess(text, scorer.load())
    assert cached[0] == pytest.approx(uncached[0], abs=1e-12)
    assert cached[1] == uncached[1]


def test_the_features_name_what_pushed_the_score_up_and_down() -> None:
    found = assess(f"Please {UP} this and {DOWN} that").features
    assert found["router"] == "learned"
    assert UP in found["up"] and found["up"][UP] > 0
    assert DOWN in found["down"] and found["down"][DOWN] < 0
    assert len(found["up"]) <= 3 and len(found["down"]) <= 3


def test_a_name_is_credited_with_every_token_it_names() -> None:
    # Eleven numbers the model has no word for, "1111" three times: "numbers" is their
    # whole term, #digit's weight x 11 / sqrt(n), not that of the one or two ranked first.
    numbers = ["4111", "1111", "1111", "1111", "85", "03", "75", "120", "089", "4", "13"]
    assert not any(n in WORDS for n in numbers) and WORDS["#digit"] < 0
    text = "Pay with card " + " ".join(numbers) + " please"
    found = assess(text).features
    n = len(text.split())
    assert found["down"]["numbers"] == round(WORDS["#digit"] * len(numbers) / math.sqrt(n), 3)


def test_the_same_prompt_is_explained_the_same_way_in_every_process() -> None:
    # Tokens of equal weight (the numbers) once came out in a set's order, which each
    # process's string hashing changes.
    import os
    import subprocess
    import sys

    text = "Pay with card 4111 1111 1111 1111 please, numero 4 85 03 75 120 089 13 it It"
    code = "import sys; from convergio_llm.routing import scorer; print(scorer.assess(sys.argv[1]))"
    seen = set()
    for seed in ("1", "2", "3", "4", "5", "6"):
        env = dict(os.environ, PYTHONHASHSEED=seed)
        result = subprocess.run(
            [sys.executable, "-c", code, text], env=env, capture_output=True, check=True
        )
        seen.add(result.stdout)
    assert len(seen) == 1, seen


def test_explain_names_the_contributions() -> None:
    from convergio_llm.cli.explain import render

    decision = decide(Request.from_prompt(f"{UP} it"), make_context(), Policy(explain=True))
    assert f"up: {UP} +" in render(decision)


@pytest.mark.parametrize(
    ("name", "strength"),
    [
        ("gemma-3-270m", "tiny"),
        ("mlx-community/Qwen3-0.6B-4bit", "tiny"),
        ("llama3.2:3b", "small"),
        ("phi-3.5-mini-3.8b", "small"),
        ("qwen2.5-7b-instruct", "medium"),
        ("llama3.1:8b", "medium"),
        ("mistral", scorer.DEFAULT_STRENGTH),
    ],
)
def test_strength_from_the_model_name(name: str, strength: str) -> None:
    assert scorer.strength_of(name) == strength


def test_a_weaker_local_model_gets_lower_thresholds() -> None:
    t = {s: scorer.calibrated_thresholds(m) for s, m in (("tiny", "x-270m"), ("medium", "x-8b"))}
    assert t["tiny"]["medium"] < t["medium"]["medium"]
    assert all(v["medium"] <= v["complex"] for v in t.values())


def label_with(local_model: str, config: dict[str, object] | None = None) -> str:
    prompt = "Solve for x: 3x^2 - 5x + 2 = 0. Show every step."
    cfg: dict[str, object] = {"tiers": {"simple": f"llamacpp:{local_model}"}, **(config or {})}
    decision = decide(Request.from_prompt(prompt), make_context(cfg), Policy())
    score = decision.complexity["score"]
    tiny, medium = (scorer.calibrated_thresholds(m)["medium"] for m in ("a-270m", "a-8b"))
    assert tiny <= score < medium  # the case this test is about
    return str(decision.complexity["label"])


def test_decide_picks_the_thresholds_of_the_local_model_and_config_overrides() -> None:
    assert label_with("gemma-3-270m") != "simple"  # a 270M model: to the cloud
    assert label_with("qwen2.5-7b-instruct") == "simple"  # an 8B one answers it
    forced = {"routing": {"thresholds": {"medium": 0.99, "complex": 0.999}}}
    assert label_with("gemma-3-270m", forced) == "simple"


def test_the_heuristic_is_still_there_by_name() -> None:
    cfg = {"routing": {"router": "heuristic"}}
    decision = decide(Request.from_prompt("Hi there!"), make_context(cfg), Policy())
    assert "light_cues" in decision.complexity["features"]


@pytest.mark.parametrize(
    "prompt", ["hello", "Hello!", "hi", "thanks!", "Thank you", "good morning"]
)
def test_trivial_chat_stays_on_the_default_local_model(prompt: str) -> None:
    # The default local model is the smallest (`tiny`, the lowest thresholds): if a greeting
    # stays local there, it stays local with every shipped calibration.
    decision = decide(Request.from_prompt(prompt), make_context(), Policy())
    assert decision.complexity["label"] == "simple"
    assert decision.tier == "simple" and decision.provider == "llamacpp"
    assert decision.complexity["score"] < scorer.calibrated_thresholds(decision.model)["medium"]


def test_explanations_name_signals_and_shapes_in_words() -> None:
    assert "#long" in WORDS  # the shape this test leans on is weighed
    # Neither word is weighed: each is named by the shapes it has that the model weighs.
    assert "committeeships" not in WORDS and "extraordinarily" not in WORDS
    capitalised_long = " + ".join(
        name for shape, name in (("#long", "long words"), ("#cap", "capitalised words"))
        if shape in WORDS
    )  # fmt: skip
    text = "```\nCommitteeships Extraordinarily\n```"
    _, explained = scorer.assess(text)
    named = {**explained["up"], **explained["down"]}
    signals = {"a code block", "lines in the prompt", "prompt length", "symbols"}
    assert set(named) <= {capitalised_long, *signals}
    assert capitalised_long in named  # the words' shapes: the model weighs neither word
    assert "a code block" in named and "code_fence" not in named
    # The uncached path (any model) names them the same way.
    assert scorer.assess(text, scorer.load())[1] == explained


def test_a_weighed_word_is_named_by_itself_and_an_unknown_one_by_its_shapes() -> None:
    model = scorer.shipped()
    assert scorer.name_of(f"{UP}!", model.words) == UP
    assert scorer.name_of("committeeships", model.words) == "long words"
    assert "#cap" in model.words
    assert scorer.name_of("Committeeships", model.words) == "long words + capitalised words"
    assert scorer.name_of("zqxw", model.words) == "zqxw"  # no weight, no weighed shape


def fresh_shipped_weights(monkeypatch: pytest.MonkeyPatch) -> scorer.ShippedWeights:
    """The shipped file read the way `llm route` reads it, searching on every lookup."""
    monkeypatch.setattr(scorer, "_PARSE_ALL_AFTER", 10**9)
    words = scorer._load_shipped().words
    assert isinstance(words, scorer.ShippedWeights)
    return words


def test_every_weight_found_in_the_files_text_is_the_files_weight(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    words = fresh_shipped_weights(monkeypatch)
    assert {key: words.get(key, math.nan) for key in WORDS} == WORDS
    assert any("\\" in key for key in WORDS)  # escaped keys are among them ("$\\beta$")
    # Neighbours of every word in sorted order, and words that escape: none is weighed.
    for key in WORDS:
        for near in (key + "a", key[:-1], "a" + key, key + "\\", '"' + key, key + "!"):
            assert (near in words) == (near in WORDS), near
    assert words._all is None  # all of that by search, nothing parsed


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=12) | st.sampled_from(sorted(WORDS)).map(lambda w: w + "x"))
def test_a_lookup_gives_what_the_parsed_file_gives(key: str) -> None:
    with pytest.MonkeyPatch.context() as patch:
        words = fresh_shipped_weights(patch)
        assert words.get(key, -99.0) == WORDS.get(key, -99.0)
        assert (key in words) == (key in WORDS)


def test_many_distinct_words_parse_the_file_once(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(scorer, "_PARSE_ALL_AFTER", 8)
    words = scorer._load_shipped().words
    assert isinstance(words, scorer.ShippedWeights)
    probes = [*sorted(WORDS)[:8:2], "zz-not-a-word", "", "the", "#digit", DOWN, UP]
    assert [words.get(p, 0.0) for p in probes] == [WORDS.get(p, 0.0) for p in probes]
    assert words._all == WORDS
    assert dict(words) == WORDS and len(words) == len(WORDS)


def test_a_weights_file_in_another_layout_is_parsed_whole(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    text = json.dumps(WEIGHTS)  # on one line
    monkeypatch.setattr(scorer, "_shipped_text", lambda: text)
    model = scorer._load_shipped()
    assert model.words == WORDS and not isinstance(model.words, scorer.ShippedWeights)
    assert model.meta == scorer.load(text).meta


def test_the_weights_are_the_files_last_key() -> None:
    # What lets the search read the weights to the end of the file (the trainer checks it).
    assert list(WEIGHTS)[-1] == "weights"


def test_the_lazy_model_is_the_parsed_model() -> None:
    lazy, full = scorer._load_shipped(), scorer.load()
    assert (lazy.bias, lazy.dense, lazy.meta) == (full.bias, full.dense, full.meta)
