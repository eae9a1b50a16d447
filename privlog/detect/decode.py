"""Encoded and spread-out text, decoded once so the recognisers can see what it says.

A user (or a careless client) can hide an identifier from a pattern by writing it in
percent-encoding (``jane.doe%40example.com``), base64 (``MTM4MDAxMzgwMDA=``), one
character at a time (``1 3 8 0 0 1 3 8 0 0 0``) or in dotted groups (``NO07.5308.2427.451``).
:func:`candidates` finds such tokens and decodes them, one level deep, keeping where each
decoded character came from, so that a finding in the decoded text maps back onto exactly
the characters the user sent (or, for base64, onto the whole token).
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass

__all__ = ["STRUCTURED", "Candidate", "candidates"]

_PERCENT_UNIT = r"(?:%[0-9A-Fa-f]{2}|[A-Za-z0-9._~+\-@])"
_PERCENT = re.compile(rf"{_PERCENT_UNIT}*%[0-9A-Fa-f]{{2}}{_PERCENT_UNIT}*")
_BASE64 = re.compile(r"(?<![A-Za-z0-9+/_\-])[A-Za-z0-9+/_\-]{12,}={0,2}(?![A-Za-z0-9+/=_\-])")
# Single characters with one space between them, six or more: "r n o v a k @ ..."
_SPREAD = re.compile(r"(?<![A-Za-z0-9_])(?:\S )(?:\S ){4,}\S(?![A-Za-z0-9_])")
# Digit groups (an optional two-letter prefix) joined by dots: "NO07.5308.2427.451"
# An IPv4 address is found as one already; joined up it would only be digits to re-check.
_IPV4 = re.compile(
    r"(?:(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])\.){3}(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"
)
_DOTTED = re.compile(r"(?<![\w.])(?:[A-Z]{2})?[0-9]{1,5}(?:\.[0-9]{1,5}){3,}(?![\w.])")
_PRINTABLE = 0.9
# What a decoded spread-out or dotted token may be taken for: only shapes with structure
# of their own, so "2024.01.05.10" does not become a phone number.
STRUCTURED = frozenset(
    {
        "EMAIL_ADDRESS",
        "CREDIT_CARD",
        "IBAN_CODE",
        "CN_RESIDENT_ID",
        "CN_USCC",
        "US_SSN",
        "ID_NUMBER",
        "SECRET",
        "PHONE_NUMBER",
    }
)


@dataclass(frozen=True, slots=True)
class Candidate:
    """A decoded token: where it is, what it says, and where each decoded character came
    from (``None``: only the whole token maps back)."""

    start: int
    end: int
    text: str
    origins: tuple[tuple[int, int], ...] | None
    kind: str

    def source_span(self, start: int, end: int) -> tuple[int, int]:
        if self.origins is None or end <= start:
            return self.start, self.end
        return self.origins[start][0], self.origins[end - 1][1]


def _percent(token: str, offset: int) -> Candidate | None:
    raw = bytearray()
    byte_origin: list[tuple[int, int]] = []
    i = 0
    while i < len(token):
        if token[i] == "%":  # always followed by two hex digits (the pattern says so)
            raw.append(int(token[i + 1 : i + 3], 16))
            byte_origin.append((offset + i, offset + i + 3))
            i += 3
        else:
            raw += (" " if token[i] == "+" else token[i]).encode()
            byte_origin.append((offset + i, offset + i + 1))
            i += 1
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return None
    origins: list[tuple[int, int]] = []
    pos = 0
    for ch in text:
        width = len(ch.encode())
        origins.append((byte_origin[pos][0], byte_origin[pos + width - 1][1]))
        pos += width
    return Candidate(offset, offset + len(token), text, tuple(origins), "percent")


def _base64(token: str, offset: int) -> Candidate | None:
    if token.isalpha() or token.isdigit() or len(token.rstrip("=")) % 4 == 1:
        return None
    padded = token + "=" * (-len(token) % 4)
    try:
        raw = (
            base64.urlsafe_b64decode(padded)
            if "-" in token or "_" in token
            else base64.b64decode(padded, validate=True)
        )
        text = raw.decode("utf-8")
    except (binascii.Error, ValueError):
        return None
    printable = sum(ch.isprintable() or ch.isspace() for ch in text)
    if not text or printable < _PRINTABLE * len(text):
        return None
    return Candidate(offset, offset + len(token), text, None, "base64")


def _joined(match: re.Match[str], separator: str, kind: str) -> Candidate:
    origins = tuple(
        (match.start() + i, match.start() + i + 1)
        for i, ch in enumerate(match.group())
        if ch != separator
    )
    text = match.group().replace(separator, "")
    return Candidate(match.start(), match.end(), text, origins, kind)


def candidates(text: str) -> list[Candidate]:
    """Every decodable token in ``text``, decoded (one level)."""
    found: list[Candidate] = []
    if "%" in text:
        for match in _PERCENT.finditer(text):
            decoded = _percent(match.group(), match.start())
            if decoded is not None:
                found.append(decoded)
    for match in _BASE64.finditer(text):
        decoded = _base64(match.group(), match.start())
        if decoded is not None:
            found.append(decoded)
    found += [_joined(m, " ", "spread") for m in _SPREAD.finditer(text)]
    found += [
        _joined(m, ".", "dotted") for m in _DOTTED.finditer(text) if not _IPV4.fullmatch(m.group())
    ]
    return found
