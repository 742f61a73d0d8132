"""Finds Hong Kong personal identifiers in free text and masks them before anything keeps it.

A question crosses this guard once, at the entrance of the core; logs, the store and the
language model see only ``redact(text).text``. Seven types are recognised: HKID, PHONE, EMAIL,
CARD, PASSPORT, BANK_ACCOUNT and IP_ADDRESS.

Why hand-written recognisers: Microsoft Presidio was considered, but it ships no Hong Kong
recognisers (its country-specific ones cover the US, UK, India, Singapore, Australia and some EU
states: no HKID check character, no +852 numbering plan, no HK bank or passport formats), and
its default analyser runs a spaCy model over every text, where this guard has well under a
millisecond per message. Validation is delegated where a maintained source exists:
``phonenumbers`` (libphonenumber's ranges) for phone numbers, ``stdnum`` for the Luhn check, the
standard ``ipaddress`` module for addresses.

What a caller may rely on:

- HKIDs are only reported when the check character verifies (shared facts, section 5).
- Formats without a checksum need corroboration: a bare 8-digit phone number needs a phone word
  nearby ("tel", "call", "電話" ...); a passport number (H or K + 8 digits, KJ + 7; the
  Immigration Department publishes no scheme, so no format is unambiguous on its own) needs
  "passport" or "護照"; a bank account needs "account", "a/c", "bank", "戶口" ...
- No detection starts or ends inside a longer token: the three characters either side are
  checked, so invoice numbers, amounts (HK$), decimals, dates and section numbers pass through.
- Role mailboxes (``dpo@``, ``ai-support@`` ...) name a function, not a person, and are kept.
- Findings are sorted and never overlap; a placeholder is the type in brackets, e.g. ``[HKID]``.
"""

from __future__ import annotations

import functools
import ipaddress
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import phonenumbers
from stdnum import luhn


@dataclass(frozen=True)
class Finding:
    """One identifier: its type and its span ``text[start:end]`` in the original text."""

    type: str
    start: int
    end: int


@dataclass(frozen=True)
class Redaction:
    """The masked text and what was masked (positions refer to the original text)."""

    text: str
    findings: tuple[Finding, ...]

    @property
    def types(self) -> list[str]:
        """Distinct finding types in order of first appearance."""
        return list(dict.fromkeys(finding.type for finding in self.findings))


def detect(text: str) -> list[Finding]:
    """Personal identifiers in ``text``, sorted by position and non-overlapping."""
    candidates = [(_PRIORITY["EMAIL"], start, end, "EMAIL") for start, end in _emails(text)]
    if _HAS_DIGIT.search(text):
        for kind, recogniser in _NEEDS_A_DIGIT:
            candidates.extend(
                (_PRIORITY[kind], start, end, kind) for start, end in recogniser(text)
            )
    # On overlap the higher-priority type wins, then the longer span.
    candidates.sort(key=lambda c: (c[0], c[1] - c[2], c[1]))
    taken: list[Finding] = []
    for _, start, end, kind in candidates:
        if all(end <= f.start or start >= f.end for f in taken):
            taken.append(Finding(kind, start, end))
    taken.sort(key=lambda f: f.start)
    return taken


def redact(text: str) -> Redaction:
    """``text`` with every finding replaced by ``[TYPE]``."""
    findings = detect(text)
    if not findings:
        return Redaction(text, ())
    parts: list[str] = []
    cursor = 0
    for finding in findings:
        parts.append(text[cursor : finding.start])
        parts.append(f"[{finding.type}]")
        cursor = finding.end
    parts.append(text[cursor:])
    return Redaction("".join(parts), tuple(findings))


def hkid_check_character(prefix: str, digits: str) -> str:
    """The check character ("0"-"9" or "A") for an HKID such as ``("A", "123456")``.

    The published third-party algorithm (shared facts, section 5): a one-letter prefix is
    padded with a space (36), letters count A=10 ... Z=35, the eight characters are weighted
    9 ... 2, and the check is ``(11 - sum % 11) % 11`` with 10 written as "A".
    """
    chars = prefix.upper().rjust(2)
    total = sum(
        weight * (36 if c == " " else ord(c) - 55 if c.isalpha() else int(c))
        for weight, c in zip(range(9, 1, -1), chars + digits, strict=True)
    )
    check = (11 - total % 11) % 11
    return "A" if check == 10 else str(check)


def _is_word(char: str) -> bool:
    return char.isascii() and (char.isalnum() or char == "_")


def _isolated(text: str, start: int, end: int) -> bool:
    """False when the span is part of a longer token (3 characters either side are read)."""
    before = text[max(0, start - 3) : start]
    if before:
        last = before[-1]
        if _is_word(last) or last in "#$" or before.rstrip().endswith("$"):
            return False
        if len(before) > 1 and (
            (last in "-_" and _is_word(before[-2]))
            or (last == "/" and before[-2].isalpha())
            or (last == "." and before[-2].isdigit())
        ):
            return False
    after = text[end : end + 3]
    if after:
        first = after[0]
        if _is_word(first) or first == "%":
            return False
        if first in "-._," and len(after) > 1 and after[1].isdigit():
            return False
    return True


def _joined_to_digits(text: str, start: int, end: int) -> bool:
    """True when a digit group sits right next to the span (``1234 [5678 9012] 3456``)."""
    return bool(_DIGIT_BEFORE.search(text, max(0, start - 2), start)) or bool(
        _DIGIT_AFTER.match(text, end)
    )


def _numbered(text: str, start: int) -> bool:
    """True when a word such as "section", "version" or "rooms" comes right before ``start``."""
    return _NUMBERING_WORD.search(text, max(0, start - 12), start) is not None


def _range(text: str, m: re.Match[str]) -> bool:
    """True for "2301-2310" or "9100-9200": a dashed range without a phone word nearby."""
    low, sep, high = m.group(1), m.group(2), m.group(3)
    return (
        sep == "-"
        and high > low
        and (low[:2] == high[:2] or (low.endswith("00") and high.endswith("00")))
        and not _near(_PHONE_CONTEXT, text, *m.span())
    )


def _near(context: re.Pattern[str], text: str, start: int, end: int) -> bool:
    """True when ``context`` occurs within 40 characters before or 25 after the span."""
    return context.search(text, max(0, start - 40), end + 25) is not None


# re.ASCII throughout: a Chinese character next to a number is a boundary, not part of a
# token, and full-width digits are left alone. Where a pattern must not start inside a token,
# the look-behind follows the first character (``\d(?<![\w.]\d)`` rather than ``(?<![\w.])\d``):
# the same test, but the engine can then skip straight to candidate characters, which makes a
# scan several times faster.

# Dotted or dashed numbers after these words number a section, version or room: not identifiers.
_NUMBERING_WORD = re.compile(
    r"(?i)(?:\b(?:sections?|clauses?|paras?|paragraphs?|rules?|items?|chapters?|parts?|versions?"
    r"|ver|releases?|builds?|s|ss|rooms?|pages?|pp|units?|flats?|seats?|lines?|codes?|floors?"
    r"|blocks?|shops?|lots?|serials?|ranges?)\.?|§)\s*$",
    re.ASCII,
)
_SIX_DIGITS = re.compile(r"\d{6}", re.ASCII)
_DIGIT_BEFORE = re.compile(r"\d[ \-]$", re.ASCII)
_DIGIT_AFTER = re.compile(r"[ \-]\d", re.ASCII)

_HKID = re.compile(
    r"(?<![A-Za-z0-9])([A-Za-z]{1,2})(\d{6}) ?(?:[(（]([0-9Aa])[)）]|([0-9Aa])(?![A-Za-z0-9]))",
    re.ASCII,
)


def _hkids(text: str) -> Iterator[tuple[int, int]]:
    if not _SIX_DIGITS.search(text):
        return
    for m in _HKID.finditer(text):
        check = (m.group(3) or m.group(4)).upper()
        if hkid_check_character(m.group(1), m.group(2)) == check and _isolated(text, *m.span()):
            yield m.span()


_PHONE_CONTEXT = re.compile(
    r"(?i)\b(?:tel|telephone|phone|phones|mobile|cell|call|calls|called|calling|whatsapp"
    r"|wechat|signal|sms|text|fax|contact|contacts|hotline|dial|ring"
    r"|(?:my|his|her|their|your) (?:number|no))\b|電話|手機|手提|聯絡|聯繫|致電|傳真|短訊",
    re.ASCII,
)
_HK_INTERNATIONAL = re.compile(
    r"(?:\(\+?852\)|\+852|(?<![\d+])852)([ \-.]?)(\d{4})[ \-.]?(\d{4})(?!\d)",
    re.ASCII,
)
_HK_LOCAL = re.compile(r"([2-9](?<![\d+][2-9])\d{3})([ \-]?)(\d{4})(?!\d)", re.ASCII)
_INTERNATIONAL = re.compile(
    r"\+(?!852)[1-9]\d{0,2}(?:[ \-.]?(?:\(\d{1,4}\)|\d{1,5})){1,6}", re.ASCII
)
_GROUP_TAIL = re.compile(r"[ \-.]*\(?\d+\)?$", re.ASCII)


@functools.lru_cache(maxsize=4096)
def _valid_phone(number: str, region: str | None) -> bool:
    try:
        return phonenumbers.is_valid_number(phonenumbers.parse(number, region))
    except phonenumbers.NumberParseException:
        return False


def _hk_international_phones(text: str) -> Iterator[tuple[int, int]]:
    if "852" not in text:
        return
    for m in _HK_INTERNATIONAL.finditer(text):
        bare = m.group(0)[0].isdigit() and not m.group(1)
        if (
            _valid_phone(m.group(2) + m.group(3), "HK")
            and _isolated(text, *m.span())
            and (not bare or _near(_PHONE_CONTEXT, text, *m.span()))
        ):
            yield m.span()


def _hk_local_phones(text: str) -> Iterator[tuple[int, int]]:
    for m in _HK_LOCAL.finditer(text):
        start, end = m.span()
        if (
            _valid_phone(m.group(1) + m.group(3), "HK")
            and _isolated(text, start, end)
            and not _joined_to_digits(text, start, end)
            and not _numbered(text, start)
            and not _range(text, m)
            and (m.group(2) or _near(_PHONE_CONTEXT, text, start, end))
        ):
            yield start, end


def _international_phones(text: str) -> Iterator[tuple[int, int]]:
    if "+" not in text:
        return
    for m in _INTERNATIONAL.finditer(text):
        start, candidate = m.start(), m.group(0)
        # The pattern may run into a following number; drop trailing groups until valid.
        while sum(c.isdigit() for c in candidate) >= 7:
            if _valid_phone(candidate, None) and _isolated(text, start, start + len(candidate)):
                yield start, start + len(candidate)
                break
            candidate = _GROUP_TAIL.sub("", candidate)


_EMAIL = re.compile(
    r"(?<![\w.%+\-])[A-Za-z0-9](?:[A-Za-z0-9._%+\-]{0,62}[A-Za-z0-9_%+\-])?"
    r"@(?:[A-Za-z0-9](?:[A-Za-z0-9\-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,24}(?![\w\-@])",
    re.ASCII,
)
# fmt: off
_ROLE_WORDS = frozenset({
    "abuse", "accounts", "admin", "ai", "billing", "careers", "complaints", "compliance",
    "contact", "data", "desk", "dpo", "enquiries", "enquiry", "feedback", "finance", "hello",
    "help", "helpdesk", "hotline", "hr", "incident", "incidents", "info", "it", "legal",
    "media", "no", "noreply", "office", "postmaster", "press", "privacy", "protection", "reply",
    "report", "sales", "security", "service", "servicedesk", "support", "team", "webmaster",
})
# fmt: on
_LOCAL_WORDS = re.compile(r"[._+\-]", re.ASCII)


def _emails(text: str) -> Iterator[tuple[int, int]]:
    # Only the neighbourhood of each "@" is scanned (64-character local part, 255 domain).
    pos, at = 0, text.find("@")
    while at >= 0:
        m = _EMAIL.search(text, max(pos, at - 64), at + 256)
        if m is None:
            pos = at + 1
        else:
            pos = m.end()
            local = m.group(0).partition("@")[0].lower()
            if not all(word in _ROLE_WORDS for word in _LOCAL_WORDS.split(local)):
                yield m.span()
        at = text.find("@", pos)


_CARD = re.compile(r"\d(?<![\w.\-/]\d)(?:[ \-]?\d){12,18}(?!\w)", re.ASCII)
_SEPARATORS = str.maketrans("", "", " -")


def _card_brand(digits: str) -> bool:
    """True when the issuer prefix and length belong to a major scheme."""
    n, p2, p3, p4 = len(digits), int(digits[:2]), int(digits[:3]), int(digits[:4])
    if digits[0] == "4":  # Visa
        return n in (13, 16, 19)
    if 51 <= p2 <= 55 or 2221 <= p4 <= 2720:  # Mastercard
        return n == 16
    if p2 in (34, 37):  # American Express
        return n == 15
    if p2 == 62:  # UnionPay
        return 16 <= n <= 19
    if 3528 <= p4 <= 3589:  # JCB
        return 16 <= n <= 19
    if p4 == 6011 or 644 <= p3 <= 649 or p2 == 65:  # Discover
        return 16 <= n <= 19
    if 300 <= p3 <= 305 or p2 in (36, 38, 39):  # Diners Club
        return 14 <= n <= 19
    return False


def _cards(text: str) -> Iterator[tuple[int, int]]:
    for m in _CARD.finditer(text):
        digits = m.group(0).translate(_SEPARATORS)
        if _card_brand(digits) and luhn.is_valid(digits) and _isolated(text, *m.span()):
            yield m.span()


_PASSPORT = re.compile(r"[HKhk](?<![A-Za-z0-9][HKhk])(?:\d{8}|[Jj]\d{7})(?![A-Za-z0-9])", re.ASCII)
_SEVEN_DIGITS = re.compile(r"\d{7}", re.ASCII)
_PASSPORT_CONTEXT = re.compile(r"(?i)passport|travel document|護照|旅行證件", re.ASCII)


def _passports(text: str) -> Iterator[tuple[int, int]]:
    if not _SEVEN_DIGITS.search(text):
        return
    for m in _PASSPORT.finditer(text):
        if _isolated(text, *m.span()) and _near(_PASSPORT_CONTEXT, text, *m.span()):
            yield m.span()


# Bank code and branch (3 digits each) then the account; grouped, or one run of 9-16 digits.
_BANK = re.compile(r"\d(?<![\w+]\d)(?:\d\d(?:[ \-]\d{2,9}){1,3}|\d{8,15})(?!\w)", re.ASCII)
_BANK_CONTEXT = re.compile(
    r"(?i)\b(?:account|accounts|acct|a/c|bank|banks|banking|payee|beneficiary|hsbc|hang seng"
    r"|boc|bochk|standard chartered|dbs|citibank|bea)\b"
    r"|戶口|户口|帳戶|賬戶|帳號|賬號|銀行|滙豐|匯豐|恒生|中銀|渣打|東亞",
    re.ASCII,
)


def _bank_accounts(text: str) -> Iterator[tuple[int, int]]:
    for m in _BANK.finditer(text):
        digits = sum(c.isdigit() for c in m.group(0))
        if (
            9 <= digits <= 16
            and _isolated(text, *m.span())
            and _near(_BANK_CONTEXT, text, *m.span())
        ):
            yield m.span()


_IPV4 = re.compile(r"\d(?<![\w.]\d)\d{0,2}\.(?:\d{1,3}\.){2}\d{1,3}(?!\w|\.\d)", re.ASCII)
_IPV6 = re.compile(
    r"(?<![\w:.])(?:[0-9A-Fa-f]{0,4}:){2,7}(?:(?:\d{1,3}\.){3}\d{1,3}|[0-9A-Fa-f]{1,4})?"
    r"(?![\w:]|\.\w)",
    re.ASCII,
)


def _ipv4_addresses(text: str) -> Iterator[tuple[int, int]]:
    if text.count(".") < 3:
        return
    for m in _IPV4.finditer(text):
        start, end = m.span()
        if _numbered(text, start):
            continue
        try:
            ipaddress.IPv4Address(m.group(0))
        except ValueError:
            continue
        yield start, end


def _ipv6_addresses(text: str) -> Iterator[tuple[int, int]]:
    if text.count(":") < 2:
        return
    for m in _IPV6.finditer(text):
        candidate = m.group(0)
        if ("::" not in candidate and candidate.count(":") < 6) or not any(
            c.isalnum() for c in candidate
        ):
            continue
        try:
            ipaddress.IPv6Address(candidate)
        except ValueError:
            continue
        yield m.span()


_HAS_DIGIT = re.compile(r"\d", re.ASCII)

# On overlap the earlier type wins: the more specific format, or the one with a checksum.
_PRIORITY = {
    kind: rank
    for rank, kind in enumerate(
        ("EMAIL", "IP_ADDRESS", "CARD", "PASSPORT", "HKID", "PHONE", "BANK_ACCOUNT")
    )
}
_Recogniser = Callable[[str], Iterator[tuple[int, int]]]
_NEEDS_A_DIGIT: tuple[tuple[str, _Recogniser], ...] = (
    ("IP_ADDRESS", _ipv4_addresses),
    ("IP_ADDRESS", _ipv6_addresses),
    ("CARD", _cards),
    ("PASSPORT", _passports),
    ("HKID", _hkids),
    ("PHONE", _hk_international_phones),
    ("PHONE", _hk_local_phones),
    ("PHONE", _international_phones),
    ("BANK_ACCOUNT", _bank_accounts),
)
