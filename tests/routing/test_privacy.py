"""Privacy detection: a labelled set of positives and look-alike negatives, and the checksums."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from convergio_llm.routing import privacy, privacy_patterns
from convergio_llm.routing.privacy import scan
from convergio_llm.routing.privacy_patterns import compile_patterns
from convergio_llm.routing.validators import codice_fiscale_valid, iban_valid, luhn_valid

CASES = [
    json.loads(line)
    for line in (Path(__file__).parents[1] / "data" / "privacy_cases.jsonl")
    .read_text()
    .splitlines()
    if line.strip()
]


def precision_recall() -> tuple[float, float, list[str]]:
    tp = fp = fn = 0
    misses: list[str] = []
    for case in CASES:
        got = {f.kind for f in scan(case["text"], terms=case.get("terms", ()))}
        expected = set(case["kinds"])
        tp += len(got & expected)
        fp += len(got - expected)
        fn += len(expected - got)
        if got != expected:
            misses.append(f"{sorted(expected)} vs {sorted(got)}: {case['text'][:50]}")
    return tp / max(1, tp + fp), tp / max(1, tp + fn), misses


def test_labelled_set_precision_and_recall() -> None:
    precision, recall, misses = precision_recall()
    positives = sum(1 for c in CASES if c["kinds"])
    print(
        f"\nprivacy: {len(CASES)} cases ({positives} positive): "
        f"precision {precision:.3f}, recall {recall:.3f}"
    )
    assert precision >= 0.95, misses
    assert recall >= 0.9, misses


def test_set_has_enough_hard_negatives() -> None:
    negatives = [c for c in CASES if not c["kinds"]]
    assert len(negatives) >= 25


def test_findings_carry_positions_not_values() -> None:
    text = "write to ada@example.com now"
    [finding] = scan(text)
    assert finding.to_json() == {"kind": "email", "start": 9, "end": 24}
    assert text[finding.start : finding.end] == "ada@example.com"


@pytest.mark.parametrize(
    ("number", "valid"),
    [("4111 1111 1111 1111", True), ("4111 1111 1111 1112", False), ("0000000000000000", False)],
)
def test_luhn(number: str, valid: bool) -> None:
    assert luhn_valid(number) is valid


def test_iban_checksum_rejects_one_changed_digit() -> None:
    assert iban_valid("DE89370400440532013000")
    assert not iban_valid("DE89370400440532013001")
    assert not iban_valid("IT60X0542811101000000123456"[:-1])  # wrong length for Italy


def test_codice_fiscale_check_letter() -> None:
    assert codice_fiscale_valid("RSSMRA85T10A562S")
    assert not codice_fiscale_valid("RSSMRA85T10A562T")


def test_configured_terms_patterns_and_ignore() -> None:
    text = "Ticket CASE-00123 about Project Falcon, mail bob@example.com"
    found = scan(text, terms=["project falcon"], patterns=compile_patterns([r"CASE-\d+"]))
    assert [f.kind for f in found] == ["pattern", "term", "email"]
    assert [f.kind for f in scan(text, ignore=["email"])] == []


def test_bad_configured_pattern_is_a_config_error() -> None:
    from convergio_llm.providers.errors import ConfigError

    with pytest.raises(ConfigError, match=r"privacy\.patterns"):
        compile_patterns(["(unclosed"])


# Pieces of every kind's shape, joined at random, so the shortcuts (gates that skip a kind,
# searching only digit runs) meet matches at run edges, after capitals, "+" and "(".
_PIECES = [
    "4111 1111 1111 1111", "4111-1111-1111-1111", "4111111111111111", "DE89370400440532013000",
    "DE89 3704 0044 0532 0130 00", "GB82WEST12345698765432", "RSSMRA85T10A562S",
    "123-45-6789", "+39 333 123 4567", "+1 (555) 123-4567", "(555) 123-4567", "555.123.4567",
    "333 1234567", "192.168.1.20", "10.0.0.1", "1.2.3", "2024-03-15", "v1.2.3.4", "::1",
    "fe80::1", "mail", "a@b.co", "sk-ant-abcdefghijklmnopqrstuvwxyz", "password = hunter22",
    "call", "phone:", "version", "12", "3", "99", "1234", "12 34 56", "DE", "AB", "+", "(",
    ")", "-", ".", " ", "\n", "x", "ID", "IT60X0542811101000000123456", "tel", "0",
    "1234 5678 9", "555.123.4567x", "x.y+z@mail.example.com", "@", "api_key: abcd1234",
    "client-secret = xyz123", "AUTH_TOKEN=", "apikey", "token", ":", "=", "Bearer",
    "abcdefghijklmnopqrstuvwxyz", "-----BEGIN RSA PRIVATE KEY-----", "AKIAABCDEFGHIJKLMNOP",
    "ghp_abcdefghijklmnopqrstuvwxyz0123456789", "eyJabcdefghij.eyJabcdefghij.abcdefghijk",
    "2001:db8::1", "rssmra85t10a562s", "ABCDEFGHIJKLMNOPQ", "xoxb-1234567890", "_", "'",
]  # fmt: skip
# Where a shortcut's edge is: one digit after two groups of four, a letter right after.
EDGES = ["call 1234 5678 9", "call 555.123.4567x", "call 555.123.4567", "ring +39 333 1234567x"]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(_PIECES), max_size=12), st.sampled_from([" ", "", "-", "."]))
def test_shortcuts_find_what_the_one_alternation_finds(pieces: list[str], joiner: str) -> None:
    text = joiner.join(pieces)
    assert privacy._builtin(text, fast=True) == privacy._builtin(text, fast=False)


def test_shortcuts_agree_on_the_labelled_set() -> None:
    for text in [c["text"] for c in CASES] + EDGES:
        for variant in (
            text,
            f"+{text}",
            f"({text})",
            f"DE{text}",
            text.replace(" ", ""),
            f"{text}x",
        ):
            assert privacy._builtin(variant, fast=True) == privacy._builtin(variant, fast=False)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(_PIECES), max_size=12), st.sampled_from([" ", "", "-", "."]))
def test_candidate_starts_hold_every_match_start(pieces: list[str], joiner: str) -> None:
    # With every kind active, not only those the gates leave: the starts alone must do.
    text = joiner.join(pieces)
    kinds = tuple(privacy_patterns._PATTERNS)
    windows = list(privacy._DIGIT_RUNS.finditer(text))
    starts = privacy._starts(text, kinds, windows)
    found = privacy._at_starts(privacy_patterns._scanner(kinds), text, starts)
    everywhere = privacy_patterns._scanner(kinds).finditer(text)
    assert [(m.lastgroup, m.span()) for m in found] == [(m.lastgroup, m.span()) for m in everywhere]


def _text_wide_flags(text: str) -> int:
    """The pre-checks `_text_flags` answers word by word, made over the whole text."""
    lowered = text.lower()
    flags = 0
    if any(h in text for h in privacy._SECRET_HINTS) or "bearer" in lowered:
        flags |= privacy._SECRET_HINT
    if any(h in lowered for h in privacy._ASSIGNMENT_HINTS):
        flags |= privacy._ASSIGNMENT_HINT
    if "=" in text or ":" in text:
        flags |= privacy._EQUALS_OR_COLON
    if privacy._gate("iban", text):
        flags |= privacy._IBAN_GATE
    if re.search(privacy._CF_RUN, text):
        flags |= privacy._CF_WORD
    if privacy._gate("iban_any_case", text):
        flags |= privacy._IBAN_ANY_CASE
    # Keywords span words ("date of birth"): the property test in test_privacy_context.py
    # checks that a keyword anywhere sets this flag; here, only that it is per word.
    if any(privacy.privacy_context.keyword_word(w.lower()) for w in text.split()):
        flags |= privacy._KEYWORD
    return flags


_FLAG_PIECES = [
    *_PIECES, "Bearer", "BEARER", "pass", "PWD", "secret", "api_key", "=", ":", "sk-", "_",
    "AIza", "eyJ", "xox", "AKIA", "DE89", "IT", "60", "RSSMRA85T10A562S", "rssmra85t10a562s",
    "RSSMRA85T10A562SX", "\t", "\n", "\x1c", "\u3000", "é",
]  # fmt: skip


@settings(max_examples=500, deadline=None)
@given(st.lists(st.sampled_from(_FLAG_PIECES), max_size=12), st.sampled_from([" ", "", "\n"]))
def test_word_by_word_pre_checks_match_the_text_wide_ones(pieces: list[str], joiner: str) -> None:
    text = joiner.join(pieces)
    assert privacy._text_flags(text) == _text_wide_flags(text)


def test_word_by_word_pre_checks_on_the_labelled_set() -> None:
    for text in [c["text"] for c in CASES] + EDGES:
        assert privacy._text_flags(text) == _text_wide_flags(text), text


def test_a_plain_prompt_compiles_no_gate() -> None:
    # `echo p | llm route` pays for every regex it compiles: gates compile only when needed.
    privacy_patterns._GATES.clear()
    privacy._WORD_FLAGS.clear()
    assert privacy.scan("what is the capital of France?") == []
    assert privacy_patterns._GATES == {}
