"""The hand-set (heuristic) router's signals: cue words, numbers, symbols, choices and the
shape of the prompt, counted in one regex pass (or a faster path that a test checks gives
the same counts). routing/complexity.py weighs them into the heuristic score.

Pure Python; no numpy, no model, no network.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from convergio_llm.routing.words import words as shared_words

_CUES: dict[str, str] = {
    # Verbs that ask for reasoning, analysis or design rather than recall.
    "reason": r"prove|proof|derive|derivation|justify|why|deduce|infer|analy[sz]e|analysis|"
    r"evaluate|assess|compare|contrast|critique|critically|implications?|trade-?offs?|"
    r"optimi[sz]e|design|architect|strategy|hypothes[ie]s|explain|reasoning|step[- ]by[- ]step|"
    r"show that|calculate|compute|solve|estimate|determine|minimi[sz]e|maximi[sz]e|debate",
    # Programming: the words people use when asking for code, in any language.
    "code": r"code|function|class|method|script|program|python|javascript|typescript|java|"
    r"rust|golang|sql|regex|api|bug|debug|compile|compiler|algorithm|recursion|recursive|"
    r"implement|implementation|refactor|unit tests?|complexity|big-o|def|return|async|"
    r"thread|pointer|struct|array|query|endpoint|json|html|css|bash|shell|docker",
    # The shape of a multi-step word problem: rates, totals, what is left.
    "math": r"how many|how much|total|each|per|percent|remaining|left|twice|half|times|"
    r"average|ratio|probability|equation|integral|derivative|sum|product|profit|costs?|"
    r"spend|spends|spent|earns?|pays?|sells?|buys?|bought|sold|hours?|minutes?|"
    r"days?|weeks?|miles|km|dollars?|\$",
    # Constraints and structure the answer must satisfy.
    "constraint": r"must|should|exactly|at least|at most|no more than|fewer than|without|"
    r"include|including|exclude|only|format|bullet|table|json|words?|sentences?|"
    r"paragraphs?|lines|rhyme|tone|style|audience|ensure|avoid|limit",
    # Requests for a long or deep answer.
    "length": r"detailed|in detail|comprehensive|thorough|in-depth|in depth|essay|report|"
    r"elaborate|extensive|outline|plan|guide|tutorial|step-by-step guide",
    # Light creative or conversational work small models handle well.
    "light": r"hi|hello|thanks|thank you|joke|poem|haiku|story|slogan|tweet|caption|"
    r"rephrase|rewrite|paraphrase|translate|summari[sz]e|synonyms?|greet|fun fact|"
    r"name ideas|nickname|title for",
}
_SCAN_SOURCE = (
    r"\b(?:"
    + "|".join(f"(?P<{name}>{words})" for name, words in _CUES.items())
    + r")\b|(?P<number>\d+(?:[.,/]\d+)*%?)|(?P<symbol>[=+*/^<>{}\[\];]|```|\\\w+)"
)
_SCAN: re.Pattern[str] | None = None
_FACTUAL = re.compile(
    r"^\s*(?:what|who|whom|when|where|which)(?:'s|\s+(?:is|are|was|were|did|does|do|year|"
    r"country|city|language|planet|element|animal))\b|^\s*(?:define|name|list|give me)\b",
    re.I,
)
_CHOICES = re.compile(r"(?m)^\s*\(?[A-Da-d][).:]\s+\S")
_VOWEL_GROUPS = re.compile(r"[aeiouy]+", re.I)
_ENUMERATED = re.compile(r"(?m)^\s*(?:\d+[.)]|[-*•]|\([a-z]\)|[a-z]\))\s+\S")


def _scanner() -> re.Pattern[str]:
    global _SCAN
    if _SCAN is None:
        _SCAN = re.compile(_SCAN_SOURCE, re.I)
    return _SCAN


# The fast path for ASCII text counts what `_SCAN` would find without trying ~200
# alternatives at every word. It relies on facts a test checks (fast == one-regex path):
# - a single-word cue must end at a word boundary, so it is a whole letter run, and a
#   distinct token's runs are matched once per process (see _token_counts);
# - no word of a multi-word cue ("how many", "trade-off") is a cue on its own, so those
#   are counted apart, by the multi-word alternatives in their original order;
# - cues hold no digit or symbol, and numbers and symbols no letter, so the one pass of
#   the number-or-symbol pattern splits them as `_SCAN` does. Only `\\word` (a symbol
#   that swallows a word) breaks this, and text with a backslash takes the slow path.
_RUNS = re.compile(r"\b[a-z]++\b")
_NUMBER_OR_SYMBOL = re.compile(r"(\d+(?:[.,/]\d+)*%?)|[=+*/^<>{}\[\];]|```")
_DOLLAR = re.compile(r"\b\$\b")
_MULTI_WORD_FIRST = frozenset(
    re.match(r"[a-z]+", alternative).group()  # type: ignore[union-attr]
    for words in _CUES.values()
    for alternative in words.split("|")
    if re.search(r"[ \-]", alternative)
)
# Every multi-word match (one holding a space or a hyphen) holds one of these substrings,
# this many characters after its start ("step by step" holds "by step" at 5). The
# multi-word pattern is tried only there, not at every position of the text.
_MULTI_HINTS = (
    ("trade-", 0), ("by step", 5), ("by-step", 5), ("show that", 0), ("unit test", 0),
    ("big-o", 0), ("how many", 0), ("how much", 0), ("at least", 0), ("at most", 0),
    ("no more than", 0), ("fewer than", 0), ("in detail", 0), ("in-depth", 0),
    ("in depth", 0), ("thank you", 0), ("fun fact", 0), ("name ideas", 0), ("title for", 0),
)  # fmt: skip
_WORD_GROUPS: dict[str, str] | None = None
_MULTI: re.Pattern[str] | None = None


def _expand(alternative: str) -> list[str]:
    """Every string a cue alternative matches. They use only letters, `[xy]` classes and
    `?` after one character or class (a test checks this over `_CUES`)."""
    out = [""]
    i = 0
    while i < len(alternative):
        if alternative[i] == "[":
            end = alternative.index("]", i)
            options, i = list(alternative[i + 1 : end]), end + 1
        else:
            options, i = [alternative[i]], i + 1
        if alternative[i : i + 1] == "?":
            options, i = [*options, ""], i + 1
        out = [head + option for head in out for option in options]
    return out


def _word_groups() -> dict[str, str]:
    """Letter run → its cue group, as the one alternation's `fullmatch` would say: the first
    group (in `_CUES` order) with an alternative matching the whole run. A dictionary, not
    a compiled regex: compiling ~200 alternatives cost ~2.5 ms of every `llm route`."""
    global _WORD_GROUPS
    if _WORD_GROUPS is None:
        groups: dict[str, str] = {}
        for name, words in _CUES.items():
            for alternative in words.split("|"):
                if "\\" in alternative:  # `\$` is a symbol, never a letter run
                    continue
                for word in _expand(alternative):
                    if word.isalpha():
                        groups.setdefault(word, name)
        _WORD_GROUPS = groups
    return _WORD_GROUPS


def _multi_word() -> re.Pattern[str]:
    """The multi-word cues ("how many", "trade-off"), compiled only when a text has a hint."""
    global _MULTI
    if _MULTI is None:
        multi = {
            name: "|".join(a for a in words.split("|") if re.search(r"[ \-]", a))
            for name, words in _CUES.items()
        }
        _MULTI = re.compile(
            r"\b(?:" + "|".join(f"(?P<{n}>{w})" for n, w in multi.items() if w) + r")\b"
        )
    return _MULTI


def _cue_counts(text: str) -> tuple[dict[str, int], int, int]:
    """Counts of each cue group, numbers and symbols, as one `_SCAN.finditer` pass finds them."""
    counts = {"reason": 0, "code": 0, "math": 0, "constraint": 0, "length": 0, "light": 0}
    numbers = symbols = 0
    # re.I folds some non-ASCII letters onto ASCII ones (ſ → s): keep the one regex there.
    for match in _scanner().finditer(text):
        group = match.lastgroup
        if group == "number":
            numbers += 1
        elif group == "symbol":
            symbols += 1
        elif group is not None:
            counts[group] += 1
    return counts, numbers, symbols


# What one whitespace-separated token adds to the features. Every match of the letter-run,
# number-or-symbol and `$` patterns lies inside one token (none of them matches whitespace,
# and a token's edges are word boundaries), so a text's counts are the sum over its tokens:
# each distinct token is scanned once per process, then only looked up. A token's counts
# are packed into one integer, _WIDTH bits a field, so a text's totals are one C-level
# `sum` (a field would need a text of 2**40 characters to overflow into the next).
_TOKEN_FIELDS = (
    "reason", "code", "math", "constraint", "length", "light",
    "numbers", "symbols", "expert", "multi_first",
)  # fmt: skip
_WIDTH = 40
_MASK = (1 << _WIDTH) - 1
_TOKENS: dict[str, int] = {}


def _token_counts(token: str) -> int:
    word_groups = _word_groups()
    counts = dict.fromkeys(_TOKEN_FIELDS, 0)
    runs = _RUNS.findall(token.lower())
    for run in runs:
        group = word_groups.get(run)
        if group is not None:
            counts[group] += 1
    if "$" in token:
        counts["math"] += len(_DOLLAR.findall(token))
    pieces = _NUMBER_OR_SYMBOL.findall(token)
    counts["symbols"] = pieces.count("")
    counts["numbers"] = len(pieces) - counts["symbols"]
    counts["expert"] = len(token) >= 7 and _expert(token.strip(".,;:!?()\"'"))
    counts["multi_first"] = not _MULTI_WORD_FIRST.isdisjoint(runs)
    return sum(int(counts[f]) << (i * _WIDTH) for i, f in enumerate(_TOKEN_FIELDS))


def _packed_sum(tokens: list[str], cache: dict[str, int], count: Callable[[str], int]) -> int:
    """The tokens' packed counts summed, each distinct token's counted once per process."""
    try:
        return sum(filter(None, map(cache.__getitem__, tokens)))
    except KeyError:
        if len(cache) > 100_000:  # bounded, for a long-running process
            cache.clear()
        for token in set(tokens).difference(cache):
            cache[token] = count(token)
        return sum(filter(None, map(cache.__getitem__, tokens)))


def _unpacked(packed: int) -> dict[str, int]:
    return {f: (packed >> (i * _WIDTH)) & _MASK for i, f in enumerate(_TOKEN_FIELDS)}


def _fast_features(text: str, tokens: list[str]) -> dict[str, int]:
    """`_cue_counts` and the specialist-word count for ASCII text, from cached tokens."""
    # Most tokens count nothing ("the", "of"): filtering out their zeros first spares `sum`
    # a slow many-digit addition for each of them (the packed totals exceed 64 bits).
    counts = _unpacked(_packed_sum(tokens, _TOKENS, _token_counts))
    if counts["multi_first"]:
        _count_multi_word(text.lower(), counts)
    return counts


def _count_multi_word(lowered: str, counts: dict[str, int]) -> None:
    """What `_MULTI.finditer(lowered)` counts, trying the pattern only where a hint puts a
    match's start. A match elsewhere ("tradeoff") is one word, so no start lies inside
    it; in start order, each try that begins past the last match's end is one that
    finditer makes too, with the same result."""
    starts = set()
    for hint, offset in _MULTI_HINTS:
        at = lowered.find(hint)
        while at >= 0:
            if at >= offset:
                starts.add(at - offset)
            at = lowered.find(hint, at + 1)
    if not starts:
        return
    multi = _multi_word()
    end = 0
    for start in sorted(starts):
        if start < end:
            continue
        match = multi.match(lowered, start)
        if match is not None:
            end = match.end()
            if " " in match.group() or "-" in match.group():  # not "tradeoff", counted above
                counts[match.lastgroup] += 1  # type: ignore[index]


# Text with non-ASCII letters: re.I folds some onto ASCII ones (ſ → s), so each distinct
# token is counted by the one regex itself, on that token alone, leaving out multi-word
# cues (a match holding a space or a hyphen). Those are counted by their own re.I pattern
# over the text, as in the ASCII path: one can end inside a token ("ſtep by step-by-step").
# The same counts as `_cue_counts(text)`, without trying ~200 alternatives at every
# character of a long prompt. Text with a backslash (`\\word` swallows a word) still
# takes `_cue_counts`.
_UNICODE_TOKENS: dict[str, int] = {}
_MULTI_I: re.Pattern[str] | None = None


def _unicode_token_counts(token: str) -> int:
    values = dict.fromkeys(_TOKEN_FIELDS, 0)
    for match in _scanner().finditer(token):
        group = match.lastgroup
        if group in ("number", "symbol"):
            values[f"{group}s"] += 1
        elif group is not None and "-" not in match.group():
            values[group] += 1
    values["expert"] = len(token) >= 7 and _expert(token.strip(".,;:!?()\"'"))
    return sum(int(values[f]) << (i * _WIDTH) for i, f in enumerate(_TOKEN_FIELDS))


def _unicode_features(text: str, tokens: list[str]) -> dict[str, int]:
    global _MULTI_I
    counts = _unpacked(_packed_sum(tokens, _UNICODE_TOKENS, _unicode_token_counts))
    if " " in text or "-" in text:
        if _MULTI_I is None:
            _MULTI_I = re.compile(_multi_word().pattern, re.I)
        for match in _MULTI_I.finditer(text):
            if " " in match.group() or "-" in match.group():  # not "tradeoff", counted
                counts[match.lastgroup] += 1  # type: ignore[index]
    return counts


def features(text: str) -> dict[str, Any]:
    """The interpretable signals, all small integers or booleans."""
    return _features(text, fast=True)


def _features(text: str, fast: bool) -> dict[str, Any]:
    words = shared_words(text)
    if fast and "\\" not in text:
        by_tokens = _fast_features if text.isascii() else _unicode_features
        counts = by_tokens(text, words)
        numbers, symbols, expert = counts["numbers"], counts["symbols"], counts["expert"]
    else:
        counts, numbers, symbols = _cue_counts(text)
        # Only a word of 7+ characters can be a specialist's one (stripping only shortens it).
        expert = sum(1 for w in words if len(w) >= 7 and _expert(w.strip(".,;:!?()\"'")))
    n_words = len(words)
    questions = text.count("?")
    enumerated = choices = 0
    if "\n" in text:
        count = _count_at_line_starts if fast else _count_all
        enumerated, choices = count(_ENUMERATED, text), count(_CHOICES, text)
    return {
        "words": n_words,
        "numbers": numbers,
        "symbols": symbols,
        "code": "```" in text or counts["code"] >= 2 or symbols >= 6,
        "code_cues": counts["code"],
        "reasoning_cues": counts["reason"],
        "math_cues": counts["math"],
        "constraints": counts["constraint"] + max(0, enumerated - choices),
        "length_request": counts["length"],
        "light_cues": counts["light"],
        "expert_words": expert,
        "sub_questions": max(0, questions - 1),
        "choices": choices,
        "factual": n_words <= 25
        and counts["reason"] == expert == numbers == 0
        and bool(_FACTUAL.match(text)),
    }


def _count_all(pattern: re.Pattern[str], text: str) -> int:
    return len(pattern.findall(text))


def _count_at_line_starts(pattern: re.Pattern[str], text: str) -> int:
    """`len(pattern.findall(text))` for a pattern that begins with `(?m)^` and matches no
    empty string: finditer tries every position, but only a line start can match, so it
    is tried there alone, from the last match's end on (a test compares the two)."""
    count = end = 0
    start = 0
    while start >= 0:
        if start >= end:
            match = pattern.match(text, start)  # (?m)^ sees the newline before `start`
            if match is not None:
                count, end = count + 1, match.end()
        start = text.find("\n", start)
        start = start + 1 if start >= 0 else -1
    return count


def _expert(word: str) -> bool:
    """A specialist's word: long, or polysyllabic (as readability formulas count it), or an
    eponym pair such as Hardy-Weinberg."""
    if len(word) >= 11:
        return True
    if len(word) < 7:
        return False
    if "-" in word and word[0].isupper() and word.partition("-")[2][:1].isupper():
        return True
    return len(_VOWEL_GROUPS.findall(word)) >= 4
