"""Turning findings into scrubbed text: overlap resolution, operators, and their reasons.

Overlapping findings are merged into one span covering all of them (a partial overlap must
never leave a detected character in the output); the merged span takes the type of its
most confident finding. Each merged span is replaced by the operator the policy names for
its type:

``placeholder``  ``<PERSON_1>``: typed, numbered per request; equal values share a number.
``pseudonym``    ``<PERSON:k1:...>``: HMAC-SHA-256 under the newest key, domain-separated
                 by type, over the normalised value; 130 bits; the key id is in the token.
``redact``       ``<REDACTED>``: no type, no number.
``mask``         all but the last four characters become ``*``; refused for ID-like types.

The original values stay in memory only (the per-request :class:`Scope`), for restoring
placeholders in a reply; nothing here stores or logs them.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

from privlog.detect.findings import Finding
from privlog.errors import ConfigError
from privlog.keys import KeyRing
from privlog.text import normalise

__all__ = [
    "ID_LIKE",
    "OPERATORS",
    "PLACEHOLDER_RE",
    "Replacement",
    "Scope",
    "Scrubbed",
    "Transformer",
    "resolve_overlaps",
]

Operator = Literal["placeholder", "pseudonym", "redact", "mask"]
OPERATORS: tuple[Operator, ...] = ("placeholder", "pseudonym", "redact", "mask")

# Types where any visible part reveals something (birthplace, birth date, issuer, account).
ID_LIKE = frozenset(
    {
        "CN_RESIDENT_ID",
        "CN_PASSPORT",
        "CN_TRAVEL_PERMIT",
        "CN_USCC",
        "SECRET",
        "US_SSN",
        "US_ITIN",
        "US_PASSPORT",
        "US_DRIVER_LICENSE",
        "UK_NHS",
        "IBAN_CODE",
        "US_BANK_NUMBER",
        "MEDICAL_LICENSE",
        "ID",
    }
)
# privlog's own output: later stages (store re-scan, egress) must not treat it as PII.
PLACEHOLDER_RE = re.compile(
    r"<[A-Z][A-Z0-9_]*_[0-9]+>|<[A-Z][A-Z0-9_]*:k[0-9]+:[a-z2-7]{26}>|<REDACTED>"
)
_NUMBERED = re.compile(r"<([A-Z][A-Z0-9_]*)_([0-9]+)>")
_DIGIT_TYPES = frozenset(
    {"PHONE_NUMBER", "CREDIT_CARD", "CN_RESIDENT_ID", "US_SSN", "US_ITIN", "UK_NHS", "IBAN_CODE"}
)


@dataclass(frozen=True, slots=True)
class Replacement:
    """Why a span was replaced: everything about it except the value itself."""

    entity_type: str
    start: int
    end: int
    score: float
    detector: str
    rule_id: str
    operator: Operator
    key_id: str | None = None

    def to_json(self) -> dict[str, object]:
        return {
            "entity_type": self.entity_type,
            "start": self.start,
            "end": self.end,
            "score": round(self.score, 4),
        }


@dataclass(frozen=True, slots=True)
class Scrubbed:
    text: str
    replacements: tuple[Replacement, ...]

    def to_json(self) -> dict[str, object]:
        return {"text": self.text, "findings": [r.to_json() for r in self.replacements]}


# How much a type says about the value: a checksum or a fixed shape beats a model's guess,
# and a person or place beats an organisation or a date. A merged span takes the most
# specific type among its parts (then the most confident, then the longest).
_VAGUE = {"ORGANIZATION": 1, "NRP": 0, "DATE_TIME": 0}
_MODEL_TYPES = {"PERSON": 2, "LOCATION": 2}


def specificity(entity_type: str) -> int:
    return _VAGUE.get(entity_type, _MODEL_TYPES.get(entity_type, 3))


def _rank(f: Finding) -> tuple[int, float, int]:
    return specificity(f.entity_type), f.score, f.end - f.start


def resolve_overlaps(findings: Iterable[Finding]) -> list[Finding]:
    """Merge overlapping findings into disjoint spans that cover every detected character,
    each typed by its most specific part (an e-mail address inside a model's PERSON span is
    an EMAIL_ADDRESS)."""
    merged: list[Finding] = []
    for f in sorted(findings, key=lambda f: (f.start, -f.end)):
        if f.start >= f.end:
            continue
        if merged and f.start < merged[-1].end:
            last = merged[-1]
            best = last if _rank(last) >= _rank(f) else f
            merged[-1] = Finding(
                best.entity_type,
                last.start,
                max(last.end, f.end),
                best.score,
                best.detector,
                best.rule_id,
            )
        else:
            merged.append(f)
    return merged


def canonical_value(entity_type: str, value: str) -> str:
    """The form two mentions of one value share: normalised, case-folded, and for numbers
    digits only (so ``+86 138-0013-8000`` and ``13800138000`` get the same token)."""
    text = normalise(value).text.casefold().strip()
    if entity_type in _DIGIT_TYPES:
        text = re.sub(r"[^0-9a-z]", "", text)
        if entity_type == "PHONE_NUMBER":
            text = re.sub(r"^(?:00)?86(?=1[3-9][0-9]{9}$)", "", text)
    return " ".join(text.split())


class Scope:
    """One request's replacements: placeholder numbering and, in memory only, the originals."""

    __slots__ = ("_counters", "_numbers", "_originals", "_transformer")

    def __init__(self, transformer: Transformer) -> None:
        self._transformer = transformer
        self._numbers: dict[tuple[str, str], str] = {}
        self._counters: dict[str, int] = {}
        self._originals: dict[str, str] = {}

    def __repr__(self) -> str:
        return f"Scope(placeholders={len(self._originals)})"

    @property
    def originals(self) -> Mapping[str, str]:
        """Placeholder → original value. Memory only: for restoring values in a reply."""
        return self._originals

    def continue_numbering(self, text: str) -> None:
        """Number new placeholders after those already in ``text`` (used by the re-scan, so
        a newly found value never reuses a number that stands for another one)."""
        for match in _NUMBERED.finditer(text):
            entity_type, n = match.group(1), int(match.group(2))
            self._counters[entity_type] = max(self._counters.get(entity_type, 0), n)

    def placeholder(self, entity_type: str, value: str) -> str:
        key = (entity_type, canonical_value(entity_type, value))
        token = self._numbers.get(key)
        if token is None:
            n = self._counters[entity_type] = self._counters.get(entity_type, 0) + 1
            token = self._numbers[key] = f"<{entity_type}_{n}>"
            self._originals[token] = value
        return token

    def scrub(self, text: str, findings: Sequence[Finding]) -> Scrubbed:
        """Replace every finding in ``text`` (offsets index ``text``) and say why."""
        out: list[str] = []
        replacements: list[Replacement] = []
        pos = 0
        for f in resolve_overlaps(findings):
            operator = self._transformer.operator_for(f.entity_type)
            value = text[f.start : f.end]
            replacement, kid = self._transformer.apply(operator, f.entity_type, value, self)
            out.append(text[pos : f.start])
            out.append(replacement)
            pos = f.end
            replacements.append(
                Replacement(
                    f.entity_type, f.start, f.end, f.score, f.detector, f.rule_id, operator, kid
                )
            )
        out.append(text[pos:])
        return Scrubbed("".join(out), tuple(replacements))


class Transformer:
    """Per-entity operator policy. Keys load lazily: placeholders need none."""

    def __init__(
        self,
        operators: Mapping[str, str] | None = None,
        *,
        default: str = "placeholder",
        keyring: KeyRing | Callable[[], KeyRing] | None = None,
    ) -> None:
        self._operators: dict[str, Operator] = {}
        for entity_type, op in (operators or {}).items():
            self._operators[entity_type] = _check_operator(entity_type, op)
        self._default = _check_operator("*", default)
        self._keyring_source = keyring
        self._keyring: KeyRing | None = keyring if isinstance(keyring, KeyRing) else None

    def __repr__(self) -> str:
        return f"Transformer(default={self._default!r}, operators={self._operators!r})"

    def operator_for(self, entity_type: str) -> Operator:
        op = self._operators.get(entity_type, self._default)
        if op == "mask" and entity_type in ID_LIKE:
            return "placeholder"  # a default of mask never applies to ID-like types
        return op

    def scope(self) -> Scope:
        return Scope(self)

    @property
    def keyring(self) -> KeyRing:
        if self._keyring is None:
            source = self._keyring_source
            if source is None:
                raise ConfigError(
                    "the pseudonym operator needs a key ring; set PRIVLOG_KEY_FILE or pass keyring="
                )
            self._keyring = source if isinstance(source, KeyRing) else source()
        return self._keyring

    def pseudonym(self, entity_type: str, value: str, kid: str | None = None) -> tuple[str, str]:
        message = entity_type.encode() + b"\x00" + canonical_value(entity_type, value).encode()
        kid, token = self.keyring.token("pseudonym", message, kid)
        return f"<{entity_type}:{kid}:{token}>", kid

    def apply(
        self, operator: Operator, entity_type: str, value: str, scope: Scope
    ) -> tuple[str, str | None]:
        if operator == "placeholder":
            return scope.placeholder(entity_type, value), None
        if operator == "pseudonym":
            return self.pseudonym(entity_type, value)
        if operator == "redact":
            return "<REDACTED>", None
        visible = 4 if len(value) > 8 else 0
        return "*" * (len(value) - visible) + value[len(value) - visible :], None


def _check_operator(entity_type: str, op: str) -> Operator:
    if op not in OPERATORS:
        raise ConfigError(
            f"unknown operator {op!r} for {entity_type}; choose one of {', '.join(OPERATORS)}"
        )
    if op == "mask" and entity_type in ID_LIKE:
        raise ConfigError(
            f"operator 'mask' is not allowed for {entity_type}: a partly masked identifier "
            "still reveals who it belongs to (a resident ID's birthplace and birth date). "
            "Use 'placeholder' or 'pseudonym'."
        )
    return op
