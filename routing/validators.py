"""Checks that confirm a candidate privacy match: checksums (Luhn, IBAN mod-97, codice
fiscale check character) and the context that tells a phone number or an IP address from
a version, a date or an order number. Split from privacy.py, which finds the candidates.
"""

from __future__ import annotations

import re

_PHONE_WORDS = re.compile(
    r"(?i)\b(?:phone|tel|telephone|call|cell|mobile|whatsapp|fax|sms|telefono|cellulare|"
    r"chiamare|numero|contact|reach me)\b"
)
_VERSION_WORDS = re.compile(r"(?i)(?:version|release|v|build|ver\.?)\s*$")
_IBAN_LENGTHS = {
    "AD": 24, "AT": 20, "BE": 16, "BG": 22, "CH": 21, "CY": 28, "CZ": 24, "DE": 22, "DK": 18,
    "EE": 20, "ES": 24, "FI": 18, "FR": 27, "GB": 22, "GR": 27, "HR": 21, "HU": 28, "IE": 22,
    "IS": 26, "IT": 27, "LI": 21, "LT": 20, "LU": 20, "LV": 21, "MC": 27, "MT": 31, "NL": 18,
    "NO": 15, "PL": 28, "PT": 25, "RO": 24, "SE": 24, "SI": 19, "SK": 24, "SM": 27, "VA": 22,
}  # fmt: skip


def luhn_valid(value: str) -> bool:
    digits = [int(c) for c in value if c.isdigit()]
    if not 13 <= len(digits) <= 19 or len(set(digits)) == 1:
        return False
    total = 0
    for i, digit in enumerate(reversed(digits)):
        doubled = digit * 2 if i % 2 else digit
        total += doubled - 9 if doubled > 9 else doubled
    return total % 10 == 0


def card_prefix(value: str) -> bool:
    """Issuer prefixes (IIN ranges) of the networks people paste: Luhn alone passes 1 in 10."""
    d = "".join(c for c in value if c.isdigit())
    two, four = int(d[:2]), int(d[:4])
    return (
        d[0] == "4"
        or 51 <= two <= 55
        or 2221 <= four <= 2720
        or two in (34, 37, 36, 38, 35, 62, 65)
        or d.startswith("6011")
        or 644 <= int(d[:3]) <= 649
        or 300 <= int(d[:3]) <= 305
    )


def iban_valid(value: str) -> bool:
    compact = value.replace(" ", "").upper()
    expected = _IBAN_LENGTHS.get(compact[:2])
    if expected is not None and len(compact) != expected:
        return False
    if not 15 <= len(compact) <= 34:
        return False
    rearranged = compact[4:] + compact[:4]
    number = "".join(str(int(c, 36)) for c in rearranged)
    return int(number) % 97 == 1


# The value of each character (0-9 and A-Z share a table) in an odd position.
_CF_ODD = [
    1, 0, 5, 7, 9, 13, 15, 17, 19, 21, 2, 4, 18, 20, 11, 3, 6, 8, 12, 14, 16, 10, 22, 25, 24, 23,
]  # fmt: skip
_CF_OMOCODIA = str.maketrans("LMNPQRSTUV", "0123456789")


def codice_fiscale_valid(value: str) -> bool:
    code = value.upper()
    total = 0
    for i, c in enumerate(code[:15]):
        index = int(c) if c.isdigit() else ord(c) - 65
        total += _CF_ODD[index] if i % 2 == 0 else index
    if chr(65 + total % 26) != code[15]:
        return False
    # Day of birth (women +40) must be a real day, after undoing omocodia substitutions.
    day = code[9:11].translate(_CF_OMOCODIA)
    return day.isdigit() and (1 <= int(day) <= 31 or 41 <= int(day) <= 71)


def phone_like(value: str, start: int, text: str) -> bool:
    digits = sum(c.isdigit() for c in value)
    if not 8 <= digits <= 15:
        return False
    if value.startswith(("+", "(")):
        return True
    before = text[max(0, start - 40) : start]
    if _VERSION_WORDS.search(before) or ("." in value and value.count(".") != 2):
        return False
    if re.fullmatch(r"\d{3}[.\- ]\d{3}[.\- ]\d{4}", value) and value[3] == value[7]:
        return value[0] not in "01"  # NANP area codes never start with 0 or 1
    return bool(_PHONE_WORDS.search(before))


def ipv4_valid(value: str, start: int, text: str) -> bool:
    octets = [int(p) for p in value.split(".")]
    if any(o > 255 for o in octets) or any(len(p) > 1 and p[0] == "0" for p in value.split(".")):
        return False
    if octets[0] in (0, 127) or octets == [255, 255, 255, 255]:
        return False  # unspecified, loopback, broadcast: about this machine, not about anyone
    return not _VERSION_WORDS.search(text[max(0, start - 20) : start])


def ipv6_valid(value: str) -> bool:
    if value.count(":") < 2 or not any(c.isalnum() for c in value):
        return False
    import ipaddress

    try:
        address = ipaddress.IPv6Address(value)
    except ValueError:
        return False
    return not (address.is_loopback or address.is_unspecified)
