"""Privacy detection: a labelled set of positives and look-alike negatives, and the checksums."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from convergio_llm.routing.privacy import (
    codice_fiscale_valid,
    compile_patterns,
    iban_valid,
    luhn_valid,
    scan,
)

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
