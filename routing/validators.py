"""Checks that confirm a candidate privacy match: checksums (Luhn, IBAN mod-97, codice
fiscale check character) and the context that tells a phone number or an IP address from
a version, a date or an order number. Split from privacy.py, which finds the candidates.
"""

from __future__ import annotations

import re
from functools import cache

# Words that say a number is a phone number, in the languages of the cases; stems end
# in \w* ("chiamami", "llámame", "anrufen").
_PHONE_WORDS_SOURCE = (
    r"(?i)\b(?:phone|tel|telephone|call|cell|mobile|whatsapp|fax|sms|text|ring|reach me|contact"
    r"|telefono|teléfono|cellulare|numero|número|numéro|chiam\w*|llam\w*|móvil|movil|"
    r"telefon\w*|handy|\w*rufen|erreichbar|portable|joindre|appel\w*|téléphone|"
    r"bel|bellen|mobiel|telefoon)\b"
)
# A pattern string: `re` compiles it when a phone number or an IPv4 address is first seen.
_VERSION_WORDS = r"(?i)(?:version|release|v|build|ver\.?)\s*$"
_IBAN_LENGTHS = {
    "AD": 24, "AT": 20, "BE": 16, "BG": 22, "CH": 21, "CY": 28, "CZ": 24, "DE": 22, "DK": 18,
    "EE": 20, "ES": 24, "FI": 18, "FR": 27, "GB": 22, "GR": 27, "HR": 21, "HU": 28, "IE": 22,
    "IS": 26, "IT": 27, "LI": 21, "LT": 20, "LU": 20, "LV": 21, "MC": 27, "MT": 31, "NL": 18,
    "NO": 15, "PL": 28, "PT": 25, "RO": 24, "SE": 24, "SI": 19, "SK": 24, "SM": 27, "VA": 22,
}  # fmt: skip


@cache
def _words(which: str) -> re.Pattern[str]:
    # Compiled on first use: `echo p | llm route` never needs them (start-up).
    return re.compile(_PHONE_WORDS_SOURCE if which == "phone" else _IP_WORDS_SOURCE)


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
    if re.search(_VERSION_WORDS, before):
        return False
    if _trunk_format(value, digits) and not before.endswith((".", ",")):  # not $4.05 1600
        return True
    if "." in value and value.count(".") != 2:
        return False
    if re.fullmatch(r"\d{3}[.\- ]\d{3}[.\- ]\d{4}", value) and value[3] == value[7]:
        return value[0] not in "01"  # NANP area codes never start with 0 or 1
    return bool(_words("phone").search(before))


def _trunk_format(value: str, digits: int) -> bool:
    """A national number written with its trunk 0 and separators (020 7946 0958, 06 12 34
    56 78, 089/1234567): European layouts that dates, amounts and counts do not take."""
    if value[0] != "0" or value[1] == "0" or not 10 <= digits <= 12:
        return False
    groups = re.split(r"[ ./\-]", value)
    if len(groups) < 2:
        return False
    dots = value.count(".")
    return not dots or (dots == len(groups) - 1 and all(len(g) == 2 for g in groups))


def ipv4_valid(value: str, start: int, text: str) -> bool:
    octets = [int(p) for p in value.split(".")]
    if any(o > 255 for o in octets) or any(len(p) > 1 and p[0] == "0" for p in value.split(".")):
        return False
    if octets[0] in (0, 127) or octets == [255, 255, 255, 255]:
        return False  # unspecified, loopback, broadcast: about this machine, not about anyone
    before = text[max(0, start - 40) : start]
    if re.search(_VERSION_WORDS, before[-20:]):
        return False
    # 1.2.3.4 or 4.2.1.3 is as often a version or a section: only with a word naming a host.
    return max(octets) >= 10 or bool(_words("ip").search(before))


_IP_WORDS_SOURCE = (
    r"(?i)\b(?:ip|ips|ipv4|address|adresse|indirizzo|dirección|adres|host|server|router|gateway"
    r"|dns|connect\w*|ping|ssh|firewall|block\w*|ban\w*|proxy|vpn|login|logged)\b"
)


def ipv6_valid(value: str) -> bool:
    groups = [g for g in value.split(":") if g]
    # Two groups and four hex digits at least: ls[::3] and f('1::1') are code, fe80::1 is not.
    if len(groups) < 2 or sum(map(len, groups)) < 4:
        return False
    import ipaddress

    try:
        address = ipaddress.IPv6Address(value)
    except ValueError:
        return False
    return not (address.is_loopback or address.is_unspecified)


def _digits(value: str) -> str:
    return "".join(c for c in value if c.isdigit())


def de_tax_id_valid(value: str) -> bool:
    """German Steuer-ID: 11 digits, no leading 0, in the first ten exactly one digit twice
    or three times (never three in a row), and the ISO 7064 MOD 11,10 check digit."""
    d = _digits(value)
    if len(d) != 11 or d[0] == "0":
        return False
    counts = sorted((d[:10].count(c) for c in set(d[:10])), reverse=True)
    if counts[0] not in (2, 3) or (len(counts) > 1 and counts[1] > 1):
        return False
    if counts[0] == 3 and any(d[i] == d[i + 1] == d[i + 2] for i in range(8)):
        return False
    product = 10
    for c in d[:10]:
        total = (int(c) + product) % 10 or 10
        product = total * 2 % 11
    return (11 - product) % 10 == int(d[10])


def fr_nir_valid(value: str) -> bool:
    """French NIR (numéro de sécurité sociale): sex 1/2, month, 13 digits (Corsica 2A/2B)
    and the key 97 - (number mod 97)."""
    compact = "".join(c for c in value.upper() if c.isalnum())
    if len(compact) != 15 or compact[0] not in "12":
        return False
    body = compact[:13].replace("2A", "19", 1) if compact[5:7] == "2A" else compact[:13]
    body = body.replace("2B", "18", 1) if compact[5:7] == "2B" else body
    if not body.isdigit() or not compact[13:].isdigit():
        return False
    month = int(compact[3:5])
    if not (1 <= month <= 12 or 20 <= month <= 42 or 50 <= month <= 99):
        return False
    offset = {"2A": 1_000_000, "2B": 2_000_000}.get(compact[5:7], 0)  # the Corsica rule
    return 97 - (int(body) - offset) % 97 == int(compact[13:])


_DNI_LETTERS = "TRWAGMYFPDXBNJZSQVHLCKE"


def es_dni_valid(value: str) -> bool:
    """Spanish DNI (8 digits) or NIE (X/Y/Z and 7 digits): the letter is the number mod 23."""
    compact = "".join(c for c in value.upper() if c.isalnum())
    head = compact[:-1]
    if head[:1] in ("X", "Y", "Z"):
        head = str("XYZ".index(head[0])) + head[1:]
    if len(head) != 8 or not head.isdigit():
        return False
    return _DNI_LETTERS[int(head) % 23] == compact[-1]


def nl_bsn_valid(value: str) -> bool:
    """Dutch BSN: 9 digits that pass the 11-proof (the last digit weighs -1)."""
    d = _digits(value)
    if len(d) != 9 or d == "0" * 9:
        return False
    return sum(int(c) * w for c, w in zip(d, (9, 8, 7, 6, 5, 4, 3, 2, -1), strict=True)) % 11 == 0


def uk_nino_valid(value: str) -> bool:
    """UK National Insurance number: the prefixes HMRC never issues are refused."""
    compact = "".join(c for c in value.upper() if c.isalnum())
    if len(compact) != 9:
        return False
    first, second = compact[0], compact[1]
    if first in "DFIQUV" or second in "DFIOQUV":
        return False
    return compact[:2] not in ("BG", "GB", "NK", "KN", "TN", "NT", "ZZ")


def be_national_number_valid(value: str) -> bool:
    """Belgian national number: birth date, serial and 97 - (first nine mod 97); those born
    from 2000 on count with a leading 2."""
    d = _digits(value)
    if len(d) != 11:
        return False
    head, check = int(d[:9]), int(d[9:])
    return check in (97 - head % 97, 97 - (2_000_000_000 + head) % 97)


def pl_pesel_valid(value: str) -> bool:
    """Polish PESEL: birth date (the month carries the century) and a weighted check digit."""
    d = _digits(value)
    if len(d) != 11:
        return False
    month = int(d[2:4]) % 20
    if not 1 <= month <= 12 or not 1 <= int(d[4:6]) <= 31:
        return False
    total = sum(int(c) * w for c, w in zip(d, (1, 3, 7, 9, 1, 3, 7, 9, 1, 3), strict=False))
    return (10 - total % 10) % 10 == int(d[10])


def ch_ahv_valid(value: str) -> bool:
    """Swiss AHV/AVS number: 756, nine digits and an EAN-13 check digit."""
    d = _digits(value)
    if len(d) != 13 or not d.startswith("756"):
        return False
    total = sum(int(c) * (3 if i % 2 else 1) for i, c in enumerate(d[:12]))
    return (10 - total % 10) % 10 == int(d[12])
