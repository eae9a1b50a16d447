"""English rules the NER model misses: street addresses, and names announced by context.

spaCy's small model tags ``Baker Street`` and ``London`` but not the house number that makes
them an address, and it misses unusual names even right after "my name is". These rules
catch both shapes without any list of names.
"""

from __future__ import annotations

import re

from privlog.detect.base import Rule, RuleRecognizer, fixed

__all__ = ["english_recognizers"]

_SUFFIX = (
    r"(?:Street|St|Road|Rd|Avenue|Ave|Lane|Ln|Boulevard|Blvd|Drive|Dr|Court|Ct|Way|Place|Pl|"
    r"Square|Sq|Terrace|Close|Crescent|Highway|Hwy|Parkway|Pkwy|Row|Mews|Gardens|Hill|Walk)"
)
_WORD = r"[A-Z][A-Za-z'\-]+"
_ADDRESS = re.compile(
    rf"(?<![A-Za-z0-9])[0-9]{{1,5}}[A-Za-z]?,?\s+(?:{_WORD}\s+){{1,3}}{_SUFFIX}\.?"
    rf"(?:,\s*(?:Apt|Suite|Unit|Flat)\.?\s*[0-9A-Za-z\-]+)?"
    rf"(?:,\s*{_WORD}(?:\s+{_WORD})?)?"
    rf"(?:,?\s+(?:[A-Z]{{2}}\s+[0-9]{{5}}(?:-[0-9]{{4}})?|[A-Z]{{1,2}}[0-9][A-Z0-9]?\s?[0-9][A-Z]{{2}}))?"
    rf"(?![A-Za-z0-9])"
)
# "my name is X Y", "I'm X Y" (two capitalised words, so "I'm Happy" is not a name),
# "Name: X", and honorifics.
_NAME = rf"{_WORD}(?:\s+{_WORD}){{0,2}}"
_INTRODUCED = re.compile(
    rf"(?i:\bmy name is|\bmy name's|\bname\s*:|\bcalled|\bsigned,?)\s+(?P<name>{_NAME})"
    rf"|(?i:\bI'm|\bI am|\bthis is)\s+(?P<full>{_WORD}\s+{_WORD})"
    rf"|\b(?:Mr|Mrs|Ms|Miss|Dr|Prof|Sir|Madam)\.?\s+(?P<titled>{_NAME})"
)
_STOP = frozenset(
    {"The", "A", "An", "This", "That", "It", "Here", "There", "Going", "Not", "So", "Just"}
)


def _introduced(match: re.Match[str]) -> float | None:
    name = match.group("name") or match.group("full") or match.group("titled")
    if name.split()[0] in _STOP:
        return None
    return 0.7


def english_recognizers() -> list[RuleRecognizer]:
    return [
        RuleRecognizer(
            "privlog.en_address",
            [Rule("en.street_address", "LOCATION", _ADDRESS, fixed(0.75))],
            context=["address", "live", "lives", "located", "ship", "deliver"],
        ),
        RuleRecognizer(
            "privlog.en_names",
            [Rule("en.name_in_context", "PERSON", _INTRODUCED, _introduced, group=None)],
        ),
    ]
