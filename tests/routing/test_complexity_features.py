"""The heuristic's signal counting (routing/complexity_features.py): the fast paths give
exactly what the one-regex path gives, on random texts and on the dev set."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from convergio_llm.routing import complexity
from convergio_llm.routing import complexity_features as cf
from tests.routing.test_complexity import DEV  # the hand-labelled prompts, loaded once

# Words and marks the cue patterns care about, so random texts hit the fast path's edges:
# multi-word cues split across spaces, hyphens and newlines, numbers glued to words, `$`.
_PIECES = [
    "how", "many", "much", "at", "least", "most", "step", "by", "step-by-step", "trade-off",
    "tradeoffs", "trade", "off", "unit", "tests", "big-o", "in", "detail", "depth", "in-depth",
    "thank", "you", "thanks", "no", "more", "than", "fewer", "show", "that", "prove", "code",
    "Python", "def", "return", "each", "total", "$5", "a$b", "3.5%", "1,000", "x=2", "```",
    "{}", "[1;2]", "heteroskedasticity", "Hardy-Weinberg", "glomerular", "(analysis)", "why?",
    "Hi", "HOW", "Many", "word_with_underscore", "abc123", "12abc", " ", "  ", "\n", "\t", "-",
    ".", ",", "?", "A)", "1.", "- item",
    # Non-ASCII: letters re.I folds onto ASCII ones, accents, Unicode spaces and digits.
    "ſtep", "ſhow", "\u212aey", "perché", "è", "città", "İn", "\u00a0", "\u2003", "٣", "—", "naïve",
    "\\alpha",
]  # fmt: skip


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(_PIECES), max_size=40), st.sampled_from([" ", "", "\n", "-"]))
def test_fast_features_match_the_one_regex_path(pieces: list[str], joiner: str) -> None:
    text = joiner.join(pieces)
    assert complexity.features(text) == cf._features(text, fast=False)


def test_fast_features_match_on_the_dev_set() -> None:
    for row in DEV:
        text = row["prompt"]
        variants = (text, text.lower(), text.upper(), text.replace(" ", "\n"))
        unicode = (f"{text} è", text.replace("s", "ſ"), text.replace(" ", "\u00a0"))
        for variant in variants + unicode:
            assert complexity.features(variant) == cf._features(variant, fast=False)


def test_word_groups_dictionary_says_what_the_one_alternation_says() -> None:
    """The cue dictionary replaces `fullmatch` against the whole alternation (start-up):
    same group for every word the alternatives can produce and for near misses."""
    import re
    import string

    from convergio_llm.routing import complexity_features as c

    for words in c._CUES.values():
        for alternative in words.split("|"):
            assert re.fullmatch(r"(?:[a-z \-]|\[[a-z \-]+\]|\?|\\\$)+", alternative), alternative
    whole = re.compile("|".join(f"(?P<{n}>{w})" for n, w in c._CUES.items()))
    groups = c._word_groups()
    vocabulary = set(groups)
    vocabulary |= {w + s for w in list(vocabulary) for s in ("s", "es", "ed", "ing", "x")}
    vocabulary |= {w[:-1] for w in groups if len(w) > 1}
    vocabulary |= set(string.ascii_lowercase) | {"tradeoff", "tradeoffs", "analyse", "analyze"}
    for word in vocabulary:
        if not word.isalpha():
            continue
        found = whole.fullmatch(word)
        assert groups.get(word) == (found.lastgroup if found else None), word


_LINE_PIECES = ["\n", " ", "\t", "\r", "x", "A)", "(b)", "c)", "1.", "12)", "- item", "*", "•"]


@settings(max_examples=500, deadline=None)
@given(st.lists(st.sampled_from(_LINE_PIECES), max_size=16), st.sampled_from([" ", "", "\n"]))
def test_line_start_counts_match_findall(pieces: list[str], joiner: str) -> None:
    text = joiner.join(pieces)
    for pattern in (cf._ENUMERATED, cf._CHOICES):
        assert cf._count_at_line_starts(pattern, text) == len(pattern.findall(text))
