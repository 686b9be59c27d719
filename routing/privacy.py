"""Find what makes a prompt private: personal data, national identifiers, credentials.

A finding names its kind and character span, never the value: the decision must not
copy a secret into a new place. Shapes alone send every number local, so each kind that
has one is confirmed by its checksum (Luhn for cards, mod-97 for IBANs, the check
letter of an Italian codice fiscale) or by a phone-like layout or nearby keyword.

One alternation scans the text once; the validators only run on what it matched.
What each kind looks like and how a match is confirmed is privacy_patterns.py's; this
module decides which patterns can match a text, and where, before running them.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from functools import reduce
from operator import or_

from convergio_llm.routing import privacy_context
from convergio_llm.routing.privacy_patterns import Finding, _compiled, _confirmed, _gate, _scanner
from convergio_llm.routing.words import words

# Maximal runs of the characters an iban, ssn, card, phone or ipv4 match can hold (digits,
# separators, brackets, capitals), from their first digit, at least four long: each such
# match holds four of them from its first digit on, and at most two characters before it
# ("DE" of an IBAN, "+" or "(" of a phone), so it lies inside one run and those two. The
# digit-led gates search only the runs; when only those kinds are active, so does the scan.
_DIGIT_RUNS = re.compile(r"\d[A-Z\d .+()/\-]{3,}+")
_RUN_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 .+()/-")
_DIGIT_KINDS = frozenset(("iban", "ssn", "card", "phone", "ipv4"))
_SECRET_HINTS = ("sk-", "AKIA", "_", "xox", "AIza", "eyJ")
_ASSIGNMENT_HINTS = ("pass", "pwd", "secret", "key", "token", "wort", "woord", "contrase", "mdp")


# A codice fiscale match is 16 word characters between word boundaries: a whole run of
# exactly 16, inside one whitespace-separated word of 16 or more characters. A pattern
# string: `re` compiles it when a word that long is first seen.
_CF_RUN = r"\b\w{16}\b"
_HEX_OR_COLON = frozenset("0123456789ABCDEFabcdef:")


# What the pre-checks below look for inside one whitespace-separated word. None of them
# can span whitespace (the hints, "=", ":", the IBAN gate and a codice fiscale run hold
# none), so a text has one exactly when one of its words has it: each distinct word is
# looked at once per process, then a long prompt costs one lookup a word, not a pass over
# the whole text per hint. A test checks these against the text-wide checks.
_SECRET_HINT, _ASSIGNMENT_HINT, _EQUALS_OR_COLON, _IBAN_GATE, _CF_WORD = 1, 2, 4, 8, 16
# For privacy_context: a word that may start a keyword, a lower-case IBAN's first letters.
_KEYWORD, _IBAN_ANY_CASE = 32, 64
_WORD_FLAGS: dict[str, int] = {}


def _word_flags(word: str) -> int:
    lowered = word.lower()  # "bearer" and the assignment hints are matched in any case
    flags = 0
    if any(h in word for h in _SECRET_HINTS) or "bearer" in lowered:
        flags |= _SECRET_HINT
    if any(h in lowered for h in _ASSIGNMENT_HINTS):
        flags |= _ASSIGNMENT_HINT
    if "=" in word or ":" in word:
        flags |= _EQUALS_OR_COLON
    # Capitals and a digit first: most words have neither, and `echo p | llm route` then
    # never compiles the gate.
    digit = any(c.isdigit() for c in word)
    if lowered != word and digit and _gate("iban", word):
        flags |= _IBAN_GATE
    if digit and _gate("iban_any_case", word):
        flags |= _IBAN_ANY_CASE
    if privacy_context.keyword_word(lowered):
        flags |= _KEYWORD
    if len(word) >= 16 and re.search(_CF_RUN, word):
        flags |= _CF_WORD
    return flags


def _text_flags(text: str) -> int:
    split = words(text)
    try:
        # Most words have no flag: filtering first leaves `or_` only a few to combine.
        return reduce(or_, filter(None, map(_WORD_FLAGS.__getitem__, split)), 0)
    except KeyError:
        if len(_WORD_FLAGS) > 100_000:  # bounded, for a long-running process
            _WORD_FLAGS.clear()
        for word in set(split).difference(_WORD_FLAGS):
            _WORD_FLAGS[word] = _word_flags(word)
        return reduce(or_, filter(None, map(_WORD_FLAGS.__getitem__, split)), 0)


def _active(text: str, runs: str, flags: int) -> tuple[str, ...]:
    """The patterns that could match somewhere in `text`, in their original order."""
    active = []
    if "@" in text and "://" in text:
        active.append("url_credentials")
    if "@" in text:
        active.append("email")
    if "-----BEGIN" in text:
        active.append("private_key")
    if not text.isascii():  # case-insensitive parts fold non-ASCII letters: no shortcut
        active += ["api_key", "assignment"]
    else:
        if flags & _SECRET_HINT:
            active.append("api_key")
        if flags & _EQUALS_OR_COLON and flags & _ASSIGNMENT_HINT:
            active.append("assignment")
    if runs and flags & _IBAN_GATE:  # the capitals come before the run's first digit
        active.append("iban")
    if flags & _CF_WORD:
        active.append("codice_fiscale")
    if "-" in runs and _gate("ssn", runs):
        active.append("ssn")
    if "." in runs and _gate("ipv4", runs):
        active.append("ipv4")
    if runs and _gate("card", runs):  # no run, no card: and no compile for a plain prompt
        active.append("card")
    if runs and (
        _gate("phone", runs)
        or ("+" in text and _gate("phone+", text))
        or ("(" in text and _gate("phone(", text))
    ):
        active.append("phone")
    if text.count(":") >= 2 and _gate("ipv6", text):
        active.append("ipv6")
    return tuple(active)


def scan(
    text: str,
    terms: Iterable[str] = (),
    patterns: Iterable[re.Pattern[str]] = (),
    ignore: Iterable[str] = (),
) -> list[Finding]:
    """Every private item in `text`, in order of position."""
    flags = _text_flags(text)
    found = _builtin(text, fast=True, flags=flags)
    if flags & (_KEYWORD | _IBAN_ANY_CASE):
        found = _with_context(found, text, flags)
    if terms or patterns:  # an empty tuple or list: nothing configured
        found += _custom(text, terms, patterns)
    if not found:
        return found
    skip = set(ignore)
    return sorted((f for f in found if f.kind not in skip), key=lambda f: (f.start, f.kind))


def _flagged_words(text: str, flags: int, flag: int) -> list[tuple[int, int]]:
    """Where the words with `flag` are (after `_text_flags(text)` has looked at them)."""
    if not flags & flag:
        return []
    spans = []
    for word in set(words(text)):
        if _WORD_FLAGS[word] & flag:
            spans += [(at, at + len(word)) for at in _find_all(text, word)]
    return spans


def _with_context(
    found: list[Finding], text: str, flags: int, everywhere: bool = False
) -> list[Finding]:
    """`found` and what privacy_context finds; where they overlap, its finding wins (a
    checksum-confirmed Steuer-ID over the phone-like digits it is made of). `everywhere`
    searches the whole text, not only near the flagged words: what the tests compare to."""
    keyword_words = None if everywhere else _flagged_words(text, flags, _KEYWORD)
    iban_words = None if everywhere else _flagged_words(text, flags, _IBAN_ANY_CASE)
    extra = [Finding(*f) for f in privacy_context.find(text, keyword_words, iban_words)]
    if not extra:
        return found
    kept = [f for f in found if not any(f.start < e.end and e.start < f.end for e in extra)]
    return sorted(kept + extra, key=lambda f: (f.start, f.kind))


def _builtin(text: str, fast: bool, flags: int | None = None) -> list[Finding]:
    """The built-in kinds' findings; `fast=False` is the one alternation over the whole
    text that the shortcuts (gates, digit runs) must agree with."""
    if not fast:
        return _confirmed(_scanner().finditer(text), text)
    windows = list(_DIGIT_RUNS.finditer(text))
    runs = "\n".join(w.group() for w in windows)  # "\n" is in no gate
    active = _active(text, runs, _text_flags(text) if flags is None else flags)
    if not active:
        matches: Iterable[re.Match[str]] = ()
    elif _DIGIT_KINDS.issuperset(active):
        matches = _in_runs(_scanner(active), text, windows)
    elif text.isascii():  # lowercased offsets are the text's; no non-ASCII case folding
        matches = _at_starts(_scanner(active), text, _starts(text, active, windows))
    else:
        matches = _scanner(active).finditer(text)
    return _confirmed(matches, text)


def _at_starts(pattern: re.Pattern[str], text: str, starts: set[int]) -> Iterator[re.Match[str]]:
    """`pattern.finditer(text)` when no match can start outside `starts`: finditer tries
    each position from the last match's end on, and only a candidate can succeed there.
    `match` at a position sees the text before it, as finditer's lookbehinds and \\b do."""
    end = 0
    for start in sorted(starts):
        if start >= end:
            match = pattern.match(text, start)
            if match is not None:
                end = match.end()  # no pattern matches the empty string
                yield match


def _find_all(text: str, needle: str) -> Iterator[int]:
    at = text.find(needle)
    while at >= 0:
        yield at
        at = text.find(needle, at + 1)


# Where a match of each kind can start, for ASCII text (see _starts). An email starts where
# its run of local-part characters before "@" does (its lookbehind allows no earlier one);
# an assignment's keyword holds one of these, this many characters after its start
# ("api_key" holds "key" at 4, "client-secret" "secret" at 7).
_SCHEME_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+.-")
_EMAIL_LOCAL = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._%+-")
_API_KEY_STARTS = ("sk-", "AKIA", "github_pat_", "xox", "AIza", "eyJ")
_ASSIGNMENT_STARTS = (("pass", (0, 7)), ("pwd", (0,)), ("key", (0, 3, 4, 6, 7, 8)),
                      ("token", (0, 4, 5)), ("secret", (0, 6, 7)), ("wort", (4,)),
                      ("woord", (5,)), ("contrase", (0,)), ("mdp", (0,)))  # fmt: skip


def _starts(text: str, active: tuple[str, ...], windows: list[re.Match[str]]) -> set[int]:
    """Every position where a match of an active kind can start, and a few more."""
    starts: set[int] = set()
    if "url_credentials" in active:
        for at in _find_all(text, "://"):
            start = at
            while start > 0 and text[start - 1] in _SCHEME_CHARS:
                start -= 1
            starts.update(range(start, at))
    if "email" in active:
        for at in _find_all(text, "@"):
            start = at
            while start > 0 and text[start - 1] in _EMAIL_LOCAL:
                start -= 1
            starts.add(start)
    if "private_key" in active:
        starts.update(_find_all(text, "-----BEGIN"))
    if "api_key" in active:
        for needle in _API_KEY_STARTS:
            starts.update(_find_all(text, needle))
        starts.update(m.start() for m in _compiled("gh").finditer(text))
        starts.update(_find_all(text.lower(), "bearer"))
    if "assignment" in active:
        lowered = text.lower()
        for needle, offsets in _ASSIGNMENT_STARTS:
            for at in _find_all(lowered, needle):
                starts.update(at - k for k in offsets if at >= k)
    if "codice_fiscale" in active:
        for word in {w for w in words(text) if len(w) >= 16}:
            runs = [m.start() for m in re.finditer(_CF_RUN, word)]
            for at in _find_all(text, word) if runs else ():
                starts.update(at + r for r in runs)
    if "ipv6" in active:
        for at in _find_all(text, ":"):
            start = at
            while start > 0 and text[start - 1] in _HEX_OR_COLON:
                start -= 1
            starts.add(start)
    if not _DIGIT_KINDS.isdisjoint(active):
        # A digit kind's match starts at most two characters before a window (see
        # _DIGIT_RUNS), at "+", "(", or a digit or capital (an IBAN) after a non-digit.
        digit_start = _compiled("digit_start")
        for window in windows:
            lo = max(0, window.start() - 2)
            starts.update(m.start() for m in digit_start.finditer(text, lo, window.end()))
    return starts


def _in_runs(
    pattern: re.Pattern[str], text: str, windows: list[re.Match[str]]
) -> Iterator[re.Match[str]]:
    """`pattern.finditer(text)` when every match lies in a window (see _DIGIT_RUNS): the
    same matches, searching only the windows. Windows are apart (a character no match
    holds ends each), so no match spans two; a window's search starts up to two characters
    before its first digit and ends one after it, which lookarounds look at."""
    for window in windows:
        start = floor = window.start()
        while start > floor - 2 and start > 0 and text[start - 1] in _RUN_CHARS:
            start -= 1
        yield from pattern.finditer(text, start, window.end() + 1)


def _custom(text: str, terms: Iterable[str], patterns: Iterable[re.Pattern[str]]) -> list[Finding]:
    found: list[Finding] = []
    lowered = None
    for term in terms:
        lowered = lowered if lowered is not None else text.casefold()
        needle = term.casefold()
        start = lowered.find(needle)
        while needle and start >= 0:
            found.append(Finding("term", start, start + len(needle)))
            start = lowered.find(needle, start + len(needle))
    for pattern in patterns:
        found += [
            Finding("pattern", *m.span()) for m in pattern.finditer(text) if m.end() > m.start()
        ]
    return found
