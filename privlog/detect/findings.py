"""What a detector reports: where, what type, how sure, and which rule. Never the value."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

__all__ = ["Detector", "Finding"]


@dataclass(frozen=True, slots=True)
class Finding:
    """One detected span, in offsets of the text the detector was given."""

    entity_type: str
    start: int
    end: int
    score: float
    detector: str
    rule_id: str

    def to_json(self) -> dict[str, object]:
        return {
            "entity_type": self.entity_type,
            "start": self.start,
            "end": self.end,
            "score": round(self.score, 4),
        }


class Detector(Protocol):
    """Finds identifying spans. Offsets index the text exactly as passed in."""

    name: str
    version: str

    def detect(self, text: str) -> list[Finding]: ...

    def detect_batch(self, texts: Sequence[str]) -> list[list[Finding]]: ...
