"""Keyword-led kinds (national IDs, dates of birth, passport and person numbers), IBANs in
any case, and the national checksums that confirm them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from convergio_llm.routing import privacy, privacy_context
from convergio_llm.routing.privacy import scan
from convergio_llm.routing.validators import (
    be_national_number_valid,
    ch_ahv_valid,
    de_tax_id_valid,
    es_dni_valid,
    fr_nir_valid,
    nl_bsn_valid,
    pl_pesel_valid,
    uk_nino_valid,
)

HELD_OUT = [
    json.loads(line)
    for line in (Path(__file__).parents[1] / "data" / "privacy_heldout_fresh.jsonl")
    .read_text(encoding="utf-8")
    .splitlines()
    if line.strip()
]


@pytest.mark.parametrize(
    ("check", "valid", "changed"),
    [
        (de_tax_id_valid, "47036892816", "47036892817"),
        (de_tax_id_valid, "86 095 742 719", "86 095 742 718"),
        (fr_nir_valid, "2 85 03 75 120 089 60", "2 85 03 75 120 089 61"),
        (es_dni_valid, "48273916K", "48273916J"),
        (es_dni_valid, "X4927315W", "X4927315X"),
        (nl_bsn_valid, "234567818", "234567819"),
        (be_national_number_valid, "85.07.30-033.28", "85.07.30-033.29"),
        (be_national_number_valid, "03021521820", "03021521821"),  # born in 2003
        (pl_pesel_valid, "02260714569", "02260714568"),
        (ch_ahv_valid, "756.9283.7465.15", "756.9283.7465.16"),
    ],
)
def test_national_checksums_reject_one_changed_digit(check, valid: str, changed: str) -> None:  # type: ignore[no-untyped-def]
    assert check(valid)
    assert not check(changed)


def test_steuer_id_needs_one_repeated_digit() -> None:
    # The check digit is right for 6508172439x, but ten distinct digits are never issued.
    assert not de_tax_id_valid("65081724395")


def test_uk_nino_refuses_prefixes_never_issued() -> None:
    assert uk_nino_valid("JG 10 37 59 A")
    assert not uk_nino_valid("QQ 12 34 56 C")  # the documented dummy prefix
    assert not uk_nino_valid("GB 12 34 56 A")


@pytest.mark.parametrize(
    ("text", "kind", "value"),
    [
        ("Meine Steuer-ID ist 47036892816.", "de-tax-id", "47036892816"),
        ("Mijn BSN is 234567818", "nl-bsn", "234567818"),
        ("DOB: 14/03/1987", "date-of-birth", "14/03/1987"),
        ("née le 5 mai 2011 à Lyon", "date-of-birth", "5 mai 2011"),
        ("Employee ID E-48213 on leave", "person-id", "E-48213"),
        ("iban: it60x0542811101000000123456", "iban", "it60x0542811101000000123456"),
    ],
)
def test_a_finding_spans_the_value_not_the_keyword(text: str, kind: str, value: str) -> None:
    [finding] = scan(text)
    assert finding.kind == kind
    assert text[finding.start : finding.end] == value


@pytest.mark.parametrize(
    "text",
    [
        "Meine Steuer-ID ist 47036892817",  # check digit wrong
        "47036892816 is a number",  # no keyword
        "Einstein was born on 14 March 1879",  # history, not a date of birth
        "his birthday party\nB. Midnight, January 1, 1970",  # date on another line
        "DNI requirements are explained on the official page of the ministry, 48273916K",
        "passport photo 35x45 mm",
    ],
)
def test_without_keyword_checksum_or_nearness_nothing_is_found(text: str) -> None:
    assert scan(text) == []


# Every keyword phrase of every kind, in the cases of real text.
KEYWORDS = [
    "Steuer-ID", "steuer id", "Steuerliche Identifikationsnummer", "IdNr", "tax id", "TIN",
    "NIR", "numéro de sécurité sociale", "Sécu", "INSEE", "carte Vitale", "n° SS", "DNI", "NIE",
    "NIF", "documento nacional de identidad", "número de identidad", "BSN",
    "burgerservicenummer", "sofi-nummer", "National Insurance", "NI number", "NINO",
    "Rijksregisternummer", "registre national", "numéro national", "INSZ", "PESEL", "AHV",
    "AVS", "AHV-Nummer", "Sozialversicherungsnummer", "date of birth", "birthdate", "D.O.B",
    "DOB", "born on", "Geburtsdatum", "geboren am", "geb.", "née le", "né le",
    "date de naissance", "nato il", "nata il", "data di nascita", "nacido el",
    "fecha de nacimiento", "geboren op", "geboortedatum", "Passport", "passeport",
    "Reisepass", "Passnummer", "passaporto", "pasaporte", "paspoort", "student ID",
    "Studentennummer", "Matrikelnummer", "matricola", "numéro d'étudiant", "studentnummer",
    "leerlingnummer", "employee number", "staff ID", "Personalnummer", "personnel number",
    "Mitarbeiternummer", "número de empleado", "personeelsnummer",
]  # fmt: skip


@pytest.mark.parametrize("keyword", KEYWORDS)
def test_every_keyword_sets_the_word_flag_that_lets_the_stage_run(keyword: str) -> None:
    pattern, _ = privacy_context._patterns()
    for text in (keyword, f"({keyword}:", f"x/{keyword}", f"l'{keyword}"):
        if pattern.search(text):
            assert privacy._text_flags(text) & privacy._KEYWORD, text


_PIECES = [
    *KEYWORDS, "47036892816", "234567818", "48273916K", "X4927315W", "JG 10 37 59 A",
    "85.07.30-033.28", "02260714569", "756.9283.7465.15", "2 85 03 75 120 089 60",
    "14/03/1987", "5 mai 2011", "1992-07-21", "4 de mayo de 1988", "C01X00T47", "E-48213",
    "it60x0542811101000000123456", "de89 3704 0044 0532 0130 00", "DE89370400440532013000",
    "GB82west12345698765432", "x" * 50, "y" * 30 + "/dob",
    "ist", "is", ":", " ", "\n", "-", "/", "(", "'", "x", "12", "call", "+49 30 1234567",
]  # fmt: skip


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(_PIECES), max_size=10), st.sampled_from([" ", "", ": ", "\n"]))
def test_gated_scan_finds_what_the_ungated_stage_finds(pieces: list[str], joiner: str) -> None:
    # The word flags only decide whether the stage runs: with it always on, nothing changes.
    text = joiner.join(pieces)
    ungated = privacy._with_context(privacy._builtin(text, fast=False), text, 0, everywhere=True)
    assert scan(text) == sorted(ungated, key=lambda f: (f.start, f.kind))


def test_held_out_recall_and_precision() -> None:
    # A set written once and never tuned on: a floor, so a change that loses recall shows.
    tp = fp = fn = 0
    for case in HELD_OUT:
        got = {f.kind for f in scan(case["text"])}
        expected = set(case["kinds"])
        tp, fp, fn = tp + len(got & expected), fp + len(got - expected), fn + len(expected - got)
    assert tp / (tp + fn) >= 0.9
    assert tp / (tp + fp) >= 0.95
