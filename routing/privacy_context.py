"""Private data that only a nearby keyword tells from an ordinary number: national
identifiers, dates of birth, passport, student and employee numbers; and IBANs written in
lower case, which the case-sensitive single pass of privacy.py leaves to this one.

A keyword ("Steuer-ID", "BSN", "né le", "Matrikelnummer", in the languages of the cases)
must come first, the value within a few words after it, and where the kind has a checksum
the value must pass it: a bare 11-digit number is not a Steuer-ID, and "born on 7 November
1867" is history, not a date of birth (years 1900-2099 only). privacy.py runs this only when
one of the text's words could start a keyword (`keyword_word`), so most prompts never do.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from convergio_llm.routing.validators import (
    be_national_number_valid,
    ch_ahv_valid,
    de_tax_id_valid,
    es_dni_valid,
    fr_nir_valid,
    iban_valid,
    nl_bsn_valid,
    pl_pesel_valid,
    uk_nino_valid,
)

_DATE = (
    r"\d{1,2}[./\-]\d{1,2}[./\-](?:19|20)\d\d|(?:19|20)\d\d-\d{1,2}-\d{1,2}"
    r"|\d{1,2}\.?(?:er)?\s+(?:de\s+)?(?P<month>[^\W\d_]{3,10})\.?,?\s+(?:de\s+)?(?:19|20)\d\d"
    r"|(?P<month_first>[^\W\d_]{3,10})\.?\s+\d{1,2}(?:st|nd|rd|th)?,?\s+(?:19|20)\d\d"
)
# First three letters of the month names in EN, DE, FR, IT, ES, NL.
_MONTHS = frozenset((
    "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec", "mär",
    "mai", "okt", "dez", "fév", "avr", "jui", "aoû", "déc", "gen", "mag", "giu", "lug", "ago",
    "set", "ott", "dic", "ene", "abr", "maa", "mei",
))  # fmt: skip


def _date_of_birth(match: re.Match[str]) -> bool:
    month = match.group("month") or match.group("month_first")
    return month is None or month[:3].lower() in _MONTHS


def _has_digit(match: re.Match[str]) -> bool:
    return any(c.isdigit() for c in match.group())


# kind: (keywords, value, check). Keywords are matched case-insensitively from a word start.
_KINDS: dict[str, tuple[str, str, Callable[[re.Match[str]], bool]]] = {
    "de-tax-id": (
        r"steuer[\s\-]?id(?:nr)?|steuer-?identifikationsnummer|steuerliche identifikationsnummer"
        r"|identifikationsnummer|idnr|tax id|tin",
        r"\d{2} ?\d{3} ?\d{3} ?\d{3}",
        lambda m: de_tax_id_valid(m.group()),
    ),
    "fr-nir": (
        r"nir|num[ée]ro de s[ée]curit[ée] sociale|s[ée]curit[ée] sociale|s[ée]cu|insee"
        r"|carte vitale|num[ée]ro ss|n° ss",
        r"[12] ?\d\d ?\d\d ?(?:\d\d|2[ABab]) ?\d{3} ?\d{3} ?\d\d",
        lambda m: fr_nir_valid(m.group()),
    ),
    "es-dni": (
        r"dni|nie|nif|documento nacional de identidad|n[uú]mero de identidad",
        r"(?:[XYZxyz][ \-]?)?\d{7,8}[ \-]?[A-Za-z]",
        lambda m: es_dni_valid(m.group()),
    ),
    "nl-bsn": (
        r"bsn|burgerservicenummer|sofinummer|sofi-nummer",
        r"\d{4}\.?\d\d\.?\d{3}|\d{3} \d{3} \d{3}",
        lambda m: nl_bsn_valid(m.group()),
    ),
    "uk-nino": (
        r"national insurance|ni number|ni no|nino",
        r"[A-Za-z]{2} ?\d\d ?\d\d ?\d\d ?[A-Da-d]",
        lambda m: uk_nino_valid(m.group()),
    ),
    "be-national-number": (
        r"rijksregister(?:nummer)?|registre national|num[ée]ro national|national number|insz",
        r"\d\d[.\- ]?\d\d[.\- ]?\d\d[.\- ]?\d{3}[.\- ]?\d\d",
        lambda m: be_national_number_valid(m.group()),
    ),
    "pl-pesel": (r"pesel", r"\d{11}", lambda m: pl_pesel_valid(m.group())),
    "ch-ahv": (
        r"ahv|avs|sozialversicherungsnummer|social security number",
        r"756[. ]?\d{4}[. ]?\d{4}[. ]?\d\d",
        lambda m: ch_ahv_valid(m.group()),
    ),
    "date-of-birth": (
        r"date of birth|birth ?date|birthday|d\.o\.b|dob|born(?: on)?|geburtsdatum|geboren(?: am)?"
        r"|geb\.|née? le|date de naissance|nat[oa] il|data di nascita|nacid[oa] el"
        r"|fecha de nacimiento|geboren op|geboortedatum",
        _DATE,
        _date_of_birth,
    ),
    "passport": (
        r"passport|passeport|reisepass|passnummer|passaporto|pasaporte|paspoort",
        r"[A-Za-z0-9]{6,9}",
        _has_digit,
    ),
    "person-id": (
        r"student(?:en)?[\s\-]?(?:id|number|no|nummer)|matrikel(?:nummer|nr)?|matricola"
        r"|num[ée]ro (?:d')?[ée]tudiant|studentnummer|leerlingnummer|employee (?:id|number|no)"
        r"|staff (?:id|number)|personalnummer|personnel number|mitarbeiternummer"
        r"|n[uú]mero de (?:empleado|estudiante)|personeelsnummer",
        r"[A-Za-z]{0,3}-?\d{5,10}",
        _has_digit,
    ),
}
# How far after its keyword a value may start: a few short words ("ist", "de mi marido").
_WINDOW = 32

# Which words let a text hold a keyword above, so that a text with none of them skips this
# module: for each keyword, its least common word ("birth" of "date of birth"), looked up
# whole or, for compounds, by its start ("Matrikelnummer"). A word is lowered, split at
# punctuation, stripped of dots and of an elision (l', d'). A test checks every keyword.
_WHOLE_WORDS = frozenset((
    "tin", "tax", "idnr", "nir", "insee", "vitale", "sécu", "secu", "ss", "dni", "nie", "nif",
    "identidad", "bsn", "sofi", "ni", "nino", "insurance", "registre", "national", "insz",
    "pesel", "ahv", "avs", "security", "birth", "birthday", "birthdate", "dob", "d.o.b", "born",
    "geb", "né", "née", "naissance", "nato", "nata", "nascita", "nacido", "nacida", "nacimiento",
    "passport", "passeport", "passnummer", "passaporto", "pasaporte", "matricola", "employee",
    "staff", "personnel", "empleado", "estudiante",
))  # fmt: skip
_PREFIXES = (
    "steuer", "identifikation", "sofinummer", "burgerservice", "rijksregister",
    "sozialversicherung", "sécurit", "securit", "geburt", "geboren", "geboorte", "reisepass",
    "paspoort", "matrikel", "student", "leerling", "personalnummer", "mitarbeiternummer",
    "personeelsnummer", "étudiant", "etudiant",
)  # fmt: skip
_PUNCTUATION = ".'"


def keyword_word(lowered: str) -> bool:
    """Whether this lowered word could hold the start of one of the keywords."""
    parts = (lowered,) if lowered.isalnum() else re.split(r"[^\w.']+", lowered)  # re's cache
    for part in parts:
        word = part.strip(_PUNCTUATION)
        if "'" in word:
            word = word.rsplit("'", 1)[1]
        if word in _WHOLE_WORDS or word.startswith(_PREFIXES):
            return True
    return False


_compiled: list[tuple[re.Pattern[str], dict[str, re.Pattern[str]]]] = []
_IBAN_ANY_CASE = r"(?i)\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,4})?\b"


def _patterns() -> tuple[re.Pattern[str], dict[str, re.Pattern[str]]]:
    # Compiled on first use: most prompts never get here.
    if not _compiled:
        keywords = "|".join(f"(?P<k{i}>{kw})" for i, (kw, _, _) in enumerate(_KINDS.values()))
        values = {
            kind: re.compile(rf"(?<![\w.\-/])(?:{value})(?![\w\-/]|[.,]\w)")
            for kind, (_, value, _) in _KINDS.items()
        }
        _compiled.append((re.compile(rf"(?i)(?<!\w)(?:{keywords})(?!\w)"), values))
    return _compiled[0]


Spans = list[tuple[int, int]] | None


def _windows(text: str, spans: Spans, before: int, after: int) -> list[tuple[int, int]]:
    """The parts of `text` within `before`/`after` characters of a span, widened to whole
    words (a search that ends inside a word would see it end there), merged in order."""
    if spans is None:
        return [(0, len(text))]
    merged: list[tuple[int, int]] = []
    for start, end in sorted(spans):
        lo, hi = max(0, start - before), min(len(text), end + after)
        while lo > 0 and not text[lo - 1].isspace():
            lo -= 1
        while hi < len(text) and not text[hi].isspace():
            hi += 1
        if merged and lo <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(hi, merged[-1][1]))
        else:
            merged.append((lo, hi))
    return merged


def find(text: str, keyword_words: Spans, iban_words: Spans) -> list[tuple[str, int, int]]:
    """(kind, start, end) of each value found after a keyword, and of IBANs in any case.
    Each search looks only near the given spans of words that can hold a keyword or begin
    an IBAN (None: everywhere): a keyword reaches at most ~35 characters from the word that
    let it in, an IBAN at most 42 from its start."""
    found: list[tuple[str, int, int]] = []
    for lo, hi in _windows(text, iban_words, 0, 45) if iban_words != [] else ():
        for m in re.compile(_IBAN_ANY_CASE).finditer(text, lo, hi):  # re's cache
            if iban_valid(m.group()):
                found.append(("iban", *m.span()))
    if keyword_words == []:
        return found
    keyword_pattern, values = _patterns()
    kinds = list(_KINDS)
    keywords = (
        keyword
        for lo, hi in _windows(text, keyword_words, 40, 40)
        for keyword in keyword_pattern.finditer(text, lo, hi)
    )
    for keyword in keywords:
        kind = kinds[int(keyword.lastgroup[1:])] if keyword.lastgroup else ""
        check = _KINDS[kind][2]
        end = keyword.end()
        for value in values[kind].finditer(text, end, min(len(text), end + _WINDOW + 24)):
            if value.start() > end + _WINDOW or "\n" in text[end : value.start()]:
                break  # too far, or on another line: "birthday\nB. January 1, 1970"
            if value.end() < len(text) and text[value.end()].isalnum():
                continue  # cut by the search's end: part of a longer number
            if check(value):
                found.append((kind, *value.span()))
                break
    return found
