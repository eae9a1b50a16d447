"""English names announced by context, which the NER model misses.

spaCy's small model misses unusual names even right after "my name is"; this rule catches
that shape without any list of names. (Addresses are in :mod:`privlog.detect.address`.)
"""

from __future__ import annotations

import re

from privlog.detect.base import Rule, RuleRecognizer

__all__ = ["english_recognizers"]

_WORD = r"[A-ZÀ-ÖØ-ÞĀ-Ž][^\W\d_]+(?:['’\-][^\W\d_]+)*"
# "my name is X Y", "I'm X Y" (two capitalised words, so "I'm Happy" is not a name),
# "Name: X", and honorifics.
_NAME = rf"{_WORD}(?:\s+{_WORD}){{0,2}}"
_INTRODUCED = re.compile(
    rf"(?i:\bmy name is|\bmy name's|\bcalled|\bsigned,?)\s+(?P<name>{_NAME})"
    rf"|(?i:\b(?:full_?|first_?|last_?|user_?|customer_?|contact_?|patient_?)?name)['\"]?"
    rf"[ \t]*[:=][ \t]*['\"]?(?P<field>{_NAME})"
    rf"|(?i:\bI'm|\bI am|\bthis is)\s+(?P<full>{_WORD}\s+{_WORD})"
    rf"|\b(?:Mr|Mrs|Ms|Miss|Dr|Prof|Sir|Madam)\.?\s+(?P<titled>{_NAME})"
)
_STOP = frozenset(
    {"The", "A", "An", "This", "That", "It", "Here", "There", "Going", "Not", "So", "Just"}
)


def _introduced(match: re.Match[str]) -> float | None:
    name = (
        match.group("name") or match.group("field") or match.group("full") or match.group("titled")
    )
    if name.split()[0] in _STOP:
        return None
    return 0.7


def english_recognizers() -> list[RuleRecognizer]:
    return [
        RuleRecognizer(
            "privlog.en_names",
            [Rule("en.name_in_context", "PERSON", _INTRODUCED, _introduced, group=None)],
        ),
    ]
