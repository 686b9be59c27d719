"""The learned complexity score: the probability that a prompt needs the strong model.

A logistic regression over the prompt's words (lower-cased, punctuation stripped), four
token shapes (a number, a symbol, a long word, a capitalised word) and a few whole-prompt
signals (length, lines, questions, a code fence, how many numbers). Trained by `make router`
(tools/train_router.py) on public weak/strong outcomes; ROUTER_CARD.md says on what.

Inference is pure Python and cheap on purpose: the model is linear and the words are
averaged, so each distinct token's contribution (its word's weight plus its shapes') is
computed once per process and a prompt's score is one C-level `sum` over a dictionary
lookup per token, plus five dense terms. Weights load lazily, on the first score, and a
one-shot `llm route` never parses the 3,000 of them: it looks up its own words in the
file's sorted text (ShippedWeights).
"""

# Real annotations (no `from __future__ import annotations`): typing.NamedTuple would compile
# each string annotation of the records below at every start (tests/test_startup_imports.py).
import json
import math
import re
from collections import Counter
from collections.abc import Iterator, Mapping
from typing import Any, NamedTuple

from convergio_llm.routing.words import words as shared_words

WEIGHTS_FILE = "router_weights.json"
STRIP = ".,;:!?()\"'[]{}<>*`_"
_SYMBOLS = frozenset("=+*/^<>{}[];`\\|$%#@&~")
SHAPES = ("#digit", "#symbol", "#long", "#cap")
DENSE = ("log_words", "log_lines", "questions", "code_fence", "log_numbers")
# A number: a run of digits with at most one decimal part ("3", "1,000", "2.5"). How many a
# prompt holds is a signal of its own: a word problem's quantities are its steps. A pattern
# string: `re` compiles it with the first score and caches it (no compile at import).
NUMBER = r"\d+(?:[.,]\d+)?"


def key_of(token: str) -> str:
    return token.lower().strip(STRIP)


def shapes_of(token: str) -> tuple[str, ...]:
    """The shape features of one whitespace-separated token."""
    found = []
    if any(c.isdigit() for c in token):
        found.append("#digit")
    if not _SYMBOLS.isdisjoint(token):
        found.append("#symbol")
    if len(key_of(token)) >= 10:
        found.append("#long")
    if token[:1].isupper():
        found.append("#cap")
    return tuple(found)


def token_features(token: str) -> list[str]:
    """Every sparse feature one token carries: its word and its shapes."""
    return [key_of(token), *shapes_of(token)]


def dense_features(text: str, n_words: int) -> tuple[float, ...]:
    """Whole-prompt signals (the words are averaged, so length needs its own term)."""
    return (
        math.log1p(n_words),
        math.log1p(text.count("\n")),
        min(text.count("?"), 5) / 5.0,
        1.0 if "```" in text else 0.0,
        math.log1p(len(re.findall(NUMBER, text))),
    )


class Model(NamedTuple):
    bias: float
    words: Mapping[str, float]  # sparse feature → weight (words and shapes)
    dense: tuple[float, ...]
    meta: dict[str, Any]


_MODEL: Model | None = None
_TOKENS: dict[str, float] = {}


def load(text: str | None = None) -> Model:
    """A model from its JSON text; the shipped file's when `text` is None."""
    raw = json.loads(_shipped_text() if text is None else text)
    return Model(
        bias=float(raw["bias"]),
        words=raw["weights"],  # JSON gives str → float already: no copy on every start
        dense=tuple(float(raw["dense"].get(name, 0.0)) for name in DENSE),
        meta={k: v for k, v in raw.items() if k not in ("bias", "weights", "dense")},
    )


def _shipped_text() -> str:
    import os

    path = os.path.join(os.path.dirname(__file__), WEIGHTS_FILE)
    with open(path, encoding="utf-8") as fh:
        return fh.read()


# How tools/train_router.py writes the file (json.dumps, sort_keys=True, indent=0,
# ensure_ascii=False): "weights" is the last key, one '"word": weight,' line per word, in
# sorted order of the words.
_WEIGHTS_OPEN = '\n"weights": {\n'
_WEIGHTS_CLOSE = "\n}\n}\n"
_PARSE_ALL_AFTER = 512  # distinct lookups, after which a dictionary is the cheaper way


class ShippedWeights(Mapping[str, float]):
    """The shipped file's word weights, found in its text by binary search on first use.

    Parsing all 3,000 weights costs ~7.6M instructions, 2.5% of `llm route`'s whole start,
    for a prompt that needs a few dozen of them; a lookup costs ~15k. After
    _PARSE_ALL_AFTER distinct words (a long prompt or `route --jsonl`) the file is parsed
    once into a dictionary and lookups are plain. Iterating parses it too.
    """

    def __init__(self, text: str, lines_start: int, lines_end: int) -> None:
        self._text, self._lo, self._hi = text, lines_start, lines_end
        self._found: dict[str, float | None] = {}
        self._all: dict[str, float] | None = None

    def get(self, key: str, default: float = 0.0) -> float:  # type: ignore[override]
        found = self._value(key)
        return default if found is None else found

    def __getitem__(self, key: str) -> float:
        found = self._value(key)
        if found is None:
            raise KeyError(key)
        return found

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and self._value(key) is not None

    def __iter__(self) -> Iterator[str]:
        return iter(self.parsed())

    def __len__(self) -> int:
        return len(self.parsed())

    def parsed(self) -> dict[str, float]:
        if self._all is None:
            self._all = json.loads("{" + self._text[self._lo : self._hi] + "}")
        return self._all

    def _value(self, key: str) -> float | None:
        return self._all.get(key) if self._all is not None else self._lookup(key)

    def _lookup(self, key: str) -> float | None:
        found = self._found
        if key in found:
            return found[key]
        if len(found) >= _PARSE_ALL_AFTER:
            return self.parsed().get(key)
        text, lo, hi = self._text, self._lo, self._hi
        value = None
        # lo and hi are line starts; every line in [lo, hi) is '"word": weight' (and a comma).
        while lo < hi:
            start = text.rfind("\n", lo - 1, (lo + hi) // 2) + 1
            end = text.find("\n", start, hi)
            end = hi if end < 0 else end
            line = text[start:end]
            split = line.index('": ')
            word = line[1:split]
            if "\\" in word:  # an escaped quote or backslash: JSON says what it is
                word = json.loads(f'"{word}"')
            if word == key:
                value = float(line[split + 3 :].rstrip(","))
                break
            if word < key:
                lo = end + 1
            else:
                hi = start
        found[key] = value
        return value


def _load_shipped() -> Model:
    text = _shipped_text()
    opens, closes = text.find(_WEIGHTS_OPEN), len(text) - len(_WEIGHTS_CLOSE)
    lines_start = opens + len(_WEIGHTS_OPEN)
    # (No scan of the lines for a later key: it costs as much as 50 lookups. The trainer
    # refuses to write one, and the tests parse the shipped file beside this reading.)
    if opens < 0 or not text.endswith(_WEIGHTS_CLOSE):
        return load(text)  # not the layout the trainer writes: parse it all
    head = json.loads(text[:opens].rstrip().rstrip(",") + "\n}")
    words = ShippedWeights(text, lines_start, closes)
    return Model(
        bias=float(head["bias"]),
        words=words,
        dense=tuple(float(head["dense"].get(name, 0.0)) for name in DENSE),
        meta={k: v for k, v in head.items() if k not in ("bias", "dense")},
    )


def shipped() -> Model:
    global _MODEL
    if _MODEL is None:
        _MODEL = _load_shipped()
    return _MODEL


def _token_weight(model: Model, token: str) -> float:
    weights = model.words
    return sum(weights.get(f, 0.0) for f in token_features(token))


def _cached_weights(model: Model, tokens: list[str]) -> float:
    """The sum of the tokens' weights, each distinct token's computed once per process."""
    cache = _TOKENS
    try:
        return sum(map(cache.__getitem__, tokens))
    except KeyError:
        if len(cache) > 100_000:  # bounded, for a long-running process
            cache.clear()
        for token in set(tokens).difference(cache):
            cache[token] = _token_weight(model, token)
        return sum(map(cache.__getitem__, tokens))


_NAMES: dict[str, str] = {}  # token → the name an explanation gives it (shipped model)
# What an explanation calls the whole-prompt signals and the shapes of a word the model
# has no weight for (its weight is then its shapes' alone): words a user can read.
SIGNAL_NAMES = {
    "log_words": "prompt length",
    "log_lines": "lines in the prompt",
    "questions": "question marks",
    "code_fence": "a code block",
    "log_numbers": "how many numbers",
}
SHAPE_NAMES = {
    "#digit": "numbers",
    "#symbol": "symbols",
    "#long": "long words",
    "#cap": "capitalised words",
}


def name_of(token: str, weights: Mapping[str, float]) -> str:
    """The token's word when the model weighs it, else what its shapes are called."""
    key = key_of(token)
    if key in weights:
        return key
    shapes = [SHAPE_NAMES[s] for s in shapes_of(token) if s in weights]
    return " + ".join(shapes) or key or token


def _name(token: str, weights: Mapping[str, float]) -> str:
    name = _NAMES.get(token)
    if name is None:
        if len(_NAMES) > 100_000:
            _NAMES.clear()
        name = _NAMES[token] = name_of(token, weights)
    return name


def assess(text: str, model: Model | None = None) -> tuple[float, dict[str, Any]]:
    """The probability that the strong model is needed, and what pushed it up or down:
    the words (with their shapes) and whole-prompt signals with the largest terms in the
    logit. `llm route --jsonl` explains every decision it prints, so this runs once per
    prompt and is written for it: the words are counted in C, only the words with a weight
    are named, and the whole-prompt signals that are zero (no newline, no question mark)
    cost nothing."""
    tokens = shared_words(text)
    n = len(tokens)
    if model is None:
        model = shipped()
        total = _cached_weights(model, tokens)
        weight_of, named = _TOKENS.__getitem__, _name
    else:
        found = {t: _token_weight(model, t) for t in tokens}
        total, weight_of = math.fsum(map(found.__getitem__, tokens)), found.__getitem__
        named = name_of
    # Math calls, not tables of them: building 2 × 1,024 entries cost ~2.2M instructions at
    # every start (0.7% of `llm route`) to save ~0.1 µs a prompt.
    log_words, per_token = math.log1p(n), (1.0 / math.sqrt(n) if n else 0.0)
    w_words, w_lines, w_questions, w_fence, w_numbers = model.dense
    names = SIGNAL_NAMES
    terms = {names["log_words"]: w_words * log_words}
    if "\n" in text:
        terms[names["log_lines"]] = w_lines * math.log1p(text.count("\n"))
    if "?" in text:
        terms[names["questions"]] = w_questions * min(text.count("?"), 5) / 5.0
    if "```" in text:
        terms[names["code_fence"]] = w_fence
    numbers = len(re.findall(NUMBER, text))
    if numbers:
        terms[names["log_numbers"]] = w_numbers * math.log1p(numbers)
    z = model.bias + total * per_token + sum(terms.values())
    # Every token's term, summed under the name it is explained by ("numbers" for every
    # number the model has no word for), so the largest terms are the largest sums: ranking
    # tokens by weight alone named one "1111" of three and missed the other numbers. Counted
    # in first-appearance order, never a set's, whose order changes with each process's
    # string hashing and would explain the same prompt two ways.
    words = model.words
    by_name: dict[str, float] = {}
    for token, count in Counter(tokens).items():
        weight = weight_of(token)
        if weight:
            name = named(token, words)
            by_name[name] = by_name.get(name, 0.0) + weight * count
    for name, weight in by_name.items():
        terms[name] = terms.get(name, 0.0) + weight * per_token
    ordered = sorted(terms.items(), key=_by_size)
    explained = {
        "words": n,
        "up": {k: round(v, 3) for k, v in ordered[:-4:-1] if v > 0},
        "down": {k: round(v, 3) for k, v in ordered[:3] if v < 0},
    }
    return probability(z), explained


def _by_size(item: tuple[str, float]) -> float:
    return item[1]


def probability(z: float) -> float:
    return 1.0 / (1.0 + math.exp(-z)) if z > -700 else 0.0


# The local model's size, from its name: "gemma-3-270m", "llama3.2:3b", "qwen2.5-7b-instruct".
# Cased classes, not re.IGNORECASE: its case folding costs ~2x to compile (route compiles
# this once per start).
_SIZE = r"(?<![\d.])(\d+(?:\.\d+)?)\s*([bBmM])(?![a-zA-Z])"
DEFAULT_STRENGTH = "small"


def strength_of(model_name: str) -> str:
    """The calibration a local model gets: `tiny` under 1.5B parameters, `small` to 4.5B,
    `medium` above; a name with no size in it gets DEFAULT_STRENGTH."""
    found = re.search(_SIZE, model_name)
    if found is None:
        return DEFAULT_STRENGTH
    size = float(found.group(1)) / (1000 if found.group(2).lower() == "m" else 1)
    return "tiny" if size < 1.5 else "small" if size <= 4.5 else "medium"


def calibrated_thresholds(model_name: str) -> dict[str, float]:
    """The shipped thresholds for a local model (ROUTER_CARD.md says how each was fitted;
    `tiny` is extrapolated, as no public data measures models under 2B)."""
    calibrations = shipped().meta["calibrations"]
    strength = strength_of(model_name)
    found = calibrations.get(strength) or calibrations[DEFAULT_STRENGTH]
    return {"medium": float(found["medium"]), "complex": float(found["complex"])}
