"""Checksum and plausibility checks for identifier formats. Pure functions over digit strings."""

from __future__ import annotations

import datetime as _dt

__all__ = [
    "CN_PROVINCE_CODES",
    "cn_resident_id_plausible",
    "cn_resident_id_valid",
    "cn_uscc_valid",
    "digits_only",
    "luhn_valid",
]

# GB/T 2260 province-level codes, the first two digits of a resident identity number.
CN_PROVINCE_CODES = frozenset(
    {11, 12, 13, 14, 15, 21, 22, 23, 31, 32, 33, 34, 35, 36, 37, 41, 42, 43, 44, 45, 46,
     50, 51, 52, 53, 54, 61, 62, 63, 64, 65, 71, 81, 82, 83, 91}
)  # fmt: skip
_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"


def digits_only(value: str) -> str:
    return "".join(ch for ch in value if ch.isdigit() or ch in "Xx").upper()


def luhn_valid(digits: str) -> bool:
    """Luhn (mod 10) check over a string of ASCII digits."""
    if not digits.isdigit():
        return False
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = ord(ch) - 48
        if i % 2:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return total % 10 == 0


def _real_date(year: int, month: int, day: int, today: _dt.date) -> bool:
    try:
        born = _dt.date(year, month, day)
    except ValueError:
        return False
    return _dt.date(1890, 1, 1) <= born <= today


def cn_resident_id_plausible(value: str, today: _dt.date | None = None) -> bool:
    """An 18-character number with a real province code and a real birth date (GB 11643),
    whatever its check character: a mistyped or made-up ID still points at a person."""
    today = today or _dt.date.today()
    code = digits_only(value)
    if len(code) != 18 or not code[:17].isdigit() or int(code[:2]) not in CN_PROVINCE_CODES:
        return False
    return _real_date(int(code[6:10]), int(code[10:12]), int(code[12:14]), today)


def cn_resident_id_valid(value: str, today: _dt.date | None = None) -> bool:
    """GB 11643-1999: province code, a real birth date, and the MOD 11-2 check character.

    Also accepts the 15-digit pre-1999 form (no check character, two-digit year 19xx);
    callers decide whether that form needs context before it counts.
    """
    today = today or _dt.date.today()
    code = digits_only(value)
    if len(code) == 18:
        if not cn_resident_id_plausible(code, today):
            return False
        total = sum(int(d) * w for d, w in zip(code[:17], _ID_WEIGHTS, strict=True))
        return _ID_CHECK[total % 11] == code[17]
    if len(code) == 15 and code.isdigit():
        if int(code[:2]) not in CN_PROVINCE_CODES:
            return False
        return _real_date(1900 + int(code[6:8]), int(code[8:10]), int(code[10:12]), today)
    return False


_USCC_CHARS = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)


def cn_uscc_valid(value: str) -> bool:
    """GB 32100-2015 Unified Social Credit Code: 18 characters from a 31-character set,
    the last a mod-31 check character over the first 17."""
    code = value.upper()
    if len(code) != 18 or any(ch not in _USCC_CHARS for ch in code):
        return False
    total = sum(_USCC_CHARS.index(ch) * w for ch, w in zip(code[:17], _USCC_WEIGHTS, strict=True))
    return _USCC_CHARS[(31 - total % 31) % 31] == code[17]
