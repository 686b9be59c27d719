"""What each kind of private data looks like, and how a match of one is confirmed.

The patterns (one alternation over the kinds a text could hold), the cheap gates that
say a pattern cannot match, and the checks that turn a match into a finding: a checksum
(routing/validators.py), a phone-like layout, a secret that is not a placeholder. Split
# Real annotations (no `from __future__ import annotations`): typing.NamedTuple would compile
# each string annotation of the records below at every start (tests/test_startup_imports.py).
from privacy.py, which decides which patterns to run where (its docstring says how).
"""

import re
from collections.abc import Iterable
from typing import Any, NamedTuple

from convergio_llm.routing.validators import (
    card_prefix,
    codice_fiscale_valid,
    iban_valid,
    ipv4_valid,
    ipv6_valid,
    luhn_valid,
    phone_like,
)

KINDS = (
    "email",
    "phone",
    "payment-card",
    "iban",
    "us-ssn",
    "it-codice-fiscale",
    "ip-address",
    "secret",
    "de-tax-id",
    "fr-nir",
    "es-dni",
    "nl-bsn",
    "uk-nino",
    "be-national-number",
    "pl-pesel",
    "ch-ahv",
    "date-of-birth",
    "passport",
    "person-id",
    "term",
    "pattern",
)

_SEP = r"[ .\-]"
# An assignment's keyword: a word of its own or one part of a name joined by "_" or "-"
# (DB_PASSWORD, AWS_SECRET_ACCESS_KEY, client-secret), in the languages of the cases.
_SECRET_WORDS = (
    r"password|passwd|pwd|passcode|passphrase|secret|api[_\-]?key|access[_\-]?key|auth[_\-]?token"
    r"|secret[_\-]?key|token|client[_\-]?secret|private[_\-]?key|passwort|kennwort|wachtwoord|contrase(?:ñ|n)a"
    r"|mot de passe|mot-de-passe|mdp"
)
_PATTERNS = {
    # scheme://user:password@host: before "email", which would take "password@host".
    "url_credentials": r"\b[A-Za-z][A-Za-z0-9+.\-]*://[^\s:/@]+:(?P<url_secret>[^\s:/@]+)@",
    "email": r"(?<![A-Za-z0-9._%+\-])[A-Za-z0-9._%+\-]+@"
    r"[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)*\.[A-Za-z]{2,}",
    "private_key": r"-----BEGIN (?:[A-Z]+ )*PRIVATE KEY-----",
    "api_key": r"\b(?:sk-(?:ant-|proj-)?[A-Za-z0-9_\-]{20,}|[sr]k_(?:live|test)_[A-Za-z0-9]{16,}"
    r"|AKIA[0-9A-Z]{16}|gh[pousr]_[A-Za-z0-9]{30,}|github_pat_[A-Za-z0-9_]{30,}"
    r"|xox[abprs]-[A-Za-z0-9\-]{10,}"
    r"|AIza[0-9A-Za-z_\-]{35}|(?i:bearer) [A-Za-z0-9._~+/\-]{20,}"
    r"|eyJ[A-Za-z0-9_\-]{8,}\.eyJ[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]{8,})",
    # The keyword, then a few words at most ("Passwort für den Server lautet: ...").
    # A name ending in the keyword: API_KEY, DB_PASSWORD, not token_type or password_hash.
    "assignment": rf"(?i:(?<![A-Za-z0-9])(?:{_SECRET_WORDS})(?![A-Za-z0-9_\-])"
    r"(?P<gap>(?:\s+[^\s:=\"'{}]{1,24}){0,4}?)[\"']?\s*[:=]\s*)"
    r"(?P<value>[\"']?[^\s\"',;]{4,})",
    "iban": r"\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,4})?\b",
    "codice_fiscale": r"(?i:\b[A-Z]{6}[0-9LMNPQRSTUV]{2}[A-EHLMPR-T][0-9LMNPQRSTUV]{2}"
    r"[A-Z][0-9LMNPQRSTUV]{3}[A-Z]\b)",
    "ssn": r"\b(?!000|666|9\d\d)\d{3}-(?!00)\d{2}-(?!0000)\d{4}\b",
    # Before card and phone, whose dotted shapes would take 84.17.52.10 and then drop it.
    "ipv4": r"(?<![\w.])(?:\d{1,3}\.){3}\d{1,3}(?![\w.])",
    "card": rf"(?<![\d.\-])(?:\d{{4}}{_SEP}?){{2,3}}\d{{1,7}}(?![\d.\-])",
    "phone": r"(?<![\w+])(?:\+\d{1,3}[ .\-]?(?:\(\d{1,4}\)[ .\-]?)?\d{1,4}(?:[ .\-]?\d{2,4}){1,4}"
    r"|\(\d{3}\)[ .\-]?\d{3}[ .\-]\d{4}|\d{3}[.\- ]\d{3}[.\- ]\d{4}"
    r"|3\d{2}[ .]?\d{6,7}|\d{2,4}(?:[ .\-]\d{2,4}){2,4}"
    # A trunk prefix and one long group: 030 12345678, 089/1234567, 06-12345678.
    r"|\(?0\d{1,4}\)?[ /\-]\d{5,8})(?![\w.\-])",
    "ipv6": r"(?<![\w:])(?:[0-9A-Fa-f]{0,4}:){2,7}[0-9A-Fa-f]{0,4}(?![\w:])",
}
# The combined scan over only the kinds a text could hold, by which kinds (see _active).
_SCANS: dict[tuple[str, ...], re.Pattern[str]] = {}

# Compiled on first use: only a candidate secret's value is checked against it.
_PLACEHOLDER_SOURCE = (
    r"^[\"']?(?:[<${\[(*%]|x{3,}|\.{3}|changeme|none|null|input\b|your[_\-]|os\.|process\.env"
    r"|getenv|env\b|example\b|required\b|optional\b|true\b|false\b)"
)


class Finding(NamedTuple):  # a NamedTuple: cheaper to define than a dataclass (start-up)
    kind: str
    start: int
    end: int

    def to_json(self) -> dict[str, Any]:
        return {"kind": self.kind, "start": self.start, "end": self.end}


def _scanner(kinds: tuple[str, ...] = tuple(_PATTERNS)) -> re.Pattern[str]:
    # Compiled on first use, not at import: `llm route --help` should not pay for it.
    pattern = _SCANS.get(kinds)
    if pattern is None:
        pattern = re.compile("|".join(f"(?P<{k}>{_PATTERNS[k]})" for k in kinds))
        if len(_SCANS) < 256:
            _SCANS[kinds] = pattern
    return pattern


# Cheap necessary conditions, one per pattern: a pattern whose gate fails cannot match
# anywhere in the text, so the one alternation over the others finds exactly the same
# matches (leftmost, first alternative, no overlap). Each gate regex starts with a
# literal or a character class, which the regex engine skips to in C.
_GATE_SOURCES = {
    "iban": r"[A-Z][A-Z]\d\d",
    "iban_any_case": r"(?<![A-Za-z0-9_])[A-Za-z][A-Za-z]\d\d",
    "ssn": r"\d\d\d-\d\d-\d\d\d\d",
    # Two groups of four and one more digit: a year or an amount is not a card.
    "card": r"\d{4}[ .\-]?\d{4}[ .\-]?\d",
    # Three digit groups (the last two alternatives), or the Italian mobile shape.
    # and a trunk prefix before one long group (030 12345678).
    "phone": r"\d(?:\d[ .\-]\d{2,4}[ .\-]\d\d|(?<=3)\d\d[ .]?\d{6})|[\d)][ /\-]\d{5}",
    "phone+": r"\+\d",
    "phone(": r"\(\d\d\d\)",
    "ipv4": r"\d\.\d\d?\d?\.\d\d?\d?\.\d",
    "ipv6": r":[0-9A-Fa-f]{0,4}:",
    # Not gates: where an api key's "gh" form and a digit kind can start (see _starts).
    "gh": r"gh[pousr]_",
    "digit_start": r"[+(]|(?<!\d)[\dA-Z]",
}
_GATES: dict[str, re.Pattern[str]] = {}


def _compiled(name: str) -> re.Pattern[str]:
    pattern = _GATES.get(name)
    if pattern is None:
        pattern = _GATES[name] = re.compile(_GATE_SOURCES[name])
    return pattern


def _gate(name: str, text: str) -> bool:
    return _compiled(name).search(text) is not None


# The part of a match that is the private value, where the match holds more (its keyword).
_VALUE_GROUPS = {"assignment": "value", "url_credentials": "url_secret"}


def _confirmed(matches: Iterable[re.Match[str]], text: str) -> list[Finding]:
    found: list[Finding] = []
    for match in matches:
        group = match.lastgroup
        assert group is not None
        kind = _confirm(group, match, text)
        if kind is not None:
            start, end = match.span(_VALUE_GROUPS.get(group, 0))
            found.append(Finding(kind, start, end))
    return found


def compile_patterns(sources: Iterable[str]) -> list[re.Pattern[str]]:
    from convergio_llm.providers.errors import ConfigError

    compiled = []
    for source in sources:
        try:
            compiled.append(re.compile(source))
        except re.error as exc:
            raise ConfigError(f"privacy.patterns: invalid regex {source!r} ({exc})") from None
    return compiled


def secret_value(value: str, after_words: bool) -> bool:
    """Whether an assignment's value looks like a secret, not a placeholder or a call. After
    words ("the password for the server is: ...") it must also look like a password: a
    digit or a symbol, and no URL (a link in "reset your password here: https://...")."""
    if re.match(_PLACEHOLDER_SOURCE, value, re.I) or "(" in value:  # re caches it
        return False
    if after_words:
        bare = value.strip("\"'.:!?")
        return "://" not in bare and not bare.isalpha()
    return True


def _confirm(group: str, match: re.Match[str], text: str) -> str | None:
    value = match.group()
    if group == "email":
        return "email"
    if group in ("private_key", "api_key"):
        return "secret"
    if group == "url_credentials":
        return "secret"
    if group == "assignment":
        return "secret" if secret_value(match.group("value"), bool(match.group("gap"))) else None
    if group == "iban":
        return "iban" if iban_valid(value) else None
    if group == "codice_fiscale":
        return "it-codice-fiscale" if codice_fiscale_valid(value) else None
    if group == "ssn":
        return "us-ssn"
    if group == "card":
        if luhn_valid(value) and card_prefix(value):
            return "payment-card"
        return "phone" if phone_like(value, match.start(), text) else None
    if group == "phone":
        return "phone" if phone_like(value, match.start(), text) else None
    if group == "ipv4":
        return "ip-address" if ipv4_valid(value, match.start(), text) else None
    if group == "ipv6":
        return "ip-address" if ipv6_valid(value) else None
    return None
