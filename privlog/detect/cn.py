"""Chinese identifiers: resident identity numbers and mobile numbers.

Patterns run on normalised text (ASCII digits, no zero-width characters) and use digit
look-arounds instead of ``\\b``: CJK characters count as word characters, so ``\\b`` never
fires between ``号`` and ``1`` in ``手机号13800138000``.
"""

from __future__ import annotations

import re

from privlog.detect.base import Rule, RuleRecognizer, fixed
from privlog.detect.checks import cn_resident_id_plausible, cn_resident_id_valid, cn_uscc_valid

__all__ = ["cn_recognizers"]

_SEP = r"[ \-.]?"
_RESIDENT_ID_18 = re.compile(
    rf"(?<![0-9])[1-9][0-9]{{5}}{_SEP}(?:18|19|20)[0-9]{{2}}{_SEP}[0-9]{{4}}{_SEP}[0-9]{{3}}[0-9Xx](?![0-9])"
)
_RESIDENT_ID_15 = re.compile(r"(?<![0-9])[1-9][0-9]{14}(?![0-9])")
_ID_CONTEXT = re.compile(r"身份证|身份號|证件|公民|identity|id\s*(?:card|no|number)", re.IGNORECASE)

# Not inside a hex token ("a48b-13432771814a" is part of a UUID), which ASCII letters or a
# hex digit and a dash around it give away; Chinese characters around it are fine.
_MOBILE = re.compile(
    r"(?<![0-9])(?<![0-9A-Fa-f][\-_])(?P<cc>\(?(?:\+|00)86\)?[ \-]?)?"
    r"1[3-9][0-9](?:[ \-]?[0-9]{4}){2}(?![0-9])"
)
# Two mobile numbers written with nothing between them: "1860019001318611124650".
_TWO_MOBILES = re.compile(r"(?<![0-9])(1[3-9][0-9]{9})(1[3-9][0-9]{9})(?![0-9])")


_USCC = re.compile(
    r"(?<![0-9A-Za-z])[0-9A-HJ-NP-RTUWXY][0-9][0-9]{6}[0-9A-HJ-NP-RTUWXY]{10}(?![0-9A-Za-z])"
)
_PASSPORT = re.compile(
    r"(?<![0-9A-Za-z])(?:[EGDSPH][0-9]{8}|E[A-HJ-NP-Z][0-9]{7})(?![0-9A-Za-z])", re.I
)
_PASSPORT_CONTEXT = re.compile(r"护照|passport|证件", re.I)
_PERMIT = re.compile(
    r"(?<![0-9A-Za-z])(?:[HM][0-9]{8,10}|[0-9]{8}|[CT][0-9]{8})(?![0-9A-Za-z])", re.I
)
_PERMIT_CONTEXT = re.compile(r"通行证|回乡证|台胞证|往来|permit", re.I)
_CONTEXT_WINDOW = 24


def _has_context(match: re.Match[str], context: re.Pattern[str]) -> bool:
    before = match.string[max(0, match.start() - _CONTEXT_WINDOW) : match.start()]
    return context.search(before) is not None


def _uscc(match: re.Match[str]) -> float | None:
    return 1.0 if cn_uscc_valid(match.group()) else None


def _passport(match: re.Match[str]) -> float | None:
    # Letter + 8 digits is also a part number or an order id: only a nearby word makes it
    # a passport.
    return 0.85 if _has_context(match, _PASSPORT_CONTEXT) else None


def _permit(match: re.Match[str]) -> float | None:
    return 0.85 if _has_context(match, _PERMIT_CONTEXT) else None


def _resident_id_18(match: re.Match[str]) -> float | None:
    if cn_resident_id_valid(match.group()):
        return 1.0
    # Right shape, real province and birth date, wrong check character: a typo or a made-up
    # number in the right format. Still masked (0.6 clears the default threshold), just
    # with less confidence.
    return 0.6 if cn_resident_id_plausible(match.group()) else None


def _resident_id_15(match: re.Match[str]) -> float | None:
    # The pre-1999 form has no check digit: without a context word it is just a number.
    if _has_context(match, _ID_CONTEXT) and cn_resident_id_valid(match.group()):
        return 0.9
    return None


def _mobile(match: re.Match[str]) -> float:
    return 0.9 if match.group("cc") else 0.7


def cn_recognizers() -> list[RuleRecognizer]:
    return [
        RuleRecognizer(
            "privlog.cn_resident_id",
            [
                Rule("cn_resident_id.18", "CN_RESIDENT_ID", _RESIDENT_ID_18, _resident_id_18),
                Rule("cn_resident_id.15", "CN_RESIDENT_ID", _RESIDENT_ID_15, _resident_id_15),
            ],
            context=["身份证", "identity", "id"],
        ),
        RuleRecognizer(
            "privlog.cn_uscc",
            [Rule("cn_uscc", "CN_USCC", _USCC, _uscc)],
            context=["信用代码", "统一社会信用代码", "credit code"],
        ),
        RuleRecognizer(
            "privlog.cn_travel_documents",
            [
                Rule("cn_passport", "CN_PASSPORT", _PASSPORT, _passport),
                Rule("cn_travel_permit", "CN_TRAVEL_PERMIT", _PERMIT, _permit),
            ],
        ),
        RuleRecognizer(
            "privlog.cn_mobile",
            [
                Rule("cn_mobile", "PHONE_NUMBER", _MOBILE, _mobile),
                Rule("cn_mobile.glued_first", "PHONE_NUMBER", _TWO_MOBILES, fixed(0.7), 1),
                Rule("cn_mobile.glued_second", "PHONE_NUMBER", _TWO_MOBILES, fixed(0.7), 2),
            ],
            context=["手机", "电话", "mobile", "phone", "tel"],
        ),
    ]
