"""Format-based identifiers that are not tied to one country: e-mail, payment cards, phones.

Presidio's own e-mail and card recognisers use ``\\b`` (which fails next to CJK text) and
its e-mail validation calls tldextract (a network fetch on first use); these replace them.
"""

from __future__ import annotations

import functools
import ipaddress
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import phonenumbers
from phonenumbers import PhoneMetadata, PhoneNumber, PhoneNumberMatch
from presidio_analyzer import LocalRecognizer, RecognizerResult

from privlog.detect.base import Rule, RuleRecognizer, fixed, make_result
from privlog.detect.checks import digits_only, luhn_valid

__all__ = ["LibPhoneNumberRecognizer", "generic_recognizers"]

_EMAIL = re.compile(
    r"(?<![A-Za-z0-9._%+\-])[A-Za-z0-9][A-Za-z0-9._%+\-]*@"
    r"(?:[A-Za-z0-9](?:[A-Za-z0-9\-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,24}(?![A-Za-z0-9\-])"
)
# "jane [at] example [dot] com", "jane-at-example-dot-com", "jane at example dot com"
_AT = r"(?:[ \t]*[\[({<][ \t]*(?i:at)[ \t]*[\])}>][ \t]*|-(?i:at)-|[ \t]+(?i:at)[ \t]+)"
_DOT = r"(?:[ \t]*[\[({<][ \t]*(?i:dot)[ \t]*[\])}>][ \t]*|-(?i:dot)-|[ \t]+(?i:dot)[ \t]+)"
_LABEL = r"[A-Za-z0-9]+(?:-(?!(?i:dot)-)[A-Za-z0-9]+)*"
_EMAIL_SPELLED = re.compile(
    rf"(?<![A-Za-z0-9._%+\-])[A-Za-z0-9][A-Za-z0-9._%+]*(?:-(?!(?i:at)-)[A-Za-z0-9._%+]+)*"
    rf"{_AT}{_LABEL}(?:(?:{_DOT}|\.){_LABEL})*{_DOT}[A-Za-z]{{2,24}}(?![A-Za-z0-9])"
)
_OCTET = r"(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"
_IPV4 = re.compile(
    rf"(?<![0-9.])(?P<v>v(?:ersion)?\s?)?{_OCTET}(?:\.{_OCTET}){{3}}(?![0-9]|\.[0-9])", re.I
)
_IPV6 = re.compile(r"(?<![0-9A-Fa-f:])(?:[0-9A-Fa-f]{0,4}:){2,7}[0-9A-Fa-f]{0,4}(?![0-9A-Fa-f:])")


def _ipv4(match: re.Match[str]) -> float | None:
    return None if match.group("v") else 0.6


def _ipv6(match: re.Match[str]) -> float | None:
    try:
        ipaddress.IPv6Address(match.group())
    except ValueError:
        return None
    return 0.6


# Only what is written as a link: a scheme or "www.". Bare dotted words are module paths,
# file names and log fields far more often than web addresses (Presidio's recogniser took
# "java.lang.Nu" and "cache.py" for URLs).
_URL = re.compile(
    r"(?<![A-Za-z0-9_@])(?:(?:https?|ftps?)://|www\.)[^\s<>\"'`{}|\\^\u3000-\u303f\uff08\uff09]+"
    r"(?<![.,;:!?)\]'\"])"
)
_LOOPBACK = re.compile(
    r"(?:[a-z]+://)?(?:localhost|127\.[0-9.]+|0\.0\.0\.0|\[::1\])(?![\w.\-])", re.I
)


def _url(match: re.Match[str]) -> float | None:
    # A link to the user's own machine identifies no one.
    return None if _LOOPBACK.match(match.group()) else 0.6


# Dotted quads and ISO dates are "possible" phone numbers to libphonenumber; they are not.
_NOT_PHONE = re.compile(r"[0-9]{1,3}(?:\.[0-9]{1,3}){3}|[0-9]{4}[\-/.][0-9]{1,2}[\-/.][0-9]{1,2}")
_CARD = re.compile(r"(?<![0-9])[0-9](?:[ \-]?[0-9]){12,18}(?![0-9])")
# Issuer prefixes (IIN ranges) of the schemes a card number in a prompt most likely has:
# Visa, Mastercard, Amex, Diners, JCB, Discover, UnionPay, Maestro, Mir.
_CARD_IIN = re.compile(r"4|5[0-9]|2[2-7]|3[0-9]|6[0-9]")


# After "card"/"cc" a shorter number (Maestro has 12 digits) is a card number too.
_CARD_AFTER_CUE = re.compile(
    r"(?i:\b(?:credit|debit|bank|payment)?[ \t]*(?:card|cc)(?:[ \t]+(?:number|no\.?|num|#))?)"
    r"[ \t]*[:#]?[ \t]*(?P<card>[0-9](?:[ \-]?[0-9]){11,18})(?![0-9])"
)


def _card_after_cue(match: re.Match[str]) -> float | None:
    return 0.85 if luhn_valid(digits_only(match.group("card"))) else None


def _card(match: re.Match[str]) -> float | None:
    digits = digits_only(match.group())
    if not 13 <= len(digits) <= 19 or len(set(digits)) == 1 or not luhn_valid(digits):
        return None
    return 0.9 if _CARD_IIN.match(digits) else 0.4


_HEX_GROUP = re.compile(r"[\-_][0-9A-Fa-f]{3,}(?![G-Zg-z])")
_HEX_BEFORE = re.compile(r"[0-9A-Fa-f][\-_]$")
_CODE_BEFORE = re.compile(r"[A-Za-z][\-_.]")
_HEX_LETTERS = frozenset("abcdefABCDEF")


def _glued(text: str, start: int, end: int) -> bool:
    """Digits inside a longer token (a UUID, a hex hash, ``ORD-2024-764822``,
    ``INC0491364``) are part of that token, not a phone number. A word glued on after the
    number ("Tel：13701233057QQ：…", "+886927951202Email") does not make it a token: only
    hex context does."""
    before = text[max(0, start - 2) : start]
    # ASCII only: a Chinese character right before a number ("打0755-68306864") is text.
    hex_before = bool(before) and bool(_HEX_BEFORE.search(before))
    if before and (_ascii_alnum(before[-1]) or _CODE_BEFORE.fullmatch(before)):
        return True
    after = text[end : end + 1]
    if _HEX_GROUP.match(text, end) is not None:
        return True
    return hex_before and bool(after) and after in _HEX_LETTERS


def _ascii_alnum(ch: str) -> bool:
    return ch.isascii() and ch.isalnum()


class LibPhoneNumberRecognizer(LocalRecognizer):
    """Phone numbers through libphonenumber, graded by how much the text looks like one.

    Presidio's recogniser scores every match 0.4 (below any useful threshold) and drops
    numbers in fictional ranges (UK 07700 900xxx). Here: a valid number scores 0.75; a
    possible one of 9+ digits written with a ``+``/``00`` prefix or separators 0.55; a bare
    run of digits that is merely possible 0.3, which only context words can lift. Fewer than
    seven digits is never a phone number here (versions, amounts, years).
    """

    def __init__(self, regions: Sequence[str]) -> None:
        self._regions = tuple(regions)
        super().__init__(
            supported_entities=["PHONE_NUMBER"],
            supported_language="en",
            name="privlog.phone",
            context=[
                *("phone", "tel", "call", "mobile", "cell", "fax", "whatsapp"),
                *("电话", "手机", "電話", "手機", "联系", "聯絡", "热线"),
            ],
        )

        self._source = ("privlog.phone", str(self.id))

    def load(self) -> None:
        """Nothing to load."""

    def analyze(
        self, text: str, entities: list[str], nlp_artifacts: Any = None
    ) -> list[RecognizerResult]:
        if entities and "PHONE_NUMBER" not in entities:
            return []
        best: dict[tuple[int, int], float] = {}
        # Regions share one parse of an international number: score it once. (The dict
        # holds the numbers, so that their ids are not reused while it is alive.)
        scored: dict[tuple[int, int, int], PhoneNumber] = {}
        for offset, match in _phone_matches(text, self._regions):
            start, end = offset + match.start, offset + match.end
            parse = (start, end, id(match.number))
            if parse in scored:
                continue
            scored[parse] = match.number
            score = _phone_score(text, start, end, match)
            if score is not None:
                best[(start, end)] = max(score, best.get((start, end), 0.0))
        return [
            make_result(
                self._source,
                entity_type="PHONE_NUMBER",
                start=start,
                end=end,
                score=score,
                rule_id="phone.libphonenumber",
            )
            for (start, end), score in best.items()
        ]


def _phone_score(text: str, start: int, end: int, match: PhoneNumberMatch) -> float | None:
    raw = match.raw_string
    digits = sum(ch.isdigit() for ch in raw)
    if digits < 7 or _NOT_PHONE.fullmatch(raw) or _glued(text, start, end):
        return None
    if raw.isdigit() and not raw.startswith("00"):
        # A bare run of digits is a timestamp, an id, a commit or an amount more often
        # than a phone number: only a valid ten or eleven digit number passes on its own;
        # context words can lift the rest.
        valid = phonenumbers.is_valid_number(match.number)
        # Ten digits starting with 1 are also every Unix time from 2001 to 2033.
        plausible = len(raw) == 11 or (len(raw) == 10 and raw[0] != "1")
        return 0.6 if valid and plausible else 0.3
    if phonenumbers.is_valid_number(match.number):
        return 0.75
    if digits >= 9 and (raw.startswith(("+", "00")) or _SEPARATED_DIGITS.search(raw)):
        return 0.55
    return 0.3


_SEPARATED_DIGITS = re.compile(r"[0-9][ \-.()][0-9]")


# Seven digits with at most four other characters between neighbours: every string the
# recogniser keeps has seven digits close together, so libphonenumber (the costliest
# recogniser) runs only on the windows around such runs, not over the whole text.
_PHONE_CANDIDATE = re.compile(r"\d(?:\D{0,4}\d){6,}")
_PHONE_MARGIN = 16  # room for a "+", "00", "(" or an extension's words around the digits


def _phone_windows(text: str) -> list[tuple[int, int]]:
    """The stretches of ``text`` around runs of seven digits, merged where they touch."""
    windows: list[list[int]] = []
    for found in _PHONE_CANDIDATE.finditer(text):
        start = max(0, found.start() - _PHONE_MARGIN)
        end = min(len(text), found.end() + _PHONE_MARGIN)
        if windows and start <= windows[-1][1]:
            windows[-1][1] = end
        else:
            windows.append([start, end])
    return [(start, end) for start, end in windows]


# The first character libphonenumber reads a number from (it skips anything before it).
_NUMBER_START = re.compile(r"[+\uff0b\d]")


@dataclass(frozen=True, slots=True)
class _Lengths:
    """What decides whether a bare run of digits can be a possible number of a region: the
    region's international prefix, country code and national prefix, and the lengths its
    national numbers may have (libphonenumber's POSSIBLE check is a length check)."""

    international_prefix: re.Pattern[str]
    country_code: str
    national_prefix: re.Pattern[str] | None
    possible: frozenset[int]

    def may_be_possible(self, digits: str) -> bool:
        """False only if no parse of ``digits`` in the region is a possible number: after an
        optional country code and a national prefix stripped once or twice (all the ways
        libphonenumber may read a number dialled from the region), no length fits."""
        if self.international_prefix.match(digits):
            return True  # dialled abroad: any country's lengths
        lengths = {len(digits), len(self._strip(digits))}
        if digits.startswith(self.country_code):
            rest = digits[len(self.country_code) :]
            once = self._strip(rest)
            lengths.update((len(rest), len(once), len(self._strip(once))))
        return not self.possible.isdisjoint(lengths)

    def _strip(self, digits: str) -> str:
        found = self.national_prefix.match(digits) if self.national_prefix else None
        return digits[found.end() :] if found else digits


@functools.cache
def _lengths(region: str) -> _Lengths | None:
    meta = PhoneMetadata.metadata_for_region(region)
    if (
        meta is None
        or meta.country_code is None
        or meta.international_prefix is None
        or meta.national_prefix_transform_rule
    ):
        return None  # no shortcut: always parse
    main = phonenumbers.region_code_for_country_code(meta.country_code)
    checked = PhoneMetadata.metadata_for_region_or_calling_code(meta.country_code, main)
    desc = checked.general_desc if checked is not None else None
    if desc is None:
        return None
    prefix = meta.national_prefix_for_parsing
    return _Lengths(
        international_prefix=re.compile(meta.international_prefix),
        country_code=str(meta.country_code),
        national_prefix=re.compile(prefix) if prefix else None,
        possible=frozenset(desc.possible_length) | frozenset(desc.possible_length_local_only),
    )


class _SharedMatcher(phonenumbers.PhoneNumberMatcher):
    """One region's matcher over a piece of text, sharing its international parses with
    the other regions' matchers over the same piece. A number written with "+" carries its
    country code, so its parse and its POSSIBLE check do not depend on the region: the
    other regions reuse it instead of parsing it again (a sixth of all parses)."""

    def __init__(self, text: str, region: str, shared: dict[str, PhoneNumber | None]) -> None:
        super().__init__(text, region, leniency=phonenumbers.Leniency.POSSIBLE)
        self._shared = shared
        self._lengths = _lengths(region)

    def _parse_and_verify(self, candidate: str, offset: int) -> PhoneNumberMatch | None:
        if (
            self._lengths is not None
            and candidate.isascii()
            and candidate.isdigit()
            and not self._lengths.may_be_possible(candidate)
        ):
            return None  # card numbers, ids and amounts: most regions need no parse
        first = _NUMBER_START.search(candidate)
        if first is None or candidate[first.start()] not in "+\uff0b":
            return super()._parse_and_verify(candidate, offset)
        if candidate not in self._shared:
            # POSSIBLE leniency never looks at the text around the candidate.
            match = super()._parse_and_verify(candidate, offset)
            self._shared[candidate] = None if match is None else match.number
        number = self._shared[candidate]
        return None if number is None else PhoneNumberMatch(offset, candidate, number)


def _phone_matches(text: str, regions: Sequence[str]) -> Iterator[tuple[int, PhoneNumberMatch]]:
    """libphonenumber's matches in ``text`` for each region in turn (with the offset of the
    window searched)."""
    for start, end in _phone_windows(text):
        piece = text[start:end]
        shared: dict[str, PhoneNumber | None] = {}
        for region in regions:
            for match in _SharedMatcher(piece, region, shared):
                yield start, match


def generic_recognizers(phone_regions: Sequence[str]) -> list[LocalRecognizer]:
    return [
        RuleRecognizer(
            "privlog.email",
            [
                Rule("email", "EMAIL_ADDRESS", _EMAIL, fixed(0.9)),
                Rule("email.spelled_out", "EMAIL_ADDRESS", _EMAIL_SPELLED, fixed(0.8)),
            ],
            context=["email", "e-mail", "mail", "邮箱"],
        ),
        RuleRecognizer(
            "privlog.payment_card",
            [
                Rule("payment_card.luhn", "CREDIT_CARD", _CARD, _card),
                Rule("payment_card.after_cue", "CREDIT_CARD", _CARD_AFTER_CUE, _card_after_cue, 1),
            ],
            context=["card", "visa", "mastercard", "amex", "unionpay", "卡号", "银行卡", "信用卡"],
        ),
        RuleRecognizer("privlog.url", [Rule("url", "URL", _URL, _url)]),
        RuleRecognizer(
            "privlog.ip",
            [Rule("ipv4", "IP_ADDRESS", _IPV4, _ipv4), Rule("ipv6", "IP_ADDRESS", _IPV6, _ipv6)],
            context=["ip", "address", "server", "host", "地址"],
        ),
        LibPhoneNumberRecognizer(phone_regions),
    ]
